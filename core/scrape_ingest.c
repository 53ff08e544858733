/* core/scrape_ingest.c — the worker side of a scrape: parse the body in place, look each
 * series up in the target's scrape cache by the raw bytes of its name-and-labels (a hit
 * appends by ref in batches: no label parsing, relabeling or hashing of label sets), run
 * the slow path for new series (labels, target labels, metric relabeling, limits, append
 * by labels), write staleness markers for series that vanished, and the synthetic
 * series. A failed or over-limit scrape appends none of its samples. */
#include <config.h>
#include "core/scrape_int.h"
#include "core/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include <ignis/textparse.h>

/* The staleness marker: a NaN with these bits, as Prometheus writes it. */
#define STALE_NAN_BITS 0x7ff0000000000002ull
/* Samples appended by ref per call into the storage. */
#define BATCH 512
/* Most labels a series may have before the scrape fails outright (a bound on the
 * parser's output, far above any real exposition; label_limit is the user's knob). */
#define MAX_LABELS 512

static double stale_nan(void)
{
    uint64_t bits = STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* ---- the cache ------------------------------------------------------------------ */

static uint64_t raw_hash(const char *s, size_t n)
{
    uint64_t h = XXH3_64bits(s, n);
    return h ? h : 1;
}

static void index_put(struct scrape_cache *c, uint64_t h, uint32_t idx)
{
    size_t mask = c->icap - 1, i = h & mask;
    while (c->index[i])
        i = (i + 1) & mask;
    c->index[i] = idx + 1;
}

static int index_rebuild(struct scrape_cache *c, size_t icap)
{
    uint32_t *x = calloc(icap, sizeof *x);
    if (!x)
        return -1;
    free(c->index);
    c->index = x;
    c->icap = icap;
    for (size_t i = 0; i < c->n; i++)
        index_put(c, c->ents[i].hash, (uint32_t)i);
    return 0;
}

static bool entry_is(const struct scrape_cache *c, const struct cache_entry *e, const char *raw,
                     size_t len)
{
    return e->raw_len == len && memcmp(c->arena + e->raw_off, raw, len) == 0;
}

/* The entry of raw: the predicted one when it matches (no hashing), else through the
 * index. *h receives the hash when it was computed (0 otherwise). */
static struct cache_entry *cache_find(struct scrape_cache *c, const char *raw, size_t len,
                                      uint64_t *h)
{
    *h = 0;
    if (c->next < c->n && entry_is(c, &c->ents[c->next], raw, len))
        return &c->ents[c->next++];
    if (!c->n)
        return NULL;
    *h = raw_hash(raw, len);
    size_t mask = c->icap - 1;
    for (size_t i = *h & mask;; i = (i + 1) & mask) {
        uint32_t x = c->index[i];
        if (!x)
            return NULL;
        struct cache_entry *e = &c->ents[x - 1];
        if (e->hash == *h && entry_is(c, e, raw, len)) {
            c->next = x;
            return e;
        }
    }
}

/* Adds raw (hash h, or 0: not computed yet). Invalidates entry pointers. */
static struct cache_entry *cache_add(struct scrape_cache *c, uint64_t h, const char *raw,
                                     size_t len)
{
    if (!h)
        h = raw_hash(raw, len);
    if (c->n >= UINT32_MAX - 1 || c->arena_len + len > UINT32_MAX)
        return NULL;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct cache_entry *e = realloc(c->ents, cap * sizeof *e);
        if (!e)
            return NULL;
        c->ents = e;
        c->cap = cap;
    }
    if (c->arena_len + len > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : 16384;
        while (cap < c->arena_len + len)
            cap *= 2;
        char *a = realloc(c->arena, cap);
        if (!a)
            return NULL;
        c->arena = a;
        c->arena_cap = cap;
    }
    if ((c->n + 1) * 4 > c->icap * 3 && index_rebuild(c, c->icap ? c->icap * 2 : 512) != 0)
        return NULL;
    struct cache_entry *e = &c->ents[c->n];
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->raw_off = (uint32_t)c->arena_len;
    e->raw_len = (uint32_t)len;
    e->fresh = 1;
    memcpy(c->arena + c->arena_len, raw, len);
    c->arena_len += len;
    index_put(c, h, (uint32_t)c->n);
    c->n++;
    c->next = c->n;
    return e;
}

/* Keeps only the entries seen by iteration iter, in their order, with their bytes
 * packed, and rebuilds the index. */
static void cache_keep_seen(struct scrape_cache *c, uint32_t iter)
{
    size_t k = 0, off = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct cache_entry e = c->ents[i];
        if (e.iter != iter)
            continue;
        memmove(c->arena + off, c->arena + e.raw_off, e.raw_len);
        e.raw_off = (uint32_t)off;
        off += e.raw_len;
        c->ents[k++] = e;
    }
    if (k == c->n)
        return;
    c->n = k;
    c->arena_len = off;
    size_t icap = 512;
    while (k * 4 > icap * 3)
        icap *= 2;
    if (index_rebuild(c, icap) != 0) {
        /* no memory for a new index: keep the old size (it holds k entries) */
        memset(c->index, 0, c->icap * sizeof *c->index);
        for (size_t i = 0; i < c->n; i++)
            index_put(c, c->ents[i].hash, (uint32_t)i);
    }
}

void ig_scrape_cache_free(struct scrape_cache *c)
{
    free(c->ents);
    free(c->index);
    free(c->arena);
    memset(c, 0, sizeof *c);
}

/* ---- per-thread scratch --------------------------------------------------------- */

struct batch;

struct scratch {
    struct batch *batch; /* the ingest job's append batch */
    char *buf;
    size_t cap;
    struct ignis_label ls[MAX_LABELS + 64];
    struct ig_relabel_buf rb;
    bool rb_init;
};

static __thread struct scratch *tls_scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

/* Frees a thread's scratch when the thread ends (workers end at shutdown). */
static void scratch_free(void *arg)
{
    struct scratch *s = arg;
    if (s->rb_init)
        ig_relabel_buf_clear(&s->rb);
    free(s->batch);
    free(s->buf);
    free(s);
}

static void scratch_key_init(void)
{
    (void)pthread_key_create(&scratch_key, scratch_free);
}

static struct scratch *scratch_get(size_t need)
{
    struct scratch *s = tls_scratch;
    if (!s) {
        pthread_once(&scratch_once, scratch_key_init);
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        tls_scratch = s;
        (void)pthread_setspecific(scratch_key, s);
    }
    if (!s->rb_init) {
        ig_relabel_buf_init(&s->rb, 0);
        s->rb_init = true;
    }
    if (s->cap < need) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < need)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return NULL;
        s->buf = b;
        s->cap = cap;
    }
    return s;
}

/* ---- metadata ------------------------------------------------------------------- */

/* Rebuilds the family index at twice the size. Returns 0 or -1. */
static int meta_index_grow(struct target *t)
{
    size_t cap = t->meta_idx_cap ? t->meta_idx_cap * 2 : 256;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i < t->nmeta; i++) {
        size_t j = XXH3_64bits(t->meta[i].family, t->meta[i].family_len) & (cap - 1);
        while (idx[j])
            j = (j + 1) & (cap - 1);
        idx[j] = (uint32_t)i + 1;
    }
    free(t->meta_idx);
    t->meta_idx = idx;
    t->meta_idx_cap = cap;
    return 0;
}

/* Records a TYPE, HELP or UNIT line for its family: a hash lookup, so a target with many
 * families costs the same per line as one with few. */
static void meta_update(struct target *t, const char *fam, size_t flen,
                        enum ignis_metric_type type, const char *help, size_t hlen,
                        const char *unit, size_t ulen, int which)
{
    pthread_mutex_lock(&t->meta_mu);
    struct meta_entry *e = NULL;
    if ((t->nmeta + 1) * 2 > t->meta_idx_cap && meta_index_grow(t) != 0)
        goto out;
    size_t mask = t->meta_idx_cap - 1;
    size_t j = XXH3_64bits(fam, flen) & mask;
    for (; t->meta_idx[j]; j = (j + 1) & mask) {
        struct meta_entry *c = &t->meta[t->meta_idx[j] - 1];
        if (c->family_len == flen && memcmp(c->family, fam, flen) == 0) {
            e = c;
            break;
        }
    }
    if (!e) {
        if (t->nmeta == t->meta_cap) {
            size_t cap = t->meta_cap ? t->meta_cap * 2 : 64;
            struct meta_entry *m = realloc(t->meta, cap * sizeof *m);
            if (!m)
                goto out;
            t->meta = m;
            t->meta_cap = cap;
        }
        e = &t->meta[t->nmeta];
        memset(e, 0, sizeof *e);
        e->family = strndup(fam, flen);
        if (!e->family)
            goto out;
        e->family_len = flen;
        t->meta_idx[j] = (uint32_t)t->nmeta + 1;
        t->nmeta++;
    }
    if (which == IGNIS_TP_TYPE) {
        e->type = type;
    } else if (which == IGNIS_TP_HELP) {
        if (!e->help || strlen(e->help) != hlen || memcmp(e->help, help, hlen) != 0) {
            free(e->help);
            e->help = strndup(help, hlen);
        }
    } else if (which == IGNIS_TP_UNIT) {
        if (!e->unit || strlen(e->unit) != ulen || memcmp(e->unit, unit, ulen) != 0) {
            free(e->unit);
            e->unit = strndup(unit, ulen);
        }
    }
out:
    pthread_mutex_unlock(&t->meta_mu);
}

void ig_scrape_meta_free(struct target *t)
{
    for (size_t i = 0; i < t->nmeta; i++) {
        free(t->meta[i].family);
        free(t->meta[i].help);
        free(t->meta[i].unit);
    }
    free(t->meta);
    t->meta = NULL;
    t->nmeta = t->meta_cap = 0;
    free(t->meta_idx);
    t->meta_idx = NULL;
    t->meta_idx_cap = 0;
}

/* ---- building a new series' labels --------------------------------------------- */

static bool label_eq(const struct ignis_label *l, const char *name, size_t len)
{
    return l->name_len == len && memcmp(l->name, name, len) == 0;
}

/* Merges the target's labels into the exposed set ls[0..n) (with __name__), as
 * Prometheus does: with honor_labels the exposed value wins; otherwise an exposed label
 * that clashes is renamed exported_<name> (repeatedly, while that name is taken too).
 * Exposed labels with empty values are removed. Renamed names are written into names
 * (cap bytes). Returns the new count, or -1 when bounds are exceeded. */
static int merge_target_labels(const struct target *t, bool honor, struct ignis_label *ls,
                               size_t n, size_t max, char *names, size_t cap)
{
    size_t used = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ls[i].value_len > 0 || label_eq(&ls[i], "__name__", 8))
            ls[k++] = ls[i];
    n = k;
    for (size_t j = 0; j < t->nlabels; j++) {
        const struct ignis_label *tl = &t->labels[j];
        size_t at = n;
        for (size_t i = 0; i < n; i++)
            if (label_eq(&ls[i], tl->name, tl->name_len)) {
                at = i;
                break;
            }
        if (at < n) {
            if (honor)
                continue;
            /* exported_ + name, prefixed again while the result is taken. */
            size_t plen = 9 + ls[at].name_len;
            for (;;) {
                size_t pre = plen - ls[at].name_len;
                if (used + plen > cap)
                    return -1;
                char *nm = names + used;
                for (size_t r = 0; r < pre; r += 9)
                    memcpy(nm + r, "exported_", 9);
                memcpy(nm + pre, ls[at].name, ls[at].name_len);
                bool taken = false;
                for (size_t i = 0; i < n && !taken; i++)
                    taken = label_eq(&ls[i], nm, plen);
                for (size_t q = 0; q < t->nlabels && !taken; q++)
                    taken = label_eq(&t->labels[q], nm, plen);
                if (!taken) {
                    ls[at].name = nm;
                    ls[at].name_len = plen;
                    used += plen;
                    break;
                }
                plen += 9;
            }
        }
        if (n >= max)
            return -1;
        ls[n++] = *tl;
    }
    return (int)n;
}

#define set_error(t, fmt, a, b, c) snprintf((t)->job_error, sizeof (t)->job_error, fmt, a, b, c)

/* Checks label_limit and the length limits on a final label set. */
static bool limits_ok(struct target *t, const struct ignis_label *ls, size_t n)
{
    const struct pool *p = t->pool;
    const struct ignis_label *name = ignis_labels_get(ls, n, "__name__", 8);
    char metric[64];
    snprintf(metric, sizeof metric, "%.*s", name ? (int)(name->value_len > 50 ? 50 : name->value_len) : 0,
             name ? name->value : "");
    if (p->label_limit > 0 && (int64_t)n > p->label_limit) {
        set_error(t, "label_limit exceeded (metric: %s, number of labels: %ld, limit: %ld)", metric,
                  (long)n, (long)p->label_limit);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p->label_name_len > 0 && (int64_t)ls[i].name_len > p->label_name_len) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s, label name: %.50s", metric, ls[i].name);
            set_error(t, "label_name_length_limit exceeded (metric: %s, length: %ld, limit: %ld)",
                      msg, (long)ls[i].name_len, (long)p->label_name_len);
            return false;
        }
        if (p->label_value_len > 0 && (int64_t)ls[i].value_len > p->label_value_len) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s, label name: %.*s, value: %.50s", metric,
                     (int)ls[i].name_len, ls[i].name, ls[i].value);
            set_error(t, "label_value_length_limit exceeded (metric: %s, length: %ld, limit: %ld)",
                      msg, (long)ls[i].value_len, (long)p->label_value_len);
            return false;
        }
    }
    return true;
}

/* The slow path for a series not in the cache: builds its final label set from the
 * parser's current line (or from raw bytes re-parsed), relabels it and appends by labels.
 * Returns 1 appended (entry->ref set), 0 dropped by relabeling, -1 scrape failure (error
 * set), -2 a sample error the scrape survives (counted). */
static int slow_path(struct target *t, struct ignis_appender *a, struct ignis_textparse *tp,
                     struct cache_entry *e, int64_t ts, double v)
{
    struct ig_scrape *m = t->pool->mgr;
    size_t rawlen;
    ignis_textparse_series(tp, &rawlen);
    struct scratch *s = scratch_get(rawlen * 2 + 4096);
    if (!s) {
        snprintf(t->job_error, sizeof t->job_error, "out of memory");
        return -1;
    }
    int n = ignis_textparse_labels(tp, s->ls, MAX_LABELS, s->buf, s->cap / 2);
    if (n < 0) {
        snprintf(t->job_error, sizeof t->job_error, "too many labels on line %u",
                 ignis_textparse_line(tp));
        return -1;
    }
    n = merge_target_labels(t, t->pool->honor_labels, s->ls, (size_t)n,
                            sizeof s->ls / sizeof s->ls[0], s->buf + s->cap / 2, s->cap / 2);
    if (n < 0) {
        snprintf(t->job_error, sizeof t->job_error, "too many labels on line %u",
                 ignis_textparse_line(tp));
        return -1;
    }
    if (ignis_labels_sort(s->ls, (size_t)n) != 0) {
        snprintf(t->job_error, sizeof t->job_error,
                 "line %u: label names are not unique", ignis_textparse_line(tp));
        return -1;
    }
    const struct ignis_label *fin = s->ls;
    size_t nfin = (size_t)n;
    if (t->pool->metric_relabel && ig_relabel_len(t->pool->metric_relabel)) {
        int rc = ig_relabel_apply(t->pool->metric_relabel, s->ls, (size_t)n, &s->rb, &fin, &nfin);
        if (rc == IG_RELABEL_DROPPED) {
            e->dropped = 1;
            return 0;
        }
        if (rc < 0) {
            snprintf(t->job_error, sizeof t->job_error, "metric relabeling: %s",
                     ignis_strerror(rc));
            return -1;
        }
        if (!ignis_labels_get(fin, nfin, "__name__", 8)) {
            e->dropped = 1; /* no name left: Prometheus drops it as invalid */
            return 0;
        }
    }
    if (!limits_ok(t, fin, nfin))
        return -1;
    uint64_t ref = 0;
    int rc = m->st->append(a, fin, nfin, ts, v, &ref);
    if (rc == IGNIS_E_LIMIT) {
        snprintf(t->job_error, sizeof t->job_error, "storage refused a new series: %s",
                 ignis_strerror(rc));
        return -1;
    }
    if (rc != 0) {
        ig_scrape_count_sample_error(m, rc);
        return -2;
    }
    e->ref = ref;
    return 1;
}

/* Appends the exemplar of the parser's current line, when it has one and the storage
 * keeps exemplars (one flag test per sample otherwise). */
static void append_exemplar(struct target *t, struct ignis_appender *a, struct ignis_textparse *tp,
                            uint64_t ref)
{
    struct ig_scrape *m = t->pool->mgr;
    struct ignis_textparse_exemplar ex;
    if (!IGNIS_HAS(m->st, append_exemplar) || !ignis_textparse_exemplar(tp, &ex))
        return;
    struct scratch *s = scratch_get(ex.labels_len * 2 + 64);
    int nl = s ? ignis_textparse_exemplar_labels(tp, s->ls, MAX_LABELS, s->buf, s->cap) : -1;
    if (nl < 0)
        return;
    struct ignis_exemplar x = {s->ls, (size_t)nl, ex.value,
                               ex.has_timestamp ? ex.ts_ms : IGNIS_NO_TIMESTAMP};
    m->st->append_exemplar(a, ref, &x); /* NOTSUP when exemplar storage is off */
}

/* ---- the job ------------------------------------------------------------------- */

struct batch {
    struct ignis_ref_sample s[BATCH];
    int errs[BATCH];
    struct cache_entry *e[BATCH];
    size_t n;
};

/* Appends the batch by ref. A ref the storage dropped loses its cache entry: the next
 * scrape takes the slow path for it (its sample in this scrape is lost, counted). */
static uint64_t flush(struct ig_scrape *m, struct ignis_appender *a, struct batch *b,
                      uint64_t *failed)
{
    if (!b->n)
        return 0;
    size_t ok = m->st->append_refs(a, b->s, b->n, b->errs);
    if (ok != b->n) {
        for (size_t i = 0; i < b->n; i++) {
            if (b->errs[i] == IGNIS_E_REF_GONE)
                b->e[i]->iter = 0; /* not seen: removed below, re-added next time */
            if (b->errs[i]) {
                (*failed)++;
                ig_scrape_count_sample_error(m, b->errs[i]);
            }
        }
    }
    b->n = 0;
    return ok;
}

static const char *const synth_names[5] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added",
};

static void append_synth(struct target *t, struct ignis_appender *a, int64_t ts,
                         const double v[5])
{
    struct ig_scrape *m = t->pool->mgr;
    for (int i = 0; i < 5; i++) {
        if (t->synth_refs[i]) {
            struct ignis_ref_sample s = {t->synth_refs[i], ts, v[i]};
            int err = 0;
            if (m->st->append_refs(a, &s, 1, &err) == 1)
                continue;
            if (err != IGNIS_E_REF_GONE)
                continue;
        }
        struct ignis_label ls[MAX_LABELS + 1];
        size_t n = 0;
        ls[n++] = ignis_label_make("__name__", synth_names[i]);
        for (size_t j = 0; j < t->nlabels && n < MAX_LABELS; j++)
            ls[n++] = t->labels[j];
        ignis_labels_sort(ls, n);
        uint64_t ref = 0;
        if (m->st->append(a, ls, n, ts, v[i], &ref) == 0)
            t->synth_refs[i] = ref;
    }
}

/* Staleness markers for the cache entries the current iteration did not see, which are
 * then forgotten. */
static void mark_unseen_stale(struct target *t, struct ignis_appender *a, int64_t ts,
                              struct batch *b, uint64_t *failed)
{
    struct ig_scrape *m = t->pool->mgr;
    struct scrape_cache *c = &t->cache;
    double stale = stale_nan();
    /* First the markers (refs stay valid), then the removals. */
    for (size_t i = 0; i < c->n; i++) {
        struct cache_entry *e = &c->ents[i];
        if (e->iter == t->iter) {
            e->fresh = 0; /* kept by a completed scrape */
            continue;
        }
        if (e->dropped || !e->ref || e->fresh)
            continue;
        if (e->explicit_ts && !t->pool->track_ts_staleness)
            continue;
        b->s[b->n] = (struct ignis_ref_sample){e->ref, ts, stale};
        b->e[b->n++] = e;
        if (b->n == BATCH)
            flush(m, a, b, failed);
    }
    flush(m, a, b, failed);
    cache_keep_seen(c, t->iter);
    c->next = 0;
}

void ig_scrape_ingest_work(void *arg)
{
    struct target *t = arg;
    struct pool *p = t->pool;
    struct ig_scrape *m = p->mgr;
    int64_t ts = t->sched_ts;
    struct scratch *sc = scratch_get(0);
    struct batch *b = sc ? sc->batch : NULL;
    if (!b && sc && (b = calloc(1, sizeof *b)) != NULL)
        sc->batch = b;
    if (!b) {
        snprintf(t->job_error, sizeof t->job_error, "out of memory");
        t->job_ok = false;
        return;
    }
    b->n = 0;
    t->job_error[0] = '\0';
    t->job_samples = 0;
    t->iter++;
    if (t->iter == 0)
        t->iter = 1;
    t->cache.next = 0;
    uint64_t failed = 0;
    struct ignis_appender *a = m->st->appender(m->st_inst);
    if (!a) {
        snprintf(t->job_error, sizeof t->job_error, "storage refused an appender");
        t->job_ok = false;
        return;
    }

    if (t->final_stale) {
        /* The target is gone: everything it wrote goes stale, up included. */
        t->iter++;
        mark_unseen_stale(t, a, ts, b, &failed);
        double stale = stale_nan();
        for (int i = 0; i < 5; i++)
            if (t->synth_refs[i]) {
                struct ignis_ref_sample s = {t->synth_refs[i], ts, stale};
                m->st->append_refs(a, &s, 1, NULL);
            }
        m->st->commit(a);
        t->job_ok = true;
        return;
    }

    bool ok = true;
    uint64_t scraped = 0, post = 0, added = 0;
    if (t->http_error[0]) {
        snprintf(t->job_error, sizeof t->job_error, "%s", t->http_error);
        ok = false;
    } else if (t->http_status != 200) {
        snprintf(t->job_error, sizeof t->job_error, "server returned HTTP status %d",
                 t->http_status);
        ok = false;
    }
    struct ignis_textparse tp;
    if (ok) {
        ignis_textparse_init(&tp, t->body.data, t->body.len,
                             ignis_textparse_format_for(t->content_type), IGNIS_TEXTPARSE_SCRAPE);
        for (;;) {
            enum ignis_textparse_entry en = ignis_textparse_next(&tp);
            if (en == IGNIS_TP_EOF)
                break;
            if (en == IGNIS_TP_ERROR) {
                snprintf(t->job_error, sizeof t->job_error, "%s", ignis_textparse_error(&tp));
                ok = false;
                break;
            }
            if (en == IGNIS_TP_TYPE || en == IGNIS_TP_HELP || en == IGNIS_TP_UNIT) {
                struct scratch *s = scratch_get(65536);
                size_t flen = 0, hlen = 0, ulen = 0;
                const char *fam = s ? ignis_textparse_family(&tp, s->buf, s->cap / 2, &flen) : NULL;
                const char *help = NULL, *unit = NULL;
                if (en == IGNIS_TP_HELP)
                    help = ignis_textparse_help(&tp, s->buf + s->cap / 2, s->cap / 2, &hlen);
                if (en == IGNIS_TP_UNIT)
                    unit = ignis_textparse_unit(&tp, &ulen);
                if (fam)
                    meta_update(t, fam, flen, ignis_textparse_type(&tp), help ? help : "", hlen,
                                unit ? unit : "", ulen, (int)en);
                continue;
            }
            if (en != IGNIS_TP_SERIES)
                continue;
            scraped++;
            size_t rawlen;
            const char *raw = ignis_textparse_series(&tp, &rawlen);
            double v = ignis_textparse_value(&tp);
            int64_t sts = ts, ets;
            bool explicit_ts = false;
            if (p->honor_timestamps && ignis_textparse_timestamp(&tp, &ets)) {
                sts = ets;
                explicit_ts = true;
            }
            uint64_t h;
            struct cache_entry *e = cache_find(&t->cache, raw, rawlen, &h);
            if (e && e->iter == t->iter) {
                /* The same series twice in one scrape: Prometheus counts it as a
                 * duplicate; the storage would refuse it too. */
                failed++;
                continue;
            }
            if (e && e->dropped) {
                e->iter = t->iter;
                continue;
            }
            if (e && e->ref) {
                e->iter = t->iter;
                e->explicit_ts = explicit_ts;
                post++;
                if (p->sample_limit > 0 && (int64_t)post > p->sample_limit) {
                    snprintf(t->job_error, sizeof t->job_error, "sample limit exceeded");
                    ignis_counter_inc(m->c_sample_limit);
                    ok = false;
                    break;
                }
                b->s[b->n] = (struct ignis_ref_sample){e->ref, sts, v};
                b->e[b->n++] = e;
                if (b->n == BATCH)
                    flush(m, a, b, &failed);
                append_exemplar(t, a, &tp, e->ref);
                continue;
            }
            /* appends stay in exposition order, and a batch must not hold entry
             * pointers across cache_add (it may move the entries) */
            flush(m, a, b, &failed);
            if (!e) {
                e = cache_add(&t->cache, h, raw, rawlen);
                if (!e) {
                    snprintf(t->job_error, sizeof t->job_error, "out of memory");
                    ok = false;
                    break;
                }
            }
            e->iter = t->iter;
            e->explicit_ts = explicit_ts;
            int rc = slow_path(t, a, &tp, e, sts, v);
            if (rc == -1) {
                ok = false;
                break;
            }
            if (rc == 0)
                continue;
            post++;
            if (rc == -2) {
                failed++;
                e->iter = 0; /* forget it: it is retried as new next time */
                continue;
            }
            added++;
            if (p->sample_limit > 0 && (int64_t)post > p->sample_limit) {
                snprintf(t->job_error, sizeof t->job_error, "sample limit exceeded");
                ignis_counter_inc(m->c_sample_limit);
                ok = false;
                break;
            }
            append_exemplar(t, a, &tp, e->ref);
        }
        ignis_textparse_fini(&tp);
        if (ok)
            flush(m, a, b, &failed);
    }

    if (!ok) {
        ignis_counter_inc(m->c_scrapes_failed);
        /* Nothing of a failed scrape is kept: its series are "not seen". */
        b->n = 0;
        m->st->rollback(a);
        a = m->st->appender(m->st_inst);
        if (!a) {
            t->job_ok = false;
            return;
        }
        t->iter++;
        scraped = post = added = 0;
    }
    mark_unseen_stale(t, a, ts, b, &failed);
    /* scrape_duration_seconds covers the whole scrape, fetch through append, as in
     * Prometheus. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dur = (double)(now.tv_sec - t->started.tv_sec) +
                 (double)(now.tv_nsec - t->started.tv_nsec) / 1e9;
    if (t->started.tv_sec == 0)
        dur = t->http_seconds;
    t->job_seconds = dur;
    double sv[5] = {ok ? 1 : 0, dur, (double)scraped, (double)post, (double)added};
    append_synth(t, a, ts, sv);
    if (m->st->commit(a) != 0 && ok) {
        snprintf(t->job_error, sizeof t->job_error, "storage commit failed");
        ok = false;
    }
    t->job_ok = ok;
    t->job_samples = scraped;
    (void)failed;
}
