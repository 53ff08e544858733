# sdk/local.mk — libignis: the one shared library ignisd, every plugin and every
# standalone exporter link. Exports only ignis_* symbols; versioned soname.
lib_LTLIBRARIES += sdk/libignis.la
sdk_libignis_la_SOURCES = sdk/src/errors.c
sdk_libignis_la_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(LIBEVENT_CFLAGS) $(ZLIB_CFLAGS)
sdk_libignis_la_LIBADD = $(PCRE2_LIBS) $(LIBEVENT_LIBS) $(ZLIB_LIBS) $(M_LIBS) $(PTHREAD_LIBS)
sdk_libignis_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(IGNIS_LT_VERSION) \
	-export-symbols-regex '^ignis_' -no-undefined
pkginclude_HEADERS += sdk/include/ignis/ignis.h sdk/include/ignis/plugin.h \
	sdk/include/ignis/labels.h sdk/include/ignis/selector.h sdk/include/ignis/config.h \
	sdk/include/ignis/metrics.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = sdk/ignis.pc
EXTRA_DIST += sdk/ignis.pc.in
