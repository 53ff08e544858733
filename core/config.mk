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

# Fuzz target of the loader, replayed over its corpus and crashers by `make check`.
# To fuzz: clang -fsanitize=fuzzer,address,undefined -Isdk/include -I. \
#   tests/fuzz/fuzz_config.c core/config.c core/config_schema.c sdk/src/*.c \
#   $(pkg-config --cflags --libs libconfig libpcre2-8 libxxhash) -lm -o fuzz_config
check_PROGRAMS += tests/fuzz/fuzz_config_replay
TESTS += tests/fuzz/fuzz_config_replay
UNIT_TESTS += tests/fuzz/fuzz_config_replay
tests_fuzz_fuzz_config_replay_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/replay.c
tests_fuzz_fuzz_config_replay_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) \
	-DIG_TEST_SRCDIR='"$(abs_top_srcdir)"' -DIG_FUZZ_TARGET='"config"'
tests_fuzz_fuzz_config_replay_LDADD = core/libigcore.la sdk/libignis.la
EXTRA_DIST += tests/fuzz/corpus/config
