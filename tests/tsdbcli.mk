# tests/tsdbcli.mk — integration tests of `ignisctl tsdb dump|analyze|create-blocks-from`
# against promtool 2.42 (core/ignisctl_tsdb*.c).
TESTS += tests/integration/tsdb_ctl_dump.sh tests/integration/tsdb_ctl_analyze.sh \
	tests/integration/tsdb_ctl_backfill.sh tests/integration/tsdb_ctl_ignisd.sh
EXTRA_DIST += tests/integration/tsdb_ctl_dump.sh tests/integration/tsdb_ctl_analyze.sh \
	tests/integration/tsdb_ctl_backfill.sh tests/integration/tsdb_ctl_ignisd.sh

# Fuzz target of the read-only head view dump loads (tests/fuzz/README.md), replayed over
# its seeds and saved crashers by make check.
check_PROGRAMS += tests/fuzz/fuzz_rohead_replay
tests_fuzz_fuzz_rohead_replay_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/fuzz_rohead.c
tests_fuzz_fuzz_rohead_replay_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/plugins/storage/tsdb
tests_fuzz_fuzz_rohead_replay_LDADD = plugins/storage/tsdb/libtsdb.la sdk/libignis.la
TESTS += tests/fuzz/rohead.sh
EXTRA_DIST += tests/fuzz/rohead.sh tests/fuzz/corpus/rohead tests/fuzz/crashers/rohead
