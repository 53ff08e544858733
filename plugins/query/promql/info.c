/* plugins/query/promql/info.c — the experimental info() function: adds to each series the
 * data labels of the info series (target_info unless the second argument names others by
 * __name__ matchers) that share its identifying labels (instance, job), as Prometheus'
 * functions documentation describes. Info series are read as of each sample's own
 * reference time (after @ and offset), the newest one per info metric wins, and two info
 * metrics disagreeing on a label is an error. */
#include "evalint.h"

#include <stdio.h>

int pq_eval_info(struct ev *ev, const struct pq_node *n, struct pq_value *out);

static bool is_name(const char *s, size_t n)
{
    return n == 8 && memcmp(s, "__name__", 8) == 0;
}

static bool is_identifying(const char *s, size_t n)
{
    return (n == 8 && memcmp(s, "instance", 8) == 0) || (n == 3 && memcmp(s, "job", 3) == 0);
}

/* The time a sample of n at step ts refers to: @ and offset of the selector or subquery
 * it comes from. */
static int64_t ref_time(const struct ev *ev, const struct pq_node *n, int64_t ts)
{
    switch (n->kind) {
    case N_VECTOR:
        return ev_at_time(ev, n->vs.at, n->vs.at_ms, ts) - n->vs.offset.ms;
    case N_MATRIX:
        return ref_time(ev, n->ms.vs, ts);
    case N_SUBQUERY: {
        int64_t t = ev_at_time(ev, n->sq.at, n->sq.at_ms, ts) - n->sq.offset.ms;
        return ref_time(ev, n->sq.expr, t);
    }
    case N_CALL:
        for (size_t i = 0; i < n->call.nargs; i++)
            if (n->call.args[i]->type == PQ_T_VECTOR || n->call.args[i]->type == PQ_T_MATRIX)
                return ref_time(ev, n->call.args[i], ts);
        return ts;
    case N_AGG:
        return ref_time(ev, n->agg.expr, ts);
    case N_BINARY:
        return ref_time(ev, n->bin.lhs->type == PQ_T_VECTOR ? n->bin.lhs : n->bin.rhs, ts);
    case N_UNARY:
        return ref_time(ev, n->un.expr, ts);
    case N_PAREN:
        return ref_time(ev, n->paren.expr, ts);
    default:
        return ts;
    }
}

static const char *get(const struct ignis_label *ls, size_t n, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (ls[i].name_len == nl && memcmp(ls[i].name, name, nl) == 0) {
            *len = ls[i].value_len;
            return ls[i].value;
        }
    *len = 0;
    return "";
}

static bool same_value(const struct ignis_label *a, size_t na, const struct ignis_label *b,
                       size_t nb, const char *name)
{
    size_t la, lb;
    const char *va = get(a, na, name, &la), *vb = get(b, nb, name, &lb);
    return la == lb && memcmp(va, vb, la) == 0;
}

int pq_eval_info(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    const struct pq_node *sel = n->call.nargs > 1 ? ev_unparen(n->call.args[1]) : NULL;
    /* the matchers that pick info series: the __name__ ones (default target_info) and the
     * data-label ones */
    size_t nm = sel ? sel->vs.sel.n : 0;
    struct ignis_matcher *ms = calloc(nm + 1, sizeof *ms);
    struct ignis_matcher *name_ms = calloc(nm + 1, sizeof *name_ms);
    struct ignis_matcher target;
    bool target_init = false;
    size_t nms = 0, nname = 0;
    bool data_needs_value = false;
    struct rangearg ra = {0};
    struct pq_value base = {0};
    struct outmap om = {0};
    struct vcur cur = {0};
    bool cur_ok = false;
    struct pq_sample *smp = NULL;
    int rc = -1;
    if (!ms || !name_ms) {
        ev_oom(ev);
        goto out;
    }
    for (size_t i = 0; i < nm; i++) {
        const struct ignis_matcher *m = &sel->vs.sel.matchers[i];
        ms[nms++] = *m;
        if (is_name(m->name, m->name_len))
            name_ms[nname++] = *m;
        else if (!ignis_matcher_matches_empty(m))
            data_needs_value = true;
    }
    bool positive = false;
    for (size_t i = 0; i < nname; i++)
        if (name_ms[i].type == IGNIS_MATCH_EQ || name_ms[i].type == IGNIS_MATCH_RE)
            positive = true;
    if (!positive) {
        /* no name given: target_info; only names excluded: any info metric but those */
        char err[128];
        int r0 = nname == 0 ? ignis_matcher_init(&target, IGNIS_MATCH_EQ, "__name__", 8,
                                                 "target_info", 11, err, sizeof err)
                            : ignis_matcher_init(&target, IGNIS_MATCH_RE, "__name__", 8, ".+_info",
                                                 7, err, sizeof err);
        if (r0 != 0) {
            ev_oom(ev);
            goto out;
        }
        target_init = true;
        ms[nms++] = target;
        name_ms[nname++] = target;
    }
    if (ev_eval(ev, n->call.args[0], &base) < 0)
        goto out;
    out->type = PQ_T_VECTOR;
    /* the info series, over the reference times of every base sample */
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    const struct pq_node *arg = n->call.args[0];
    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t t = ref_time(ev, arg, ev_step_ts(ev, k));
        if (t < tmin)
            tmin = t;
        if (t > tmax)
            tmax = t;
    }
    struct pq_node fake = {.kind = N_VECTOR, .type = PQ_T_VECTOR};
    fake.vs.sel.matchers = ms;
    fake.vs.sel.n = nms;
    int64_t lb = ev->o->lookback_ms;
    if (base.n > 0) {
        int ev_select_raw(struct ev * ev, const struct pq_node *vs, int64_t mint, int64_t maxt,
                          bool keep_stale, struct rangearg *ra);
        if (ev_select_raw(ev, &fake, tmin - lb + 1, tmax, true, &ra) < 0)
            goto out;
    }
    cur_ok = vcur_init(ev, &cur, &base) == 0;
    smp = malloc((base.n ? base.n : 1) * sizeof *smp);
    if (!cur_ok || !smp) {
        ev_oom(ev);
        goto out;
    }
    for (size_t kk = 0; kk < ev->nsteps && ev_check(ev) == 0; kk++) {
        int64_t ts = ev_step_ts(ev, kk);
        size_t nsmp = vcur_at(&cur, &base, ts, smp);
        for (size_t p = 0; p < nsmp; p++) {
            struct pq_series *b = smp[p].src;
            /* an info series itself passes through unchanged */
            size_t bnl;
            const char *bname = get(b->ls, b->nls, "__name__", &bnl);
            bool is_info = true;
            for (size_t j = 0; j < nname; j++)
                if (!ignis_matcher_matches(&name_ms[j], bname, bnl))
                    is_info = false;
            struct ignis_label *ls = b->ls;
            size_t nls = b->nls;
            bool found = false;
            if (!is_info) {
                int64_t t = ref_time(ev, arg, ts);
                /* per info metric name: the series with the newest sample at t */
                size_t *best = calloc(ra.n ? ra.n : 1, sizeof *best);
                int64_t *best_t = calloc(ra.n ? ra.n : 1, sizeof *best_t);
                size_t nbest = 0;
                if (!best || !best_t) {
                    free(best);
                    free(best_t);
                    ev_oom(ev);
                    goto out;
                }
                for (size_t s = 0; s < ra.n; s++) {
                    struct rawser *r = &ra.s[s];
                    if (!same_value(r->ls, r->nls, b->ls, b->nls, "instance") ||
                        !same_value(r->ls, r->nls, b->ls, b->nls, "job"))
                        continue;
                    /* newest sample at or before t within the lookback */
                    size_t lo = 0, hi = r->n;
                    while (lo < hi) {
                        size_t mid = (lo + hi) / 2;
                        if (r->t[mid] <= t)
                            lo = mid + 1;
                        else
                            hi = mid;
                    }
                    if (lo == 0)
                        continue;
                    size_t j = lo - 1;
                    if (r->t[j] <= t - lb || pq_is_stale(r->v[j]))
                        continue;
                    size_t rnl;
                    const char *rname = get(r->ls, r->nls, "__name__", &rnl);
                    size_t k;
                    for (k = 0; k < nbest; k++) {
                        size_t onl;
                        const char *oname =
                            get(ra.s[best[k]].ls, ra.s[best[k]].nls, "__name__", &onl);
                        if (onl == rnl && memcmp(oname, rname, rnl) == 0)
                            break;
                    }
                    if (k == nbest) {
                        best[nbest] = s;
                        best_t[nbest] = r->t[j];
                        nbest++;
                    } else if (r->t[j] > best_t[k]) {
                        best[k] = s;
                        best_t[k] = r->t[j];
                    }
                }
                found = nbest > 0;
                /* add the data labels the base does not have */
                for (size_t k = 0; k < nbest && ev->err == IGNIS_QERR_NONE; k++) {
                    struct rawser *r = &ra.s[best[k]];
                    for (size_t l = 0; l < r->nls; l++) {
                        const struct ignis_label *il = &r->ls[l];
                        if (is_name(il->name, il->name_len) ||
                            is_identifying(il->name, il->name_len))
                            continue;
                        if (sel && nm > 0) {
                            /* with data matchers, only the labels they name */
                            bool named = false;
                            for (size_t q = 0; q < nm; q++)
                                if (sel->vs.sel.matchers[q].name_len == il->name_len &&
                                    memcmp(sel->vs.sel.matchers[q].name, il->name, il->name_len) ==
                                        0)
                                    named = true;
                            bool any_data = false;
                            for (size_t q = 0; q < nm; q++)
                                if (!is_name(sel->vs.sel.matchers[q].name,
                                             sel->vs.sel.matchers[q].name_len))
                                    any_data = true;
                            if (any_data && !named)
                                continue;
                        }
                        bool in_base = false;
                        for (size_t q = 0; q < b->nls; q++)
                            if (b->ls[q].name_len == il->name_len &&
                                memcmp(b->ls[q].name, il->name, il->name_len) == 0)
                                in_base = true;
                        if (in_base)
                            continue;
                        for (size_t q = 0; q < nls; q++) {
                            if (ls[q].name_len == il->name_len &&
                                memcmp(ls[q].name, il->name, il->name_len) == 0) {
                                if (ls[q].value_len != il->value_len ||
                                    memcmp(ls[q].value, il->value, il->value_len) != 0) {
                                    ev_error(ev, IGNIS_QERR_EXECUTION,
                                             "conflicting label %.*s: values \"%.*s\" and "
                                             "\"%.*s\" from different info series",
                                             (int)il->name_len, il->name, (int)ls[q].value_len,
                                             ls[q].value, (int)il->value_len, il->value);
                                }
                            }
                        }
                        if (ev->err != IGNIS_QERR_NONE)
                            break;
                        bool present = false;
                        for (size_t q = 0; q < nls; q++)
                            if (ls[q].name_len == il->name_len &&
                                memcmp(ls[q].name, il->name, il->name_len) == 0)
                                present = true;
                        if (!present) {
                            ls = lbl_set(ev, ls, nls, il->name, il->name_len, il->value,
                                         il->value_len, &nls);
                            if (!ls)
                                break;
                        }
                    }
                }
                free(best);
                free(best_t);
                if (ev->err != IGNIS_QERR_NONE)
                    goto out;
                if (!found && data_needs_value)
                    continue;
            }
            struct pq_series *o = out_series(ev, out, &om, ls, nls, b->drop_name);
            if (!o)
                goto out;
            if (o->n > 0 && o->t[o->n - 1] == ts) {
                ev_error(ev, IGNIS_QERR_EXECUTION,
                         "vector cannot contain metrics with the same labelset");
                goto out;
            }
            if (series_push(ev, o, ts, smp[p].v) < 0)
                goto out;
        }
    }
    rc = ev->err == IGNIS_QERR_NONE ? 0 : -1;
out:
    vcur_free(&cur);
    free(smp);
    outmap_free(&om);
    rangearg_free(ev, &ra);
    val_free(ev, &base);
    if (target_init)
        ignis_matcher_clear(&target);
    free(ms);
    free(name_ms);
    if (rc < 0)
        val_free(ev, out);
    return rc;
}
