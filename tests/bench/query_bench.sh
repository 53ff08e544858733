#!/bin/bash
# tests/bench/query_bench.sh — DESIGN.md §10's query latency figure: ignisd (tsdb + promql)
# beside both peers on the same samples: a real Prometheus on copies of the same blocks
# (made once from tests/bench/qbench_gen.sh by `promtool tsdb create-blocks-from
# openmetrics`) and a real VictoriaMetrics loaded with the same samples through
# /api/v1/import/prometheus. Each query runs once on each server as warm-up (answers
# checked: success, same result type and series count), then RUNS times on each, rotating
# which server goes first, timed over HTTP by curl. Prints median and min..max per server,
# the faster peer and the ratio ignisd / faster peer beside the goal (<= 1/2 of the faster
# peer, each query). Env: RUNS (default 3); CI=true makes a missing peer a failure.
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
# VictoriaMetrics is the second peer. Without it the figure compares with Prometheus only,
# which is not the goal's figure: said loudly here and in the summary; a failure in CI.
HAVE_VM=1
if ! command -v victoria-metrics >/dev/null; then
    [ "${CI:-}" = true ] &&
        die "victoria-metrics is not installed (Debian package victoria-metrics; scripts/install-test-peers.sh)"
    HAVE_VM=""
    cat >&2 <<'MSG'
query_bench: ********************************************************************
query_bench: WARNING: victoria-metrics is not installed (Debian package
query_bench: victoria-metrics; scripts/install-test-peers.sh). Comparing with
query_bench: Prometheus ONLY: the "faster peer" below is Prometheus alone.
query_bench: ********************************************************************
MSG
fi
[ -e "$top_builddir/plugins.d/tsdb.so" ] || die "tsdb.so is not in $top_builddir/plugins.d"
[ -e "$top_builddir/plugins.d/promql.so" ] || die "promql.so is not in $top_builddir/plugins.d"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
        2>/dev/null || echo $((20000 + RANDOM % 30000))
}
wait_ready() {   # ADDR PID NAME
    local i
    for i in $(seq 1 600); do
        curl -sf -m 5 -o /dev/null "http://$1/-/ready" && return 0
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

# One instant query, its answer to stdout (for the load checks below).
ask_instant() {   # ADDR QUERY TIME
    curl -s -m 120 "http://$1/api/v1/query" --data-urlencode "query=$2" --data-urlencode "time=$3"
}
# The single value of a one-series instant answer ("" when there is none).
scalar_of() { grep -o '"value":\[[0-9.]*,"[^"]*"' | head -n 1 | cut -d'"' -f4; }

SERVERS="prometheus ignisd"
if [ -n "$HAVE_VM" ]; then
    # VictoriaMetrics 1.79 (Debian). The data is years old (T0 is 2023-11-14), so the
    # retention is 100 y as for Prometheus. -search.disableCache turns off its rollup result
    # cache: without it a repeated query is answered from that cache and the runs would time
    # the cache, not the evaluation (Prometheus and ignisd have no such cache).
    # -search.latencyOffset and -search.cacheTimestampOffset only concern the last 30 s / 5 min
    # before now, far from this data, so they stay at their defaults.
    port=$(free_port)
    victoria-metrics -httpListenAddr="127.0.0.1:$port" -storageDataPath="$TMP/vm-data" \
        -retentionPeriod=100y -search.disableCache -loggerLevel=ERROR \
        2>"$TMP/victoria-metrics.log" &
    VM_PID=$!
    PIDS="$PIDS $VM_PID"
    VM_ADDR=127.0.0.1:$port
    wait_ready "$VM_ADDR" $VM_PID victoria-metrics
    echo "query_bench: loading the same samples into victoria-metrics" \
        "(Prometheus text, ms timestamps, POST /api/v1/import/prometheus)"
    code=$(sh "$here/qbench_gen.sh" $T0 text |
        curl -s -m 900 -o "$TMP/vm-import.out" -w '%{http_code}' -X POST -T - \
            "http://$VM_ADDR/api/v1/import/prometheus")
    [ "$code" = 204 ] || die "victoria-metrics import: HTTP $code $(head -c 400 "$TMP/vm-import.out")"
    # Make the samples searchable and settled: flush the in-memory parts, merge the
    # partition (as Prometheus opens compacted blocks), wait for no merge for 3 s in a row.
    curl -sf -m 60 -o /dev/null "http://$VM_ADDR/internal/force_flush" || die "force_flush failed"
    curl -sf -m 60 -o /dev/null "http://$VM_ADDR/internal/force_merge?partition_prefix=$(
        date -u -d "@$T0" +%Y_%m)" || die "force_merge failed"
    idle=0
    for i in $(seq 1 600); do
        m=$(curl -s -m 5 "http://$VM_ADDR/metrics" |
            awk '/^vm_active_merges[{ ]/ {n += $NF} END {print n + 0}')
        if [ "$m" = 0 ]; then idle=$((idle + 1)); else idle=0; fi
        [ $idle -ge 6 ] && break
        sleep 0.5
    done
    [ $idle -ge 6 ] || die "victoria-metrics still merging after 300 s"
    # Loaded in full: the same series count and sample count as Prometheus answers.
    q_series='count({__name__=~"bench_.+"})'
    q_samples=""    # per name: count_over_time drops the names, which would then collide
    for m in bench_requests_total bench_latency_seconds_{bucket,count,sum}; do
        q_samples="$q_samples${q_samples:+ + }sum(count_over_time($m[2h1m]))"
    done
    ask_instant "$PROM_ADDR" "$q_series" $INSTANT >"$TMP/count1.json"
    ask_instant "$PROM_ADDR" "$q_samples" $((T0 + 7201)) >"$TMP/count2.json"
    want_series=$(scalar_of <"$TMP/count1.json") want_samples=$(scalar_of <"$TMP/count2.json")
    [ -n "$want_series" ] && [ -n "$want_samples" ] || die "prometheus did not count its data:" \
        "$(head -c 300 "$TMP/count1.json") $(head -c 300 "$TMP/count2.json")"
    for i in $(seq 1 120); do
        got_series=$(ask_instant "$VM_ADDR" "$q_series" $INSTANT | scalar_of)
        [ "$got_series" = "$want_series" ] && break
        sleep 0.5
    done
    got_samples=$(ask_instant "$VM_ADDR" "$q_samples" $((T0 + 7201)) | scalar_of)
    echo "query_bench: victoria-metrics holds ${got_series:-no} series, ${got_samples:-no}" \
        "samples (prometheus: $want_series, $want_samples)"
    [ "$got_series" = "$want_series" ] && [ "$got_samples" = "$want_samples" ] ||
        die "victoria-metrics did not load the same samples"
    SERVERS="prometheus victoriametrics ignisd"
fi
PEERS=${SERVERS% ignisd}
addr_of() {
    case $1 in
    prometheus) echo "$PROM_ADDR" ;;
    ignisd) echo "$IGNIS_ADDR" ;;
    victoriametrics) echo "$VM_ADDR" ;;
    esac
}

# ask ADDR KIND QUERY OUT: one query as a POST form; prints "http_code time_total
# time_starttransfer size_download".
ask() {
    if [ "$2" = instant ]; then
        curl -s -m 120 -o "$4" -w '%{http_code} %{time_total} %{time_starttransfer} %{size_download}' "http://$1/api/v1/query" \
            --data-urlencode "query=$3" --data-urlencode "time=$INSTANT"
    else
        curl -s -m 120 -o "$4" -w '%{http_code} %{time_total} %{time_starttransfer} %{size_download}' "http://$1/api/v1/query_range" \
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
    "$RUNS runs per server and query, rotating which goes first; seconds are curl's time_total"
echo "query_bench: servers: $SERVERS"
[ -z "$HAVE_VM" ] || echo "query_bench: victoriametrics' values differ slightly from" \
    "Prometheus' (its rate does not extrapolate the same way), so its answers are checked" \
    "by result type and series count only; it runs with -search.disableCache"
declare -A got med
failed=0 n=0
summary=""
for kind in instant range; do
    for q in "${QUERIES[@]}"; do
        n=$((n + 1))
        echo "-- [$n] $kind $q"
        ok=1
        for who in $SERVERS; do
            read -r code t ttfb size < <(ask "$(addr_of $who)" $kind "$q" "$TMP/$who.json")
            s=$(shape "$TMP/$who.json")
            echo "   warm-up $who: HTTP $code ${t}s (first byte ${ttfb}s), $size bytes, $s"
            case "$code $s" in "200 "[a-z]*) ;; *) ok="" ;; esac
            got[$who]=$s
        done
        if [ -n "$ok" ] && [ -n "$HAVE_VM" ]; then
            # VictoriaMetrics must find the same series as Prometheus, and some.
            case "${got[victoriametrics]}" in
            "${got[prometheus]}") ;;
            *) echo "   WRONG: victoriametrics ${got[victoriametrics]}," \
                "prometheus ${got[prometheus]}"; ok="" ;;
            esac
            case "${got[victoriametrics]}" in *" 0 series") echo "   WRONG: empty answer"; ok="" ;; esac
        fi
        if [ -z "$ok" ]; then
            echo "   NOT MEASURED: a server answered with an error or a wrong shape (above)"
            failed=$((failed + 1))
            summary="$summary
[$n] $kind: not measured (error)"
            continue
        fi
        [ "${got[prometheus]}" = "${got[ignisd]}" ] ||
            echo "   NOTE: answers differ in shape: prometheus ${got[prometheus]}, ignisd ${got[ignisd]}"
        for who in $SERVERS; do : >"$TMP/$who.t"; done
        order=$SERVERS
        for r in $(seq 1 "$RUNS"); do
            for who in $order; do
                read -r code t _ _ < <(ask "$(addr_of $who)" $kind "$q" /dev/null)
                [ "$code" = 200 ] || { echo "   run $r $who: HTTP $code"; ok=""; }
                echo "$t" >>"$TMP/$who.t"
            done
            order="${order#* } ${order%% *}"    # the next run starts with the next server
        done
        [ -n "$ok" ] || { failed=$((failed + 1)); echo "   NOT MEASURED: an error in a run"; continue; }
        line=$(printf '[%d] %-7s' $n $kind)
        for who in ignisd $PEERS; do
            med[$who]=$(median <"$TMP/$who.t")
            line="$line $(printf '%s %.4fs (%s) ' $who "${med[$who]}" "$(spread <"$TMP/$who.t")")"
        done
        fast="" fm=""
        for who in $PEERS; do
            if [ -z "$fast" ] || awk -v a="${med[$who]}" -v b="$fm" 'BEGIN {exit !(a < b)}'; then
                fast=$who fm=${med[$who]}
            fi
        done
        ratio=$(awk -v a="${med[ignisd]}" -v b="$fm" 'BEGIN {printf "%.3f", a / b}')
        verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 0.5 ? "meets" : "MISSES")}')
        [ -n "$HAVE_VM" ] || fast="$fast (ONLY peer: victoria-metrics missing)"
        line="$line faster peer $fast  ratio $ratio  goal <= 0.5: $verdict"
        echo "   $line"
        summary="$summary
$line"
    done
done
echo "query_bench: summary (median, min..max over $RUNS runs; ratio = ignisd / faster peer)"
for ((i = 0; i < ${#QUERIES[@]}; i++)); do echo "[$((i + 1))], [$((i + 4))]: ${QUERIES[$i]}"; done
echo "${summary#
}"
echo "goal (DESIGN.md §10): query latency (instant and range, 10k series) <= 1/2 of the" \
    "faster peer, each query"
[ -n "$HAVE_VM" ] ||
    echo "query_bench: WARNING: victoria-metrics missing: the faster peer is Prometheus ONLY" >&2
[ "$failed" = 0 ] || die "$failed queries not measured"
