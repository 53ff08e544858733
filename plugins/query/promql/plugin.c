/* plugins/query/promql/plugin.c — the `promql` query plugin: its descriptor, options and
 * ops table. Instances hold only settings (immutable after create/reconfigure, guarded by
 * a lock while they are swapped), so any number of threads may parse and run queries at
 * once; each query owns all of its memory. */
#include <ignis/plugin.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

/* Prometheus' engine self-metrics. One set per process, shared by every instance (the
 * names are Prometheus' own, so dashboards find them); registered by the first instance
 * and removed with the last. Guarded by metrics_lock; the metrics themselves are
 * thread-safe. */
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    unsigned users;
    struct ignis_registry *reg;
    struct ignis_gauge *queries;
    struct ignis_summary *prepare, *inner_eval;
    struct ignis_counter *samples;
} em;

/* Returns whether the instance holds a reference (release it on destroy). */
static bool metrics_acquire(const struct ignis_host *host)
{
    if (!host || !IGNIS_HAS(host, registry))
        return false;
    pthread_mutex_lock(&metrics_lock);
    if (em.users++ > 0) {
        pthread_mutex_unlock(&metrics_lock);
        return true;
    }
    struct ignis_registry *reg = host->registry(host);
    static const struct ignis_quantile q[] = {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};
    static const char *const slice[] = {"slice"};
    char err[256];
    struct ignis_metric_opts o = {
        .name = "prometheus_engine_queries",
        .help = "The current number of queries being executed or waiting.",
    };
    em.reg = reg;
    em.queries = reg ? ignis_gauge_new(reg, &o, err, sizeof err) : NULL;
    o = (struct ignis_metric_opts){
        .name = "prometheus_engine_query_duration_seconds",
        .help = "Query timings",
        .label_names = slice,
        .nlabels = 1,
        .quantiles = q,
        .nquantiles = 3,
    };
    struct ignis_summary_vec *d = reg ? ignis_summary_vec_new(reg, &o, err, sizeof err) : NULL;
    em.prepare = d ? ignis_summary_vec_with(d, "prepare_time") : NULL;
    em.inner_eval = d ? ignis_summary_vec_with(d, "inner_eval") : NULL;
    o = (struct ignis_metric_opts){
        .name = "prometheus_engine_query_samples_total",
        .help = "The total number of samples loaded by all queries.",
    };
    em.samples = reg ? ignis_counter_new(reg, &o, err, sizeof err) : NULL;
    pthread_mutex_unlock(&metrics_lock);
    return true;
}

static void metrics_release(void)
{
    pthread_mutex_lock(&metrics_lock);
    if (em.users > 0 && --em.users == 0 && em.reg) {
        ignis_registry_unregister(em.reg, "prometheus_engine_queries");
        ignis_registry_unregister(em.reg, "prometheus_engine_query_duration_seconds");
        ignis_registry_unregister(em.reg, "prometheus_engine_query_samples_total");
        memset(&em, 0, sizeof em);
    }
    pthread_mutex_unlock(&metrics_lock);
}

struct promql {
    const struct ignis_host *host;
    bool metrics;         /* holds a reference to the shared self-metrics */
    pthread_mutex_t lock; /* guards opts and feat while reconfigure swaps them */
    struct pq_engine_opts opts;
    struct pq_features feat;
};

struct ignis_query {
    struct pq_expr *expr;
    struct pq_res res;
    struct ignis_query_result out;
    struct ignis_result_series *series;
    char *errmsg;
    volatile int cancel;
};

static const struct ignis_option options[] = {
    {"lookback_delta", IGNIS_OPT_DURATION, "5m",
     "how far back an instant selector looks for a sample (--query.lookback-delta)", NULL, 0},
    {"max_samples", IGNIS_OPT_INT, "50000000",
     "samples a query may hold in memory at once (--query.max-samples)", NULL, 0},
    {"timeout", IGNIS_OPT_DURATION, "2m", "longest a query may run (--query.timeout)", NULL, 0},
    {"default_subquery_step", IGNIS_OPT_DURATION, "1m",
     "step of subqueries written without one (Prometheus: the evaluation interval)", NULL, 0},
    {"experimental_functions", IGNIS_OPT_BOOL, "false",
     "experimental functions and aggregators (promql-experimental-functions)", NULL, 0},
    {"duration_expressions", IGNIS_OPT_BOOL, "false",
     "arithmetic, step() and range() in durations (promql-duration-expr)", NULL, 0},
    {"extended_range_selectors", IGNIS_OPT_BOOL, "false",
     "anchored and smoothed selectors (promql-extended-range-selectors)", NULL, 0},
    {"binop_fill_modifiers", IGNIS_OPT_BOOL, "false",
     "fill, fill_left and fill_right on binary operators (promql-binop-fill-modifiers)", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static int read_config(const struct ignis_config *cfg, struct pq_engine_opts *o,
                       struct pq_features *f, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    memset(f, 0, sizeof *f);
    o->lookback_ms = ignis_config_duration_ms(cfg, "lookback_delta");
    int64_t ms = ignis_config_int(cfg, "max_samples");
    o->timeout_ms = ignis_config_duration_ms(cfg, "timeout");
    o->subquery_step_ms = ignis_config_duration_ms(cfg, "default_subquery_step");
    if (o->lookback_ms <= 0 || o->lookback_ms > PQ_MAX_DURATION_MS) {
        snprintf(err, errlen, "%s: lookback_delta must be greater than 0 and at most 292y",
                 ignis_config_where(cfg, "lookback_delta"));
        return -1;
    }
    if (ms < 0) {
        snprintf(err, errlen, "%s: max_samples must not be negative",
                 ignis_config_where(cfg, "max_samples"));
        return -1;
    }
    if (o->subquery_step_ms <= 0 || o->subquery_step_ms > PQ_MAX_DURATION_MS) {
        snprintf(err, errlen, "%s: default_subquery_step must be greater than 0",
                 ignis_config_where(cfg, "default_subquery_step"));
        return -1;
    }
    o->max_samples = (uint64_t)ms;
    f->at_modifier = true;
    f->negative_offset = true;
    f->experimental_functions = ignis_config_bool(cfg, "experimental_functions");
    f->duration_expr = ignis_config_bool(cfg, "duration_expressions");
    f->extended_range = ignis_config_bool(cfg, "extended_range_selectors");
    f->fill_modifiers = ignis_config_bool(cfg, "binop_fill_modifiers");
    return 0;
}

static int create(const struct ignis_host *host, const struct ignis_config *cfg, void **instance,
                  char *err, size_t errlen)
{
    struct promql *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return IGNIS_E_NOMEM;
    }
    p->host = host;
    if (read_config(cfg, &p->opts, &p->feat, err, errlen) != 0) {
        free(p);
        return IGNIS_E_INVALID;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->metrics = metrics_acquire(host);
    *instance = p;
    return 0;
}

static int reconfigure(void *instance, const struct ignis_config *cfg, char *err, size_t errlen)
{
    struct promql *p = instance;
    struct pq_engine_opts o;
    struct pq_features f;
    if (read_config(cfg, &o, &f, err, errlen) != 0)
        return IGNIS_E_INVALID;
    pthread_mutex_lock(&p->lock);
    p->opts = o;
    p->feat = f;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static void destroy(void *instance)
{
    struct promql *p = instance;
    if (!p)
        return;
    if (p->metrics)
        metrics_release();
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static void snapshot(struct promql *p, struct pq_engine_opts *o, struct pq_features *f)
{
    pthread_mutex_lock(&p->lock);
    *o = p->opts;
    *f = p->feat;
    pthread_mutex_unlock(&p->lock);
}

static int parse(void *instance, const char *expr, struct ignis_query **out, char *err,
                 size_t errlen)
{
    struct pq_engine_opts o;
    struct pq_features f;
    snapshot(instance, &o, &f);
    struct pq_expr *e = pq_parse(expr, strlen(expr), &f, err, errlen);
    if (!e)
        return IGNIS_QERR_BAD_DATA;
    if (!out) {
        pq_expr_free(e);
        return 0;
    }
    struct ignis_query *q = calloc(1, sizeof *q);
    if (!q) {
        pq_expr_free(e);
        snprintf(err, errlen, "out of memory");
        return IGNIS_E_NOMEM;
    }
    q->expr = e;
    *out = q;
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int run(struct ignis_query *q, const struct ignis_query_params *prm,
               struct pq_engine_opts *o, const struct pq_features *f, int64_t t0);

static int exec(void *instance, const struct ignis_query_params *prm, struct ignis_query **out)
{
    struct pq_engine_opts o;
    struct pq_features f;
    snapshot(instance, &o, &f);
    int64_t t0 = now_ns();
    struct ignis_query *q = calloc(1, sizeof *q);
    if (!q)
        return IGNIS_E_NOMEM;
    *out = q;
    ignis_gauge_inc(em.queries);
    int rc = run(q, prm, &o, &f, t0);
    ignis_gauge_dec(em.queries);
    ignis_summary_observe(em.prepare, (double)q->out.prepare_ns / 1e9);
    ignis_summary_observe(em.inner_eval, (double)q->out.eval_ns / 1e9);
    ignis_counter_add(em.samples, (double)q->out.total_samples);
    return rc;
}

/* Parses and evaluates into q (the query's result fields). */
static int run(struct ignis_query *q, const struct ignis_query_params *prm,
               struct pq_engine_opts *o_in, const struct pq_features *f_in, int64_t t0)
{
    struct pq_engine_opts o = *o_in;
    const struct pq_features f = *f_in;
    if (prm->timeout_ms > 0)
        o.timeout_ms = prm->timeout_ms;
    if (prm->lookback_ms > 0 && prm->lookback_ms <= PQ_MAX_DURATION_MS)
        o.lookback_ms = prm->lookback_ms;
    if (prm->max_samples > 0)
        o.max_samples = prm->max_samples;
    char err[1024];
    q->expr = pq_parse(prm->expr ? prm->expr : "", prm->expr ? strlen(prm->expr) : 0, &f, err,
                       sizeof err);
    int64_t t1 = now_ns();
    q->out.prepare_ns = t1 - t0;
    if (!q->expr) {
        q->errmsg = strdup(err);
        q->out.error = IGNIS_QERR_BAD_DATA;
        q->out.error_msg = q->errmsg ? q->errmsg : "parse error";
        return 0;
    }
    struct pq_exec_in in = {
        .expr = q->expr,
        .start = prm->start,
        .end = prm->end,
        .step = prm->step,
        .range = prm->step > 0,
        .ops = prm->storage_ops,
        .storage = prm->storage,
        .cancel = &q->cancel,
    };
    if (pq_exec(&o, &in, &q->res) != 0)
        return IGNIS_E_NOMEM;
    int64_t t2 = now_ns();
    struct ignis_query_result *r = &q->out;
    r->eval_ns = t2 - t1;
    r->exec_ns = t2 - t0;
    r->type = q->res.type;
    r->error = q->res.err;
    r->error_msg = q->res.errmsg;
    r->scalar = q->res.scalar;
    r->t = q->res.t;
    r->string = q->res.str;
    r->warnings = (const char *const *)q->res.warnings;
    r->nwarnings = q->res.nwarnings;
    r->infos = (const char *const *)q->res.infos;
    r->ninfos = q->res.ninfos;
    r->total_samples = q->res.total_samples;
    r->peak_samples = q->res.peak_samples;
    size_t n = q->res.nseries;
    if (prm->limit > 0 && n > prm->limit)
        n = prm->limit;
    if (n > 0) {
        q->series = calloc(n, sizeof *q->series);
        if (!q->series)
            return IGNIS_E_NOMEM;
        for (size_t i = 0; i < n; i++) {
            const struct pq_series *s = &q->res.series[i];
            q->series[i] = (struct ignis_result_series){
                .labels = s->ls, .nlabels = s->nls, .t = s->t, .v = s->v, .npoints = s->n};
        }
    }
    r->series = q->series;
    r->nseries = n;
    return 0;
}

static const struct ignis_query_result *result(const struct ignis_query *q)
{
    return &q->out;
}

static void cancel(struct ignis_query *q)
{
    q->cancel = 1;
}

static void query_free(struct ignis_query *q)
{
    if (!q)
        return;
    pq_res_free(&q->res);
    pq_expr_free(q->expr);
    free(q->series);
    free(q->errmsg);
    free(q);
}

/* Parses expr with the instance's switches and renders the tree with fn (format_query's
 * pretty form, parse_query's JSON). NULL with err on a parse error. */
static char *render(void *instance, const char *expr, char *err, size_t errlen,
                    char *(*fn)(const struct pq_node *n, char *err, size_t errlen))
{
    struct pq_engine_opts o;
    struct pq_features f;
    snapshot(instance, &o, &f);
    struct pq_expr *e = pq_parse(expr, strlen(expr), &f, err, errlen);
    if (!e)
        return NULL;
    char *s = fn(e->root, err, errlen);
    pq_expr_free(e);
    return s;
}

static char *pretty(const struct pq_node *n, char *err, size_t errlen)
{
    char *s = pq_node_pretty(n);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

static char *format(void *instance, const char *expr, char *err, size_t errlen)
{
    return render(instance, expr, err, errlen, pretty);
}

static char *parse_json(void *instance, const char *expr, char *err, size_t errlen)
{
    return render(instance, expr, err, errlen, pq_node_json);
}

static const struct ignis_query_ops ops = {
    .size = sizeof ops,
    .create = create,
    .reconfigure = reconfigure,
    .destroy = destroy,
    .parse = parse,
    .exec = exec,
    .result = result,
    .cancel = cancel,
    .query_free = query_free,
    .format = format,
    .parse_json = parse_json,
};

const struct ignis_plugin ignis_plugin = {
    .abi = IGNIS_ABI,
    .kind = IGNIS_PLUGIN_QUERY,
    .name = "promql",
    .version = "0.1.0",
    .description = "PromQL parser and evaluator",
    .options = options,
    .ops = &ops,
};
