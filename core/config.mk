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
