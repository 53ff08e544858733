/* plugins/storage/tsdb/chunkenc.c — bit stream and XOR chunk codec (see chunkenc.h).
 * The bit layouts come from Prometheus' format docs (chunks.md, bstream.md): timestamps
 * as a varint, then a uvarint delta, then delta-of-deltas in 1/16/20/24/68-bit buckets;
 * values as 64 raw bits, then XOR with the previous value in Gorilla's windows. */
#include "chunkenc.h"
#include "enc.h"

#include <stdlib.h>
#include <string.h>

/* Bytes past the stream's end that put_bits may overwrite: it stores 8 bytes at once. The
 * buffer keeps this much beyond len + whatever was reserved (past max too). */
#define PUT_SLACK 8
/* Bound on max, so cap (max + PUT_SLACK) fits 32 bits. */
#define BSTREAM_MAX (UINT32_MAX - 64)

void bstream_init(struct bstream *s, size_t initial_cap, size_t max)
{
    s->buf = NULL;
    s->len = 0;
    s->cap = 0;
    s->max = max && max < BSTREAM_MAX ? (uint32_t)max : BSTREAM_MAX;
    s->free_bits = 0;
    s->err = false;
    if (initial_cap > s->max)
        initial_cap = s->max;
    if (initial_cap) {
        s->buf = malloc(initial_cap);
        if (s->buf)
            s->cap = (uint32_t)initial_cap;
        else
            s->err = true;
    }
}

void bstream_free(struct bstream *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
    s->free_bits = 0;
}

/* Makes room for n more bytes of data, plus PUT_SLACK (doubling, up to max). */
static bool bstream_reserve(struct bstream *s, size_t n)
{
    if (s->cap >= s->len && s->cap - s->len >= n + PUT_SLACK)
        return true;
    if (s->err || s->max - s->len < n) {
        s->err = true;
        return false;
    }
    /* Double, at least 64 bytes. Growing by a quarter leaves less unused in each buffer,
     * but the head's open chunks all grow and are cut at the same scrapes, and the many
     * small steps left the heap in holes no later buffer fit: 100k series x 240 samples
     * (bench_tsdb's head) held 1080 bytes resident per series that way, 922 doubling
     * (445 and 461 bytes in use). */
    size_t ncap = s->cap ? s->cap : 32;
    while (ncap - s->len < n + PUT_SLACK)
        ncap += ncap > 64 ? ncap : 64;
    if (ncap > (size_t)s->max + PUT_SLACK)
        ncap = (size_t)s->max + PUT_SLACK;
    uint8_t *nb = realloc(s->buf, ncap);
    if (!nb) {
        s->err = true;
        return false;
    }
    s->buf = nb;
    s->cap = (uint32_t)ncap;
    return true;
}

/* Writes the low nbits (1..57) of v at the stream's end, most significant first, with one
 * 8-byte big-endian store: the partial last byte's used bits, then v, then zeros. Needs
 * PUT_SLACK bytes of reserved space past len. */
static inline void put_bits57(struct bstream *s, uint64_t v, unsigned nbits)
{
    unsigned used = s->free_bits ? 8u - s->free_bits : 0; /* bits in the partial byte */
    uint32_t i = s->free_bits ? s->len - 1 : s->len;
    uint64_t w = (v & (((uint64_t)1 << nbits) - 1)) << (64 - used - nbits);
    if (used)
        w |= (uint64_t)(s->buf[i] >> s->free_bits) << (64 - used);
    be64_put(s->buf + i, w);
    unsigned total = used + nbits;
    s->len = i + (total + 7) / 8;
    s->free_bits = (uint8_t)((8 - (total & 7)) & 7);
}

/* Appends the low nbits (0..64) of v, most significant first, into reserved space. */
static inline void put_bits(struct bstream *s, uint64_t v, unsigned nbits)
{
    if (nbits > 57) {
        put_bits57(s, v >> 32, nbits - 32);
        nbits = 32;
    }
    if (nbits)
        put_bits57(s, v, nbits);
}

void bstream_write_bit(struct bstream *s, unsigned bit)
{
    if (bstream_reserve(s, 1))
        put_bits(s, bit & 1, 1);
}

void bstream_write_byte(struct bstream *s, uint8_t b)
{
    if (bstream_reserve(s, 1))
        put_bits(s, b, 8);
}

void bstream_write_bits(struct bstream *s, uint64_t v, unsigned nbits)
{
    if (nbits == 0)
        return;
    if (bstream_reserve(s, nbits / 8 + 1))
        put_bits(s, v, nbits);
}

bool breader_bits(struct breader *r, unsigned nbits, uint64_t *out)
{
    if (nbits == 0) {
        *out = 0;
        return true;
    }
    if (nbits > 64 || r->len * 8 - r->bitpos < nbits)
        return false;
    uint64_t v = 0;
    size_t pos = r->bitpos;
    unsigned need = nbits;
    /* First the rest of the current byte, then whole bytes, then the head of the last. */
    unsigned off = pos & 7;
    if (off) {
        unsigned avail = 8 - off;
        uint8_t b = (uint8_t)(r->p[pos >> 3] & (0xffu >> off));
        if (need < avail) {
            v = b >> (avail - need);
            r->bitpos += nbits;
            *out = v;
            return true;
        }
        v = b;
        need -= avail;
        pos += avail;
    }
    while (need >= 8) {
        v = v << 8 | r->p[pos >> 3];
        pos += 8;
        need -= 8;
    }
    if (need)
        v = v << need | (uint64_t)(r->p[pos >> 3] >> (8 - need));
    r->bitpos += nbits;
    *out = v;
    return true;
}

bool breader_bit(struct breader *r, unsigned *bit)
{
    if (r->bitpos >= r->len * 8)
        return false;
    *bit = (r->p[r->bitpos >> 3] >> (7 - (r->bitpos & 7))) & 1;
    r->bitpos++;
    return true;
}

/* ---- XOR encoder ------------------------------------------------------------------ */

int xor_enc_init(struct xor_enc *e, size_t initial_cap, size_t max)
{
    bstream_init(&e->s, initial_cap < 2 ? 2 : initial_cap, max);
    e->n = 0;
    e->t = 0;
    e->v = 0;
    e->tdelta = 0;
    e->leading = 0xff;
    e->trailing = 0;
    bstream_write_byte(&e->s, 0);
    bstream_write_byte(&e->s, 0);
    return e->s.err ? -1 : 0;
}

void xor_enc_free(struct xor_enc *e)
{
    bstream_free(&e->s);
}

uint8_t *xor_enc_take(struct xor_enc *e, size_t *len)
{
    uint8_t *b = e->s.buf;
    *len = e->s.len;
    e->s.buf = NULL;
    e->s.len = e->s.cap = 0;
    e->s.free_bits = 0;
    e->n = 0;
    return b;
}

/* True when the signed value x fits the symmetric nbits range
 * [-(2^(nbits-1) - 1), 2^(nbits-1)] that bstream.md describes. */
static bool bit_range(int64_t x, unsigned nbits)
{
    int64_t hi = (int64_t)1 << (nbits - 1);
    return -(hi - 1) <= x && x <= hi;
}

/* Space one sample can take: a 10-byte varint and 64 bits, or 4+64 bits of timestamp and
 * 2+5+6+64 bits of value. */
#define XOR_SAMPLE_MAX_BYTES 24

static void write_xor(struct xor_enc *e, uint64_t prev, uint64_t cur)
{
    struct bstream *s = &e->s;
    uint64_t delta = prev ^ cur;
    if (delta == 0) {
        put_bits(s, 0, 1);
        return;
    }
    put_bits(s, 1, 1);
    unsigned lead = (unsigned)__builtin_clzll(delta);
    unsigned trail = (unsigned)__builtin_ctzll(delta);
    if (lead >= 32) /* the leading count has 5 bits */
        lead = 31;
    if (e->leading != 0xff && lead >= e->leading && trail >= e->trailing) {
        /* Fits the previous window: control bit 0, then the window's bits. */
        put_bits(s, 0, 1);
        put_bits(s, delta >> e->trailing, 64u - e->leading - e->trailing);
        return;
    }
    e->leading = (uint8_t)lead;
    e->trailing = (uint8_t)trail;
    unsigned sig = 64 - lead - trail;
    /* Control bit 1, 5 bits of leading zeros, 6 of length: 64 significant bits do not fit
     * 6 bits, so they are written as 0 and read back as 64. */
    put_bits(s, (uint64_t)1 << 11 | (uint64_t)lead << 6 | (sig & 63), 12);
    put_bits(s, delta >> trail, sig);
}

int xor_enc_append(struct xor_enc *e, int64_t t, double v)
{
    if (e->n == TSDB_CHUNK_MAX_SAMPLES || e->s.err)
        return -1;
    /* Reserve the most a sample can take first: a failure leaves the chunk as it was. */
    if (!bstream_reserve(&e->s, XOR_SAMPLE_MAX_BYTES)) {
        e->s.err = false; /* the chunk itself is intact */
        return -1;
    }
    struct bstream *s = &e->s;
    uint64_t vbits = f64_bits(v);
    uint64_t tdelta = e->tdelta;
    if (e->n == 0) {
        uint8_t tmp[UVARINT_MAX];
        size_t k = varint_put(tmp, t);
        for (size_t i = 0; i < k; i++)
            put_bits(s, tmp[i], 8);
        put_bits(s, vbits, 64);
    } else if (e->n == 1) {
        tdelta = (uint64_t)t - (uint64_t)e->t;
        uint8_t tmp[UVARINT_MAX];
        size_t k = uvarint_put(tmp, tdelta);
        for (size_t i = 0; i < k; i++)
            put_bits(s, tmp[i], 8);
        write_xor(e, e->v, vbits);
    } else {
        tdelta = (uint64_t)t - (uint64_t)e->t;
        int64_t dod = (int64_t)(tdelta - e->tdelta);
        if (dod == 0) {
            put_bits(s, 0, 1);
        } else if (bit_range(dod, 14)) {
            put_bits(s, (uint64_t)0x2 << 14 | ((uint64_t)dod & 0x3fff), 16); /* 10 */
        } else if (bit_range(dod, 17)) {
            put_bits(s, (uint64_t)0x6 << 17 | ((uint64_t)dod & 0x1ffff), 20); /* 110 */
        } else if (bit_range(dod, 20)) {
            put_bits(s, (uint64_t)0xe << 20 | ((uint64_t)dod & 0xfffff), 24); /* 1110 */
        } else {
            put_bits(s, 0xf, 4); /* 1111 */
            put_bits(s, (uint64_t)dod, 64);
        }
        write_xor(e, e->v, vbits);
    }
    e->t = t;
    e->v = vbits;
    e->tdelta = tdelta;
    e->n++;
    be16_put(e->s.buf, e->n);
    return 0;
}

/* ---- XOR decoder ------------------------------------------------------------------ */

/* The decoder's reads: one unaligned 8-byte load when the bits lie at least 8 bytes before
 * the end (a read of up to 56 bits then fits the loaded word after the shift), the byte
 * loop of breader_bits otherwise. Queries decode millions of samples; this is their
 * inner loop. */
static inline bool rd_bits(struct breader *r, unsigned n, uint64_t *out)
{
    size_t byte = r->bitpos >> 3;
    if (n - 1 < 56 && byte + 8 <= r->len) {
        uint64_t x;
        memcpy(&x, r->p + byte, 8);
        x = __builtin_bswap64(x) << (r->bitpos & 7);
        *out = x >> (64 - n);
        r->bitpos += n;
        return true;
    }
    return breader_bits(r, n, out);
}

static inline bool rd_bit(struct breader *r, unsigned *bit)
{
    if (r->bitpos >= r->len * 8)
        return false;
    *bit = (r->p[r->bitpos >> 3] >> (7 - (r->bitpos & 7))) & 1;
    r->bitpos++;
    return true;
}

/* The delta-of-delta prefix: up to four 1 bits ended by a 0 (the fourth 1 ends it too).
 * Returns the count of 1 bits, or -1 past the end. */
static inline int rd_dod_prefix(struct breader *r)
{
    size_t byte = r->bitpos >> 3;
    if (byte + 2 <= r->len) {
        unsigned w = (unsigned)(r->p[byte] << 8 | r->p[byte + 1]);
        w = (w << (r->bitpos & 7)) >> 12 & 0xf; /* the next 4 bits */
        int ones = w == 0xf ? 4 : __builtin_clz(~w << 28 | 0x08000000u);
        r->bitpos += (size_t)(ones == 4 ? 4 : ones + 1);
        return ones;
    }
    unsigned ones = 0, bit;
    while (ones < 4) {
        if (!rd_bit(r, &bit))
            return -1;
        if (!bit)
            break;
        ones++;
    }
    return (int)ones;
}

int xor_it_init(struct xor_it *it, const uint8_t *chunk, size_t len)
{
    it->err = false;
    it->read = 0;
    it->t = 0;
    it->v = 0;
    it->tdelta = 0;
    it->leading = it->trailing = 0;
    if (len < 2) {
        it->total = 0;
        it->err = true;
        breader_init(&it->r, chunk, 0);
        return -1;
    }
    it->total = be16_get(chunk);
    breader_init(&it->r, chunk + 2, len - 2);
    return 0;
}

static bool read_uvarint_bits(struct breader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0, shift = 0; i < UVARINT_MAX; i++, shift += 7) {
        uint64_t b;
        if (!rd_bits(r, 8, &b))
            return false;
        if (i == UVARINT_MAX - 1 && b > 1)
            return false;
        v |= (b & 0x7f) << shift;
        if (b < 0x80) {
            *out = v;
            return true;
        }
    }
    return false;
}

static inline bool read_xor(struct xor_it *it)
{
    unsigned bit;
    if (!rd_bit(&it->r, &bit))
        return false;
    if (bit == 0)
        return true; /* same value */
    if (!rd_bit(&it->r, &bit))
        return false;
    if (bit == 1) {
        uint64_t ctl, lead, sig;
        if (!rd_bits(&it->r, 11, &ctl))
            return false;
        lead = ctl >> 6;
        sig = ctl & 63;
        if (sig == 0)
            sig = 64;
        if (lead + sig > 64)
            return false;
        it->leading = (uint8_t)lead;
        it->trailing = (uint8_t)(64 - lead - sig);
    } else if (it->leading + it->trailing >= 64) {
        return false; /* reuse of a window never set */
    }
    unsigned sig = 64u - it->leading - it->trailing;
    uint64_t bits;
    if (!rd_bits(&it->r, sig, &bits))
        return false;
    it->v ^= bits << it->trailing;
    return true;
}

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return __builtin_bswap64(x);
}

/* A sample after the second one, when at least 16 bytes are left: every field but a
 * 64-bit delta-of-delta or a window of more than 57 bits is cut from a word loaded at
 * most three times. Returns 1 (sample read), 0 (take the general path: nothing was
 * consumed) or -1 (corrupt). */
static inline int next_fast(struct xor_it *it)
{
    const uint8_t *p = it->r.p;
    size_t pos = it->r.bitpos;
    uint64_t w = load_be64(p + (pos >> 3)) << (pos & 7); /* at least 57 bits valid */
    unsigned ones = (unsigned)__builtin_clzll(~w);     /* ~w != 0: its low bits are set */
    if (ones >= 4)
        return 0; /* 64-bit delta of delta: rare */
    static const unsigned widths[4] = {0, 14, 17, 20};
    unsigned wd = widths[ones], used = ones + 1;
    uint64_t dod = 0;
    if (wd) {
        uint64_t bits = (w << used) >> (64 - wd);
        if (bits > ((uint64_t)1 << (wd - 1)))
            bits -= (uint64_t)1 << wd;
        dod = bits;
        used += wd;
    }
    pos += used; /* at most 24 bits */
    w = load_be64(p + (pos >> 3)) << (pos & 7);
    uint8_t leading = it->leading, trailing = it->trailing;
    uint64_t vbits = it->v;
    if (w >> 63) {
        if ((w >> 62) & 1) {
            unsigned lead = (unsigned)(w >> 57) & 31, sig = (unsigned)(w >> 51) & 63;
            if (sig == 0)
                sig = 64;
            if (lead + sig > 64)
                return -1;
            leading = (uint8_t)lead;
            trailing = (uint8_t)(64 - lead - sig);
            pos += 13;
        } else {
            if (leading + trailing >= 64)
                return -1; /* reuse of a window never set */
            pos += 2;
        }
        unsigned sig = 64u - leading - trailing;
        if (sig > 57)
            return 0; /* fewer bits than that are sure to be in the word */
        w = load_be64(p + (pos >> 3)) << (pos & 7); /* pos moved at most 37 bits */
        vbits ^= (w >> (64 - sig)) << trailing;
        pos += sig;
    } else {
        pos += 1;
    }
    it->r.bitpos = pos;
    it->leading = leading;
    it->trailing = trailing;
    it->v = vbits;
    it->tdelta += dod;
    it->t = (int64_t)((uint64_t)it->t + it->tdelta);
    return 1;
}

int xor_it_next(struct xor_it *it, int64_t *t, double *v)
{
    if (it->err)
        return -1;
    if (it->read >= it->total)
        return 0;
    if (it->read >= 2 && (it->r.bitpos >> 3) + 16 <= it->r.len) {
        int k = next_fast(it);
        if (k < 0)
            goto corrupt;
        if (k > 0) {
            it->read++;
            *t = it->t;
            *v = f64_from_bits(it->v);
            return 1;
        }
    }
    if (it->read == 0) {
        uint64_t u;
        if (!read_uvarint_bits(&it->r, &u) || !breader_bits(&it->r, 64, &it->v))
            goto corrupt;
        it->t = unzigzag(u);
        /* Window "not set": any reuse before a new window is corrupt. */
        it->leading = 64;
        it->trailing = 0;
    } else if (it->read == 1) {
        if (!read_uvarint_bits(&it->r, &it->tdelta))
            goto corrupt;
        it->t = (int64_t)((uint64_t)it->t + it->tdelta);
        if (!read_xor(it))
            goto corrupt;
    } else {
        int ones = rd_dod_prefix(&it->r);
        if (ones < 0)
            goto corrupt;
        uint64_t dod = 0;
        static const unsigned widths[5] = {0, 14, 17, 20, 64};
        unsigned w = widths[ones];
        if (w) {
            uint64_t bits;
            if (!rd_bits(&it->r, w, &bits))
                goto corrupt;
            if (w < 64 && bits > ((uint64_t)1 << (w - 1)))
                bits -= (uint64_t)1 << w; /* the high part of the range is negative */
            dod = bits;
        }
        it->tdelta += dod;
        it->t = (int64_t)((uint64_t)it->t + it->tdelta);
        if (!read_xor(it))
            goto corrupt;
    }
    it->read++;
    *t = it->t;
    *v = f64_from_bits(it->v);
    return 1;
corrupt:
    it->err = true;
    return -1;
}

int xor_chunk_bounds(const uint8_t *chunk, size_t len, int64_t *mint, int64_t *maxt)
{
    struct xor_it it;
    if (xor_it_init(&it, chunk, len) < 0)
        return -1;
    int64_t t;
    double v;
    int n = 0, rc;
    while ((rc = xor_it_next(&it, &t, &v)) == 1) {
        if (n == 0)
            *mint = t;
        *maxt = t;
        n++;
    }
    return rc < 0 ? -1 : n;
}
