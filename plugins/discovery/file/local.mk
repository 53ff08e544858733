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

# Fuzz targets of the JSON and YAML readers (tests/fuzz/README.md), replayed over their
# seeds and crashers by make check.
check_PROGRAMS += tests/fuzz/fuzz_file_sd_json_replay tests/fuzz/fuzz_file_sd_yaml_replay
FILE_SD_FUZZ_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(YAML_CFLAGS) \
	-I$(top_srcdir)/plugins/discovery/file
FILE_SD_FUZZ_LDADD = sdk/libignis.la $(JANSSON_LIBS) $(YAML_LIBS)
tests_fuzz_fuzz_file_sd_json_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_file_sd_json.c tests/fuzz/file_sd_common.h plugins/discovery/file/parse.c
tests_fuzz_fuzz_file_sd_json_replay_CFLAGS = $(FILE_SD_FUZZ_CFLAGS)
tests_fuzz_fuzz_file_sd_json_replay_LDADD = $(FILE_SD_FUZZ_LDADD)
tests_fuzz_fuzz_file_sd_yaml_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_file_sd_yaml.c tests/fuzz/file_sd_common.h plugins/discovery/file/parse.c
tests_fuzz_fuzz_file_sd_yaml_replay_CFLAGS = $(FILE_SD_FUZZ_CFLAGS)
tests_fuzz_fuzz_file_sd_yaml_replay_LDADD = $(FILE_SD_FUZZ_LDADD)
TESTS += tests/fuzz/file_sd_json.sh tests/fuzz/file_sd_yaml.sh
EXTRA_DIST += tests/fuzz/file_sd_json.sh tests/fuzz/file_sd_yaml.sh \
	tests/fuzz/corpus/file_sd_json tests/fuzz/crashers/file_sd_json \
	tests/fuzz/corpus/file_sd_yaml tests/fuzz/crashers/file_sd_yaml
