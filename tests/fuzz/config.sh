#!/bin/sh
# tests/fuzz/config.sh — replays the config loader's fuzz target over its seed corpus and
# every saved crasher (make check). A real fuzzing session is described in
# tests/fuzz/README.md.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_config_replay" \
    "$top_srcdir/tests/fuzz/corpus/config" "$top_srcdir/tests/fuzz/crashers/config"
