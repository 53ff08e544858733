/* plugins/storage/tsdb/block.h — persisted blocks: a directory named by its ULID with
 * meta.json, index, chunks/ and tombstones. The writer builds one in
 * "<ulid>.tmp-for-creation" and renames it into place only when complete; the reader
 * opens one read-only through mmap. */
#ifndef TSDB_BLOCK_H
#define TSDB_BLOCK_H

#include "chunkenc.h"
#include "chunks.h"
#include "index.h"
#include "meta.h"

#include <ignis/labels.h>

struct block_writer {
    char *parent;
    char *tmpdir;
    struct ulid ulid;
    struct chunkw cw;
    struct indexw *iw;
    int64_t mint, maxt;          /* requested range; INT64_MAX/INT64_MIN: from the data */
    int64_t data_mint, data_maxt;
    uint64_t nsamples, nseries, nchunks;
    struct chunk_meta *metas;
    size_t metas_cap;
    struct xor_enc enc;
    bool enc_live;
    /* Lineage for meta.json (set after blockw_open; level 0: a new level-1 block that is
     * its own source). Borrowed until blockw_finish. */
    int level;
    const struct ulid *sources, *parents;
    size_t nsources, nparents;
};

/* A pre-encoded chunk handed to blockw_add_chunks (borrowed for the call). */
struct raw_chunk {
    uint8_t encoding;
    const uint8_t *data;
    size_t len;
    int64_t mint, maxt;
    uint32_t nsamples;
};

/* Starts a block under parent. mint/maxt: the block's range ([mint, maxt), ms), or
 * INT64_MAX and INT64_MIN to take them from the samples (maxt = last sample + 1). */
int blockw_open(struct block_writer *w, const char *parent, int64_t mint, int64_t maxt,
                char *err, size_t errlen);
/* Every label name and value of the series to come, sorted and unique (copied). */
int blockw_symbols(struct block_writer *w, const struct tsdb_str *syms, size_t n, char *err,
                   size_t errlen);
/* A series in ascending label order with its float samples in time order; encoded into
 * XOR chunks of TSDB_CHUNK_SAMPLES. A series without samples is skipped. */
int blockw_add_samples(struct block_writer *w, const struct ignis_label *ls, size_t nls,
                       const int64_t *t, const double *v, size_t n, char *err, size_t errlen);
/* A series with ready chunks (copied as they are). */
int blockw_add_chunks(struct block_writer *w, const struct ignis_label *ls, size_t nls,
                      const struct raw_chunk *c, size_t n, char *err, size_t errlen);
/* Finishes: index, meta.json, empty tombstones, fsync, rename into place. Stores the ULID.
 * Frees the writer either way; on failure the temporary directory is removed. */
int blockw_finish(struct block_writer *w, struct ulid *out, char *err, size_t errlen);
void blockw_abort(struct block_writer *w);

struct block {
    char *dir;
    struct block_meta meta;
    struct indexr ix;
    struct chunkr cr;
    struct tombstones stones;
};

int block_open(struct block *b, const char *dir, char *err, size_t errlen);
void block_close(struct block *b);

/* Collects every label name and value of sorted label sets into a sorted, unique array
 * (strings borrowed from the sets). The helper the writer's callers share. */
struct symset {
    struct tsdb_str *v;
    size_t n, cap;
};
int symset_add_labels(struct symset *s, const struct ignis_label *ls, size_t n);
int symset_add(struct symset *s, const char *p, size_t len);
/* Sorts and removes duplicates. */
void symset_finish(struct symset *s);
void symset_free(struct symset *s);

#endif
