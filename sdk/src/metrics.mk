# sdk/src/metrics.mk — libignis' instrumentation room: metric types and registries
# (metrics*.c), the exposition writer, negotiation and HTTP exposer (expose*.c), their
# unit tests, golden expositions, promtool check and benchmark.
sdk_libignis_la_SOURCES += sdk/src/metrics.c sdk/src/metrics_summary.c \
	sdk/src/metrics_utf8.c sdk/src/metrics_process.c sdk/src/metrics_int.h \
	sdk/src/expose.c sdk/src/expose_float.c sdk/src/float_shortest.c \
	sdk/src/expose_negotiate.c \
	sdk/src/expose_http.c
pkginclude_HEADERS += sdk/include/ignis/expose.h

# unit tests (cmocka; also run under valgrind)
IG_METRICS_TESTS = tests/unit/sdk/test_metrics tests/unit/sdk/test_metrics_summary \
	tests/unit/sdk/test_expose tests/unit/sdk/test_expose_golden \
	tests/unit/sdk/test_expose_http tests/unit/sdk/test_float_format
check_PROGRAMS += $(IG_METRICS_TESTS)
TESTS += $(IG_METRICS_TESTS)
UNIT_TESTS += $(IG_METRICS_TESTS)

tests_unit_sdk_test_metrics_SOURCES = tests/unit/sdk/test_metrics.c
tests_unit_sdk_test_metrics_CFLAGS = $(IG_TEST_CC)
tests_unit_sdk_test_metrics_LDADD = $(IG_TEST_LINK) $(LIBEVENT_LIBS) $(PTHREAD_LIBS)
tests_unit_sdk_test_metrics_summary_SOURCES = tests/unit/sdk/test_metrics_summary.c
tests_unit_sdk_test_metrics_summary_CFLAGS = $(IG_TEST_CC)
tests_unit_sdk_test_metrics_summary_LDADD = $(IG_TEST_LINK) $(M_LIBS)
tests_unit_sdk_test_expose_SOURCES = tests/unit/sdk/test_expose.c
tests_unit_sdk_test_expose_CFLAGS = $(IG_TEST_CC)
tests_unit_sdk_test_expose_LDADD = $(IG_TEST_LINK) $(LIBEVENT_LIBS) $(M_LIBS)
tests_unit_sdk_test_expose_golden_SOURCES = tests/unit/sdk/test_expose_golden.c
tests_unit_sdk_test_expose_golden_CFLAGS = $(IG_TEST_CC) \
	-DGOLDEN_DIR='"$(abs_top_srcdir)/tests/unit/sdk/golden"'
tests_unit_sdk_test_expose_golden_LDADD = $(IG_TEST_LINK) $(LIBEVENT_LIBS)
tests_unit_sdk_test_expose_http_SOURCES = tests/unit/sdk/test_expose_http.c
tests_unit_sdk_test_expose_http_CFLAGS = $(IG_TEST_CC) $(ZLIB_CFLAGS)
tests_unit_sdk_test_expose_http_LDADD = $(IG_TEST_LINK) $(LIBEVENT_LIBS) $(ZLIB_LIBS) \
	$(PTHREAD_LIBS)

# every text-0.0.4 golden through promtool check metrics
TESTS += tests/unit/sdk/golden_promtool.sh
EXTRA_DIST += tests/unit/sdk/golden_promtool.sh tests/unit/sdk/golden

# the standalone exporter example: built by make check so it keeps compiling
check_PROGRAMS += sdk/examples/standalone_exporter
sdk_examples_standalone_exporter_SOURCES = sdk/examples/standalone_exporter.c
sdk_examples_standalone_exporter_LDADD = sdk/libignis.la

# benchmark: make bench
EXTRA_PROGRAMS += tests/bench/bench_metrics
BENCHES += tests/bench/bench_metrics
tests_bench_bench_metrics_SOURCES = tests/bench/bench_metrics.c
tests_bench_bench_metrics_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) -O2
tests_bench_bench_metrics_LDADD = sdk/libignis.la $(LIBEVENT_LIBS) $(PTHREAD_LIBS)
CLEANFILES += tests/bench/bench_metrics

# fuzz target for /metrics' outside input (Accept headers, bytes into the writer);
# make check replays the seed corpus and saved crashers (shared tests/fuzz/replay.c)
check_PROGRAMS += tests/fuzz/fuzz_expose_negotiate_replay
tests_fuzz_fuzz_expose_negotiate_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_expose_negotiate.c
tests_fuzz_fuzz_expose_negotiate_replay_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
tests_fuzz_fuzz_expose_negotiate_replay_LDADD = sdk/libignis.la $(LIBEVENT_LIBS)
TESTS += tests/fuzz/expose_negotiate.sh
EXTRA_DIST += tests/fuzz/expose_negotiate.sh tests/fuzz/corpus/expose_negotiate \
	tests/fuzz/crashers/expose_negotiate

# the shortest round-trip float formatter (float_shortest.c) against a slow reference
tests_unit_sdk_test_float_format_SOURCES = tests/unit/sdk/test_float_format.c
tests_unit_sdk_test_float_format_CFLAGS = $(IG_TEST_CC)
tests_unit_sdk_test_float_format_LDADD = $(IG_TEST_LINK) $(M_LIBS) $(PTHREAD_LIBS)

# benchmark of the float formatter against the old snprintf/strtod search: make bench
EXTRA_PROGRAMS += tests/bench/bench_float
BENCHES += tests/bench/bench_float
tests_bench_bench_float_SOURCES = tests/bench/bench_float.c
tests_bench_bench_float_CFLAGS = $(AM_CFLAGS) -O2
tests_bench_bench_float_LDADD = sdk/libignis.la $(M_LIBS)
CLEANFILES += tests/bench/bench_float
