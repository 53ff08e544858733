/* sdk/src/metrics_process.c — the process collector: CPU time, memory, file descriptors
 * and start time of this process, under the names, types and help texts the Prometheus
 * Go client uses, read from /proc on every collection. Keeps no state. */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ignis/metrics.h>
#include <ignis/plugin.h>
#include "metrics_int.h"

/* /proc/self/stat fields we need (1-based numbering of proc(5)). */
struct pstat {
    unsigned long long utime, stime; /* 14, 15: clock ticks */
    unsigned long long starttime;    /* 22: clock ticks after boot */
    unsigned long long vsize;        /* 23: bytes */
    long long rss;                   /* 24: pages */
};

static int read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n ? 0 : -1;
}

static int read_stat(struct pstat *st)
{
    char buf[4096];
    if (read_file("/proc/self/stat", buf, sizeof buf) < 0)
        return -1;
    /* the command name (field 2) is in parentheses and may contain anything */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    /* fields 3.. follow; count them */
    unsigned long long v[64];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(p, " \n", &save); tok && n < 64; tok = strtok_r(NULL, " \n", &save))
        v[n++] = strtoull(tok, NULL, 10);
    /* v[0] is field 3 */
    if (n < 22)
        return -1;
    st->utime = v[14 - 3];
    st->stime = v[15 - 3];
    st->starttime = v[22 - 3];
    st->vsize = v[23 - 3];
    st->rss = (long long)v[24 - 3];
    return 0;
}

static double boot_time(void)
{
    char buf[16384];
    if (read_file("/proc/stat", buf, sizeof buf) < 0)
        return -1;
    char *p = strstr(buf, "\nbtime ");
    if (!p)
        return -1;
    return strtod(p + 7, NULL);
}

/* Soft limit of a /proc/self/limits row; "unlimited" is the largest uint64, as the Go
 * client reports it. Negative when absent. */
static double limit(const char *limits, const char *row)
{
    const char *p = strstr(limits, row);
    if (!p)
        return -1;
    p += strlen(row);
    while (*p == ' ')
        p++;
    if (strncmp(p, "unlimited", 9) == 0)
        return 18446744073709551615.0;
    return strtod(p, NULL);
}

static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* not the descriptor opendir holds */
}

static int one(struct ignis_sink *s, const char *name, enum ignis_metric_type t,
               const char *help, const char *suffix, double v)
{
    if (ignis_sink_family(s, name, t, help, "") < 0)
        return -1;
    return ignis_sink_sample(s, suffix, NULL, 0, v, IGNIS_NO_TIMESTAMP);
}

static int collect(void *arg, struct ignis_sink *s)
{
    (void)arg;
    struct pstat st;
    if (read_stat(&st) < 0)
        return -1;
    long tck = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    if (tck <= 0)
        tck = 100;
    if (page <= 0)
        page = 4096;
    int rc = 0;
    /* in name order, as the Prometheus clients gather them */
    char limits[8192];
    double maxfds = -1, vmax = -1;
    if (read_file("/proc/self/limits", limits, sizeof limits) == 0) {
        maxfds = limit(limits, "Max open files");
        vmax = limit(limits, "Max address space");
    }
    rc |= one(s, "process_cpu_seconds", IGNIS_METRIC_COUNTER,
              "Total user and system CPU time spent in seconds.", "_total",
              (double)(st.utime + st.stime) / (double)tck);
    if (maxfds >= 0)
        rc |= one(s, "process_max_fds", IGNIS_METRIC_GAUGE,
                  "Maximum number of open file descriptors.", "", maxfds);
    double fds = open_fds();
    if (fds >= 0)
        rc |= one(s, "process_open_fds", IGNIS_METRIC_GAUGE, "Number of open file descriptors.",
                  "", fds);
    rc |= one(s, "process_resident_memory_bytes", IGNIS_METRIC_GAUGE,
              "Resident memory size in bytes.", "", (double)st.rss * (double)page);
    double bt = boot_time();
    if (bt >= 0)
        rc |= one(s, "process_start_time_seconds", IGNIS_METRIC_GAUGE,
                  "Start time of the process since unix epoch in seconds.", "",
                  bt + (double)st.starttime / (double)tck);
    rc |= one(s, "process_virtual_memory_bytes", IGNIS_METRIC_GAUGE,
              "Virtual memory size in bytes.", "", (double)st.vsize);
    if (vmax >= 0)
        rc |= one(s, "process_virtual_memory_max_bytes", IGNIS_METRIC_GAUGE,
                  "Maximum amount of virtual memory available in bytes.", "", vmax);
    return rc ? -1 : 0;
}

int ignis_process_collector_register(struct ignis_registry *reg)
{
    if (!reg || ig_registry_has_collector(reg, collect, reg))
        return -1;
    return ignis_registry_add_collector(reg, collect, reg) == 0 ? 0 : -1;
}
