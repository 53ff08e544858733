/* plugins/storage/tsdb/chunkenc.h — the bit stream and Prometheus' XOR chunk encoding:
 * a 2-byte big-endian sample count, then delta-of-delta timestamps and XOR'd floats
 * (Gorilla), bit for bit as tsdb/docs/format/chunks.md and bstream.md describe.
 * Writers cut chunks at TSDB_CHUNK_SAMPLES; readers take any count the header holds. */
#ifndef TSDB_CHUNKENC_H
#define TSDB_CHUNKENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prometheus cuts a float chunk at 120 samples (head.go's samplesPerChunk). */
#define TSDB_CHUNK_SAMPLES 120
/* A chunk's sample count is a uint16. */
#define TSDB_CHUNK_MAX_SAMPLES 65535
/* Encodings, as the chunk files store them. */
#define TSDB_ENC_NONE 0
#define TSDB_ENC_XOR 1
#define TSDB_ENC_HISTOGRAM 2
#define TSDB_ENC_FLOAT_HISTOGRAM 3

/* A bit stream being written. buf holds len bytes; the last byte has `free_bits` unused
 * low-order bits (0..7; 0 when byte-aligned). The buffer grows up to `max` bytes (at most
 * UINT32_MAX). */
struct bstream {
    uint8_t *buf;
    uint32_t len, cap, max; /* 32 bits: a head series embeds an encoder (4 GiB bound) */
    uint8_t free_bits;
    bool err; /* growth failed or max reached: the stream is no longer valid */
};

void bstream_init(struct bstream *s, size_t initial_cap, size_t max);
void bstream_free(struct bstream *s);
void bstream_write_bit(struct bstream *s, unsigned bit);
/* Writes the low nbits (0..64) of v, most significant first. */
void bstream_write_bits(struct bstream *s, uint64_t v, unsigned nbits);
void bstream_write_byte(struct bstream *s, uint8_t b);

/* A bit stream being read, over borrowed bytes. */
struct breader {
    const uint8_t *p;
    size_t len;    /* bytes */
    size_t bitpos; /* next bit to read */
};

static inline void breader_init(struct breader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->bitpos = 0;
}
/* Reads nbits (1..64) into *v. Returns false (and reads nothing) past the end. */
bool breader_bits(struct breader *r, unsigned nbits, uint64_t *v);
bool breader_bit(struct breader *r, unsigned *bit);

/* The XOR encoder: appends (t, v) pairs to a chunk. Times must not go backwards (the
 * head rejects that before it gets here); any int64 sequence still round-trips. */
struct xor_enc {
    struct bstream s;
    int64_t t;
    uint64_t v;       /* bits of the previous value */
    uint64_t tdelta;  /* previous delta, as two's complement bits */
    uint16_t n;
    uint8_t leading;  /* XOR window of the previous value; 0xff: none yet */
    uint8_t trailing;
};

/* Starts an empty chunk (the 2-byte header only). max bounds its size in bytes. */
int xor_enc_init(struct xor_enc *e, size_t initial_cap, size_t max);
void xor_enc_free(struct xor_enc *e);
/* Appends one sample. Returns 0, or -1 when the chunk is full (65535 samples) or its
 * buffer could not grow; the chunk is unchanged then. */
int xor_enc_append(struct xor_enc *e, int64_t t, double v);
/* The encoded chunk (borrowed until the next append or free). */
static inline const uint8_t *xor_enc_bytes(const struct xor_enc *e, size_t *len)
{
    *len = e->s.len;
    return e->s.buf;
}
/* Takes the buffer out of the encoder (caller frees); the encoder is then empty. */
uint8_t *xor_enc_take(struct xor_enc *e, size_t *len);

/* The XOR decoder over a whole chunk (borrowed). */
struct xor_it {
    struct breader r;
    uint16_t total, read;
    int64_t t;
    uint64_t v;
    uint64_t tdelta;
    uint8_t leading, trailing;
    bool err;
};

/* Fails (returns -1) when the chunk is shorter than its header. */
int xor_it_init(struct xor_it *it, const uint8_t *chunk, size_t len);
/* Next sample: returns 1 and fills *t, *v; 0 at the end; -1 when the data is corrupt. */
int xor_it_next(struct xor_it *it, int64_t *t, double *v);
/* Sample count from the header. */
static inline uint16_t xor_num_samples(const uint8_t *chunk, size_t len)
{
    return len >= 2 ? (uint16_t)(chunk[0] << 8 | chunk[1]) : 0;
}
/* Decodes the whole chunk to find its first and last timestamps. Returns the number of
 * samples, or -1 when corrupt. */
int xor_chunk_bounds(const uint8_t *chunk, size_t len, int64_t *mint, int64_t *maxt);

#endif
