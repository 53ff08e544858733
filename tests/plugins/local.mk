# tests/plugins/local.mk — test-only plugin modules, one source built with different
# defines, to exercise each loader refusal. Built for `make check`, never installed.
TESTPLUG_SRC = tests/plugins/testplug.c
TESTPLUG_LIBADD = sdk/libignis.la
check_LTLIBRARIES += tests/plugins/good.la tests/plugins/bad_major.la \
	tests/plugins/newer_minor.la tests/plugins/nosym.la tests/plugins/unknown_kind.la \
	tests/plugins/dup_good.la tests/plugins/create_fails.la tests/plugins/small_ops.la \
	tests/plugins/misnamed.la
tests_plugins_good_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_good_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_good_la_LIBADD = $(TESTPLUG_LIBADD)
tests_plugins_bad_major_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_bad_major_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NAME='"bad_major"' -DPLUG_MAJOR=99
tests_plugins_bad_major_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_bad_major_la_LIBADD = $(TESTPLUG_LIBADD)
tests_plugins_newer_minor_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_newer_minor_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NAME='"newer_minor"' -DPLUG_MINOR=999
tests_plugins_newer_minor_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_newer_minor_la_LIBADD = $(TESTPLUG_LIBADD)
tests_plugins_nosym_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_nosym_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NOSYM
tests_plugins_nosym_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -rpath /nowhere
tests_plugins_nosym_la_LIBADD = $(TESTPLUG_LIBADD)
tests_plugins_unknown_kind_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_unknown_kind_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NAME='"unknown_kind"' -DPLUG_KIND=77
tests_plugins_unknown_kind_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_unknown_kind_la_LIBADD = $(TESTPLUG_LIBADD)
tests_plugins_dup_good_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_dup_good_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_dup_good_la_LIBADD = $(TESTPLUG_LIBADD)
tests_plugins_create_fails_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_create_fails_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NAME='"create_fails"' -DPLUG_CREATE_FAIL
tests_plugins_create_fails_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_create_fails_la_LIBADD = $(TESTPLUG_LIBADD)
tests_plugins_small_ops_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_small_ops_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NAME='"small_ops"' -DPLUG_SMALL_OPS
tests_plugins_small_ops_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_small_ops_la_LIBADD = $(TESTPLUG_LIBADD)
tests_plugins_misnamed_la_SOURCES = $(TESTPLUG_SRC)
tests_plugins_misnamed_la_CPPFLAGS = $(AM_CPPFLAGS) -DPLUG_NAME='"Bad-Name"'
tests_plugins_misnamed_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_misnamed_la_LIBADD = $(TESTPLUG_LIBADD)

# An exporter that drives the host's HTTP client (tests/integration/host_http_client.sh).
check_LTLIBRARIES += tests/plugins/fetch.la
tests_plugins_fetch_la_SOURCES = tests/plugins/fetchplug.c
tests_plugins_fetch_la_LDFLAGS = $(AM_LDFLAGS) $(IG_TEST_PLUGIN_LINK)
tests_plugins_fetch_la_LIBADD = $(TESTPLUG_LIBADD) $(LIBEVENT_LIBS)
TESTS += tests/integration/host_http_client.sh
EXTRA_DIST += tests/integration/host_http_client.sh
