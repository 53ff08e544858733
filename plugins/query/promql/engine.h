/* plugins/query/promql/engine.h — the PromQL evaluator's interface inside the plugin:
 * options, one query's inputs and its result. The evaluator reads data only through the
 * storage ops table (select → series set → sample batches) and never keeps anything
 * between queries. */
#ifndef PQ_ENGINE_H
#define PQ_ENGINE_H

#include <ignis/plugin.h>
#include "ast.h"

struct pq_engine_opts {
    int64_t lookback_ms;      /* 5m by default */
    uint64_t max_samples;     /* points held at once; 0: no limit */
    int64_t timeout_ms;       /* 0: none */
    int64_t subquery_step_ms; /* step of `[a:]` subqueries (the evaluation interval) */
    bool one_thread;          /* no second thread for big range functions (tests compare) */
};

/* One query. start == end and step 0 for an instant query. */
struct pq_exec_in {
    const struct pq_expr *expr;
    int64_t start, end, step;
    bool range; /* a range query (result always a matrix) */
    const struct ignis_storage_ops *ops;
    void *storage;
    const volatile int *cancel; /* set non-zero to stop (may be NULL) */
};

/* A series of a result or of an intermediate value: labels (sorted; strings live in the
 * result's arena) and points sorted by time. */
struct pq_series {
    struct ignis_label *ls;
    size_t nls;
    uint64_t hash;
    bool drop_name; /* __name__ is to be removed when the query finishes */
    int64_t *t;
    double *v;
    size_t n, cap;
};

struct pq_res {
    enum ignis_value_type type;
    enum ignis_query_error err;
    char *errmsg;             /* malloc'd; NULL when no error */
    struct pq_series *series; /* malloc'd array */
    size_t nseries;
    double scalar;
    int64_t t;
    char *str;                /* arena */
    char **warnings, **infos; /* malloc'd strings, rendered as Prometheus' API does */
    size_t nwarnings, ninfos;
    uint64_t total_samples, peak_samples;
    struct pq_arena arena;
};

/* Evaluates; always fills out (errors inside it). Returns 0, or IGNIS_E_NOMEM when even
 * the error could not be recorded. */
int pq_exec(const struct pq_engine_opts *o, const struct pq_exec_in *in, struct pq_res *out);
void pq_res_free(struct pq_res *r);

/* From parse.c: duration expressions resolved at run time. */
double pq_dur_eval(const struct pq_node *n, int64_t step_ms, int64_t range_ms);
bool pq_dur_to_ms(double secs, int64_t *ms);

/* The stale-marker NaN. */
#define PQ_STALE_BITS 0x7ff0000000000002ULL
bool pq_is_stale(double v);

#endif
