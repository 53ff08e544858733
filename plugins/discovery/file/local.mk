# plugins/discovery/file/local.mk — the `file` discovery plugin (Prometheus' file_sd_config),
# its unit test (which dlopens the module and also tests the parsers directly) and the
# fuzz targets of its JSON and YAML parsers.
plugins_LTLIBRARIES += plugins/discovery/file/file.la
plugins_discovery_file_file_la_SOURCES = plugins/discovery/file/file.c \
	plugins/discovery/file/parse.c plugins/discovery/file/file_sd.h
plugins_discovery_file_file_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(YAML_CFLAGS) \
	$(LIBEVENT_CFLAGS) $(XXHASH_CFLAGS)
plugins_discovery_file_file_la_LDFLAGS = $(AM_LDFLAGS) $(IG_PLUGIN_LINK)
plugins_discovery_file_file_la_LIBADD = sdk/libignis.la $(JANSSON_LIBS) $(YAML_LIBS) \
	$(LIBEVENT_LIBS) $(XXHASH_LIBS)

FILE_SD_UNIT = tests/unit/plugins/test_file_sd
check_PROGRAMS += $(FILE_SD_UNIT)
TESTS += $(FILE_SD_UNIT)
UNIT_TESTS += $(FILE_SD_UNIT)
tests_unit_plugins_test_file_sd_SOURCES = tests/unit/plugins/test_file_sd.c \
	plugins/discovery/file/parse.c plugins/discovery/file/file_sd.h \
	tests/unit/testhost.c tests/unit/testhost.h
tests_unit_plugins_test_file_sd_CFLAGS = $(IG_TEST_CC) $(JANSSON_CFLAGS) $(YAML_CFLAGS) \
	-I$(top_srcdir)/plugins/discovery/file -I$(top_srcdir)/tests/unit
tests_unit_plugins_test_file_sd_LDADD = $(IG_TEST_LINK) $(JANSSON_LIBS) $(YAML_LIBS) \
	$(LIBEVENT_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)
# the test dlopens the built module
EXTRA_tests_unit_plugins_test_file_sd_DEPENDENCIES = plugins/discovery/file/file.la
