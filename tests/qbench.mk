# tests/qbench.mk — the query latency benchmark (make bench only): ignisd (tsdb + promql)
# beside both peers on the same generated samples, DESIGN.md §10's query figure: a real
# Prometheus on the same blocks and a real VictoriaMetrics loaded with the same samples.
IG_BENCH_SH += tests/bench/query_bench.sh
EXTRA_DIST += tests/bench/query_bench.sh tests/bench/qbench_gen.sh
