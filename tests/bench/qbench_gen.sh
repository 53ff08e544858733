#!/bin/sh
# tests/bench/qbench_gen.sh — writes the OpenMetrics data of the query benchmark
# (tests/bench/query_bench.sh) to stdout: two hours from T0 (argument 1, seconds; default
# 1700000000) at a 15 s interval, 7 ms off every whole second. 10,000 counter series
# bench_requests_total{job (10 values), instance (1,000 values)} and a classic histogram
# bench_latency_seconds{job (10), instance (100)} with 10 buckets each (10,000 bucket
# series, plus _count and _sum). Deterministic: no random source.
# Argument 2 `text`: the same samples in the Prometheus text format instead, timestamps in
# integer milliseconds (what VictoriaMetrics' /api/v1/import/prometheus takes).
T0=${1:-1700000000}
FMT=${2:-openmetrics}
case "$FMT" in
openmetrics | text) ;;
*) echo "qbench_gen.sh: format must be openmetrics or text, not $FMT" >&2; exit 2 ;;
esac
exec awk -v T0="$T0" -v FMT="$FMT" '
BEGIN {
    N = 481                                  # 2 h at 15 s, both ends included
    for (k = 0; k < N; k++)
        if (FMT == "text") ts[k] = sprintf("%.0f", (T0 + 15 * k) * 1000 + 7)
        else ts[k] = sprintf("%d.007", T0 + 15 * k)

    print "# TYPE bench_requests counter"
    print "# HELP bench_requests Requests served."
    s = 0
    for (j = 0; j < 10; j++) for (i = 0; i < 1000; i++) {
        s++
        lab = sprintf("bench_requests_total{job=\"job%d\",instance=\"host%d:9100\"} ", j, i)
        c = s
        for (k = 0; k < N; k++) {
            c += (s % 7) + 1 + (k * 5 + s) % 4
            print lab c " " ts[k]
        }
    }

    nle = split("0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 +Inf", le, " ")
    print "# TYPE bench_latency_seconds histogram"
    print "# HELP bench_latency_seconds Request latency."
    s = 0
    for (j = 0; j < 10; j++) for (i = 0; i < 100; i++) {
        s++
        base = sprintf("job=\"job%d\",instance=\"host%d:9100\"", j, i)
        for (b = 1; b <= nle; b++) {
            blab[b] = "bench_latency_seconds_bucket{" base ",le=\"" le[b] "\"} "
            cnt[b] = 0
        }
        sum = 0
        for (k = 0; k < N; k++) {
            # 20 observations per step, spread over buckets around a drifting center.
            center = 4 + (k + s) % 5
            for (o = 0; o < 20; o++) {
                bb = center + (o % 5) - 2
                if (bb > nle) bb = nle
                cnt[bb]++
                sum += (bb < nle ? le[bb] : 5) * 0.7
            }
            acc = 0
            for (b = 1; b <= nle; b++) { acc += cnt[b]; out[b] = acc }
            for (b = 1; b <= nle; b++) print blab[b] out[b] " " ts[k]
            printf "bench_latency_seconds_count{%s} %d %s\n", base, acc, ts[k]
            printf "bench_latency_seconds_sum{%s} %.6f %s\n", base, sum, ts[k]
        }
    }
    if (FMT == "openmetrics") print "# EOF"
}'
