#!/bin/sh
# tests/fuzz/expose_negotiate.sh — replays the /metrics negotiation and writer fuzz
# target over its seed corpus and every saved crasher (make check).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_expose_negotiate_replay" \
    "$top_srcdir/tests/fuzz/corpus/expose_negotiate" \
    "$top_srcdir/tests/fuzz/crashers/expose_negotiate"
