/* plugins/storage/mem/mem.c — the `mem` storage plugin: every entry of struct
 * ignis_storage_ops over series kept only in memory. It is the store for tests of
 * scraping and PromQL, and for users who want no disk. Nothing survives a restart.
 *
 * Not offered (documented return codes): native histograms (append_histogram:
 * IGNIS_E_NOTSUP), encoded chunks (set_chunk: IGNIS_E_NOTSUP, samples are kept raw),
 * snapshots (IGNIS_E_NOTSUP). append_start_ts checks the ref and keeps nothing.
 * Locking: see mem.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"

/* ---- the instance -------------------------------------------------------------------- */

/* An open querier or appender (or a short internal reader) in creation order: the
 * oldest querier's seq bounds the commit history series must keep, the oldest
 * registration's epoch bounds which removed series may be freed. */
struct reg {
    struct reg *prev, *next;
    uint64_t seq;   /* published seq at creation: a querier's snapshot */
    uint64_t epoch; /* gc_epoch at creation */
};

struct reglist {
    struct reg *head, *tail;
};

struct ex_slot {
    uint64_t ref;
    int64_t t;
    double v;
    struct ignis_label *ls; /* one allocation: the pairs, then their bytes */
    size_t nls;
};

struct meta {
    char *name; /* metric name (copy) */
    uint64_t hash;
    enum ignis_metric_type type;
    char *help, *unit;
};

struct mem {
    const struct ignis_host *host;
    _Atomic int64_t retention_ms; /* 0: keep everything */
    _Atomic int64_t max_series;   /* 0: unlimited */
    struct ignis_timer *gc_timer; /* loop only */
    int64_t gc_period_ms;

    pthread_mutex_t commit_mu;
    pthread_rwlock_t idx_lock;
    struct index ix;
    struct series *graveyard; /* removed series not yet freed (idx_lock) */
    pthread_mutex_t locks[MEM_NLOCKS];

    pthread_mutex_t snap_mu;
    uint64_t published; /* newest commit visible to new queriers */
    uint64_t gc_epoch;
    struct reglist queriers, others;

    _Atomic uint64_t num_samples;
    _Atomic int64_t max_time; /* newest sample ever committed; INT64_MIN when none */
    _Atomic uint64_t dropped; /* samples dropped at commit (a newer sample won the race) */

    pthread_mutex_t ex_mu;
    struct ex_slot *ring; /* ex_cap slots; the oldest at ex_next when full */
    size_t ex_cap, ex_next, ex_count;

    pthread_mutex_t meta_mu;
    struct ptab meta; /* name hash -> struct meta */
};

static pthread_mutex_t *series_lock(struct mem *m, const struct series *s)
{
    return &m->locks[s->ref & (MEM_NLOCKS - 1)];
}

static void reg_add(struct mem *m, struct reglist *l, struct reg *r)
{
    pthread_mutex_lock(&m->snap_mu);
    r->seq = m->published;
    r->epoch = m->gc_epoch;
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    pthread_mutex_unlock(&m->snap_mu);
}

static void reg_del(struct mem *m, struct reglist *l, struct reg *r)
{
    pthread_mutex_lock(&m->snap_mu);
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    pthread_mutex_unlock(&m->snap_mu);
}

static uint64_t vbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static void atomic_max_i64(_Atomic int64_t *a, int64_t v)
{
    int64_t cur = atomic_load(a);
    while (cur < v && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

/* Builds the ignis_label view of s' labels into buf (2 * nls syms -> nls pairs). */
static void series_labels(const struct series *s, struct ignis_label *buf)
{
    for (uint32_t i = 0; i < s->nls; i++) {
        buf[i].name = s->ls[2 * i]->s;
        buf[i].name_len = s->ls[2 * i]->len;
        buf[i].value = s->ls[2 * i + 1]->s;
        buf[i].value_len = s->ls[2 * i + 1]->len;
    }
}

static const struct sym *series_name(const struct series *s)
{
    for (uint32_t i = 0; i < s->nls; i++)
        if (s->ls[2 * i]->len == 8 && memcmp(s->ls[2 * i]->s, IGNIS_METRIC_NAME, 8) == 0)
            return s->ls[2 * i + 1];
    return NULL;
}

/* ---- options ------------------------------------------------------------------------- */

static const struct ignis_option options[] = {
    {"retention_time", IGNIS_OPT_DURATION, "0s",
     "drop samples older than the newest sample minus this (0s: keep everything)", NULL, 0},
    {"max_series", IGNIS_OPT_INT, "0",
     "refuse new series beyond this many (0: unlimited)", NULL, 0},
    {"max_exemplars", IGNIS_OPT_INT, "0",
     "exemplars kept, newest first, across all series (0: exemplar storage off)", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

struct settings {
    int64_t retention_ms, max_series, max_exemplars;
};

static int read_settings(const struct ignis_config *cfg, struct settings *st, char *err,
                         size_t errlen)
{
    memset(st, 0, sizeof *st);
    if (!cfg)
        return 0;
    st->retention_ms = ignis_config_duration_ms(cfg, "retention_time");
    st->max_series = ignis_config_int(cfg, "max_series");
    st->max_exemplars = ignis_config_int(cfg, "max_exemplars");
    const char *bad = st->retention_ms < 0   ? "retention_time"
                      : st->max_series < 0    ? "max_series"
                      : st->max_exemplars < 0 ? "max_exemplars"
                                              : NULL;
    if (bad) {
        snprintf(err, errlen, "%s: %s must not be negative", ignis_config_where(cfg, bad), bad);
        return IGNIS_E_INVALID;
    }
    /* A slot is 40 bytes: 2^26 slots (2.5 GB) is far beyond any sane setting. */
    if (st->max_exemplars > (1 << 26)) {
        snprintf(err, errlen, "%s: max_exemplars must be at most %d",
                 ignis_config_where(cfg, "max_exemplars"), 1 << 26);
        return IGNIS_E_INVALID;
    }
    return 0;
}

/* ---- exemplar ring ------------------------------------------------------------------- */

static void ex_slot_clear(struct ex_slot *e)
{
    free(e->ls);
    memset(e, 0, sizeof *e);
}

/* Resizes the ring to cap slots, keeping the newest exemplars. ex_mu held. */
static int ring_resize(struct mem *m, size_t cap)
{
    struct ex_slot *nr = NULL;
    if (cap) {
        nr = calloc(cap, sizeof *nr);
        if (!nr)
            return IGNIS_E_NOMEM;
    }
    size_t keep = m->ex_count < cap ? m->ex_count : cap;
    size_t oldest = m->ex_count == m->ex_cap ? m->ex_next : 0;
    for (size_t i = 0; i < m->ex_count; i++) {
        struct ex_slot *e = &m->ring[(oldest + i) % m->ex_cap];
        if (i >= m->ex_count - keep)
            nr[i - (m->ex_count - keep)] = *e;
        else
            ex_slot_clear(e);
    }
    free(m->ring);
    m->ring = nr;
    m->ex_cap = cap;
    m->ex_count = keep;
    m->ex_next = cap ? keep % cap : 0;
    return 0;
}

/* ---- retention and removal of empty series ------------------------------------------ */

/* Frees removed series no registration can still hold. idx_lock held for writing. */
static void graveyard_sweep(struct mem *m)
{
    pthread_mutex_lock(&m->snap_mu);
    uint64_t min = m->gc_epoch;
    if (m->queriers.head && m->queriers.head->epoch < min)
        min = m->queriers.head->epoch;
    if (m->others.head && m->others.head->epoch < min)
        min = m->others.head->epoch;
    pthread_mutex_unlock(&m->snap_mu);
    struct series **pp = &m->graveyard;
    while (*pp) {
        struct series *s = *pp;
        if (s->dead_epoch < min) {
            *pp = s->grave;
            index_free_series(&m->ix, s);
        } else {
            pp = &s->grave;
        }
    }
}

/* Drops metadata of metric names no series has any more. idx_lock held for writing. */
static void meta_sweep(struct mem *m)
{
    struct lname *ln = index_lname(&m->ix, IGNIS_METRIC_NAME, 8);
    pthread_mutex_lock(&m->meta_mu);
    struct meta **gone = NULL;
    size_t ngone = 0, it = 0;
    struct meta *md;
    while ((md = ptab_iter(&m->meta, &it))) {
        struct sym *y = ln ? sym_find(&m->ix, md->name, strlen(md->name)) : NULL;
        struct lvalue *lv = y ? lname_value(ln, y) : NULL;
        if (lv && lv->p.n)
            continue;
        struct meta **ng = realloc(gone, (ngone + 1) * sizeof *ng);
        if (!ng)
            break;
        gone = ng;
        gone[ngone++] = md;
    }
    for (size_t i = 0; i < ngone; i++) {
        ptab_remove(&m->meta, gone[i]->hash, gone[i]);
        free(gone[i]->name);
        free(gone[i]->help);
        free(gone[i]->unit);
        free(gone[i]);
    }
    pthread_mutex_unlock(&m->meta_mu);
    free(gone);
}

/* Retention: drops samples older than max_time - retention, then removes the series
 * left without samples. Runs on the loop (host timer). */
static void run_retention(struct mem *m)
{
    int64_t ret = atomic_load(&m->retention_ms);
    int64_t maxt = atomic_load(&m->max_time);
    if (ret <= 0 || maxt <= INT64_MIN + ret)
        return;
    int64_t cutoff = maxt - ret; /* samples with t < cutoff go */
    struct series **cand = NULL;
    size_t ncand = 0, capcand = 0;

    pthread_rwlock_rdlock(&m->idx_lock);
    size_t it = 0;
    struct series *s;
    while ((s = ptab_iter(&m->ix.by_ref, &it))) {
        pthread_mutex_t *mu = series_lock(m, s);
        pthread_mutex_lock(mu);
        long d = 0;
        series_delete(s, INT64_MIN, cutoff - 1, &d); /* on NOMEM: next run retries */
        bool empty = s->nchunks == 0 && s->last_t < cutoff;
        pthread_mutex_unlock(mu);
        if (empty) {
            if (ncand == capcand) {
                size_t nc = capcand ? capcand * 2 : 64;
                struct series **ns = realloc(cand, nc * sizeof *ns);
                if (!ns)
                    break;
                cand = ns;
                capcand = nc;
            }
            cand[ncand++] = s;
        }
    }
    pthread_rwlock_unlock(&m->idx_lock);

    pthread_rwlock_wrlock(&m->idx_lock);
    if (ncand) {
        uint64_t *dead = malloc(ncand * sizeof *dead);
        size_t ndead = 0;
        pthread_mutex_lock(&m->snap_mu);
        uint64_t epoch = m->gc_epoch;
        pthread_mutex_unlock(&m->snap_mu);
        for (size_t i = 0; dead && i < ncand; i++) {
            s = cand[i];
            pthread_mutex_t *mu = series_lock(m, s);
            pthread_mutex_lock(mu);
            /* An appender may have committed to it since the scan. */
            bool still = s->nchunks == 0 && s->last_t < cutoff;
            if (still) {
                s->dead = true;
                s->dead_epoch = epoch;
            }
            pthread_mutex_unlock(mu);
            if (!still)
                continue;
            index_unlink(&m->ix, s);
            s->grave = m->graveyard;
            m->graveyard = s;
            dead[ndead++] = s->ref;
        }
        if (ndead) {
            /* Refs were pulled from a hash table: sort them for the compaction. */
            for (size_t i = 1; i < ndead; i++) {
                uint64_t x = dead[i];
                size_t j = i;
                while (j > 0 && dead[j - 1] > x) {
                    dead[j] = dead[j - 1];
                    j--;
                }
                dead[j] = x;
            }
            index_compact(&m->ix, dead, ndead);
            meta_sweep(m);
            pthread_mutex_lock(&m->snap_mu);
            m->gc_epoch++;
            pthread_mutex_unlock(&m->snap_mu);
        }
        free(dead);
    }
    graveyard_sweep(m);
    pthread_rwlock_unlock(&m->idx_lock);
    free(cand);
}

static void gc_timer_cb(void *arg)
{
    run_retention(arg);
}

/* (Re)arms the retention timer for the current setting. Loop. */
static void arm_timer(struct mem *m)
{
    const struct ignis_host *h = m->host;
    int64_t ret = atomic_load(&m->retention_ms);
    /* Check twice per retention period, at least every minute, at most every 10 ms. */
    int64_t period = ret / 2;
    if (period > 60000)
        period = 60000;
    if (period < 10)
        period = 10;
    if (m->gc_timer && (ret <= 0 || period != m->gc_period_ms)) {
        h->timer_cancel(h, m->gc_timer);
        m->gc_timer = NULL;
    }
    if (ret <= 0 || m->gc_timer)
        return;
    if (!IGNIS_HAS(h, timer_add) || !IGNIS_HAS(h, timer_cancel)) {
        h->log(h, IGNIS_LOG_WARN, "msg=\"host has no timers: retention_time not enforced\"");
        return;
    }
    m->gc_period_ms = period;
    m->gc_timer = h->timer_add(h, period, period, gc_timer_cb, m);
    if (!m->gc_timer)
        h->log(h, IGNIS_LOG_ERROR, "msg=\"cannot add the retention timer\"");
}

/* ---- life cycle ---------------------------------------------------------------------- */

static void mem_free(struct mem *m)
{
    size_t it = 0;
    struct series *s;
    while ((s = ptab_iter(&m->ix.by_ref, &it))) { /* symbols go with the index */
        series_free_data(s);
        free(s->ls);
        free(s);
    }
    while (m->graveyard) {
        s = m->graveyard;
        m->graveyard = s->grave;
        series_free_data(s);
        free(s->ls);
        free(s);
    }
    index_free(&m->ix);
    for (size_t i = 0; i < m->ex_count; i++)
        ex_slot_clear(&m->ring[(m->ex_count == m->ex_cap ? m->ex_next + i : i) % m->ex_cap]);
    free(m->ring);
    it = 0;
    struct meta *md;
    while ((md = ptab_iter(&m->meta, &it))) {
        free(md->name);
        free(md->help);
        free(md->unit);
        free(md);
    }
    ptab_free(&m->meta);
    for (size_t i = 0; i < MEM_NLOCKS; i++)
        pthread_mutex_destroy(&m->locks[i]);
    pthread_mutex_destroy(&m->commit_mu);
    pthread_rwlock_destroy(&m->idx_lock);
    pthread_mutex_destroy(&m->snap_mu);
    pthread_mutex_destroy(&m->ex_mu);
    pthread_mutex_destroy(&m->meta_mu);
    free(m);
}

static int mem_create(const struct ignis_host *host, const struct ignis_config *cfg,
                      void **instance, char *err, size_t errlen)
{
    struct settings st;
    if (read_settings(cfg, &st, err, errlen) != 0)
        return IGNIS_E_INVALID;
    struct mem *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return IGNIS_E_NOMEM;
    }
    m->host = host;
    atomic_init(&m->retention_ms, st.retention_ms);
    atomic_init(&m->max_series, st.max_series);
    atomic_init(&m->num_samples, 0);
    atomic_init(&m->max_time, INT64_MIN);
    atomic_init(&m->dropped, 0);
    pthread_mutex_init(&m->commit_mu, NULL);
    pthread_rwlock_init(&m->idx_lock, NULL);
    for (size_t i = 0; i < MEM_NLOCKS; i++)
        pthread_mutex_init(&m->locks[i], NULL);
    pthread_mutex_init(&m->snap_mu, NULL);
    pthread_mutex_init(&m->ex_mu, NULL);
    pthread_mutex_init(&m->meta_mu, NULL);
    if (ring_resize(m, (size_t)st.max_exemplars) != 0) {
        snprintf(err, errlen, "out of memory for %" PRId64 " exemplars", st.max_exemplars);
        mem_free(m);
        return IGNIS_E_NOMEM;
    }
    arm_timer(m);
    *instance = m;
    return 0;
}

static int mem_reconfigure(void *instance, const struct ignis_config *cfg, char *err,
                           size_t errlen)
{
    struct mem *m = instance;
    struct settings st;
    if (read_settings(cfg, &st, err, errlen) != 0)
        return IGNIS_E_INVALID;
    pthread_mutex_lock(&m->ex_mu);
    int rc = (size_t)st.max_exemplars == m->ex_cap ? 0 : ring_resize(m, (size_t)st.max_exemplars);
    pthread_mutex_unlock(&m->ex_mu);
    if (rc) {
        snprintf(err, errlen, "out of memory for %" PRId64 " exemplars", st.max_exemplars);
        return rc;
    }
    atomic_store(&m->retention_ms, st.retention_ms);
    atomic_store(&m->max_series, st.max_series);
    arm_timer(m);
    return 0;
}

static void mem_destroy(void *instance)
{
    struct mem *m = instance;
    if (!m)
        return;
    if (m->gc_timer)
        m->host->timer_cancel(m->host, m->gc_timer);
    mem_free(m);
}

/* ---- appenders ----------------------------------------------------------------------- */

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

static struct ignis_appender *mem_appender(void *instance)
{
    struct mem *m = instance;
    struct ignis_appender *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->m = m;
    reg_add(m, &m->others, &a->reg);
    return a;
}

static void appender_free(struct ignis_appender *a)
{
    reg_del(a->m, &a->m->others, &a->reg);
    for (size_t i = 0; i < a->nex; i++)
        free(a->ex[i].ls);
    for (size_t i = 0; i < a->nmeta; i++) {
        free(a->meta[i].help);
        free(a->meta[i].unit);
    }
    free(a->ex);
    free(a->meta);
    free(a->buf);
    free(a->map);
    free(a);
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
 * __name__, all valid UTF-8. Sets *has_empty when some other label has an empty value
 * (such labels are dropped, as Prometheus treats them as absent). */
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

/* Finds or creates the series of a valid label set (without empty values). */
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

static int mem_append(struct ignis_appender *a, const struct ignis_label *labels, size_t n,
                      int64_t t, double v, uint64_t *ref)
{
    bool has_empty;
    int rc = check_labels(labels, n, &has_empty);
    if (rc == 0)
        rc = check_time(a->m, t); /* before creating a series for nothing */
    if (rc)
        return rc;
    struct ignis_label *own = NULL;
    if (has_empty) {
        own = malloc(n * sizeof *own);
        if (!own)
            return IGNIS_E_NOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (labels[i].value_len)
                own[k++] = labels[i];
        labels = own;
        n = k;
    }
    struct series *s;
    rc = resolve(a->m, labels, n, &s);
    free(own);
    if (rc)
        return rc;
    if (ref)
        *ref = s->ref;
    return append_sample(a, s, t, v);
}

static size_t mem_append_refs(struct ignis_appender *a, const struct ignis_ref_sample *smp,
                              size_t n, int *errs)
{
    size_t ok = 0;
    pthread_rwlock_rdlock(&a->m->idx_lock);
    for (size_t i = 0; i < n; i++) {
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

static int mem_append_histogram(struct ignis_appender *a, uint64_t ref,
                                const struct ignis_label *labels, size_t n, int64_t t,
                                const struct ignis_histogram *h, uint64_t *ref_out)
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
static int mem_append_start_ts(struct ignis_appender *a, uint64_t ref, int64_t t, int64_t st)
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

static int mem_append_exemplar(struct ignis_appender *a, uint64_t ref,
                               const struct ignis_exemplar *e)
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

static int mem_update_metadata(struct ignis_appender *a, uint64_t ref,
                               const struct ignis_metadata *md)
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

static int mem_commit(struct ignis_appender *a)
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

static void mem_rollback(struct ignis_appender *a)
{
    appender_free(a);
}

/* ---- queriers ------------------------------------------------------------------------ */

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

static struct ignis_querier *mem_querier(void *instance, int64_t mint, int64_t maxt)
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

static void mem_querier_close(struct ignis_querier *q)
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

static void mem_set_close(struct ignis_series_set *set)
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

static int mem_select(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
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

static int mem_set_next(struct ignis_series_set *set, struct ignis_series *s)
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

static long mem_set_samples(struct ignis_series_set *set, int64_t mint, int64_t maxt,
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

static int mem_set_chunk(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                         struct ignis_chunk *c)
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
static int mem_label_names(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                           size_t limit, void (*fn)(void *arg, const char *s, size_t len),
                           void *arg)
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

static int mem_label_values(struct ignis_querier *q, const char *name, size_t name_len,
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

/* ---- metadata, stats, administration ------------------------------------------------- */

static int cmp_meta(const void *a, const void *b)
{
    return strcmp((*(struct meta *const *)a)->name, (*(struct meta *const *)b)->name);
}

static int mem_metadata(void *instance, const char *metric, size_t limit,
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

static int mem_stats(void *instance, struct ignis_storage_stats *st)
{
    struct mem *m = instance;
    memset(st, 0, sizeof *st);
    st->min_time = INT64_MAX;
    st->max_time = INT64_MIN;
    pthread_rwlock_rdlock(&m->idx_lock);
    st->num_series = m->ix.nseries;
    size_t it = 0;
    struct series *s;
    while ((s = ptab_iter(&m->ix.by_ref, &it))) {
        pthread_mutex_t *mu = series_lock(m, s);
        pthread_mutex_lock(mu);
        st->num_chunks += s->nchunks;
        if (s->nchunks) {
            const struct chunk *f = s->chunks[0], *l = s->chunks[s->nchunks - 1];
            if (f->n && f->t[0] < st->min_time)
                st->min_time = f->t[0];
            if (l->n && l->t[l->n - 1] > st->max_time)
                st->max_time = l->t[l->n - 1];
        }
        pthread_mutex_unlock(mu);
    }
    pthread_rwlock_unlock(&m->idx_lock);
    st->num_samples = atomic_load(&m->num_samples);
    return 0;
}

static int mem_snapshot(void *instance, const char *dir, bool skip_head, char *name,
                        size_t namelen)
{
    return IGNIS_E_NOTSUP; /* nothing on disk to snapshot */
}

static int mem_delete_series(void *instance, const struct ignis_matcher *ms, size_t n,
                             int64_t mint, int64_t maxt)
{
    struct mem *m = instance;
    uint64_t *refs;
    size_t nrefs;
    pthread_rwlock_rdlock(&m->idx_lock);
    int rc = index_select(&m->ix, ms, n, &refs, &nrefs);
    for (size_t i = 0; rc == 0 && i < nrefs; i++) {
        struct series *s = index_find_ref(&m->ix, refs[i]);
        if (!s)
            continue;
        pthread_mutex_t *mu = series_lock(m, s);
        pthread_mutex_lock(mu);
        long d;
        rc = series_delete(s, mint, maxt, &d);
        pthread_mutex_unlock(mu);
    }
    pthread_rwlock_unlock(&m->idx_lock);
    free(refs);
    return rc;
}

static int mem_clean_tombstones(void *instance)
{
    return 0; /* deletion removes samples at once: no tombstones */
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

static int mem_exemplars(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
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

/* ---- the descriptor ------------------------------------------------------------------ */

static const struct ignis_storage_ops ops = {
    .size = sizeof ops,
    .create = mem_create,
    .reconfigure = mem_reconfigure,
    .destroy = mem_destroy,
    .appender = mem_appender,
    .append = mem_append,
    .append_refs = mem_append_refs,
    .append_histogram = mem_append_histogram,
    .append_start_ts = mem_append_start_ts,
    .append_exemplar = mem_append_exemplar,
    .update_metadata = mem_update_metadata,
    .commit = mem_commit,
    .rollback = mem_rollback,
    .querier = mem_querier,
    .select = mem_select,
    .set_next = mem_set_next,
    .set_samples = mem_set_samples,
    .set_chunk = mem_set_chunk,
    .set_close = mem_set_close,
    .label_names = mem_label_names,
    .label_values = mem_label_values,
    .querier_close = mem_querier_close,
    .metadata = mem_metadata,
    .stats = mem_stats,
    .snapshot = mem_snapshot,
    .delete_series = mem_delete_series,
    .clean_tombstones = mem_clean_tombstones,
    .exemplars = mem_exemplars,
};

const struct ignis_plugin ignis_plugin = {
    .abi = IGNIS_ABI,
    .kind = IGNIS_PLUGIN_STORAGE,
    .name = "mem",
    .version = "1.0.0",
    .description = "in-memory storage: series, samples, exemplars and metadata, no disk",
    .options = options,
    .ops = &ops,
};
