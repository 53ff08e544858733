/* plugins/query/promql/evalint.h — what eval.c (tree walk, selectors, operators,
 * aggregation) and func.c (functions) share inside the evaluator. A value covers every
 * step of the range being evaluated at once: a scalar is one number per step, an instant
 * vector a set of series with at most one point per step. */
#ifndef PQ_EVALINT_H
#define PQ_EVALINT_H

#include "engine.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct pq_split;
struct rawser;
struct rangearg;

struct pq_value {
    enum pq_type type;
    struct pq_series *s; /* VECTOR, MATRIX: malloc'd array */
    size_t n, cap;
    double *scalar;  /* SCALAR: one per step (malloc'd) */
    const char *str; /* STRING (arena) */
};

struct pq_anno {
    char **msgs;
    size_t n, cap;
};

struct ev {
    const struct pq_engine_opts *o;
    const struct pq_exec_in *in;
    struct pq_arena *arena;
    const char *qtext;
    size_t qlen;
    struct ignis_querier *q;
    int64_t qmint, qmaxt; /* q's range, for a second querier over the same data */
    /* 0: selectors read every series; 1 or 2: only the series whose label hash falls in
     * that shard (the two threads of a big range function, see func.c) */
    int shard;
    /* the first thread: starts the second once the series read show the work is big */
    struct pq_split *split;
    /* the second thread: the series up to this one (in label order) are the first's */
    const struct ignis_label *after_ls;
    size_t after_n;
    /* a thread of a sharded range function: called with each series once its samples are
     * read, which are then dropped (still counted) and their arrays reused for the next */
    int (*each_series)(struct ev *ev, struct rangearg *ra, struct rawser *r);
    int64_t *spare_t;
    double *spare_v;
    size_t spare_cap;
    /* the range being evaluated now (a subquery evaluates its own) */
    int64_t start, end, step;
    size_t nsteps;
    /* the query's own range: start(), end(), step(), range() */
    int64_t qstart, qend, qstep;
    uint64_t cur_samples, peak_samples, total_samples;
    /* a thread of a sharded range function: samples held by the whole query (both
     * threads) and how much of cur_samples is in it; the limit is checked there */
    _Atomic uint64_t *held;
    uint64_t held_added, held_max;
    int64_t deadline_ns;
    unsigned tick;
    enum ignis_query_error err;
    char errmsg[1024];
    struct pq_anno warns, infos;
};

/* Errors: the first one wins; evaluation unwinds by return codes (-1). */
int ev_error(struct ev *ev, enum ignis_query_error kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ev_oom(struct ev *ev);
/* The max_samples error. */
int ev_too_many(struct ev *ev);
/* A sharded thread: adds what cur_samples gained to the shared count; -1 past the limit. */
int ev_held_flush(struct ev *ev);
/* Checks the deadline and the cancel flag now and then; -1 when the query must stop. */
int ev_check(struct ev *ev);
/* An annotation at node n: "PromQL warning: <msg> (L:C)". */
void ev_warn(struct ev *ev, const struct pq_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ev_info(struct ev *ev, const struct pq_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int64_t ev_step_ts(const struct ev *ev, size_t k)
{
    return ev->start + (int64_t)k * ev->step;
}

/* Values and series. */
void val_free(struct ev *ev, struct pq_value *v);
struct pq_series *val_add_series(struct ev *ev, struct pq_value *v, struct ignis_label *ls,
                                 size_t nls, bool drop_name);
int series_push(struct ev *ev, struct pq_series *s, int64_t t, double v);
/* Makes room for cap points in s (a hint: series_push grows it further when needed). */
int series_reserve(struct ev *ev, struct pq_series *s, size_t cap);
/* series_push without a call when there is room and the sample budget allows. */
static inline int series_push1(struct ev *ev, struct pq_series *s, int64_t t, double v)
{
    if (s->n < s->cap && (!ev->o->max_samples || ev->cur_samples < ev->o->max_samples)) {
        s->t[s->n] = t;
        s->v[s->n] = v;
        s->n++;
        if (++ev->cur_samples > ev->peak_samples)
            ev->peak_samples = ev->cur_samples;
        return 0;
    }
    return series_push(ev, s, t, v);
}
int val_scalar_alloc(struct ev *ev, struct pq_value *v);

/* Labels (all strings and arrays from the query arena). */
struct ignis_label *lbl_copy(struct ev *ev, const struct ignis_label *ls, size_t n);
char *ev_strdup(struct ev *ev, const char *s, size_t n);
const struct ignis_label *lbl_get(const struct ignis_label *ls, size_t n, const char *name);
/* A copy of ls without the names given; drop_metric 1: and without __name__, 2: and
 * without __name__, __type__ and __unit__. */
struct ignis_label *lbl_without(struct ev *ev, const struct ignis_label *ls, size_t n,
                                char *const *names, size_t nnames, int drop_metric, size_t *out_n);
/* A copy of ls keeping only the names given. */
struct ignis_label *lbl_keep(struct ev *ev, const struct ignis_label *ls, size_t n,
                             char *const *names, size_t nnames, size_t *out_n);
/* A copy with name set to value (removed when value is empty). */
struct ignis_label *lbl_set(struct ev *ev, const struct ignis_label *ls, size_t n, const char *name,
                            size_t name_len, const char *value, size_t value_len, size_t *out_n);
uint64_t lbl_hash(const struct ignis_label *ls, size_t n);
bool lbl_equal(const struct ignis_label *a, size_t na, const struct ignis_label *b, size_t nb);
/* Prometheus' Labels.String(): {__name__="x", a="b"} */
void lbl_string(struct pq_buf *b, const struct ignis_label *ls, size_t n);

/* Output collection: series looked up by label set. */
struct outmap {
    size_t *slot; /* index+1 into the value's series; 0 empty */
    size_t cap;
};
struct pq_series *out_series(struct ev *ev, struct pq_value *v, struct outmap *m,
                             struct ignis_label *ls, size_t nls, bool drop_name);
void outmap_free(struct outmap *m);

/* Evaluation. */
int ev_eval(struct ev *ev, const struct pq_node *n, struct pq_value *out);
int ev_eval_call(struct ev *ev, const struct pq_node *n, struct pq_value *out);

/* One instant vector at one step, read from a vector value with cursors. */
struct pq_sample {
    struct pq_series *src; /* the series it came from */
    double v;
};
struct vcur {
    size_t *pos;
    size_t n;
};
int vcur_init(struct ev *ev, struct vcur *c, const struct pq_value *v);
void vcur_free(struct vcur *c);
/* Samples of v at time ts (cursors advance); returns the count written to out (which has
 * room for v->n). */
size_t vcur_at(struct vcur *c, const struct pq_value *v, int64_t ts, struct pq_sample *out);

/* Kahan-Babuska-Neumaier compensated addition. */
static inline double kahan_inc(double inc, double sum, double *c)
{
    double t = sum + inc;
    if (isinf(t))
        *c = 0;
    else if (fabs(sum) >= fabs(inc))
        *c += (sum - t) + inc;
    else
        *c += (inc - t) + sum;
    return t;
}

/* Range functions: the raw points of a range vector argument, windowed per step. */
struct rawser {
    struct ignis_label *ls;
    size_t nls;
    bool drop_name;
    int64_t *t;
    double *v;
    size_t n;
};
struct rangearg {
    struct rawser *s;
    size_t n;
    int64_t range; /* ms */
    int64_t offset;
    enum pq_at at;
    int64_t at_ms;
    bool anchored, smoothed;
    const struct pq_node *vs; /* the vector selector, when the argument is one */
    bool owned;               /* t/v arrays malloc'd per series */
    uint64_t counted;         /* samples counted against max_samples, released on free */
};
int ev_rangearg(struct ev *ev, const struct pq_node *arg, struct rangearg *ra);
/* From func.c: called by the first thread of a sharded range function after each series
 * it read (the last one and how many); may start the second thread. */
void ev_split(struct ev *ev, const struct rawser *last, size_t nseries);
void rangearg_free(struct ev *ev, struct rangearg *ra);
/* The evaluation time of a range or selector at step ts. */
int64_t ev_at_time(const struct ev *ev, enum pq_at at, int64_t at_ms, int64_t ts);

/* Helpers from eval.c used by func.c */
const struct pq_node *ev_unparen(const struct pq_node *n);
int ev_selector_points(struct ev *ev, const struct pq_node *vs, bool want_ts, struct pq_value *out);
bool pq_is_stale(double v);

#endif
