#!/bin/sh
# tests/integration/tsdb_compact.sh — compaction keeps exactly the samples it should: a
# head holding ~60 hours is persisted as 2h blocks, its WAL checkpointed and truncated, the
# blocks merged into larger ranges (6h, 18h, 54h) as Prometheus' planner would, and both
# promtool and we read every sample once afterwards.
set -eu
tool="$top_builddir/plugins/storage/tsdb/tsdbtool"
if ! command -v promtool >/dev/null 2>&1; then
    # CI installs the peers (scripts/install-test-peers.sh): missing there is a failure.
    [ "${CI:-}" = "true" ] && { echo "FAIL: promtool is not installed"; exit 1; }
    echo "SKIP: promtool (Debian package prometheus) is not installed"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$tool" gen 40 1500 9 1700000000000 15000 >"$tmp/src.txt"
"$tool" head-append "$tmp/db" "$tmp/src.txt" 2>"$tmp/log" || { cat "$tmp/log"; fail "head-append"; }
"$tool" db-compact "$tmp/db" 2>"$tmp/log" || { cat "$tmp/log"; fail "db-compact"; }
nblocks=$(ls "$tmp/db" | grep -c '^[0-9A-Z]\{26\}$' || true)
[ "$nblocks" -ge 2 ] || fail "expected several blocks, got $nblocks"
grep -q '"level": [2-9]' "$tmp"/db/*/meta.json || fail "no block was merged into a larger one"
[ "$nblocks" -lt 19 ] || fail "19 head blocks but no merge: $nblocks blocks"
ls "$tmp/db/wal" | grep -q '^checkpoint\.' || fail "no WAL checkpoint after truncation"
"$tool" db-dump "$tmp/db" >"$tmp/ours.txt" 2>/dev/null || fail "db-dump"
"$tool" compare "$tmp/src.txt" "$tmp/ours.txt" || fail "samples lost or doubled by compaction"
cp -r "$tmp/db" "$tmp/copy"
promtool tsdb dump "$tmp/copy" >"$tmp/promtool.txt" 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump"; }
"$tool" compare "$tmp/src.txt" "$tmp/promtool.txt" || fail "promtool reads the compacted directory differently"
promtool tsdb analyze "$tmp/copy" >"$tmp/analyze.txt" 2>&1 || { cat "$tmp/analyze.txt"; fail "analyze"; }
grep -q "^Series: 40$" "$tmp/analyze.txt" || fail "analyze does not see 40 series"
# Reopening and compacting again changes nothing.
"$tool" db-compact "$tmp/db" 2>/dev/null || fail "second db-compact"
"$tool" db-dump "$tmp/db" >"$tmp/ours2.txt" 2>/dev/null || fail "db-dump 2"
"$tool" compare "$tmp/src.txt" "$tmp/ours2.txt" || fail "a second compaction changed the samples"
echo "PASS: tsdb_compact"
