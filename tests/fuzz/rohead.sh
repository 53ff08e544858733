#!/bin/sh
# tests/fuzz/rohead.sh — replays the rohead fuzz target (a WAL segment and a head chunk file
# loaded read-only) over its seed corpus and every saved crasher (make check).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_rohead_replay" \
    "$top_srcdir/tests/fuzz/corpus/rohead" "$top_srcdir/tests/fuzz/crashers/rohead"
