# sdk/src/textparse.mk — the exposition parser (text 0.0.4, OpenMetrics 1.0) and the bounded
# gunzip, in libignis; its unit tests, conformance runner, fuzz target and benchmark.
sdk_libignis_la_SOURCES += sdk/src/textparse.c sdk/src/textparse_strict.c \
	sdk/src/textparse_gzip.c sdk/src/textparse_int.h
pkginclude_HEADERS += sdk/include/ignis/textparse.h

# Conformance runner over $(CONFORMANCE_DIR)/openmetrics and textformat, and a differential
# test of strict 0.0.4 mode against the real promtool.
check_PROGRAMS += tests/conformance/openmetrics_runner
tests_conformance_openmetrics_runner_SOURCES = tests/conformance/openmetrics.c
tests_conformance_openmetrics_runner_CFLAGS = $(AM_CFLAGS)
tests_conformance_openmetrics_runner_LDADD = sdk/libignis.la
TESTS += tests/conformance/openmetrics.sh tests/conformance/openmetrics_promtool.sh
EXTRA_DIST += tests/conformance/openmetrics.sh tests/conformance/openmetrics_promtool.sh

# Unit tests (cmocka); the captured /metrics bodies they parse.
TEXTPARSE_UNIT = tests/unit/sdk/test_textparse
check_PROGRAMS += $(TEXTPARSE_UNIT)
TESTS += $(TEXTPARSE_UNIT)
UNIT_TESTS += $(TEXTPARSE_UNIT)
tests_unit_sdk_test_textparse_SOURCES = tests/unit/sdk/test_textparse.c
tests_unit_sdk_test_textparse_CFLAGS = $(IG_TEST_CC) $(ZLIB_CFLAGS) \
	-DIG_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_sdk_test_textparse_LDADD = $(IG_TEST_LINK) $(ZLIB_LIBS) $(M_LIBS)
EXTRA_DIST += tests/data/bodies/prometheus.prom.txt tests/data/bodies/node-exporter.prom.txt \
	tests/data/bodies/alertmanager.prom.txt tests/data/bodies/victoria-metrics.prom.txt

# Benchmark (make bench): a generated 200k-series body, MB/s and ns/sample.
EXTRA_PROGRAMS += tests/bench/textparse_bench
BENCHES += tests/bench/textparse_bench
tests_bench_textparse_bench_SOURCES = tests/bench/textparse_bench.c
tests_bench_textparse_bench_CFLAGS = $(AM_CFLAGS)
tests_bench_textparse_bench_LDADD = sdk/libignis.la

# Fuzz target: make check replays its seeds and every saved crasher (tests/fuzz/replay.c).
check_PROGRAMS += tests/fuzz/fuzz_textparse_replay
tests_fuzz_fuzz_textparse_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_textparse.c
tests_fuzz_fuzz_textparse_replay_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_textparse_replay_LDADD = sdk/libignis.la
TESTS += tests/fuzz/textparse.sh
EXTRA_DIST += tests/fuzz/textparse.sh tests/fuzz/corpus/textparse tests/fuzz/crashers/textparse
