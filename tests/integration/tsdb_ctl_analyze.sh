#!/bin/bash
# tests/integration/tsdb_ctl_analyze.sh — `ignisctl tsdb analyze` prints promtool's report
# for every block of a directory, --extended included. promtool sorts each list by its
# figure with Go's sort.Slice over a map, so its order among equal figures changes from run
# to run: the comparison sorts the lines of each run of equal figures (with a limit large
# enough to print whole lists), and with the default limit compares the figures column.
. "$top_srcdir/tests/lib.sh"
need promtool
tool="$top_builddir/plugins/storage/tsdb/tsdbtool"

# Lines of each list, sorted within equal figures; everything else kept in place.
normalize() {
    awk 'BEGIN { OFS = "\t" }
         /^$/ { sec++; next }
         /^[0-9]+ / && sec > 0 { print sec, $1, $0; next }
         { printf "%d\t%s\t%012d\n", sec, "99999999999999999999", NR }' "$1" |
        sort -t "$(printf '\t')" -k1,1n -k2,2nr -k3,3
}
figures() { awk '/^[0-9]+ / { print $1 } /:$/ { print }' "$1"; }

"$tool" gen-om 60 500 9 1700000000000 15000 >"$TMP/a.om"
promtool tsdb create-blocks-from openmetrics "$TMP/a.om" "$TMP/data" >/dev/null ||
    fail "promtool create-blocks-from"
# Series of a different shape too, so that churn figures are not all alike.
"$tool" gen 200 50 3 1700003000000 60000 >"$TMP/b.txt"
"$tool" write-block "$TMP/data" "$TMP/b.txt" >/dev/null || fail "write-block"
blocks=$(ls "$TMP/data" | grep '^01')
n=0
for b in $blocks; do
    for args in "--limit=100000" "--limit=100000 --extended"; do
        promtool tsdb analyze $args "$TMP/data" "$b" >"$TMP/want.txt" 2>&1 || fail "promtool analyze $b"
        "$IGNISCTL" tsdb analyze $args "$TMP/data" "$b" >"$TMP/got.txt" 2>&1 || fail "ignisctl analyze $b"
        normalize "$TMP/want.txt" >"$TMP/want.n"
        normalize "$TMP/got.txt" >"$TMP/got.n"
        cmp -s "$TMP/want.n" "$TMP/got.n" ||
            fail "analyze $args $b differs: $(diff "$TMP/want.txt" "$TMP/got.txt" | head -8)"
    done
    promtool tsdb analyze "$TMP/data" "$b" >"$TMP/want.txt" 2>&1 || fail "promtool analyze $b"
    "$IGNISCTL" tsdb analyze "$TMP/data" "$b" >"$TMP/got.txt" 2>&1 || fail "ignisctl analyze $b"
    [ "$(figures "$TMP/want.txt")" = "$(figures "$TMP/got.txt")" ] ||
        fail "analyze $b (limit 20) prints other figures"
    head -6 "$TMP/want.txt" >"$TMP/w6"
    head -6 "$TMP/got.txt" >"$TMP/g6"
    cmp -s "$TMP/w6" "$TMP/g6" || fail "analyze $b: the summary differs"
    n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n blocks to analyze"
pass "analyze of $n blocks equals promtool's (all lists, --extended, and limit 20's figures)"

# Without a block ID: the last block by min time, as promtool picks it.
promtool tsdb analyze "$TMP/data" | head -1 >"$TMP/w1"
"$IGNISCTL" tsdb analyze "$TMP/data" | head -1 >"$TMP/g1"
cmp -s "$TMP/w1" "$TMP/g1" || fail "the default block differs: $(cat "$TMP/w1") vs $(cat "$TMP/g1")"
pass "the default block is promtool's: $(cat "$TMP/g1")"

"$IGNISCTL" tsdb analyze "$TMP/data" 01ARZ3NDEKTSV4RRFFQ69G5FAV 2>/dev/null; assert_eq $? 1 "analyze of an unknown block"
"$IGNISCTL" tsdb analyze --limit=x "$TMP/data" 2>/dev/null; assert_eq $? 2 "analyze --limit=x"
"$IGNISCTL" tsdb analyze 2>/dev/null; assert_eq $? 2 "analyze without a directory"
pass "analyze errors"
