/* tests/bench/bench_tsdb.c — the tsdb storage plugin's figures (DESIGN.md §10), each printed
 * beside its goal and, where a peer can be driven the same way, beside Prometheus 2.42 on
 * the same data:
 *   1. append into the head by ref + commit, WAL on, one core (absolute goal: 5 M/s);
 *   2. resident memory per active head series;
 *   3. bytes per sample on disk: our blocks vs promtool's create-blocks-from on the same
 *      samples (written out as OpenMetrics);
 *   4. WAL replay of 1 M series: our time and peak RSS (in a child process) vs `prometheus`
 *      starting on a copy of the same directory (time until it logs it is ready, its
 *      VmHWM), alternating, 3 runs each.
 * Sizes: BENCH_SERIES (default 100000) series, BENCH_SCRAPES (default 240) samples each for
 * 1-3; BENCH_REPLAY_SERIES (default 1000000) series, BENCH_REPLAY_SCRAPES (default 30)
 * samples each, 15 s apart, for 4 (0 series: skipped).
 * Run with `make bench` (top_builddir set) or from the build directory. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <ignis/plugin.h>
#include "../unit/testhost.h"

#define PER_COMMIT 2000 /* series per commit: one scrape target's worth */
#define STEP_MS 60000 /* 240 scrapes span 4 h, so the head persists a 2 h block */

static const struct ignis_plugin *plug;
static const struct ignis_storage_ops *ops;
static size_t nseries = 100000, nscrapes = 240;
static size_t replay_series = 1000000, replay_scrapes = 30;
#define REPLAY_STEP_MS 15000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double median3(const double *v)
{
    double a = v[0], b = v[1], c = v[2];
    return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}
static double min3(const double *v)
{
    double m = v[0] < v[1] ? v[0] : v[1];
    return m < v[2] ? m : v[2];
}
static double max3(const double *v)
{
    double m = v[0] > v[1] ? v[0] : v[1];
    return m > v[2] ? m : v[2];
}

static void die(const char *what)
{
    fprintf(stderr, "bench_tsdb: %s\n", what);
    exit(1);
}

/* A field of /proc/<pid>/status in kB ("VmRSS", "VmHWM"). */
static long status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static void *open_db(struct testhost **th, const char *dir, const char *interval)
{
    *th = testhost_new("bench");
    struct ignis_config *cfg = ignis_config_new(plug->options, "bench");
    char err[256];
    if (ignis_config_set(cfg, "path", dir, "bench", err, sizeof err) ||
        ignis_config_set(cfg, "compaction_interval", interval, "bench", err, sizeof err) ||
        ignis_config_set(cfg, "retention_time", "0s", "bench", err, sizeof err))
        die(err);
    void *inst;
    if (ops->create(testhost_host(*th), cfg, &inst, err, sizeof err))
        die(err);
    ignis_config_free(cfg);
    return inst;
}

/* The value of series i at scrape k: counters and gauges as a fleet has them. */
static double value(size_t i, size_t k)
{
    if (i % 4 == 0)
        return (double)((i % 1000) * 7 + k * 13);   /* counter */
    if (i % 4 == 1)
        return (double)(i % 50);                    /* constant */
    return (double)((i * 2654435761u + k * 40503u) % 10000) / 100.0; /* gauge */
}

static int64_t ts_of(size_t k)
{
    return 1700000000000 + (int64_t)k * STEP_MS;
}

static double cpu_s(const struct rusage *a, const struct rusage *b)
{
    return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec) +
           (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec) / 1e6 +
           (double)(b->ru_stime.tv_sec - a->ru_stime.tv_sec) +
           (double)(b->ru_stime.tv_usec - a->ru_stime.tv_usec) / 1e6;
}

static void labels_of(size_t i, char *name, char *inst, struct ignis_label ls[4])
{
    snprintf(name, 32, "metric_%zu", i % 200);
    snprintf(inst, 48, "host-%zu:9100", i / 200);
    ls[0] = ignis_label_make("__name__", name);
    ls[1] = ignis_label_make("instance", inst);
    ls[2] = ignis_label_make("job", "node");
    ls[3] = ignis_label_make("series", i % 2 ? "odd" : "even");
}

/* Writes n series x k scrapes (15 s apart) into a fresh directory through the plugin:
 * what a server scraping them for k * 15 s leaves behind (all in the WAL). */
static long fill_replay_dir(const char *dbdir, size_t n, size_t k)
{
    struct testhost *th;
    void *inst = open_db(&th, dbdir, "100d");
    uint64_t *refs = malloc(n * sizeof *refs);
    struct ignis_ref_sample *rs = malloc(PER_COMMIT * sizeof *rs);
    if (!refs || !rs)
        die("out of memory");
    double t0 = now_s();
    for (size_t base = 0; base < n; base += PER_COMMIT) {
        struct ignis_appender *a = ops->appender(inst);
        for (size_t i = base; i < base + PER_COMMIT && i < n; i++) {
            char name[32], in[48];
            struct ignis_label ls[4];
            labels_of(i, name, in, ls);
            if (ops->append(a, ls, 4, 1700000000000, value(i, 0), &refs[i]))
                die("append by labels");
        }
        if (ops->commit(a))
            die("commit");
    }
    for (size_t j = 1; j < k; j++)
        for (size_t base = 0; base < n; base += PER_COMMIT) {
            struct ignis_appender *a = ops->appender(inst);
            size_t m = 0;
            for (size_t i = base; i < base + PER_COMMIT && i < n; i++)
                rs[m++] = (struct ignis_ref_sample){
                    refs[i], 1700000000000 + (int64_t)j * REPLAY_STEP_MS, value(i, j)};
            if (ops->append_refs(a, rs, m, NULL) != m)
                die("append by ref");
            if (ops->commit(a))
                die("commit");
        }
    long rss = status_kb(getpid(), "VmRSS");
    fprintf(stderr, "bench_tsdb: wrote %zu series x %zu samples for replay in %.1f s (RSS %ld MB)\n",
            n, k, now_s() - t0, rss / 1024);
    ops->destroy(inst);
    testhost_free(th);
    free(refs);
    free(rs);
    return rss;
}

/* WAL replay of dbdir, ours and Prometheus' alternating, 3 runs each (medians and spread,
 * as DESIGN.md asks). Ours in a child, so its peak RSS is its own; Prometheus on a fresh
 * copy each time (it writes into the directory). steady_kb: the writer's RSS with the same
 * head (the steady state the peak is held against). */
static void replay_compare(const char *dir, const char *dbdir, size_t nser, double nsamples,
                           long steady_kb)
{
    double t0;
    double ours_t[3], prom_t[3];
    long ours_hwm[3], ours_rss[3], prom_hwm[3];
    int nprom = 0;
    char cmd[12000];
    for (int run = 0; run < 3; run++) {
        int pfd[2];
        if (pipe(pfd) < 0)
            die("pipe");
        snprintf(cmd, sizeof cmd, "rm -rf '%s/ours' && cp -r '%s' '%s/ours'", dir, dbdir, dir);
        if (system(cmd) != 0)
            die("copy for replay");
        char oursdir[4300];
        snprintf(oursdir, sizeof oursdir, "%s/ours", dir);
        t0 = now_s();
        pid_t pid = fork();
        if (pid == 0) {
            struct testhost *th2;
            void *i2 = open_db(&th2, oursdir, "100d");
            long hwm = status_kb(getpid(), "VmHWM");
            long rss = status_kb(getpid(), "VmRSS");
            char msg[128];
            int n = snprintf(msg, sizeof msg, "%ld %ld\n", hwm, rss);
            if (write(pfd[1], msg, (size_t)n) < 0)
                _exit(1);
            ops->destroy(i2);
            testhost_free(th2);
            _exit(0);
        }
        char buf[128] = "";
        close(pfd[1]);
        ssize_t got = read(pfd[0], buf, sizeof buf - 1);
        ours_t[run] = now_s() - t0;
        waitpid(pid, NULL, 0);
        close(pfd[0]);
        char *endp = buf;
        ours_hwm[run] = got > 0 ? strtol(buf, &endp, 10) : -1;
        ours_rss[run] = got > 0 ? strtol(endp, NULL, 10) : -1;

        snprintf(cmd, sizeof cmd, "rm -rf '%s/prom' && cp -r '%s' '%s/prom' && rm -f '%s/prom/lock'",
                 dir, dbdir, dir, dir);
        if (system(cmd) != 0 || access("/usr/bin/prometheus", X_OK) != 0)
            continue;
        char cfgp[4200], logp[4200];
        snprintf(cfgp, sizeof cfgp, "%s/prometheus.yml", dir);
        snprintf(logp, sizeof logp, "%s/prom.log", dir);
        FILE *f = fopen(cfgp, "w");
        fputs("global: { scrape_interval: 1h }\n", f);
        fclose(f);
        /* The last run's log must not be read as this one's (the child truncates it only
         * once it runs). */
        unlink(logp);
        t0 = now_s();
        pid_t pp = fork();
        if (pp == 0) {
            int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 2);
            dup2(fd, 1);
            char a1[4300], a2[4300];
            snprintf(a1, sizeof a1, "--config.file=%s", cfgp);
            snprintf(a2, sizeof a2, "--storage.tsdb.path=%s/prom", dir);
            execl("/usr/bin/prometheus", "prometheus", a1, a2, "--web.listen-address=127.0.0.1:0",
                  (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 60000; i++) { /* at most 10 minutes, polled every 10 ms */
            usleep(10000);
            char line[512];
            FILE *lf = fopen(logp, "r");
            bool ready = false;
            while (lf && fgets(line, sizeof line, lf))
                if (strstr(line, "Server is ready to receive web requests"))
                    ready = true;
            if (lf)
                fclose(lf);
            if (ready) {
                prom_t[nprom] = now_s() - t0;
                prom_hwm[nprom] = status_kb(pp, "VmHWM");
                nprom++;
                break;
            }
            if (waitpid(pp, NULL, WNOHANG) == pp)
                break;
        }
        kill(pp, SIGTERM);
        waitpid(pp, NULL, 0);
    }
    double omed = median3(ours_t), pm = nprom == 3 ? median3(prom_t) : -1;
    printf("WAL replay (%zu series, %.0f samples), 3 runs: ours median %.2f s (%.2f..%.2f), "
           "peak RSS %.0f MB, RSS after replay %.0f MB; the writer's steady state %.0f MB "
           "(peak / steady %.2f; goal <= 1.5)\n",
           nser, nsamples, omed, min3(ours_t), max3(ours_t), ours_hwm[1] / 1024.0,
           ours_rss[1] / 1024.0, steady_kb / 1024.0,
           steady_kb > 0 ? (double)ours_hwm[1] / steady_kb : 0.0);
    if (pm > 0)
        printf("  Prometheus 2.42 on the same directory: median %.2f s (%.2f..%.2f), peak RSS "
               "%.0f MB -> time ratio %.2f (goal <= 0.5)\n",
               pm, min3(prom_t), max3(prom_t), prom_hwm[1] / 1024.0, omed / pm);
    else
        printf("  Prometheus 2.42 did not become ready on the same directory 3 times\n");
}

/* Figures 1-3 on nseries x nscrapes written into dbdir. */
static void head_figures(const char *dir, const char *dbdir)
{
    struct testhost *th;
    long rss0 = status_kb(getpid(), "VmRSS");
    size_t heap0 = mallinfo2().uordblks;
    void *inst = open_db(&th, dbdir, "100d");
    uint64_t *refs = malloc(nseries * sizeof *refs);
    struct ignis_ref_sample *rs = malloc(PER_COMMIT * sizeof *rs);
    if (!refs || !rs)
        die("out of memory");

    /* First scrape: every series by labels. */
    double t0 = now_s();
    for (size_t base = 0; base < nseries; base += PER_COMMIT) {
        struct ignis_appender *a = ops->appender(inst);
        for (size_t i = base; i < base + PER_COMMIT && i < nseries; i++) {
            char name[32], in[48];
            struct ignis_label ls[4];
            labels_of(i, name, in, ls);
            if (ops->append(a, ls, 4, ts_of(0), value(i, 0), &refs[i]))
                die("append by labels");
        }
        if (ops->commit(a))
            die("commit");
    }
    double t_create = now_s() - t0;

    /* Steady scrapes by ref. */
    t0 = now_s();
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    for (size_t k = 1; k < nscrapes; k++)
        for (size_t base = 0; base < nseries; base += PER_COMMIT) {
            struct ignis_appender *a = ops->appender(inst);
            size_t n = 0;
            for (size_t i = base; i < base + PER_COMMIT && i < nseries; i++)
                rs[n++] = (struct ignis_ref_sample){refs[i], ts_of(k), value(i, k)};
            if (ops->append_refs(a, rs, n, NULL) != n)
                die("append by ref");
            if (ops->commit(a))
                die("commit");
        }
    double t_append = now_s() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = cpu_s(&ru0, &ru1);
    double appended = (double)nseries * (double)(nscrapes - 1);
    long rss1 = status_kb(getpid(), "VmRSS");
    size_t heap1 = mallinfo2().uordblks;
    printf("series creation by labels: %.0f series/s (%zu series)\n", nseries / t_create,
           nseries);
    printf("append by ref + commit, WAL on: %.2f M samples/s wall, %.2f M samples per "
           "CPU-second  (goal >= 5 M/s; peer: none can be driven this way)\n",
           appended / t_append / 1e6, appended / cpu / 1e6);
    printf("resident memory per active head series: %.2f KB  (goal <= 0.5 KB; Prometheus "
           "2.42: 3.2 KB by DESIGN.md's table)\n",
           (double)(rss1 - rss0) / (double)nseries);
    printf("  of which heap in use: %.2f KB per series (the rest: allocator caches, mappings)\n",
           (double)(heap1 - heap0) / 1024.0 / (double)nseries);
    ops->destroy(inst);
    testhost_free(th);

    char cmd[12000];
    /* Bytes per sample: compact everything into blocks, then the same samples through
     * promtool's create-blocks-from. */
    inst = open_db(&th, dbdir, "1ms");
    testhost_fire_timers(th); /* persists the head's old ranges */
    ops->destroy(inst);
    testhost_free(th);
    uint64_t ours = 0, nblk = 0;
    {
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && for b in $(ls | grep -E '^[0-9A-Z]{26}$'); do du -sb $b; done | "
                 "awk '{s+=$1; n++} END {print s+0, n+0}'",
                 dbdir);
        FILE *p = popen(cmd, "r");
        unsigned long long s = 0, n = 0;
        if (p && fscanf(p, "%llu %llu", &s, &n) == 2) {
            ours = s;
            nblk = n;
        }
        if (p)
            pclose(p);
    }
    /* The persisted part holds every scrape older than the head's last 1.5 ranges. */
    snprintf(cmd, sizeof cmd, "%s/src.om", dir);
    FILE *om = fopen(cmd, "w");
    if (!om)
        die("open src.om");
    /* Families must not interleave in OpenMetrics: all series of a name together. */
    for (size_t m = 0; m < 200; m++)
    for (size_t i = m; i < nseries; i += 200) {
        char name[32], in[48];
        struct ignis_label ls[4];
        labels_of(i, name, in, ls);
        for (size_t k = 0; k < nscrapes; k++)
            fprintf(om, "%s{instance=\"%s\",job=\"node\",series=\"%s\"} %.17g %" PRId64 "\n",
                    name, in, i % 2 ? "odd" : "even", value(i, k), ts_of(k) / 1000);
    }
    fputs("# EOF\n", om);
    fclose(om);
    printf("bytes per sample on disk: ours %" PRIu64 " bytes in %" PRIu64 " blocks", ours, nblk);
    fflush(stdout);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && promtool tsdb create-blocks-from openmetrics src.om promblocks "
             ">/dev/null 2>&1 && du -sb promblocks | cut -f1",
             dir);
    FILE *p = popen(cmd, "r");
    unsigned long long pb = 0;
    if (p && fscanf(p, "%llu", &pb) != 1)
        pb = 0;
    if (p)
        pclose(p);
    printf("\n");
    /* Our blocks hold the samples older than what the head kept; count them from meta. */
    snprintf(cmd, sizeof cmd,
             "cat '%s'/*/meta.json 2>/dev/null | grep -o '\"numSamples\": *[0-9]*' | "
             "awk -F: '{s+=$2} END {print s+0}'",
             dbdir);
    p = popen(cmd, "r");
    unsigned long long our_samples = 0;
    if (p && fscanf(p, "%llu", &our_samples) != 1)
        our_samples = 0;
    if (p)
        pclose(p);
    double total = (double)nseries * (double)nscrapes;
    if (our_samples)
        printf("  ours: %.3f bytes/sample over %llu samples in blocks", ours / (double)our_samples,
               our_samples);
    if (pb)
        printf("; Prometheus 2.42 (promtool create-blocks-from, same samples): %.3f "
               "bytes/sample over %.0f samples -> ratio %.2f  (goal <= Prometheus now)",
               pb / total, total,
               our_samples ? (ours / (double)our_samples) / (pb / total) : 0.0);
    printf("\n");
    free(refs);
    free(rs);
}

int main(void)
{
    const char *top = getenv("top_builddir");
    if (getenv("BENCH_SERIES"))
        nseries = strtoul(getenv("BENCH_SERIES"), NULL, 10);
    if (getenv("BENCH_SCRAPES"))
        nscrapes = strtoul(getenv("BENCH_SCRAPES"), NULL, 10);
    if (getenv("BENCH_REPLAY_SERIES"))
        replay_series = strtoul(getenv("BENCH_REPLAY_SERIES"), NULL, 10);
    if (getenv("BENCH_REPLAY_SCRAPES"))
        replay_scrapes = strtoul(getenv("BENCH_REPLAY_SCRAPES"), NULL, 10);
    if (nscrapes < 2 || replay_scrapes < 1)
        die("BENCH_SCRAPES must be >= 2 and BENCH_REPLAY_SCRAPES >= 1");
    char path[4096];
    snprintf(path, sizeof path, "%s/plugins/storage/tsdb/.libs/tsdb.so", top ? top : ".");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        die(dlerror());
    plug = dlsym(h, IGNIS_PLUGIN_SYMBOL);
    if (!plug)
        die("no ignis_plugin");
    ops = plug->ops;
    char dir[] = "/tmp/bench_tsdb.XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    char dbdir[4200];
    snprintf(dbdir, sizeof dbdir, "%s/db", dir);

    if (nseries)
        head_figures(dir, dbdir);

    if (replay_series) {
        char rdir[4300];
        snprintf(rdir, sizeof rdir, "%s/replay", dir);
        long steady = fill_replay_dir(rdir, replay_series, replay_scrapes);
        replay_compare(dir, rdir, replay_series, (double)replay_series * (double)replay_scrapes,
                       steady);
    }
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_tsdb: could not remove %s\n", dir);
    return 0;
}
