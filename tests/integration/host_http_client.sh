#!/bin/bash
# tests/integration/host_http_client.sh — the host table's HTTP client (http_fetch,
# http_cancel) as a plugin sees it, through the test plugin `fetch` in a real ignisd:
# a body and its status, a 404, a refused connection, the body bound, a timeout, a
# cancel, and a call still in flight when its instance is removed by a reload (the host
# cancels it; ignisd stays up and answers).
. "$top_srcdir/tests/lib.sh"
BODIES="$top_srcdir/tests/data/bodies"
[ -f "$PLUGINS_TEST/fetch.so" ] || fail "the fetch test plugin is not built"

"$top_builddir/tests/tools/static_server" "$BODIES" >"$TMP/s.port" 2>/dev/null &
STARTED_PIDS="$STARTED_PIDS $!"
for i in $(seq 1 50); do [ -s "$TMP/s.port" ] && break; sleep 0.1; done
SPORT=$(cat "$TMP/s.port")
[ -n "$SPORT" ] || fail "static_server did not start"
BODY=$(ls "$BODIES" | head -1)

write_conf() { # write_conf FILE WITH_FETCH
    local load='"mem"'
    [ "$2" = yes ] && load='"mem", "fetch"'
    {
        echo "plugins = { path = [ \"$PLUGINS_BUILD\", \"$PLUGINS_TEST\" ]; load = [ $load ]; };"
        echo "storage = { mem = { }; };"
    } >"$1"
}
write_conf "$TMP/ignis.conf" yes
start_ignisd ig "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
U="http://$IGNIS_ADDR/fetch"

# a body, byte for byte, with its length
curl -s -G --data-urlencode "url=http://127.0.0.1:$SPORT/$BODY" "$U" >"$TMP/out"
want_len=$(wc -c <"$BODIES/$BODY")
assert_eq "$(head -1 "$TMP/out")" "status=200 error= len=$want_len too_large=0" "fetch of a body"
tail -n +2 "$TMP/out" | cmp -s - "$BODIES/$BODY" || fail "the fetched body differs from the file"

# a 404 is an exchange that completed
curl -s -G --data-urlencode "url=http://127.0.0.1:$SPORT/no-such-file" "$U" >"$TMP/out"
assert_grep '^status=404 error= ' "$TMP/out" "404 status"

# a refused connection: no status, an error
port=$(free_port)
curl -s -G --data-urlencode "url=http://127.0.0.1:$port/" "$U" >"$TMP/out"
assert_grep '^status=0 error=..* len=0 too_large=0$' "$TMP/out" "refused connection"

# the body bound
curl -s -G --data-urlencode "url=http://127.0.0.1:$SPORT/$BODY" --data-urlencode max_body=10 "$U" >"$TMP/out"
assert_grep 'too_large=1$' "$TMP/out" "max_body"

# a server that never answers: the timeout ends the call
start=$(date +%s%N)
curl -s -G --data-urlencode url=blackhole --data-urlencode timeout_ms=300 "$U" >"$TMP/out"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_grep '^status=0 error=..*' "$TMP/out" "timeout reported as an error"
[ "$ms" -lt 10000 ] || fail "a 300 ms timeout took $ms ms"

# cancel right after starting: no callback afterwards (the plugin would reply twice)
curl -s -G --data-urlencode url=blackhole --data-urlencode cancel=1 "$U" >"$TMP/out"
assert_grep '^canceled$' "$TMP/out" "cancel"

# a call in flight when a reload removes the instance: the plugin answers 503 from
# destroy and leaves the call to the host, which cancels it
curl -s -o "$TMP/inflight" -w '%{http_code}' -G --data-urlencode url=blackhole \
    --data-urlencode timeout_ms=1500 "$U" >"$TMP/inflight.code" &
CURL_PID=$!
sleep 0.5
write_conf "$TMP/ignis.conf" no
kill -HUP "$IGNIS_PID"
wait "$CURL_PID"
assert_eq "$(cat "$TMP/inflight.code")" 503 "the waiting client after the reload ($(cat "$TMP/inflight"))"
assert_grep '^destroyed$' "$TMP/inflight" "reply from destroy"
for i in $(seq 1 50); do
    [ "$(http_code GET "$U")" = 404 ] && break
    sleep 0.1
done
assert_eq "$(http_code GET "$U")" 404 "/fetch is gone with its instance"
sleep 2 # past the call's timeout: had it not been canceled, its callback would run now
assert_eq "$(http_code GET "http://$IGNIS_ADDR/-/healthy")" 200 "ignisd still healthy"
kill -0 "$IGNIS_PID" || fail "ignisd died"
pass "http_fetch: body, 404, refused, max_body, timeout, cancel, canceled at destroy"
