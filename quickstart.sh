#!/bin/sh
# quickstart.sh — the README's two commands.
#   ./quickstart.sh run     install build dependencies, build, start ignisd on
#                           etc/ignis.conf in the foreground (plugins from the build tree)
#   ./quickstart.sh check   the same set-up, plus the test peers, then `make check`
# Extra arguments after `run` go to ignisd (e.g. --web.listen-address=127.0.0.1:9091).
set -eu
cd "$(dirname "$0")"
top=$(pwd)
mode=${1:-run}
[ $# -gt 0 ] && shift

case "$mode" in
run | check) ;;
*)
    echo "usage: $0 run|check" >&2
    exit 2
    ;;
esac

scripts/install-deps.sh
[ "$mode" = check ] && scripts/install-test-peers.sh
[ -x configure ] || autoreconf -fi
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure --quiet
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs"
case "$mode" in
run)
    exec ./core/ignisd -c "$top/etc/ignis.conf" --plugin-dir "$top/_build/plugins.d" "$@"
    ;;
check)
    make -j"$jobs" check
    ;;
esac
