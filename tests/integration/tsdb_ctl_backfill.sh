#!/bin/bash
# tests/integration/tsdb_ctl_backfill.sh — `ignisctl tsdb create-blocks-from openmetrics`:
# its blocks hold exactly the input's samples (read by promtool), match promtool's own
# backfill of the same file (same dump, same blocks' time ranges and counts), honour
# --max-block-duration, write nothing for an input with a bad line (reported with its line
# number), and report progress on stderr (plain lines off a terminal, a bar on one).
. "$top_srcdir/tests/lib.sh"
need promtool
tool="$top_builddir/plugins/storage/tsdb/tsdbtool"

# promtool dump wants wal/ beside the blocks, and writes chunks_head/: dump a copy.
pdump() {
    rm -rf "$TMP/copy"
    cp -a "$1" "$TMP/copy"
    mkdir -p "$TMP/copy/wal"
    promtool tsdb dump "$TMP/copy" >"$2" 2>"$TMP/pdump.log" || fail "promtool dump $1: $(cat "$TMP/pdump.log")"
}
ranges() { "$IGNISCTL" tsdb list "$1" | awk 'NR > 1 { print $2, $3, $4, $5, $6, $7 }' | sort; }

"$tool" gen-om 50 900 4 1700000000000 15000 >"$TMP/in.om"
"$tool" gen 50 900 4 1700000000000 15000 >"$TMP/in.txt"

# 1. Ours, read by promtool, equals the input; progress lines on a non-terminal stderr.
"$IGNISCTL" tsdb create-blocks-from openmetrics "$TMP/in.om" "$TMP/ours" >"$TMP/out.txt" 2>"$TMP/err.txt"
assert_eq $? 0 "create-blocks-from"
pdump "$TMP/ours" "$TMP/ours.dump"
"$tool" compare "$TMP/in.txt" "$TMP/ours.dump" >"$TMP/cmp.txt" 2>&1 ||
    fail "the blocks' samples differ from the input: $(cat "$TMP/cmp.txt")"
pass "backfilled blocks hold the input's samples: $(cat "$TMP/cmp.txt")"
grep -q '^backfill: done: .* 45000 samples, [0-9]* blocks written' "$TMP/err.txt" ||
    fail "no final progress line: $(cat "$TMP/err.txt")"
grep -q '^backfill: [0-9]*%: pass ' "$TMP/err.txt" || fail "no progress line: $(cat "$TMP/err.txt")"
grep -q "$(printf '\r')" "$TMP/err.txt" && fail "a terminal bar went to a file"
pass "plain progress on a non-terminal: $(tail -1 "$TMP/err.txt")"

# 2. promtool's backfill of the same file: the same dump and the same blocks.
promtool tsdb create-blocks-from openmetrics "$TMP/in.om" "$TMP/theirs" >"$TMP/pout.txt" ||
    fail "promtool create-blocks-from"
pdump "$TMP/theirs" "$TMP/theirs.dump"
cmp -s "$TMP/ours.dump" "$TMP/theirs.dump" || fail "the dumps of both backfills differ"
ranges "$TMP/ours" >"$TMP/r1"
ranges "$TMP/theirs" >"$TMP/r2"
nb=$(wc -l <"$TMP/r1")
[ "$nb" -ge 3 ] || fail "only $nb blocks: the test means little"
cmp -s "$TMP/r1" "$TMP/r2" || fail "blocks differ from promtool's: $(diff "$TMP/r2" "$TMP/r1")"
pass "$nb blocks with promtool's time ranges, samples, chunks and series; identical dumps"
# The table printed: promtool's columns (ULIDs and sizes aside).
sed 's/^[0-9A-Z]\{26\}/ULID/; s/[0-9]*$//' "$TMP/out.txt" >"$TMP/t1"
sed 's/^[0-9A-Z]\{26\}/ULID/; s/[0-9]*$//' "$TMP/pout.txt" >"$TMP/t2"
cmp -s "$TMP/t1" "$TMP/t2" || fail "the printed block table differs: $(diff "$TMP/t2" "$TMP/t1")"
pass "the printed block table has promtool's layout"
promtool tsdb create-blocks-from openmetrics -r "$TMP/in.om" "$TMP/theirs-r" >"$TMP/pout.txt" ||
    fail "promtool create-blocks-from -r"
"$IGNISCTL" tsdb create-blocks-from openmetrics -r "$TMP/in.om" "$TMP/ours-r" >"$TMP/out.txt" 2>/dev/null ||
    fail "create-blocks-from -r"
sed 's/^[0-9A-Z]\{26\}/ULID/; s/[0-9KMGiB]*$//' "$TMP/out.txt" >"$TMP/t1"
sed 's/^[0-9A-Z]\{26\}/ULID/; s/[0-9KMGiB]*$//' "$TMP/pout.txt" >"$TMP/t2"
cmp -s "$TMP/t1" "$TMP/t2" || fail "the -r block table differs: $(diff "$TMP/t2" "$TMP/t1")"
grep -q ' UTC  .*[0-9]KiB[0-9]*B$' "$TMP/out.txt" || fail "-r prints no dates or binary sizes"
pass "-r prints promtool's dates and binary sizes"
for b in $(ls "$TMP/ours"); do
    grep -q '"level": 1' "$TMP/ours/$b/meta.json" || fail "block $b is not level 1"
    grep -q "\"$b\"" "$TMP/ours/$b/meta.json" || fail "block $b is not its own source"
done
pass "level-1 blocks, each its own source"

# 3. --max-block-duration=24h: blocks within 18h ranges (2h * 3^2), fewer of them.
"$IGNISCTL" tsdb create-blocks-from openmetrics --max-block-duration=24h -q "$TMP/in.om" "$TMP/big" >"$TMP/q.txt" 2>&1
assert_eq $? 0 "create-blocks-from --max-block-duration=24h"
[ -s "$TMP/q.txt" ] && fail "--quiet printed: $(cat "$TMP/q.txt")"
pdump "$TMP/big" "$TMP/big.dump"
cmp -s "$TMP/ours.dump" "$TMP/big.dump" || fail "larger blocks hold other samples"
r=$((18 * 3600000))
nbig=$(ranges "$TMP/big" | awk -v r=$r '{ lo = int($1 / r); hi = int(($2 - 1) / r); if (lo != hi) bad++ } END { print NR, bad + 0 }')
set -- $nbig
[ "$2" = 0 ] || fail "$2 blocks cross an 18h boundary"
[ "$1" -lt "$nb" ] || fail "$1 blocks with --max-block-duration=24h, not fewer than $nb"
pass "--max-block-duration=24h: $1 blocks aligned to 18h"

# 4. A bad line 57: named, exit != 0, no block in the output directory.
awk 'NR == 57 { print "metric_0{instance=\"x\" 12 1700000000"; next } { print }' "$TMP/in.om" >"$TMP/bad.om"
mkdir -p "$TMP/badout"
"$IGNISCTL" tsdb create-blocks-from openmetrics "$TMP/bad.om" "$TMP/badout" >/dev/null 2>"$TMP/bad.err"
rc=$?
[ "$rc" -ne 0 ] || fail "a bad line exits 0"
grep -q "^$TMP/bad.om:57: " "$TMP/bad.err" || fail "the error does not name line 57: $(cat "$TMP/bad.err")"
[ -z "$(ls -A "$TMP/badout")" ] || fail "the output directory is not empty: $(ls -A "$TMP/badout")"
pass "bad line: $(head -1 "$TMP/bad.err") (exit $rc, no block)"
# An out-of-order sample (found only while writing): still nothing written.
awk 'NR == 3 { s = $0; sub(/ [^ ]+ [^ ]+$/, "", s) } { print } NR == 10 { print s, 1, 1700000001 }' \
    "$TMP/in.om" >"$TMP/ooo.om"
"$IGNISCTL" tsdb create-blocks-from openmetrics "$TMP/ooo.om" "$TMP/badout" >/dev/null 2>"$TMP/ooo.err"
[ $? -ne 0 ] || fail "an out-of-order sample exits 0"
[ -z "$(ls -A "$TMP/badout")" ] || fail "blocks were left after an error: $(ls -A "$TMP/badout")"
grep -q "^$TMP/ooo.om:11: out of order" "$TMP/ooo.err" || fail "no out-of-order error: $(cat "$TMP/ooo.err")"
pass "out of order: $(grep -v '^backfill' "$TMP/ooo.err" | head -1) (no block)"
head -c -6 "$TMP/in.om" >"$TMP/noeof.om"
"$IGNISCTL" tsdb create-blocks-from openmetrics -q "$TMP/noeof.om" "$TMP/noeof" 2>"$TMP/noeof.err"
[ $? -ne 0 ] || fail "an input without # EOF exits 0"
[ ! -e "$TMP/noeof" ] || fail "an output directory was left for a bad input"
grep -q "EOF" "$TMP/noeof.err" || fail "no word of the missing # EOF: $(cat "$TMP/noeof.err")"
pass "missing # EOF: $(cat "$TMP/noeof.err")"

# 5. Usage.
"$IGNISCTL" tsdb create-blocks-from csv "$TMP/in.om" 2>/dev/null; assert_eq $? 2 "an unknown format"
"$IGNISCTL" tsdb create-blocks-from openmetrics 2>/dev/null; assert_eq $? 2 "no input file"
"$IGNISCTL" tsdb create-blocks-from openmetrics --max-block-duration=abc "$TMP/in.om" 2>/dev/null
assert_eq $? 2 "a bad duration"
pass "usage errors exit 2"

# 6. On a terminal (util-linux script gives it one): the bar is redrawn in place.
if command -v script >/dev/null 2>&1; then
    script -qec "'$IGNISCTL' tsdb create-blocks-from openmetrics '$TMP/in.om' '$TMP/tty' >/dev/null" \
        /dev/null >"$TMP/tty.txt" 2>&1 </dev/null || fail "create-blocks-from on a terminal"
    grep -q "$(printf '\r')"'.*\[[=> ]*\] *[0-9]*% pass' "$TMP/tty.txt" ||
        fail "no progress bar on a terminal: $(od -c "$TMP/tty.txt" | head -5)"
    grep -q 'backfill: done' "$TMP/tty.txt" || fail "no final line on a terminal"
    pass "a progress bar on a terminal"
else
    echo "note: util-linux script is missing: the terminal bar is not tested"
fi
