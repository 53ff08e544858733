/* plugins/storage/tsdb/record.c — WAL record encoders and decoders (see record.h). */
#include "record.h"

#include <stdlib.h>
#include <string.h>

void rec_decoded_free(struct rec_decoded *d)
{
    free(d->series);
    free(d->labels);
    free(d->samples);
    free(d->stones);
    free(d->exemplars);
    free(d->markers);
    memset(d, 0, sizeof *d);
}

/* Grows *arr (of elem-size items) to hold at least n. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < n)
        ncap *= 2;
    void *na = realloc(*arr, ncap * elem);
    if (!na)
        return -1;
    *arr = na;
    *cap = ncap;
    return 0;
}
#define GROW(d, f, n) grow((void **)&(d)->f, &(d)->f##_cap, (n), sizeof *(d)->f)

void rec_encode_series_begin(struct ebuf *b)
{
    ebuf_byte(b, REC_SERIES);
}

void rec_encode_series(struct ebuf *b, uint64_t ref, const struct ignis_label *ls, size_t n)
{
    ebuf_be64(b, ref);
    ebuf_uvarint(b, n);
    for (size_t i = 0; i < n; i++) {
        ebuf_uvarint_bytes(b, ls[i].name, ls[i].name_len);
        ebuf_uvarint_bytes(b, ls[i].value, ls[i].value_len);
    }
}

void rec_encode_samples(struct ebuf *b, const struct rec_sample *s, size_t n)
{
    ebuf_byte(b, REC_SAMPLES);
    if (!n)
        return;
    ebuf_be64(b, s[0].ref);
    ebuf_be64(b, (uint64_t)s[0].t);
    for (size_t i = 0; i < n; i++) {
        ebuf_varint(b, (int64_t)(s[i].ref - s[0].ref));
        ebuf_varint(b, (int64_t)((uint64_t)s[i].t - (uint64_t)s[0].t));
        ebuf_be64(b, f64_bits(s[i].v));
    }
}

void rec_encode_tombstones(struct ebuf *b, const struct rec_stone *s, size_t n)
{
    ebuf_byte(b, REC_TOMBSTONES);
    for (size_t i = 0; i < n; i++) {
        ebuf_be64(b, s[i].ref);
        ebuf_varint(b, s[i].mint);
        ebuf_varint(b, s[i].maxt);
    }
}

void rec_encode_exemplars(struct ebuf *b, const struct rec_exemplar *e, size_t n,
                          const struct ignis_label *ls)
{
    ebuf_byte(b, REC_EXEMPLARS);
    if (!n)
        return;
    ebuf_be64(b, e[0].ref);
    ebuf_be64(b, (uint64_t)e[0].t);
    for (size_t i = 0; i < n; i++) {
        ebuf_varint(b, (int64_t)(e[i].ref - e[0].ref));
        ebuf_varint(b, (int64_t)((uint64_t)e[i].t - (uint64_t)e[0].t));
        ebuf_be64(b, f64_bits(e[i].v));
        ebuf_uvarint(b, e[i].n);
        for (size_t k = 0; k < e[i].n; k++) {
            const struct ignis_label *l = &ls[e[i].first + k];
            ebuf_uvarint_bytes(b, l->name, l->name_len);
            ebuf_uvarint_bytes(b, l->value, l->value_len);
        }
    }
}

void rec_encode_markers(struct ebuf *b, const struct rec_marker *m, size_t n)
{
    ebuf_byte(b, REC_MMAP_MARKERS);
    for (size_t i = 0; i < n; i++) {
        ebuf_be64(b, m[i].ref);
        ebuf_be64(b, m[i].mmap_ref);
    }
}

/* Reads n label pairs into d->labels; returns the index of the first or -1. */
static long read_labels(struct dec *x, uint64_t n, struct rec_decoded *d)
{
    if (n > dec_left(x) / 2) {
        x->err = true;
        return -1;
    }
    if (GROW(d, labels, d->nlabels + n) < 0)
        return -1;
    size_t first = d->nlabels;
    for (uint64_t i = 0; i < n; i++) {
        struct ignis_label *l = &d->labels[d->nlabels++];
        l->name = (const char *)dec_uvarint_bytes(x, &l->name_len);
        l->value = (const char *)dec_uvarint_bytes(x, &l->value_len);
        if (x->err)
            return -1;
    }
    return (long)first;
}

int rec_decode_series(const uint8_t *rec, size_t len, struct rec_decoded *d)
{
    d->nseries = d->nlabels = 0;
    struct dec x;
    dec_init(&x, rec, len);
    if (dec_byte(&x) != REC_SERIES)
        return -1;
    while (dec_left(&x)) {
        uint64_t ref = dec_be64(&x);
        uint64_t n = dec_uvarint(&x);
        if (x.err)
            return -1;
        long first = read_labels(&x, n, d);
        if (first < 0 || GROW(d, series, d->nseries + 1) < 0)
            return -1;
        d->series[d->nseries++] = (struct rec_series){ref, (size_t)first, (size_t)n};
    }
    return x.err ? -1 : 0;
}

int rec_decode_samples(const uint8_t *rec, size_t len, struct rec_decoded *d)
{
    d->nsamples = 0;
    struct dec x;
    dec_init(&x, rec, len);
    if (dec_byte(&x) != REC_SAMPLES)
        return -1;
    if (!dec_left(&x))
        return 0;
    uint64_t base_ref = dec_be64(&x);
    uint64_t base_t = dec_be64(&x);
    /* Each sample takes at least 10 bytes: bounds the array before parsing. */
    if (x.err || GROW(d, samples, dec_left(&x) / 10 + 1) < 0)
        return -1;
    while (dec_left(&x)) {
        int64_t dref = dec_varint(&x);
        int64_t dt = dec_varint(&x);
        uint64_t v = dec_be64(&x);
        if (x.err)
            return -1;
        d->samples[d->nsamples++] = (struct rec_sample){
            base_ref + (uint64_t)dref, (int64_t)(base_t + (uint64_t)dt), f64_from_bits(v)};
    }
    return 0;
}

int rec_decode_tombstones(const uint8_t *rec, size_t len, struct rec_decoded *d)
{
    d->nstones = 0;
    struct dec x;
    dec_init(&x, rec, len);
    if (dec_byte(&x) != REC_TOMBSTONES)
        return -1;
    if (GROW(d, stones, dec_left(&x) / 10 + 1) < 0)
        return -1;
    while (dec_left(&x)) {
        uint64_t ref = dec_be64(&x);
        int64_t a = dec_varint(&x), b = dec_varint(&x);
        if (x.err)
            return -1;
        d->stones[d->nstones++] = (struct rec_stone){ref, a, b};
    }
    return 0;
}

int rec_decode_exemplars(const uint8_t *rec, size_t len, struct rec_decoded *d)
{
    d->nexemplars = d->nlabels = 0;
    struct dec x;
    dec_init(&x, rec, len);
    if (dec_byte(&x) != REC_EXEMPLARS)
        return -1;
    if (!dec_left(&x))
        return 0;
    uint64_t base_ref = dec_be64(&x);
    uint64_t base_t = dec_be64(&x);
    while (dec_left(&x)) {
        int64_t dref = dec_varint(&x);
        int64_t dt = dec_varint(&x);
        uint64_t v = dec_be64(&x);
        uint64_t n = dec_uvarint(&x);
        if (x.err)
            return -1;
        long first = read_labels(&x, n, d);
        if (first < 0 || GROW(d, exemplars, d->nexemplars + 1) < 0)
            return -1;
        d->exemplars[d->nexemplars++] = (struct rec_exemplar){
            base_ref + (uint64_t)dref, (int64_t)(base_t + (uint64_t)dt), f64_from_bits(v),
            (size_t)first, (size_t)n};
    }
    return 0;
}

int rec_decode_markers(const uint8_t *rec, size_t len, struct rec_decoded *d)
{
    d->nmarkers = 0;
    struct dec x;
    dec_init(&x, rec, len);
    if (dec_byte(&x) != REC_MMAP_MARKERS)
        return -1;
    if (GROW(d, markers, dec_left(&x) / 16 + 1) < 0)
        return -1;
    while (dec_left(&x)) {
        uint64_t ref = dec_be64(&x), m = dec_be64(&x);
        if (x.err)
            return -1;
        d->markers[d->nmarkers++] = (struct rec_marker){ref, m};
    }
    return 0;
}
