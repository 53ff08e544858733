/* plugins/storage/mem/append.c — the mem storage's appenders: label-set validation,
 * series lookup or creation, per-sample order and duplicate checks, buffering until
 * commit, and the commit itself (serialised, see mem.h), with exemplars and metadata. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"

static void atomic_max_i64(_Atomic int64_t *a, int64_t v)
{
    int64_t cur = atomic_load(a);
    while (cur < v && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

static const struct sym *series_name(const struct series *s)
{
    for (uint32_t i = 0; i < s->nls; i++)
        if (s->ls[2 * i]->len == 8 && memcmp(s->ls[2 * i]->s, IGNIS_METRIC_NAME, 8) == 0)
            return s->ls[2 * i + 1];
    return NULL;
}

struct pend {
    struct series *s;
    int64_t t;
    double v;
};

/* The newest pending sample and exemplar per series of an appender. */
struct aslot {
    struct series *s; /* NULL: empty */
    int64_t t;
    uint64_t vb;
    bool has_ex;
    int64_t ex_t;
    uint64_t ex_vb, ex_lh;
};

struct pex {
    struct series *s;
    int64_t t;
    double v;
    uint64_t lhash;
    struct ignis_label *ls; /* one allocation, moved into the ring at commit */
    size_t nls;
};

struct pmeta {
    struct series *s;
    enum ignis_metric_type type;
    char *help, *unit;
};

struct ignis_appender {
    struct mem *m;
    struct reg reg;
    struct pend *buf;
    size_t n, cap;
    struct aslot *map;
    size_t mapmask, mapn;
    struct pex *ex;
    size_t nex, capex;
    struct pmeta *meta;
    size_t nmeta, capmeta;
};

/* Appends touch one series per sample, almost always a cache miss: batches ask for the
 * series MEM_PREFETCH entries ahead (measured with tests/bench/bench_mem). */
#define MEM_PREFETCH 8

static inline void prefetch_series(const struct series *s)
{
    if (s) {
        __builtin_prefetch(s, 1);
        __builtin_prefetch((const char *)s + 64, 1);
    }
}

struct ignis_appender *mem_appender(void *instance)
{
    struct mem *m = instance;
    struct ignis_appender *a = NULL;
    pthread_mutex_lock(&m->pool_mu);
    if (m->npool)
        a = m->pool[--m->npool];
    pthread_mutex_unlock(&m->pool_mu);
    if (!a && !(a = calloc(1, sizeof *a)))
        return NULL;
    a->m = m;
    reg_add(m, &m->others, &a->reg);
    return a;
}

static void appender_destroy(struct ignis_appender *a)
{
    free(a->ex);
    free(a->meta);
    free(a->buf);
    free(a->map);
    free(a);
}

/* Ends an appender: its pending entries go, its arrays are kept in the instance's pool
 * for the next appender (a scrape-sized appender then allocates nothing). */
static void appender_free(struct ignis_appender *a)
{
    struct mem *m = a->m;
    reg_del(m, &m->others, &a->reg);
    for (size_t i = 0; i < a->nex; i++)
        free(a->ex[i].ls);
    for (size_t i = 0; i < a->nmeta; i++) {
        free(a->meta[i].help);
        free(a->meta[i].unit);
    }
    a->n = a->nex = a->nmeta = 0;
    if (a->cap > MEM_POOL_KEEP) {
        free(a->buf);
        a->buf = NULL;
        a->cap = 0;
    }
    if (a->map && a->mapmask + 1 > 2 * MEM_POOL_KEEP) {
        free(a->map);
        a->map = NULL;
        a->mapmask = 0;
    } else if (a->mapn) {
        memset(a->map, 0, (a->mapmask + 1) * sizeof *a->map);
    }
    a->mapn = 0;
    pthread_mutex_lock(&m->pool_mu);
    if (m->npool < MEM_APPENDER_POOL) {
        m->pool[m->npool++] = a;
        a = NULL;
    }
    pthread_mutex_unlock(&m->pool_mu);
    if (a)
        appender_destroy(a);
}

void appender_pool_free(struct mem *m)
{
    while (m->npool)
        appender_destroy(m->pool[--m->npool]);
}

static struct aslot *amap_find(struct ignis_appender *a, const struct series *s)
{
    if (!a->map)
        return NULL;
    size_t i = mem_hash_u64((uintptr_t)s) & a->mapmask;
    for (; a->map[i].s; i = (i + 1) & a->mapmask)
        if (a->map[i].s == s)
            return &a->map[i];
    return NULL;
}

/* The slot of s, created (with the series' committed state) when absent. */
static struct aslot *amap_get(struct ignis_appender *a, struct series *s)
{
    struct aslot *sl = amap_find(a, s);
    if (sl)
        return sl;
    size_t cap = a->map ? a->mapmask + 1 : 0;
    if ((a->mapn + 1) * 2 > cap) {
        size_t ncap = cap ? cap * 2 : 64;
        struct aslot *nm = calloc(ncap, sizeof *nm);
        if (!nm)
            return NULL;
        for (size_t i = 0; i < cap; i++) {
            if (!a->map[i].s)
                continue;
            size_t j = mem_hash_u64((uintptr_t)a->map[i].s) & (ncap - 1);
            while (nm[j].s)
                j = (j + 1) & (ncap - 1);
            nm[j] = a->map[i];
        }
        free(a->map);
        a->map = nm;
        a->mapmask = ncap - 1;
    }
    size_t i = mem_hash_u64((uintptr_t)s) & a->mapmask;
    while (a->map[i].s)
        i = (i + 1) & a->mapmask;
    sl = &a->map[i];
    pthread_mutex_t *mu = series_lock(a->m, s);
    pthread_mutex_lock(mu);
    sl->s = s;
    sl->t = s->last_t;
    sl->vb = s->last_vbits;
    sl->has_ex = false;
    sl->ex_t = s->ex_last_t;
    sl->ex_vb = s->ex_last_vbits;
    sl->ex_lh = s->ex_last_lhash;
    pthread_mutex_unlock(mu);
    a->mapn++;
    return sl;
}

static bool appender_full(const struct ignis_appender *a)
{
    return a->n + a->nex + a->nmeta >= MEM_APPENDER_MAX;
}

/* IGNIS_E_OUT_OF_BOUNDS for a sample retention would drop at once (older than the
 * newest sample minus retention_time), as Prometheus' head refuses samples below the
 * time it still accepts; IGNIS_E_INVALID for the no-timestamp marker. */
static int check_time(struct mem *m, int64_t t)
{
    if (t == IGNIS_NO_TIMESTAMP)
        return IGNIS_E_INVALID;
    int64_t ret = atomic_load_explicit(&m->retention_ms, memory_order_relaxed);
    if (ret > 0) {
        int64_t maxt = atomic_load_explicit(&m->max_time, memory_order_relaxed);
        if (maxt > INT64_MIN + ret && t < maxt - ret)
            return IGNIS_E_OUT_OF_BOUNDS;
    }
    return 0;
}

/* Checks a sample against the newest one committed or pending and buffers it. */
static int append_sample(struct ignis_appender *a, struct series *s, int64_t t, double v)
{
    int rc = check_time(a->m, t);
    if (rc)
        return rc;
    struct aslot *sl = amap_get(a, s);
    if (!sl)
        return IGNIS_E_NOMEM;
    uint64_t vb = vbits(v);
    if (sl->t != INT64_MIN) {
        if (t < sl->t)
            return IGNIS_E_OUT_OF_ORDER;
        if (t == sl->t) /* an identical repeat is accepted and dropped, as Prometheus does */
            return vb == sl->vb ? 0 : IGNIS_E_DUP_TS;
    }
    if (appender_full(a))
        return IGNIS_E_LIMIT;
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 256;
        struct pend *nb = realloc(a->buf, ncap * sizeof *nb);
        if (!nb)
            return IGNIS_E_NOMEM;
        a->buf = nb;
        a->cap = ncap;
    }
    a->buf[a->n++] = (struct pend){.s = s, .t = t, .v = v};
    sl->t = t;
    sl->vb = vb;
    return 0;
}

/* Validates a label set for append: names non-empty, sorted and unique, a non-empty
 * __name__, all valid UTF-8. Sets *has_empty when some other label has an empty value.
 * Such labels are kept as given, as Prometheus' TSDB keeps them (the scrape path drops
 * empty exposed labels before appending; PromQL's __unit__="" is expected back). */
static int check_labels(const struct ignis_label *ls, size_t n, bool *has_empty)
{
    bool named = false;
    *has_empty = false;
    if (!ls || n == 0 || n > UINT32_MAX / 2)
        return IGNIS_E_INVALID;
    for (size_t i = 0; i < n; i++) {
        const struct ignis_label *l = &ls[i];
        if (!l->name || l->name_len == 0 || (!l->value && l->value_len))
            return IGNIS_E_INVALID;
        if (!ignis_utf8_valid(l->name, l->name_len) ||
            (l->value_len && !ignis_utf8_valid(l->value, l->value_len)))
            return IGNIS_E_INVALID;
        if (i > 0) {
            const struct ignis_label *p = &ls[i - 1];
            size_t k = p->name_len < l->name_len ? p->name_len : l->name_len;
            int c = memcmp(p->name, l->name, k);
            if (c > 0 || (c == 0 && p->name_len >= l->name_len))
                return IGNIS_E_INVALID;
        }
        if (l->name_len == 8 && memcmp(l->name, IGNIS_METRIC_NAME, 8) == 0) {
            if (l->value_len == 0)
                return IGNIS_E_INVALID;
            named = true;
        } else if (l->value_len == 0) {
            *has_empty = true;
        }
    }
    return named ? 0 : IGNIS_E_INVALID;
}

/* Finds or creates the series of a valid label set. */
static int resolve(struct mem *m, const struct ignis_label *ls, size_t n, struct series **out)
{
    uint64_t h = ignis_labels_hash(ls, n);
    pthread_rwlock_rdlock(&m->idx_lock);
    struct series *s = index_find_labels(&m->ix, h, ls, n);
    pthread_rwlock_unlock(&m->idx_lock);
    if (s) {
        *out = s;
        return 0;
    }
    int rc = 0;
    pthread_rwlock_wrlock(&m->idx_lock);
    s = index_find_labels(&m->ix, h, ls, n);
    if (!s) {
        int64_t lim = atomic_load(&m->max_series);
        if (lim > 0 && m->ix.nseries >= (uint64_t)lim)
            rc = IGNIS_E_LIMIT;
        else if (!(s = index_add(&m->ix, h, ls, n)))
            rc = IGNIS_E_NOMEM;
    }
    pthread_rwlock_unlock(&m->idx_lock);
    *out = s;
    return rc;
}

int mem_append(struct ignis_appender *a, const struct ignis_label *labels, size_t n, int64_t t,
               double v, uint64_t *ref)
{
    bool has_empty;
    int rc = check_labels(labels, n, &has_empty);
    if (rc == 0)
        rc = check_time(a->m, t); /* before creating a series for nothing */
    if (rc)
        return rc;
    (void)has_empty;
    struct series *s;
    rc = resolve(a->m, labels, n, &s);
    if (rc)
        return rc;
    if (ref)
        *ref = s->ref;
    return append_sample(a, s, t, v);
}

size_t mem_append_refs(struct ignis_appender *a, const struct ignis_ref_sample *smp, size_t n,
                       int *errs)
{
    size_t ok = 0;
    pthread_rwlock_rdlock(&a->m->idx_lock);
    for (size_t i = 0; i < n; i++) {
        if (i + MEM_PREFETCH < n) /* series are cache misses: ask for them early */
            prefetch_series(index_find_ref(&a->m->ix, smp[i + MEM_PREFETCH].ref));
        struct series *s = index_find_ref(&a->m->ix, smp[i].ref);
        int rc = s ? append_sample(a, s, smp[i].t, smp[i].v) : IGNIS_E_REF_GONE;
        if (rc == 0)
            ok++;
        if (errs)
            errs[i] = rc;
    }
    pthread_rwlock_unlock(&a->m->idx_lock);
    return ok;
}

int mem_append_histogram(struct ignis_appender *a, uint64_t ref, const struct ignis_label *labels,
                         size_t n, int64_t t, const struct ignis_histogram *h, uint64_t *ref_out)
{
    return IGNIS_E_NOTSUP; /* mem keeps float samples only */
}

static struct series *find_ref(struct mem *m, uint64_t ref)
{
    pthread_rwlock_rdlock(&m->idx_lock);
    struct series *s = index_find_ref(&m->ix, ref);
    pthread_rwlock_unlock(&m->idx_lock);
    return s;
}

/* Start timestamps are accepted and not kept: mem synthesises no zero samples. */
int mem_append_start_ts(struct ignis_appender *a, uint64_t ref, int64_t t, int64_t st)
{
    return find_ref(a->m, ref) ? 0 : IGNIS_E_REF_GONE;
}

/* Number of UTF-8 characters (s is valid UTF-8). */
static size_t utf8_runes(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

int mem_append_exemplar(struct ignis_appender *a, uint64_t ref, const struct ignis_exemplar *e)
{
    struct mem *m = a->m;
    pthread_mutex_lock(&m->ex_mu);
    bool on = m->ex_cap > 0;
    pthread_mutex_unlock(&m->ex_mu);
    if (!on)
        return IGNIS_E_NOTSUP;
    if (!e || e->t == IGNIS_NO_TIMESTAMP || (e->nlabels && !e->labels))
        return IGNIS_E_INVALID;
    size_t runes = 0, bytes = 0;
    for (size_t i = 0; i < e->nlabels; i++) {
        const struct ignis_label *l = &e->labels[i];
        if (!l->name || !l->name_len || (!l->value && l->value_len) ||
            !ignis_utf8_valid(l->name, l->name_len) ||
            (l->value_len && !ignis_utf8_valid(l->value, l->value_len)))
            return IGNIS_E_INVALID;
        runes += utf8_runes(l->name, l->name_len) + utf8_runes(l->value, l->value_len);
        bytes += l->name_len + l->value_len;
    }
    if (runes > MEM_EXEMPLAR_MAX_RUNES)
        return IGNIS_E_INVALID;
    struct series *s = find_ref(m, ref);
    if (!s)
        return IGNIS_E_REF_GONE;
    struct aslot *sl = amap_get(a, s);
    if (!sl)
        return IGNIS_E_NOMEM;
    uint64_t lh = ignis_labels_hash(e->labels, e->nlabels), vb = vbits(e->value);
    if (sl->ex_t != INT64_MIN) {
        if (e->t == sl->ex_t && vb == sl->ex_vb && lh == sl->ex_lh)
            return 0; /* the same exemplar again: kept once */
        if (e->t <= sl->ex_t)
            return IGNIS_E_OUT_OF_ORDER;
    }
    if (appender_full(a))
        return IGNIS_E_LIMIT;
    if (a->nex == a->capex) {
        size_t ncap = a->capex ? a->capex * 2 : 16;
        struct pex *np = realloc(a->ex, ncap * sizeof *np);
        if (!np)
            return IGNIS_E_NOMEM;
        a->ex = np;
        a->capex = ncap;
    }
    struct ignis_label *ls = malloc(e->nlabels * sizeof *ls + bytes + 1);
    if (!ls)
        return IGNIS_E_NOMEM;
    char *p = (char *)(ls + e->nlabels);
    for (size_t i = 0; i < e->nlabels; i++) {
        const struct ignis_label *l = &e->labels[i];
        memcpy(p, l->name, l->name_len);
        ls[i].name = p;
        ls[i].name_len = l->name_len;
        p += l->name_len;
        if (l->value_len)
            memcpy(p, l->value, l->value_len);
        ls[i].value = p;
        ls[i].value_len = l->value_len;
        p += l->value_len;
    }
    a->ex[a->nex++] = (struct pex){s, e->t, e->value, lh, ls, e->nlabels};
    sl->ex_t = e->t;
    sl->ex_vb = vb;
    sl->ex_lh = lh;
    return 0;
}

int mem_update_metadata(struct ignis_appender *a, uint64_t ref, const struct ignis_metadata *md)
{
    if (!md)
        return IGNIS_E_INVALID;
    struct series *s = find_ref(a->m, ref);
    if (!s)
        return IGNIS_E_REF_GONE;
    if (appender_full(a))
        return IGNIS_E_LIMIT;
    if (a->nmeta == a->capmeta) {
        size_t ncap = a->capmeta ? a->capmeta * 2 : 16;
        struct pmeta *np = realloc(a->meta, ncap * sizeof *np);
        if (!np)
            return IGNIS_E_NOMEM;
        a->meta = np;
        a->capmeta = ncap;
    }
    char *help = strdup(md->help ? md->help : ""), *unit = strdup(md->unit ? md->unit : "");
    if (!help || !unit) {
        free(help);
        free(unit);
        return IGNIS_E_NOMEM;
    }
    a->meta[a->nmeta++] = (struct pmeta){s, md->type, help, unit};
    return 0;
}

/* A pending entry's series was removed by retention after the append: find or create
 * the live series with the same labels and point every pending entry there. Returns
 * NULL when that fails (the entries of s are then dropped). */
static struct series *reresolve(struct ignis_appender *a, struct series *s)
{
    struct ignis_label *ls = malloc(s->nls * sizeof *ls);
    if (!ls)
        return NULL;
    series_labels(s, ls);
    struct series *ns = NULL;
    if (resolve(a->m, ls, s->nls, &ns) != 0)
        ns = NULL;
    free(ls);
    if (!ns)
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        if (a->buf[i].s == s)
            a->buf[i].s = ns;
    for (size_t i = 0; i < a->nex; i++)
        if (a->ex[i].s == s)
            a->ex[i].s = ns;
    for (size_t i = 0; i < a->nmeta; i++)
        if (a->meta[i].s == s)
            a->meta[i].s = ns;
    return ns;
}

static void commit_exemplars(struct ignis_appender *a)
{
    struct mem *m = a->m;
    for (size_t i = 0; i < a->nex; i++) {
        struct pex *e = &a->ex[i];
        struct series *s = e->s;
        pthread_mutex_t *mu = series_lock(m, s);
        pthread_mutex_lock(mu);
        uint64_t vb = vbits(e->v);
        bool take = !s->dead && (s->ex_last_t == INT64_MIN || e->t > s->ex_last_t);
        if (take) {
            s->ex_last_t = e->t;
            s->ex_last_vbits = vb;
            s->ex_last_lhash = e->lhash;
        }
        pthread_mutex_unlock(mu);
        if (!take)
            continue;
        pthread_mutex_lock(&m->ex_mu);
        if (m->ex_cap) {
            struct ex_slot *sl = &m->ring[m->ex_next];
            ex_slot_clear(sl);
            *sl = (struct ex_slot){s->ref, e->t, e->v, e->ls, e->nls};
            e->ls = NULL;
            m->ex_next = (m->ex_next + 1) % m->ex_cap;
            if (m->ex_count < m->ex_cap)
                m->ex_count++;
        }
        pthread_mutex_unlock(&m->ex_mu);
    }
}

static int meta_set(struct mem *m, const struct sym *name, const struct pmeta *pm)
{
    uint64_t h = name->hash;
    size_t i = SIZE_MAX;
    struct meta *md;
    while ((md = ptab_next(&m->meta, h, &i)))
        if (strcmp(md->name, name->s) == 0)
            break;
    char *help = strdup(pm->help), *unit = strdup(pm->unit);
    if (!help || !unit)
        goto nomem;
    if (!md) {
        md = calloc(1, sizeof *md);
        if (!md || !(md->name = strdup(name->s)) || ptab_insert(&m->meta, h, md) != 0) {
            if (md)
                free(md->name);
            free(md);
            goto nomem;
        }
        md->hash = h;
    }
    free(md->help);
    free(md->unit);
    md->type = pm->type;
    md->help = help;
    md->unit = unit;
    return 0;
nomem:
    free(help);
    free(unit);
    return IGNIS_E_NOMEM;
}

int mem_commit(struct ignis_appender *a)
{
    struct mem *m = a->m;
    int rc = 0;
    uint64_t added = 0, dropped = 0;
    int64_t maxt = INT64_MIN;

    pthread_mutex_lock(&m->commit_mu);
    pthread_mutex_lock(&m->snap_mu);
    uint64_t seq = m->published + 1;
    uint64_t lowwater = m->queriers.head ? m->queriers.head->seq : m->published;
    pthread_mutex_unlock(&m->snap_mu);
    for (size_t i = 0; i < a->n; i++) {
        if (i + MEM_PREFETCH < a->n)
            prefetch_series(a->buf[i + MEM_PREFETCH].s);
        struct pend *p = &a->buf[i];
        struct series *s = p->s;
        pthread_mutex_t *mu = series_lock(m, s);
        pthread_mutex_lock(mu);
        if (s->dead) {
            pthread_mutex_unlock(mu);
            if (!(s = reresolve(a, s))) {
                dropped++;
                continue;
            }
            mu = series_lock(m, s);
            pthread_mutex_lock(mu);
        }
        if (s->last_t != INT64_MIN && p->t <= s->last_t) {
            /* Another appender committed a newer sample first. */
            if (p->t < s->last_t || vbits(p->v) != s->last_vbits)
                dropped++;
            pthread_mutex_unlock(mu);
            continue;
        }
        int nc = 0;
        if (series_hist_push(s, seq, lowwater) != 0 || series_push(s, p->t, p->v, &nc) != 0) {
            pthread_mutex_unlock(mu);
            rc = IGNIS_E_NOMEM;
            dropped++;
            continue;
        }
        s->last_t = p->t;
        s->last_vbits = vbits(p->v);
        pthread_mutex_unlock(mu);
        added++;
        if (p->t > maxt)
            maxt = p->t;
    }
    pthread_mutex_lock(&m->snap_mu);
    m->published = seq;
    pthread_mutex_unlock(&m->snap_mu);
    pthread_mutex_unlock(&m->commit_mu);

    atomic_fetch_add(&m->num_samples, added);
    if (dropped) {
        atomic_fetch_add(&m->dropped, dropped);
        if (m->host->log_enabled && m->host->log_enabled(m->host, IGNIS_LOG_DEBUG))
            m->host->log(m->host, IGNIS_LOG_DEBUG,
                         "msg=\"samples dropped at commit\" count=%" PRIu64, dropped);
    }
    if (maxt != INT64_MIN)
        atomic_max_i64(&m->max_time, maxt);

    if (a->nex)
        commit_exemplars(a);
    if (a->nmeta) {
        pthread_rwlock_rdlock(&m->idx_lock); /* keeps meta_sweep out while we add */
        pthread_mutex_lock(&m->meta_mu);
        for (size_t i = 0; i < a->nmeta; i++) {
            const struct sym *name = series_name(a->meta[i].s);
            if (name && !a->meta[i].s->dead && meta_set(m, name, &a->meta[i]) != 0)
                rc = IGNIS_E_NOMEM;
        }
        pthread_mutex_unlock(&m->meta_mu);
        pthread_rwlock_unlock(&m->idx_lock);
    }
    appender_free(a);
    return rc;
}

void mem_rollback(struct ignis_appender *a)
{
    appender_free(a);
}
