#!/bin/sh
# tests/fuzz/promql.sh — replays the PromQL parser fuzz target over its seed corpus and
# every saved crasher (make check). A real fuzzing session is described in
# tests/fuzz/README.md.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_promql_replay" \
    "$top_srcdir/tests/fuzz/corpus/promql" "$top_srcdir/tests/fuzz/crashers/promql"
