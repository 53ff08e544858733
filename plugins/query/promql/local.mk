# plugins/query/promql/local.mk — the PromQL query plugin: parser, printer and engine in a
# convenience library (linked into the plugin module and into its tests), the module
# itself, its unit tests, fuzz target and conformance runner.
noinst_LTLIBRARIES += plugins/query/promql/libpromql.la
plugins_query_promql_libpromql_la_SOURCES = plugins/query/promql/ast.h \
	plugins/query/promql/util.c plugins/query/promql/funcs.c \
	plugins/query/promql/parse.c plugins/query/promql/print.c
plugins_query_promql_libpromql_la_CFLAGS = $(AM_CFLAGS)

PQ_TEST_CFLAGS = $(IG_TEST_CC) -I$(top_srcdir)/plugins/query/promql
PQ_TEST_LIBS = plugins/query/promql/libpromql.la $(IG_TEST_LINK) $(M_LIBS)

check_PROGRAMS += tests/unit/plugins/test_promql_parse
TESTS += tests/unit/plugins/test_promql_parse
UNIT_TESTS += tests/unit/plugins/test_promql_parse
tests_unit_plugins_test_promql_parse_SOURCES = tests/unit/plugins/test_promql_parse.c
tests_unit_plugins_test_promql_parse_CFLAGS = $(PQ_TEST_CFLAGS)
tests_unit_plugins_test_promql_parse_LDADD = $(PQ_TEST_LIBS)
