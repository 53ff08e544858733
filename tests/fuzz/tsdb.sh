#!/bin/sh
# tests/fuzz/tsdb.sh — replays the tsdb fuzz target (chunks, WAL records and segments, index,
# tombstones, head chunk files) over its seed corpus and every saved crasher (make check).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
exec "$top_builddir/tests/fuzz/fuzz_tsdb_replay" \
    "$top_srcdir/tests/fuzz/corpus/tsdb" "$top_srcdir/tests/fuzz/crashers/tsdb"
