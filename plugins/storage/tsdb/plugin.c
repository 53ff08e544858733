/* plugins/storage/tsdb/plugin.c — the `tsdb` storage plugin: struct ignis_storage_ops over
 * the head (head.c) in a Prometheus data directory. This file: options, the instance,
 * appenders, queriers and series sets, metadata and stats, the descriptor.
 *
 * Queriers read the head and every block of the directory (querier.c), so a directory
 * that Prometheus wrote is read whole.
 *
 * Every compaction_interval a background job persists the head's oldest range as a block,
 * truncates the head and applies retention (compact.c). A lock file keeps a second process
 * off the directory.
 *
 * Deletion, cleaning tombstones and snapshots are admin.c's.
 *
 * Exemplars live in a bounded ring (exemplars.c) and in the WAL, when max_exemplars > 0.
 *
 * Not offered yet (documented return codes): native histograms (IGNIS_E_NOTSUP); blocks
 * are not merged into larger ones yet. append_start_ts checks the
 * ref and keeps nothing. */
#define _GNU_SOURCE
#include "chunkenc.h"
#include "db.h"
#include "exemplars.h"
#include "record.h"
#include "enc.h"
#include "head.h"
#include "index.h"

#include <errno.h>
#include <fcntl.h>
#include <ignis/plugin.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
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
     "blocks ending this long before the newest block's end are deleted (0s: no limit)", NULL,
     0},
    {"retention_size", IGNIS_OPT_SIZE, "0",
     "the most bytes blocks, WAL and head chunks may take; oldest blocks go first (0: no "
     "limit)",
     NULL, 0},
    {"max_block_duration", IGNIS_OPT_DURATION, "0s",
     "the largest block compaction makes (0s: a tenth of retention_time, at most 31d)", NULL,
     0},
    {"compaction_interval", IGNIS_OPT_DURATION, "1m",
     "how often the head is checked for a range to persist and retention applied", NULL, 0},
    {"min_block_duration", IGNIS_OPT_DURATION, "2h",
     "the head's chunk range: no chunk spans a multiple of it", NULL, 0},
    {"wal_segment_size", IGNIS_OPT_SIZE, "128MB", "size of a WAL segment file", NULL, 0},
    {"max_exemplars", IGNIS_OPT_INT, "0",
     "exemplars kept in memory, newest first, across all series (0: exemplar storage off)",
     NULL, 0},
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
    struct db db;
    char *path;
    int lock_fd;
    int64_t retention_ms;
    uint64_t retention_bytes;
    struct ignis_timer *timer;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    bool bg_busy; /* a compaction job is queued or running (bg_mu) */
    /* self-metrics (atomic) */
    uint64_t compactions, compactions_failed, truncations, time_retentions,
        size_retentions;
    struct ignis_registry *reg; /* where the collector is registered */
    struct exstore ex;
    pthread_mutex_t meta_mu;
    struct meta_entry *meta;
    size_t nmeta, meta_cap;
};

/* An exemplar waiting for commit: labels and strings in one allocation. */
struct pending_ex {
    uint64_t ref;
    int64_t t;
    double v;
    struct ignis_label *ls;
    size_t n;
};

struct ignis_appender {
    struct tsdb *db;
    struct head_app *a;
    struct pending_ex *ex;
    size_t nex, cap_ex;
};

/* The ABI's querier and series set are the db's (querier.c). */
struct ignis_querier {
    struct dbq *q;
};

struct ignis_series_set {
    struct dbset *s;
};

static void head_logger(void *arg, int level, const char *msg)
{
    struct tsdb *db = arg;
    db->host->log(db->host, level ? IGNIS_LOG_WARN : IGNIS_LOG_INFO, "%s", msg);
}

/* ---- background compaction --------------------------------------------------------------- */

/* Runs on a background worker; clears bg_busy itself (no done callback), so destroy can
 * wait for it from the loop. */
static void compact_work(void *arg)
{
    struct tsdb *db = arg;
    pthread_mutex_lock(&db->bg_mu);
    int64_t ret = db->retention_ms;
    uint64_t size = db->retention_bytes;
    pthread_mutex_unlock(&db->bg_mu);
    char err[512];
    struct db_compact_stats st;
    int rc = db_compact(&db->db, ret, size, &st, err, sizeof err);
    __atomic_add_fetch(&db->compactions, st.blocks_written, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->truncations, st.blocks_written, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->time_retentions, st.blocks_deleted, __ATOMIC_RELAXED);
    if (rc < 0) {
        __atomic_add_fetch(&db->compactions_failed, 1, __ATOMIC_RELAXED);
        db->host->log(db->host, IGNIS_LOG_ERROR, "compaction failed (will retry): %s", err);
    } else if (st.blocks_written || st.blocks_deleted)
        db->host->log(db->host, IGNIS_LOG_INFO,
                      "compaction: %" PRIu64 " blocks written, %" PRIu64 " deleted, %" PRIu64
                      " head series removed",
                      st.blocks_written, st.blocks_deleted, st.head_series_removed);
    pthread_mutex_lock(&db->bg_mu);
    db->bg_busy = false;
    pthread_cond_broadcast(&db->bg_cv);
    pthread_mutex_unlock(&db->bg_mu);
}

static void compact_tick(void *arg)
{
    struct tsdb *db = arg;
    pthread_mutex_lock(&db->bg_mu);
    bool busy = db->bg_busy;
    db->bg_busy = true;
    pthread_mutex_unlock(&db->bg_mu);
    if (busy)
        return;
    if (!db->host->submit ||
        db->host->submit(db->host, IGNIS_LANE_BACKGROUND, compact_work, NULL, db) != 0) {
        pthread_mutex_lock(&db->bg_mu);
        db->bg_busy = false;
        pthread_cond_broadcast(&db->bg_cv);
        pthread_mutex_unlock(&db->bg_mu);
    }
}

/* ---- self-metrics --------------------------------------------------------------------------
 * Written at scrape time by a collector, under the names Prometheus' dashboards use. */

static void gauge(struct ignis_sink *s, const char *name, const char *help, double v)
{
    ignis_sink_family(s, name, IGNIS_METRIC_GAUGE, help, NULL);
    ignis_sink_sample(s, "", NULL, 0, v, IGNIS_NO_TIMESTAMP);
}

static void counter(struct ignis_sink *s, const char *name, const char *help, double v,
                    bool float_type)
{
    static const struct ignis_label type_float = {"type", 4, "float", 5};
    ignis_sink_family(s, name, IGNIS_METRIC_COUNTER, help, NULL);
    ignis_sink_sample(s, "_total", float_type ? &type_float : NULL, float_type, v,
                      IGNIS_NO_TIMESTAMP);
}

static int collect_metrics(void *arg, struct ignis_sink *s)
{
    struct tsdb *db = arg;
    struct head_stats hs;
    head_stats(db->head, &hs);
    pthread_mutex_lock(&db->db.mu);
    size_t nblocks = db->db.nblocks;
    int64_t lowest = hs.mint;
    for (size_t i = 0; i < nblocks; i++)
        if (db->db.blocks[i]->b.meta.min_time < lowest)
            lowest = db->db.blocks[i]->b.meta.min_time;
    pthread_mutex_unlock(&db->db.mu);
    gauge(s, "prometheus_tsdb_head_series", "Total number of series in the head block.",
          (double)hs.series);
    gauge(s, "prometheus_tsdb_head_chunks", "Total number of chunks in the head block.",
          (double)hs.chunks);
    counter(s, "prometheus_tsdb_head_chunks_created", "Total number of chunks created in the head",
            (double)hs.chunks_created, false);
    counter(s, "prometheus_tsdb_head_samples_appended", "Total number of appended samples.",
            (double)hs.samples_appended, true);
    counter(s, "prometheus_tsdb_out_of_order_samples",
            "Total number of out of order samples ingestion failed attempts due to out of "
            "order being disabled.",
            (double)hs.out_of_order, true);
    counter(s, "prometheus_tsdb_out_of_bounds_samples",
            "Total number of out of bound samples ingestion failed attempts with out of order "
            "support disabled.",
            (double)hs.out_of_bounds, true);
    counter(s, "ignis_tsdb_duplicate_samples",
            "Samples refused because their series already has a different value at that time.",
            (double)hs.duplicates, false);
    gauge(s, "prometheus_tsdb_head_min_time",
          "Minimum time bound of the head block. The unit is decided by the library consumer.",
          hs.mint == INT64_MAX ? 0 : (double)hs.mint);
    gauge(s, "prometheus_tsdb_head_max_time",
          "Maximum timestamp of the head block. The unit is decided by the library consumer.",
          hs.maxt == INT64_MIN ? 0 : (double)hs.maxt);
    gauge(s, "prometheus_tsdb_lowest_timestamp",
          "Lowest timestamp value stored in the database. The unit is decided by the library "
          "consumer.",
          lowest == INT64_MAX ? 0 : (double)lowest);
    gauge(s, "prometheus_tsdb_blocks_loaded", "Number of currently loaded data blocks",
          (double)nblocks);
    counter(s, "prometheus_tsdb_compactions", "Total number of compactions that were executed "
            "for the partition.",
            (double)__atomic_load_n(&db->compactions, __ATOMIC_RELAXED), false);
    counter(s, "prometheus_tsdb_compactions_failed",
            "Total number of compactions that failed for the partition.",
            (double)__atomic_load_n(&db->compactions_failed, __ATOMIC_RELAXED), false);
    counter(s, "prometheus_tsdb_head_truncations", "Total number of head truncations attempted.",
            (double)__atomic_load_n(&db->truncations, __ATOMIC_RELAXED), false);
    counter(s, "prometheus_tsdb_time_retentions",
            "The number of times that blocks were deleted because the maximum time limit was "
            "exceeded.",
            (double)__atomic_load_n(&db->time_retentions, __ATOMIC_RELAXED), false);
    counter(s, "prometheus_tsdb_wal_corruptions", "Total number of WAL corruptions.",
            (double)hs.wal_corruptions, false);
    gauge(s, "prometheus_tsdb_data_replay_duration_seconds",
          "Time taken to replay the data on disk.", hs.replay_seconds);
    gauge(s, "prometheus_tsdb_retention_limit_bytes",
          "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled",
          (double)db->retention_bytes);
    return 0;
}

/* ---- instance ---------------------------------------------------------------------------- */

static void replayed_exemplar(void *arg, uint64_t ref, int64_t t, double v,
                              const struct ignis_label *ls, size_t n);

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
    db->lock_fd = -1;
    db->retention_ms = cfg ? ignis_config_duration_ms(cfg, "retention_time") : 0;
    db->retention_bytes = cfg ? ignis_config_size(cfg, "retention_size") : 0;
    int64_t interval = cfg ? ignis_config_duration_ms(cfg, "compaction_interval") : 60000;
    int64_t max_ex = cfg ? ignis_config_int(cfg, "max_exemplars") : 0;
    if (max_ex < 0 || max_ex > (1 << 26)) {
        snprintf(err, errlen, "%s: max_exemplars must be between 0 and %d",
                 ignis_config_where(cfg, "max_exemplars"), 1 << 26);
        free(db->path);
        free(db);
        return IGNIS_E_INVALID;
    }
    exstore_init(&db->ex, (size_t)max_ex);
    pthread_mutex_init(&db->meta_mu, NULL);
    pthread_mutex_init(&db->bg_mu, NULL);
    pthread_cond_init(&db->bg_cv, NULL);
    pthread_mutex_init(&db->db.mu, NULL);
    pthread_mutex_init(&db->db.admin_mu, NULL);
    db->db.dir = db->path;
    db->db.max_block = cfg ? ignis_config_duration_ms(cfg, "max_block_duration") : 0;
    if (!db->db.max_block && db->retention_ms > 0)
        db->db.max_block = db->retention_ms / 10; /* Prometheus' default */
    if (db->db.max_block && db->db.max_block < (range ? range : HEAD_CHUNK_RANGE_DEFAULT))
        db->db.max_block = range ? range : HEAD_CHUNK_RANGE_DEFAULT;
    db->db.log = host ? head_logger : NULL;
    db->db.log_arg = db;
    int rc = IGNIS_E_IO;
    /* The lock file: one process per directory, as Prometheus' "lock". */
    char lock[4096];
    snprintf(lock, sizeof lock, "%s/lock", db->path);
    if (mkdir(db->path, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", db->path, strerror(errno));
        goto fail;
    }
    db->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd < 0) {
        snprintf(err, errlen, "open %s: %s", lock, strerror(errno));
        goto fail;
    }
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "%s is in use by another process (lock file %s)", db->path, lock);
        goto fail;
    }
    if (db_load_blocks(&db->db, err, errlen) < 0)
        goto fail;
    if (host && host->set_ready)
        host->set_ready(host, false); /* /-/ready answers 503 while the WAL replays */
    int64_t bmax = db_blocks_maxt(&db->db);
    struct head_opts o = {.dir = db->path, .wal_segment_size = segsize, .chunk_range = range,
                          .min_valid_set = bmax != INT64_MIN, .min_valid_time = bmax,
                          .log = host ? head_logger : NULL, .log_arg = db,
                          .on_exemplar = replayed_exemplar, .exemplar_arg = db};
    if (head_open(&db->head, &o, err, errlen) < 0) {
        if (host && host->set_ready)
            host->set_ready(host, true);
        goto fail;
    }
    db->db.head = db->head;
    if (host && host->set_ready)
        host->set_ready(host, true);
    if (host && host->timer_add && interval > 0)
        db->timer = host->timer_add(host, interval, interval, compact_tick, db);
    if (host && IGNIS_HAS(host, registry) && (db->reg = host->registry(host)) &&
        ignis_registry_add_collector(db->reg, collect_metrics, db) != 0)
        db->reg = NULL;
    *instance = db;
    return 0;
fail:
    db_close_blocks(&db->db);
    if (db->lock_fd >= 0)
        close(db->lock_fd);
    pthread_mutex_destroy(&db->db.mu);
    pthread_mutex_destroy(&db->db.admin_mu);
    pthread_cond_destroy(&db->bg_cv);
    pthread_mutex_destroy(&db->bg_mu);
    pthread_mutex_destroy(&db->meta_mu);
    exstore_free(&db->ex);
    free(db->path);
    free(db);
    return rc;
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
    int64_t max_ex = ignis_config_int(cfg, "max_exemplars");
    if (max_ex < 0 || max_ex > (1 << 26)) {
        snprintf(err, errlen, "%s: max_exemplars must be between 0 and %d",
                 ignis_config_where(cfg, "max_exemplars"), 1 << 26);
        return IGNIS_E_INVALID;
    }
    if (exstore_resize(&db->ex, (size_t)max_ex) != 0) {
        snprintf(err, errlen, "out of memory resizing the exemplar store");
        return IGNIS_E_NOMEM;
    }
    pthread_mutex_lock(&db->bg_mu);
    db->retention_ms = ignis_config_duration_ms(cfg, "retention_time");
    db->retention_bytes = ignis_config_size(cfg, "retention_size");
    pthread_mutex_unlock(&db->bg_mu);
    return 0;
}

static void destroy(void *instance)
{
    struct tsdb *db = instance;
    if (!db)
        return;
    if (db->reg)
        ignis_registry_remove_collector(db->reg, collect_metrics, db);
    if (db->timer)
        db->host->timer_cancel(db->host, db->timer);
    pthread_mutex_lock(&db->bg_mu);
    while (db->bg_busy)
        pthread_cond_wait(&db->bg_cv, &db->bg_mu);
    pthread_mutex_unlock(&db->bg_mu);
    db_close_blocks(&db->db);
    pthread_mutex_destroy(&db->db.mu);
    pthread_mutex_destroy(&db->db.admin_mu);
    head_close(db->head);
    exstore_free(&db->ex);
    if (db->lock_fd >= 0)
        close(db->lock_fd);
    pthread_cond_destroy(&db->bg_cv);
    pthread_mutex_destroy(&db->bg_mu);
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
    return head_app_add_refs(a->a, s, n, errs);
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
    struct tsdb *db = a->db;
    if (!exstore_on(&db->ex))
        return IGNIS_E_NOTSUP;
    if (!e || e->t == IGNIS_NO_TIMESTAMP || (e->nlabels && !e->labels))
        return IGNIS_E_INVALID;
    struct head_series_view v = {0};
    int rc = head_series(db->head, ref, INT64_MAX, INT64_MIN, &v);
    head_series_view_free(&v);
    if (rc)
        return IGNIS_E_REF_GONE;
    rc = exstore_check(&db->ex, ref, e->t, e->value, e->labels, e->nlabels);
    if (rc == 1)
        return 0; /* the newest one again: kept once */
    if (rc)
        return rc;
    if (a->nex == a->cap_ex) {
        if (a->cap_ex >= HEAD_APPENDER_MAX)
            return IGNIS_E_LIMIT;
        size_t ncap = a->cap_ex ? a->cap_ex * 2 : 16;
        struct pending_ex *np = realloc(a->ex, ncap * sizeof *np);
        if (!np)
            return IGNIS_E_NOMEM;
        a->ex = np;
        a->cap_ex = ncap;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < e->nlabels; i++)
        bytes += e->labels[i].name_len + e->labels[i].value_len;
    struct ignis_label *ls = malloc(e->nlabels * sizeof *ls + bytes + 1);
    if (!ls)
        return IGNIS_E_NOMEM;
    char *p = (char *)(ls + e->nlabels);
    for (size_t i = 0; i < e->nlabels; i++) {
        ls[i] = (struct ignis_label){p, e->labels[i].name_len, NULL, e->labels[i].value_len};
        memcpy(p, e->labels[i].name, e->labels[i].name_len);
        p += e->labels[i].name_len;
        ls[i].value = p;
        if (e->labels[i].value_len)
            memcpy(p, e->labels[i].value, e->labels[i].value_len);
        p += e->labels[i].value_len;
    }
    a->ex[a->nex++] = (struct pending_ex){ref, e->t, e->value, ls, e->nlabels};
    return 0;
}

static void free_pending(struct ignis_appender *a)
{
    for (size_t i = 0; i < a->nex; i++)
        free(a->ex[i].ls);
    free(a->ex);
}

/* Logs the appender's exemplars to the WAL and stores them. */
static int commit_exemplars(struct ignis_appender *a, char *err, size_t errlen)
{
    if (!a->nex)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < a->nex; i++)
        total += a->ex[i].n;
    struct ignis_label *all = malloc((total ? total : 1) * sizeof *all);
    struct rec_exemplar *re = malloc(a->nex * sizeof *re);
    int rc = 0;
    if (!all || !re) {
        rc = IGNIS_E_NOMEM;
    } else {
        size_t k = 0;
        for (size_t i = 0; i < a->nex; i++) {
            re[i] = (struct rec_exemplar){a->ex[i].ref, a->ex[i].t, a->ex[i].v, k, a->ex[i].n};
            if (a->ex[i].n)
                memcpy(all + k, a->ex[i].ls, a->ex[i].n * sizeof *all);
            k += a->ex[i].n;
        }
        struct ebuf b;
        ebuf_init(&b, 0);
        rec_encode_exemplars(&b, re, a->nex, all);
        if (b.err || head_log_record(a->db->head, b.p, b.len, err, errlen) < 0)
            rc = IGNIS_E_IO;
        ebuf_free(&b);
    }
    free(all);
    free(re);
    for (size_t i = 0; rc == 0 && i < a->nex; i++)
        exstore_add(&a->db->ex, a->ex[i].ref, a->ex[i].t, a->ex[i].v, a->ex[i].ls,
                    a->ex[i].n);
    return rc;
}

static void replayed_exemplar(void *arg, uint64_t ref, int64_t t, double v,
                              const struct ignis_label *ls, size_t n)
{
    struct tsdb *db = arg;
    exstore_add(&db->ex, ref, t, v, ls, n);
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
    if (rc == 0)
        rc = commit_exemplars(a, err, sizeof err);
    if (rc)
        a->db->host->log(a->db->host, IGNIS_LOG_ERROR, "commit failed: %s", err);
    free_pending(a);
    free(a);
    return rc;
}

static void rollback(struct ignis_appender *a)
{
    head_app_rollback(a->a);
    free_pending(a);
    free(a);
}

/* ---- reading ----------------------------------------------------------------------------- */

static struct ignis_querier *querier(void *instance, int64_t mint, int64_t maxt)
{
    struct tsdb *db = instance;
    struct ignis_querier *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    if (!(q->q = dbq_open(&db->db, mint, maxt))) {
        free(q);
        return NULL;
    }
    return q;
}

static int select_series(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                         const struct ignis_select_hints *hints, struct ignis_series_set **out)
{
    struct ignis_series_set *set = calloc(1, sizeof *set);
    if (!set)
        return IGNIS_E_NOMEM;
    int rc = dbq_select(q->q, ms, n, hints ? hints->limit : 0, &set->s);
    if (rc) {
        free(set);
        return rc;
    }
    *out = set;
    return 0;
}

static int set_next(struct ignis_series_set *set, struct ignis_series *s)
{
    return dbset_next(set->s, &s->labels, &s->nlabels, &s->ref);
}

static long set_samples(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                        struct ignis_sample_batch *b)
{
    return dbset_samples(set->s, mint, maxt, b->t, b->v, b->cap);
}

static int set_chunk(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                     struct ignis_chunk *c)
{
    uint8_t enc;
    int rc = dbset_chunk(set->s, mint, maxt, &enc, &c->data, &c->len, &c->mint, &c->maxt);
    if (rc == 1) {
        c->encoding = (enum ignis_chunk_encoding)enc;
        c->nsamples = xor_num_samples(c->data, c->len);
    }
    return rc;
}

static void set_close(struct ignis_series_set *set)
{
    if (!set)
        return;
    dbset_close(set->s);
    free(set);
}

static int label_names(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                       size_t limit, void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    return dbq_label_names(q->q, ms, n, limit, fn, arg);
}

static int label_values(struct ignis_querier *q, const char *name, size_t name_len,
                        const struct ignis_matcher *ms, size_t n, size_t limit,
                        void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    return dbq_label_values(q->q, name, name_len, ms, n, limit, fn, arg);
}

static void querier_close(struct ignis_querier *q)
{
    if (!q)
        return;
    dbq_close(q->q);
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
    pthread_mutex_lock(&db->db.mu);
    st->num_blocks = db->db.nblocks;
    pthread_mutex_unlock(&db->db.mu);
    return 0;
}

static int snapshot(void *instance, const char *dir, bool skip_head, char *name, size_t namelen)
{
    struct tsdb *db = instance;
    char err[512];
    int rc = db_snapshot(&db->db, dir, skip_head, name, namelen, err, sizeof err);
    if (rc)
        db->host->log(db->host, IGNIS_LOG_ERROR, "snapshot failed: %s", err);
    return rc;
}

static int delete_series(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
                         int64_t maxt)
{
    struct tsdb *db = instance;
    char err[512];
    int rc = db_delete(&db->db, ms, n, mint, maxt, err, sizeof err);
    if (rc)
        db->host->log(db->host, IGNIS_LOG_ERROR, "delete series failed: %s", err);
    return rc;
}

static int clean_tombstones(void *instance)
{
    struct tsdb *db = instance;
    char err[512];
    int rc = db_clean_tombstones(&db->db, err, sizeof err);
    if (rc)
        db->host->log(db->host, IGNIS_LOG_ERROR, "clean tombstones failed: %s", err);
    return rc;
}

struct ex_walk {
    const struct ignis_label *ls;
    size_t nls;
    void (*fn)(void *arg, const struct ignis_label *ls, size_t nls,
               const struct ignis_exemplar *e);
    void *arg;
};

static void ex_each(void *arg, int64_t t, double v, const struct ignis_label *ls, size_t n)
{
    struct ex_walk *w = arg;
    struct ignis_exemplar e = {ls, n, v, t};
    w->fn(w->arg, w->ls, w->nls, &e);
}

static int exemplars(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
                     int64_t maxt,
                     void (*fn)(void *arg, const struct ignis_label *ls, size_t nls,
                                const struct ignis_exemplar *e),
                     void *arg)
{
    struct tsdb *db = instance;
    if (!exstore_on(&db->ex))
        return IGNIS_E_NOTSUP;
    struct plist refs;
    int rc = head_select(db->head, ms, n, INT64_MIN, INT64_MAX, &refs);
    if (rc)
        return rc;
    struct head_series_view v = {0};
    for (size_t i = 0; i < refs.n; i++) {
        if (head_series(db->head, refs.v[i], INT64_MAX, INT64_MIN, &v) != 0)
            continue;
        struct ex_walk w = {v.ls, v.nls, fn, arg};
        exstore_each(&db->ex, refs.v[i], mint, maxt, ex_each, &w);
    }
    head_series_view_free(&v);
    plist_free(&refs);
    return 0;
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
