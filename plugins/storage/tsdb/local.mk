# plugins/storage/tsdb/local.mk — the tsdb storage plugin. Its rooms are built into a
# convenience library so unit tests and the developer tool can link the internals.
noinst_LTLIBRARIES += plugins/storage/tsdb/libtsdb.la
plugins_storage_tsdb_libtsdb_la_SOURCES = \
	plugins/storage/tsdb/enc.h plugins/storage/tsdb/enc.c \
	plugins/storage/tsdb/crc32c.h plugins/storage/tsdb/crc32c.c \
	plugins/storage/tsdb/chunkenc.h plugins/storage/tsdb/chunkenc.c
plugins_storage_tsdb_libtsdb_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SNAPPY_CFLAGS) \
	$(ZSTD_CFLAGS)
plugins_storage_tsdb_libtsdb_la_LIBADD = sdk/libignis.la $(JANSSON_LIBS) $(SNAPPY_LIBS) \
	$(ZSTD_LIBS) $(PTHREAD_LIBS) $(M_LIBS)

TSDB_TEST_CC = $(IG_TEST_CC) -I$(top_srcdir)/plugins/storage/tsdb
TSDB_TEST_LINK = plugins/storage/tsdb/libtsdb.la $(IG_TEST_LINK)

check_PROGRAMS += tests/unit/plugins/test_tsdb_chunk
UNIT_TESTS += tests/unit/plugins/test_tsdb_chunk
TESTS += tests/unit/plugins/test_tsdb_chunk
tests_unit_plugins_test_tsdb_chunk_SOURCES = tests/unit/plugins/test_tsdb_chunk.c
tests_unit_plugins_test_tsdb_chunk_CFLAGS = $(TSDB_TEST_CC)
tests_unit_plugins_test_tsdb_chunk_LDADD = $(TSDB_TEST_LINK)
