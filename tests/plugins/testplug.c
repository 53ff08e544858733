/* tests/plugins/testplug.c — one small exporter plugin compiled several ways, to
 * exercise every refusal of the loader and instance creation:
 *   PLUG_NAME        descriptor name (default "good")
 *   PLUG_MAJOR/MINOR ABI stamped into the descriptor
 *   PLUG_KIND        plugin kind number
 *   PLUG_NOSYM       export no ignis_plugin symbol
 *   PLUG_CREATE_FAIL create() fails with a message
 *   PLUG_SMALL_OPS   ops table claims a size smaller than its kind needs */
#include <ignis/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PLUG_NAME
#define PLUG_NAME "good"
#endif
#ifndef PLUG_MAJOR
#define PLUG_MAJOR IGNIS_ABI_MAJOR
#endif
#ifndef PLUG_MINOR
#define PLUG_MINOR IGNIS_ABI_MINOR
#endif
#ifndef PLUG_KIND
#define PLUG_KIND IGNIS_PLUGIN_EXPORTER
#endif

struct good {
    const struct ignis_host *host;
    char *greeting;
    int64_t value;
};

static int create(const struct ignis_host *host, const struct ignis_config *cfg,
                  void **instance, char *err, size_t errlen)
{
#ifdef PLUG_CREATE_FAIL
    (void)host;
    (void)cfg;
    (void)instance;
    snprintf(err, errlen, "refusing on purpose");
    return -1;
#else
    struct good *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->host = host;
    g->greeting = strdup(ignis_config_string(cfg, "greeting"));
    g->value = ignis_config_int(cfg, "value");
    *instance = g;
    return 0;
#endif
}

static int reconfigure(void *instance, const struct ignis_config *cfg, char *err, size_t errlen)
{
    struct good *g = instance;
    if (ignis_config_int(cfg, "value") < 0) {
        snprintf(err, errlen, "value must not be negative");
        return -1;
    }
    char *s = strdup(ignis_config_string(cfg, "greeting"));
    if (!s)
        return -1;
    free(g->greeting);
    g->greeting = s;
    g->value = ignis_config_int(cfg, "value");
    return 0;
}

static void destroy(void *instance)
{
    struct good *g = instance;
    if (!g)
        return;
    free(g->greeting);
    free(g);
}

static int collect(void *instance, struct ignis_sink *sink)
{
    struct good *g = instance;
    struct ignis_label l = ignis_label_make("greeting", g->greeting);
    if (ignis_sink_family(sink, "ignis_test_good_value", IGNIS_METRIC_GAUGE,
                          "The configured value of the test plugin.", NULL) != 0)
        return -1;
    return ignis_sink_sample(sink, "", &l, 1, (double)g->value, IGNIS_NO_TIMESTAMP);
}

__attribute__((unused)) static const struct ignis_option options[] = {
    {"greeting", IGNIS_OPT_STRING, "hello", "label value to expose", NULL, 0},
    {"value", IGNIS_OPT_INT, "42", "gauge value to expose", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

__attribute__((unused)) static const struct ignis_exporter_ops ops = {
#ifdef PLUG_SMALL_OPS
    .size = 8,
#else
    .size = sizeof ops,
#endif
    .create = create,
    .reconfigure = reconfigure,
    .destroy = destroy,
    .collect = collect,
};

#ifndef PLUG_NOSYM
const struct ignis_plugin ignis_plugin = {
    .abi = {PLUG_MAJOR, PLUG_MINOR},
    .kind = PLUG_KIND,
    .name = PLUG_NAME,
    .version = "1.0.0",
    .description = "test exporter",
    .options = options,
    .ops = &ops,
};
#else
/* Something exported, so the module is not empty, but not the descriptor. */
const struct ignis_exporter_ops *ignis_not_the_plugin = &ops;
#endif
