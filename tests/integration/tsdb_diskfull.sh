#!/bin/bash
# tests/integration/tsdb_diskfull.sh — a full disk is an error, not a crash and not a
# corrupt directory. A real ignisd scrapes into tsdb; a file-size limit (prlimit on the
# running process: writes past it fail with EFBIG, as ENOSPC would) makes its WAL writes
# fail: commits fail with the error logged and the target reported down, the process
# stays up and answers. When the limit goes, ingestion resumes; after a clean stop every
# sample it reported appended is on disk, promtool reads the directory, and ignisd
# replays it without complaint.
. "$top_srcdir/tests/lib.sh"
need prlimit
need promtool
TOOL="$top_builddir/plugins/storage/tsdb/tsdbtool"
BODIES="$top_srcdir/tests/data/bodies"
[ -e "$PLUGINS_BUILD/tsdb.so" ] || fail "tsdb.so is not in $PLUGINS_BUILD"

"$top_builddir/tests/tools/static_server" "$BODIES" >"$TMP/static.port" 2>"$TMP/static.log" &
STARTED_PIDS="$STARTED_PIDS $!"
for i in $(seq 1 50); do [ -s "$TMP/static.port" ] && break; sleep 0.1; done
sport=$(cat "$TMP/static.port")
[ -n "$sport" ] || fail "static server did not start"
cat >"$TMP/ignis.conf" <<CONF
global = { scrape_interval = "200ms"; scrape_timeout = "200ms"; };
plugins = { path = [ "$PLUGINS_BUILD" ]; load = [ "tsdb" ]; };
storage = { tsdb = { path = "$TMP/data"; }; };
scrape_configs = ( { job_name = "node"; metrics_path = "/node-exporter.prom.txt";
                     static_configs = ( { targets = [ "127.0.0.1:$sport" ]; } ); } );
CONF
appended() {
    curl -sf "http://$1/metrics" |
        sed -n 's/^prometheus_tsdb_head_samples_appended_total{type="float"} \([0-9.e+]*\).*/\1/p' |
        head -n 1
}
health() {
    curl -s "http://$IGNIS_ADDR/api/v1/targets" | grep -o '"health":"[a-z]*"' | cut -d'"' -f4
}

start_ignisd ig "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
for i in $(seq 1 100); do [ "$(health)" = up ] && break; sleep 0.1; done
assert_eq "$(health)" up "target up before the disk fills"

# "Fill the disk": no file may grow past 16 KiB beyond the WAL segment's size now.
seg=$(ls "$TMP/data/wal" | grep -E '^[0-9]+$' | tail -1)
limit=$(( $(stat -c %s "$TMP/data/wal/$seg") + 16384 ))
prlimit --pid "$IGNIS_PID" --fsize="$limit:unlimited" || fail "prlimit"
for i in $(seq 1 150); do grep -q 'commit failed' "$TMP/ig.log" && break; sleep 0.1; done
assert_grep 'level=error component=tsdb .*commit failed: write WAL segment .*File too large' \
    "$TMP/ig.log" "the failed write is logged"
for i in $(seq 1 50); do [ "$(health)" = down ] && break; sleep 0.1; done
assert_eq "$(health)" down "target down while commits fail"
curl -s "http://$IGNIS_ADDR/api/v1/targets" | grep -q '"lastError":"storage commit failed"' ||
    fail "the target's last error does not say the commit failed"
kill -0 "$IGNIS_PID" || fail "ignisd died on a full disk"
assert_eq "$(http_code GET "http://$IGNIS_ADDR/-/healthy")" 200 "healthy while the disk is full"

# Space again: ingestion resumes.
prlimit --pid "$IGNIS_PID" --fsize=unlimited:unlimited || fail "prlimit (lift)"
for i in $(seq 1 100); do [ "$(health)" = up ] && break; sleep 0.1; done
assert_eq "$(health)" up "target up once space is back"
sleep 1
v=$(appended "$IGNIS_ADDR")
n=$(printf '%.0f' "${v:-0}")
[ "$n" -gt 0 ] || fail "no samples appended"
kill "$IGNIS_PID"
wait "$IGNIS_PID" 2>/dev/null
STARTED_PIDS=$(echo "$STARTED_PIDS" | sed "s/ $IGNIS_PID\b//")

# Everything reported appended is on disk and readable by promtool too.
"$TOOL" db-dump "$TMP/data" >"$TMP/dump.txt" 2>"$TMP/dump.log" || fail "db-dump"
have=$(wc -l <"$TMP/dump.txt")
[ "$have" -ge "$n" ] || fail "only $have samples on disk; ignisd had reported $n"
promtool tsdb dump "$TMP/data" >"$TMP/promtool.txt" 2>"$TMP/promtool.log" ||
    fail "promtool cannot read the directory: $(tail -3 "$TMP/promtool.log")"
pt=$(wc -l <"$TMP/promtool.txt")
[ "$pt" -ge "$n" ] || fail "promtool sees $pt samples; ignisd had reported $n"
start_ignisd second "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
grep -E 'level=(warn|error)' "$TMP/second.log" && fail "the replay complained"
pass "full disk: logged, target down, still serving; recovered; $have samples >= $n appended"
