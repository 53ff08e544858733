/* sdk/src/metrics_summary.c — quantile estimation for summaries: the targeted-quantile
 * stream of Cormode, Khanna, Muthukrishnan and Srivastava ("Effective Computation of
 * Biased Quantiles over Data Streams", ICDE 2005), kept in several age buckets so that
 * queries cover a sliding window of max_age (like the Prometheus clients' summaries).
 * Not thread-safe: the caller holds the summary child's lock. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_int.h"

/* Observations wait in a buffer and are merged into the streams sorted, in batches
 * (one merge pass per stream instead of one insertion per observation). */
#define IG_SW_BATCH 512

struct tuple {
    double v;
    double g;     /* rank difference to the previous tuple */
    double delta; /* rank uncertainty */
};

struct stream {
    struct tuple *t;
    size_t n, cap;
    double count;
    int64_t since;      /* ms: when this stream's data began */
    int64_t next_reset; /* ms: when it is emptied next */
};

struct ig_summary_window {
    const struct ignis_quantile *obj; /* borrowed from the family, sorted by q */
    size_t nobj;
    int64_t max_age, period;
    unsigned nstreams;
    struct stream *s;
    double buf[IG_SW_BATCH];
    size_t nbuf;
    struct tuple *scratch;
    size_t scratch_cap;
};

/* The invariant f(r, n) of the paper: the most a tuple at rank r may cover so that every
 * objective (phi, eps) stays answerable within eps * n. */
static double allowed(const struct ig_summary_window *w, double r, double n)
{
    double m = INFINITY;
    for (size_t i = 0; i < w->nobj; i++) {
        double phi = w->obj[i].q, eps = w->obj[i].err, f;
        if (r >= phi * n)
            f = phi > 0 ? 2 * eps * r / phi : 2 * eps * n;
        else
            f = phi < 1 ? 2 * eps * (n - r) / (1 - phi) : 2 * eps * n;
        if (f < m)
            m = f;
    }
    return m;
}

struct ig_summary_window *ig_sw_new(const struct ignis_quantile *q, size_t nq, int64_t max_age_ms,
                                    unsigned age_buckets, int64_t now_ms)
{
    struct ig_summary_window *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->obj = q;
    w->nobj = nq;
    w->max_age = max_age_ms;
    w->nstreams = age_buckets ? age_buckets : 1;
    w->period = max_age_ms / w->nstreams;
    if (w->period <= 0)
        w->period = 1;
    w->s = calloc(w->nstreams, sizeof *w->s);
    if (!w->s) {
        free(w);
        return NULL;
    }
    /* All streams start now; stream k is first emptied after (k + 1) periods and then
     * every max_age, so the oldest one always covers between max_age - period and
     * max_age of data. */
    for (unsigned k = 0; k < w->nstreams; k++) {
        w->s[k].since = now_ms;
        w->s[k].next_reset = now_ms + (int64_t)(k + 1) * w->period;
    }
    return w;
}

void ig_sw_free(struct ig_summary_window *w)
{
    if (!w)
        return;
    for (unsigned k = 0; k < w->nstreams; k++)
        free(w->s[k].t);
    free(w->s);
    free(w->scratch);
    free(w);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Removes tuples whose coverage the invariant allows to merge into their right
 * neighbour, scanning right to left (ranks left of the scan do not change). */
static void compress(const struct ig_summary_window *w, struct stream *st)
{
    if (st->n < 3)
        return;
    double n = st->count;
    /* suffix holds the g of tuples at and right of i; rank r_i = n - suffix */
    size_t out = st->n - 1; /* st->t[out..] are final; t[out] is the right neighbour */
    double suffix = st->t[st->n - 1].g;
    for (size_t i = st->n - 1; i-- > 1;) {
        struct tuple cur = st->t[i];
        suffix += cur.g;
        double r = n - suffix;
        struct tuple *right = &st->t[out];
        if (cur.g + right->g + right->delta <= allowed(w, r, n)) {
            right->g += cur.g;
        } else {
            st->t[--out] = cur;
        }
    }
    /* the first tuple (minimum) is always kept */
    st->t[--out] = st->t[0];
    size_t kept = st->n - out;
    memmove(st->t, st->t + out, kept * sizeof *st->t);
    st->n = kept;
}

/* Merges the sorted values b[0..m) into the stream. */
static int merge(struct ig_summary_window *w, struct stream *st, const double *b, size_t m)
{
    size_t need = st->n + m;
    if (w->scratch_cap < need) {
        size_t cap = need * 2;
        struct tuple *t = realloc(w->scratch, cap * sizeof *t);
        if (!t)
            return -1;
        w->scratch = t;
        w->scratch_cap = cap;
    }
    struct tuple *o = w->scratch;
    size_t i = 0, j = 0, k = 0;
    double r = 0; /* rank before the current position */
    while (j < m) {
        if (i < st->n && st->t[i].v <= b[j]) {
            r += st->t[i].g;
            o[k++] = st->t[i++];
            continue;
        }
        st->count += 1;
        double delta = 0;
        if (i > 0 && i < st->n) {
            delta = floor(allowed(w, r, st->count)) - 1;
            if (delta < 0)
                delta = 0;
        }
        o[k++] = (struct tuple){b[j++], 1, delta};
        r += 1;
    }
    while (i < st->n)
        o[k++] = st->t[i++];
    /* swap buffers: the stream keeps the merged array */
    if (st->cap < k) {
        size_t cap = k * 2;
        struct tuple *t = realloc(st->t, cap * sizeof *t);
        if (!t)
            return -1;
        st->t = t;
        st->cap = cap;
    }
    memcpy(st->t, o, k * sizeof *o);
    st->n = k;
    compress(w, st);
    return 0;
}

static int flush(struct ig_summary_window *w)
{
    if (!w->nbuf)
        return 0;
    qsort(w->buf, w->nbuf, sizeof w->buf[0], cmp_double);
    int rc = 0;
    for (unsigned k = 0; k < w->nstreams; k++)
        if (merge(w, &w->s[k], w->buf, w->nbuf) < 0)
            rc = -1;
    w->nbuf = 0;
    return rc;
}

static void rotate(struct ig_summary_window *w, int64_t now)
{
    for (unsigned k = 0; k < w->nstreams; k++) {
        struct stream *st = &w->s[k];
        if (now < st->next_reset)
            continue;
        /* the latest reset point not after now */
        int64_t periods = (now - st->next_reset) / w->max_age;
        st->since = st->next_reset + periods * w->max_age;
        st->next_reset = st->since + w->max_age;
        st->n = 0;
        st->count = 0;
    }
}

int ig_sw_observe(struct ig_summary_window *w, double v, int64_t now_ms)
{
    int rc = 0;
    /* observations buffered before a reset belong to the old window */
    for (unsigned k = 0; k < w->nstreams; k++) {
        if (now_ms >= w->s[k].next_reset) {
            rc = flush(w);
            rotate(w, now_ms);
            break;
        }
    }
    w->buf[w->nbuf++] = v;
    if (w->nbuf == IG_SW_BATCH)
        rc |= flush(w);
    return rc;
}

void ig_sw_query(struct ig_summary_window *w, int64_t now_ms, double *out)
{
    flush(w);
    rotate(w, now_ms);
    /* the stream with the oldest data covers the longest window */
    struct stream *st = &w->s[0];
    for (unsigned k = 1; k < w->nstreams; k++)
        if (w->s[k].since < st->since)
            st = &w->s[k];
    for (size_t q = 0; q < w->nobj; q++) {
        if (st->n == 0) {
            out[q] = NAN;
            continue;
        }
        double n = st->count;
        double rank = w->obj[q].q * n;
        double bound = rank + allowed(w, rank, n) / 2;
        double r = 0;
        size_t i;
        for (i = 1; i < st->n; i++) {
            r += st->t[i - 1].g;
            if (r + st->t[i].g + st->t[i].delta > bound)
                break;
        }
        out[q] = st->t[i - 1].v;
    }
}
