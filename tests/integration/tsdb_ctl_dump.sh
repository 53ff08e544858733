#!/bin/bash
# tests/integration/tsdb_ctl_dump.sh — `ignisctl tsdb dump` prints what `promtool tsdb dump`
# prints, line for line, for a data directory holding promtool's blocks beside a head (WAL
# and chunks_head) written by the tsdb plugin's head code, with and without --min-time,
# --max-time and --match; the directory is left as it was; usage errors exit 2.
. "$top_srcdir/tests/lib.sh"
need promtool
tool="$top_builddir/plugins/storage/tsdb/tsdbtool"

# Usage: the tsdb verbs' help, and errors exit 2.
"$IGNISCTL" tsdb --help >"$TMP/help.txt"; assert_eq $? 0 "tsdb --help"
for v in list dump analyze create-blocks-from; do
    grep -q "^  $v " "$TMP/help.txt" || fail "tsdb --help does not name $v"
done
for v in dump analyze create-blocks-from; do
    "$IGNISCTL" tsdb $v --help >"$TMP/h.txt"; assert_eq $? 0 "tsdb $v --help"
    grep -q "^usage: ignisctl tsdb $v" "$TMP/h.txt" || fail "tsdb $v --help prints no usage"
done
"$IGNISCTL" tsdb dump 2>/dev/null; assert_eq $? 2 "dump without a directory"
"$IGNISCTL" tsdb dump --bogus "$TMP" 2>/dev/null; assert_eq $? 2 "dump with an unknown flag"
"$IGNISCTL" tsdb dump --min-time=abc "$TMP" 2>/dev/null; assert_eq $? 2 "dump --min-time=abc"
"$IGNISCTL" tsdb dump '--match=up{' "$TMP" 2>/dev/null; assert_eq $? 2 "dump with a bad selector"
"$IGNISCTL" tsdb dump "$TMP/nonexistent" 2>/dev/null; assert_eq $? 1 "dump of a missing directory"
"$IGNISCTL" tsdb frobnicate 2>/dev/null; assert_eq $? 2 "an unknown tsdb verb"
pass "tsdb usage and help"

# A data directory: promtool's blocks, then a head whose samples continue after them.
"$tool" gen-om 30 600 5 1700000000000 15000 >"$TMP/blocks.om"
promtool tsdb create-blocks-from openmetrics "$TMP/blocks.om" "$TMP/data" >/dev/null ||
    fail "promtool create-blocks-from"
# The head begins a minute before the last block ends: those samples are not the head's.
bmax=$("$IGNISCTL" tsdb list "$TMP/data" | awk 'NR > 1 && $3 > m { m = $3 } END { print m }')
[ -n "$bmax" ] || fail "no block max time"
"$tool" gen 30 700 6 $((bmax - 60000)) 10000 >"$TMP/head.txt"
"$tool" head-append "$TMP/data" "$TMP/head.txt" 500 2>/dev/null || fail "head-append"
[ -d "$TMP/data/wal" ] && [ -d "$TMP/data/chunks_head" ] || fail "no head was written"
nblocks=$(ls "$TMP/data" | grep -c '^01')
[ "$nblocks" -ge 2 ] || fail "expected several blocks, got $nblocks"

# promtool writes into the directory it dumps (chunks_head/): give it a copy.
snapshot() { (cd "$1" && find . -type f -exec sha256sum {} + | sort && find . | sort); }
snapshot "$TMP/data" >"$TMP/before.txt"
cmp_dump() {
    local what=$1
    shift
    rm -rf "$TMP/copy"
    cp -a "$TMP/data" "$TMP/copy"
    promtool tsdb dump "$@" "$TMP/copy" >"$TMP/want.txt" 2>"$TMP/promtool.log" ||
        fail "promtool tsdb dump $*: $(cat "$TMP/promtool.log")"
    "$IGNISCTL" tsdb dump "$@" "$TMP/data" >"$TMP/got.txt" 2>"$TMP/ignisctl.log" ||
        fail "ignisctl tsdb dump $*: $(cat "$TMP/ignisctl.log")"
    [ -s "$TMP/want.txt" ] || fail "$what: promtool printed nothing, the test means nothing"
    cmp -s "$TMP/want.txt" "$TMP/got.txt" ||
        fail "$what: ignisctl's dump differs from promtool's: $(diff "$TMP/want.txt" "$TMP/got.txt" | head -5)"
    pass "$what: $(wc -l <"$TMP/got.txt") lines identical to promtool's"
}
cmp_dump "blocks and head"
cmp_dump "a time range across blocks and head" --min-time=$((bmax - 3600000)) --max-time=$((bmax + 3600000))
cmp_dump "--match by name" '--match=metric_3'
cmp_dump "--match by regex" '--match={job=~"job \"1.*", instance!="host-4.example:9100"}'
snapshot "$TMP/data" >"$TMP/after.txt"
cmp -s "$TMP/before.txt" "$TMP/after.txt" || fail "ignisctl tsdb dump changed the directory"
pass "the dumped directory is unchanged (no lock, no chunks_head file, no WAL segment)"

# The head alone (no block): the same samples as were appended.
mkdir -p "$TMP/headonly"
cp -a "$TMP/data/wal" "$TMP/data/chunks_head" "$TMP/headonly/"
"$IGNISCTL" tsdb dump "$TMP/headonly" >"$TMP/got.txt" || fail "dump of a head alone"
"$tool" compare "$TMP/head.txt" "$TMP/got.txt" >"$TMP/cmp.txt" 2>&1 || fail "the head's samples differ: $(cat "$TMP/cmp.txt")"
cmp_head() {
    rm -rf "$TMP/copy"
    cp -a "$TMP/headonly" "$TMP/copy"
    promtool tsdb dump "$TMP/copy" >"$TMP/want.txt" 2>/dev/null || fail "promtool dump of the head"
    cmp -s "$TMP/want.txt" "$TMP/got.txt" || fail "the head's dump differs from promtool's"
}
cmp_head
pass "a head alone: $(wc -l <"$TMP/got.txt") samples as appended and as promtool prints them"

# Several selectors: the series any of them matches (promtool 2.42 takes one).
"$IGNISCTL" tsdb dump --match=metric_1 --match=metric_2 "$TMP/data" >"$TMP/two.txt" || fail "two --match"
"$IGNISCTL" tsdb dump --match='{__name__=~"metric_[12]"}' "$TMP/data" >"$TMP/re.txt" || fail "regex --match"
cmp -s "$TMP/two.txt" "$TMP/re.txt" && [ -s "$TMP/two.txt" ] || fail "two --match differ from their union"
pass "repeated --match selects the union"
