/* plugins/storage/tsdb/chunks.h — a block's chunk segment files (chunks/000001, ...):
 * an 8-byte header (magic 0x85BD40DD, version 1), then chunks as
 * uvarint len | encoding byte | data | CRC-32C(encoding, data). A chunk's ref is
 * (segment index, 0-based) << 32 | offset. Written with write(2), read through mmap. */
#ifndef TSDB_CHUNKS_H
#define TSDB_CHUNKS_H

#include "fileutil.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNKS_MAGIC 0x85BD40DDu
#define CHUNKS_VERSION 1
#define CHUNKS_HEADER 8
/* Prometheus' default segment size for blocks (chunks.md: at most 512 MiB). */
#define CHUNKS_SEGMENT_MAX (512ull << 20)

/* A chunk's index metadata: first and last sample time and where it lives. */
struct chunk_meta {
    int64_t mint, maxt;
    uint64_t ref;
};

struct chunkw {
    char *dir; /* the chunks/ directory */
    struct fwriter f;
    bool open;
    uint32_t seq;       /* 0-based index of the open segment */
    uint64_t seg_max;
};

/* Creates dir (the block's chunks/ directory). seg_max 0: CHUNKS_SEGMENT_MAX. */
int chunkw_open(struct chunkw *w, const char *dir, uint64_t seg_max, char *err, size_t errlen);
/* Appends one chunk, storing its ref. */
int chunkw_write(struct chunkw *w, uint8_t enc, const uint8_t *data, size_t len, uint64_t *ref,
                 char *err, size_t errlen);
/* Finishes the last segment (fsync when sync) and frees the writer. */
int chunkw_close(struct chunkw *w, bool sync, char *err, size_t errlen);

struct chunkr {
    struct mmap_file *segs;
    size_t nsegs;
};

/* Maps every segment of dir (a chunks/ directory), checking their headers. */
int chunkr_open(struct chunkr *r, const char *dir, char *err, size_t errlen);
void chunkr_close(struct chunkr *r);
/* The chunk at ref (borrowed from the mapping while the reader is open). Checks the
 * bounds and the CRC; returns 0 or -1 with err. */
int chunkr_get(const struct chunkr *r, uint64_t ref, uint8_t *enc, const uint8_t **data,
               size_t *len, char *err, size_t errlen);

/* Lists the numbered files of dir ("000001", ...; digits only) in ascending order into a
 * malloc'd array (caller frees each and the array). Returns the count or -1. */
long list_numbered(const char *dir, char ***names, unsigned digits);

#endif
