/* plugins/storage/mem/mem.c — the `mem` storage plugin: every entry of struct
 * ignis_storage_ops over series kept only in memory. It is the store for tests of
 * scraping and PromQL, and for users who want no disk. Nothing survives a restart.
 * This file: the instance, its options, retention, stats and deletion, the descriptor;
 * append.c has the appenders, query.c the queriers; locking is described in mem.h.
 *
 * Not offered (documented return codes): native histograms (append_histogram:
 * IGNIS_E_NOTSUP), encoded chunks (set_chunk: IGNIS_E_NOTSUP, samples are kept raw),
 * snapshots (IGNIS_E_NOTSUP). append_start_ts checks the ref and keeps nothing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"

/* ---- shared helpers ------------------------------------------------------------------ */

void reg_add(struct mem *m, struct reglist *l, struct reg *r)
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

void reg_del(struct mem *m, struct reglist *l, struct reg *r)
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

void series_labels(const struct series *s, struct ignis_label *buf)
{
    for (uint32_t i = 0; i < s->nls; i++) {
        buf[i].name = s->ls[2 * i]->s;
        buf[i].name_len = s->ls[2 * i]->len;
        buf[i].value = s->ls[2 * i + 1]->s;
        buf[i].value_len = s->ls[2 * i + 1]->len;
    }
}

/* ---- options ------------------------------------------------------------------------- */

static const struct ignis_option options[] = {
    {"retention_time", IGNIS_OPT_DURATION, "0s",
     "drop samples older than the newest sample minus this (0s: keep everything)", NULL, 0},
    {"max_series", IGNIS_OPT_INT, "0", "refuse new series beyond this many (0: unlimited)", NULL,
     0},
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
    const char *bad = st->retention_ms < 0    ? "retention_time"
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

void ex_slot_clear(struct ex_slot *e)
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
    uint64_t it = 0;
    struct series *s;
    while ((s = index_iter(&m->ix, &it))) {
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
    uint64_t it = 0;
    struct series *s;
    while ((s = index_iter(&m->ix, &it))) { /* symbols go with the index */
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
    appender_pool_free(m);
    pthread_mutex_destroy(&m->pool_mu);
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
    pthread_mutex_init(&m->pool_mu, NULL);
    if (ring_resize(m, (size_t)st.max_exemplars) != 0) {
        snprintf(err, errlen, "out of memory for %" PRId64 " exemplars", st.max_exemplars);
        mem_free(m);
        return IGNIS_E_NOMEM;
    }
    arm_timer(m);
    *instance = m;
    return 0;
}

static int mem_reconfigure(void *instance, const struct ignis_config *cfg, char *err, size_t errlen)
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

static int mem_stats(void *instance, struct ignis_storage_stats *st)
{
    struct mem *m = instance;
    memset(st, 0, sizeof *st);
    st->min_time = INT64_MAX;
    st->max_time = INT64_MIN;
    pthread_rwlock_rdlock(&m->idx_lock);
    st->num_series = m->ix.nseries;
    uint64_t it = 0;
    struct series *s;
    while ((s = index_iter(&m->ix, &it))) {
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

static int mem_snapshot(void *instance, const char *dir, bool skip_head, char *name, size_t namelen)
{
    return IGNIS_E_NOTSUP; /* nothing on disk to snapshot */
}

static int mem_delete_series(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
                             int64_t maxt)
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
