#!/bin/bash
# tests/integration/scrape_vs_prometheus.sh — ignisd and a real Prometheus scrape the
# same targets: a real node exporter and the captured /metrics bodies of prometheus,
# node exporter, alertmanager and victoria-metrics served statically. Per job,
# /api/v1/series must return equal label sets on both, /api/v1/targets must agree
# on pools, URLs, health, labels and discovered labels, and instant queries of every
# series of the bodies must return equal values.
. "$top_srcdir/tests/lib.sh"
need prometheus
need prometheus-node-exporter
APIJSON="$top_builddir/tests/tools/apijson"
BODIES="$top_srcdir/tests/data/bodies"

"$top_builddir/tests/tools/static_server" "$BODIES" >"$TMP/static.port" 2>"$TMP/static.log" &
STARTED_PIDS="$STARTED_PIDS $!"
for i in $(seq 1 50); do [ -s "$TMP/static.port" ] && break; sleep 0.1; done
sport=$(cat "$TMP/static.port")
[ -n "$sport" ] || fail "static server did not start"

# The node exporter cannot pick its own port: retry when another process took ours.
for try in 1 2 3 4 5; do
    nport=$(free_port)
    prometheus-node-exporter --web.listen-address="127.0.0.1:$nport" \
        --collector.disable-defaults --collector.cpu --collector.meminfo --collector.loadavg \
        --collector.filesystem --collector.netdev --collector.stat --collector.uname \
        --collector.time --collector.vmstat 2>"$TMP/node.log" &
    npid=$!
    STARTED_PIDS="$STARTED_PIDS $npid"
    for i in $(seq 1 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$nport/metrics" && break 2
        kill -0 "$npid" 2>/dev/null || break
        sleep 0.1
    done
done
wait_http "http://127.0.0.1:$nport/metrics"

jobs="node"
bodies=""
for f in "$BODIES"/*.prom.txt; do
    b=$(basename "$f" .prom.txt)
    bodies="$bodies $b"
    jobs="$jobs body-$b"
done

# The same scrape configs for both.
{
    echo "global: { scrape_interval: 1s, scrape_timeout: 1s }"
    echo "scrape_configs:"
    echo "  - job_name: node"
    echo "    static_configs: [ { targets: [ \"127.0.0.1:$nport\" ], labels: { env: test } } ]"
    for b in $bodies; do
        echo "  - job_name: body-$b"
        echo "    metrics_path: /$b.prom.txt"
        echo "    static_configs: [ { targets: [ \"127.0.0.1:$sport\" ] } ]"
    done
} >"$TMP/prometheus.yml"
{
    echo "global = { scrape_interval = \"1s\"; scrape_timeout = \"1s\"; };"
    echo "plugins = { path = [ \"$PLUGINS_BUILD\" ]; load = [ \"mem\", \"promql\" ]; };"
    echo "storage = { mem = { }; };"
    echo "scrape_configs = ("
    echo "  { job_name = \"node\"; static_configs = ( { targets = [ \"127.0.0.1:$nport\" ];"
    echo "      labels = ( { name = \"env\"; value = \"test\"; } ); } ); }"
    for b in $bodies; do
        echo "  , { job_name = \"body-$b\"; metrics_path = \"/$b.prom.txt\";"
        echo "      static_configs = ( { targets = [ \"127.0.0.1:$sport\" ]; } ); }"
    done
    echo ");"
} >"$TMP/ignis.conf"

start_prometheus "$TMP/prometheus.yml" prometheus
pport=${PROM_ADDR##*:}
start_ignisd ig "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
wait_http "http://127.0.0.1:$pport/-/ready"

# Both up on every target, then a few more scrapes.
for server in "127.0.0.1:$pport" "$IGNIS_ADDR"; do
    ok=""
    for i in $(seq 1 100); do
        curl -s "http://$server/api/v1/targets" >"$TMP/t.json"
        n_up=$(grep -o '"health":"up"' "$TMP/t.json" | wc -l)
        if [ "$n_up" -eq "$(echo $jobs | wc -w)" ]; then ok=1; break; fi
        sleep 0.2
    done
    [ -n "$ok" ] || fail "not every target is up on $server: $(cat "$TMP/t.json")"
done
sleep 3

total=0
for job in $jobs; do
    for side in prom ig; do
        server=$([ $side = prom ] && echo "127.0.0.1:$pport" || echo "$IGNIS_ADDR")
        curl -s -G "http://$server/api/v1/series" --data-urlencode "match[]={job=\"$job\"}" |
            "$APIJSON" series >"$TMP/$side-$job.txt" || fail "series of $job from $side"
    done
    n=$(wc -l <"$TMP/ig-$job.txt")
    [ "$n" -gt 0 ] || fail "no series for job $job"
    if ! diff -u "$TMP/prom-$job.txt" "$TMP/ig-$job.txt" >"$TMP/diff-$job.txt"; then
        fail "job $job: series differ (- Prometheus, + ignisd):
$(head -30 "$TMP/diff-$job.txt")"
    fi
    total=$((total + n))
    pass "job $job: $n series, equal label sets"
done
[ "$(wc -l <"$TMP/ig-node.txt")" -ge 100 ] || fail "the node exporter job has too few series to mean much"

for side in prom ig; do
    server=$([ $side = prom ] && echo "127.0.0.1:$pport" || echo "$IGNIS_ADDR")
    curl -s "http://$server/api/v1/targets" | "$APIJSON" targets >"$TMP/$side-targets.txt" ||
        fail "targets from $side"
done
diff -u "$TMP/prom-targets.txt" "$TMP/ig-targets.txt" >"$TMP/diff-targets.txt" ||
    fail "/api/v1/targets differ (- Prometheus, + ignisd):
$(cat "$TMP/diff-targets.txt")"
pass "/api/v1/targets agree ($(wc -l <"$TMP/ig-targets.txt") targets); $total series in all"

# The values: an instant query of every series of the static bodies (whose values never
# change), evaluated at the same time on both, gives equal answers (values within 1e-9).
PQCOMPARE="$top_builddir/tests/tools/pqcompare"
[ -x "$PQCOMPARE" ] || fail "tests/tools/pqcompare is not built"
t=$(date +%s)
nvals=0
for b in $bodies; do
    q="{job=\"body-$b\",__name__!~\"up|scrape_.*\"}"
    for side in prom ig; do
        server=$([ $side = prom ] && echo "127.0.0.1:$pport" || echo "$IGNIS_ADDR")
        curl -s -G --data-urlencode "query=$q" --data-urlencode "time=$t" \
            "http://$server/api/v1/query" >"$TMP/$side-q-$b.json"
    done
    "$PQCOMPARE" "$TMP/prom-q-$b.json" "$TMP/ig-q-$b.json" >"$TMP/cmp-$b.txt" 2>&1 ||
        fail "job body-$b: instant query values differ:
$(head -20 "$TMP/cmp-$b.txt")"
    n=$(grep -o '"metric"' "$TMP/ig-q-$b.json" | wc -l)
    [ "$n" -gt 100 ] || fail "job body-$b: only $n series answered"
    nvals=$((nvals + n))
done
pass "instant queries of every series of the captured bodies: $nvals values equal on both"
