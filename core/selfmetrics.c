/* core/selfmetrics.c — ignisd's own metrics in libignis' default registry, under
 * Prometheus' names where its dashboards look (process_*, prometheus_http_*,
 * prometheus_config_*) and ignis_* for what is ours (build info, plugins, worker lanes),
 * and GET /metrics, which renders the registry and then each exporter instance's
 * families in the format the scraper negotiated. Everything here runs on the loop. */
#include <config.h>
#include "core/selfmetrics.h"
#include "core/core.h"
#include "core/http.h"
#include "core/log.h"
#include "core/workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <ignis/expose.h>
#include <ignis/metrics.h>

/* Prometheus' own buckets for prometheus_http_request_duration_seconds. */
static const double http_buckets[] = {0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120};

struct ig_selfmetrics {
    struct ig_core *core;
    struct ignis_registry *reg;
    struct ignis_counter_vec *http_requests;
    struct ignis_histogram_vec *http_duration;
    struct ignis_gauge *reload_ok;
    struct ignis_gauge *reload_ts;
    struct ignis_counter_vec *exporter_failures;
};

static const char *const family_names[] = {
    "ignis_build_info",
    "prometheus_http_requests_total",
    "prometheus_http_request_duration_seconds",
    "prometheus_config_last_reload_successful",
    "prometheus_config_last_reload_success_timestamp_seconds",
    "ignis_exporter_collect_failures_total",
};

static const char *const lane_names[] = {"ingest", "query", "background"};

/* Plugins, instances and worker lanes, read at each /metrics (on the loop). */
static int collect_core(void *arg, struct ignis_sink *sink)
{
    struct ig_selfmetrics *s = arg;
    struct ig_core *core = s->core;
    int rc = 0;
    rc |= ignis_sink_family(sink, "ignis_plugin_loaded", IGNIS_METRIC_GAUGE,
                            "Plugins loaded, by name, kind and version (always 1).", NULL);
    for (size_t i = 0; i < core->plugins.n; i++) {
        const struct ignis_plugin *d = core->plugins.v[i].desc;
        struct ignis_label ls[3] = {
            ignis_label_make("kind", ignis_plugin_kind_name((int)d->kind)),
            ignis_label_make("plugin", d->name),
            ignis_label_make("version", d->version ? d->version : ""),
        };
        rc |= ignis_sink_sample(sink, "", ls, 3, 1, IGNIS_NO_TIMESTAMP);
    }
    rc |= ignis_sink_family(sink, "ignis_plugin_instance_ready", IGNIS_METRIC_GAUGE,
                            "Plugin instances, 1 when ready, 0 when not.", NULL);
    for (struct ig_instance *in = core->instances; in; in = in->next) {
        /* "name", not "instance": a scraper owns the instance label. */
        struct ignis_label ls[3] = {
            ignis_label_make("kind", ignis_plugin_kind_name((int)in->kind)),
            ignis_label_make("name", in->name),
            ignis_label_make("plugin", in->plugin->desc->name),
        };
        rc |= ignis_sink_sample(sink, "", ls, 3, in->ready ? 1 : 0, IGNIS_NO_TIMESTAMP);
    }
    if (!core->workers)
        return rc ? -1 : 0;
    struct ig_workers_stats st;
    ig_workers_stats(core->workers, &st);
    rc |= ignis_sink_family(sink, "ignis_worker_jobs", IGNIS_METRIC_COUNTER,
                            "Jobs handed to the worker pool, by lane and result.", NULL);
    for (int l = 0; l < 3; l++) {
        const char *res[] = {"completed", "rejected"};
        const uint64_t v[] = {st.completed[l], st.rejected[l]};
        for (int k = 0; k < 2; k++) {
            struct ignis_label ls[2] = {ignis_label_make("lane", lane_names[l]),
                                        ignis_label_make("result", res[k])};
            rc |= ignis_sink_sample(sink, "_total", ls, 2, (double)v[k], IGNIS_NO_TIMESTAMP);
        }
    }
    rc |= ignis_sink_family(sink, "ignis_worker_queue_length", IGNIS_METRIC_GAUGE,
                            "Jobs waiting in each lane's queue.", NULL);
    for (int l = 0; l < 3; l++) {
        struct ignis_label ls = ignis_label_make("lane", lane_names[l]);
        rc |= ignis_sink_sample(sink, "", &ls, 1, (double)st.queued[l], IGNIS_NO_TIMESTAMP);
    }
    rc |= ignis_sink_family(sink, "ignis_worker_threads", IGNIS_METRIC_GAUGE,
                            "Threads in the worker pool.", NULL);
    rc |= ignis_sink_sample(sink, "", NULL, 0, (double)ig_workers_threads(core->workers),
                            IGNIS_NO_TIMESTAMP);
    return rc ? -1 : 0;
}

static void observe_http(void *arg, const char *handler, int status, double seconds)
{
    struct ig_selfmetrics *s = arg;
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    ignis_counter_inc(ignis_counter_vec_with(s->http_requests, code, handler));
    ignis_histogram_observe(ignis_histogram_vec_with(s->http_duration, handler), seconds);
}

struct ig_selfmetrics *ig_selfmetrics_new(struct ig_core *core, char *err, size_t errlen)
{
    struct ig_selfmetrics *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->core = core;
    s->reg = ignis_registry_default();
    /* A second ignisd in one process (tests) finds them registered: start afresh. */
    for (size_t i = 0; i < sizeof family_names / sizeof family_names[0]; i++)
        ignis_registry_unregister(s->reg, family_names[i]);

    char abi[16];
    snprintf(abi, sizeof abi, "%d.%d", IGNIS_ABI_MAJOR, IGNIS_ABI_MINOR);
    struct ignis_label build[] = {ignis_label_make("abi", abi),
                                  ignis_label_make("version", PACKAGE_VERSION)};
    struct ignis_metric_opts o = {.name = "ignis_build_info",
                                  .help = "A metric with a constant '1' value labeled by "
                                          "version and plugin ABI from which ignisd was built.",
                                  .const_labels = build, .nconst = 2};
    struct ignis_gauge *bi = ignis_gauge_new(s->reg, &o, err, errlen);
    if (!bi)
        goto fail;
    ignis_gauge_set(bi, 1);

    static const char *const req_labels[] = {"code", "handler"};
    o = (struct ignis_metric_opts){.name = "prometheus_http_requests_total",
                                   .help = "Counter of HTTP requests.",
                                   .label_names = req_labels, .nlabels = 2};
    if (!(s->http_requests = ignis_counter_vec_new(s->reg, &o, err, errlen)))
        goto fail;
    static const char *const dur_labels[] = {"handler"};
    o = (struct ignis_metric_opts){.name = "prometheus_http_request_duration_seconds",
                                   .help = "Histogram of latencies for HTTP requests.",
                                   .label_names = dur_labels, .nlabels = 1,
                                   .buckets = http_buckets,
                                   .nbuckets = sizeof http_buckets / sizeof http_buckets[0]};
    if (!(s->http_duration = ignis_histogram_vec_new(s->reg, &o, err, errlen)))
        goto fail;
    o = (struct ignis_metric_opts){.name = "prometheus_config_last_reload_successful",
                                   .help = "Whether the last configuration reload attempt was "
                                           "successful."};
    if (!(s->reload_ok = ignis_gauge_new(s->reg, &o, err, errlen)))
        goto fail;
    o = (struct ignis_metric_opts){.name = "prometheus_config_last_reload_success_timestamp_seconds",
                                   .help = "Timestamp of the last successful configuration "
                                           "reload."};
    if (!(s->reload_ts = ignis_gauge_new(s->reg, &o, err, errlen)))
        goto fail;
    static const char *const exp_labels[] = {"name", "plugin"};
    o = (struct ignis_metric_opts){.name = "ignis_exporter_collect_failures_total",
                                   .help = "Collections by exporter plugins that failed (their "
                                           "families were left out of that /metrics).",
                                   .label_names = exp_labels, .nlabels = 2};
    if (!(s->exporter_failures = ignis_counter_vec_new(s->reg, &o, err, errlen)))
        goto fail;
    static bool process_registered;
    if (!process_registered) {
        if (ignis_process_collector_register(s->reg) != 0) {
            snprintf(err, errlen, "cannot register the process collector");
            goto fail;
        }
        process_registered = true;
    }
    if (ignis_registry_add_collector(s->reg, collect_core, s) != 0) {
        snprintf(err, errlen, "cannot register the core collector");
        goto fail;
    }
    return s;
fail:
    free(s);
    return NULL;
}

/* Renders one source (the registry, or one exporter instance) with its own writer and
 * appends it to out without the OpenMetrics "# EOF" (only the whole response ends
 * there). A failing source leaves nothing half-written behind. Returns 0 or -1. */
static int render_part(struct evbuffer *out, const struct ignis_expose_format *fmt, bool om,
                       int (*collect)(void *arg, struct ignis_sink *sink), void *arg)
{
    struct evbuffer *part = evbuffer_new();
    struct ignis_sink *w = part ? ignis_sink_writer_new(part, fmt) : NULL;
    int rc = w ? collect(arg, w) : -1;
    int frc = w ? ignis_sink_writer_finish(w) : -1;
    if (rc == 0 && frc == 0) {
        size_t n = evbuffer_get_length(part);
        if (om && n >= 6)
            n -= 6;
        evbuffer_remove_buffer(part, out, n);
    }
    if (part)
        evbuffer_free(part);
    return rc == 0 && frc == 0 ? 0 : -1;
}

static int collect_registry(void *arg, struct ignis_sink *sink)
{
    return ignis_registry_write(arg, sink);
}

static int collect_exporter(void *arg, struct ignis_sink *sink)
{
    struct ig_instance *in = arg;
    const struct ignis_exporter_ops *ops = in->plugin->desc->ops;
    return ops->collect(in->inst, sink);
}

/* GET /metrics: the registry, then each exporter instance's families, in the
 * negotiated format. An exporter whose collect fails is left out (and counted). */
static void h_metrics(void *arg, struct ignis_http_req *req)
{
    struct ig_selfmetrics *s = arg;
    struct ignis_expose_format fmt;
    ignis_expose_negotiate(ig_http_header(req, "Accept"), &fmt);
    bool om = fmt.kind == IGNIS_EXPOSE_OPENMETRICS_1_0_0 ||
              fmt.kind == IGNIS_EXPOSE_OPENMETRICS_0_0_1;
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        ig_http_reply_text(req, 500, "out of memory\n");
        return;
    }
    if (render_part(out, &fmt, om, collect_registry, s->reg) != 0)
        ig_warn("web", "some self-metrics were refused by the exposition writer");
    for (struct ig_instance *in = s->core->instances; in; in = in->next) {
        if (in->kind != IGNIS_PLUGIN_EXPORTER)
            continue;
        if (render_part(out, &fmt, om, collect_exporter, in) != 0) {
            ignis_counter_inc(
                ignis_counter_vec_with(s->exporter_failures, in->name, in->plugin->desc->name));
            ig_warn("web", "exporter collect failed; its metrics are left out\tplugin=%s instance=%s",
                    in->plugin->desc->name, in->name);
        }
    }
    if (om)
        evbuffer_add(out, "# EOF\n", 6);
    ig_http_reply(req, 200, fmt.content_type, out);
    evbuffer_free(out);
}

int ig_selfmetrics_routes(struct ig_selfmetrics *s, struct ig_http *http, const void *owner,
                          char *err, size_t errlen)
{
    ig_http_set_observer(http, observe_http, s);
    if (ig_http_route(http, IGNIS_HTTP_GET, "/metrics", h_metrics, s, owner) != 0) {
        snprintf(err, errlen, "cannot add route /metrics");
        return -1;
    }
    return 0;
}

void ig_selfmetrics_reload_result(struct ig_selfmetrics *s, bool ok)
{
    if (!s)
        return;
    ignis_gauge_set(s->reload_ok, ok ? 1 : 0);
    if (ok) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ignis_gauge_set(s->reload_ts, (double)ts.tv_sec);
    }
}

void ig_selfmetrics_free(struct ig_selfmetrics *s)
{
    if (!s)
        return;
    ignis_registry_remove_collector(s->reg, collect_core, s);
    free(s);
}
