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


/* Sample suffixes by family type (the writer and the registry agree on these):
 *   counter        "_total" (also "" meaning the same), "_created"
 *   gauge, unknown ""
 *   stateset       ""  (one sample per state, the state in a label named as the family)
 *   info           "_info" (also "" meaning the same)
 *   histogram      "_bucket" (with an "le" label), "_count", "_sum", "_created"
 *   gaugehistogram "_bucket" (with an "le" label), "_gcount", "_gsum"
 *   summary        "" (with a "quantile" label), "_count", "_sum", "_created"
 * A counter or info family may be announced with or without its "_total"/"_info"
 * suffix; the writer renders both as OpenMetrics and text 0.0.4 expect. Labels are
 * written in the order given ("le"/"quantile" last, by convention). A sink refuses
 * (-1) a suffix its family's type does not have, as well as invalid UTF-8. */

/* ---- Custom sinks ---------------------------------------------------------------
 * Anything can receive metric families: the exposition writer (ignis/expose.h) is one
 * implementation; tests, the core's own self-scrape or a plugin can supply another.
 * The ops table begins with its size and only grows at the end. */
struct ignis_sink_ops {
    uint32_t size;
    int (*family)(void *impl, const char *name, enum ignis_metric_type type,
                  const char *help, const char *unit);
    int (*sample)(void *impl, const char *suffix, const struct ignis_label *ls, size_t n,
                  double value, int64_t ts_ms);
};
/* A sink that forwards to ops/impl (both borrowed for the sink's life). NULL on OOM.
 * Free with ignis_sink_free (which does not touch impl). */
struct ignis_sink *ignis_sink_new(const struct ignis_sink_ops *ops, void *impl);
/* Frees any sink (a writer too, without writing its end: see ignis_sink_writer_finish). */
void ignis_sink_free(struct ignis_sink *s);

/* ---- Metrics: the client SDK ----------------------------------------------------
 * A registry holds metric families; each family has children (one per distinct set
 * of label values), created on first use and kept until the family is unregistered.
 * Updates (inc, add, set, observe) are thread-safe and lock-free, except summaries,
 * which take a short per-child lock. Every update function accepts NULL (a vector's
 * refusal past its bound) and then does nothing. */
struct ignis_registry;
struct ignis_counter;           /* one counter series */
struct ignis_gauge;             /* one gauge series */
struct ignis_histogram;         /* one histogram series */
struct ignis_summary;           /* one summary series */
struct ignis_counter_vec;       /* a labelled family of counters */
struct ignis_gauge_vec;
struct ignis_histogram_vec;
struct ignis_summary_vec;

/* Default bound on the children of one vector (labelled family). */
#define IGNIS_DEFAULT_MAX_CHILDREN 10000
/* Summary windows, as the Prometheus Go client's defaults: 10 minutes in 5 buckets. */
#define IGNIS_DEFAULT_SUMMARY_MAX_AGE_MS 600000
#define IGNIS_DEFAULT_SUMMARY_AGE_BUCKETS 5

/* A summary objective: quantile q (0..1) with absolute rank error err. */
struct ignis_quantile {
    double q;
    double err;
};

/* How to create a family. Zero-initialise and set what you need; all pointers are
 * borrowed for the call (the registry copies what it keeps). */
struct ignis_metric_opts {
    const char *name;                   /* required; any UTF-8 (legacy names preferred) */
    const char *help;                   /* required; may be "" */
    const char *unit;                   /* optional; the name must end in "_<unit>"
                                         * (before "_total" for counters) */
    const char *const *label_names;     /* vectors: the variable label names */
    size_t nlabels;
    const struct ignis_label *const_labels; /* labels every child carries (info: its labels) */
    size_t nconst;
    size_t max_children;                /* vectors: 0 = IGNIS_DEFAULT_MAX_CHILDREN */
    /* histograms: strictly increasing finite upper bounds (+Inf is implicit);
     * NULL = the Prometheus defaults .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 */
    const double *buckets;
    size_t nbuckets;
    /* summaries: objectives (none: only _sum and _count), window */
    const struct ignis_quantile *quantiles;
    size_t nquantiles;
    int64_t max_age_ms;                 /* 0 = IGNIS_DEFAULT_SUMMARY_MAX_AGE_MS */
    unsigned age_buckets;               /* 0 = IGNIS_DEFAULT_SUMMARY_AGE_BUCKETS */
    /* summaries: monotonic clock in ms for the window (tests, simulations); NULL uses
     * CLOCK_MONOTONIC. Called from any thread updating or writing the summary. */
    int64_t (*clock_ms)(void *arg);
    void *clock_arg;
};

/* The Prometheus default histogram buckets (11 values). */
extern const double ignis_default_buckets[11];

/* Registries. The default one lives for the process; custom ones are freed with
 * ignis_registry_free, which frees every family in them (pointers to their metrics
 * die with them). */
struct ignis_registry *ignis_registry_default(void);
struct ignis_registry *ignis_registry_new(void);
void ignis_registry_free(struct ignis_registry *reg);
/* Removes the family called name and frees it and its children: the caller must have
 * stopped using them. Returns 0 or IGNIS_E_NOTFOUND (-4, see plugin.h). */
int ignis_registry_unregister(struct ignis_registry *reg, const char *name);

/* A collector writes families into the sink on every ignis_registry_write, after the
 * registry's own families, in the order collectors were added. It is called with the
 * registry's lock held: it must not call functions of the same registry. A non-zero
 * return counts as a failure (ignis_registry_write then returns -1 after the rest). */
typedef int (*ignis_collect_fn)(void *arg, struct ignis_sink *sink);
int ignis_registry_add_collector(struct ignis_registry *reg, ignis_collect_fn fn, void *arg);
/* Removes the first collector added with this fn and arg; 0 or IGNIS_E_NOTFOUND. */
int ignis_registry_remove_collector(struct ignis_registry *reg, ignis_collect_fn fn,
                                    void *arg);
/* Writes every family (sorted by name; children in creation order), then every
 * collector's. Returns 0, or -1 when the sink refused something or a collector failed. */
int ignis_registry_write(struct ignis_registry *reg, struct ignis_sink *sink);

/* Creating families. Each returns NULL and writes a message into err (when not NULL)
 * on a registration error: invalid or duplicate name (also a clash between the sample
 * names two families would write, e.g. counter "a" and gauge "a_total"), invalid,
 * duplicate or reserved label names ("__*", "le" in histograms, "quantile" in
 * summaries), bad buckets or objectives, out of memory. The plain forms are a family
 * without variable labels and return its one child. */
struct ignis_counter *ignis_counter_new(struct ignis_registry *reg,
                                        const struct ignis_metric_opts *o, char *err,
                                        size_t errlen);
struct ignis_counter_vec *ignis_counter_vec_new(struct ignis_registry *reg,
                                                const struct ignis_metric_opts *o, char *err,
                                                size_t errlen);
struct ignis_gauge *ignis_gauge_new(struct ignis_registry *reg,
                                    const struct ignis_metric_opts *o, char *err,
                                    size_t errlen);
struct ignis_gauge_vec *ignis_gauge_vec_new(struct ignis_registry *reg,
                                            const struct ignis_metric_opts *o, char *err,
                                            size_t errlen);
struct ignis_histogram *ignis_histogram_new(struct ignis_registry *reg,
                                            const struct ignis_metric_opts *o, char *err,
                                            size_t errlen);
struct ignis_histogram_vec *ignis_histogram_vec_new(struct ignis_registry *reg,
                                                    const struct ignis_metric_opts *o,
                                                    char *err, size_t errlen);
struct ignis_summary *ignis_summary_new(struct ignis_registry *reg,
                                        const struct ignis_metric_opts *o, char *err,
                                        size_t errlen);
struct ignis_summary_vec *ignis_summary_vec_new(struct ignis_registry *reg,
                                                const struct ignis_metric_opts *o, char *err,
                                                size_t errlen);
/* An info family: one sample "<name>_info" of value 1 carrying o->const_labels. */
int ignis_info_new(struct ignis_registry *reg, const struct ignis_metric_opts *o, char *err,
                   size_t errlen);

/* A vector's child for the given label values (exactly nlabels NUL-terminated UTF-8
 * strings, in label_names order). The child is created on first use and reused after;
 * the pointer stays valid until the family is unregistered. Returns NULL (and counts
 * the refusal) once the vector has max_children children and these values are new, or
 * when a value is not valid UTF-8 or memory runs out. Lock-free when the child exists. */
struct ignis_counter *ignis_counter_vec_with(struct ignis_counter_vec *v, ...);
struct ignis_gauge *ignis_gauge_vec_with(struct ignis_gauge_vec *v, ...);
struct ignis_histogram *ignis_histogram_vec_with(struct ignis_histogram_vec *v, ...);
struct ignis_summary *ignis_summary_vec_with(struct ignis_summary_vec *v, ...);
/* The same with an array of values (lens may be NULL for NUL-terminated values). */
struct ignis_counter *ignis_counter_vec_withv(struct ignis_counter_vec *v,
                                              const char *const *values, const size_t *lens);
struct ignis_gauge *ignis_gauge_vec_withv(struct ignis_gauge_vec *v, const char *const *values,
                                          const size_t *lens);
struct ignis_histogram *ignis_histogram_vec_withv(struct ignis_histogram_vec *v,
                                                  const char *const *values,
                                                  const size_t *lens);
struct ignis_summary *ignis_summary_vec_withv(struct ignis_summary_vec *v,
                                              const char *const *values, const size_t *lens);
/* How many children a vector holds, and how many with_labels calls it refused. */
size_t ignis_vec_children(const void *vec);
uint64_t ignis_vec_refused(const void *vec);

/* Counters only go up: add ignores negative and NaN amounts. */
void ignis_counter_inc(struct ignis_counter *c);
void ignis_counter_add(struct ignis_counter *c, double v);
double ignis_counter_value(const struct ignis_counter *c);

void ignis_gauge_set(struct ignis_gauge *g, double v);
void ignis_gauge_inc(struct ignis_gauge *g);
void ignis_gauge_dec(struct ignis_gauge *g);
void ignis_gauge_add(struct ignis_gauge *g, double v);
void ignis_gauge_sub(struct ignis_gauge *g, double v);
void ignis_gauge_set_to_current_time(struct ignis_gauge *g);
double ignis_gauge_value(const struct ignis_gauge *g);

/* Observations: NaN is ignored by histograms and summaries alike. */
void ignis_histogram_observe(struct ignis_histogram *h, double v);
/* Cumulative count of bucket i (i == nbuckets is +Inf), the sum and the total count. */
uint64_t ignis_histogram_bucket_count(const struct ignis_histogram *h, size_t i);
double ignis_histogram_sum(const struct ignis_histogram *h);
uint64_t ignis_histogram_count(const struct ignis_histogram *h);

void ignis_summary_observe(struct ignis_summary *s, double v);
/* The current estimate of quantile q (one of the objectives; NaN when the window is
 * empty or q is not an objective), the sum and the count (all time). */
double ignis_summary_quantile(struct ignis_summary *s, double q);
double ignis_summary_sum(struct ignis_summary *s);
uint64_t ignis_summary_count(struct ignis_summary *s);

/* Seconds since the epoch when the series was created (OpenMetrics "_created"). */
double ignis_counter_created(const struct ignis_counter *c);
double ignis_histogram_created(const struct ignis_histogram *h);
double ignis_summary_created(const struct ignis_summary *s);

/* Registers the process collector (process_cpu_seconds_total, process_open_fds,
 * process_max_fds, process_virtual_memory_bytes, process_virtual_memory_max_bytes,
 * process_resident_memory_bytes, process_start_time_seconds, as the Prometheus Go
 * client exports them; Linux /proc). Returns 0, or -1 when already registered. */
int ignis_process_collector_register(struct ignis_registry *reg);

#ifdef __cplusplus
}
#endif
#endif
