#!/bin/sh
# tests/fuzz/file_sd_yaml.sh — replays the file_sd_yaml fuzz target over its seed corpus and
# every saved crasher (make check). A real fuzzing session is described in tests/fuzz/README.md.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_file_sd_yaml_replay" \
    "$top_srcdir/tests/fuzz/corpus/file_sd_yaml" "$top_srcdir/tests/fuzz/crashers/file_sd_yaml"
