/* tests/fuzz/fuzz_promql.c — fuzz target for the PromQL parser, printer and evaluator
 * (plugins/query/promql/), with every experimental feature on. Besides "does not crash",
 * it checks what must hold: an error names a position; a parsed query's printed forms
 * parse again, and printing that parse gives the same text (the printer is a fixed point
 * after one round); evaluating it over a small built-in storage (an instant and a short
 * range query, with a sample limit) ends with a result or an error, never with a result
 * that breaks the result shape. A broken promise aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <jansson.h>
#include "engine.h"
#include "fuzz.h"

/* Longer inputs add nothing a grammar fuzzer needs and only slow it down. */
#define FUZZ_MAX_QUERY 4096

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_promql: check failed: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const struct pq_features all = {
    .experimental_functions = true,
    .duration_expr = true,
    .extended_range = true,
    .fill_modifiers = true,
    .at_modifier = true,
    .negative_offset = true,
};

/* Parses a printed form: it must parse and print back to itself. */
static void check_fixed_point(const char *s)
{
    char err[512];
    struct pq_expr *e = pq_parse(s, strlen(s), &all, err, sizeof err);
    if (!e) {
        fprintf(stderr, "fuzz_promql: printed form does not parse: %s\n  %s\n", s, err);
        abort();
    }
    char *again = pq_node_string(e->root);
    CHECK(again != NULL);
    if (strcmp(again, s) != 0) {
        fprintf(stderr, "fuzz_promql: printer not stable:\n  %s\n  %s\n", s, again);
        abort();
    }
    free(again);
    pq_expr_free(e);
}

/* ---- a fixed storage: a few series of floats, with a stale marker and a NaN ---------- */

struct fseries {
    struct ignis_label ls[3];
    size_t nls;
    double v[8];
};
static const struct fseries fdata[] = {
    {{{"__name__", 8, "up", 2}, {"job", 3, "a", 1}}, 2, {1, 1, 0, 1, 1, 1, 1, 1}},
    {{{"__name__", 8, "up", 2}, {"job", 3, "b", 1}}, 2, {0, 1, 1, 1, -1, 1, 1, 1}},
    {{{"__name__", 8, "req_total", 9}, {"job", 3, "a", 1}, {"le", 2, "+Inf", 4}},
     3,
     {0, 10, 25, 3, 9, 1e300, -0.0, 7}},
    {{{"__name__", 8, "req_total", 9}, {"job", 3, "a", 1}, {"le", 2, "0.5", 3}},
     3,
     {0, 5, 5, 2, 2, 1, 0, NAN}},
    {{{"__name__", 8, "target_info", 11}, {"instance", 8, "x", 1}, {"job", 3, "a", 1}},
     3,
     {1, 1, 1, 1, 1, 1, 1, 1}},
};
#define FSTEP 30000 /* ms between samples */
#define NF    (sizeof fdata / sizeof fdata[0])

struct ignis_querier {
    int unused;
};
struct ignis_series_set {
    size_t idx[NF], n, cur, pos;
    bool started;
};

static struct ignis_querier *f_querier(void *inst, int64_t mint, int64_t maxt)
{
    (void)inst;
    (void)mint;
    (void)maxt;
    return calloc(1, sizeof(struct ignis_querier));
}

static void f_querier_close(struct ignis_querier *q)
{
    free(q);
}

static int f_select(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                    const struct ignis_select_hints *h, struct ignis_series_set **out)
{
    (void)q;
    (void)h;
    struct ignis_series_set *set = calloc(1, sizeof *set);
    if (!set)
        return IGNIS_E_NOMEM;
    struct ignis_selector sel = {.matchers = (struct ignis_matcher *)ms, .n = n};
    for (size_t i = 0; i < NF; i++)
        if (ignis_selector_matches(&sel, fdata[i].ls, fdata[i].nls))
            set->idx[set->n++] = i;
    *out = set;
    return 0;
}

static int f_set_next(struct ignis_series_set *set, struct ignis_series *s)
{
    if (set->started)
        set->cur++;
    set->started = true;
    set->pos = 0;
    if (set->cur >= set->n)
        return 0;
    const struct fseries *f = &fdata[set->idx[set->cur]];
    s->labels = f->ls;
    s->nlabels = f->nls;
    s->ref = set->idx[set->cur] + 1;
    return 1;
}

static long f_set_samples(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                          struct ignis_sample_batch *b)
{
    const struct fseries *f = &fdata[set->idx[set->cur]];
    size_t k = 0;
    while (set->pos < 8 && k < b->cap) {
        int64_t t = (int64_t)set->pos * FSTEP;
        double v = f->v[set->pos];
        set->pos++;
        if (t < mint || t > maxt)
            continue;
        if (set->pos == 6 && set->idx[set->cur] == 0) {
            uint64_t bits = PQ_STALE_BITS;
            memcpy(&v, &bits, sizeof v);
        }
        b->t[k] = t;
        b->v[k] = v;
        k++;
    }
    return (long)k;
}

static void f_set_close(struct ignis_series_set *set)
{
    free(set);
}

static const struct ignis_storage_ops fops = {
    .size = sizeof fops,
    .querier = f_querier,
    .select = f_select,
    .set_next = f_set_next,
    .set_samples = f_set_samples,
    .set_close = f_set_close,
    .querier_close = f_querier_close,
};

static const struct pq_engine_opts fopts = {
    .lookback_ms = 300000,
    .max_samples = 200000,
    .timeout_ms = 2000,
    .subquery_step_ms = 60000,
};

/* Evaluates e and checks the result's shape. */
static void evaluate(const struct pq_expr *e, int64_t start, int64_t end, int64_t step)
{
    struct pq_exec_in in = {.expr = e,
                            .start = start,
                            .end = end,
                            .step = step,
                            .range = step > 0,
                            .ops = &fops,
                            .storage = (void *)&fops};
    struct pq_res r;
    CHECK(pq_exec(&fopts, &in, &r) == 0);
    if (r.err != IGNIS_QERR_NONE) {
        CHECK(r.errmsg != NULL && r.nseries == 0);
    } else if (r.type == IGNIS_VALUE_VECTOR || r.type == IGNIS_VALUE_MATRIX) {
        for (size_t i = 0; i < r.nseries; i++) {
            const struct pq_series *s = &r.series[i];
            CHECK(s->n > 0);
            CHECK(r.type == IGNIS_VALUE_MATRIX || s->n == 1);
            for (size_t j = 1; j < s->n; j++)
                CHECK(s->t[j] > s->t[j - 1]);
            for (size_t j = 1; j < s->nls; j++)
                CHECK(ignis_labels_cmp(&s->ls[j - 1], 1, &s->ls[j], 1) < 0);
            if (r.type == IGNIS_VALUE_MATRIX && i > 0)
                CHECK(ignis_labels_cmp(r.series[i - 1].ls, r.series[i - 1].nls, s->ls, s->nls) < 0);
        }
    } else {
        CHECK(r.type == IGNIS_VALUE_SCALAR || r.type == IGNIS_VALUE_STRING);
        CHECK(step == 0);
    }
    pq_res_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_QUERY)
        size = FUZZ_MAX_QUERY;
    char err[512];
    struct pq_expr *e = pq_parse((const char *)data, size, &all, err, sizeof err);
    if (!e) {
        /* "L:C: parse error: ..." */
        CHECK(strstr(err, ": parse error: ") != NULL);
        return 0;
    }
    CHECK(e->root != NULL);
    CHECK(e->root->type != PQ_T_NONE);
    /* the parse_query tree is one well-formed JSON object (or a NaN/Inf fill value,
     * which JSON cannot hold) */
    char *tree = pq_node_json(e->root, err, sizeof err);
    if (tree) {
        json_error_t jerr;
        json_t *j = json_loads(tree, JSON_ALLOW_NUL, &jerr);
        if (!j || !json_is_object(j) || !json_object_get(j, "type")) {
            fprintf(stderr, "fuzz_promql: bad parse_query JSON: %s\n  %s\n", tree, jerr.text);
            abort();
        }
        json_decref(j);
        free(tree);
    } else {
        CHECK(strstr(err, "unsupported value") != NULL);
    }
    char *one = pq_node_string(e->root);
    CHECK(one != NULL);
    pq_expr_free(e);
    /* the one-line form parses; its own print is then the fixed point */
    e = pq_parse(one, strlen(one), &all, err, sizeof err);
    if (!e) {
        fprintf(stderr, "fuzz_promql: printed form does not parse: %s\n  %s\n", one, err);
        abort();
    }
    char *two = pq_node_string(e->root);
    char *pretty = pq_node_pretty(e->root);
    CHECK(two != NULL && pretty != NULL);
    pq_expr_free(e);
    check_fixed_point(two);
    /* the indented form parses to the same tree */
    e = pq_parse(pretty, strlen(pretty), &all, err, sizeof err);
    if (!e) {
        fprintf(stderr, "fuzz_promql: pretty form does not parse: %s\n  %s\n", pretty, err);
        abort();
    }
    char *three = pq_node_string(e->root);
    CHECK(three != NULL);
    if (strcmp(three, two) != 0) {
        fprintf(stderr, "fuzz_promql: pretty form differs:\n  %s\n  %s\n", two, three);
        abort();
    }
    free(three);
    /* evaluate: instant, and a short range query */
    evaluate(e, 100000, 100000, 0);
    if (e->root->type == PQ_T_SCALAR || e->root->type == PQ_T_VECTOR)
        evaluate(e, 0, 240000, 45000);
    pq_expr_free(e);
    free(one);
    free(two);
    free(pretty);
    return 0;
}
