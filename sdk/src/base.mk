# sdk/src/base.mk — libignis' base layer: label sets, RE2-syntax regexes on PCRE2,
# series selectors and matchers, the typed config view; their unit tests and the
# selector fuzz target.
sdk_libignis_la_SOURCES += sdk/src/labels.c sdk/src/regex.c sdk/src/config.c \
	sdk/src/selector.c sdk/src/base_internal.h
sdk_libignis_la_CFLAGS += $(XXHASH_CFLAGS)
sdk_libignis_la_LIBADD += $(XXHASH_LIBS)

# Unit tests (cmocka); also run under valgrind by make check-valgrind.
BASE_UNIT = tests/unit/sdk/test_labels tests/unit/sdk/test_config_view \
	tests/unit/sdk/test_regex tests/unit/sdk/test_selector
check_PROGRAMS += $(BASE_UNIT)
TESTS += $(BASE_UNIT)
UNIT_TESTS += $(BASE_UNIT)

tests_unit_sdk_test_labels_SOURCES = tests/unit/sdk/test_labels.c
tests_unit_sdk_test_labels_CFLAGS = $(IG_TEST_CC) $(XXHASH_CFLAGS)
tests_unit_sdk_test_labels_LDADD = $(IG_TEST_LINK) $(XXHASH_LIBS)

tests_unit_sdk_test_config_view_SOURCES = tests/unit/sdk/test_config_view.c
tests_unit_sdk_test_config_view_CFLAGS = $(IG_TEST_CC)
tests_unit_sdk_test_config_view_LDADD = $(IG_TEST_LINK)

tests_unit_sdk_test_regex_SOURCES = tests/unit/sdk/test_regex.c
tests_unit_sdk_test_regex_CFLAGS = $(IG_TEST_CC)
tests_unit_sdk_test_regex_LDADD = $(IG_TEST_LINK) $(PTHREAD_LIBS)

tests_unit_sdk_test_selector_SOURCES = tests/unit/sdk/test_selector.c
tests_unit_sdk_test_selector_CFLAGS = $(IG_TEST_CC)
tests_unit_sdk_test_selector_LDADD = $(IG_TEST_LINK)

# Fuzz target: the selector parser and the regex layer. The replay main is shared by all
# fuzz targets (tests/fuzz/replay.c); make check runs it over the seeds and crashers.
check_PROGRAMS += tests/fuzz/fuzz_selector_replay
tests_fuzz_fuzz_selector_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_selector.c
tests_fuzz_fuzz_selector_replay_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_selector_replay_LDADD = sdk/libignis.la
TESTS += tests/fuzz/selector.sh
EXTRA_DIST += tests/fuzz/selector.sh tests/fuzz/selector.dict tests/fuzz/README.md \
	tests/fuzz/corpus/selector tests/fuzz/crashers/selector
