# plugins/storage/tsdb/local.mk — the tsdb storage plugin. Its rooms are built into a
# convenience library so unit tests and the developer tool can link the internals.
noinst_LTLIBRARIES += plugins/storage/tsdb/libtsdb.la
plugins_storage_tsdb_libtsdb_la_SOURCES = \
	plugins/storage/tsdb/enc.h plugins/storage/tsdb/enc.c \
	plugins/storage/tsdb/crc32c.h plugins/storage/tsdb/crc32c.c \
	plugins/storage/tsdb/chunkenc.h plugins/storage/tsdb/chunkenc.c \
	plugins/storage/tsdb/fileutil.h plugins/storage/tsdb/fileutil.c \
	plugins/storage/tsdb/chunks.h plugins/storage/tsdb/chunks.c \
	plugins/storage/tsdb/index.h plugins/storage/tsdb/index.c \
	plugins/storage/tsdb/meta.h plugins/storage/tsdb/meta.c \
	plugins/storage/tsdb/block.h plugins/storage/tsdb/block.c \
	plugins/storage/tsdb/wal.h plugins/storage/tsdb/wal.c \
	plugins/storage/tsdb/record.h plugins/storage/tsdb/record.c \
	plugins/storage/tsdb/checkpoint.h plugins/storage/tsdb/checkpoint.c \
	plugins/storage/tsdb/postings.h plugins/storage/tsdb/postings.c \
	plugins/storage/tsdb/hchunks.h plugins/storage/tsdb/hchunks.c \
	plugins/storage/tsdb/head.h plugins/storage/tsdb/head.c \
	plugins/storage/tsdb/db.h plugins/storage/tsdb/querier.c plugins/storage/tsdb/compact.c \
	plugins/storage/tsdb/admin.c plugins/storage/tsdb/exemplars.h plugins/storage/tsdb/exemplars.c \
	plugins/storage/tsdb/merge.c \
	plugins/storage/tsdb/textfmt.h plugins/storage/tsdb/textfmt.c \
	plugins/storage/tsdb/rohead.h plugins/storage/tsdb/rohead.c
plugins_storage_tsdb_libtsdb_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SNAPPY_CFLAGS) \
	$(ZSTD_CFLAGS) $(XXHASH_CFLAGS)
plugins_storage_tsdb_libtsdb_la_LIBADD = sdk/libignis.la $(JANSSON_LIBS) $(SNAPPY_LIBS) \
	$(ZSTD_LIBS) $(XXHASH_LIBS) $(PTHREAD_LIBS) $(M_LIBS)

TSDB_TEST_CC = $(IG_TEST_CC) -I$(top_srcdir)/plugins/storage/tsdb
TSDB_TEST_LINK = plugins/storage/tsdb/libtsdb.la $(IG_TEST_LINK)

check_PROGRAMS += tests/unit/plugins/test_tsdb_chunk
UNIT_TESTS += tests/unit/plugins/test_tsdb_chunk
TESTS += tests/unit/plugins/test_tsdb_chunk
tests_unit_plugins_test_tsdb_chunk_SOURCES = tests/unit/plugins/test_tsdb_chunk.c
tests_unit_plugins_test_tsdb_chunk_CFLAGS = $(TSDB_TEST_CC)
tests_unit_plugins_test_tsdb_chunk_LDADD = $(TSDB_TEST_LINK)

# The developer tool the integration tests drive (built for check, not installed).
check_PROGRAMS += plugins/storage/tsdb/tsdbtool
plugins_storage_tsdb_tsdbtool_SOURCES = plugins/storage/tsdb/tsdbtool.c
plugins_storage_tsdb_tsdbtool_CFLAGS = $(AM_CFLAGS)
plugins_storage_tsdb_tsdbtool_LDADD = plugins/storage/tsdb/libtsdb.la $(M_LIBS)

TESTS += tests/integration/tsdb_promtool.sh
EXTRA_DIST += tests/integration/tsdb_promtool.sh

check_PROGRAMS += tests/unit/plugins/test_tsdb_block
UNIT_TESTS += tests/unit/plugins/test_tsdb_block
TESTS += tests/unit/plugins/test_tsdb_block
tests_unit_plugins_test_tsdb_block_SOURCES = tests/unit/plugins/test_tsdb_block.c
tests_unit_plugins_test_tsdb_block_CFLAGS = $(TSDB_TEST_CC)
tests_unit_plugins_test_tsdb_block_LDADD = $(TSDB_TEST_LINK)

check_PROGRAMS += tests/unit/plugins/test_tsdb_wal
UNIT_TESTS += tests/unit/plugins/test_tsdb_wal
TESTS += tests/unit/plugins/test_tsdb_wal
tests_unit_plugins_test_tsdb_wal_SOURCES = tests/unit/plugins/test_tsdb_wal.c
tests_unit_plugins_test_tsdb_wal_CFLAGS = $(TSDB_TEST_CC)
tests_unit_plugins_test_tsdb_wal_LDADD = $(TSDB_TEST_LINK)

TESTS += tests/integration/tsdb_wal.sh
EXTRA_DIST += tests/integration/tsdb_wal.sh

check_PROGRAMS += tests/unit/plugins/test_tsdb_head
UNIT_TESTS += tests/unit/plugins/test_tsdb_head
TESTS += tests/unit/plugins/test_tsdb_head
tests_unit_plugins_test_tsdb_head_SOURCES = tests/unit/plugins/test_tsdb_head.c
tests_unit_plugins_test_tsdb_head_CFLAGS = $(TSDB_TEST_CC)
tests_unit_plugins_test_tsdb_head_LDADD = $(TSDB_TEST_LINK)

TESTS += tests/integration/tsdb_head.sh
EXTRA_DIST += tests/integration/tsdb_head.sh

# The plugin module: the ops table over the convenience library.
plugins_LTLIBRARIES += plugins/storage/tsdb/tsdb.la
plugins_storage_tsdb_tsdb_la_SOURCES = plugins/storage/tsdb/plugin.c
plugins_storage_tsdb_tsdb_la_CFLAGS = $(AM_CFLAGS)
plugins_storage_tsdb_tsdb_la_LDFLAGS = $(AM_LDFLAGS) $(IG_PLUGIN_LINK)
plugins_storage_tsdb_tsdb_la_LIBADD = plugins/storage/tsdb/libtsdb.la sdk/libignis.la

check_PROGRAMS += tests/unit/plugins/test_tsdb_plugin
UNIT_TESTS += tests/unit/plugins/test_tsdb_plugin
TESTS += tests/unit/plugins/test_tsdb_plugin
tests_unit_plugins_test_tsdb_plugin_SOURCES = tests/unit/plugins/test_tsdb_plugin.c \
	tests/unit/testhost.c tests/unit/testhost.h
tests_unit_plugins_test_tsdb_plugin_CFLAGS = $(TSDB_TEST_CC)
tests_unit_plugins_test_tsdb_plugin_LDADD = $(TSDB_TEST_LINK) $(LIBEVENT_LIBS) $(DL_LIBS) \
	$(PTHREAD_LIBS)

TESTS += tests/integration/tsdb_db.sh
EXTRA_DIST += tests/integration/tsdb_db.sh

TESTS += tests/integration/tsdb_compact.sh
EXTRA_DIST += tests/integration/tsdb_compact.sh

# Fuzz target of the on-disk parsers (tests/fuzz/README.md), replayed over its seeds and
# saved crashers by make check.
check_PROGRAMS += tests/fuzz/fuzz_tsdb_replay
tests_fuzz_fuzz_tsdb_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/fuzz_tsdb.c
tests_fuzz_fuzz_tsdb_replay_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/plugins/storage/tsdb
tests_fuzz_fuzz_tsdb_replay_LDADD = plugins/storage/tsdb/libtsdb.la sdk/libignis.la
TESTS += tests/fuzz/tsdb.sh
EXTRA_DIST += tests/fuzz/tsdb.sh tests/fuzz/corpus/tsdb tests/fuzz/crashers/tsdb

# Benchmark (make bench): append by ref + commit, memory per series, WAL replay and bytes
# per sample, beside Prometheus 2.42 where it can be driven the same way.
EXTRA_PROGRAMS += tests/bench/bench_tsdb
BENCHES += tests/bench/bench_tsdb
tests_bench_bench_tsdb_SOURCES = tests/bench/bench_tsdb.c tests/unit/testhost.c \
	tests/unit/testhost.h
tests_bench_bench_tsdb_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
tests_bench_bench_tsdb_LDADD = sdk/libignis.la $(LIBEVENT_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

TESTS += tests/integration/tsdb_ignisd.sh
EXTRA_DIST += tests/integration/tsdb_ignisd.sh
