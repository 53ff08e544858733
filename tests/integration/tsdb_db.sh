#!/bin/sh
# tests/integration/tsdb_db.sh — a whole data directory read as the plugin reads it
# (head replay plus every block, series merged across them): blocks promtool made with a
# WAL of later samples beside them, a time range of it, overlapping blocks holding the same
# samples (read once), and tombstones; each compared with the source and with promtool.
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

# 1. promtool's blocks plus our WAL with newer samples.
"$tool" gen-om 30 800 7 1700000000000 15000 >"$tmp/src.om"
"$tool" gen 30 800 7 1700000000000 15000 >"$tmp/blocks.txt"
"$tool" gen 30 200 8 1700200000000 15000 >"$tmp/head.txt"
cat "$tmp/blocks.txt" "$tmp/head.txt" >"$tmp/all.txt"
promtool tsdb create-blocks-from openmetrics "$tmp/src.om" "$tmp/db" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; fail "create-blocks-from"; }
"$tool" write-wal "$tmp/db/wal" "$tmp/head.txt" || fail "write-wal"
cp -r "$tmp/db" "$tmp/db-copy"
"$tool" db-dump "$tmp/db" >"$tmp/ours.txt" 2>"$tmp/log" || { cat "$tmp/log"; fail "db-dump"; }
"$tool" compare "$tmp/all.txt" "$tmp/ours.txt" || fail "blocks + head read differently"
promtool tsdb dump "$tmp/db-copy" >"$tmp/promtool.txt" 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump"; }
"$tool" compare "$tmp/all.txt" "$tmp/promtool.txt" || fail "promtool reads the directory differently"

# 2. A time range spanning blocks and the head.
a=1700100000000
b=1700210000000
"$tool" db-dump "$tmp/db" $a $b >"$tmp/range.txt" 2>/dev/null || fail "db-dump range"
awk -v a=$a -v b=$b '$NF >= a && $NF <= b' "$tmp/all.txt" >"$tmp/range-expected.txt"
[ -s "$tmp/range-expected.txt" ] || fail "empty expected range"
"$tool" compare "$tmp/range-expected.txt" "$tmp/range.txt" || fail "time range read differently"

# 3. Overlapping blocks with the same samples (ours beside promtool's) are read once, and
#    a tombstoned range in our block is gone from ours but still in promtool's blocks.
mkdir -p "$tmp/ovl/wal"
promtool tsdb create-blocks-from openmetrics "$tmp/src.om" "$tmp/ovl" >/dev/null 2>&1 ||
    fail "create-blocks-from (overlap)"
ulid=$("$tool" write-block "$tmp/ovl" "$tmp/blocks.txt") || fail "write-block"
"$tool" db-dump "$tmp/ovl" >"$tmp/ovl.txt" 2>/dev/null || fail "db-dump overlap"
"$tool" compare "$tmp/blocks.txt" "$tmp/ovl.txt" || fail "overlapping blocks read differently"
cp -r "$tmp/ovl" "$tmp/ovl-copy"
promtool tsdb dump "$tmp/ovl-copy" >"$tmp/ovl-promtool.txt" 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump overlap"; }
"$tool" compare "$tmp/ovl-promtool.txt" "$tmp/ovl.txt" || fail "overlapping blocks read unlike promtool"
"$tool" delete "$tmp/ovl/$ulid" 1700000000000 1700003000000 all || fail "delete"
"$tool" db-dump "$tmp/ovl" >"$tmp/ovl2.txt" 2>/dev/null || fail "db-dump after delete"
"$tool" compare "$tmp/blocks.txt" "$tmp/ovl2.txt" || fail "a tombstone in one of two copies lost samples"
# 4. A tombstoned range in the only copy is gone.
mkdir -p "$tmp/one/wal"
ulid=$("$tool" write-block "$tmp/one" "$tmp/blocks.txt") || fail "write-block (one)"
"$tool" delete "$tmp/one/$ulid" 1700000000000 1700003000000 all || fail "delete (one)"
awk '$NF < 1700000000000 || $NF > 1700003000000' "$tmp/blocks.txt" >"$tmp/left.txt"
"$tool" db-dump "$tmp/one" >"$tmp/one.txt" 2>/dev/null || fail "db-dump (one)"
"$tool" compare "$tmp/left.txt" "$tmp/one.txt" || fail "tombstoned samples still read"
# 5. Deleting series through the admin path (head: WAL tombstones; blocks: tombstones
#    files): one metric's range is gone for us and for promtool; after cleaning (blocks
#    rewritten) it stays gone.
cp -r "$tmp/db" "$tmp/del"
a=1700050000000
b=1700205000000
"$tool" db-delete "$tmp/del" 'metric_3' $a $b 2>"$tmp/log" || { cat "$tmp/log"; fail "db-delete"; }
awk -v a=$a -v b=$b '!(index($0, "{__name__=\"metric_3\",") == 1 && $NF >= a && $NF <= b)' \
    "$tmp/all.txt" >"$tmp/del-expected.txt"
n_all=$(wc -l <"$tmp/all.txt")
n_exp=$(wc -l <"$tmp/del-expected.txt")
[ "$n_exp" -lt "$n_all" ] || fail "the deletion range holds no sample"
"$tool" db-dump "$tmp/del" >"$tmp/del.txt" 2>/dev/null || fail "db-dump after delete"
"$tool" compare "$tmp/del-expected.txt" "$tmp/del.txt" || fail "deleted samples still read (or others lost)"
cp -r "$tmp/del" "$tmp/del-copy"
promtool tsdb dump "$tmp/del-copy" >"$tmp/del-promtool.txt" 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump after delete"; }
"$tool" compare "$tmp/del-expected.txt" "$tmp/del-promtool.txt" || fail "promtool reads our tombstones differently"
"$tool" db-delete "$tmp/del" 'metric_3' 0 0 clean 2>"$tmp/log" || { cat "$tmp/log"; fail "clean tombstones"; }
"$tool" db-dump "$tmp/del" >"$tmp/del2.txt" 2>/dev/null || fail "db-dump after clean"
"$tool" compare "$tmp/del-expected.txt" "$tmp/del2.txt" || fail "cleaning tombstones changed the samples"
echo "PASS: tsdb_db"
