/* plugins/storage/tsdb/wal.h — Prometheus' write-ahead log (wal.md): numbered segment
 * files ("00000000", ...) of 32 KiB pages; each record is split into fragments
 * (type | be16 len | be32 CRC-32C | data) that never cross a page, and a record never
 * crosses a segment. The fragment type's bit 3 marks snappy, bit 4 zstd compression.
 * The writer compresses with snappy; the reader takes both, streams one page at a time,
 * and tells a torn tail (cut off) from corruption in the middle. */
#ifndef TSDB_WAL_H
#define TSDB_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAL_PAGE_SIZE 32768
#define WAL_SEGMENT_SIZE (128u << 20)
#define WAL_FRAG_HEADER 7
#define WAL_FRAG_MASK 0x07
#define WAL_FLAG_SNAPPY 0x08
#define WAL_FLAG_ZSTD 0x10
/* Bound on one record, compressed or not; Prometheus' records are batches of a scrape or
 * a commit, far below this. */
#define WAL_MAX_RECORD (256u << 20)

enum wal_frag_type {
    WAL_FRAG_PAD = 0,    /* the rest of the page is empty */
    WAL_FRAG_FULL = 1,
    WAL_FRAG_FIRST = 2,
    WAL_FRAG_MIDDLE = 3,
    WAL_FRAG_LAST = 4,
};

enum wal_compression {
    WAL_COMPRESS_NONE = 0,
    WAL_COMPRESS_SNAPPY,
    WAL_COMPRESS_ZSTD, /* for tests and tools: Prometheus 2.x does not write it */
};

struct wal;

/* Opens dir for appending (creating it): a new segment after the last one there.
 * segment_size 0: WAL_SEGMENT_SIZE (a multiple of the page size). */
int wal_open(struct wal **w, const char *dir, uint64_t segment_size,
             enum wal_compression comp, char *err, size_t errlen);
/* Appends one record (it is on disk after the next flush, fsync'd at segment ends and on
 * wal_sync). Returns 0 or -1 with err. */
int wal_log(struct wal *w, const uint8_t *rec, size_t len, char *err, size_t errlen);
/* Writes the buffered part of the current page. */
int wal_flush(struct wal *w, char *err, size_t errlen);
/* Flushes and fsyncs. */
int wal_sync(struct wal *w, char *err, size_t errlen);
/* Ends the current segment and starts the next one; returns the new segment's number. */
int wal_next_segment(struct wal *w, char *err, size_t errlen);
/* The number of the segment being written. */
int wal_segment(const struct wal *w);
/* Flushes, fsyncs and frees. */
int wal_close(struct wal *w, char *err, size_t errlen);
/* Deletes segments numbered below seg. */
int wal_truncate_before(const char *dir, int seg, char *err, size_t errlen);

/* The segments of a directory: numbers ascending. Returns the count, or -1. */
int wal_segments(const char *dir, int **nums);

struct wal_reader;

/* Reads segments [first, last] of dir (first -1: from the first; last -1: to the last). */
int wal_reader_open(struct wal_reader **r, const char *dir, int first, int last, char *err,
                    size_t errlen);
/* The same, with a thread that reads ahead (checks, decompresses) up to a few MiB of
 * records while the caller works: wal_reader_next and the rest behave the same. */
int wal_reader_open_async(struct wal_reader **r, const char *dir, int first, int last,
                          char *err, size_t errlen);
/* The next record (borrowed until the next call): 1, 0 at the end, -1 on corruption. On
 * -1, wal_reader_corruption tells where the bad record starts. */
int wal_reader_next(struct wal_reader *r, const uint8_t **rec, size_t *len);
/* After -1: the segment and byte offset where the bad or torn record starts, the reason,
 * and whether it is in the last segment. */
void wal_reader_corruption(const struct wal_reader *r, int *seg, uint64_t *off,
                           const char **why, bool *last_segment);
/* The segment of the record last returned, and how many segments the reader covers. */
int wal_reader_segment(const struct wal_reader *r);
int wal_reader_nsegments(const struct wal_reader *r, int *index);
void wal_reader_close(struct wal_reader *r);

/* Cuts the WAL at (seg, off): truncates that segment there and deletes later ones, so
 * everything before the torn or corrupt record stays. */
int wal_repair(const char *dir, int seg, uint64_t off, char *err, size_t errlen);

#endif
