# core/config.mk — the config reader (core/config*.c), its unit test and test files,
# and the shipped default config installed as $(sysconfdir)/ignis/ignis.conf.
core_libigcore_la_SOURCES += core/config.c core/config_schema.c core/config_priv.h \
	core/config.h

ignisconfdir = $(sysconfdir)/ignis
ignisconf_DATA = etc/ignis.conf
EXTRA_DIST += etc/ignis.conf tests/unit/core/configs

check_PROGRAMS += tests/unit/core/test_config
TESTS += tests/unit/core/test_config
UNIT_TESTS += tests/unit/core/test_config
tests_unit_core_test_config_SOURCES = tests/unit/core/test_config.c
tests_unit_core_test_config_CFLAGS = $(IG_TEST_CC) $(LIBCONFIG_CFLAGS) \
	-DIG_TEST_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_core_test_config_LDADD = core/libigcore.la $(IG_TEST_LINK)

# Fuzz target of the loader (tests/fuzz/README.md), replayed over its seeds and
# crashers by `make check`.
check_PROGRAMS += tests/fuzz/fuzz_config_replay
tests_fuzz_fuzz_config_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_config.c
tests_fuzz_fuzz_config_replay_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_fuzz_fuzz_config_replay_LDADD = core/libigcore.la sdk/libignis.la
TESTS += tests/fuzz/config.sh
EXTRA_DIST += tests/fuzz/config.sh tests/fuzz/corpus/config tests/fuzz/crashers/config
