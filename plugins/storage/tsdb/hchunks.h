/* plugins/storage/tsdb/hchunks.h — the head's memory-mapped chunk files (chunks_head/,
 * head_chunks.md): an 8-byte header (magic 0x0130BC91, version 1), then chunks as
 * be64 series ref | be64 mint | be64 maxt | encoding | uvarint len | data | CRC-32C of
 * all that. A chunk's ref is (file number << 32) | offset. Full chunks leave the heap
 * for these files; they are written with write(2) and read through a read-only mapping
 * of each file's maximum size, so no page is touched before it was written. */
#ifndef TSDB_HCHUNKS_H
#define TSDB_HCHUNKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HCHUNKS_MAGIC 0x0130BC91u
#define HCHUNKS_HEADER 8
/* Prometheus' head chunk files are at most 128 MiB. */
#define HCHUNKS_FILE_MAX (128u << 20)

struct hcfile {
    uint32_t seq;
    int fd;
    const uint8_t *map; /* HCHUNKS_FILE_MAX bytes mapped read-only */
    uint64_t size;      /* bytes valid */
    int64_t maxt;       /* newest sample of any chunk in it (INT64_MIN: none) */
};

struct hchunks {
    char *dir;
    pthread_mutex_t mu; /* guards files[] and writes */
    struct hcfile *files;
    size_t nfiles, cap;
    bool writable;      /* the last file takes appends */
};

/* What a loaded file holds, reported per chunk while opening. */
typedef void (*hchunks_found_fn)(void *arg, uint64_t series_ref, uint64_t chunk_ref,
                                 int64_t mint, int64_t maxt, uint8_t enc);

/* Opens dir (creating it), maps every file there, reports every valid chunk through fn
 * (stopping at a file's first zeroed or corrupt chunk), and starts a fresh file for
 * appends. */
int hchunks_open(struct hchunks *hc, const char *dir, hchunks_found_fn fn, void *arg,
                 char *err, size_t errlen);
/* The same for readers that must not change the directory (tools): nothing is created,
 * repaired or opened for writing; a missing dir holds no chunks. hchunks_write refuses. */
int hchunks_open_ro(struct hchunks *hc, const char *dir, hchunks_found_fn fn, void *arg,
                    char *err, size_t errlen);
void hchunks_close(struct hchunks *hc);
/* Appends a chunk; stores its ref. */
int hchunks_write(struct hchunks *hc, uint64_t series_ref, int64_t mint, int64_t maxt,
                  uint8_t enc, const uint8_t *data, size_t len, uint64_t *ref, char *err,
                  size_t errlen);
/* The chunk data at ref (borrowed from the mapping until the file is deleted). */
int hchunks_get(struct hchunks *hc, uint64_t ref, uint8_t *enc, const uint8_t **data,
                size_t *len);
/* Deletes the files (not the one being written) all of whose chunks end before mint.
 * Returns the number deleted, or -1. */
int hchunks_delete_older(struct hchunks *hc, int64_t mint);
/* The number of the file being written. */
uint32_t hchunks_current(struct hchunks *hc);

#endif
