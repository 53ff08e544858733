/* ignis/metrics.h — instrumentation: metric types, registries, collectors, and the
 * metric-family sink that collectors and exporter plugins write into.
 * (The sink part below is the plugin ABI's contract; the rest is the client SDK.) */
#ifndef IGNIS_METRICS_H
#define IGNIS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <ignis/labels.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ignis_metric_type {
    IGNIS_METRIC_UNKNOWN = 0,
    IGNIS_METRIC_COUNTER,
    IGNIS_METRIC_GAUGE,
    IGNIS_METRIC_HISTOGRAM,
    IGNIS_METRIC_GAUGEHISTOGRAM,
    IGNIS_METRIC_SUMMARY,
    IGNIS_METRIC_INFO,
    IGNIS_METRIC_STATESET,
};

/* "counter", "gauge", ... as OpenMetrics spells them ("unknown" for UNKNOWN). */
const char *ignis_metric_type_name(enum ignis_metric_type t);

/* A sample without a timestamp of its own. */
#define IGNIS_NO_TIMESTAMP INT64_MIN

/* ---- The sink: where collectors put metric families ---------------------------
 * A collector announces a family, then hands its samples; a family ends when the
 * next begins or the collection ends. Sample names are the family name plus a
 * suffix ("" , "_total", "_bucket", "_count", "_sum", "_created", "_info"), so one
 * family's samples stay together as both exposition formats require.
 * Strings are borrowed for the duration of the call. A sink is used by one thread. */
struct ignis_sink;

int ignis_sink_family(struct ignis_sink *s, const char *name, enum ignis_metric_type type,
                      const char *help, const char *unit);
/* ts_ms is IGNIS_NO_TIMESTAMP for none. Returns 0, or -1 when the sink refuses the
 * sample (no family announced, invalid name). */
int ignis_sink_sample(struct ignis_sink *s, const char *suffix, const struct ignis_label *ls,
                      size_t n, double value, int64_t ts_ms);

#ifdef __cplusplus
}
#endif
#endif
