# plugins/storage/mem/local.mk — the `mem` storage plugin (series kept in memory only) and
# its unit test, which also builds the shared test host (tests/unit/testhost.[ch]).
plugins_LTLIBRARIES += plugins/storage/mem/mem.la
plugins_storage_mem_mem_la_SOURCES = plugins/storage/mem/mem.c plugins/storage/mem/index.c \
	plugins/storage/mem/series.c plugins/storage/mem/append.c plugins/storage/mem/query.c \
	plugins/storage/mem/mem.h
plugins_storage_mem_mem_la_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS)
plugins_storage_mem_mem_la_LDFLAGS = $(AM_LDFLAGS) $(IG_PLUGIN_LINK)
plugins_storage_mem_mem_la_LIBADD = sdk/libignis.la $(XXHASH_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/unit/plugins/test_mem
TESTS += tests/unit/plugins/test_mem
UNIT_TESTS += tests/unit/plugins/test_mem
tests_unit_plugins_test_mem_SOURCES = tests/unit/plugins/test_mem.c tests/unit/testhost.c \
	tests/unit/testhost.h
tests_unit_plugins_test_mem_CFLAGS = $(IG_TEST_CC)
tests_unit_plugins_test_mem_LDADD = $(IG_TEST_LINK) $(LIBEVENT_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

# Benchmark (make bench): series creation, append by ref + commit, select + read.
EXTRA_PROGRAMS += tests/bench/bench_mem
BENCHES += tests/bench/bench_mem
tests_bench_bench_mem_SOURCES = tests/bench/bench_mem.c tests/unit/testhost.c tests/unit/testhost.h
tests_bench_bench_mem_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
tests_bench_bench_mem_LDADD = sdk/libignis.la $(LIBEVENT_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)
