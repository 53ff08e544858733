/* plugins/storage/tsdb/record.h — the WAL's record encodings (wal.md): series
 * (be64 ref, labels as uvarint-length strings), samples (a be64 ref and time base, then
 * varint deltas and be64 float bits), tombstones, exemplars, and head-chunk mmap markers.
 * Decoders check every bound and reuse caller-owned arrays. */
#ifndef TSDB_RECORD_H
#define TSDB_RECORD_H

#include "enc.h"

#include <ignis/labels.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rec_type {
    REC_UNKNOWN = 255,
    REC_SERIES = 1,
    REC_SAMPLES = 2,
    REC_TOMBSTONES = 3,
    REC_EXEMPLARS = 4,
    REC_MMAP_MARKERS = 5,
    REC_METADATA = 6,
    REC_HISTOGRAM_SAMPLES = 7,
    REC_FLOAT_HISTOGRAM_SAMPLES = 8,
};

static inline enum rec_type rec_type(const uint8_t *rec, size_t len)
{
    if (len == 0)
        return REC_UNKNOWN;
    switch (rec[0]) {
    case REC_SERIES: case REC_SAMPLES: case REC_TOMBSTONES: case REC_EXEMPLARS:
    case REC_MMAP_MARKERS: case REC_METADATA: case REC_HISTOGRAM_SAMPLES:
    case REC_FLOAT_HISTOGRAM_SAMPLES:
        return (enum rec_type)rec[0];
    }
    return REC_UNKNOWN;
}

struct rec_sample {
    uint64_t ref;
    int64_t t;
    double v;
};

struct rec_stone {
    uint64_t ref;
    int64_t mint, maxt;
};

/* A decoded series: ref and labels (strings borrowed from the record). */
struct rec_series {
    uint64_t ref;
    size_t first, n; /* range in rec_decoded.labels */
};

struct rec_exemplar {
    uint64_t ref;
    int64_t t;
    double v;
    size_t first, n; /* range in rec_decoded.labels */
};

struct rec_marker {
    uint64_t ref;
    uint64_t mmap_ref;
};

/* Decoder output arrays, grown as needed and reused across records. */
struct rec_decoded {
    struct rec_series *series;
    size_t nseries, series_cap;
    struct ignis_label *labels;
    size_t nlabels, labels_cap;
    struct rec_sample *samples;
    size_t nsamples, samples_cap;
    struct rec_stone *stones;
    size_t nstones, stones_cap;
    struct rec_exemplar *exemplars;
    size_t nexemplars, exemplars_cap;
    struct rec_marker *markers;
    size_t nmarkers, markers_cap;
};

void rec_decoded_free(struct rec_decoded *d);

void rec_encode_series_begin(struct ebuf *b);
void rec_encode_series(struct ebuf *b, uint64_t ref, const struct ignis_label *ls, size_t n);
void rec_encode_samples(struct ebuf *b, const struct rec_sample *s, size_t n);
void rec_encode_tombstones(struct ebuf *b, const struct rec_stone *s, size_t n);
/* Exemplars: labels of exemplar i are ls[first[i] .. first[i] + nls[i]). */
void rec_encode_exemplars(struct ebuf *b, const struct rec_exemplar *e, size_t n,
                          const struct ignis_label *ls);
void rec_encode_markers(struct ebuf *b, const struct rec_marker *m, size_t n);

/* Each returns 0, or -1 when the record is malformed (d then holds nothing useful). */
int rec_decode_series(const uint8_t *rec, size_t len, struct rec_decoded *d);
int rec_decode_samples(const uint8_t *rec, size_t len, struct rec_decoded *d);
int rec_decode_tombstones(const uint8_t *rec, size_t len, struct rec_decoded *d);
int rec_decode_exemplars(const uint8_t *rec, size_t len, struct rec_decoded *d);
int rec_decode_markers(const uint8_t *rec, size_t len, struct rec_decoded *d);

#endif
