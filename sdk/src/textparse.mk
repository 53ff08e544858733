# sdk/src/textparse.mk — the exposition parser (text 0.0.4, OpenMetrics 1.0) and the bounded
# gunzip, in libignis; its unit tests, conformance runner, fuzz target and benchmark.
sdk_libignis_la_SOURCES += sdk/src/textparse.c sdk/src/textparse_strict.c \
	sdk/src/textparse_gzip.c sdk/src/textparse_int.h
pkginclude_HEADERS += sdk/include/ignis/textparse.h
