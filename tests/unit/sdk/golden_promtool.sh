#!/bin/sh
# tests/unit/sdk/golden_promtool.sh — every text-0.0.4 golden exposition must pass
# `promtool check metrics` (parse and lint) without a single complaint. The goldens
# with quoted UTF-8 names (escaping=allow-utf-8) need promtool 3 or later; older ones
# cannot parse that syntax, and the script says so for each file it leaves out.
set -u
dir="${top_srcdir:-$(dirname "$0")/../../..}/tests/unit/sdk/golden"
promtool="${PROMTOOL:-/usr/bin/promtool}"
if [ ! -x "$promtool" ]; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL: promtool not found at $promtool (install the Debian package prometheus)" >&2
        exit 1
    fi
    echo "SKIP: promtool not found at $promtool; install the Debian package prometheus" >&2
    exit 77
fi
major=$("$promtool" --version 2>&1 | sed -n 's/^promtool, version \([0-9][0-9]*\)\..*/\1/p')
[ -n "$major" ] || major=0
checked=0 failed=0 left=0
for f in "$dir"/*.text; do
    [ -e "$f" ] || { echo "FAIL: no golden *.text files in $dir" >&2; exit 1; }
    case "$f" in
    *allow-utf-8*)
        if [ "$major" -lt 3 ]; then
            echo "not checked: $(basename "$f"): promtool $major.x predates quoted UTF-8 names"
            left=$((left + 1))
            continue
        fi ;;
    esac
    out=$("$promtool" check metrics < "$f" 2>&1)
    rc=$?
    checked=$((checked + 1))
    if [ $rc -ne 0 ] || [ -n "$out" ]; then
        echo "FAIL: $(basename "$f"): promtool says:" >&2
        echo "$out" >&2
        failed=$((failed + 1))
    else
        echo "ok: $(basename "$f")"
    fi
done
echo "$((checked - failed)) passed, $failed failed ($left left out for the promtool version)"
[ "$checked" -gt 0 ] && [ "$failed" -eq 0 ]
