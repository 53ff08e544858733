/* sdk/src/metrics_int.h — private to libignis' metrics room (metrics*.c, expose*.c):
 * the sink's layout, the summary estimator and small string helpers. Nothing here is
 * exported; helpers are static inline or named ig_*. */
#ifndef IG_METRICS_INT_H
#define IG_METRICS_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <ignis/metrics.h>

/* A sink: an ops table and its implementation; destroy (may be NULL) runs in
 * ignis_sink_free. The writer embeds this struct first. */
struct ignis_sink {
    const struct ignis_sink_ops *ops;
    void *impl;
    void (*destroy)(struct ignis_sink *s);
};

/* True when reg already has a collector with this fn and arg. */
bool ig_registry_has_collector(struct ignis_registry *reg, ignis_collect_fn fn, void *arg);

/* ---- UTF-8 and names --------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid (overlong
 * forms, surrogates and code points past U+10FFFF are invalid). */
size_t ig_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp);
bool ig_utf8_ok(const char *s, size_t len);
bool ig_legacy_metric_name(const char *s, size_t len);
bool ig_legacy_label_name(const char *s, size_t len);

/* ---- Summary estimator: CKMS targeted quantiles over a sliding window ----------- */
struct ig_summary_window;
struct ig_summary_window *ig_sw_new(const struct ignis_quantile *q, size_t nq, int64_t max_age_ms,
                                    unsigned age_buckets, int64_t now_ms);
void ig_sw_free(struct ig_summary_window *w);
/* Returns -1 when memory runs out (the observation is then lost for quantiles). */
int ig_sw_observe(struct ig_summary_window *w, double v, int64_t now_ms);
/* Estimates of every objective (in objective order) into out; NaN when empty. */
void ig_sw_query(struct ig_summary_window *w, int64_t now_ms, double *out);

/* ---- Float formatting (expose_float.c) ----------------------------------------- */
/* Go's strconv.FormatFloat(v, 'g', -1, 64) for finite v; "+Inf", "-Inf", "NaN"; -0 as
 * "0". With om, ".0" is appended when the result has neither '.' nor 'e' (and is
 * finite). buf holds at least 32 bytes; returns the length (NUL written). */
size_t ig_fmt_double(char *buf, double v, bool om);
/* Shortest decimal digits of finite v > 0: writes the digits (no NUL) into dig (at
 * least 17 bytes) and returns their count; *exp10 is the exponent of the last digit
 * (v = digits * 10^exp10). */
int ig_shortest(double v, char *dig, int *exp10);

#endif
