#!/bin/bash
# tests/integration/tsdb_ignisd.sh — ignisd with the tsdb plugin loses nothing it
# committed: while it scrapes four real /metrics bodies every 200 ms, read
# prometheus_tsdb_head_samples_appended_total from its /metrics, kill -9 it at once, and
# find at least that many samples in the data directory; then ignisd starts again on the
# directory (replaying it) and becomes ready, and a second process is kept off it while it
# runs.
. "$top_srcdir/tests/lib.sh"
TOOL="$top_builddir/plugins/storage/tsdb/tsdbtool"
[ -e "$PLUGINS_BUILD/tsdb.so" ] || fail "tsdb.so is not in $PLUGINS_BUILD"

tsdb_scrape_conf "$TMP/data" "$TMP/ignis.conf"

# appended ADDR: prometheus_tsdb_head_samples_appended_total from ignisd's /metrics.
appended() {
    curl -sf "http://$1/metrics" |
        sed -n 's/^prometheus_tsdb_head_samples_appended_total{type="float"} \([0-9.e+]*\).*/\1/p' |
        head -n 1
}

start_ignisd first "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
n=0
for i in $(seq 1 100); do
    v=$(appended "$IGNIS_ADDR")
    n=$(printf '%.0f' "${v:-0}")
    [ "$n" -ge 20000 ] && break
    sleep 0.1
done
[ "$n" -ge 20000 ] || fail "ignisd appended only $n samples in 10 s"
v=$(appended "$IGNIS_ADDR")
n=$(printf '%.0f' "${v:-0}")
kill -9 "$IGNIS_PID"
wait "$IGNIS_PID" 2>/dev/null
STARTED_PIDS=$(echo "$STARTED_PIDS" | sed "s/ $IGNIS_PID\b//")
pass "killed ignisd after it reported $n samples appended"

# What is on disk after the kill (our reader replays WAL and head chunks).
"$TOOL" db-dump "$TMP/data" >"$TMP/dump.txt" 2>"$TMP/dump.log" || fail "db-dump after kill -9"
have=$(wc -l <"$TMP/dump.txt")
[ "$have" -ge "$n" ] || fail "only $have samples survived kill -9; ignisd had reported $n"
pass "$have samples on disk >= $n reported"

# ignisd comes back on the directory and reports the replayed series.
start_ignisd second "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
series=$(curl -sf "http://$IGNIS_ADDR/metrics" |
    sed -n 's/^prometheus_tsdb_head_series \([0-9.e+]*\).*/\1/p' | head -n 1)
[ "$(printf '%.0f' "${series:-0}")" -gt 0 ] || fail "no head series after restart"
assert_grep 'WAL replay done' "$TMP/second.log" "replay logged"
# A second ignisd on the same directory is refused.
"$IGNISD" -c "$TMP/ignis.conf" --web.listen-address=127.0.0.1:0 2>"$TMP/third.log" &
third=$!
for i in $(seq 1 100); do kill -0 "$third" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$third" 2>/dev/null; then
    kill "$third"
    wait "$third" 2>/dev/null
    fail "a second ignisd ran on the same data directory"
fi
wait "$third" 2>/dev/null
assert_grep 'in use by another process' "$TMP/third.log" "second process refused"
stop_pid "$IGNIS_PID"
pass "restart replayed $series series; a second process was refused"
echo "PASS: tsdb_ignisd"
