/* tests/bench/bench_mem.c — throughput of the `mem` storage plugin through its ops table:
 * series creation, append by ref + commit (scrape-shaped: one sample per series per
 * commit), and select + read of every sample. Prints each figure beside its goal. Run
 * with `make bench` from the build directory (or set top_builddir). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ignis/plugin.h>
#include "../unit/testhost.h"

#define SERIES     100000
#define SCRAPES    50
#define PER_COMMIT 2000 /* series per commit: one scrape target's worth */

static const struct ignis_storage_ops *ops;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_mem: %s\n", what);
    exit(1);
}

int main(void)
{
    const char *top = getenv("top_builddir");
    char path[4096];
    snprintf(path, sizeof path, "%s/plugins/storage/mem/.libs/mem.so", top ? top : ".");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        die(dlerror());
    const struct ignis_plugin *plug = dlsym(h, IGNIS_PLUGIN_SYMBOL);
    if (!plug)
        die("no ignis_plugin");
    ops = plug->ops;
    struct testhost *th = testhost_new("bench");
    struct ignis_config *cfg = ignis_config_new(plug->options, "bench");
    void *inst;
    char err[256];
    if (ops->create(testhost_host(th), cfg, &inst, err, sizeof err))
        die(err);
    ignis_config_free(cfg);

    uint64_t *refs = malloc(SERIES * sizeof *refs);
    struct ignis_ref_sample *rs = malloc(PER_COMMIT * sizeof *rs);
    if (!refs || !rs)
        die("out of memory");

    /* 1. First scrape: every series by labels. */
    double t0 = now_s();
    for (int base = 0; base < SERIES; base += PER_COMMIT) {
        struct ignis_appender *a = ops->appender(inst);
        for (int i = base; i < base + PER_COMMIT; i++) {
            char inst_s[16], id[16], job[16];
            snprintf(job, sizeof job, "job%d", i / PER_COMMIT);
            snprintf(inst_s, sizeof inst_s, "host%d:9100", i % 50);
            snprintf(id, sizeof id, "%d", i);
            struct ignis_label ls[] = {
                ignis_label_make("__name__", "node_metric_total"),
                ignis_label_make("id", id),
                ignis_label_make("instance", inst_s),
                ignis_label_make("job", job),
            };
            if (ops->append(a, ls, 4, 0, i, &refs[i]))
                die("append");
        }
        if (ops->commit(a))
            die("commit");
    }
    double create_s = now_s() - t0;
    printf("series creation: %.0f series/s (%d series)\n", SERIES / create_s, SERIES);

    /* 2. Steady scrapes: append by ref, commit per target. */
    t0 = now_s();
    for (int k = 1; k <= SCRAPES; k++) {
        for (int base = 0; base < SERIES; base += PER_COMMIT) {
            struct ignis_appender *a = ops->appender(inst);
            for (int i = 0; i < PER_COMMIT; i++)
                rs[i] = (struct ignis_ref_sample){refs[base + i], (int64_t)k * 15000, k};
            if (ops->append_refs(a, rs, PER_COMMIT, NULL) != PER_COMMIT || ops->commit(a))
                die("append_refs");
        }
    }
    double app_s = now_s() - t0;
    double n = (double)SERIES * SCRAPES;
    printf("append by ref + commit: %.2f M samples/s (goal for the tsdb head with WAL: >= 5 M "
           "samples/s, one core)\n",
           n / app_s / 1e6);

    /* 3. Read everything of one job (2000 series) and of all series. */
    int64_t bt[256];
    double bv[256];
    const char *sels[] = {"job3", NULL};
    for (int j = 0; j < 2; j++) {
        t0 = now_s();
        struct ignis_querier *q = ops->querier(inst, INT64_MIN, INT64_MAX);
        struct ignis_matcher m = {IGNIS_MATCH_EQ, "job", 3, sels[j], sels[j] ? 4 : 0, NULL};
        struct ignis_matcher all = {IGNIS_MATCH_EQ, "__name__", 8, "node_metric_total", 17, NULL};
        struct ignis_series_set *set;
        if (ops->select(q, sels[j] ? &m : &all, 1, NULL, &set))
            die("select");
        struct ignis_series s;
        size_t nseries = 0, nsamples = 0;
        while (ops->set_next(set, &s) == 1) {
            nseries++;
            long got;
            struct ignis_sample_batch b = {bt, bv, 256};
            while ((got = ops->set_samples(set, INT64_MIN, INT64_MAX, &b)) > 0)
                nsamples += (size_t)got;
        }
        ops->set_close(set);
        ops->querier_close(q);
        double qs = now_s() - t0;
        printf("select + read %zu series: %.1f ms, %.1f M samples/s (no goal yet: PromQL "
               "latency is measured end to end)\n",
               nseries, qs * 1e3, nsamples / qs / 1e6);
    }

    struct ignis_storage_stats st;
    ops->stats(inst, &st);
    printf("stats: %llu series, %llu samples, %llu chunks\n", (unsigned long long)st.num_series,
           (unsigned long long)st.num_samples, (unsigned long long)st.num_chunks);
    ops->destroy(inst);
    testhost_free(th);
    free(refs);
    free(rs);
    return 0;
}
