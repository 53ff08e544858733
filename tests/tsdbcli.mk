# tests/tsdbcli.mk — integration tests of `ignisctl tsdb dump|analyze|create-blocks-from`
# against promtool 2.42 (core/ignisctl_tsdb*.c).
TESTS += tests/integration/tsdb_ctl_dump.sh tests/integration/tsdb_ctl_analyze.sh \
	tests/integration/tsdb_ctl_backfill.sh
EXTRA_DIST += tests/integration/tsdb_ctl_dump.sh tests/integration/tsdb_ctl_analyze.sh \
	tests/integration/tsdb_ctl_backfill.sh
