# tests/lib.sh — shared by the integration tests: temporary directory, starting ignisd
# on a loopback port the kernel picks, waiting for readiness with a deadline, stopping
# only the processes the test started (by PID), and assertions.
set -u

: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
IGNISD="$top_builddir/core/ignisd"
IGNISCTL="$top_builddir/core/ignisctl"
PLUGINS_BUILD="${IGNIS_PLUGINS_BUILD:-$top_builddir/plugins.d}"
PLUGINS_TEST="${IGNIS_TEST_PLUGINS:-$top_builddir/tests/plugins.d}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ignis-test.XXXXXX")
STARTED_PIDS=""

cleanup() {
    for p in $STARTED_PIDS; do
        kill "$p" 2>/dev/null
    done
    for p in $STARTED_PIDS; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$TMP"/*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 30 lines)" >&2
        tail -n 30 "$f" >&2
    done
    exit 1
}

pass() {
    echo "ok: $*"
}

# A peer program (promtool, prometheus, ...) that a test needs. Missing: with CI=true the
# test fails; otherwise it is skipped (exit 77) with a loud message.
need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        if [ "${CI:-}" = "true" ]; then
            fail "$1 is not installed (scripts/install-test-peers.sh installs it)"
        fi
        echo "SKIP: $1 is not installed; run scripts/install-test-peers.sh" >&2
        exit 77
    fi
}

# start_ignisd NAME CONF [flags...]: starts ignisd on 127.0.0.1 with a kernel-chosen
# port; sets IGNIS_PID and IGNIS_ADDR (host:port); its log is $TMP/NAME.log.
start_ignisd() {
    local name=$1 conf=$2
    shift 2
    "$IGNISD" -c "$conf" --web.listen-address=127.0.0.1:0 "$@" 2>"$TMP/$name.log" &
    IGNIS_PID=$!
    STARTED_PIDS="$STARTED_PIDS $IGNIS_PID"
    IGNIS_ADDR=""
    local i
    for i in $(seq 1 200); do
        IGNIS_ADDR=$(sed -n 's/.*msg="listening" address=\([0-9.:]*\).*/\1/p' "$TMP/$name.log" | head -n 1)
        [ -n "$IGNIS_ADDR" ] && break
        kill -0 "$IGNIS_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$IGNIS_ADDR" ] || fail "ignisd $name did not start listening"
}

# wait_ready ADDR: polls /-/ready for up to 20 s.
wait_ready() {
    local i
    for i in $(seq 1 200); do
        if curl -sf -o /dev/null "http://$1/-/ready"; then
            return 0
        fi
        sleep 0.1
    done
    fail "http://$1/-/ready did not answer 200 within 20 s"
}

# stop_pid PID: SIGTERM, then waits; sets STOP_STATUS to its exit status.
stop_pid() {
    kill -TERM "$1" 2>/dev/null
    wait "$1"
    STOP_STATUS=$?
    STARTED_PIDS=$(echo "$STARTED_PIDS" | sed "s/ $1\b//")
}

# http_code METHOD URL: prints the status code.
http_code() {
    curl -s -o "$TMP/body" -w '%{http_code}' -X "$1" "$2"
}

assert_eq() {
    [ "$1" = "$2" ] || fail "$3: got \"$1\", want \"$2\""
}

assert_grep() {
    grep -q -- "$1" "$2" || fail "$3: \"$1\" not found in $2"
}

# free_port: prints a loopback TCP port nothing listens on now (for peers that cannot
# be told to pick one themselves; a small race remains).
free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    fail "no free port found"
}

# wait_http URL: polls until URL answers 200, for up to 30 s.
wait_http() {
    local i
    for i in $(seq 1 300); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.1
    done
    fail "$1 did not answer 200 within 30 s"
}

# start_prometheus CONFIG NAME: starts a real Prometheus on a free loopback port (retrying
# when another process took the port first), waits for it to be ready; sets PROM_PID and
# PROM_ADDR. Its log is $TMP/NAME.log.
start_prometheus() {
    local conf=$1 name=$2 try port
    for try in 1 2 3 4 5; do
        port=$(free_port)
        prometheus --config.file="$conf" --storage.tsdb.path="$TMP/$name-data" \
            --web.listen-address="127.0.0.1:$port" 2>"$TMP/$name.log" &
        PROM_PID=$!
        STARTED_PIDS="$STARTED_PIDS $PROM_PID"
        PROM_ADDR="127.0.0.1:$port"
        local i
        for i in $(seq 1 300); do
            curl -sf -o /dev/null "http://$PROM_ADDR/-/ready" && return 0
            kill -0 "$PROM_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$PROM_PID" 2>/dev/null
        wait "$PROM_PID" 2>/dev/null
    done
    fail "prometheus did not start (see $TMP/$name.log)"
}

# tsdb_scrape_conf DATADIR CONF: serves the bodies of tests/data/bodies with static_server
# and writes CONF: ignisd storing in DATADIR with the tsdb plugin, scraping each body every
# 200 ms (one job per body).
tsdb_scrape_conf() {
    local bodies="$top_srcdir/tests/data/bodies" sport f b sep="" i
    "$top_builddir/tests/tools/static_server" "$bodies" >"$TMP/static.port" 2>"$TMP/static.log" &
    STARTED_PIDS="$STARTED_PIDS $!"
    for i in $(seq 1 50); do [ -s "$TMP/static.port" ] && break; sleep 0.1; done
    sport=$(cat "$TMP/static.port")
    [ -n "$sport" ] || fail "static server did not start"
    {
        echo "global = { scrape_interval = \"200ms\"; scrape_timeout = \"200ms\"; };"
        echo "plugins = { path = [ \"$PLUGINS_BUILD\" ]; load = [ \"tsdb\" ]; };"
        echo "storage = { tsdb = { path = \"$1\"; }; };"
        echo "scrape_configs = ("
        for f in "$bodies"/*.prom.txt; do
            b=$(basename "$f" .prom.txt)
            echo "  $sep{ job_name = \"body-$b\"; metrics_path = \"/$b.prom.txt\";"
            echo "      static_configs = ( { targets = [ \"127.0.0.1:$sport\" ]; } ); }"
            sep=", "
        done
        echo ");"
    } >"$2"
}
