#!/bin/bash
# tests/bench/scrape_bench.sh — DESIGN.md §10's scrape figures, ignisd (tsdb storage)
# beside Prometheus on one generator, in alternating runs:
#   CPU seconds per million samples scraped and stored (50 targets x 2,000 series, 1 s)
#   resident memory per active series (same load)
#   steady scrape time of one 200k-series target
# CPU from /proc/PID/stat (utime+stime over the measuring window), memory from VmRSS.
# Env: RUNS (default 3), WARMUP and WINDOW seconds (default 15 and 30).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-15}
WINDOW=${WINDOW:-30}
TARGETS=50
SERIES=2000
BIG=200000
TMP=$(mktemp -d)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
command -v prometheus >/dev/null || { echo "scrape_bench: prometheus is not installed"; exit 1; }

"$top_builddir/tests/bench/target_gen" $SERIES $BIG >"$TMP/gen.port" &
PIDS="$PIDS $!"
for i in $(seq 1 50); do [ -s "$TMP/gen.port" ] && break; sleep 0.1; done
gport=$(cat "$TMP/gen.port")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 30000)); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

targets_yaml=""
targets_conf=""
for i in $(seq 0 $((TARGETS - 1))); do
    targets_yaml="$targets_yaml  - job_name: t$i
    metrics_path: /t/$i
    static_configs: [ { targets: [ \"127.0.0.1:$gport\" ] } ]
"
    targets_conf="$targets_conf  { job_name = \"t$i\"; metrics_path = \"/t/$i\"; static_configs = ( { targets = [ \"127.0.0.1:$gport\" ]; } ); },
"
done

# One run: $1 = prometheus|ignisd, $2 = load (fleet|big). Prints "cpu_s samples rss_kb series dur".
run() {
    local who=$1 load=$2 port pid
    port=$(free_port)
    rm -rf "$TMP/data"
    if [ "$load" = fleet ]; then
        ycfg="global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
$targets_yaml"
        ccfg="$targets_conf"
    else
        ycfg="global: { scrape_interval: 5s, scrape_timeout: 5s }
scrape_configs:
  - job_name: big
    metrics_path: /big
    static_configs: [ { targets: [ \"127.0.0.1:$gport\" ] } ]
"
        ccfg="  { job_name = \"big\"; scrape_interval = \"5s\"; scrape_timeout = \"5s\"; metrics_path = \"/big\"; static_configs = ( { targets = [ \"127.0.0.1:$gport\" ]; } ); },
"
    fi
    if [ "$who" = prometheus ]; then
        echo "$ycfg" >"$TMP/p.yml"
        prometheus --config.file="$TMP/p.yml" --storage.tsdb.path="$TMP/data" \
            --web.listen-address="127.0.0.1:$port" 2>"$TMP/p.log" &
    else
        cat >"$TMP/i.conf" <<CONF
global = { scrape_interval = "1s"; scrape_timeout = "1s"; };
plugins = { path = [ "$top_builddir/plugins.d" ]; load = [ "tsdb" ]; };
storage = { tsdb = { path = "$TMP/data"; }; };
scrape_configs = (
${ccfg%,
}
);
CONF
        "$top_builddir/core/ignisd" -c "$TMP/i.conf" --web.listen-address="127.0.0.1:$port" 2>"$TMP/i.log" &
    fi
    pid=$!
    sleep "$WARMUP"
    local c0 c1 dur=""
    c0=$(cpu_ticks $pid)
    sleep "$WINDOW"
    c1=$(cpu_ticks $pid)
    local rss
    rss=$(rss_kb $pid)
    dur=$(curl -s "http://127.0.0.1:$port/api/v1/targets" | grep -o '"lastScrapeDuration":[0-9.e-]*' | head -1 | cut -d: -f2)
    kill $pid
    wait $pid 2>/dev/null
    local cpu
    cpu=$(echo "$c0 $c1 $hz" | awk '{printf "%.3f", ($2 - $1) / $3}')
    echo "$cpu $rss ${dur:-nan}"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { sort -g | awk 'NR==1{min=$1} {max=$1} END {printf "%s..%s", min, max}'; }

echo "scrape_bench: $TARGETS targets x $SERIES series every 1s; $RUNS alternating runs; window ${WINDOW}s after ${WARMUP}s warm-up"
samples_m=$(echo "$TARGETS $SERIES $WINDOW" | awk '{print ($1 * ($2 + 5) * $3) / 1e6}')
nseries=$((TARGETS * (SERIES + 5)))
for r in $(seq 1 "$RUNS"); do
    for who in prometheus ignisd; do
        read -r cpu rss dur < <(run $who fleet)
        echo "$cpu" >>"$TMP/$who.cpu"
        echo "$rss" >>"$TMP/$who.rss"
        echo "run $r $who: cpu ${cpu}s rss ${rss}kB"
    done
done
for who in prometheus ignisd; do
    c=$(median <"$TMP/$who.cpu")
    r=$(median <"$TMP/$who.rss")
    printf '%-10s CPU s per million samples: %.3f (runs %s)   memory per active series: %.2f KB (rss %s kB)\n' \
        "$who" "$(echo "$c $samples_m" | awk '{print $1 / $2}')" "$(spread <"$TMP/$who.cpu")" \
        "$(echo "$r $nseries" | awk '{print $1 / $2}')" "$r"
done
echo "goal (DESIGN.md §10): <= 0.3 CPU s per million samples, <= 0.5 KB per series"

for r in $(seq 1 "$RUNS"); do
    for who in prometheus ignisd; do
        WINDOW=10 read -r cpu rss dur < <(WARMUP=12 WINDOW=3 run $who big)
        echo "$dur" >>"$TMP/$who.big"
        echo "run $r $who: 200k-series target scrape ${dur}s"
    done
done
for who in prometheus ignisd; do
    echo "$who 200k-series target steady scrape: median $(median <"$TMP/$who.big")s (runs $(spread <"$TMP/$who.big"))"
done
echo "goal (DESIGN.md §10): <= 0.06 s"
