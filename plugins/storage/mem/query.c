/* plugins/storage/mem/query.c — the mem storage's read side: queriers with snapshot
 * visibility, series sets that pin the chunks they hand out, label names and values,
 * metadata and exemplar queries. Readers never block appends longer than one series. */
#include <stdlib.h>
#include <string.h>
#include "mem.h"

struct ignis_querier {
    struct mem *m;
    struct reg reg;
    int64_t mint, maxt;
    atomic_uint refs; /* the caller's, plus one per open series set */
};

struct pin {
    struct chunk *c;
    uint32_t n; /* samples of c this set reads */
};

struct sentry {
    struct series *s;
    size_t pin0, npins;
    int64_t lo, hi; /* the samples this set shows: querier range and snapshot */
};

struct ignis_series_set {
    struct ignis_querier *q;
    struct sentry *e;
    size_t n, cur; /* cur: 1 + index of the current series; 0 before the first */
    struct pin *pins;
    size_t npins, cappins;
    struct ignis_label *lbuf;
    size_t lcap;
    size_t ci;   /* sample cursor: pin index within the current series */
    uint32_t si; /* sample index within that chunk; UINT32_MAX: not positioned */
};

struct ignis_querier *mem_querier(void *instance, int64_t mint, int64_t maxt)
{
    struct mem *m = instance;
    struct ignis_querier *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->m = m;
    q->mint = mint;
    q->maxt = maxt;
    atomic_init(&q->refs, 1);
    reg_add(m, &m->queriers, &q->reg);
    return q;
}

static void querier_release(struct ignis_querier *q)
{
    if (atomic_fetch_sub(&q->refs, 1) == 1) {
        reg_del(q->m, &q->m->queriers, &q->reg);
        free(q);
    }
}

void mem_querier_close(struct ignis_querier *q)
{
    if (q)
        querier_release(q);
}

/* The upper bound of what q may see of s. Series lock held. */
static int64_t q_hi(const struct ignis_querier *q, const struct series *s)
{
    int64_t lim = series_vis_limit(s, q->reg.seq);
    return lim < q->maxt ? lim : q->maxt;
}

/* True when q sees a sample of s. */
static bool q_has_data(const struct ignis_querier *q, const struct series *s)
{
    pthread_mutex_t *mu = series_lock(q->m, s);
    pthread_mutex_lock(mu);
    bool ok = series_has_data(s, q->mint, q_hi(q, s));
    pthread_mutex_unlock(mu);
    return ok;
}

/* The series matching ms that q sees a sample of, in ref order. idx_lock held (read). */
static int q_series(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                    struct series ***out, size_t *nout)
{
    uint64_t *refs;
    size_t nrefs;
    *out = NULL;
    *nout = 0;
    int rc = index_select(&q->m->ix, ms, n, &refs, &nrefs);
    if (rc)
        return rc;
    struct series **ss = malloc((nrefs ? nrefs : 1) * sizeof *ss);
    if (!ss) {
        free(refs);
        return IGNIS_E_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < nrefs; i++) {
        struct series *s = index_find_ref(&q->m->ix, refs[i]);
        if (s && q_has_data(q, s))
            ss[k++] = s;
    }
    free(refs);
    *out = ss;
    *nout = k;
    return 0;
}

static int pins_add(struct ignis_series_set *set, struct chunk *c, uint32_t n)
{
    if (set->npins == set->cappins) {
        size_t ncap = set->cappins ? set->cappins * 2 : 64;
        struct pin *np = realloc(set->pins, ncap * sizeof *np);
        if (!np)
            return IGNIS_E_NOMEM;
        set->pins = np;
        set->cappins = ncap;
    }
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    set->pins[set->npins++] = (struct pin){c, n};
    return 0;
}

static int cmp_sentry(const void *a, const void *b)
{
    return series_cmp(((const struct sentry *)a)->s, ((const struct sentry *)b)->s);
}

void mem_set_close(struct ignis_series_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->npins; i++)
        chunk_unref(set->pins[i].c);
    free(set->pins);
    free(set->e);
    free(set->lbuf);
    querier_release(set->q);
    free(set);
}

int mem_select(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
               const struct ignis_select_hints *hints, struct ignis_series_set **out)
{
    struct mem *m = q->m;
    *out = NULL;
    struct ignis_series_set *set = calloc(1, sizeof *set);
    if (!set)
        return IGNIS_E_NOMEM;
    set->q = q;
    atomic_fetch_add(&q->refs, 1);
    uint64_t *refs = NULL;
    size_t nrefs = 0;

    pthread_rwlock_rdlock(&m->idx_lock);
    int rc = index_select(&m->ix, ms, n, &refs, &nrefs);
    if (rc == 0 && nrefs && !(set->e = malloc(nrefs * sizeof *set->e)))
        rc = IGNIS_E_NOMEM;
    size_t maxls = 0;
    for (size_t i = 0; rc == 0 && i < nrefs; i++) {
        struct series *s = index_find_ref(&m->ix, refs[i]);
        if (!s)
            continue;
        pthread_mutex_t *mu = series_lock(m, s);
        pthread_mutex_lock(mu);
        /* Pin every chunk holding a sample q sees, with the count written so far. */
        struct sentry e = {.s = s, .pin0 = set->npins, .lo = q->mint, .hi = q_hi(q, s)};
        for (uint32_t k = 0; e.lo <= e.hi && k < s->nchunks; k++) {
            struct chunk *c = s->chunks[k];
            if (c->n == 0 || c->t[c->n - 1] < e.lo)
                continue;
            if (c->t[0] > e.hi)
                break;
            uint32_t j = chunk_seek(c, c->n, e.lo);
            if (j == c->n || c->t[j] > e.hi)
                continue;
            if ((rc = pins_add(set, c, c->n)) != 0)
                break;
        }
        pthread_mutex_unlock(mu);
        e.npins = set->npins - e.pin0;
        if (e.npins) {
            set->e[set->n++] = e;
            if (s->nls > maxls)
                maxls = s->nls;
        }
    }
    pthread_rwlock_unlock(&m->idx_lock);
    free(refs);
    if (rc == 0 && maxls && !(set->lbuf = malloc(maxls * sizeof *set->lbuf)))
        rc = IGNIS_E_NOMEM;
    if (rc) {
        mem_set_close(set);
        return rc;
    }
    set->lcap = maxls;
    if (set->n > 1)
        qsort(set->e, set->n, sizeof *set->e, cmp_sentry);
    if (hints && hints->limit && set->n > hints->limit)
        set->n = hints->limit; /* pins of the rest are released at close */
    *out = set;
    return 0;
}

int mem_set_next(struct ignis_series_set *set, struct ignis_series *s)
{
    if (set->cur >= set->n)
        return 0;
    const struct sentry *e = &set->e[set->cur++];
    series_labels(e->s, set->lbuf);
    s->labels = set->lbuf;
    s->nlabels = e->s->nls;
    s->ref = e->s->ref;
    set->ci = 0;
    set->si = UINT32_MAX;
    return 1;
}

long mem_set_samples(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                     struct ignis_sample_batch *b)
{
    if (!b || !b->t || !b->v || b->cap == 0)
        return IGNIS_E_INVALID;
    if (set->cur == 0 || set->cur > set->n)
        return 0;
    const struct sentry *e = &set->e[set->cur - 1];
    int64_t lo = mint > e->lo ? mint : e->lo, hi = maxt < e->hi ? maxt : e->hi;
    size_t out = 0;
    while (out < b->cap && set->ci < e->npins && lo <= hi) {
        const struct pin *p = &set->pins[e->pin0 + set->ci];
        if (set->si == UINT32_MAX)
            set->si = chunk_seek(p->c, p->n, lo);
        uint32_t end = hi == INT64_MAX ? p->n : chunk_seek(p->c, p->n, hi + 1);
        if (set->si < end) {
            size_t k = end - set->si;
            if (k > b->cap - out)
                k = b->cap - out;
            memcpy(b->t + out, p->c->t + set->si, k * sizeof *b->t);
            memcpy(b->v + out, p->c->v + set->si, k * sizeof *b->v);
            out += k;
            set->si += (uint32_t)k;
        }
        if (set->si >= end) {
            if (end < p->n) { /* past hi: nothing later can be in range */
                set->ci = e->npins;
                break;
            }
            set->ci++;
            set->si = UINT32_MAX;
        }
    }
    return (long)out;
}

int mem_set_chunk(struct ignis_series_set *set, int64_t mint, int64_t maxt, struct ignis_chunk *c)
{
    return IGNIS_E_NOTSUP; /* mem keeps raw samples, no encoded chunks */
}

/* Emits the distinct symbols of ys (sorted), at most limit of them (0: all). */
static void emit_syms(struct sym **ys, size_t n, size_t limit,
                      void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    if (n > 1)
        qsort(ys, n, sizeof *ys, symp_cmp);
    size_t emitted = 0;
    for (size_t i = 0; i < n && (!limit || emitted < limit); i++) {
        if (i && ys[i] == ys[i - 1])
            continue;
        fn(arg, ys[i]->s, ys[i]->len);
        emitted++;
    }
}

struct symvec {
    struct sym **v;
    size_t n, cap;
};

static int symvec_add(struct symvec *sv, struct sym *y)
{
    if (sv->n == sv->cap) {
        size_t ncap = sv->cap ? sv->cap * 2 : 32;
        struct sym **nv = realloc(sv->v, ncap * sizeof *nv);
        if (!nv)
            return IGNIS_E_NOMEM;
        sv->v = nv;
        sv->cap = ncap;
    }
    sv->v[sv->n++] = y;
    return 0;
}

/* True when some series of lv is seen by q. */
static bool lvalue_seen(struct ignis_querier *q, const struct lvalue *lv)
{
    for (size_t i = 0; i < lv->p.n; i++) {
        struct series *s = index_find_ref(&q->m->ix, lv->p.ids[i]);
        if (s && q_has_data(q, s))
            return true;
    }
    return false;
}

/* Strings handed to fn are symbols of series q may see: the querier's registration
 * keeps them alive after idx_lock is released, so fn runs without any lock held. */
int mem_label_names(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n, size_t limit,
                    void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    struct mem *m = q->m;
    struct symvec sv = {0};
    int rc = 0;
    pthread_rwlock_rdlock(&m->idx_lock);
    if (n == 0) {
        size_t it = 0;
        struct lname *ln;
        while (rc == 0 && (ln = ptab_iter(&m->ix.names, &it))) {
            size_t vit = 0;
            struct lvalue *lv;
            while ((lv = ptab_iter(&ln->values, &vit)))
                if (lvalue_seen(q, lv)) {
                    rc = symvec_add(&sv, ln->name);
                    break;
                }
        }
    } else {
        struct series **ss;
        size_t nss;
        rc = q_series(q, ms, n, &ss, &nss);
        for (size_t i = 0; rc == 0 && i < nss; i++)
            for (uint32_t j = 0; rc == 0 && j < ss[i]->nls; j++)
                rc = symvec_add(&sv, ss[i]->ls[2 * j]);
        free(ss);
    }
    pthread_rwlock_unlock(&m->idx_lock);
    if (rc == 0)
        emit_syms(sv.v, sv.n, limit, fn, arg);
    free(sv.v);
    return rc;
}

int mem_label_values(struct ignis_querier *q, const char *name, size_t name_len,
                     const struct ignis_matcher *ms, size_t n, size_t limit,
                     void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    struct mem *m = q->m;
    struct symvec sv = {0};
    int rc = 0;
    if (!name)
        return IGNIS_E_INVALID;
    pthread_rwlock_rdlock(&m->idx_lock);
    struct lname *ln = index_lname(&m->ix, name, name_len);
    if (ln && n == 0) {
        size_t nv;
        struct sym *const *vals = lname_sorted(ln, &nv);
        if (!vals && ln->values.n)
            rc = IGNIS_E_NOMEM;
        for (size_t i = 0; rc == 0 && i < nv && (!limit || sv.n < limit); i++)
            if (lvalue_seen(q, lname_value(ln, vals[i])))
                rc = symvec_add(&sv, vals[i]);
    } else if (ln) {
        struct series **ss;
        size_t nss;
        rc = q_series(q, ms, n, &ss, &nss);
        for (size_t i = 0; rc == 0 && i < nss; i++)
            for (uint32_t j = 0; rc == 0 && j < ss[i]->nls; j++)
                if (ss[i]->ls[2 * j] == ln->name)
                    rc = symvec_add(&sv, ss[i]->ls[2 * j + 1]);
        free(ss);
    }
    pthread_rwlock_unlock(&m->idx_lock);
    if (rc == 0)
        emit_syms(sv.v, sv.n, limit, fn, arg);
    free(sv.v);
    return rc;
}

/* ---- metadata and exemplars ---------------------------------------------------------- */

static int cmp_meta(const void *a, const void *b)
{
    return strcmp((*(struct meta *const *)a)->name, (*(struct meta *const *)b)->name);
}

int mem_metadata(void *instance, const char *metric, size_t limit,
                 void (*fn)(void *arg, const char *metric, const struct ignis_metadata *md),
                 void *arg)
{
    struct mem *m = instance;
    struct meta **copies = NULL;
    size_t n = 0;
    int rc = 0;
    pthread_mutex_lock(&m->meta_mu);
    copies = calloc(m->meta.n ? m->meta.n : 1, sizeof *copies);
    if (!copies)
        rc = IGNIS_E_NOMEM;
    size_t it = 0;
    struct meta *md;
    while (rc == 0 && (md = ptab_iter(&m->meta, &it))) {
        if (metric && strcmp(metric, md->name) != 0)
            continue;
        struct meta *c = calloc(1, sizeof *c);
        if (!c || !(c->name = strdup(md->name)) || !(c->help = strdup(md->help)) ||
            !(c->unit = strdup(md->unit))) {
            if (c) {
                free(c->name);
                free(c->help);
            }
            free(c);
            rc = IGNIS_E_NOMEM;
            break;
        }
        c->type = md->type;
        copies[n++] = c;
    }
    pthread_mutex_unlock(&m->meta_mu);
    if (rc == 0) {
        qsort(copies, n, sizeof *copies, cmp_meta);
        for (size_t i = 0; i < n && (!limit || i < limit); i++) {
            struct ignis_metadata out = {copies[i]->type, copies[i]->help, copies[i]->unit};
            fn(arg, copies[i]->name, &out);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(copies[i]->name);
        free(copies[i]->help);
        free(copies[i]->unit);
        free(copies[i]);
    }
    free(copies);
    return rc;
}

/* One exemplar found for the query, copied out of the ring. */
struct exhit {
    size_t order; /* rank of its series among the selected, by labels */
    size_t seq;   /* position in the ring, oldest first (ties of t keep ring order) */
    struct ex_slot ex;
};

static int cmp_exhit(const void *a, const void *b)
{
    const struct exhit *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    if (x->ex.t != y->ex.t)
        return x->ex.t < y->ex.t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct refrank {
    uint64_t ref;
    size_t order;
};

static int cmp_refrank(const void *a, const void *b)
{
    uint64_t x = ((const struct refrank *)a)->ref, y = ((const struct refrank *)b)->ref;
    return x < y ? -1 : x > y;
}

static int cmp_seriesp(const void *a, const void *b)
{
    return series_cmp(*(struct series *const *)a, *(struct series *const *)b);
}

static struct ignis_label *dup_labels(const struct ignis_label *ls, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += ls[i].name_len + ls[i].value_len;
    struct ignis_label *c = malloc(n * sizeof *c + bytes + 1);
    if (!c)
        return NULL;
    char *p = (char *)(c + n);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, ls[i].name, ls[i].name_len);
        c[i].name = p;
        c[i].name_len = ls[i].name_len;
        p += ls[i].name_len;
        if (ls[i].value_len)
            memcpy(p, ls[i].value, ls[i].value_len);
        c[i].value = p;
        c[i].value_len = ls[i].value_len;
        p += ls[i].value_len;
    }
    return c;
}

int mem_exemplars(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
                  int64_t maxt,
                  void (*fn)(void *arg, const struct ignis_label *ls, size_t nls,
                             const struct ignis_exemplar *e),
                  void *arg)
{
    struct mem *m = instance;
    struct reg reg; /* keeps the selected series alive while fn runs unlocked */
    reg_add(m, &m->others, &reg);
    uint64_t *refs = NULL;
    size_t nrefs = 0, nhits = 0;
    struct series **ss = NULL;
    struct refrank *rank = NULL;
    struct exhit *hits = NULL;
    struct ignis_label *lbuf = NULL;
    int rc;

    pthread_rwlock_rdlock(&m->idx_lock);
    rc = index_select(&m->ix, ms, n, &refs, &nrefs);
    if (rc == 0 && nrefs && !(ss = malloc(nrefs * sizeof *ss)))
        rc = IGNIS_E_NOMEM;
    size_t nss = 0, maxls = 0;
    for (size_t i = 0; rc == 0 && i < nrefs; i++) {
        struct series *s = index_find_ref(&m->ix, refs[i]);
        if (!s)
            continue;
        ss[nss++] = s;
        if (s->nls > maxls)
            maxls = s->nls;
    }
    pthread_rwlock_unlock(&m->idx_lock);
    if (rc || nss == 0)
        goto done;
    qsort(ss, nss, sizeof *ss, cmp_seriesp);
    if (!(rank = malloc(nss * sizeof *rank)) || !(lbuf = malloc(maxls * sizeof *lbuf))) {
        rc = IGNIS_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < nss; i++)
        rank[i] = (struct refrank){ss[i]->ref, i};
    qsort(rank, nss, sizeof *rank, cmp_refrank);

    pthread_mutex_lock(&m->ex_mu);
    hits = calloc(m->ex_count ? m->ex_count : 1, sizeof *hits);
    if (!hits)
        rc = IGNIS_E_NOMEM;
    size_t oldest = m->ex_count == m->ex_cap ? m->ex_next : 0;
    for (size_t i = 0; rc == 0 && i < m->ex_count; i++) {
        const struct ex_slot *e = &m->ring[(oldest + i) % m->ex_cap];
        if (e->t < mint || e->t > maxt)
            continue;
        struct refrank key = {e->ref, 0};
        struct refrank *r = bsearch(&key, rank, nss, sizeof *rank, cmp_refrank);
        if (!r)
            continue;
        struct exhit *h = &hits[nhits];
        h->order = r->order;
        h->seq = i;
        h->ex = *e;
        if (!(h->ex.ls = dup_labels(e->ls, e->nls))) {
            rc = IGNIS_E_NOMEM;
            break;
        }
        nhits++;
    }
    pthread_mutex_unlock(&m->ex_mu);
    if (rc)
        goto done;
    qsort(hits, nhits, sizeof *hits, cmp_exhit);
    for (size_t i = 0; i < nhits; i++) {
        const struct series *s = ss[hits[i].order];
        series_labels(s, lbuf);
        struct ignis_exemplar ex = {hits[i].ex.ls, hits[i].ex.nls, hits[i].ex.v, hits[i].ex.t};
        fn(arg, lbuf, s->nls, &ex);
    }
done:
    for (size_t i = 0; i < nhits; i++)
        free(hits[i].ex.ls);
    free(hits);
    free(lbuf);
    free(rank);
    free(ss);
    free(refs);
    reg_del(m, &m->others, &reg);
    return rc;
}
