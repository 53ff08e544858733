# tests/pqdiff.mk — the side-by-side PromQL test: the same generated blocks opened by ignisd
# (tsdb + promql plugins) and by a real Prometheus, a checked-in list of queries run on
# both, and the answers compared by pqcompare.
check_PROGRAMS += tests/tools/pqcompare
tests_tools_pqcompare_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_tools_pqcompare_LDADD = $(JANSSON_LIBS) -lm
EXTRA_DIST += tests/tools/pqdiff_gen.sh tests/integration/pqdiff/queries.txt \
	tests/integration/pqdiff/changed-in-3.txt tests/integration/promql_vs_prometheus.sh
TESTS += tests/integration/promql_vs_prometheus.sh
