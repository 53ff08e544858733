# sdk/src/base.mk — libignis' base layer: label sets, RE2-syntax regexes on PCRE2,
# series selectors and matchers, the typed config view; their unit tests and fuzz
# targets.
sdk_libignis_la_SOURCES += sdk/src/labels.c sdk/src/regex.c sdk/src/config.c \
	sdk/src/base_internal.h
sdk_libignis_la_CFLAGS += $(XXHASH_CFLAGS)
sdk_libignis_la_LIBADD += $(XXHASH_LIBS)

# Unit tests (cmocka).
BASE_UNIT = tests/unit/sdk/test_labels tests/unit/sdk/test_config_view
check_PROGRAMS += $(BASE_UNIT)
TESTS += $(BASE_UNIT)
UNIT_TESTS += $(BASE_UNIT)

tests_unit_sdk_test_labels_SOURCES = tests/unit/sdk/test_labels.c
tests_unit_sdk_test_labels_CFLAGS = $(IG_TEST_CC) $(XXHASH_CFLAGS)
tests_unit_sdk_test_labels_LDADD = $(IG_TEST_LINK) $(XXHASH_LIBS)

tests_unit_sdk_test_config_view_SOURCES = tests/unit/sdk/test_config_view.c
tests_unit_sdk_test_config_view_CFLAGS = $(IG_TEST_CC)
tests_unit_sdk_test_config_view_LDADD = $(IG_TEST_LINK)
