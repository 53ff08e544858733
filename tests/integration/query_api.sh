#!/bin/bash
# tests/integration/query_api.sh — the query API of a real ignisd (mem storage, promql
# plugin, scraping itself) through promtool query instant|range|series|labels, and the
# JSON shapes and error types of /api/v1/query, query_range, format_query, parse_query and
# status.
. "$top_srcdir/tests/lib.sh"
need promtool
[ -f "$PLUGINS_BUILD/promql.so" ] || fail "the promql plugin is not built"

cat >"$TMP/ignis.conf" <<CONF
global = { scrape_interval = "1s"; scrape_timeout = "1s"; query_log_file = "$TMP/query.log"; };
plugins = { path = [ "$PLUGINS_BUILD" ]; load = [ "mem", "promql" ]; };
storage = { mem = { }; };
scrape_configs = ( { job_name = "self"; basic_auth = { username = "u"; password = "hunter2"; };
                     static_configs = ( { targets = [ "PLACEHOLDER" ]; } ); } );
CONF
# Scrape itself: the address is known once it listens, so start, read it, restart.
start_ignisd probe "$TMP/ignis.conf"
addr=$IGNIS_ADDR
stop_pid "$IGNIS_PID"
sed -i "s/PLACEHOLDER/$addr/" "$TMP/ignis.conf"
"$IGNISD" -c "$TMP/ignis.conf" --web.listen-address="$addr" 2>"$TMP/ig.log" &
IGNIS_PID=$!
STARTED_PIDS="$STARTED_PIDS $IGNIS_PID"
wait_ready "$addr"
URL="http://$addr"
for i in $(seq 1 50); do
    promtool query instant "$URL" 'up{job="self"}' 2>/dev/null | grep -q '=> 1' && break
    sleep 0.2
done

promtool query instant "$URL" 'up{job="self"}' >"$TMP/out" || fail "promtool query instant"
assert_grep 'up{instance="'"$addr"'", job="self"} => 1 @' "$TMP/out" "instant query result"
promtool query instant "$URL" 'sum by (job) (scrape_samples_scraped)' >"$TMP/out" || fail "aggregation"
assert_grep '{job="self"} => ' "$TMP/out" "aggregation result"
now=$(date +%s)
promtool query range --start=$((now - 2)) --end=$((now + 2)) --step=1s "$URL" 'up' >"$TMP/out" || fail "promtool query range"
assert_grep ' @\[' "$TMP/out" "range query points"
promtool query series --match='up' "$URL" >"$TMP/out" || fail "promtool query series"
assert_grep '__name__="up"' "$TMP/out" "series"
promtool query labels "$URL" job >"$TMP/out" || fail "promtool query labels"
assert_grep '^self$' "$TMP/out" "label values"
pass "promtool query instant|range|series|labels"

code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G --data-urlencode 'query=up{' "$URL/api/v1/query")
assert_eq "$code" 400 "a bad query's status"
assert_grep '"errorType":"bad_data"' "$TMP/body" "a bad query's error type"
assert_grep '"error":"1:4: parse error' "$TMP/body" "a bad query's position"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$URL/api/v1/query_range?query=up&start=10&end=5&step=1")
assert_eq "$code" 400 "end before start"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$URL/api/v1/query_range?query=up&start=0&end=100000&step=1")
assert_eq "$code" 400 "too many points"
assert_grep "11,000 points" "$TMP/body" "too many points message"
curl -s -X POST --data-urlencode 'query=1+1' --data-urlencode 'time=2024-01-02T03:04:05.5Z' "$URL/api/v1/query" >"$TMP/body"
assert_grep '"resultType":"scalar","result":\[1704164645.5,"2"\]' "$TMP/body" "POST form, RFC 3339 time, scalar shape"
curl -s -G --data-urlencode 'query=sum(up)by(job)' "$URL/api/v1/format_query" >"$TMP/body"
assert_grep '"data":"sum by (job) (up)"' "$TMP/body" "format_query"
curl -s -X POST --data-urlencode 'query=sum by (job) (rate(up[5m]))' "$URL/api/v1/parse_query" >"$TMP/body"
assert_grep '"data":{"expr":{"args":\[{"anchored":false,"matchers":\[{"name":"__name__","type":"=","value":"up"}\],"name":"up","offset":0,"range":300000,' "$TMP/body" "parse_query tree"
assert_grep '"grouping":\["job"\],"op":"sum","param":null,"type":"aggregation","without":false}}$' "$TMP/body" "parse_query aggregation"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G --data-urlencode 'query=sum(' "$URL/api/v1/parse_query")
[ "$code" = 400 ] || fail "parse_query of a bad expression: HTTP $code, want 400"
assert_grep '"errorType":"bad_data","error":"invalid parameter \\"query\\": 1:5: parse error: unclosed left parenthesis"' "$TMP/body" "parse_query error"
curl -s "$URL/api/v1/status/buildinfo" | grep -q '"version":"' || fail "buildinfo"
curl -s "$URL/api/v1/status/flags" | grep -q '"web.listen-address":"' || fail "flags"
curl -s "$URL/api/v1/status/runtimeinfo" | grep -q '"startTime":"' || fail "runtimeinfo"
curl -s "$URL/api/v1/status/config" >"$TMP/body"
assert_grep 'u003csecret' "$TMP/body" "secrets are redacted (\\u003csecret\\u003e in JSON)"
grep -q hunter2 "$TMP/body" && fail "status/config shows a password"
[ -s "$TMP/query.log" ] || fail "the query log is empty"
grep -q '"query":"up{job=\\"self\\"}"' "$TMP/query.log" || fail "the query log lacks a query: $(head -3 "$TMP/query.log")"
pass "error types and codes, time formats, format_query, parse_query, status endpoints, query log"
