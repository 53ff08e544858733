#!/bin/bash
# tests/integration/promql_vs_prometheus.sh — the side-by-side PromQL test: generated
# OpenMetrics data (tests/tools/pqdiff_gen.sh), made into blocks once by `promtool tsdb
# create-blocks-from openmetrics`, opened by a real Prometheus and by ignisd (tsdb + promql)
# on copies; every query of pqdiff/queries.txt runs on both and pqcompare compares the
# answers. Fails on any difference, or when more than a tenth of the answers are empty.
# The queries listed in pqdiff/changed-in-3.txt (answers that Prometheus 3 changed; ignisd
# follows 3.x) are skipped, each with its reason; nothing else is.
. "$top_srcdir/tests/lib.sh"
need promtool
need prometheus
need curl
DIR="$top_srcdir/tests/integration/pqdiff"
CMP="$top_builddir/tests/tools/pqcompare"
[ -e "$PLUGINS_BUILD/tsdb.so" ] || fail "tsdb.so is not in $PLUGINS_BUILD"
[ -e "$PLUGINS_BUILD/promql.so" ] || fail "promql.so is not in $PLUGINS_BUILD"

# The comparator itself: equal within 1e-9 relative, NaN = NaN, labels as sets; else not.
pq() {
    printf %s "$1" >"$TMP/a.json"
    printf %s "$2" >"$TMP/b.json"
    "$CMP" "$TMP/a.json" "$TMP/b.json" >/dev/null
}
vec() { echo "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[$1]}}"; }
pt() { echo "{\"metric\":{$1},\"value\":[1700000000.5,\"$2\"]}"; }
a1=$(pt "\"a\":\"1\"" 1) a2=$(pt "\"a\":\"1\"" 1.0000000001) nan=$(pt "" NaN)
pq "$(vec "$a1,$nan")" "$(vec "$nan,$a2")" ||
    fail "pqcompare: equal answers reported different"
pq "$(vec "$(pt "" 1)")" "$(vec "$(pt "" 1.00000001)")" &&
    fail "pqcompare: 1e-8 relative taken as equal"
pq "$(vec "$(pt "" +Inf)")" "$(vec "$(pt "" 1e308)")" &&
    fail "pqcompare: +Inf taken as equal to 1e308"
pq "$(vec "$(pt "\"a\":\"1\"" 1)")" "$(vec "$(pt "\"a\":\"2\"" 1)")" &&
    fail "pqcompare: other labels taken as equal"
pq "$(vec "")" "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}" &&
    fail "pqcompare: vector taken as equal to matrix"

T0=1700000000
# Instant queries run at two times inside the data, off every step and sample: the middle,
# and 23 s after the second counter reset.
INSTANTS="$((T0 + 4013)) $((T0 + 5273))"
START=$((T0 + 900)) END=$((T0 + 7500)) STEP=60   # range queries: to past the data's end

sh "$top_srcdir/tests/tools/pqdiff_gen.sh" $T0 >"$TMP/data.om" || fail "generating data"
promtool tsdb create-blocks-from openmetrics "$TMP/data.om" "$TMP/blocks" \
    >"$TMP/promtool.log" 2>&1 ||
    fail "promtool create-blocks-from openmetrics: $(tail -n 3 "$TMP/promtool.log")"
mkdir -p "$TMP/prom-data" "$TMP/ignis-data" "$TMP/ignis-x-data"
cp -r "$TMP/blocks"/. "$TMP/prom-data/"
cp -r "$TMP/blocks"/. "$TMP/ignis-data/"
cp -r "$TMP/blocks"/. "$TMP/ignis-x-data/"

# Prometheus on the first copy; retention so long that no block is ever deleted.
echo "global: { scrape_interval: 1h }" >"$TMP/prom.yml"
started=""
for try in 1 2 3 4 5; do
    port=$(free_port)
    prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/prom-data" \
        --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
        2>"$TMP/prometheus.log" &
    PROM_PID=$!
    STARTED_PIDS="$STARTED_PIDS $PROM_PID"
    PROM_ADDR="127.0.0.1:$port"
    for i in $(seq 1 300); do
        curl -sf -o /dev/null "http://$PROM_ADDR/-/ready" && { started=1; break; }
        kill -0 "$PROM_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$started" ] && break
    stop_pid "$PROM_PID"
done
[ -n "$started" ] || fail "prometheus did not start"

# ignisd on the second copy.
cat >"$TMP/ignis.conf" <<CONF
plugins = { path = [ "$PLUGINS_BUILD" ]; load = [ "tsdb", "promql" ]; };
storage = { tsdb = { path = "$TMP/ignis-data"; retention_time = "0s"; }; };
CONF
start_ignisd ignisd "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
# A second ignisd, on a third copy, with the experimental functions on: Prometheus 2.42's
# holt_winters is compared with its 3.x name double_exponential_smoothing there.
cat >"$TMP/ignis-x.conf" <<CONF
plugins = { path = [ "$PLUGINS_BUILD" ]; load = [ "tsdb", "promql" ]; };
storage = { tsdb = { path = "$TMP/ignis-x-data"; retention_time = "0s"; }; };
query = { promql = { experimental_functions = true; }; };
CONF
MAIN_ADDR=$IGNIS_ADDR
start_ignisd ignisd-x "$TMP/ignis-x.conf"
wait_ready "$IGNIS_ADDR"
X_ADDR=$IGNIS_ADDR IGNIS_ADDR=$MAIN_ADDR

# ask ADDR KIND QUERY OUT [TIME]: one query as a POST form.
ask() {
    if [ "$2" = i ]; then
        curl -s -o "$4" "http://$1/api/v1/query" --data-urlencode "query=$3" \
            --data-urlencode "time=$5"
    else
        curl -s -o "$4" "http://$1/api/v1/query_range" --data-urlencode "query=$3" \
            --data-urlencode "start=$START" --data-urlencode "end=$END" \
            --data-urlencode "step=$STEP"
    fi
}

# The exclusions: "KIND QUERY<TAB>reason", each naming a line of queries.txt.
declare -A excluded
while IFS=$'\t' read -r q reason; do
    case "$q" in ''|'#'*) continue ;; esac
    [ -n "$reason" ] || fail "changed-in-3.txt: no reason given for: $q"
    grep -qxF -- "$q" "$DIR/queries.txt" ||
        fail "changed-in-3.txt names a query not in queries.txt: $q"
    excluded["$q"]=$reason
done <"$DIR/changed-in-3.txt"

# compare_one LINE KIND QUERY [TIME]: one answer of each server; counts it.
compare_one() {
    local out rc at=${4:+" at $4"}
    answers=$((answers + 1))
    ask "$PROM_ADDR" "$2" "$3" "$TMP/prom.json" "${4:-}" || fail "query to prometheus failed: $3"
    ask "$IGNIS_ADDR" "$2" "$3" "$TMP/ignis.json" "${4:-}" || fail "query to ignisd failed: $3"
    out=$("$CMP" "$TMP/prom.json" "$TMP/ignis.json")
    rc=$?
    case $rc in
    0)
        case "$out" in
        "equal empty") empty=$((empty + 1)); echo "empty: $1$at" ;;
        "equal error") errors=$((errors + 1)) ;;
        esac
        return 0
        ;;
    1)
        echo "DIFFERENT: $1$at   (A: prometheus, B: ignisd)"
        echo "$out" | sed 's/^/    /'
        ;;
    *)
        echo "BAD ANSWER: $1$at"
        head -c 300 "$TMP/prom.json"; echo
        head -c 300 "$TMP/ignis.json"; echo
        ;;
    esac
    return 1
}

# compare_renamed LINE KIND QUERY: Prometheus' holt_winters against ignisd's
# double_exponential_smoothing (experimental functions on), at the same times.
compare_renamed() {
    local t times=$INSTANTS out rc=0 q2=${3//holt_winters/double_exponential_smoothing}
    [ "$2" = r ] && times=${INSTANTS%% *}   # (unused by a range query)
    for t in $times; do
        ask "$PROM_ADDR" "$2" "$3" "$TMP/prom.json" "$t" || fail "query to prometheus failed: $3"
        ask "$X_ADDR" "$2" "$q2" "$TMP/ignis.json" "$t" || fail "query to ignisd failed: $q2"
        out=$("$CMP" "$TMP/prom.json" "$TMP/ignis.json") && continue
        rc=1
        echo "DIFFERENT: $1 as $q2   (A: prometheus, B: ignisd)"
        echo "$out" | sed 's/^/    /'
    done
    return $rc
}

renamed=0 renamed_differ=0
n=0 equal=0 differ=0 answers=0 empty=0 errors=0 skipped=0 ranges=0
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    kind=${line%% *} q=${line#* }
    case "$kind" in i|r) ;; *) fail "queries.txt: bad line: $line" ;; esac
    if [ -n "${excluded[$line]+x}" ]; then
        skipped=$((skipped + 1))
        echo "excluded: $line  (${excluded[$line]})"
        case "$q" in
        *holt_winters*)
            # Not counted among the compared queries: the renamed function must agree.
            renamed=$((renamed + 1))
            compare_renamed "$line" "$kind" "$q" || renamed_differ=$((renamed_differ + 1))
            ;;
        esac
        continue
    fi
    n=$((n + 1))
    same=1
    if [ "$kind" = r ]; then
        ranges=$((ranges + 1))
        compare_one "$line" r "$q" || same=""
    else
        for t in $INSTANTS; do
            compare_one "$line" i "$q" "$t" || same=""
        done
    fi
    if [ -n "$same" ]; then equal=$((equal + 1)); else differ=$((differ + 1)); fi
done <"$DIR/queries.txt"

echo "pqdiff: $n queries compared ($ranges range, $((n - ranges)) instant at $INSTANTS):" \
    "$equal equal, $differ different, $skipped excluded as changed in Prometheus 3;" \
    "$answers answers: $empty empty, $errors errors on both"
[ "$n" -gt 0 ] || fail "no query ran"
[ "$ranges" -ge 20 ] || fail "only $ranges range queries"
echo "pqdiff: $renamed holt_winters queries compared with double_exponential_smoothing:" \
    "$((renamed - renamed_differ)) equal"
[ "$differ" -eq 0 ] || fail "$differ queries answer differently"
[ "$renamed_differ" -eq 0 ] || fail "$renamed_differ renamed holt_winters queries differ"
[ $((empty * 10)) -le "$answers" ] ||
    fail "$empty of $answers answers are empty (more than a tenth)"
pass "promql_vs_prometheus: $equal of $n queries equal"
