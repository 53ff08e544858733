/* plugins/storage/tsdb/enc.h — byte-level encodings shared by every tsdb file format:
 * big-endian integers, Go-compatible (zigzag) varints, a growable write buffer with a
 * hard bound, and a bounds-checked read cursor that never reads past its end.
 * Nothing here allocates except the write buffer, and nothing here does I/O. */
#ifndef TSDB_ENC_H
#define TSDB_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
    be32_put(p, (uint32_t)(v >> 32));
    be32_put(p + 4, (uint32_t)v);
}
static inline uint16_t be16_get(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
    return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

static inline uint64_t f64_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}
static inline double f64_from_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Go's encoding/binary varints: at most 10 bytes; signed ones are zigzag-encoded. */
#define UVARINT_MAX 10
static inline size_t uvarint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}
static inline uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}
static inline size_t varint_put(uint8_t *p, int64_t v)
{
    return uvarint_put(p, zigzag(v));
}
static inline size_t uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A read cursor over [p, end). Every getter checks the bound; after the first failure
 * `err` stays set and getters return 0, so a parser may check once at the end. */
struct dec {
    const uint8_t *p, *end;
    bool err;
};

static inline void dec_init(struct dec *d, const void *p, size_t len)
{
    static const uint8_t none[1];
    d->p = p ? (const uint8_t *)p : none; /* no arithmetic on NULL, even + 0 */
    d->end = d->p + (p ? len : 0);
    d->err = false;
}
static inline size_t dec_left(const struct dec *d)
{
    return d->err ? 0 : (size_t)(d->end - d->p);
}
static inline bool dec_need(struct dec *d, size_t n)
{
    if (d->err || (size_t)(d->end - d->p) < n) {
        d->err = true;
        return false;
    }
    return true;
}
static inline uint8_t dec_byte(struct dec *d)
{
    return dec_need(d, 1) ? *d->p++ : 0;
}
static inline uint32_t dec_be32(struct dec *d)
{
    if (!dec_need(d, 4))
        return 0;
    uint32_t v = be32_get(d->p);
    d->p += 4;
    return v;
}
static inline uint64_t dec_be64(struct dec *d)
{
    if (!dec_need(d, 8))
        return 0;
    uint64_t v = be64_get(d->p);
    d->p += 8;
    return v;
}
static inline uint64_t dec_uvarint(struct dec *d)
{
    uint64_t v = 0;
    for (unsigned shift = 0, i = 0; i < UVARINT_MAX; i++, shift += 7) {
        if (!dec_need(d, 1))
            return 0;
        uint8_t b = *d->p++;
        if (i == UVARINT_MAX - 1 && b > 1) /* overflows 64 bits */
            break;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80)
            return v;
    }
    d->err = true;
    return 0;
}
static inline int64_t dec_varint(struct dec *d)
{
    return unzigzag(dec_uvarint(d));
}
/* A uvarint that must fit 32 bits. */
static inline uint32_t dec_uvarint32(struct dec *d)
{
    uint64_t v = dec_uvarint(d);
    if (v > UINT32_MAX) {
        d->err = true;
        return 0;
    }
    return (uint32_t)v;
}
/* n raw bytes, borrowed from the underlying buffer; NULL on overrun. */
static inline const uint8_t *dec_bytes(struct dec *d, size_t n)
{
    if (!dec_need(d, n))
        return NULL;
    const uint8_t *p = d->p;
    d->p += n;
    return p;
}
/* A uvarint length followed by that many bytes. */
static inline const uint8_t *dec_uvarint_bytes(struct dec *d, size_t *len)
{
    uint64_t n = dec_uvarint(d);
    if (d->err || n > dec_left(d)) {
        d->err = true;
        *len = 0;
        return NULL;
    }
    *len = (size_t)n;
    return dec_bytes(d, (size_t)n);
}

/* A growable output buffer with a hard upper bound (`max`, 0: SIZE_MAX). After a failed
 * growth `err` stays set and writes are dropped; check once at the end. */
struct ebuf {
    uint8_t *p;
    size_t len, cap, max;
    bool err;
};

void ebuf_init(struct ebuf *b, size_t max);
void ebuf_free(struct ebuf *b);
bool ebuf_reserve(struct ebuf *b, size_t n);
static inline void ebuf_reset(struct ebuf *b)
{
    b->len = 0;
    b->err = false;
}
static inline void ebuf_bytes(struct ebuf *b, const void *p, size_t n)
{
    if (n && ebuf_reserve(b, n)) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
}
static inline void ebuf_byte(struct ebuf *b, uint8_t v)
{
    if (ebuf_reserve(b, 1))
        b->p[b->len++] = v;
}
static inline void ebuf_be32(struct ebuf *b, uint32_t v)
{
    if (ebuf_reserve(b, 4)) {
        be32_put(b->p + b->len, v);
        b->len += 4;
    }
}
static inline void ebuf_be64(struct ebuf *b, uint64_t v)
{
    if (ebuf_reserve(b, 8)) {
        be64_put(b->p + b->len, v);
        b->len += 8;
    }
}
static inline void ebuf_uvarint(struct ebuf *b, uint64_t v)
{
    if (ebuf_reserve(b, UVARINT_MAX))
        b->len += uvarint_put(b->p + b->len, v);
}
static inline void ebuf_varint(struct ebuf *b, int64_t v)
{
    ebuf_uvarint(b, zigzag(v));
}
static inline void ebuf_uvarint_bytes(struct ebuf *b, const void *p, size_t n)
{
    ebuf_uvarint(b, n);
    ebuf_bytes(b, p, n);
}
static inline void ebuf_zeros(struct ebuf *b, size_t n)
{
    if (n && ebuf_reserve(b, n)) {
        memset(b->p + b->len, 0, n);
        b->len += n;
    }
}

#endif
