# tests/qbench.mk — the query latency benchmark (make bench only): ignisd (tsdb + promql)
# beside a real Prometheus on the same generated blocks, DESIGN.md §10's query figure.
IG_BENCH_SH += tests/bench/query_bench.sh
EXTRA_DIST += tests/bench/query_bench.sh tests/bench/qbench_gen.sh
