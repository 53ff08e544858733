/* plugins/storage/tsdb/meta.h — a block's small files: meta.json (ULID, time range,
 * stats, compaction lineage) and tombstones (magic 0x0130BA30, version 1, then
 * uvarint ref | varint mint | varint maxt entries and a CRC-32C over them). */
#ifndef TSDB_META_H
#define TSDB_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ULID_LEN 26
#define TOMBSTONES_MAGIC 0x0130BA30u
#define TOMBSTONES_VERSION 1
/* Bound on the lineage a meta.json may list (Prometheus keeps every source). */
#define META_MAX_SOURCES 100000

struct ulid {
    char s[ULID_LEN + 1];
};

/* A new ULID for time ms (48 bits of time, 80 random bits, Crockford base32). */
int ulid_new(struct ulid *u, int64_t ms);
bool ulid_valid(const char *s);

struct block_meta {
    struct ulid ulid;
    int64_t min_time, max_time; /* max_time exclusive */
    uint64_t num_samples, num_series, num_chunks, num_tombstones;
    int level;
    struct ulid *sources;
    size_t nsources;
    struct ulid *parents;
    size_t nparents;
    bool deletable;
};

/* Writes dir/meta.json (through a temporary file and rename). */
int meta_write(const char *dir, const struct block_meta *m, char *err, size_t errlen);
int meta_read(const char *dir, struct block_meta *m, char *err, size_t errlen);
void meta_free(struct block_meta *m);

struct tombstone {
    uint64_t ref;
    int64_t mint, maxt; /* inclusive */
};

/* Tombstones sorted by ref, then mint. */
struct tombstones {
    struct tombstone *v;
    size_t n, cap;
};

int tombstones_add(struct tombstones *t, uint64_t ref, int64_t mint, int64_t maxt);
/* Sorts and merges overlapping or adjacent intervals of each ref. */
void tombstones_normalize(struct tombstones *t);
/* True when (ref, ts) is deleted. t must be normalized. */
bool tombstones_covers(const struct tombstones *t, uint64_t ref, int64_t ts);
/* The intervals of ref: a pointer into t and their count. */
const struct tombstone *tombstones_of(const struct tombstones *t, uint64_t ref, size_t *n);
void tombstones_free(struct tombstones *t);
int tombstones_write(const char *dir, const struct tombstones *t, char *err, size_t errlen);
/* Reads dir/tombstones; a missing file is no tombstones. */
int tombstones_read(const char *dir, struct tombstones *t, char *err, size_t errlen);

#endif
