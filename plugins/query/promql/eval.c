/* plugins/query/promql/eval.c — the PromQL evaluator: walks the tree once for the whole
 * range of steps (each value holds every step), reading series through the storage ops
 * table. Selectors, subqueries, binary operators with vector matching and fill modifiers,
 * aggregations; functions are in func.c. Semantics from Prometheus' querying docs and the
 * promqltest corpus: left-open lookback and range windows, staleness markers, delayed
 * __name__ removal. */
#include "evalint.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define PQ_SAMPLE_BATCH 1024

/* ---- errors and annotations ---------------------------------------------------------- */

int ev_error(struct ev *ev, enum ignis_query_error kind, const char *fmt, ...)
{
    if (ev->err != IGNIS_QERR_NONE)
        return -1;
    ev->err = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->errmsg, sizeof ev->errmsg, fmt, ap);
    va_end(ap);
    return -1;
}

int ev_oom(struct ev *ev)
{
    return ev_error(ev, IGNIS_QERR_INTERNAL, "out of memory");
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int ev_check(struct ev *ev)
{
    if (ev->err != IGNIS_QERR_NONE)
        return -1;
    if ((ev->tick++ & 63) != 0)
        return 0;
    if (ev->in->cancel && *ev->in->cancel)
        return ev_error(ev, IGNIS_QERR_CANCELED, "query was canceled in query execution");
    if (ev->deadline_ns && now_ns() > ev->deadline_ns)
        return ev_error(ev, IGNIS_QERR_TIMEOUT, "query timed out in query execution");
    return 0;
}

static void anno_add(struct ev *ev, struct pq_anno *a, const char *kind, const struct pq_node *n,
                     const char *fmt, va_list ap)
{
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char pos[32] = "";
    if (n)
        pq_pos_str(ev->qtext, ev->qlen, n->pos, pos, sizeof pos);
    struct pq_buf b = {0};
    pq_buf_printf(&b, "PromQL %s: %s", kind, msg);
    if (n)
        pq_buf_printf(&b, " (%s)", pos);
    if (b.oom || !b.p) {
        free(b.p);
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->msgs[i], b.p) == 0) {
            free(b.p);
            return;
        }
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        char **m = realloc(a->msgs, cap * sizeof *m);
        if (!m) {
            free(b.p);
            return;
        }
        a->msgs = m;
        a->cap = cap;
    }
    a->msgs[a->n++] = b.p;
}

void ev_warn(struct ev *ev, const struct pq_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    anno_add(ev, &ev->warns, "warning", n, fmt, ap);
    va_end(ap);
}

void ev_info(struct ev *ev, const struct pq_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    anno_add(ev, &ev->infos, "info", n, fmt, ap);
    va_end(ap);
}

bool pq_is_stale(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == PQ_STALE_BITS;
}

/* ---- labels ---------------------------------------------------------------------------- */

char *ev_strdup(struct ev *ev, const char *s, size_t n)
{
    char *p = pq_strndup(ev->arena, s, n);
    if (!p)
        ev_oom(ev);
    return p;
}

struct ignis_label *lbl_copy(struct ev *ev, const struct ignis_label *ls, size_t n)
{
    struct ignis_label *o = pq_alloc(ev->arena, (n ? n : 1) * sizeof *o);
    if (!o) {
        ev_oom(ev);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        o[i].name = ev_strdup(ev, ls[i].name, ls[i].name_len);
        o[i].value = ev_strdup(ev, ls[i].value, ls[i].value_len);
        if (!o[i].name || !o[i].value)
            return NULL;
        o[i].name_len = ls[i].name_len;
        o[i].value_len = ls[i].value_len;
    }
    return o;
}

const struct ignis_label *lbl_get(const struct ignis_label *ls, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (ls[i].name_len == nl && memcmp(ls[i].name, name, nl) == 0)
            return &ls[i];
    return NULL;
}

static bool name_in(const struct ignis_label *l, char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(names[i]);
        if (k == l->name_len && memcmp(names[i], l->name, k) == 0)
            return true;
    }
    return false;
}

/* drop_metric 1: __name__; 2: also the type-and-unit labels (__type__, __unit__), which
 * PromQL drops together with the name. */
static bool is_metric_name(const struct ignis_label *l, int drop_metric)
{
    if (l->name_len != 8)
        return false;
    if (memcmp(l->name, "__name__", 8) == 0)
        return true;
    return drop_metric > 1 &&
           (memcmp(l->name, "__type__", 8) == 0 || memcmp(l->name, "__unit__", 8) == 0);
}

struct ignis_label *lbl_without(struct ev *ev, const struct ignis_label *ls, size_t n,
                                char *const *names, size_t nnames, int drop_metric, size_t *out_n)
{
    struct ignis_label *o = pq_alloc(ev->arena, (n ? n : 1) * sizeof *o);
    if (!o) {
        ev_oom(ev);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (drop_metric && is_metric_name(&ls[i], drop_metric))
            continue;
        if (name_in(&ls[i], names, nnames))
            continue;
        o[k++] = ls[i];
    }
    *out_n = k;
    return o;
}

struct ignis_label *lbl_keep(struct ev *ev, const struct ignis_label *ls, size_t n,
                             char *const *names, size_t nnames, size_t *out_n)
{
    struct ignis_label *o = pq_alloc(ev->arena, (n ? n : 1) * sizeof *o);
    if (!o) {
        ev_oom(ev);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (name_in(&ls[i], names, nnames))
            o[k++] = ls[i];
    *out_n = k;
    return o;
}

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

struct ignis_label *lbl_set(struct ev *ev, const struct ignis_label *ls, size_t n, const char *name,
                            size_t name_len, const char *value, size_t value_len, size_t *out_n)
{
    struct ignis_label *o = pq_alloc(ev->arena, (n + 1) * sizeof *o);
    if (!o) {
        ev_oom(ev);
        return NULL;
    }
    /* the new pair may come from the query text: the result must not depend on it */
    name = ev_strdup(ev, name, name_len);
    value = ev_strdup(ev, value, value_len);
    if (!name || !value)
        return NULL;
    size_t k = 0;
    bool done = false;
    for (size_t i = 0; i < n; i++) {
        int c = name_cmp(ls[i].name, ls[i].name_len, name, name_len);
        if (!done && c >= 0) {
            done = true;
            if (value_len > 0) {
                o[k].name = name;
                o[k].name_len = name_len;
                o[k].value = value;
                o[k].value_len = value_len;
                k++;
            }
            if (c == 0)
                continue;
        }
        o[k++] = ls[i];
    }
    if (!done && value_len > 0) {
        o[k].name = name;
        o[k].name_len = name_len;
        o[k].value = value;
        o[k].value_len = value_len;
        k++;
    }
    *out_n = k;
    return o;
}

uint64_t lbl_hash(const struct ignis_label *ls, size_t n)
{
    return ignis_labels_hash(ls, n);
}

bool lbl_equal(const struct ignis_label *a, size_t na, const struct ignis_label *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (a[i].name_len != b[i].name_len || a[i].value_len != b[i].value_len ||
            memcmp(a[i].name, b[i].name, a[i].name_len) != 0 ||
            memcmp(a[i].value, b[i].value, a[i].value_len) != 0)
            return false;
    }
    return true;
}

void lbl_string(struct pq_buf *b, const struct ignis_label *ls, size_t n)
{
    pq_buf_puts(b, "{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            pq_buf_puts(b, ", ");
        if (ignis_is_legacy_label_name(ls[i].name, ls[i].name_len))
            pq_buf_add(b, ls[i].name, ls[i].name_len);
        else
            pq_buf_quote(b, ls[i].name, ls[i].name_len);
        pq_buf_puts(b, "=");
        pq_buf_quote(b, ls[i].value, ls[i].value_len);
    }
    pq_buf_puts(b, "}");
}

/* ---- values ------------------------------------------------------------------------------ */

static void series_free(struct ev *ev, struct pq_series *s)
{
    if (ev->cur_samples >= s->n)
        ev->cur_samples -= s->n;
    else
        ev->cur_samples = 0;
    free(s->t);
    free(s->v);
    s->t = NULL;
    s->v = NULL;
    s->n = s->cap = 0;
}

void val_free(struct ev *ev, struct pq_value *v)
{
    for (size_t i = 0; i < v->n; i++)
        series_free(ev, &v->s[i]);
    free(v->s);
    if (v->scalar && ev->cur_samples >= ev->nsteps)
        ev->cur_samples -= ev->nsteps;
    free(v->scalar);
    memset(v, 0, sizeof *v);
}

struct pq_series *val_add_series(struct ev *ev, struct pq_value *v, struct ignis_label *ls,
                                 size_t nls, bool drop_name)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        struct pq_series *s = realloc(v->s, cap * sizeof *s);
        if (!s) {
            ev_oom(ev);
            return NULL;
        }
        v->s = s;
        v->cap = cap;
    }
    struct pq_series *s = &v->s[v->n++];
    memset(s, 0, sizeof *s);
    s->ls = ls;
    s->nls = nls;
    s->hash = lbl_hash(ls, nls);
    s->drop_name = drop_name;
    return s;
}

int ev_too_many(struct ev *ev)
{
    return ev_error(ev, IGNIS_QERR_EXECUTION,
                    "query processing would load too many samples into memory in query "
                    "execution");
}

int ev_held_flush(struct ev *ev)
{
    uint64_t d = ev->cur_samples - ev->held_added;
    if (d == 0)
        return 0;
    ev->held_added = ev->cur_samples;
    uint64_t now = atomic_fetch_add(ev->held, d) + d;
    if (ev->held_max && now > ev->held_max)
        return ev_too_many(ev);
    return 0;
}

static int count_samples(struct ev *ev, uint64_t n)
{
    ev->cur_samples += n;
    if (ev->cur_samples > ev->peak_samples)
        ev->peak_samples = ev->cur_samples;
    if (ev->held)
        return ev_held_flush(ev);
    if (ev->o->max_samples && ev->cur_samples > ev->o->max_samples)
        return ev_too_many(ev);
    return 0;
}

int series_reserve(struct ev *ev, struct pq_series *s, size_t cap)
{
    if (cap <= s->cap)
        return 0;
    int64_t *nt = realloc(s->t, cap * sizeof *nt);
    if (!nt)
        return ev_oom(ev);
    s->t = nt;
    double *nv = realloc(s->v, cap * sizeof *nv);
    if (!nv)
        return ev_oom(ev);
    s->v = nv;
    s->cap = cap;
    return 0;
}

int series_push(struct ev *ev, struct pq_series *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        int64_t *nt = realloc(s->t, cap * sizeof *nt);
        if (!nt)
            return ev_oom(ev);
        s->t = nt;
        double *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return ev_oom(ev);
        s->v = nv;
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n] = v;
    s->n++;
    return count_samples(ev, 1);
}

int val_scalar_alloc(struct ev *ev, struct pq_value *v)
{
    v->type = PQ_T_SCALAR;
    v->scalar = calloc(ev->nsteps ? ev->nsteps : 1, sizeof(double));
    if (!v->scalar)
        return ev_oom(ev);
    return count_samples(ev, ev->nsteps);
}

/* ---- output map ---------------------------------------------------------------------------- */

void outmap_free(struct outmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = 0;
}

struct pq_series *out_series(struct ev *ev, struct pq_value *v, struct outmap *m,
                             struct ignis_label *ls, size_t nls, bool drop_name)
{
    uint64_t h = lbl_hash(ls, nls);
    if (m->cap < 2 * (v->n + 1)) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        while (cap < 2 * (v->n + 1))
            cap *= 2;
        size_t *slot = calloc(cap, sizeof *slot);
        if (!slot) {
            ev_oom(ev);
            return NULL;
        }
        for (size_t i = 0; i < v->n; i++) {
            size_t j = v->s[i].hash & (cap - 1);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = i + 1;
        }
        free(m->slot);
        m->slot = slot;
        m->cap = cap;
    }
    size_t j = h & (m->cap - 1);
    while (m->slot[j]) {
        struct pq_series *s = &v->s[m->slot[j] - 1];
        if (s->hash == h && lbl_equal(s->ls, s->nls, ls, nls)) {
            s->drop_name = s->drop_name || drop_name;
            return s;
        }
        j = (j + 1) & (m->cap - 1);
    }
    struct pq_series *s = val_add_series(ev, v, ls, nls, drop_name);
    if (!s)
        return NULL;
    m->slot[j] = v->n;
    return s;
}

/* ---- cursors over vector values ---------------------------------------------------------------
 */

int vcur_init(struct ev *ev, struct vcur *c, const struct pq_value *v)
{
    c->n = v->n;
    c->pos = calloc(v->n ? v->n : 1, sizeof *c->pos);
    if (!c->pos)
        return ev_oom(ev);
    return 0;
}

void vcur_free(struct vcur *c)
{
    free(c->pos);
    c->pos = NULL;
}

size_t vcur_at(struct vcur *c, const struct pq_value *v, int64_t ts, struct pq_sample *out)
{
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++) {
        struct pq_series *s = &v->s[i];
        size_t p = c->pos[i];
        while (p < s->n && s->t[p] < ts)
            p++;
        if (p < s->n && s->t[p] == ts) {
            out[k].src = s;
            out[k].v = s->v[p];
            k++;
            p++;
        }
        c->pos[i] = p;
    }
    return k;
}

/* ---- storage --------------------------------------------------------------------------------- */

const struct pq_node *ev_unparen(const struct pq_node *n)
{
    while (n && n->kind == N_PAREN)
        n = n->paren.expr;
    return n;
}

int64_t ev_at_time(const struct ev *ev, enum pq_at at, int64_t at_ms, int64_t ts)
{
    switch (at) {
    case PQ_AT_TS:
        return at_ms;
    case PQ_AT_START:
        return ev->qstart;
    case PQ_AT_END:
        return ev->qend;
    default:
        return ts;
    }
}

static int resolve_dur(struct ev *ev, const struct pq_dur *d, int64_t *out)
{
    if (!d->expr || d->expr->kind == N_NUMBER) {
        *out = d->ms;
        return 0;
    }
    double s = pq_dur_eval(d->expr, ev->qstep, ev->qend - ev->qstart);
    if (!pq_dur_to_ms(s, out))
        return ev_error(ev, IGNIS_QERR_BAD_DATA, "invalid duration expression result");
    return 0;
}

/* Raw samples of every series matching vs with mint <= t <= maxt, with the stale
 * markers kept (keep_stale) or dropped. Fills ra->s. */
static int select_raw(struct ev *ev, const struct pq_node *vs, int64_t mint, int64_t maxt,
                      bool keep_stale, struct rangearg *ra)
{
    const struct ignis_storage_ops *ops = ev->in->ops;
    struct ignis_select_hints hints = {.start = mint, .end = maxt, .step = ev->step};
    struct ignis_series_set *set = NULL;
    int rc = ops->select(ev->q, vs->vs.sel.matchers, vs->vs.sel.n, &hints, &set);
    if (rc != 0)
        return ev_error(ev, IGNIS_QERR_EXECUTION, "select failed: %s", ignis_strerror(rc));
    size_t cap = 0;
    size_t hint = 16; /* first capacity of a series' arrays: the previous one's length */
    ra->owned = true;
    for (;;) {
        struct ignis_series ser;
        rc = ops->set_next(set, &ser);
        if (rc < 0) {
            ops->set_close(set);
            return ev_error(ev, IGNIS_QERR_EXECUTION, "reading series failed: %s",
                            ignis_strerror(rc));
        }
        if (rc == 0)
            break;
        /* the other thread's series: skipped before any sample is read */
        if (ev->after_ls) {
            if (ignis_labels_cmp(ser.labels, ser.nlabels, ev->after_ls, ev->after_n) <= 0)
                continue;
            ev->after_ls = NULL; /* in label order: all the rest are after it */
        }
        if (ev->shard && ((ignis_labels_hash(ser.labels, ser.nlabels) >> 11) & 1) !=
                             (uint64_t)(ev->shard - 1))
            continue;
        if (ev_check(ev) < 0) {
            ops->set_close(set);
            return -1;
        }
        if (ra->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct rawser *ns = realloc(ra->s, cap * sizeof *ns);
            if (!ns) {
                ops->set_close(set);
                return ev_oom(ev);
            }
            ra->s = ns;
        }
        struct rawser *r = &ra->s[ra->n];
        memset(r, 0, sizeof *r);
        r->ls = lbl_copy(ev, ser.labels, ser.nlabels);
        if (!r->ls) {
            ops->set_close(set);
            return -1;
        }
        r->nls = ser.nlabels;
        ra->n++;
        size_t rcap = 0;
        if (ev->spare_t) {
            r->t = ev->spare_t;
            r->v = ev->spare_v;
            rcap = ev->spare_cap;
            ev->spare_t = NULL;
            ev->spare_v = NULL;
        }
        for (;;) {
            /* the storage writes straight into the series' arrays; filtered in place */
            if (rcap == r->n) {
                rcap = rcap ? rcap * 2 : hint;
                int64_t *nt = realloc(r->t, rcap * sizeof *nt);
                if (!nt) {
                    ops->set_close(set);
                    return ev_oom(ev);
                }
                r->t = nt;
                double *nv = realloc(r->v, rcap * sizeof *nv);
                if (!nv) {
                    ops->set_close(set);
                    return ev_oom(ev);
                }
                r->v = nv;
            }
            size_t room = rcap - r->n < PQ_SAMPLE_BATCH ? rcap - r->n : PQ_SAMPLE_BATCH;
            struct ignis_sample_batch into = {.t = r->t + r->n, .v = r->v + r->n, .cap = room};
            long got = ops->set_samples(set, mint, maxt, &into);
            if (got < 0) {
                ops->set_close(set);
                return ev_error(ev, IGNIS_QERR_EXECUTION, "reading samples failed: %s",
                                ignis_strerror((int)got));
            }
            if (got == 0)
                break;
            size_t w = r->n;
            for (long i = 0; i < got; i++) {
                int64_t t = into.t[i];
                double x = into.v[i];
                if (t < mint || t > maxt)
                    continue;
                if (!keep_stale && pq_is_stale(x))
                    continue;
                r->t[w] = t;
                r->v[w] = x;
                w++;
            }
            r->n = w;
            ra->counted += (uint64_t)got;
            ev->total_samples += (uint64_t)got; /* read from storage */
            if (count_samples(ev, (uint64_t)got) < 0) {
                ops->set_close(set);
                return -1;
            }
        }
        if (r->n + 4 > hint)
            hint = r->n + 4;
        if (ev->split)
            ev_split(ev, r, ra->n);
        if (ev->each_series) {
            if (ev->each_series(ev, ra, r) < 0) {
                ops->set_close(set);
                return -1;
            }
            ev->spare_t = r->t;
            ev->spare_v = r->v;
            ev->spare_cap = rcap;
            r->t = NULL;
            r->v = NULL;
        }
    }
    ops->set_close(set);
    return 0;
}

int ev_select_raw(struct ev *ev, const struct pq_node *vs, int64_t mint, int64_t maxt,
                  bool keep_stale, struct rangearg *ra);
int ev_select_raw(struct ev *ev, const struct pq_node *vs, int64_t mint, int64_t maxt,
                  bool keep_stale, struct rangearg *ra)
{
    return select_raw(ev, vs, mint, maxt, keep_stale, ra);
}

void rangearg_free(struct ev *ev, struct rangearg *ra)
{
    ev->cur_samples = ev->cur_samples >= ra->counted ? ev->cur_samples - ra->counted : 0;
    if (ra->owned) {
        for (size_t i = 0; i < ra->n; i++) {
            free(ra->s[i].t);
            free(ra->s[i].v);
        }
    }
    free(ra->s);
    memset(ra, 0, sizeof *ra);
}

/* Index of the last sample with t <= x (or -1). */
static long last_le(const int64_t *t, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

/* An instant vector selector over every step: the newest sample in (t - lookback, t]
 * unless it is a stale marker. want_ts: the value is the sample's timestamp in seconds
 * (for timestamp()). smoothed: linear interpolation between the samples around t. */
int ev_selector_points(struct ev *ev, const struct pq_node *vs, bool want_ts, struct pq_value *out)
{
    int64_t offset;
    if (resolve_dur(ev, &vs->vs.offset, &offset) < 0)
        return -1;
    int64_t lb = ev->o->lookback_ms;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t t = ev_at_time(ev, vs->vs.at, vs->vs.at_ms, ev_step_ts(ev, k)) - offset;
        if (t < tmin)
            tmin = t;
        if (t > tmax)
            tmax = t;
    }
    struct rangearg ra = {0};
    int64_t maxt = vs->vs.smoothed ? tmax + lb : tmax;
    if (select_raw(ev, vs, tmin - lb + 1, maxt, true, &ra) < 0) {
        rangearg_free(ev, &ra);
        return -1;
    }
    out->type = PQ_T_VECTOR;
    for (size_t i = 0; i < ra.n && ev->err == IGNIS_QERR_NONE; i++) {
        struct rawser *r = &ra.s[i];
        struct pq_series *s = NULL;
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev_step_ts(ev, k);
            int64_t t = ev_at_time(ev, vs->vs.at, vs->vs.at_ms, ts) - offset;
            long j = last_le(r->t, r->n, t);
            double v;
            int64_t st;
            if (vs->vs.smoothed) {
                /* the samples just before and after t within the lookback, interpolated */
                long a = j;
                while (a >= 0 && pq_is_stale(r->v[a]))
                    a = -1;
                size_t b = (size_t)(j + 1);
                bool hasb = b < r->n && r->t[b] < t + lb && !pq_is_stale(r->v[b]);
                bool hasa = a >= 0 && r->t[a] > t - lb;
                if (hasa && r->t[a] == t) {
                    v = r->v[a];
                } else if (hasa && hasb) {
                    double f = (double)(t - r->t[a]) / (double)(r->t[b] - r->t[a]);
                    v = r->v[a] + (r->v[b] - r->v[a]) * f;
                } else if (hasa) {
                    v = r->v[a];
                } else {
                    continue;
                }
                st = t;
            } else {
                if (j < 0 || r->t[j] <= t - lb || pq_is_stale(r->v[j]))
                    continue;
                v = r->v[j];
                st = r->t[j];
            }
            if (!s) {
                s = val_add_series(ev, out, r->ls, r->nls, false);
                if (!s)
                    break;
            }
            if (series_push(ev, s, ts, want_ts ? (double)st / 1000.0 : v) < 0)
                break;
        }
        if (ev_check(ev) < 0)
            break;
    }
    rangearg_free(ev, &ra);
    return ev->err == IGNIS_QERR_NONE ? 0 : -1;
}

/* ---- subqueries ------------------------------------------------------------------------------ */

/* Evaluates the inner expression of a subquery over its own aligned steps covering every
 * outer step's window; the result's points become the range argument's samples. */
static int eval_subquery(struct ev *ev, const struct pq_node *n, struct rangearg *ra)
{
    int64_t range, step, offset = 0;
    if (resolve_dur(ev, &n->sq.range, &range) < 0)
        return -1;
    if (n->sq.step_set) {
        if (resolve_dur(ev, &n->sq.step, &step) < 0)
            return -1;
    } else {
        step = ev->o->subquery_step_ms;
    }
    if (n->sq.offset_set && resolve_dur(ev, &n->sq.offset, &offset) < 0)
        return -1;
    if (step <= 0)
        return ev_error(ev, IGNIS_QERR_BAD_DATA, "subquery step must be greater than 0");
    int64_t first = ev_at_time(ev, n->sq.at, n->sq.at_ms, ev->start);
    int64_t last = ev_at_time(ev, n->sq.at, n->sq.at_ms, ev->end);
    if (n->sq.at != PQ_AT_NONE)
        first = last;
    int64_t from = first - offset - range;
    int64_t nstart = step * (from / step);
    if (nstart <= from)
        nstart += step;
    int64_t nend = last - offset;
    /* the number of steps, before anything is allocated for them */
    uint64_t nsteps = nend >= nstart ? ((uint64_t)nend - (uint64_t)nstart) / (uint64_t)step + 1 : 0;
    uint64_t bound = ev->o->max_samples ? ev->o->max_samples : 100000000ULL;
    if (nsteps > bound)
        return ev_error(ev, IGNIS_QERR_EXECUTION,
                        "query processing would load too many samples into memory in query "
                        "execution");
    /* save and switch the evaluation range */
    int64_t os = ev->start, oe = ev->end, ost = ev->step;
    size_t on = ev->nsteps;
    ev->start = nstart;
    ev->end = nend;
    ev->step = step;
    ev->nsteps = (size_t)nsteps;
    struct pq_value v = {0};
    int rc = 0;
    if (ev->nsteps > 0)
        rc = ev_eval(ev, n->sq.expr, &v);
    if (rc == 0 && v.type == PQ_T_SCALAR) {
        /* a scalar subquery: one series without labels */
        struct pq_value vv = {.type = PQ_T_VECTOR};
        struct pq_series *s = val_add_series(ev, &vv, NULL, 0, false);
        for (size_t k = 0; s && k < ev->nsteps; k++)
            if (series_push(ev, s, ev_step_ts(ev, k), v.scalar[k]) < 0)
                break;
        val_free(ev, &v);
        v = vv;
    }
    ev->start = os;
    ev->end = oe;
    ev->step = ost;
    ev->nsteps = on;
    if (rc < 0 || ev->err != IGNIS_QERR_NONE) {
        val_free(ev, &v);
        return -1;
    }
    ra->range = range;
    ra->offset = offset;
    ra->at = n->sq.at;
    ra->at_ms = n->sq.at_ms;
    ra->owned = true;
    ra->s = calloc(v.n ? v.n : 1, sizeof *ra->s);
    if (!ra->s) {
        val_free(ev, &v);
        return ev_oom(ev);
    }
    for (size_t i = 0; i < v.n; i++) {
        struct pq_series *s = &v.s[i];
        ra->counted += s->n; /* the points move here, still counted */
        ra->s[i] = (struct rawser){
            .ls = s->ls, .nls = s->nls, .drop_name = s->drop_name, .t = s->t, .v = s->v, .n = s->n};
        s->t = NULL;
        s->v = NULL;
    }
    ra->n = v.n;
    free(v.s);
    return 0;
}

/* A range-vector argument: a range selector (samples from storage without stale markers)
 * or a subquery, possibly in parentheses. */
int ev_rangearg(struct ev *ev, const struct pq_node *arg, struct rangearg *ra)
{
    memset(ra, 0, sizeof *ra);
    arg = ev_unparen(arg);
    if (arg->kind == N_SUBQUERY)
        return eval_subquery(ev, arg, ra);
    if (arg->kind != N_MATRIX)
        return ev_error(ev, IGNIS_QERR_BAD_DATA, "expected a range vector");
    const struct pq_node *vs = arg->ms.vs;
    if (resolve_dur(ev, &arg->ms.range, &ra->range) < 0)
        return -1;
    if (resolve_dur(ev, &vs->vs.offset, &ra->offset) < 0)
        return -1;
    ra->at = vs->vs.at;
    ra->at_ms = vs->vs.at_ms;
    ra->anchored = vs->vs.anchored;
    ra->smoothed = vs->vs.smoothed;
    ra->vs = vs;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t t = ev_at_time(ev, ra->at, ra->at_ms, ev_step_ts(ev, k)) - ra->offset;
        if (t < tmin)
            tmin = t;
        if (t > tmax)
            tmax = t;
    }
    if (ev->nsteps == 0)
        return 0;
    int64_t mint = tmin - ra->range + 1, maxt = tmax;
    if (ra->anchored || ra->smoothed)
        mint -= ev->o->lookback_ms;
    if (ra->smoothed)
        maxt += ev->o->lookback_ms;
    return select_raw(ev, vs, mint, maxt, false, ra);
}

/* ---- top of the walk ------------------------------------------------------------------------- */

static int eval_binary(struct ev *ev, const struct pq_node *n, struct pq_value *out);
static int eval_agg(struct ev *ev, const struct pq_node *n, struct pq_value *out);

/* A range vector as a value (instant queries of `foo[5m]` or a subquery): every sample in
 * each step's window, with its own timestamp. Only meaningful for one step. */
static int eval_matrix_value(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    struct rangearg ra;
    if (ev_rangearg(ev, n, &ra) < 0) {
        rangearg_free(ev, &ra);
        return -1;
    }
    out->type = PQ_T_MATRIX;
    int64_t ts = ev_step_ts(ev, 0);
    int64_t end = ev_at_time(ev, ra.at, ra.at_ms, ts) - ra.offset;
    int64_t start = end - ra.range;
    for (size_t i = 0; i < ra.n; i++) {
        struct rawser *r = &ra.s[i];
        struct pq_series *s = NULL;
        for (size_t j = 0; j < r->n; j++) {
            if (r->t[j] <= start || r->t[j] > end)
                continue;
            if (!s && !(s = val_add_series(ev, out, r->ls, r->nls, r->drop_name)))
                break;
            if (series_push(ev, s, r->t[j], r->v[j]) < 0)
                break;
        }
    }
    rangearg_free(ev, &ra);
    return ev->err == IGNIS_QERR_NONE ? 0 : -1;
}

int ev_eval(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    memset(out, 0, sizeof *out);
    if (ev_check(ev) < 0)
        return -1;
    switch (n->kind) {
    case N_NUMBER:
        if (val_scalar_alloc(ev, out) < 0)
            return -1;
        for (size_t k = 0; k < ev->nsteps; k++)
            out->scalar[k] = n->num.v;
        return 0;
    case N_STRING:
        out->type = PQ_T_STRING;
        out->str = ev_strdup(ev, n->str.s, n->str.len);
        return out->str ? 0 : -1;
    case N_PAREN:
        return ev_eval(ev, n->paren.expr, out);
    case N_VECTOR:
        return ev_selector_points(ev, n, false, out);
    case N_MATRIX:
    case N_SUBQUERY:
        return eval_matrix_value(ev, n, out);
    case N_CALL:
        return ev_eval_call(ev, n, out);
    case N_AGG:
        return eval_agg(ev, n, out);
    case N_BINARY:
        return eval_binary(ev, n, out);
    case N_UNARY:
        if (ev_eval(ev, n->un.expr, out) < 0)
            return -1;
        if (n->un.op == TK_SUB) {
            if (out->type == PQ_T_SCALAR) {
                for (size_t k = 0; k < ev->nsteps; k++)
                    out->scalar[k] = -out->scalar[k];
            } else {
                for (size_t i = 0; i < out->n; i++) {
                    struct pq_series *s = &out->s[i];
                    for (size_t j = 0; j < s->n; j++)
                        s->v[j] = -s->v[j];
                    s->drop_name = true;
                }
            }
        }
        return 0;
    }
    return ev_error(ev, IGNIS_QERR_INTERNAL, "unknown node");
}

/* ---- binary operators ---------------------------------------------------------------------------
 */

/* Applies a float operator; returns whether the element is kept (comparisons filter). */
static bool binop(enum pq_tok op, double l, double r, double *out)
{
    switch (op) {
    case TK_ADD:
        *out = l + r;
        return true;
    case TK_SUB:
        *out = l - r;
        return true;
    case TK_MUL:
        *out = l * r;
        return true;
    case TK_DIV:
        *out = l / r;
        return true;
    case TK_POW:
        *out = pow(l, r);
        return true;
    case TK_MOD:
        *out = fmod(l, r);
        return true;
    case TK_ATAN2:
        *out = atan2(l, r);
        return true;
    case TK_EQLC:
        *out = l;
        return l == r;
    case TK_NEQ:
        *out = l;
        return l != r;
    case TK_GTR:
        *out = l;
        return l > r;
    case TK_LSS:
        *out = l;
        return l < r;
    case TK_GTE:
        *out = l;
        return l >= r;
    case TK_LTE:
        *out = l;
        return l <= r;
    default:
        *out = NAN;
        return false; /* trim operators apply to histograms only */
    }
}

static bool drops_name(const struct pq_node *n)
{
    return !pq_is_comparison(n->bin.op) || n->bin.ret_bool;
}

static int eval_scalar_scalar(struct ev *ev, const struct pq_node *n, struct pq_value *l,
                              struct pq_value *r, struct pq_value *out)
{
    *out = *l;
    memset(l, 0, sizeof *l);
    for (size_t k = 0; k < ev->nsteps; k++) {
        double v;
        bool keep = binop(n->bin.op, out->scalar[k], r->scalar[k], &v);
        if (n->bin.ret_bool)
            v = keep ? 1 : 0;
        out->scalar[k] = v;
    }
    val_free(ev, r);
    return 0;
}

static int eval_vector_scalar(struct ev *ev, const struct pq_node *n, struct pq_value *vec,
                              const double *sc, bool scalar_left, struct pq_value *out)
{
    out->type = PQ_T_VECTOR;
    bool cmp = pq_is_comparison(n->bin.op);
    bool drop = drops_name(n);
    for (size_t i = 0; i < vec->n; i++) {
        struct pq_series *in = &vec->s[i];
        struct pq_series *s = NULL;
        for (size_t j = 0; j < in->n; j++) {
            size_t k = (size_t)((in->t[j] - ev->start) / (ev->step ? ev->step : 1));
            double l = in->v[j], r = sc[k], v;
            if (scalar_left) {
                l = sc[k];
                r = in->v[j];
            }
            bool keep = binop(n->bin.op, l, r, &v);
            if (cmp && scalar_left)
                v = in->v[j];
            if (n->bin.ret_bool) {
                v = keep ? 1 : 0;
                keep = true;
            }
            if (!keep)
                continue;
            if (!s && !(s = val_add_series(ev, out, in->ls, in->nls, in->drop_name || drop)))
                return -1;
            if (series_push(ev, s, in->t[j], v) < 0)
                return -1;
        }
    }
    return 0;
}

/* Matching signature of a label set: on(...) keeps the listed labels; otherwise every
 * label except the listed ones and __name__. */
static uint64_t signature(struct ev *ev, const struct pq_node *n, const struct pq_series *s,
                          struct ignis_label **out_ls, size_t *out_n)
{
    size_t k;
    struct ignis_label *ls;
    if (n->bin.on)
        ls = lbl_keep(ev, s->ls, s->nls, n->bin.match.names, n->bin.match.n, &k);
    else
        ls = lbl_without(ev, s->ls, s->nls, n->bin.match.names, n->bin.match.n, 1, &k);
    if (!ls)
        return 0;
    if (out_ls) {
        *out_ls = ls;
        *out_n = k;
    }
    return lbl_hash(ls, k);
}

struct sigent {
    uint64_t sig;
    size_t idx; /* sample index on its side */
    bool used;
};

static int cmp_sig(const void *a, const void *b)
{
    const struct sigent *x = a, *y = b;
    if (x->sig != y->sig)
        return x->sig < y->sig ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx ? 1 : 0;
}

static struct sigent *find_sig(struct sigent *e, size_t n, uint64_t sig)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e[mid].sig < sig)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && e[lo].sig == sig ? &e[lo] : NULL;
}

/* Result labels of a matched pair: from the "many" (or left) side, with on/ignoring
 * applied for one-to-one matching and group_x labels copied from the "one" side. */
static struct ignis_label *result_labels(struct ev *ev, const struct pq_node *n,
                                         const struct ignis_label *ll, size_t nll,
                                         const struct ignis_label *rl, size_t nrl, size_t *nout)
{
    struct ignis_label *ls;
    size_t k;
    if (n->bin.card == PQ_CARD_ONE_TO_ONE) {
        if (n->bin.on)
            ls = lbl_keep(ev, ll, nll, n->bin.match.names, n->bin.match.n, &k);
        else
            ls = lbl_without(ev, ll, nll, n->bin.match.names, n->bin.match.n, 0, &k);
    } else {
        ls = pq_alloc(ev->arena, (nll ? nll : 1) * sizeof *ls);
        if (!ls) {
            ev_oom(ev);
            return NULL;
        }
        if (nll)
            memcpy(ls, ll, nll * sizeof *ls);
        k = nll;
    }
    if (!ls)
        return NULL;
    for (size_t i = 0; i < n->bin.include.n; i++) {
        const char *name = n->bin.include.names[i];
        const struct ignis_label *v = lbl_get(rl, nrl, name);
        ls = lbl_set(ev, ls, k, name, strlen(name), v ? v->value : "", v ? v->value_len : 0, &k);
        if (!ls)
            return NULL;
    }
    *nout = k;
    return ls;
}

static int dup_error(struct ev *ev, struct ignis_label *sigls, size_t nsig,
                     const struct pq_series *a, const struct pq_series *b, const char *side)
{
    struct pq_buf x = {0}, y = {0}, g = {0};
    lbl_string(&g, sigls, nsig);
    lbl_string(&x, a->ls, a->nls);
    lbl_string(&y, b->ls, b->nls);
    /* the pair in a stable, sorted order */
    const char *p1 = x.p ? x.p : "", *p2 = y.p ? y.p : "";
    if (ignis_labels_cmp(a->ls, a->nls, b->ls, b->nls) > 0) {
        const char *t = p1;
        p1 = p2;
        p2 = t;
    }
    ev_error(ev, IGNIS_QERR_EXECUTION,
             "found duplicate series for the match group %s on the %s hand-side of the "
             "operation: [%s, %s];many-to-many matching not allowed: matching labels must be "
             "unique on one side",
             g.p ? g.p : "{}", side, p1, p2);
    free(x.p);
    free(y.p);
    free(g.p);
    return -1;
}

static int eval_vector_vector(struct ev *ev, const struct pq_node *n, struct pq_value *lv,
                              struct pq_value *rv, struct pq_value *out)
{
    out->type = PQ_T_VECTOR;
    enum pq_tok op = n->bin.op;
    bool swap = n->bin.card == PQ_CARD_ONE_TO_MANY;
    /* "left" below is the many side (or the written left for one-to-one) */
    struct pq_value *L = swap ? rv : lv, *R = swap ? lv : rv;
    struct vcur cl = {0}, cr = {0};
    struct pq_sample *sl = NULL, *sr = NULL;
    struct sigent *el = NULL, *er = NULL;
    struct outmap om = {0};
    uint64_t *sigL = NULL, *sigR = NULL;
    int rc = -1;
    if (vcur_init(ev, &cl, L) < 0 || vcur_init(ev, &cr, R) < 0)
        goto out;
    sl = malloc((L->n ? L->n : 1) * sizeof *sl);
    sr = malloc((R->n ? R->n : 1) * sizeof *sr);
    el = malloc((L->n ? L->n : 1) * sizeof *el);
    er = malloc((R->n ? R->n : 1) * sizeof *er);
    if (!sl || !sr || !el || !er) {
        ev_oom(ev);
        goto out;
    }
    /* signatures per series, computed once */
    sigL = malloc((L->n ? L->n : 1) * sizeof *sigL);
    sigR = malloc((R->n ? R->n : 1) * sizeof *sigR);
    if (!sigL || !sigR) {
        ev_oom(ev);
        goto out;
    }
    for (size_t i = 0; i < L->n; i++)
        sigL[i] = signature(ev, n, &L->s[i], NULL, NULL);
    for (size_t i = 0; i < R->n; i++)
        sigR[i] = signature(ev, n, &R->s[i], NULL, NULL);
    /* fill_left gives a missing left (many-side, after the swap for group_right) operand,
     * fill_right a missing right one */
    bool fill_l = n->bin.fill_left;
    bool fill_r = n->bin.fill_right;
    double fill_lv = n->bin.fill_left_v, fill_rv = n->bin.fill_right_v;
    bool set_op = pq_is_set_op(op);
    for (size_t k = 0; k < ev->nsteps && ev_check(ev) == 0; k++) {
        int64_t ts = ev_step_ts(ev, k);
        size_t nl = vcur_at(&cl, L, ts, sl);
        size_t nr = vcur_at(&cr, R, ts, sr);
        for (size_t i = 0; i < nl; i++)
            el[i] = (struct sigent){sigL[sl[i].src - L->s], i, false};
        for (size_t i = 0; i < nr; i++)
            er[i] = (struct sigent){sigR[sr[i].src - R->s], i, false};
        qsort(el, nl, sizeof *el, cmp_sig);
        qsort(er, nr, sizeof *er, cmp_sig);
        if (set_op) {
            if (op == TK_LAND || op == TK_LUNLESS) {
                for (size_t i = 0; i < nl; i++) {
                    bool found = find_sig(er, nr, el[i].sig) != NULL;
                    if (found != (op == TK_LAND))
                        continue;
                    struct pq_sample *s = &sl[el[i].idx];
                    struct pq_series *o =
                        out_series(ev, out, &om, s->src->ls, s->src->nls, s->src->drop_name);
                    if (!o || series_push(ev, o, ts, s->v) < 0)
                        goto out;
                }
            } else { /* or */
                for (size_t i = 0; i < nl; i++) {
                    struct pq_sample *s = &sl[i];
                    struct pq_series *o =
                        out_series(ev, out, &om, s->src->ls, s->src->nls, s->src->drop_name);
                    if (!o || series_push(ev, o, ts, s->v) < 0)
                        goto out;
                }
                for (size_t i = 0; i < nr; i++) {
                    if (find_sig(el, nl, er[i].sig))
                        continue;
                    struct pq_sample *s = &sr[er[i].idx];
                    struct pq_series *o =
                        out_series(ev, out, &om, s->src->ls, s->src->nls, s->src->drop_name);
                    if (!o || series_push(ev, o, ts, s->v) < 0)
                        goto out;
                }
            }
            continue;
        }
        /* the "one" side must be unique per signature */
        for (size_t i = 1; i < nr; i++) {
            if (er[i].sig == er[i - 1].sig) {
                struct ignis_label *g;
                size_t ng;
                signature(ev, n, sr[er[i].idx].src, &g, &ng);
                dup_error(ev, g, ng, sr[er[i - 1].idx].src, sr[er[i].idx].src,
                          swap ? "left" : "right");
                goto out;
            }
        }
        if (n->bin.card == PQ_CARD_ONE_TO_ONE) {
            for (size_t i = 1; i < nl; i++) {
                if (el[i].sig == el[i - 1].sig && find_sig(er, nr, el[i].sig)) {
                    ev_error(ev, IGNIS_QERR_EXECUTION,
                             "multiple matches for labels: many-to-one matching must be explicit "
                             "(group_left/group_right)");
                    goto out;
                }
            }
        }
        for (size_t i = 0; i < nl; i++) {
            struct pq_sample *ls = &sl[el[i].idx];
            struct sigent *m = find_sig(er, nr, el[i].sig);
            const struct pq_series *rsrc;
            double rval;
            struct ignis_label *synth = NULL;
            size_t nsynth = 0;
            if (m) {
                m->used = true;
                rsrc = sr[m->idx].src;
                rval = sr[m->idx].v;
            } else if (fill_r) {
                signature(ev, n, ls->src, &synth, &nsynth);
                rsrc = NULL;
                rval = fill_rv;
            } else {
                continue;
            }
            double l = ls->v, r = rval, v;
            if (swap) {
                l = rval;
                r = ls->v;
            }
            bool keep = binop(op, l, r, &v);
            if (n->bin.ret_bool) {
                v = keep ? 1 : 0;
                keep = true;
            }
            if (!keep)
                continue;
            size_t nres;
            struct ignis_label *res =
                result_labels(ev, n, ls->src->ls, ls->src->nls, rsrc ? rsrc->ls : synth,
                              rsrc ? rsrc->nls : nsynth, &nres);
            if (!res)
                goto out;
            bool drop = drops_name(n) || ls->src->drop_name;
            size_t before = out->n;
            struct pq_series *o = out_series(ev, out, &om, res, nres, drop);
            if (!o)
                goto out;
            if (o->n > 0 && o->t[o->n - 1] == ts && out->n == before) {
                if (n->bin.card == PQ_CARD_ONE_TO_ONE)
                    ev_error(ev, IGNIS_QERR_EXECUTION,
                             "multiple matches for labels: many-to-one matching must be explicit "
                             "(group_left/group_right)");
                else
                    ev_error(ev, IGNIS_QERR_EXECUTION,
                             "multiple matches for labels: grouping labels must ensure unique "
                             "matches");
                goto out;
            }
            if (series_push(ev, o, ts, v) < 0)
                goto out;
        }
        if (fill_l) {
            /* right-side elements without a match: the left is filled */
            for (size_t i = 0; i < nr; i++) {
                if (er[i].used)
                    continue;
                if (find_sig(el, nl, er[i].sig))
                    continue;
                struct pq_sample *rs = &sr[er[i].idx];
                struct ignis_label *synth;
                size_t nsynth;
                signature(ev, n, rs->src, &synth, &nsynth);
                if (!synth)
                    goto out;
                double l = fill_lv, r = rs->v, v;
                if (swap) {
                    l = rs->v;
                    r = fill_lv;
                }
                bool keep = binop(op, l, r, &v);
                if (n->bin.ret_bool) {
                    v = keep ? 1 : 0;
                    keep = true;
                }
                if (!keep)
                    continue;
                size_t nres;
                struct ignis_label *res =
                    result_labels(ev, n, synth, nsynth, rs->src->ls, rs->src->nls, &nres);
                if (!res)
                    goto out;
                struct pq_series *o = out_series(ev, out, &om, res, nres, true);
                if (!o || series_push(ev, o, ts, v) < 0)
                    goto out;
            }
        }
    }
    rc = ev->err == IGNIS_QERR_NONE ? 0 : -1;
out:
    free(sigL);
    free(sigR);
    vcur_free(&cl);
    vcur_free(&cr);
    free(sl);
    free(sr);
    free(el);
    free(er);
    outmap_free(&om);
    return rc;
}

static int eval_binary(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    struct pq_value l = {0}, r = {0};
    if (ev_eval(ev, n->bin.lhs, &l) < 0)
        return -1;
    if (ev_eval(ev, n->bin.rhs, &r) < 0) {
        val_free(ev, &l);
        return -1;
    }
    int rc;
    if (l.type == PQ_T_SCALAR && r.type == PQ_T_SCALAR) {
        return eval_scalar_scalar(ev, n, &l, &r, out);
    } else if (l.type == PQ_T_VECTOR && r.type == PQ_T_SCALAR) {
        rc = eval_vector_scalar(ev, n, &l, r.scalar, false, out);
    } else if (l.type == PQ_T_SCALAR && r.type == PQ_T_VECTOR) {
        rc = eval_vector_scalar(ev, n, &r, l.scalar, true, out);
    } else {
        rc = eval_vector_vector(ev, n, &l, &r, out);
    }
    val_free(ev, &l);
    val_free(ev, &r);
    if (rc < 0)
        val_free(ev, out);
    return rc;
}

/* ---- aggregation
 * ---------------------------------------------------------------------------------- */

struct group {
    struct ignis_label *ls;
    size_t nls;
    uint64_t hash;
    bool drop_name;
    /* accumulators */
    double sum, c, mean, m2, cnt;
    bool seen;
    size_t out1; /* index + 1 of its output series once it has one (0: none yet) */
    /* for topk/bottomk/quantile/limitk: member samples */
    size_t *members;
    size_t nmembers, capmembers;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x))
        return isnan(y) ? 0 : -1;
    if (isnan(y))
        return 1;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Prometheus' quantile over a set of values: NaN smallest, linear interpolation at rank
 * q*(n-1); q < 0 gives -Inf, q > 1 +Inf, NaN q gives NaN. */
double pq_quantile(double q, double *vals, size_t n);
double pq_quantile(double q, double *vals, size_t n)
{
    if (n == 0 || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(vals, n, sizeof *vals, cmp_double);
    double rank = q * (double)(n - 1);
    size_t lower = (size_t)fmax(0, floor(rank));
    size_t upper = (size_t)fmin((double)(n - 1), lower + 1);
    double weight = rank - floor(rank);
    return vals[lower] * (1 - weight) + vals[upper] * weight;
}

struct agg_state {
    struct group *g;
    size_t ng, capg;
    size_t *slot;
    size_t capslot;
};

static struct group *agg_group(struct ev *ev, struct agg_state *st, struct ignis_label *ls,
                               size_t nls)
{
    uint64_t h = lbl_hash(ls, nls);
    if (st->capslot < 2 * (st->ng + 1)) {
        size_t cap = st->capslot ? st->capslot * 2 : 64;
        size_t *slot = calloc(cap, sizeof *slot);
        if (!slot) {
            ev_oom(ev);
            return NULL;
        }
        for (size_t i = 0; i < st->ng; i++) {
            size_t j = st->g[i].hash & (cap - 1);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = i + 1;
        }
        free(st->slot);
        st->slot = slot;
        st->capslot = cap;
    }
    size_t j = h & (st->capslot - 1);
    while (st->slot[j]) {
        struct group *g = &st->g[st->slot[j] - 1];
        if (g->hash == h && lbl_equal(g->ls, g->nls, ls, nls))
            return g;
        j = (j + 1) & (st->capslot - 1);
    }
    if (st->ng == st->capg) {
        size_t cap = st->capg ? st->capg * 2 : 16;
        struct group *g = realloc(st->g, cap * sizeof *g);
        if (!g) {
            ev_oom(ev);
            return NULL;
        }
        st->g = g;
        st->capg = cap;
    }
    struct group *g = &st->g[st->ng++];
    memset(g, 0, sizeof *g);
    g->ls = ls;
    g->nls = nls;
    g->hash = h;
    st->slot[j] = st->ng;
    return g;
}

static int group_add_member(struct ev *ev, struct group *g, size_t idx)
{
    if (g->nmembers == g->capmembers) {
        size_t cap = g->capmembers ? g->capmembers * 2 : 8;
        size_t *m = realloc(g->members, cap * sizeof *m);
        if (!m)
            return ev_oom(ev);
        g->members = m;
        g->capmembers = cap;
    }
    g->members[g->nmembers++] = idx;
    return 0;
}

static void agg_state_reset(struct agg_state *st)
{
    for (size_t i = 0; i < st->ng; i++)
        free(st->g[i].members);
    st->ng = 0;
    if (st->slot)
        memset(st->slot, 0, st->capslot * sizeof *st->slot);
}

static void agg_state_free(struct agg_state *st)
{
    agg_state_reset(st);
    free(st->g);
    free(st->slot);
}

/* The grouping labels of a series for an aggregation. */
static struct ignis_label *group_labels(struct ev *ev, const struct pq_node *n,
                                        const struct pq_series *s, size_t *k)
{
    if (n->agg.without)
        return lbl_without(ev, s->ls, s->nls, n->agg.grouping.names, n->agg.grouping.n, 2, k);
    return lbl_keep(ev, s->ls, s->nls, n->agg.grouping.names, n->agg.grouping.n, k);
}

/* Orders for topk (descending, NaN last) and bottomk (ascending, NaN last). */
struct kent {
    double v;
    size_t idx;
};
static int cmp_top(const void *a, const void *b)
{
    const struct kent *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    if (x->v != y->v && !isnan(x->v))
        return x->v > y->v ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}
static int cmp_bottom(const void *a, const void *b)
{
    const struct kent *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    if (x->v != y->v && !isnan(x->v))
        return x->v < y->v ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* limitk/limit_ratio pick series by a hash of their labels: deterministic and
 * independent of order. ratio r selects the series whose hash falls below |r| of the
 * hash space (from the other end when r < 0). */
static double hash_ratio(uint64_t h)
{
    return (double)h / 18446744073709551616.0;
}

/* Cells (groups x steps) an aggregation may take to run series by series: 24 MiB. */
#define AGG_CELLS_MAX (1u << 20)

/* sum, count, group, min, max, stddev and stdvar for every step at once, series by series:
 * each series' points are read in order (the step-major loop reads one point of every
 * series per step, all over memory). Per group and step, the samples are taken in series
 * order as the step-major loop takes them, so the sums are the same to the bit; output
 * series come in the order that loop creates them (by the first step with a sample, then
 * by the first series there). gid: each series' group in st. */

/* Folds x into a running sum, min, max or (stddev, stdvar) mean that now counts cnt
 * values: *v is the sum with its Kahan compensation in *aux, the min or max, or
 * Welford's running mean with the squared deviations in *aux. */
static inline void agg_fold(enum pq_tok op, double x, double cnt, double *v, double *aux)
{
    switch (op) {
    case TK_SUM:
        *v = kahan_inc(x, *v, aux);
        break;
    case TK_MIN:
        if (*v > x || isnan(*v))
            *v = x;
        break;
    case TK_MAX:
        if (*v < x || isnan(*v))
            *v = x;
        break;
    case TK_STDDEV:
    case TK_STDVAR: {
        double delta = x - *v;
        *v += delta / cnt;
        *aux += delta * (x - *v);
        break;
    }
    default:
        break;
    }
}
static int agg_by_series(struct ev *ev, enum pq_tok op, const struct pq_value *v,
                         const struct agg_state *st, const size_t *gid, struct pq_value *out)
{
    size_t ng = st->ng, ns = ev->nsteps;
    struct cell {
        double a, b, cnt; /* sum, compensation | min/max | mean, m2; samples */
    } *cells = calloc(ng && ns ? ng * ns : 1, sizeof *cells);
    size_t *kfirst = malloc((ng ? ng : 1) * sizeof *kfirst);
    size_t *ifirst = malloc((ng ? ng : 1) * sizeof *ifirst);
    size_t *order = malloc((ng ? ng : 1) * sizeof *order);
    bool *drop = calloc(ng ? ng : 1, sizeof *drop);
    int rc = -1;
    if (!cells || !kfirst || !ifirst || !order || !drop) {
        ev_oom(ev);
        goto out;
    }
    for (size_t g = 0; g < ng; g++)
        kfirst[g] = SIZE_MAX;
    for (size_t i = 0; i < v->n; i++) {
        if (ev_check(ev) < 0)
            goto out;
        const struct pq_series *s = &v->s[i];
        size_t g = gid[i], kf = SIZE_MAX;
        struct cell *row = cells + g * ns;
        for (size_t p = 0; p < s->n; p++) {
            int64_t t = s->t[p];
            if (t < ev->start || t > ev->end)
                continue;
            size_t k = ev->step > 0 ? (size_t)((t - ev->start) / ev->step) : 0;
            if (k >= ns || ev_step_ts(ev, k) != t)
                continue;
            if (kf == SIZE_MAX)
                kf = k;
            double x = s->v[p];
            struct cell *c = &row[k];
            if (c->cnt == 0) {
                c->a = (op == TK_MIN || op == TK_MAX) ? x : 0;
                c->b = 0;
            }
            c->cnt += 1;
            agg_fold(op, x, c->cnt, &c->a, &c->b);
        }
        if (kf == SIZE_MAX)
            continue;
        if (kf < kfirst[g]) {
            kfirst[g] = kf;
            ifirst[g] = i;
        }
        if (s->drop_name)
            drop[g] = true;
    }
    size_t no = 0;
    for (size_t g = 0; g < ng; g++)
        if (kfirst[g] != SIZE_MAX)
            order[no++] = g;
    /* insertion by (kfirst, ifirst): groups are few where this path runs */
    for (size_t x = 1; x < no; x++) {
        size_t g = order[x], y = x;
        while (y > 0 && (kfirst[order[y - 1]] > kfirst[g] ||
                         (kfirst[order[y - 1]] == kfirst[g] && ifirst[order[y - 1]] > ifirst[g]))) {
            order[y] = order[y - 1];
            y--;
        }
        order[y] = g;
    }
    for (size_t x = 0; x < no; x++) {
        size_t g = order[x];
        const struct group *gr = &st->g[g];
        struct pq_series *o = val_add_series(ev, out, gr->ls, gr->nls, drop[g]);
        if (!o || series_reserve(ev, o, ns - kfirst[g]) < 0)
            goto out;
        const struct cell *row = cells + g * ns;
        for (size_t k = kfirst[g]; k < ns; k++) {
            const struct cell *c = &row[k];
            if (c->cnt == 0)
                continue;
            double val;
            switch (op) {
            case TK_SUM:
                val = isinf(c->a) ? c->a : c->a + c->b;
                break;
            case TK_COUNT:
                val = c->cnt;
                break;
            case TK_GROUP:
                val = 1;
                break;
            case TK_STDVAR:
                val = c->b / c->cnt;
                break;
            case TK_STDDEV:
                val = sqrt(c->b / c->cnt);
                break;
            default: /* min, max */
                val = c->a;
                break;
            }
            if (series_push1(ev, o, ev_step_ts(ev, k), val) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    free(cells);
    free(kfirst);
    free(ifirst);
    free(order);
    free(drop);
    return rc;
}

static int eval_agg(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    enum pq_tok op = n->agg.op;
    struct pq_value pv = {0}, v = {0};
    if (n->agg.param && ev_eval(ev, n->agg.param, &pv) < 0)
        return -1;
    if (ev_eval(ev, n->agg.expr, &v) < 0) {
        val_free(ev, &pv);
        return -1;
    }
    out->type = PQ_T_VECTOR;
    struct vcur cur = {0};
    struct pq_sample *smp = NULL;
    struct agg_state st = {0};
    struct outmap om = {0};
    double *vals = NULL;
    struct kent *ks = NULL;
    int rc = -1;
    /* per series: its group labels (computed once) */
    struct ignis_label **gls = calloc(v.n ? v.n : 1, sizeof *gls);
    size_t *ngls = calloc(v.n ? v.n : 1, sizeof *ngls);
    /* Groups do not depend on the step except for count_values: every series' group is
     * found once (gid), and a step touches groups by index (touched, in the order of
     * their first sample at that step, which is the order of the output). */
    bool fixed_groups = op != TK_COUNT_VALUES;
    size_t *gid = calloc(v.n ? v.n : 1, sizeof *gid);
    size_t *touched = malloc((v.n ? v.n : 1) * sizeof *touched);
    size_t ntouched = 0;
    smp = malloc((v.n ? v.n : 1) * sizeof *smp);
    vals = malloc((v.n ? v.n : 1) * sizeof *vals);
    ks = malloc((v.n ? v.n : 1) * sizeof *ks);
    if (!gls || !ngls || !gid || !touched || !smp || !vals || !ks ||
        vcur_init(ev, &cur, &v) < 0) {
        ev_oom(ev);
        goto out;
    }
    bool keeps_series =
        op == TK_TOPK || op == TK_BOTTOMK || op == TK_LIMITK || op == TK_LIMIT_RATIO;
    for (size_t i = 0; i < v.n; i++) {
        gls[i] = group_labels(ev, n, &v.s[i], &ngls[i]);
        if (!gls[i])
            goto out;
        if (fixed_groups) {
            struct group *g = agg_group(ev, &st, gls[i], ngls[i]);
            if (!g)
                goto out;
            gid[i] = (size_t)(g - st.g);
        }
    }
    if ((op == TK_SUM || op == TK_COUNT || op == TK_GROUP || op == TK_MIN || op == TK_MAX ||
         op == TK_STDDEV || op == TK_STDVAR) &&
        (uint64_t)st.ng * ev->nsteps <= AGG_CELLS_MAX) {
        rc = agg_by_series(ev, op, &v, &st, gid, out);
        goto out;
    }
    const char *cv_label = NULL;
    size_t cv_len = 0;
    if (op == TK_COUNT_VALUES) {
        cv_label = pv.str;
        cv_len = strlen(cv_label);
        if (!ignis_utf8_valid(cv_label, cv_len) || cv_len == 0) {
            struct pq_buf b = {0};
            pq_buf_quote(&b, cv_label, cv_len);
            ev_error(ev, IGNIS_QERR_EXECUTION, "invalid label name %s", b.p ? b.p : "");
            free(b.p);
            goto out;
        }
    }
    for (size_t k = 0; k < ev->nsteps; k++) {
        if (ev_check(ev) < 0)
            goto out;
        int64_t ts = ev_step_ts(ev, k);
        size_t ns = vcur_at(&cur, &v, ts, smp);
        double param = pv.scalar ? pv.scalar[k] : 0;
        if ((op == TK_TOPK || op == TK_BOTTOMK || op == TK_LIMITK) && isnan(param)) {
            ev_error(ev, IGNIS_QERR_EXECUTION, "Parameter value is NaN");
            goto out;
        }
        if (op == TK_LIMIT_RATIO && isnan(param)) {
            ev_error(ev, IGNIS_QERR_EXECUTION, "Ratio value is NaN");
            goto out;
        }
        if (ns == 0)
            continue;
        if (op == TK_QUANTILE && (param < 0 || param > 1 || isnan(param))) {
            char pb[64];
            struct pq_buf b = {0};
            pq_buf_float(&b, param);
            snprintf(pb, sizeof pb, "%s", b.p ? b.p : "");
            free(b.p);
            ev_warn(ev, n->agg.param, "quantile value should be between 0 and 1, got %s", pb);
        }
        if (op == TK_LIMIT_RATIO && (param < -1 || param > 1)) {
            double capped = param < -1 ? -1 : 1;
            struct pq_buf b = {0};
            pq_buf_float(&b, param);
            ev_warn(ev, n->agg.param,
                    "ratio value should be between -1 and 1, got %s, capping to %s", b.p ? b.p : "",
                    capped < 0 ? "-1" : "1");
            free(b.p);
            param = capped;
        }
        if (!fixed_groups)
            agg_state_reset(&st);
        ntouched = 0;
        for (size_t i = 0; i < ns; i++) {
            size_t si = (size_t)(smp[i].src - v.s);
            struct ignis_label *gl = gls[si];
            size_t ngl = ngls[si];
            struct group *g;
            if (fixed_groups) {
                g = &st.g[gid[si]];
            } else {
                struct pq_buf b = {0};
                pq_buf_float(&b, smp[i].v);
                char *val = b.p ? ev_strdup(ev, b.p, b.len) : NULL;
                size_t vl = b.len;
                free(b.p);
                if (!val)
                    goto out;
                gl = lbl_set(ev, gl, ngl, cv_label, cv_len, val, vl, &ngl);
                if (!gl)
                    goto out;
                g = agg_group(ev, &st, gl, ngl);
                if (!g)
                    goto out;
            }
            double x = smp[i].v;
            if (!g->seen) {
                g->seen = true;
                g->drop_name = false;
                g->nmembers = 0;
                touched[ntouched++] = (size_t)(g - st.g);
                g->cnt = 0;
                g->sum = 0;
                g->c = 0;
                g->mean = 0;
                g->m2 = 0;
                switch (op) {
                case TK_MIN:
                case TK_MAX:
                    g->sum = x;
                    break;
                default:
                    break;
                }
            }
            if (smp[i].src->drop_name)
                g->drop_name = true;
            g->cnt += 1;
            switch (op) {
            case TK_SUM:
            case TK_MIN:
            case TK_MAX:
                agg_fold(op, x, g->cnt, &g->sum, &g->c);
                break;
            case TK_AVG:
                g->sum = kahan_inc(x, g->sum, &g->c);
                if (group_add_member(ev, g, i) < 0)
                    goto out;
                break;
            case TK_STDDEV:
            case TK_STDVAR:
                agg_fold(op, x, g->cnt, &g->mean, &g->m2);
                break;
            case TK_TOPK:
            case TK_BOTTOMK:
            case TK_QUANTILE:
            case TK_LIMITK:
            case TK_LIMIT_RATIO:
                if (group_add_member(ev, g, i) < 0)
                    goto out;
                break;
            default:
                break;
            }
        }
        for (size_t ti = 0; ti < ntouched; ti++) {
            struct group *g = &st.g[touched[ti]];
            g->seen = false; /* for the next step */
            if (keeps_series) {
                size_t m = g->nmembers;
                for (size_t j = 0; j < m; j++) {
                    ks[j].idx = g->members[j];
                    ks[j].v = smp[g->members[j]].v;
                }
                size_t take = 0;
                if (op == TK_TOPK || op == TK_BOTTOMK) {
                    qsort(ks, m, sizeof *ks, op == TK_TOPK ? cmp_top : cmp_bottom);
                    if (param >= 1)
                        take = param >= (double)m ? m : (size_t)param;
                } else if (op == TK_LIMITK) {
                    /* a deterministic subset: the members in label-hash order */
                    for (size_t j = 0; j < m; j++)
                        ks[j].v = hash_ratio(smp[ks[j].idx].src->hash);
                    qsort(ks, m, sizeof *ks, cmp_bottom);
                    if (param >= 1)
                        take = param >= (double)m ? m : (size_t)param;
                } else {
                    size_t w = 0;
                    for (size_t j = 0; j < m; j++) {
                        double r = hash_ratio(smp[ks[j].idx].src->hash);
                        bool in = param >= 0 ? r < param : r >= 1.0 + param;
                        if (in)
                            ks[w++] = ks[j];
                    }
                    take = w;
                }
                for (size_t j = 0; j < take; j++) {
                    struct pq_series *src = smp[ks[j].idx].src;
                    struct pq_series *o =
                        out_series(ev, out, &om, src->ls, src->nls, src->drop_name);
                    if (!o || series_push(ev, o, ts, smp[ks[j].idx].v) < 0)
                        goto out;
                }
                continue;
            }
            double val = 0;
            switch (op) {
            case TK_SUM:
                val = isinf(g->sum) ? g->sum : g->sum + g->c;
                break;
            case TK_AVG: {
                double s = isinf(g->sum) ? g->sum : g->sum + g->c;
                bool anyinf = false;
                for (size_t j = 0; j < g->nmembers; j++)
                    if (isinf(smp[g->members[j]].v))
                        anyinf = true;
                if (isinf(s) && !anyinf) {
                    /* the sum overflowed: add up the shares instead */
                    double m = 0, cc = 0;
                    for (size_t j = 0; j < g->nmembers; j++)
                        m = kahan_inc(smp[g->members[j]].v / g->cnt, m, &cc);
                    val = m + cc;
                } else {
                    val = s / g->cnt;
                }
                break;
            }
            case TK_COUNT:
            case TK_COUNT_VALUES:
                val = g->cnt;
                break;
            case TK_GROUP:
                val = 1;
                break;
            case TK_MIN:
            case TK_MAX:
                val = g->sum;
                break;
            case TK_STDVAR:
                val = g->m2 / g->cnt;
                break;
            case TK_STDDEV:
                val = sqrt(g->m2 / g->cnt);
                break;
            case TK_QUANTILE:
                for (size_t j = 0; j < g->nmembers; j++)
                    vals[j] = smp[g->members[j]].v;
                val = pq_quantile(param, vals, g->nmembers);
                break;
            default:
                break;
            }
            struct pq_series *o;
            if (fixed_groups && g->out1) {
                o = &out->s[g->out1 - 1];
                o->drop_name = o->drop_name || g->drop_name;
            } else {
                o = out_series(ev, out, &om, g->ls, g->nls, g->drop_name);
                if (!o)
                    goto out;
                if (o->cap == 0 && ev->nsteps > 1 && series_reserve(ev, o, ev->nsteps - k) < 0)
                    goto out;
                g->out1 = (size_t)(o - out->s) + 1;
            }
            if (series_push1(ev, o, ts, val) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    agg_state_free(&st);
    outmap_free(&om);
    vcur_free(&cur);
    free(gls);
    free(ngls);
    free(gid);
    free(touched);
    free(smp);
    free(vals);
    free(ks);
    val_free(ev, &v);
    val_free(ev, &pv);
    if (rc < 0)
        val_free(ev, out);
    return rc;
}
