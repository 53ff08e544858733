/* plugins/storage/tsdb/plugin.c — the `tsdb` storage plugin: struct ignis_storage_ops over
 * the head (head.c) in a Prometheus data directory. This file: options, the instance,
 * appenders, queriers and series sets, metadata and stats, the descriptor.
 *
 * Not offered yet (documented return codes): native histograms, exemplars, snapshots,
 * deletion (IGNIS_E_NOTSUP). Blocks already in the directory are not read by queriers yet;
 * compaction and retention are not run yet. append_start_ts checks the ref and keeps
 * nothing. */
#define _GNU_SOURCE
#include "chunkenc.h"
#include "enc.h"
#include "head.h"
#include "index.h"

#include <ignis/plugin.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many metric names keep metadata (Prometheus keeps it per target; this bounds
 * what a flood of distinct names can cost). */
#define TSDB_METADATA_MAX 100000

static const struct ignis_option options[] = {
    {"path", IGNIS_OPT_STRING, "data", "the data directory (wal/, chunks_head/, blocks)", NULL,
     0},
    {"retention_time", IGNIS_OPT_DURATION, "15d",
     "how long to keep samples (retention is not enforced yet)", NULL, 0},
    {"retention_size", IGNIS_OPT_SIZE, "0",
     "the most bytes blocks may take (0: no limit; not enforced yet)", NULL, 0},
    {"min_block_duration", IGNIS_OPT_DURATION, "2h",
     "the head's chunk range: no chunk spans a multiple of it", NULL, 0},
    {"wal_segment_size", IGNIS_OPT_SIZE, "128MB", "size of a WAL segment file", NULL, 0},
    {"max_exemplars", IGNIS_OPT_INT, "0",
     "exemplars kept in memory (0: off; exemplar storage is not offered yet)", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

struct meta_entry {
    char *name;
    enum ignis_metric_type type;
    char *help, *unit;
};

struct tsdb {
    const struct ignis_host *host;
    struct head *head;
    char *path;
    pthread_mutex_t meta_mu;
    struct meta_entry *meta;
    size_t nmeta, meta_cap;
};

struct ignis_appender {
    struct tsdb *db;
    struct head_app *a;
};

struct ignis_querier {
    struct tsdb *db;
    int64_t mint, maxt;
};

struct ignis_series_set {
    struct ignis_querier *q;
    struct plist refs;
    size_t next;
    size_t limit;
    struct head_series_view v;
    bool have;
    /* set_samples state */
    size_t s_chunk;
    bool s_in_chunk;
    struct xor_it it;
    /* set_chunk state */
    size_t c_chunk;
};

static void head_logger(void *arg, int level, const char *msg)
{
    struct tsdb *db = arg;
    db->host->log(db->host, level ? IGNIS_LOG_WARN : IGNIS_LOG_INFO, "%s", msg);
}

/* ---- instance ---------------------------------------------------------------------------- */

static int create(const struct ignis_host *host, const struct ignis_config *cfg, void **instance,
                  char *err, size_t errlen)
{
    const char *path = cfg ? ignis_config_string(cfg, "path") : "data";
    int64_t range = cfg ? ignis_config_duration_ms(cfg, "min_block_duration") : 0;
    uint64_t segsize = cfg ? ignis_config_size(cfg, "wal_segment_size") : 0;
    if (!path || !*path) {
        snprintf(err, errlen, "%s: path must not be empty",
                 cfg ? ignis_config_where(cfg, "path") : "tsdb");
        return IGNIS_E_INVALID;
    }
    if (range < 0 || (range && range < 1000)) {
        snprintf(err, errlen, "%s: min_block_duration must be at least 1s",
                 ignis_config_where(cfg, "min_block_duration"));
        return IGNIS_E_INVALID;
    }
    if (segsize && (segsize % 32768 || segsize > (1ull << 32))) {
        snprintf(err, errlen, "%s: wal_segment_size must be a multiple of 32KiB, at most 4GiB",
                 ignis_config_where(cfg, "wal_segment_size"));
        return IGNIS_E_INVALID;
    }
    struct tsdb *db = calloc(1, sizeof *db);
    if (!db || !(db->path = strdup(path))) {
        free(db);
        snprintf(err, errlen, "out of memory");
        return IGNIS_E_NOMEM;
    }
    db->host = host;
    pthread_mutex_init(&db->meta_mu, NULL);
    if (host && host->set_ready)
        host->set_ready(host, false); /* /-/ready answers 503 while the WAL replays */
    struct head_opts o = {.dir = db->path, .wal_segment_size = segsize, .chunk_range = range,
                          .log = host ? head_logger : NULL, .log_arg = db};
    if (head_open(&db->head, &o, err, errlen) < 0) {
        pthread_mutex_destroy(&db->meta_mu);
        free(db->path);
        free(db);
        return IGNIS_E_IO;
    }
    if (host && host->set_ready)
        host->set_ready(host, true);
    *instance = db;
    return 0;
}

static int reconfigure(void *instance, const struct ignis_config *cfg, char *err, size_t errlen)
{
    struct tsdb *db = instance;
    const char *path = ignis_config_string(cfg, "path");
    if (!path || strcmp(path, db->path)) {
        snprintf(err, errlen, "%s: path cannot change on reload",
                 ignis_config_where(cfg, "path"));
        return IGNIS_E_INVALID;
    }
    return 0;
}

static void destroy(void *instance)
{
    struct tsdb *db = instance;
    if (!db)
        return;
    head_close(db->head);
    for (size_t i = 0; i < db->nmeta; i++) {
        free(db->meta[i].name);
        free(db->meta[i].help);
        free(db->meta[i].unit);
    }
    free(db->meta);
    pthread_mutex_destroy(&db->meta_mu);
    free(db->path);
    free(db);
}

/* ---- appending --------------------------------------------------------------------------- */

static struct ignis_appender *appender(void *instance)
{
    struct tsdb *db = instance;
    struct ignis_appender *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->db = db;
    a->a = head_appender(db->head);
    if (!a->a) {
        free(a);
        return NULL;
    }
    return a;
}

static int append(struct ignis_appender *a, const struct ignis_label *labels, size_t n, int64_t t,
                  double v, uint64_t *ref)
{
    uint64_t r;
    int rc = head_app_add(a->a, labels, n, t, v, &r);
    if (rc == 0 && ref)
        *ref = r;
    return rc;
}

static size_t append_refs(struct ignis_appender *a, const struct ignis_ref_sample *s, size_t n,
                          int *errs)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = head_app_add_ref(a->a, s[i].ref, s[i].t, s[i].v);
        if (errs)
            errs[i] = rc;
        ok += rc == 0;
    }
    return ok;
}

static int append_histogram(struct ignis_appender *a, uint64_t ref,
                            const struct ignis_label *labels, size_t n, int64_t t,
                            const struct ignis_histogram *h, uint64_t *ref_out)
{
    return IGNIS_E_NOTSUP;
}

static int append_start_ts(struct ignis_appender *a, uint64_t ref, int64_t t, int64_t st)
{
    struct head_series_view v = {0};
    int rc = head_series(a->db->head, ref, INT64_MAX, INT64_MAX, &v);
    head_series_view_free(&v);
    return rc == 0 ? 0 : IGNIS_E_REF_GONE;
}

static int append_exemplar(struct ignis_appender *a, uint64_t ref, const struct ignis_exemplar *e)
{
    return IGNIS_E_NOTSUP;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int update_metadata(struct ignis_appender *a, uint64_t ref, const struct ignis_metadata *m)
{
    struct tsdb *db = a->db;
    struct head_series_view v = {0};
    if (head_series(db->head, ref, INT64_MAX, INT64_MAX, &v) != 0) {
        head_series_view_free(&v);
        return IGNIS_E_REF_GONE;
    }
    const struct ignis_label *name = ignis_labels_get(v.ls, v.nls, IGNIS_METRIC_NAME, 8);
    int rc = 0;
    if (name) {
        pthread_mutex_lock(&db->meta_mu);
        struct meta_entry *e = NULL;
        for (size_t i = 0; i < db->nmeta; i++)
            if (strlen(db->meta[i].name) == name->value_len &&
                !memcmp(db->meta[i].name, name->value, name->value_len)) {
                e = &db->meta[i];
                break;
            }
        if (!e) {
            if (db->nmeta >= TSDB_METADATA_MAX) {
                rc = IGNIS_E_LIMIT;
            } else if (db->nmeta == db->meta_cap) {
                size_t ncap = db->meta_cap ? db->meta_cap * 2 : 64;
                struct meta_entry *nm = realloc(db->meta, ncap * sizeof *nm);
                if (nm) {
                    db->meta = nm;
                    db->meta_cap = ncap;
                } else {
                    rc = IGNIS_E_NOMEM;
                }
            }
            if (rc == 0) {
                e = &db->meta[db->nmeta];
                memset(e, 0, sizeof *e);
                e->name = strndup(name->value, name->value_len);
                if (e->name)
                    db->nmeta++;
                else
                    rc = IGNIS_E_NOMEM;
            }
        }
        if (rc == 0) {
            free(e->help);
            free(e->unit);
            e->type = m->type;
            e->help = dup_or_null(m->help);
            e->unit = dup_or_null(m->unit);
        }
        pthread_mutex_unlock(&db->meta_mu);
    }
    head_series_view_free(&v);
    return rc;
}

static int commit(struct ignis_appender *a)
{
    char err[256];
    int rc = head_app_commit(a->a, err, sizeof err);
    if (rc)
        a->db->host->log(a->db->host, IGNIS_LOG_ERROR, "commit failed: %s", err);
    free(a);
    return rc;
}

static void rollback(struct ignis_appender *a)
{
    head_app_rollback(a->a);
    free(a);
}

/* ---- reading ----------------------------------------------------------------------------- */

static struct ignis_querier *querier(void *instance, int64_t mint, int64_t maxt)
{
    struct ignis_querier *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->db = instance;
    q->mint = mint;
    q->maxt = maxt;
    return q;
}

static int select_series(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                         const struct ignis_select_hints *hints, struct ignis_series_set **out)
{
    struct ignis_series_set *set = calloc(1, sizeof *set);
    if (!set)
        return IGNIS_E_NOMEM;
    set->q = q;
    int rc = head_select(q->db->head, ms, n, q->mint, q->maxt, &set->refs);
    if (rc) {
        free(set);
        return rc;
    }
    set->limit = hints ? hints->limit : 0;
    *out = set;
    return 0;
}

static int set_next(struct ignis_series_set *set, struct ignis_series *s)
{
    for (;;) {
        if (set->next >= set->refs.n || (set->limit && set->next >= set->limit))
            return 0;
        uint64_t ref = set->refs.v[set->next++];
        int rc = head_series(set->q->db->head, ref, set->q->mint, set->q->maxt, &set->v);
        if (rc == IGNIS_E_NOTFOUND)
            continue; /* gone since select */
        if (rc)
            return rc;
        set->have = true;
        set->s_chunk = 0;
        set->s_in_chunk = false;
        set->c_chunk = 0;
        s->labels = set->v.ls;
        s->nlabels = set->v.nls;
        s->ref = ref;
        return 1;
    }
}

static long set_samples(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                        struct ignis_sample_batch *b)
{
    if (!set->have)
        return 0;
    size_t n = 0;
    while (n < b->cap) {
        if (!set->s_in_chunk) {
            /* Next chunk that overlaps [mint, maxt]. */
            while (set->s_chunk < set->v.nchks &&
                   (set->v.chks[set->s_chunk].maxt < mint ||
                    set->v.chks[set->s_chunk].mint > maxt ||
                    set->v.chks[set->s_chunk].encoding != TSDB_ENC_XOR))
                set->s_chunk++;
            if (set->s_chunk >= set->v.nchks)
                break;
            const struct head_chunk_view *c = &set->v.chks[set->s_chunk++];
            if (xor_it_init(&set->it, c->data, c->len) < 0)
                return IGNIS_E_IO;
            set->s_in_chunk = true;
        }
        int64_t t;
        double v;
        int k = xor_it_next(&set->it, &t, &v);
        if (k < 0)
            return IGNIS_E_IO;
        if (k == 0) {
            set->s_in_chunk = false;
            continue;
        }
        if (t < mint)
            continue;
        if (t > maxt) {
            set->s_in_chunk = false;
            set->s_chunk = set->v.nchks; /* chunks are in time order: nothing later */
            break;
        }
        b->t[n] = t;
        b->v[n] = v;
        n++;
    }
    return (long)n;
}

static int set_chunk(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                     struct ignis_chunk *c)
{
    if (!set->have)
        return 0;
    while (set->c_chunk < set->v.nchks) {
        const struct head_chunk_view *h = &set->v.chks[set->c_chunk++];
        if (h->maxt < mint || h->mint > maxt)
            continue;
        c->encoding = (enum ignis_chunk_encoding)h->encoding;
        c->data = h->data;
        c->len = h->len;
        c->mint = h->mint;
        c->maxt = h->maxt;
        c->nsamples = xor_num_samples(h->data, h->len);
        return 1;
    }
    return 0;
}

static void set_close(struct ignis_series_set *set)
{
    if (!set)
        return;
    plist_free(&set->refs);
    head_series_view_free(&set->v);
    free(set);
}

struct limited {
    void (*fn)(void *arg, const char *s, size_t len);
    void *arg;
    size_t limit, n;
};

static void limited_fn(void *arg, const char *s, size_t len)
{
    struct limited *l = arg;
    if (l->limit && l->n >= l->limit)
        return;
    l->n++;
    l->fn(l->arg, s, len);
}

static int label_names(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                       size_t limit, void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    struct limited l = {fn, arg, limit, 0};
    return head_label_names(q->db->head, ms, n, limited_fn, &l);
}

static int label_values(struct ignis_querier *q, const char *name, size_t name_len,
                        const struct ignis_matcher *ms, size_t n, size_t limit,
                        void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    struct limited l = {fn, arg, limit, 0};
    return head_label_values(q->db->head, name, name_len, ms, n, limited_fn, &l);
}

static void querier_close(struct ignis_querier *q)
{
    free(q);
}

/* ---- metadata, stats, administration ----------------------------------------------------- */

static int metadata(void *instance, const char *metric, size_t limit,
                    void (*fn)(void *arg, const char *metric, const struct ignis_metadata *m),
                    void *arg)
{
    struct tsdb *db = instance;
    pthread_mutex_lock(&db->meta_mu);
    size_t n = 0;
    for (size_t i = 0; i < db->nmeta && (!limit || n < limit); i++) {
        const struct meta_entry *e = &db->meta[i];
        if (metric && strcmp(metric, e->name))
            continue;
        struct ignis_metadata m = {e->type, e->help, e->unit};
        fn(arg, e->name, &m);
        n++;
    }
    pthread_mutex_unlock(&db->meta_mu);
    return 0;
}

static int stats(void *instance, struct ignis_storage_stats *st)
{
    struct tsdb *db = instance;
    struct head_stats hs;
    head_stats(db->head, &hs);
    memset(st, 0, sizeof *st);
    st->num_series = hs.series;
    st->num_samples = hs.samples_appended;
    st->num_chunks = hs.chunks;
    st->min_time = hs.mint;
    st->max_time = hs.maxt;
    return 0;
}

static int snapshot(void *instance, const char *dir, bool skip_head, char *name, size_t namelen)
{
    return IGNIS_E_NOTSUP;
}

static int delete_series(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
                         int64_t maxt)
{
    return IGNIS_E_NOTSUP;
}

static int clean_tombstones(void *instance)
{
    return IGNIS_E_NOTSUP;
}

static int exemplars(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
                     int64_t maxt,
                     void (*fn)(void *arg, const struct ignis_label *ls, size_t nls,
                                const struct ignis_exemplar *e),
                     void *arg)
{
    return IGNIS_E_NOTSUP;
}

static const struct ignis_storage_ops ops = {
    .size = sizeof ops,
    .create = create,
    .reconfigure = reconfigure,
    .destroy = destroy,
    .appender = appender,
    .append = append,
    .append_refs = append_refs,
    .append_histogram = append_histogram,
    .append_start_ts = append_start_ts,
    .append_exemplar = append_exemplar,
    .update_metadata = update_metadata,
    .commit = commit,
    .rollback = rollback,
    .querier = querier,
    .select = select_series,
    .set_next = set_next,
    .set_samples = set_samples,
    .set_chunk = set_chunk,
    .set_close = set_close,
    .label_names = label_names,
    .label_values = label_values,
    .querier_close = querier_close,
    .metadata = metadata,
    .stats = stats,
    .snapshot = snapshot,
    .delete_series = delete_series,
    .clean_tombstones = clean_tombstones,
    .exemplars = exemplars,
};

const struct ignis_plugin ignis_plugin = {
    .abi = IGNIS_ABI,
    .kind = IGNIS_PLUGIN_STORAGE,
    .name = "tsdb",
    .version = "0.1.0",
    .description = "local time-series database in Prometheus' on-disk format",
    .options = options,
    .ops = &ops,
};
