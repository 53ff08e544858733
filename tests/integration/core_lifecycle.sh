#!/bin/bash
# tests/integration/core_lifecycle.sh — a real ignisd on loopback: flags, health and
# readiness, the lifecycle API, reload with a bad config keeping the old one, SIGHUP,
# SIGTERM draining to exit 0, and ignisd's refusals of bad plugins.
. "$top_srcdir/tests/lib.sh"

write_conf() { # write_conf FILE VALUE [extra plugin]
    cat >"$1" <<CONF
plugins = { path = [ "$PLUGINS_BUILD", "$PLUGINS_TEST" ]; load = [ "mem", "good" ${3:-} ]; };
storage = { mem = { }; };
exporters = { good = { greeting = "hi"; value = $2; }; };
CONF
}

# --version and --help
"$IGNISD" --version | grep -q "^ignisd, version" || fail "--version"
"$IGNISD" --help | grep -q -- "--web.enable-lifecycle" || fail "--help"
"$IGNISD" --no-such-flag 2>/dev/null; assert_eq $? 2 "unknown flag exit status"
pass "version, help, bad flag"

# --check-config
write_conf "$TMP/good.conf" 7
"$IGNISD" -c "$TMP/good.conf" --check-config >"$TMP/check.out" 2>&1 || fail "check-config on a good file"
assert_grep "SUCCESS" "$TMP/check.out" "check-config output"
printf 'plugins = { path = [ "%s" ]; load = [ "mem" ]; };\nweb = { listen_address = 9090; };\n' \
    "$PLUGINS_BUILD" >"$TMP/bad.conf"
"$IGNISD" -c "$TMP/bad.conf" --check-config >"$TMP/check.out" 2>&1
assert_eq $? 1 "check-config exit status on a bad file"
assert_grep "bad.conf:2" "$TMP/check.out" "check-config names file:line"
pass "check-config"

# --plugin-help
"$IGNISD" -c "$TMP/good.conf" --plugin-help good >"$TMP/help.out" || fail "--plugin-help"
assert_grep "greeting" "$TMP/help.out" "plugin-help lists options"
assert_grep "hello" "$TMP/help.out" "plugin-help shows defaults"
pass "plugin-help"

# health, readiness, 404, lifecycle disabled
start_ignisd a "$TMP/good.conf"
wait_ready "$IGNIS_ADDR"
assert_eq "$(http_code GET "http://$IGNIS_ADDR/-/healthy")" 200 "/-/healthy"
assert_eq "$(http_code GET "http://$IGNIS_ADDR/nope")" 404 "unknown path"
assert_eq "$(http_code POST "http://$IGNIS_ADDR/-/reload")" 403 "reload without lifecycle"
assert_eq "$(http_code GET "http://$IGNIS_ADDR/-/reload")" 405 "GET /-/reload"
stop_pid "$IGNIS_PID"
assert_eq "$STOP_STATUS" 0 "exit status after SIGTERM"
assert_grep "see you next time" "$TMP/a.log" "drained shutdown logged"
pass "health, readiness, lifecycle off, SIGTERM"

# reload: a bad config keeps the old one; a good one applies
cp "$TMP/good.conf" "$TMP/live.conf"
start_ignisd b "$TMP/live.conf" --web.enable-lifecycle
wait_ready "$IGNIS_ADDR"
echo 'this is not libconfig' >"$TMP/live.conf"
assert_eq "$(http_code POST "http://$IGNIS_ADDR/-/reload")" 500 "reload with a bad config"
assert_grep "failed to reload config" "$TMP/body" "reload error body"
assert_grep "reload failed" "$TMP/b.log" "reload failure logged"
assert_eq "$(http_code GET "http://$IGNIS_ADDR/-/ready")" 200 "still ready after failed reload"
kill -HUP "$IGNIS_PID"
sleep 0.3
kill -0 "$IGNIS_PID" || fail "ignisd died on SIGHUP with a bad config"
assert_eq "$(http_code GET "http://$IGNIS_ADDR/metrics")" 200 "/metrics"
assert_grep '^ignis_test_good_value{greeting="hi"} 7$' "$TMP/body" "exporter plugin value before reload"
assert_grep '^prometheus_config_last_reload_successful 0$' "$TMP/body" "failed reloads are counted"
write_conf "$TMP/live.conf" 9
assert_eq "$(http_code POST "http://$IGNIS_ADDR/-/reload")" 200 "reload with a good config"
assert_eq "$(http_code GET "http://$IGNIS_ADDR/metrics")" 200 "/metrics"
assert_grep '^ignis_test_good_value{greeting="hi"} 9$' "$TMP/body" "exporter plugin value after reload"
assert_grep '^prometheus_config_last_reload_successful 1$' "$TMP/body" "reload success is counted"
write_conf "$TMP/live.conf" -5
assert_eq "$(http_code POST "http://$IGNIS_ADDR/-/reload")" 500 "reload refused by the plugin"
assert_grep "value must not be negative" "$TMP/body" "plugin's reconfigure error"
write_conf "$TMP/live.conf" 11
kill -HUP "$IGNIS_PID"
for i in $(seq 1 50); do
    [ "$(grep -c 'completed loading of configuration' "$TMP/b.log")" -ge 2 ] && break
    sleep 0.1
done
[ "$(grep -c 'completed loading of configuration' "$TMP/b.log")" -ge 2 ] || fail "SIGHUP reload"
assert_eq "$(http_code POST "http://$IGNIS_ADDR/-/quit")" 200 "/-/quit"
wait "$IGNIS_PID"
assert_eq $? 0 "exit status after /-/quit"
STARTED_PIDS=""
pass "reload keeps the old config when the new one is bad; SIGHUP; quit"

# refusals: ignisd does not start with a plugin it refuses, and says why
for case in "bad_major:major versions differ" "newer_minor:newer than this ignisd" \
    "nosym:no symbol ignis_plugin" "unknown_kind:unknown kind" \
    "create_fails:create failed: refusing on purpose"; do
    name=${case%%:*}
    why=${case#*:}
    printf 'plugins = { path = [ "%s", "%s" ]; load = [ "mem", "%s" ]; };\n' \
        "$PLUGINS_BUILD" "$PLUGINS_TEST" "$name" >"$TMP/refuse.conf"
    "$IGNISD" -c "$TMP/refuse.conf" --web.listen-address=127.0.0.1:0 2>"$TMP/refuse.log" &
    pid=$!
    wait "$pid"
    st=$?
    [ "$st" -ne 0 ] || fail "ignisd started with plugin $name"
    assert_grep "$name.so" "$TMP/refuse.log" "refusal of $name names the file"
    assert_grep "$why" "$TMP/refuse.log" "refusal of $name says why"
done
pass "ignisd refuses bad plugins by name and reason"
