#!/bin/bash
# tests/integration/tsdb_promtool.sh — Ignis blocks and Prometheus' tools read each other:
# a block written by the tsdb room reads back through `promtool tsdb dump` sample for
# sample (tombstones applied), `promtool tsdb analyze` accepts it, and blocks made by
# `promtool tsdb create-blocks-from openmetrics` read back through the tsdb room equal
# to their source.
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

# 1. Our block, read by promtool. promtool dump wants a wal/ directory beside the blocks.
mkdir -p "$tmp/ours/wal"
"$tool" gen 60 400 1 1700000000000 15000 >"$tmp/src.txt"
ulid=$("$tool" write-block "$tmp/ours" "$tmp/src.txt") || fail "write-block"
promtool tsdb dump "$tmp/ours" >"$tmp/promtool.txt" 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump"; }
"$tool" compare "$tmp/src.txt" "$tmp/promtool.txt" || fail "promtool's dump differs from what was written"

promtool tsdb analyze "$tmp/ours" >"$tmp/analyze.txt" 2>&1 || { cat "$tmp/analyze.txt"; fail "promtool analyze"; }
grep -q "^Block ID: $ulid" "$tmp/analyze.txt" || fail "analyze names no block $ulid"
grep -q "^Series: 60$" "$tmp/analyze.txt" || fail "analyze does not count 60 series"
grep -q "^Label names: 3$" "$tmp/analyze.txt" || fail "analyze does not count 3 label names"

# 2. Tombstones we write are honoured by promtool: delete a time range from odd series.
mint=1700000600000
maxt=1700001800000
"$tool" delete "$tmp/ours/$ulid" $mint $maxt odd || fail "delete"
promtool tsdb dump "$tmp/ours" >"$tmp/promtool2.txt" 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump after delete"; }
"$tool" dump "$tmp/ours" >"$tmp/ours2.txt" || fail "our dump after delete"
"$tool" compare "$tmp/ours2.txt" "$tmp/promtool2.txt" || fail "tombstones read differently"
n_src=$(wc -l <"$tmp/src.txt")
n_del=$(wc -l <"$tmp/promtool2.txt")
[ "$n_del" -lt "$n_src" ] || fail "the tombstones deleted nothing"
# Exactly the samples of the tombstoned range in odd series are gone.
awk -v a=$mint -v b=$maxt '$NF >= a && $NF <= b' "$tmp/src.txt" | sort >"$tmp/inrange.txt"
in_range=$(wc -l <"$tmp/inrange.txt")
[ $((n_src - n_del)) -gt 0 ] && [ $((n_src - n_del)) -lt "$in_range" ] ||
    fail "deleted $((n_src - n_del)) samples, expected some but fewer than $in_range"

# 3. promtool's blocks, read by us, equal their OpenMetrics source.
"$tool" gen-om 40 500 2 1700000000000 15000 >"$tmp/src.om"
"$tool" gen 40 500 2 1700000000000 15000 >"$tmp/src2.txt"
promtool tsdb create-blocks-from openmetrics "$tmp/src.om" "$tmp/theirs" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; fail "create-blocks-from"; }
nblocks=$(ls "$tmp/theirs" | wc -l)
[ "$nblocks" -gt 1 ] || fail "expected the source to span several blocks, got $nblocks"
"$tool" dump "$tmp/theirs" >"$tmp/theirs.txt" || fail "reading promtool's blocks"
"$tool" compare "$tmp/src2.txt" "$tmp/theirs.txt" || fail "promtool's blocks read back differently"
echo "PASS: tsdb_promtool"
