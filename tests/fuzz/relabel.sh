#!/bin/sh
# tests/fuzz/relabel.sh — replays the relabel fuzz target over its seed corpus and every saved
# crasher (make check). A real fuzzing session is described in tests/fuzz/README.md.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_relabel_replay" \
    "$top_srcdir/tests/fuzz/corpus/relabel" "$top_srcdir/tests/fuzz/crashers/relabel"
