# core/local.mk — ignisd and ignisctl. The core's rooms are built into one
# convenience library so unit tests can link them.
noinst_LTLIBRARIES += core/libigcore.la
core_libigcore_la_SOURCES = core/log.c core/log.h core/workers.c core/workers.h \
	core/http.c core/http.h core/plugins.c core/plugins.h core/core.c core/core.h \
	core/config.h core/selfmetrics.c core/selfmetrics.h core/httpc.c core/httpc.h \
	core/json.c core/json.h core/scrape.c core/scrape.h core/scrape_int.h core/scrape_ingest.c \
	core/api.c core/api.h core/api_query.c core/api_tsdb.c
core_libigcore_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(LIBCONFIG_CFLAGS) $(ZLIB_CFLAGS) \
	$(CURL_CFLAGS) $(XXHASH_CFLAGS)
core_libigcore_la_LIBADD = sdk/libignis.la $(LIBEVENT_LIBS) $(LIBCONFIG_LIBS) $(ZLIB_LIBS) $(CURL_LIBS) $(XXHASH_LIBS) \
	$(DL_LIBS) $(PTHREAD_LIBS) $(M_LIBS)

bin_PROGRAMS += core/ignisd core/ignisctl
core_ignisd_SOURCES = core/main.c
core_ignisd_CFLAGS = $(core_libigcore_la_CFLAGS)
core_ignisd_LDADD = core/libigcore.la
core_ignisctl_SOURCES = core/ignisctl.c core/ignisctl_tsdb.c core/ignisctl_tsdb.h \
	core/ignisctl_tsdb_dump.c core/ignisctl_tsdb_analyze.c core/ignisctl_tsdb_backfill.c
core_ignisctl_CFLAGS = $(core_libigcore_la_CFLAGS) $(JANSSON_CFLAGS)
core_ignisctl_LDADD = core/libigcore.la plugins/storage/tsdb/libtsdb.la $(JANSSON_LIBS) $(M_LIBS)
