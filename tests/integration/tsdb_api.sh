#!/bin/bash
# tests/integration/tsdb_api.sh — /api/v1/status/tsdb and the admin API on a real ignisd
# with the tsdb storage: head stats and cardinalities that agree with the series API,
# the admin endpoints refused without --web.enable-admin-api, and with it: a snapshot
# directory that promtool can read, delete_series removing a series' samples, and
# clean_tombstones.
. "$top_srcdir/tests/lib.sh"
need promtool
[ -f "$PLUGINS_BUILD/tsdb.so" ] || fail "the tsdb plugin is not built"

"$top_builddir/tests/tools/static_server" "$top_srcdir/tests/data/bodies" >"$TMP/static.port" 2>/dev/null &
STARTED_PIDS="$STARTED_PIDS $!"
for i in $(seq 1 50); do [ -s "$TMP/static.port" ] && break; sleep 0.1; done
sport=$(cat "$TMP/static.port")
cat >"$TMP/ignis.conf" <<CONF
global = { scrape_interval = "1s"; scrape_timeout = "1s"; };
plugins = { path = [ "$PLUGINS_BUILD" ]; load = [ "tsdb", "promql" ]; };
storage = { tsdb = { path = "$TMP/data"; }; };
scrape_configs = ( { job_name = "am"; metrics_path = "/alertmanager.prom.txt";
                     static_configs = ( { targets = [ "127.0.0.1:$sport" ]; } ); } );
CONF
query() { curl -s -G --data-urlencode "query=$1" "http://$IGNIS_ADDR/api/v1/query"; }

start_ignisd off "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
assert_eq "$(http_code POST "http://$IGNIS_ADDR/api/v1/admin/tsdb/snapshot")" 503 "snapshot without the admin API"
assert_grep "admin APIs disabled" "$TMP/body" "refusal message"
stop_pid "$IGNIS_PID"

start_ignisd on "$TMP/ignis.conf" --web.enable-admin-api
wait_ready "$IGNIS_ADDR"
for i in $(seq 1 100); do
    query 'up{job="am"}' | grep -q '"1"\]' && break
    sleep 0.1
done
sleep 1.5
curl -s "http://$IGNIS_ADDR/api/v1/status/tsdb" >"$TMP/status.json"
n_status=$(grep -o '"numSeries":[0-9]*' "$TMP/status.json" | cut -d: -f2)
n_api=$(curl -s -G --data-urlencode 'match[]={__name__=~".+"}' "http://$IGNIS_ADDR/api/v1/series" | grep -o '"__name__"' | wc -l)
[ "$n_status" -gt 200 ] || fail "status/tsdb: numSeries $n_status"
assert_eq "$n_status" "$n_api" "numSeries against /api/v1/series"
assert_grep '"seriesCountByMetricName":\[{"name":"' "$TMP/status.json" "top metrics"
assert_grep '"labelValueCountByLabelName":\[{"name":"__name__","value":' "$TMP/status.json" "__name__ has the most values"
assert_grep '"seriesCountByLabelValuePair":\[{"name":"instance=127.0.0.1:' "$TMP/status.json" "pairs"
pass "status/tsdb: $n_status series, top lists"

curl -s -X POST "http://$IGNIS_ADDR/api/v1/admin/tsdb/snapshot" >"$TMP/snap.json"
name=$(sed -n 's/.*"name":"\([^"]*\)".*/\1/p' "$TMP/snap.json")
[ -n "$name" ] && [ -d "$TMP/data/snapshots/$name" ] || fail "snapshot: $(cat "$TMP/snap.json")"
promtool tsdb list "$TMP/data/snapshots/$name" >"$TMP/list.txt" 2>&1 || fail "promtool cannot list the snapshot: $(cat "$TMP/list.txt")"
grep -q '^BLOCK ULID' "$TMP/list.txt" && [ "$(wc -l <"$TMP/list.txt")" -ge 2 ] ||
    fail "the snapshot holds no block: $(cat "$TMP/list.txt")"
pass "snapshot $name, readable by promtool"

before=$(query 'count(alertmanager_build_info)' | grep -o '"1"\]')
[ -n "$before" ] || fail "alertmanager_build_info is not there before the delete"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST -G \
    --data-urlencode 'match[]=alertmanager_build_info' "http://$IGNIS_ADDR/api/v1/admin/tsdb/delete_series")
assert_eq "$code" 204 "delete_series"
query 'count_over_time(alertmanager_build_info[1h] @ '"$(($(date +%s) - 1))"')' >"$TMP/after.json"
assert_grep '"result":\[\]' "$TMP/after.json" "the deleted series' past samples are gone"
assert_eq "$(http_code POST "http://$IGNIS_ADDR/api/v1/admin/tsdb/clean_tombstones")" 204 "clean_tombstones"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "http://$IGNIS_ADDR/api/v1/admin/tsdb/delete_series")
assert_eq "$code" 400 "delete_series without match[]"
pass "delete_series and clean_tombstones"
