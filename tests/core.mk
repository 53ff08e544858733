# tests/core.mk — tests of the core: unit tests of its rooms, and integration tests
# that run real ignisd processes on loopback.
IG_CORE_TEST_CC = $(IG_TEST_CC) $(LIBEVENT_CFLAGS) $(LIBCONFIG_CFLAGS)
IG_CORE_TEST_LINK = core/libigcore.la $(IG_TEST_LINK) $(ZLIB_LIBS)

IG_CORE_UNIT = tests/unit/core/test_workers tests/unit/core/test_http \
	tests/unit/core/test_loader tests/unit/core/test_httpc tests/unit/core/test_scrape
check_PROGRAMS += $(IG_CORE_UNIT)
UNIT_TESTS += $(IG_CORE_UNIT)
TESTS += $(IG_CORE_UNIT)
tests_unit_core_test_workers_CFLAGS = $(IG_CORE_TEST_CC)
tests_unit_core_test_workers_LDADD = $(IG_CORE_TEST_LINK)
tests_unit_core_test_http_CFLAGS = $(IG_CORE_TEST_CC)
tests_unit_core_test_http_LDADD = $(IG_CORE_TEST_LINK)
tests_unit_core_test_loader_CFLAGS = $(IG_CORE_TEST_CC)
tests_unit_core_test_loader_LDADD = $(IG_CORE_TEST_LINK)
tests_unit_core_test_httpc_CFLAGS = $(IG_CORE_TEST_CC)
tests_unit_core_test_httpc_LDADD = $(IG_CORE_TEST_LINK)
tests_unit_core_test_scrape_SOURCES = tests/unit/core/test_scrape.c tests/unit/testhost.c tests/unit/testhost.h
tests_unit_core_test_scrape_CFLAGS = $(IG_CORE_TEST_CC) $(CURL_CFLAGS)
tests_unit_core_test_scrape_LDADD = $(IG_CORE_TEST_LINK) $(DL_LIBS)

TESTS += tests/integration/core_lifecycle.sh tests/integration/ignisctl.sh
EXTRA_DIST += tests/integration/core_lifecycle.sh tests/integration/ignisctl.sh
TESTS += tests/integration/sdk_install.sh
EXTRA_DIST += tests/integration/sdk_install.sh sdk/examples/loadavg_plugin.c tests/lib.sh
TESTS += tests/integration/prom_scrape_ignis.sh
EXTRA_DIST += tests/integration/prom_scrape_ignis.sh

# Tools the integration tests run (never installed).
check_PROGRAMS += tests/tools/static_server tests/tools/apijson
tests_tools_static_server_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(LIBEVENT_OPENSSL_CFLAGS) \
	$(OPENSSL_CFLAGS)
tests_tools_static_server_LDADD = $(LIBEVENT_OPENSSL_LIBS) $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
tests_tools_apijson_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_tools_apijson_LDADD = $(JANSSON_LIBS)
TESTS += tests/integration/scrape_vs_prometheus.sh
EXTRA_DIST += tests/integration/scrape_vs_prometheus.sh

# Scrape benchmark (make bench): a generator and the side-by-side script.
EXTRA_PROGRAMS += tests/bench/target_gen
tests_bench_target_gen_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
tests_bench_target_gen_LDADD = $(LIBEVENT_LIBS)
BENCH_TOOLS += tests/bench/target_gen
IG_BENCH_SH += tests/bench/scrape_bench.sh
EXTRA_DIST += tests/bench/scrape_bench.sh
TESTS += tests/integration/relabel_vs_prometheus.sh
EXTRA_DIST += tests/integration/relabel_vs_prometheus.sh
TESTS += tests/integration/query_api.sh
EXTRA_DIST += tests/integration/query_api.sh
TESTS += tests/integration/scrape_reload.sh
EXTRA_DIST += tests/integration/scrape_reload.sh
TESTS += tests/integration/scrape_auth.sh
EXTRA_DIST += tests/integration/scrape_auth.sh

# Fuzz target of the API's input parsers, replayed by make check.
check_PROGRAMS += tests/fuzz/fuzz_api_replay
tests_fuzz_fuzz_api_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/fuzz_api.c
tests_fuzz_fuzz_api_replay_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
tests_fuzz_fuzz_api_replay_LDADD = core/libigcore.la sdk/libignis.la $(LIBEVENT_LIBS)
TESTS += tests/fuzz/api.sh
EXTRA_DIST += tests/fuzz/api.sh tests/fuzz/corpus/api tests/fuzz/crashers/api
TESTS += tests/integration/tsdb_api.sh
EXTRA_DIST += tests/integration/tsdb_api.sh

# A full disk (a file-size limit on a running ignisd) is an error, logged and recovered.
TESTS += tests/integration/tsdb_diskfull.sh
EXTRA_DIST += tests/integration/tsdb_diskfull.sh
