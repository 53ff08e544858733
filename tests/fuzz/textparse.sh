#!/bin/sh
# tests/fuzz/textparse.sh — replays the exposition-parser fuzz target over its seed corpus
# and every saved crasher (make check). A real fuzzing session: tests/fuzz/README.md.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_textparse_replay" \
    "$top_srcdir/tests/fuzz/corpus/textparse" "$top_srcdir/tests/fuzz/crashers/textparse"
