#!/bin/bash
# tests/integration/scrape_reload.sh — reloading scrape configs: targets that stay keep
# their state (health, last scrape) across a reload, a new job starts, and a removed
# job's series are marked stale at once (an instant query no longer finds them).
. "$top_srcdir/tests/lib.sh"
[ -f "$PLUGINS_BUILD/promql.so" ] || fail "the promql plugin is not built"

"$top_builddir/tests/tools/static_server" "$top_srcdir/tests/data/bodies" >"$TMP/static.port" 2>/dev/null &
STARTED_PIDS="$STARTED_PIDS $!"
for i in $(seq 1 50); do [ -s "$TMP/static.port" ] && break; sleep 0.1; done
sport=$(cat "$TMP/static.port")

conf() { # conf JOBS...
    {
        echo 'global = { scrape_interval = "1s"; scrape_timeout = "1s"; };'
        echo "plugins = { path = [ \"$PLUGINS_BUILD\" ]; load = [ \"mem\", \"promql\" ]; };"
        echo 'storage = { mem = { }; };'
        echo 'scrape_configs = ('
        local sep=""
        for j in "$@"; do
            echo "  $sep{ job_name = \"$j\"; metrics_path = \"/$j.prom.txt\"; static_configs = ( { targets = [ \"127.0.0.1:$sport\" ]; } ); }"
            sep=","
        done
        echo ');'
    } >"$TMP/ignis.conf"
}
query() { curl -s -G --data-urlencode "query=$1" "http://$IGNIS_ADDR/api/v1/query"; }

conf alertmanager prometheus
start_ignisd ig "$TMP/ignis.conf" --web.enable-lifecycle
wait_ready "$IGNIS_ADDR"
for i in $(seq 1 100); do
    [ "$(query 'count(up == 1)' | grep -o '"1"\]' | wc -l)" -ge 1 ] &&
        query 'count(up == 1)' | grep -q '"2"\]' && break
    sleep 0.1
done
query 'count(up == 1)' | grep -q '"2"\]' || fail "both jobs up before the reload"
before=$(curl -s "http://$IGNIS_ADDR/api/v1/targets?scrapePool=alertmanager" | grep -o '"lastScrape":"[^"]*"')

conf alertmanager victoria-metrics
assert_eq "$(http_code POST "http://$IGNIS_ADDR/-/reload")" 200 "reload"
# At once: the kept target still has its state; the removed job's series are stale.
curl -s "http://$IGNIS_ADDR/api/v1/targets?scrapePool=alertmanager" >"$TMP/t.json"
assert_grep '"health":"up"' "$TMP/t.json" "the kept target's health survives the reload"
grep -q '"lastScrape":"0001-01-01' "$TMP/t.json" && fail "the kept target lost its last scrape: $before"
for i in $(seq 1 50); do
    query 'up{job="prometheus"}' | grep -q '"result":\[\]' && break
    sleep 0.1
done
query 'up{job="prometheus"}' | grep -q '"result":\[\]' || fail "the removed job's up is not stale: $(query 'up{job="prometheus"}')"
query 'prometheus_build_info{job="prometheus"}' | grep -q '"result":\[\]' ||
    fail "the removed job's series are not stale"
for i in $(seq 1 100); do
    query 'up{job="victoria-metrics"}' | grep -q '"1"\]' && break
    sleep 0.1
done
query 'up{job="victoria-metrics"}' | grep -q '"1"\]' || fail "the new job is not scraped"
# The removed job's samples before the reload are still there.
query 'count(count_over_time(up{job="prometheus"}[1m]))' | grep -q '"1"\]' ||
    fail "the removed job's earlier samples are gone"
pass "reload keeps targets, starts new jobs, and marks removed jobs' series stale"
