# core/relabel.mk — relabeling (core/relabel.{c,h}): compiled Prometheus relabel rules
# applied to label sets; its unit tests and fuzz target.
core_libigcore_la_SOURCES += core/relabel.c core/relabel.h
core_libigcore_la_CFLAGS += $(OPENSSL_CFLAGS)
core_libigcore_la_LIBADD += $(OPENSSL_LIBS)

RELABEL_UNIT = tests/unit/core/test_relabel
check_PROGRAMS += $(RELABEL_UNIT)
TESTS += $(RELABEL_UNIT)
UNIT_TESTS += $(RELABEL_UNIT)
tests_unit_core_test_relabel_SOURCES = tests/unit/core/test_relabel.c
tests_unit_core_test_relabel_CFLAGS = $(IG_TEST_CC)
tests_unit_core_test_relabel_LDADD = core/libigcore.la $(IG_TEST_LINK)

# Fuzz target (tests/fuzz/README.md), replayed over its seeds and crashers by make check.
check_PROGRAMS += tests/fuzz/fuzz_relabel_replay
tests_fuzz_fuzz_relabel_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_relabel.c
tests_fuzz_fuzz_relabel_replay_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_relabel_replay_LDADD = core/libigcore.la sdk/libignis.la
TESTS += tests/fuzz/relabel.sh
EXTRA_DIST += tests/fuzz/relabel.sh tests/fuzz/corpus/relabel tests/fuzz/crashers/relabel
