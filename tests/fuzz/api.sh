#!/bin/sh
# tests/fuzz/api.sh — replays the API input fuzz target over its seeds and crashers.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_api_replay" \
    "$top_srcdir/tests/fuzz/corpus/api" "$top_srcdir/tests/fuzz/crashers/api"
