#!/bin/sh
# tests/tools/pqdiff_gen.sh — writes the OpenMetrics data of the side-by-side PromQL test
# (tests/integration/promql_vs_prometheus.sh) to stdout: a few hundred series over two
# hours from T0 (argument 1, seconds; default 1700000000), one sample every 15 s but 7 ms
# (plus 0, 1 or 2 s per series group) off every whole second, so that no sample falls on a
# step or a range edge. Counters with resets, gauges, classic histograms and a summary;
# some series exist only in one half of the window. Deterministic: no random source.
T0=${1:-1700000000}
exec awk -v T0="$T0" '
function ts(k, g) { return sprintf("%d.%03d", T0 + 15 * k + g % 3, 7) }
function v(x) { return sprintf("%.12g", x) }
BEGIN {
    N = 481                                  # 2 h at 15 s, both ends included
    njob = split("api web db", job, " ")
    nmeth = split("get post", meth, " ")

    # Counters: pq_requests_total{job,instance,method}; every 4th series resets twice.
    print "# TYPE pq_requests counter"
    print "# HELP pq_requests Requests served."
    s = 0
    for (j = 1; j <= njob; j++) for (i = 0; i < 10; i++) for (m = 1; m <= nmeth; m++) {
        s++
        c = s * 3
        for (k = 0; k < N; k++) {
            if (s % 4 == 0 && (k == 160 || k == 350)) c = (k % 7) + 1
            else c += (s % 5) + 1 + ((k * 7 + s * 13) % 11) / 2
            printf "pq_requests_total{job=\"%s\",instance=\"i%d\",method=\"%s\"} %s %s\n",
                job[j], i, meth[m], v(c), ts(k, s)
        }
    }

    # Gauges: temperature (negative too), memory in bytes, a ratio in [-1, 1].
    print "# TYPE pq_temperature gauge"
    s = 0
    for (j = 1; j <= njob; j++) for (i = 0; i < 10; i++) {
        s++
        for (k = 0; k < N; k++)
            printf "pq_temperature{job=\"%s\",instance=\"i%d\"} %s %s\n", job[j], i,
                v(20 * sin((k + 3 * s) / 40) + s / 3 - 5 + ((k * s) % 9) / 10), ts(k, s)
    }
    print "# TYPE pq_mem_bytes gauge"
    s = 0
    for (j = 1; j <= njob; j++) for (i = 0; i < 10; i++) {
        s++
        for (k = 0; k < N; k++)
            printf "pq_mem_bytes{job=\"%s\",instance=\"i%d\"} %s %s\n", job[j], i,
                v(1e9 + s * 1.5e7 + k * 1e5 * (s % 3 - 1) + ((k * 31 + s) % 17) * 1e4), ts(k, s)
    }
    print "# TYPE pq_ratio gauge"
    for (s = 0; s < 10; s++)
        for (k = 0; k < N; k++)
            printf "pq_ratio{job=\"api\",instance=\"i%d\"} %s %s\n", s,
                v(sin((k + 11 * s) / 25) * 0.95), ts(k, s)
    # Small integer states (count_values, ==, bool), two labels to group by.
    print "# TYPE pq_state gauge"
    for (s = 0; s < 12; s++)
        for (k = 0; k < N; k++)
            printf "pq_state{job=\"%s\",instance=\"i%d\",zone=\"z%d\"} %d %s\n",
                job[s % 3 + 1], s, s % 2, ((k / 40) + s) % 4, ts(k, s)
    # Series alive in one half only (absent_over_time, lookback, present_over_time).
    print "# TYPE pq_partial gauge"
    for (s = 0; s < 4; s++)
        for (k = 0; k < N; k++) {
            if ((s % 2 == 0 && k > 240) || (s % 2 == 1 && k < 240)) continue
            printf "pq_partial{job=\"api\",instance=\"i%d\",half=\"%s\"} %s %s\n", s,
                s % 2 ? "second" : "first", v(s * 10 + k / 7), ts(k, s)
        }
    # Info-like series with labels for label_replace / label_join / group_left.
    print "# TYPE pq_build_info gauge"
    for (j = 1; j <= njob; j++) for (i = 0; i < 10; i++)
        for (k = 0; k < N; k++)
            printf "pq_build_info{job=\"%s\",instance=\"i%d\",version=\"v1.%d.%d\"," \
                "path=\"/srv/%s/bin\"} 1 %s\n",
                job[j], i, i % 3, j, job[j], ts(k, i)

    # Classic histograms: pq_latency_seconds{job,instance}; i4 of each job resets once.
    nle = split("0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf", le, " ")
    print "# TYPE pq_latency_seconds histogram"
    s = 0
    for (j = 1; j <= njob; j++) for (i = 0; i < 5; i++) {
        s++
        for (b = 1; b <= nle; b++) cnt[b] = 0
        sum = 0
        for (k = 0; k < N; k++) {
            if (i == 4 && k == 300) { for (b = 1; b <= nle; b++) cnt[b] = 0; sum = 0 }
            # This step observes n values spread over the buckets by a shifting center.
            n = 5 + (k * s) % 13
            center = 3 + int(4 * sin((k + s * 17) / 30)) + s % 3
            for (o = 0; o < n; o++) {
                bb = center + (o % 5) - 2
                if (bb < 1) bb = 1
                if (bb > nle) bb = nle
                for (b = bb; b <= nle; b++) cnt[b]++
                sum += (bb < nle ? le[bb] : 20) * 0.8
            }
            for (b = 1; b <= nle; b++)
                printf "pq_latency_seconds_bucket{job=\"%s\",instance=\"i%d\",le=\"%s\"} %d %s\n",
                    job[j], i, le[b], cnt[b], ts(k, s)
            printf "pq_latency_seconds_count{job=\"%s\",instance=\"i%d\"} %d %s\n",
                job[j], i, cnt[nle], ts(k, s)
            printf "pq_latency_seconds_sum{job=\"%s\",instance=\"i%d\"} %s %s\n",
                job[j], i, v(sum), ts(k, s)
        }
    }

    # Summary: pq_rpc_seconds{job,instance} with three quantiles, _sum and _count.
    nq = split("0.5 0.9 0.99", q, " ")
    print "# TYPE pq_rpc_seconds summary"
    s = 0
    for (j = 1; j <= njob; j++) for (i = 0; i < 5; i++) {
        s++
        cc = 0; sum = 0
        for (k = 0; k < N; k++) {
            cc += 3 + k % 4
            sum += (3 + k % 4) * (0.05 + s / 100)
            for (x = 1; x <= nq; x++)
                printf "pq_rpc_seconds{job=\"%s\",instance=\"i%d\",quantile=\"%s\"} %s %s\n",
                    job[j], i, q[x],
                    v((0.05 + s / 100) * (1 + x * x * 0.3) + (k % 10) / 1000), ts(k, s)
            printf "pq_rpc_seconds_count{job=\"%s\",instance=\"i%d\"} %d %s\n",
                job[j], i, cc, ts(k, s)
            printf "pq_rpc_seconds_sum{job=\"%s\",instance=\"i%d\"} %s %s\n",
                job[j], i, v(sum), ts(k, s)
        }
    }
    print "# EOF"
}'
