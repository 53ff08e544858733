#!/bin/bash
# tests/bench/query_bench.sh — DESIGN.md §10's query latency figure: ignisd (tsdb + promql)
# beside a real Prometheus on copies of the same blocks (made once from
# tests/bench/qbench_gen.sh by `promtool tsdb create-blocks-from openmetrics`). Each query
# runs once on each server as warm-up (answers checked: success, same result type and
# series count), then RUNS times on each, alternating servers, timed over HTTP by curl.
# Prints median and min..max per server and the ratio ignisd/Prometheus beside the goal
# (<= 1/2 of the faster peer; Prometheus is the only peer here). Env: RUNS (default 3).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
RUNS=${RUNS:-3}
T0=1700000000
INSTANT=$((T0 + 5400))                                    # 1.5 h into the data
START=$((T0 + 3600)) END=$((T0 + 7200)) STEP=15            # the last hour, 241 steps
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ignis-qbench.XXXXXX")
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
die() {
    echo "query_bench: FAIL: $*" >&2
    for f in "$TMP"/*.log; do
        [ -f "$f" ] && { echo "---- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}
for p in prometheus promtool curl; do
    command -v $p >/dev/null || die "$p is not installed (scripts/install-test-peers.sh)"
done
[ -e "$top_builddir/plugins.d/tsdb.so" ] || die "tsdb.so is not in $top_builddir/plugins.d"
[ -e "$top_builddir/plugins.d/promql.so" ] || die "promql.so is not in $top_builddir/plugins.d"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
        2>/dev/null || echo $((20000 + RANDOM % 30000))
}
wait_ready() {   # ADDR PID NAME
    local i
    for i in $(seq 1 600); do
        curl -sf -o /dev/null "http://$1/-/ready" && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited before it was ready"
        sleep 0.1
    done
    die "$3 not ready within 60 s"
}

echo "query_bench: generating 10,000 counter + 1,000 x 10 histogram bucket series, 2 h at 15 s"
sh "$here/qbench_gen.sh" $T0 >"$TMP/data.om" || die "generating data"
promtool tsdb create-blocks-from openmetrics "$TMP/data.om" "$TMP/blocks" >"$TMP/promtool.log" 2>&1 ||
    die "promtool create-blocks-from openmetrics failed"
rm -f "$TMP/data.om"
mkdir -p "$TMP/prom-data" "$TMP/ignis-data"
cp -r "$TMP/blocks"/. "$TMP/prom-data/"
cp -r "$TMP/blocks"/. "$TMP/ignis-data/"

echo "global: { scrape_interval: 1h }" >"$TMP/prom.yml"
port=$(free_port)
prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/prom-data" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
    2>"$TMP/prometheus.log" &
PROM_PID=$!
PIDS="$PIDS $PROM_PID"
PROM_ADDR=127.0.0.1:$port
wait_ready "$PROM_ADDR" $PROM_PID prometheus

cat >"$TMP/ignis.conf" <<CONF
plugins = { path = [ "$top_builddir/plugins.d" ]; load = [ "tsdb", "promql" ]; };
storage = { tsdb = { path = "$TMP/ignis-data"; retention_time = "0s"; }; };
CONF
port=$(free_port)
"$top_builddir/core/ignisd" -c "$TMP/ignis.conf" --web.listen-address="127.0.0.1:$port" \
    2>"$TMP/ignisd.log" &
IGNIS_PID=$!
PIDS="$PIDS $IGNIS_PID"
IGNIS_ADDR=127.0.0.1:$port
wait_ready "$IGNIS_ADDR" $IGNIS_PID ignisd

# ask ADDR KIND QUERY OUT: one query as a POST form; prints "http_code time_total
# time_starttransfer size_download".
ask() {
    if [ "$2" = instant ]; then
        curl -s -o "$4" -w '%{http_code} %{time_total} %{time_starttransfer} %{size_download}' "http://$1/api/v1/query" \
            --data-urlencode "query=$3" --data-urlencode "time=$INSTANT"
    else
        curl -s -o "$4" -w '%{http_code} %{time_total} %{time_starttransfer} %{size_download}' "http://$1/api/v1/query_range" \
            --data-urlencode "query=$3" --data-urlencode "start=$START" \
            --data-urlencode "end=$END" --data-urlencode "step=$STEP"
    fi
}
# shape FILE: "resultType series" of a successful answer, or the error.
shape() {
    if grep -q '^{"status":"success"' "$1"; then
        echo "$(grep -o '"resultType":"[a-z]*"' "$1" | head -n 1 | cut -d'"' -f4)" \
            "$(grep -o '"metric":{' "$1" | wc -l) series"
    else
        echo "ERROR $(head -c 400 "$1")"
    fi
}
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
spread() { sort -g | awk 'NR == 1 {min = $1} {max = $1} END {printf "%s..%s", min, max}'; }

QUERIES=(
    'rate(bench_requests_total[5m])'
    'sum by (job) (rate(bench_requests_total[5m]))'
    'histogram_quantile(0.99, sum by (le) (rate(bench_latency_seconds_bucket[5m])))'
)
echo "query_bench: instant at $INSTANT; range $START..$END step ${STEP}s; 1 warm-up then" \
    "$RUNS alternating runs per server and query; seconds are curl's time_total"
failed=0 n=0
summary=""
for kind in instant range; do
    for q in "${QUERIES[@]}"; do
        n=$((n + 1))
        echo "-- [$n] $kind $q"
        ok=1
        for who in prometheus ignisd; do
            if [ $who = prometheus ]; then addr=$PROM_ADDR; else addr=$IGNIS_ADDR; fi
            read -r code t ttfb size < <(ask "$addr" $kind "$q" "$TMP/$who.json")
            s=$(shape "$TMP/$who.json")
            echo "   warm-up $who: HTTP $code ${t}s (first byte ${ttfb}s), $size bytes, $s"
            case "$code $s" in "200 "[a-z]*) ;; *) ok="" ;; esac
            eval "shape_$who=\$s"
        done
        if [ -z "$ok" ]; then
            echo "   NOT MEASURED: a server answered with an error (above)"
            failed=$((failed + 1))
            summary="$summary
[$n] $kind: not measured (error)"
            continue
        fi
        # shellcheck disable=SC2154
        [ "$shape_prometheus" = "$shape_ignisd" ] ||
            echo "   NOTE: answers differ in shape: prometheus $shape_prometheus, ignisd $shape_ignisd"
        : >"$TMP/prometheus.t"
        : >"$TMP/ignisd.t"
        for r in $(seq 1 "$RUNS"); do
            # Alternate which server goes first, too.
            if [ $((r % 2)) = 1 ]; then order="prometheus ignisd"; else order="ignisd prometheus"; fi
            for who in $order; do
                if [ $who = prometheus ]; then addr=$PROM_ADDR; else addr=$IGNIS_ADDR; fi
                read -r code t _ _ < <(ask "$addr" $kind "$q" /dev/null)
                [ "$code" = 200 ] || { echo "   run $r $who: HTTP $code"; ok=""; }
                echo "$t" >>"$TMP/$who.t"
            done
        done
        [ -n "$ok" ] || { failed=$((failed + 1)); echo "   NOT MEASURED: an error in a run"; continue; }
        pm=$(median <"$TMP/prometheus.t") im=$(median <"$TMP/ignisd.t")
        ratio=$(awk -v a="$im" -v b="$pm" 'BEGIN {printf "%.3f", a / b}')
        verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 0.5 ? "meets" : "MISSES")}')
        line=$(printf '[%d] %-7s prometheus %.4fs (%s)  ignisd %.4fs (%s)  ratio %s  goal <= 0.5: %s' \
            $n $kind "$pm" "$(spread <"$TMP/prometheus.t")" "$im" "$(spread <"$TMP/ignisd.t")" \
            "$ratio" "$verdict")
        echo "   $line"
        summary="$summary
$line"
    done
done
echo "query_bench: summary (median, min..max over $RUNS runs; ratio = ignisd / prometheus)"
for ((i = 0; i < ${#QUERIES[@]}; i++)); do echo "[$((i + 1))], [$((i + 4))]: ${QUERIES[$i]}"; done
echo "${summary#
}"
echo "goal (DESIGN.md §10): query latency (instant and range, 10k series) <= 1/2 of the" \
    "faster peer, each query"
[ "$failed" = 0 ] || die "$failed queries not measured"
