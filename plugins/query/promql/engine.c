/* plugins/query/promql/engine.c — runs one query: opens a querier over exactly the time
 * range the expression reads, evaluates the tree, removes the __name__ labels marked for
 * removal (Prometheus' delayed name removal), checks the result for duplicate label sets,
 * and shapes it as the API returns it (scalar, string, vector, or a matrix sorted by
 * labels). */
#include "evalint.h"

#include <stdio.h>
#include <time.h>

/* ---- the time range a query reads ------------------------------------------------------- */

struct bounds {
    int64_t mint, maxt;
    const struct ev *ev;
};

static int64_t dur_ms(const struct ev *ev, const struct pq_dur *d)
{
    if (!d->expr || d->expr->kind == N_NUMBER)
        return d->ms;
    int64_t ms = 0;
    pq_dur_to_ms(pq_dur_eval(d->expr, ev->qstep, ev->qend - ev->qstart), &ms);
    return ms;
}

static void widen(struct bounds *b, int64_t lo, int64_t hi)
{
    if (lo < b->mint)
        b->mint = lo;
    if (hi > b->maxt)
        b->maxt = hi;
}

static int64_t at_or(const struct ev *ev, enum pq_at at, int64_t at_ms, int64_t t)
{
    return ev_at_time(ev, at, at_ms, t);
}

static void walk_bounds(struct bounds *b, const struct pq_node *n, int64_t start, int64_t end,
                        int64_t range)
{
    const struct ev *ev = b->ev;
    int64_t lb = ev->o->lookback_ms;
    switch (n->kind) {
    case N_VECTOR: {
        int64_t off = n->vs.offset_set ? dur_ms(ev, &n->vs.offset) : 0;
        int64_t s = at_or(ev, n->vs.at, n->vs.at_ms, start) - off;
        int64_t e = at_or(ev, n->vs.at, n->vs.at_ms, end) - off;
        int64_t back = range > 0 ? range : lb;
        if (n->vs.anchored || (range > 0 && n->vs.smoothed))
            back += lb;
        widen(b, s - back, e + (n->vs.smoothed ? lb : 0));
        break;
    }
    case N_MATRIX:
        walk_bounds(b, n->ms.vs, start, end, dur_ms(ev, &n->ms.range));
        break;
    case N_SUBQUERY: {
        int64_t off = n->sq.offset_set ? dur_ms(ev, &n->sq.offset) : 0;
        int64_t step = n->sq.step_set ? dur_ms(ev, &n->sq.step) : ev->o->subquery_step_ms;
        int64_t s = at_or(ev, n->sq.at, n->sq.at_ms, start) - off - dur_ms(ev, &n->sq.range) -
                    (step > 0 ? step : 0);
        int64_t e = at_or(ev, n->sq.at, n->sq.at_ms, end) - off;
        walk_bounds(b, n->sq.expr, s, e, 0);
        break;
    }
    case N_CALL:
        for (size_t i = 0; i < n->call.nargs; i++)
            walk_bounds(b, n->call.args[i], start, end, 0);
        if (n->call.fn->id == F_INFO)
            widen(b, start - lb, end);
        break;
    case N_AGG:
        if (n->agg.param)
            walk_bounds(b, n->agg.param, start, end, 0);
        walk_bounds(b, n->agg.expr, start, end, 0);
        break;
    case N_BINARY:
        walk_bounds(b, n->bin.lhs, start, end, 0);
        walk_bounds(b, n->bin.rhs, start, end, 0);
        break;
    case N_UNARY:
        walk_bounds(b, n->un.expr, start, end, 0);
        break;
    case N_PAREN:
        walk_bounds(b, n->paren.expr, start, end, range);
        break;
    default:
        break;
    }
}

/* ---- result shaping ---------------------------------------------------------------------- */

static int cmp_series_labels(const void *a, const void *b)
{
    const struct pq_series *x = a, *y = b;
    return ignis_labels_cmp(x->ls, x->nls, y->ls, y->nls);
}

/* Removes __name__ from the series marked for it, then merges series that now share a
 * label set (a range result) or fails when two of them have a point at the same time. */
static int finish_names(struct ev *ev, struct pq_value *v)
{
    for (size_t i = 0; i < v->n; i++) {
        struct pq_series *s = &v->s[i];
        if (!s->drop_name)
            continue;
        /* label arrays may be shared between series: build a new one */
        size_t k = 0;
        struct ignis_label *ls = pq_alloc(ev->arena, (s->nls ? s->nls : 1) * sizeof *ls);
        if (!ls)
            return ev_oom(ev);
        for (size_t j = 0; j < s->nls; j++) {
            const struct ignis_label *l = &s->ls[j];
            bool drop = l->name_len == 8 && (memcmp(l->name, "__name__", 8) == 0 ||
                                             memcmp(l->name, "__type__", 8) == 0 ||
                                             memcmp(l->name, "__unit__", 8) == 0);
            if (!drop)
                ls[k++] = *l;
        }
        s->ls = ls;
        s->nls = k;
        s->hash = lbl_hash(s->ls, s->nls);
        s->drop_name = false;
    }
    /* drop empty series */
    size_t w = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->s[i].n == 0) {
            free(v->s[i].t);
            free(v->s[i].v);
            continue;
        }
        v->s[w++] = v->s[i];
    }
    v->n = w;
    if (v->n < 2)
        return 0;
    /* find equal label sets: sort a copy of indices by (hash, labels) */
    struct outmap m = {0};
    struct pq_value merged = {0};
    merged.type = v->type;
    int rc = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        struct pq_series *s = &v->s[i];
        size_t before = merged.n;
        struct pq_series *o = out_series(ev, &merged, &m, s->ls, s->nls, false);
        if (!o) {
            rc = -1;
            break;
        }
        if (merged.n != before) {
            /* first with these labels: move the points */
            o->t = s->t;
            o->v = s->v;
            o->n = s->n;
            o->cap = s->n;
            s->t = NULL;
            s->v = NULL;
            s->n = 0;
            continue;
        }
        /* a second series with the same labels: merge if no time is shared */
        size_t p = 0, q = 0;
        while (p < o->n && q < s->n) {
            if (o->t[p] == s->t[q]) {
                rc = ev_error(ev, IGNIS_QERR_EXECUTION,
                              "vector cannot contain metrics with the same labelset");
                break;
            }
            if (o->t[p] < s->t[q])
                p++;
            else
                q++;
        }
        if (rc)
            break;
        size_t tot = o->n + s->n;
        int64_t *nt = malloc(tot * sizeof *nt);
        double *nv = malloc(tot * sizeof *nv);
        if (!nt || !nv) {
            free(nt);
            free(nv);
            rc = ev_oom(ev);
            break;
        }
        p = q = 0;
        size_t x = 0;
        while (p < o->n || q < s->n) {
            if (q >= s->n || (p < o->n && o->t[p] < s->t[q])) {
                nt[x] = o->t[p];
                nv[x++] = o->v[p++];
            } else {
                nt[x] = s->t[q];
                nv[x++] = s->v[q++];
            }
        }
        free(o->t);
        free(o->v);
        o->t = nt;
        o->v = nv;
        o->n = o->cap = tot;
        free(s->t);
        free(s->v);
        s->t = NULL;
        s->v = NULL;
        s->n = 0;
    }
    outmap_free(&m);
    if (rc) {
        val_free(ev, &merged);
        return -1;
    }
    for (size_t i = 0; i < v->n; i++) {
        free(v->s[i].t);
        free(v->s[i].v);
    }
    free(v->s);
    *v = merged;
    return 0;
}

static char **copy_annos(struct pq_anno *a, size_t *n)
{
    *n = a->n;
    char **r = a->msgs;
    a->msgs = NULL;
    a->n = a->cap = 0;
    return r;
}

int pq_exec(const struct pq_engine_opts *o, const struct pq_exec_in *in, struct pq_res *out)
{
    memset(out, 0, sizeof *out);
    struct ev ev = {
        .o = o,
        .in = in,
        .arena = &out->arena,
        .qtext = in->expr->text,
        .qlen = in->expr->len,
        .start = in->start,
        .end = in->end,
        .step = in->range ? in->step : 0,
        .qstart = in->start,
        .qend = in->end,
        .qstep = in->range ? in->step : 0,
    };
    const struct pq_node *root = in->expr->root;
    int64_t t0 = 0;
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }
    if (o->timeout_ms > 0 && o->timeout_ms < 1000000000000LL) /* beyond ~30 years: none */
        ev.deadline_ns = t0 + o->timeout_ms * 1000000LL;
    if (in->start > PQ_MAX_TIMESTAMP_MS || in->start < -PQ_MAX_TIMESTAMP_MS ||
        in->end > PQ_MAX_TIMESTAMP_MS || in->end < -PQ_MAX_TIMESTAMP_MS) {
        ev_error(&ev, IGNIS_QERR_BAD_DATA, "query time out of range");
        goto done;
    }
    if (in->range) {
        if (in->step <= 0) {
            ev_error(&ev, IGNIS_QERR_BAD_DATA,
                     "zero or negative query resolution step widths "
                     "are not accepted. Try a positive integer");
            goto done;
        }
        if (in->end < in->start) {
            ev_error(&ev, IGNIS_QERR_BAD_DATA, "end timestamp must not be before start time");
            goto done;
        }
        if (root->type != PQ_T_SCALAR && root->type != PQ_T_VECTOR) {
            ev_error(&ev, IGNIS_QERR_BAD_DATA,
                     "invalid expression type \"%s\" for range query, must be Scalar or instant "
                     "Vector",
                     pq_type_name(root->type));
            goto done;
        }
        uint64_t nsteps = ((uint64_t)in->end - (uint64_t)in->start) / (uint64_t)in->step + 1;
        if (nsteps > 11000) {
            ev_error(&ev, IGNIS_QERR_BAD_DATA,
                     "exceeded maximum resolution of 11,000 points per timeseries. Try "
                     "decreasing the query resolution (?step=XX)");
            goto done;
        }
        ev.nsteps = (size_t)nsteps;
        ev.end = in->start + (int64_t)(nsteps - 1) * in->step;
    } else {
        ev.nsteps = 1;
        ev.end = ev.start;
    }
    struct bounds b = {.mint = INT64_MAX, .maxt = INT64_MIN, .ev = &ev};
    walk_bounds(&b, root, ev.start, ev.end, 0);
    if (b.mint != INT64_MAX) {
        if (!in->ops || !in->storage) {
            ev_error(&ev, IGNIS_QERR_INTERNAL, "no storage to query");
            goto done;
        }
        ev.q = in->ops->querier(in->storage, b.mint, b.maxt);
        if (!ev.q) {
            ev_error(&ev, IGNIS_QERR_EXECUTION, "opening a querier failed");
            goto done;
        }
    }
    struct pq_value v = {0};
    if (ev_eval(&ev, root, &v) == 0) {
        switch (v.type) {
        case PQ_T_SCALAR:
            if (in->range) {
                struct pq_value m = {.type = PQ_T_VECTOR};
                struct pq_series *s = val_add_series(&ev, &m, NULL, 0, false);
                for (size_t k = 0; s && k < ev.nsteps; k++)
                    if (series_push(&ev, s, ev_step_ts(&ev, k), v.scalar[k]) < 0)
                        break;
                val_free(&ev, &v);
                v = m;
                out->type = IGNIS_VALUE_MATRIX;
            } else {
                out->type = IGNIS_VALUE_SCALAR;
                out->scalar = v.scalar[0];
                out->t = ev.start;
            }
            break;
        case PQ_T_STRING:
            out->type = IGNIS_VALUE_STRING;
            out->str = (char *)v.str;
            out->t = ev.start;
            break;
        case PQ_T_VECTOR:
            out->type = in->range ? IGNIS_VALUE_MATRIX : IGNIS_VALUE_VECTOR;
            break;
        case PQ_T_MATRIX:
            out->type = IGNIS_VALUE_MATRIX;
            break;
        default:
            break;
        }
        if (ev.err == IGNIS_QERR_NONE && (v.type == PQ_T_VECTOR || v.type == PQ_T_MATRIX ||
                                          (v.type == PQ_T_SCALAR && in->range))) {
            if (finish_names(&ev, &v) == 0) {
                if (out->type == IGNIS_VALUE_MATRIX && v.n > 1) {
                    /* often in order already: series come from storage sorted */
                    size_t i = 1;
                    while (i < v.n && cmp_series_labels(&v.s[i - 1], &v.s[i]) <= 0)
                        i++;
                    if (i < v.n)
                        qsort(v.s, v.n, sizeof *v.s, cmp_series_labels);
                }
                out->series = v.s;
                out->nseries = v.n;
                v.s = NULL;
                v.n = 0;
            }
        }
    }
    val_free(&ev, &v);
    if (ev.q)
        in->ops->querier_close(ev.q);
done:
    out->err = ev.err;
    if (ev.err != IGNIS_QERR_NONE) {
        out->errmsg = strdup(ev.errmsg);
        for (size_t i = 0; i < out->nseries; i++) {
            free(out->series[i].t);
            free(out->series[i].v);
        }
        free(out->series);
        out->series = NULL;
        out->nseries = 0;
        out->type = IGNIS_VALUE_NONE;
    }
    out->warnings = copy_annos(&ev.warns, &out->nwarnings);
    out->infos = copy_annos(&ev.infos, &out->ninfos);
    out->total_samples = ev.total_samples;
    out->peak_samples = ev.peak_samples;
    if (ev.err != IGNIS_QERR_NONE && !out->errmsg)
        return IGNIS_E_NOMEM;
    return 0;
}

void pq_res_free(struct pq_res *r)
{
    for (size_t i = 0; i < r->nseries; i++) {
        free(r->series[i].t);
        free(r->series[i].v);
    }
    free(r->series);
    for (size_t i = 0; i < r->nwarnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    for (size_t i = 0; i < r->ninfos; i++)
        free(r->infos[i]);
    free(r->infos);
    free(r->errmsg);
    pq_arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}
