#!/bin/bash
# tests/integration/tsdb_wal.sh — the tsdb room's write-ahead log against Prometheus'
# own tools: a WAL we write (snappy and uncompressed, several segments) is read by
# `promtool tsdb dump` sample for sample, and the WAL a real `prometheus` writes is read
# by us exactly as promtool reads it.
set -eu
tool="$top_builddir/plugins/storage/tsdb/tsdbtool"
for p in promtool prometheus; do
    if ! command -v $p >/dev/null 2>&1; then
        [ "${CI:-}" = "true" ] && { echo "FAIL: $p is not installed"; exit 1; }
        echo "SKIP: $p (Debian package prometheus) is not installed"
        exit 77
    fi
done
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. Our WAL, read by promtool (only a wal/ directory: the head's samples).
"$tool" gen 80 300 4 1700000000000 15000 >"$tmp/src.txt"
for comp in snappy none; do
    mkdir -p "$tmp/$comp"
    "$tool" write-wal "$tmp/$comp/wal" "$tmp/src.txt" 131072 $comp || fail "write-wal $comp"
    nseg=$(ls "$tmp/$comp/wal" | wc -l)
    [ "$nseg" -gt 1 ] || fail "expected several segments, got $nseg"
    promtool tsdb dump "$tmp/$comp" >"$tmp/promtool-$comp.txt" 2>"$tmp/err" ||
        { cat "$tmp/err"; fail "promtool dump of our $comp WAL"; }
    "$tool" compare "$tmp/src.txt" "$tmp/promtool-$comp.txt" ||
        fail "promtool reads our $comp WAL differently"
done

# 1b. Exemplar records between the sample records do not disturb Prometheus' replay (an
#     unknown record type would make it cut the WAL there and lose what follows).
mkdir -p "$tmp/ex"
"$tool" write-wal "$tmp/ex/wal" "$tmp/src.txt" 131072 snappy exemplars || fail "write-wal exemplars"
promtool tsdb dump "$tmp/ex" >"$tmp/promtool-ex.txt" 2>"$tmp/err" ||
    { cat "$tmp/err"; fail "promtool dump of a WAL with exemplars"; }
"$tool" compare "$tmp/src.txt" "$tmp/promtool-ex.txt" || fail "exemplar records disturbed promtool's replay"

# 2. A checkpoint of the first segments (samples from mint on), the segments it covers
#    deleted, as the head truncates: promtool replays checkpoint + rest to exactly the
#    source's samples at or after mint. (A fresh directory: promtool's dump leaves
#    chunks_head/ behind, which its next replay would read too.)
mint=1700002000000
mkdir -p "$tmp/ckpt"
"$tool" write-wal "$tmp/ckpt/wal" "$tmp/src.txt" 65536 || fail "write-wal for checkpoint"
[ -e "$tmp/ckpt/wal/00000002" ] || fail "expected at least 3 segments"
"$tool" checkpoint "$tmp/ckpt/wal" 1 $mint all 2>/dev/null || fail "checkpoint"
[ -d "$tmp/ckpt/wal/checkpoint.00000001" ] || fail "no checkpoint.00000001"
[ ! -e "$tmp/ckpt/wal/00000001" ] || fail "checkpointed segments were not removed"
awk -v m=$mint '$NF >= m' "$tmp/src.txt" >"$tmp/after.txt"
promtool tsdb dump "$tmp/ckpt" >"$tmp/promtool-ckpt.txt" 2>"$tmp/err" ||
    { cat "$tmp/err"; fail "promtool dump after checkpoint"; }
"$tool" compare "$tmp/after.txt" "$tmp/promtool-ckpt.txt" ||
    fail "promtool reads our checkpoint differently"

# 3. A real Prometheus' WAL, read by us. It scrapes a closed port each 100ms, so every
#    scrape writes its synthetic series (up, scrape_duration_seconds, ...).
cat >"$tmp/prometheus.yml" <<CFG
global: { scrape_interval: 100ms, scrape_timeout: 50ms }
scrape_configs:
  - job_name: closed
    static_configs: [ { targets: [ "127.0.0.1:1", "127.0.0.1:2" ] } ]
CFG
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
    --web.listen-address=127.0.0.1:0 >"$tmp/prom.log" 2>&1 &
pid=$!
# Prometheus starts scraping a few seconds after start-up; wait (at most 30 s) until its
# WAL holds at least 100 samples.
i=0
while [ $i -lt 60 ]; do
    sleep 0.5
    i=$((i + 1))
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/prom.log"; fail "prometheus exited"; }
    [ -d "$tmp/prom/wal" ] || continue
    n=$("$tool" wal-dump "$tmp/prom/wal" 2>/dev/null | wc -l)
    [ "$n" -ge 100 ] && break
done
kill -TERM "$pid"
wait "$pid" || true
pid=
promtool tsdb dump "$tmp/prom" >"$tmp/theirs.txt" 2>"$tmp/err" || { cat "$tmp/err"; fail "promtool dump"; }
n=$(wc -l <"$tmp/theirs.txt")
[ "$n" -ge 100 ] || fail "prometheus wrote only $n samples"
"$tool" wal-dump "$tmp/prom/wal" >"$tmp/ours.txt" || fail "reading prometheus' WAL"
"$tool" compare "$tmp/theirs.txt" "$tmp/ours.txt" || fail "we read prometheus' WAL differently"
echo "PASS: tsdb_wal"
