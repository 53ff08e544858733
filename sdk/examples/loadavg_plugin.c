/* sdk/examples/loadavg_plugin.c — an exporter plugin: the 1/5/15-minute load averages
 * and the number of runnable and total tasks, read from /proc/loadavg at every collect.
 * Keeps no state between calls beyond its configured path.
 *
 * Build it against an installed SDK and load it into ignisd:
 *   cc -shared -fPIC -o loadavg.so loadavg_plugin.c $(pkg-config --cflags --libs ignis)
 *   ignis.conf: plugins = { path = [ "/dir/of/loadavg.so" ]; load = [ "loadavg" ]; };
 *               exporters = { loadavg = { path = "/proc/loadavg"; }; };       */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <ignis/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loadavg {
    const struct ignis_host *host;
    char *path;
};

static int set_path(struct loadavg *la, const struct ignis_config *cfg, char *err,
                    size_t errlen)
{
    char *p = strdup(ignis_config_string(cfg, "path"));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(la->path);
    la->path = p;
    return 0;
}

static int create(const struct ignis_host *host, const struct ignis_config *cfg,
                  void **instance, char *err, size_t errlen)
{
    struct loadavg *la = calloc(1, sizeof *la);
    if (!la) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    la->host = host;
    if (set_path(la, cfg, err, errlen) != 0) {
        free(la);
        return -1;
    }
    *instance = la;
    return 0;
}

static int reconfigure(void *instance, const struct ignis_config *cfg, char *err,
                       size_t errlen)
{
    return set_path(instance, cfg, err, errlen);
}

static void destroy(void *instance)
{
    struct loadavg *la = instance;
    free(la->path);
    free(la);
}

static int collect(void *instance, struct ignis_sink *sink)
{
    struct loadavg *la = instance;
    FILE *f = fopen(la->path, "r");
    if (!f) {
        la->host->log(la->host, IGNIS_LOG_WARN, "cannot open %s", la->path);
        return -1;
    }
    double l1, l5, l15;
    long running, total;
    int n = fscanf(f, "%lf %lf %lf %ld/%ld", &l1, &l5, &l15, &running, &total);
    fclose(f);
    if (n != 5) {
        la->host->log(la->host, IGNIS_LOG_WARN, "cannot parse %s", la->path);
        return -1;
    }
    static const char *const names[] = {"loadavg_load1", "loadavg_load5", "loadavg_load15"};
    static const char *const helps[] = {"1m load average.", "5m load average.",
                                        "15m load average."};
    const double v[] = {l1, l5, l15};
    for (int i = 0; i < 3; i++) {
        ignis_sink_family(sink, names[i], IGNIS_METRIC_GAUGE, helps[i], NULL);
        ignis_sink_sample(sink, "", NULL, 0, v[i], IGNIS_NO_TIMESTAMP);
    }
    ignis_sink_family(sink, "loadavg_tasks", IGNIS_METRIC_GAUGE,
                      "Scheduling entities by state.", NULL);
    struct ignis_label st = ignis_label_make("state", "runnable");
    ignis_sink_sample(sink, "", &st, 1, (double)running, IGNIS_NO_TIMESTAMP);
    st = ignis_label_make("state", "all");
    ignis_sink_sample(sink, "", &st, 1, (double)total, IGNIS_NO_TIMESTAMP);
    return 0;
}

static const struct ignis_option options[] = {
    {"path", IGNIS_OPT_STRING, "/proc/loadavg", "file to read", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static const struct ignis_exporter_ops ops = {
    .size = sizeof ops,
    .create = create,
    .reconfigure = reconfigure,
    .destroy = destroy,
    .collect = collect,
};

const struct ignis_plugin ignis_plugin = {
    .abi = IGNIS_ABI,
    .kind = IGNIS_PLUGIN_EXPORTER,
    .name = "loadavg",
    .version = "1.0.0",
    .description = "load averages from /proc/loadavg",
    .options = options,
    .ops = &ops,
};
