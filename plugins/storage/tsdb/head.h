/* plugins/storage/tsdb/head.h — the in-memory head: interned symbols, series keyed by
 * packed label sets (32-bit symbol ids), postings per label pair, an open XOR chunk per
 * series whose full chunks go to chunks_head/ files, and the WAL that makes commits
 * durable. Opening replays chunks_head, the last checkpoint and the WAL, so a directory
 * that Prometheus or Ignis wrote comes back with every committed sample.
 *
 * Locking: one rwlock guards symbols, series, postings and chunks (read: queries copy
 * what they need and let go; write: commits and series creation). The WAL has its own
 * mutex, taken before the rwlock so disk writes never block readers. */
#ifndef TSDB_HEAD_H
#define TSDB_HEAD_H

#include "meta.h"
#include "postings.h"

#include <ignis/labels.h>
#include <ignis/selector.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Chunks never span the block range they will be compacted into (Prometheus' default
 * minimum block duration, 2h). */
#define HEAD_CHUNK_RANGE_DEFAULT (2 * 3600 * 1000)
/* At most this many samples wait in one appender before commit (then IGNIS_E_LIMIT). */
#define HEAD_APPENDER_MAX (4u << 20)

struct head_opts {
    const char *dir;           /* data directory (wal/, chunks_head/); NULL: memory only */
    uint64_t wal_segment_size; /* 0: 128 MiB */
    int64_t chunk_range;       /* 0: HEAD_CHUNK_RANGE_DEFAULT */
    /* Samples older than this are out of bounds (already in blocks): replay skips them
     * and appends refuse them. Only when min_valid_set. */
    bool min_valid_set;
    int64_t min_valid_time;
    /* Progress and warnings (replay, torn WAL tail); may be NULL. level: 0 info, 1 warn. */
    void (*log)(void *arg, int level, const char *msg);
    void *log_arg;
    /* Exemplars found in the WAL while replaying (may be NULL): labels borrowed for the
     * call. */
    void (*on_exemplar)(void *arg, uint64_t ref, int64_t t, double v,
                        const struct ignis_label *ls, size_t n);
    void *exemplar_arg;
};

struct head_stats {
    uint64_t series;
    uint64_t samples_appended;
    uint64_t chunks;           /* open plus mmapped */
    uint64_t chunks_created;
    uint64_t out_of_order, duplicates, out_of_bounds;
    int64_t mint, maxt;        /* INT64_MAX / INT64_MIN when empty */
    /* replay */
    uint64_t replayed_series, replayed_samples, replay_unknown_refs;
    uint64_t wal_corruptions;  /* torn or corrupt WAL cut off at open */
    double replay_seconds;
};

struct head;

int head_open(struct head **h, const struct head_opts *o, char *err, size_t errlen);
/* Flushes the WAL and frees everything. */
void head_close(struct head *h);
void head_stats(struct head *h, struct head_stats *st);

/* ---- appending ---- */
struct head_app;

struct head_app *head_appender(struct head *h);
/* Appends by labels (sorted by name, unique names; empty values are dropped). Creates the
 * series when new (logged to the WAL at commit). Stores its ref. Returns 0 or an
 * IGNIS_E_* code. */
int head_app_add(struct head_app *a, const struct ignis_label *ls, size_t n, int64_t t,
                 double v, uint64_t *ref);
/* Appends by ref. IGNIS_E_REF_GONE when the head has no such series. */
int head_app_add_ref(struct head_app *a, uint64_t ref, int64_t t, double v);
/* The same for n samples under one lock: returns how many were taken; errs (may be NULL)
 * gets one code per sample. */
struct ignis_ref_sample;
size_t head_app_add_refs(struct head_app *a, const struct ignis_ref_sample *s, size_t n,
                         int *errs);
/* Writes the WAL records and applies the samples; frees a. Samples that turn out out of
 * order at commit are dropped and counted. */
int head_app_commit(struct head_app *a, char *err, size_t errlen);
void head_app_rollback(struct head_app *a);

/* Writes one more record (exemplars) to the WAL and flushes it. */
int head_log_record(struct head *h, const uint8_t *rec, size_t len, char *err, size_t errlen);

/* ---- deletion ---- */

/* Deletes [mint, maxt] of the given series (refs): logged to the WAL as a tombstones record,
 * applied by readers and by compaction. */
int head_delete(struct head *h, const uint64_t *refs, size_t n, int64_t mint, int64_t maxt,
                char *err, size_t errlen);

/* ---- truncation ---- */

struct head_truncate_stats {
    uint64_t chunks_dropped, series_removed, files_deleted;
    struct { uint64_t series_kept, samples_kept; } checkpoint;
};

/* Drops everything older than mint (it is in a block now): chunks ending before it, then
 * series left empty; appends older than mint become out of bounds. Checkpoints the WAL
 * segments before the current one and deletes them. Head chunk files all older than mint
 * are deleted only when delete_files (no reader may hold pointers into them). */
int head_truncate(struct head *h, int64_t mint, bool delete_files,
                  struct head_truncate_stats *st, char *err, size_t errlen);
/* Deletes head chunk files all older than the head's minimum valid time (when no reader
 * holds pointers into them). Returns the number deleted. */
int head_gc_files(struct head *h);
/* The oldest time the head holds, INT64_MAX when empty; and the chunk range. */
int64_t head_min_time(struct head *h);
int64_t head_max_time(struct head *h);
int64_t head_chunk_range(const struct head *h);

/* ---- reading ---- */

/* A series copied out of the head for a reader: labels (strings borrowed from the head's
 * symbol table, which only grows), and its chunks overlapping the asked range, mmapped
 * ones by pointer into chunks_head/ and the open one copied. */
struct head_chunk_view {
    const uint8_t *data;
    size_t len;
    int64_t mint, maxt;
    uint8_t encoding;
};

struct head_series_view {
    uint64_t ref;
    struct ignis_label *ls;
    size_t nls, ls_cap;
    struct head_chunk_view *chks;
    size_t nchks, chks_cap;
    uint8_t *open;             /* copy of the open chunk's bytes */
    size_t open_cap;
    struct tombstone *stones;  /* deleted intervals of the series (copies) */
    size_t nstones, stones_cap;
    int64_t vis_maxt;          /* samples after this are not visible (isolation): the open
                                * chunk's copy may hold some; INT64_MAX: all visible */
};

/* The refs of series matching every matcher (n may be 0: all series) that have samples
 * in [mint, maxt], sorted by their label sets. Caller frees out with plist_free. */
int head_select(struct head *h, const struct ignis_matcher *ms, size_t n, int64_t mint,
                int64_t maxt, struct plist *out);
/* Copies series ref into v (reusing its buffers). Returns 0, or IGNIS_E_NOTFOUND. */
int head_series(struct head *h, uint64_t ref, int64_t mint, int64_t maxt,
                struct head_series_view *v);
void head_series_view_free(struct head_series_view *v);

/* Isolation: a querier registers when it opens and gets the commit sequence it sees
 * (IGNIS_E_NOMEM when it cannot register), and unregisters with that number when it
 * closes. head_series_at shows series ref as of sequence seq: later commits' samples are
 * past v->vis_maxt and chunks starting after it are left out; a series first committed
 * later has vis_maxt INT64_MIN. HEAD_SEQ_NONE: everything committed (head_series). */
#define HEAD_SEQ_NONE UINT64_MAX
int head_iso_open(struct head *h, uint64_t *seq);
void head_iso_close(struct head *h, uint64_t seq);
int head_series_at(struct head *h, uint64_t ref, int64_t mint, int64_t maxt, uint64_t seq,
                   struct head_series_view *v);

/* Label names / values of the matching series (all when n == 0), sorted, unique. fn gets
 * strings borrowed for the call. */
int head_label_names(struct head *h, const struct ignis_matcher *ms, size_t n,
                     void (*fn)(void *arg, const char *s, size_t len), void *arg);
int head_label_values(struct head *h, const char *name, size_t nlen,
                      const struct ignis_matcher *ms, size_t n,
                      void (*fn)(void *arg, const char *s, size_t len), void *arg);

#endif
