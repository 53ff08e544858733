/* plugins/storage/tsdb/db.h — a data directory as one database: the head plus the
 * persisted blocks beside it, and queriers that merge them. Blocks are reference counted:
 * a querier pins the blocks it reads until it closes, so compaction and retention can
 * drop a block from the list while a reader still maps it. */
#ifndef TSDB_DB_H
#define TSDB_DB_H

#include "block.h"
#include "head.h"

#include <ignis/selector.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dblock {
    struct block b;
    int refs;      /* the db's list holds one; each querier one more */
    bool removed;  /* no longer listed: delete the directory when refs reach 0 */
};

struct db {
    char *dir;
    struct head *head;
    pthread_mutex_t mu; /* guards blocks[] and each dblock's refs */
    struct dblock **blocks; /* sorted by min_time */
    size_t nblocks;
    size_t nqueriers;       /* open queriers (guarded by mu): head chunk files stay */
    pthread_mutex_t admin_mu; /* serialises deletion, cleaning, snapshots and compaction */
    int64_t max_block;        /* largest block compaction makes (0: 31 days) */
    void (*log)(void *arg, int level, const char *msg);
    void *log_arg;
};

/* A formatted line to db->log (level 0 info, 1 warning), nothing when it is unset. */
void db_logf(struct db *db, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct db_compact_stats {
    uint64_t blocks_written, blocks_deleted, head_chunks_dropped, head_series_removed;
    uint64_t blocks_merged;
};

/* Writes the head's samples in [a, b) as a block and lists it. *written is false when the
 * range held nothing (no block). */
int db_persist_head(struct db *db, int64_t a, int64_t b, bool *written, char *err,
                    size_t errlen);
/* The same into another parent directory (snapshots); list: add it to db's blocks. */
int db_persist_head_to(struct db *db, const char *parent, bool list, int64_t a, int64_t b,
                       bool *written, struct ulid *out, char *err, size_t errlen);
/* Opens block dir/ulid and adds it to the list. */
int db_list_block(struct db *db, const char *ulid, char *err, size_t errlen);

/* Deletes [mint, maxt] of the series matching every matcher: tombstones in the head (WAL)
 * and in every block that holds such series (its tombstones file rewritten, the block
 * reopened). Returns 0 or an IGNIS_E_* code. */
int db_delete(struct db *db, const struct ignis_matcher *ms, size_t n, int64_t mint,
              int64_t maxt, char *err, size_t errlen);
/* Rewrites every block that has tombstones without the deleted samples. */
int db_clean_tombstones(struct db *db, char *err, size_t errlen);
/* Hard-links every block (copies where links fail) and, unless skip_head, writes the head
 * as a block, all under dir/<name>; name is "<UTC time>-<random hex>". */
int db_snapshot(struct db *db, const char *dir, bool skip_head, char *name, size_t namelen,
                char *err, size_t errlen);

/* One cycle of background work: while the head spans more than 1.5 chunk ranges, persist
 * its oldest range as a block and truncate the head; then apply retention (retention_ms 0:
 * none; max_bytes 0: none) to the blocks. */
int db_compact(struct db *db, int64_t retention_ms, uint64_t max_bytes,
               struct db_compact_stats *st, char *err, size_t errlen);
/* Merges blocks as Prometheus' leveled compactor plans it (ranges[0] is the minimum block
 * duration, each next one larger); counts merges in *merged. */
int db_compact_blocks(struct db *db, const int64_t *ranges, size_t nranges, uint64_t *merged,
                      char *err, size_t errlen);
/* Prometheus' block ranges: min, 3x, 9x, ... up to max (0: 31 days). Returns the count. */
size_t db_block_ranges(int64_t min, int64_t max, int64_t *out, size_t cap);

/* The newest max_time of the listed blocks, INT64_MIN when none. */
int64_t db_blocks_maxt(struct db *db);
/* Bytes the directory's blocks, WAL and head chunks take. */
uint64_t db_bytes(struct db *db);

/* Opens every block directory under dir (ULID names); a block that does not open is
 * logged and skipped. The head must be open already. */
int db_load_blocks(struct db *db, char *err, size_t errlen);
void db_close_blocks(struct db *db);
void dblock_unref(struct db *db, struct dblock *b);

struct dbq; /* a querier over [mint, maxt] */
struct dbset;

struct dbq *dbq_open(struct db *db, int64_t mint, int64_t maxt);
void dbq_close(struct dbq *q);
/* Series matching every matcher, merged across blocks and head, sorted by labels. limit 0:
 * all. Returns 0 or an IGNIS_E_* code. */
int dbq_select(struct dbq *q, const struct ignis_matcher *ms, size_t n, size_t limit,
               struct dbset **out);
/* 1 and the series' labels (borrowed until the next call), 0 at the end, or an error. */
int dbset_next(struct dbset *s, const struct ignis_label **ls, size_t *nls, uint64_t *ref);
long dbset_samples(struct dbset *s, int64_t mint, int64_t maxt, int64_t *t, double *v,
                   size_t cap);
/* The next chunk overlapping [mint, maxt]: 1, 0 at the end, or an error. */
int dbset_chunk(struct dbset *s, int64_t mint, int64_t maxt, uint8_t *enc, const uint8_t **data,
                size_t *len, int64_t *cmint, int64_t *cmaxt);
void dbset_close(struct dbset *s);

int dbq_label_names(struct dbq *q, const struct ignis_matcher *ms, size_t n, size_t limit,
                    void (*fn)(void *arg, const char *s, size_t len), void *arg);
int dbq_label_values(struct dbq *q, const char *name, size_t nlen,
                     const struct ignis_matcher *ms, size_t n, size_t limit,
                     void (*fn)(void *arg, const char *s, size_t len), void *arg);

/* Postings of the series of an index matching every matcher (all when n == 0). */
int index_select(const struct indexr *ix, const struct ignis_matcher *ms, size_t n,
                 struct plist *out);

#endif
