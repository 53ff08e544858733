#!/bin/bash
# tests/integration/tsdb_ctl_ignisd.sh — `ignisctl tsdb dump` on a data directory a real
# ignisd writes (tsdb plugin, scraping four real /metrics bodies): it reads the directory
# while ignisd runs and holds the lock, and after ignisd is killed its dump equals
# `promtool tsdb dump` of a copy line for line (real metric names, label values and floats).
. "$top_srcdir/tests/lib.sh"
need promtool
[ -e "$PLUGINS_BUILD/tsdb.so" ] || fail "tsdb.so is not in $PLUGINS_BUILD"

tsdb_scrape_conf "$TMP/data" "$TMP/ignis.conf"

start_ignisd ignisd "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
sleep 2
# While ignisd runs: dump takes no lock and needs none.
"$IGNISCTL" tsdb dump "$TMP/data" >"$TMP/live.txt" 2>"$TMP/live.err" || fail "dump while ignisd runs: $(cat "$TMP/live.err")"
[ "$(wc -l <"$TMP/live.txt")" -gt 1000 ] || fail "only $(wc -l <"$TMP/live.txt") samples while ignisd runs"
pass "dump while ignisd holds the directory: $(wc -l <"$TMP/live.txt") samples"
kill -9 "$IGNIS_PID"
wait "$IGNIS_PID" 2>/dev/null
STARTED_PIDS=$(echo "$STARTED_PIDS" | sed "s/ $IGNIS_PID\b//")

cp -a "$TMP/data" "$TMP/copy"
promtool tsdb dump "$TMP/copy" >"$TMP/want.txt" 2>"$TMP/promtool.log" || fail "promtool dump: $(cat "$TMP/promtool.log")"
"$IGNISCTL" tsdb dump "$TMP/data" >"$TMP/got.txt" 2>"$TMP/ignisctl.log" || fail "ignisctl dump: $(cat "$TMP/ignisctl.log")"
n=$(wc -l <"$TMP/want.txt")
[ "$n" -gt 1000 ] || fail "promtool dumped only $n samples"
cmp -s "$TMP/want.txt" "$TMP/got.txt" ||
    fail "dump of ignisd's directory differs from promtool's: $(diff "$TMP/want.txt" "$TMP/got.txt" | head -6)"
pass "dump of ignisd's directory (killed): $n lines identical to promtool's"
for m in 'up' '{job="body-node-exporter", __name__=~"node_cpu.*"}'; do
    promtool tsdb dump --match="$m" "$TMP/copy" >"$TMP/want.txt" 2>/dev/null || fail "promtool dump --match=$m"
    "$IGNISCTL" tsdb dump --match="$m" "$TMP/data" >"$TMP/got.txt" || fail "ignisctl dump --match=$m"
    [ -s "$TMP/want.txt" ] || fail "--match=$m selects nothing"
    cmp -s "$TMP/want.txt" "$TMP/got.txt" || fail "--match=$m differs from promtool's"
    pass "--match=$m: $(wc -l <"$TMP/got.txt") lines identical to promtool's"
done
