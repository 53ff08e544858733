#!/bin/bash
# tests/integration/ignisctl.sh — ignisctl's verbs, help texts and exit codes.
. "$top_srcdir/tests/lib.sh"

"$IGNISCTL" --help >"$TMP/out" || fail "ignisctl --help"
assert_grep "check" "$TMP/out" "top-level help lists check"
"$IGNISCTL" check --help >"$TMP/out" || fail "check --help"
assert_grep "config" "$TMP/out" "check help lists config"
"$IGNISCTL" check config --help >"$TMP/out" || fail "check config --help"
assert_grep "Exit status" "$TMP/out" "check config help documents exit codes"
"$IGNISCTL" 2>/dev/null; assert_eq $? 2 "no verb"
"$IGNISCTL" frobnicate 2>/dev/null; assert_eq $? 2 "unknown verb"
"$IGNISCTL" check config 2>/dev/null; assert_eq $? 2 "check config without files"
"$IGNISCTL" --version | grep -q "^ignisctl, version" || fail "--version"
pass "help and usage errors"

printf 'plugins = { path = [ "%s" ]; load = [ "mem" ]; };\nstorage = { mem = { }; };\n' \
    "$PLUGINS_BUILD" >"$TMP/ok.conf"
"$IGNISCTL" check config "$TMP/ok.conf" >"$TMP/out"; assert_eq $? 0 "valid config"
assert_grep "SUCCESS" "$TMP/out" "success printed"
printf 'plugins = { path = [ "%s" ]; load = [ "mem" ]; };\nstorage = { mem = { no_such_key = 1; }; };\n' \
    "$PLUGINS_BUILD" >"$TMP/bad.conf"
"$IGNISCTL" check config "$TMP/ok.conf" "$TMP/bad.conf" >"$TMP/out"; assert_eq $? 1 "invalid config"
assert_grep "bad.conf:2" "$TMP/out" "error names file:line"
assert_grep "no_such_key" "$TMP/out" "error names the setting"
"$IGNISCTL" check config --plugin-dir "$PLUGINS_BUILD" "$top_srcdir/etc/ignis.conf" >"$TMP/out" \
    || fail "the shipped etc/ignis.conf does not validate: $(cat "$TMP/out")"
pass "check config"

# check metrics: strict, with positions; valid input prints nothing.
printf '# HELP a An a.\n# TYPE a counter\na_total 1\n' >"$TMP/good.prom"
"$IGNISCTL" check metrics "$TMP/good.prom" >"$TMP/out"; assert_eq $? 0 "valid exposition"
[ ! -s "$TMP/out" ] || fail "check metrics printed something for a valid input: $(cat "$TMP/out")"
printf 'a 1\nb{x="1" 2\n' | "$IGNISCTL" check metrics >"$TMP/out"; assert_eq $? 1 "invalid exposition"
assert_grep "line 2" "$TMP/out" "the error names the line"
printf '# TYPE a gauge\na 1\n' >"$TMP/noeof.om.txt"
"$IGNISCTL" check metrics "$TMP/noeof.om.txt" >"$TMP/out"; assert_eq $? 1 "OpenMetrics without # EOF"
printf '# TYPE a gauge\na 1\n# EOF\n' | "$IGNISCTL" check metrics --openmetrics >"$TMP/out"
assert_eq $? 0 "valid OpenMetrics"
"$IGNISCTL" check metrics "$TMP/missing.prom" 2>/dev/null; assert_eq $? 1 "missing file"
pass "check metrics"

# tsdb list: the same table as promtool's for blocks promtool made.
need promtool
{
    echo '# TYPE a counter'
    for i in $(seq 0 30 21600); do
        echo "a_total{x=\"1\"} $i $((1700000000 + i)).5"
        echo "a_total{x=\"2\"} $((i * 2)) $((1700000000 + i))"
    done
    echo '# EOF'
} >"$TMP/in.om"
promtool tsdb create-blocks-from openmetrics "$TMP/in.om" "$TMP/blocks" >/dev/null 2>&1 || fail "promtool create-blocks-from"
promtool tsdb list "$TMP/blocks" >"$TMP/want.txt" || fail "promtool tsdb list"
"$IGNISCTL" tsdb list "$TMP/blocks" >"$TMP/got.txt"; assert_eq $? 0 "tsdb list"
[ "$(wc -l <"$TMP/got.txt")" -ge 3 ] || fail "tsdb list: too few blocks to mean much"
diff -u "$TMP/want.txt" "$TMP/got.txt" >"$TMP/diff.txt" || fail "tsdb list differs from promtool's:
$(cat "$TMP/diff.txt")"
"$IGNISCTL" tsdb list "$TMP/nonexistent" 2>/dev/null; assert_eq $? 1 "tsdb list of a missing directory"
"$IGNISCTL" tsdb list 2>/dev/null; assert_eq $? 2 "tsdb list without a directory"
"$IGNISCTL" tsdb --help | grep -q list || fail "tsdb --help"
pass "tsdb list equals promtool's ($(($(wc -l <"$TMP/got.txt") - 1)) blocks)"
