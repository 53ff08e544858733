#!/bin/sh
# tests/fuzz/selector.sh — replays the selector fuzz target over its seed corpus and every
# saved crasher (make check). A real fuzzing session is described in tests/fuzz/README.md.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_selector_replay" \
    "$top_srcdir/tests/fuzz/corpus/selector" "$top_srcdir/tests/fuzz/crashers/selector"
