# plugins/query/promql/local.mk — the PromQL query plugin: parser, printer and engine in a
# convenience library (linked into the plugin module and into its tests), the module
# itself, its unit tests and the conformance runner.
noinst_LTLIBRARIES += plugins/query/promql/libpromql.la
plugins_query_promql_libpromql_la_SOURCES = plugins/query/promql/ast.h \
	plugins/query/promql/engine.h plugins/query/promql/evalint.h \
	plugins/query/promql/util.c plugins/query/promql/funcs.c \
	plugins/query/promql/parse.c plugins/query/promql/print.c plugins/query/promql/ast_json.c \
	plugins/query/promql/eval.c plugins/query/promql/func.c plugins/query/promql/info.c \
	plugins/query/promql/engine.c
plugins_query_promql_libpromql_la_CFLAGS = $(AM_CFLAGS)

plugins_LTLIBRARIES += plugins/query/promql/promql.la
plugins_query_promql_promql_la_SOURCES = plugins/query/promql/plugin.c
plugins_query_promql_promql_la_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/plugins/query/promql
plugins_query_promql_promql_la_LDFLAGS = $(AM_LDFLAGS) $(IG_PLUGIN_LINK)
plugins_query_promql_promql_la_LIBADD = plugins/query/promql/libpromql.la sdk/libignis.la \
	$(M_LIBS) $(PTHREAD_LIBS)

PQ_TEST_CFLAGS = $(IG_TEST_CC) -I$(top_srcdir)/plugins/query/promql
PQ_TEST_LIBS = plugins/query/promql/libpromql.la $(IG_TEST_LINK) $(M_LIBS)

check_PROGRAMS += tests/unit/plugins/test_promql_parse
TESTS += tests/unit/plugins/test_promql_parse
UNIT_TESTS += tests/unit/plugins/test_promql_parse
tests_unit_plugins_test_promql_parse_SOURCES = tests/unit/plugins/test_promql_parse.c
tests_unit_plugins_test_promql_parse_CFLAGS = $(PQ_TEST_CFLAGS)
tests_unit_plugins_test_promql_parse_LDADD = $(PQ_TEST_LIBS)

# The conformance runner: loads mem.so and promql.so from the build tree and runs every
# file of $(CONFORMANCE_DIR)/promql (through tests/conformance/promql.sh).
check_PROGRAMS += tests/conformance/promql
TESTS += tests/conformance/promql.sh
EXTRA_DIST += tests/conformance/promql.sh
tests_conformance_promql_SOURCES = tests/conformance/promql.c tests/unit/testhost.c \
	tests/unit/testhost.h
tests_conformance_promql_CFLAGS = $(PQ_TEST_CFLAGS) -I$(top_srcdir)/tests/unit
tests_conformance_promql_LDADD = plugins/query/promql/libpromql.la sdk/libignis.la \
	$(LIBEVENT_LIBS) $(DL_LIBS) $(PTHREAD_LIBS) $(M_LIBS)

# Fuzz target (tests/fuzz/README.md): make check replays it over seeds and crashers.
check_PROGRAMS += tests/fuzz/fuzz_promql_replay
tests_fuzz_fuzz_promql_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_promql.c
tests_fuzz_fuzz_promql_replay_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/plugins/query/promql \
	$(JANSSON_CFLAGS)
tests_fuzz_fuzz_promql_replay_LDADD = plugins/query/promql/libpromql.la sdk/libignis.la $(M_LIBS) \
	$(JANSSON_LIBS)
TESTS += tests/fuzz/promql.sh
EXTRA_DIST += tests/fuzz/promql.sh tests/fuzz/corpus/promql tests/fuzz/crashers/promql

check_PROGRAMS += tests/unit/plugins/test_promql_eval
TESTS += tests/unit/plugins/test_promql_eval
UNIT_TESTS += tests/unit/plugins/test_promql_eval
tests_unit_plugins_test_promql_eval_SOURCES = tests/unit/plugins/test_promql_eval.c \
	plugins/query/promql/plugin.c tests/unit/testhost.c tests/unit/testhost.h
tests_unit_plugins_test_promql_eval_CFLAGS = $(PQ_TEST_CFLAGS) -I$(top_srcdir)/tests/unit
tests_unit_plugins_test_promql_eval_LDADD = $(PQ_TEST_LIBS) $(LIBEVENT_LIBS) $(PTHREAD_LIBS)
