#!/bin/bash
# tests/integration/scrape_auth.sh — scrape requests carry basic_auth (password inline or
# from password_file) and authorization (credentials inline or from a file) as configured;
# a target that refuses them is down with the HTTP status in its last error.
. "$top_srcdir/tests/lib.sh"
BODIES="$top_srcdir/tests/data/bodies"

# start_static AUTH NAME: a static server whose port lands in $TMP/s.NAME. Not called in a
# command substitution: its PID must reach STARTED_PIDS in this shell, so cleanup stops it.
start_static() {
    "$top_builddir/tests/tools/static_server" "$BODIES" "$1" >"$TMP/s.$2" 2>/dev/null &
    STARTED_PIDS="$STARTED_PIDS $!"
    for i in $(seq 1 50); do [ -s "$TMP/s.$2" ] && break; sleep 0.1; done
    [ -s "$TMP/s.$2" ] || fail "static server $2 did not start"
}
# "Basic " + base64("alice:s3cret")
start_static "Basic YWxpY2U6czNjcmV0" b
start_static "Bearer tok-123" t
bport=$(cat "$TMP/s.b")
tport=$(cat "$TMP/s.t")
printf 's3cret\n' >"$TMP/pw"
printf 'tok-123\n' >"$TMP/cred"
cat >"$TMP/ignis.conf" <<CONF
global = { scrape_interval = "1s"; scrape_timeout = "1s"; };
plugins = { path = [ "$PLUGINS_BUILD" ]; load = [ "mem" ]; };
storage = { mem = { }; };
scrape_configs = (
  { job_name = "basic"; metrics_path = "/alertmanager.prom.txt";
    basic_auth = { username = "alice"; password = "s3cret"; };
    static_configs = ( { targets = [ "127.0.0.1:$bport" ]; } ); },
  { job_name = "basic_file"; metrics_path = "/alertmanager.prom.txt";
    basic_auth = { username = "alice"; password_file = "pw"; /* relative to the config file */ };
    static_configs = ( { targets = [ "127.0.0.1:$bport" ]; } ); },
  { job_name = "basic_wrong"; metrics_path = "/alertmanager.prom.txt";
    basic_auth = { username = "alice"; password = "nope"; };
    static_configs = ( { targets = [ "127.0.0.1:$bport" ]; } ); },
  { job_name = "bearer"; metrics_path = "/alertmanager.prom.txt";
    authorization = { credentials = "tok-123"; };
    static_configs = ( { targets = [ "127.0.0.1:$tport" ]; } ); },
  { job_name = "bearer_file"; metrics_path = "/alertmanager.prom.txt";
    authorization = { type = "Bearer"; credentials_file = "cred"; };
    static_configs = ( { targets = [ "127.0.0.1:$tport" ]; } ); },
  { job_name = "none"; metrics_path = "/alertmanager.prom.txt";
    static_configs = ( { targets = [ "127.0.0.1:$tport" ]; } ); }
);
CONF
start_ignisd ig "$TMP/ignis.conf"
wait_ready "$IGNIS_ADDR"
health() {
    curl -s "http://$IGNIS_ADDR/api/v1/targets?scrapePool=$1" | grep -o '"health":"[a-z]*"' | cut -d'"' -f4
}
# Every target scraped at least once (30 s deadline: a loaded machine is slow).
for i in $(seq 1 300); do
    curl -s "http://$IGNIS_ADDR/api/v1/targets" | grep -q '"health":"unknown"' || break
    sleep 0.1
done
for j in basic basic_file bearer bearer_file; do
    assert_eq "$(health $j)" up "job $j"
done
for j in basic_wrong none; do
    assert_eq "$(health $j)" down "job $j"
    curl -s "http://$IGNIS_ADDR/api/v1/targets?scrapePool=$j" | grep -q '"lastError":"server returned HTTP status 401' ||
        fail "job $j: the last error does not give the status"
done
pass "basic_auth and authorization, inline and from files; refused scrapes are down with their status"

# TLS: a self-signed CA and a server certificate for 127.0.0.1 and "metrics.test"; the
# scrape verifies it with tls_config.ca_file (and server_name), fails without the CA,
# and succeeds with insecure_skip_verify. A proxy: proxy_url sends the scrape of an
# address that cannot resolve to a server standing in for the proxy.
need openssl
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test-ca" \
    -keyout "$TMP/ca.key" -out "$TMP/ca.pem" >/dev/null 2>&1 || fail "openssl CA"
printf 'subjectAltName=IP:127.0.0.1,DNS:metrics.test\n' >"$TMP/san.ext"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TMP/srv.key" \
    -out "$TMP/srv.csr" >/dev/null 2>&1 &&
    openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
        -CAcreateserial -days 2 -extfile "$TMP/san.ext" -out "$TMP/srv.pem" >/dev/null 2>&1 ||
    fail "openssl server certificate"
"$top_builddir/tests/tools/static_server" "$BODIES" "" "$TMP/srv.pem" "$TMP/srv.key" >"$TMP/s.tls" 2>"$TMP/tls.log" &
STARTED_PIDS="$STARTED_PIDS $!"
for i in $(seq 1 50); do [ -s "$TMP/s.tls" ] && break; sleep 0.1; done
sport=$(cat "$TMP/s.tls")
start_static "" px
pxport=$(cat "$TMP/s.px")
cat >"$TMP/tls.conf" <<CONF
global = { scrape_interval = "1s"; scrape_timeout = "1s"; };
plugins = { path = [ "$PLUGINS_BUILD" ]; load = [ "mem" ]; };
storage = { mem = { }; };
scrape_configs = (
  { job_name = "tls_ca"; scheme = "https"; metrics_path = "/alertmanager.prom.txt";
    tls_config = { ca_file = "$TMP/ca.pem"; };
    static_configs = ( { targets = [ "127.0.0.1:$sport" ]; } ); },
  { job_name = "tls_noca"; scheme = "https"; metrics_path = "/alertmanager.prom.txt";
    static_configs = ( { targets = [ "127.0.0.1:$sport" ]; } ); },
  { job_name = "tls_insecure"; scheme = "https"; metrics_path = "/alertmanager.prom.txt";
    tls_config = { insecure_skip_verify = true; };
    static_configs = ( { targets = [ "127.0.0.1:$sport" ]; } ); },
  { job_name = "proxied"; metrics_path = "/alertmanager.prom.txt";
    proxy_url = "http://127.0.0.1:$pxport";
    static_configs = ( { targets = [ "no-such-host.invalid:9100" ]; } ); }
);
CONF
stop_pid "$IGNIS_PID"
start_ignisd tls "$TMP/tls.conf"
wait_ready "$IGNIS_ADDR"
for i in $(seq 1 300); do
    curl -s "http://$IGNIS_ADDR/api/v1/targets" | grep -q '"health":"unknown"' || break
    sleep 0.1
done
assert_eq "$(health tls_ca)" up "TLS verified with the CA"
assert_eq "$(health tls_noca)" down "TLS without the CA"
assert_eq "$(health tls_insecure)" up "TLS with insecure_skip_verify"
assert_eq "$(health proxied)" up "scrape through proxy_url"
pass "tls_config (ca_file, insecure_skip_verify) and proxy_url"
