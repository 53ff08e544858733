#!/bin/sh
# tests/integration/tsdb_head.sh — the head's data directory (WAL + chunks_head/) is
# Prometheus': what our head commits, promtool's dump replays sample for sample; a
# directory whose head chunks Prometheus wrote, our head replays sample for sample.
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

# 1. Our head: 700 samples per series, so full chunks went to chunks_head/.
"$tool" gen 50 700 5 1700000000000 15000 >"$tmp/src.txt"
"$tool" head-append "$tmp/ours" "$tmp/src.txt" 2>"$tmp/log" || { cat "$tmp/log"; fail "head-append"; }
[ -s "$tmp/ours/chunks_head/000001" ] || fail "no head chunk file"
cp -r "$tmp/ours" "$tmp/ours-copy"
"$tool" head-dump "$tmp/ours" >"$tmp/ours.txt" 2>"$tmp/log" || { cat "$tmp/log"; fail "head-dump"; }
"$tool" compare "$tmp/src.txt" "$tmp/ours.txt" || fail "our head replays differently"
promtool tsdb dump "$tmp/ours-copy" >"$tmp/promtool.txt" 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump"; }
"$tool" compare "$tmp/src.txt" "$tmp/promtool.txt" || fail "promtool replays our head differently"

# 2. Head chunks written by Prometheus: promtool's replay of a WAL-only directory writes
#    chunks_head/ (its own format and refs); our head then replays both.
mkdir -p "$tmp/theirs"
"$tool" write-wal "$tmp/theirs/wal" "$tmp/src.txt" || fail "write-wal"
promtool tsdb dump "$tmp/theirs" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump"; }
[ -s "$tmp/theirs/chunks_head/000001" ] || fail "promtool wrote no head chunks"
"$tool" head-dump "$tmp/theirs" >"$tmp/theirs.txt" 2>"$tmp/log" || { cat "$tmp/log"; fail "head-dump"; }
"$tool" compare "$tmp/src.txt" "$tmp/theirs.txt" || fail "our head replays Prometheus' head chunks differently"
echo "PASS: tsdb_head"
