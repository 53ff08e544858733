/* tests/unit/plugins/test_tsdb_chunk.c — the bit stream, CRC-32C and XOR chunk codec:
 * byte-exact against chunks that promtool 2.42 wrote, and round trips of random, special
 * (NaN, ±Inf, staleness marker) and extreme (huge timestamp jumps) samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chunkenc.h"
#include "crc32c.h"
#include "enc.h"

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t n);

#define STALE_NAN_BITS 0x7ff0000000000002ull
#define GO_NAN_BITS 0x7ff8000000000001ull

/* xorshift64*: deterministic test data. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void test_crc32c_known_values(void **state)
{
    (void)state;
    /* The standard check value of CRC-32C. */
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
    /* Chaining equals one pass; hardware and table paths agree on odd lengths. */
    uint8_t buf[1000];
    rng_state = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)rnd();
    for (size_t n = 0; n < sizeof buf; n += 37) {
        uint32_t whole = crc32c(0, buf, n);
        assert_int_equal(whole, crc32c_sw(0, buf, n));
        assert_int_equal(whole, crc32c(crc32c(0, buf, n / 3), buf + n / 3, n - n / 3));
    }
}

static void test_bstream_bits_round_trip(void **state)
{
    (void)state;
    struct bstream s;
    bstream_init(&s, 0, 0);
    rng_state = 42;
    uint64_t vals[500];
    unsigned widths[500];
    for (int i = 0; i < 500; i++) {
        widths[i] = (unsigned)(rnd() % 65);
        vals[i] = widths[i] == 64 ? rnd() : rnd() & (((uint64_t)1 << widths[i]) - 1);
        if (i % 7 == 3)
            bstream_write_byte(&s, (uint8_t)vals[i]), widths[i] = 8, vals[i] &= 0xff;
        else
            bstream_write_bits(&s, vals[i], widths[i]);
    }
    assert_false(s.err);
    struct breader r;
    breader_init(&r, s.buf, s.len);
    for (int i = 0; i < 500; i++) {
        uint64_t v;
        assert_true(breader_bits(&r, widths[i], &v));
        assert_int_equal(v, vals[i]);
    }
    /* Only padding is left, and no more than 7 bits of it. */
    uint64_t v;
    assert_true(r.len * 8 - r.bitpos < 8);
    assert_false(breader_bits(&r, 8, &v));
    bstream_free(&s);
}

/* A chunk promtool 2.42 wrote for samples (1000s,1) (2000s,2.5) (3000s,2.5) (4500s,-7)
 * (5000s,NaN), its chunk file's bytes 10..53 and the CRC after them. */
static const uint8_t promtool_chunk1[] = {
    0x00, 0x05, 0x80, 0x89, 0x7a, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x84,
    0x3d, 0xc2, 0x6f, 0xff, 0x4e, 0x7a, 0x12, 0x0c, 0x06, 0xc0, 0x0f, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xfc, 0x2f, 0x70, 0x30, 0x01, 0x7f, 0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02};
/* (1000000s, +Inf) (1000001s, 1e300). */
static const uint8_t promtool_chunk2[] = {0x00, 0x02, 0x80, 0xa8, 0xd6, 0xb9, 0x07, 0x7f,
                                          0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe8,
                                          0x07, 0xcf, 0xbf, 0x1f, 0x90, 0xf2, 0x20, 0x01, 0xd6, 0x70};

static void encode(struct xor_enc *e, const int64_t *ts, const uint64_t *vbits, size_t n)
{
    assert_int_equal(xor_enc_init(e, 0, 0), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(xor_enc_append(e, ts[i], f64_from_bits(vbits[i])), 0);
}

static void test_xor_matches_promtool_bytes(void **state)
{
    (void)state;
    int64_t ts[] = {1000000, 2000000, 3000000, 4500000, 5000000};
    uint64_t vs[] = {f64_bits(1), f64_bits(2.5), f64_bits(2.5), f64_bits(-7), GO_NAN_BITS};
    struct xor_enc e;
    encode(&e, ts, vs, 5);
    size_t len;
    const uint8_t *b = xor_enc_bytes(&e, &len);
    assert_int_equal(len, sizeof promtool_chunk1);
    assert_memory_equal(b, promtool_chunk1, len);
    /* The chunk file's checksum covers the encoding byte and the data. */
    uint8_t encb = TSDB_ENC_XOR;
    assert_int_equal(crc32c(crc32c(0, &encb, 1), b, len), 0xcd86b3c9u);
    xor_enc_free(&e);

    int64_t ts2[] = {1000000000, 1000001000};
    uint64_t vs2[] = {f64_bits(INFINITY), f64_bits(1e300)};
    encode(&e, ts2, vs2, 2);
    b = xor_enc_bytes(&e, &len);
    assert_int_equal(len, sizeof promtool_chunk2);
    assert_memory_equal(b, promtool_chunk2, len);
    assert_int_equal(crc32c(crc32c(0, &encb, 1), b, len), 0x88a2e8b6u);
    xor_enc_free(&e);

    /* And promtool's chunk decodes to the samples. */
    struct xor_it it;
    assert_int_equal(xor_it_init(&it, promtool_chunk1, sizeof promtool_chunk1), 0);
    for (int i = 0; i < 5; i++) {
        int64_t t;
        double v;
        assert_int_equal(xor_it_next(&it, &t, &v), 1);
        assert_int_equal(t, ts[i]);
        assert_int_equal(f64_bits(v), vs[i]);
    }
    int64_t t;
    double v;
    assert_int_equal(xor_it_next(&it, &t, &v), 0);
}

/* Encodes then decodes; values compare bit for bit. */
static void round_trip(const int64_t *ts, const uint64_t *vs, size_t n)
{
    struct xor_enc e;
    encode(&e, ts, vs, n);
    size_t len;
    const uint8_t *b = xor_enc_bytes(&e, &len);
    assert_int_equal(xor_num_samples(b, len), n);
    struct xor_it it;
    assert_int_equal(xor_it_init(&it, b, len), 0);
    for (size_t i = 0; i < n; i++) {
        int64_t t;
        double v;
        assert_int_equal(xor_it_next(&it, &t, &v), 1);
        assert_int_equal(t, ts[i]);
        assert_int_equal(f64_bits(v), vs[i]);
    }
    int64_t t;
    double v;
    assert_int_equal(xor_it_next(&it, &t, &v), 0);
    if (n) {
        int64_t mint, maxt;
        assert_int_equal(xor_chunk_bounds(b, len, &mint, &maxt), (int)n);
        assert_int_equal(mint, ts[0]);
        assert_int_equal(maxt, ts[n - 1]);
    }
    xor_enc_free(&e);
}

static void test_xor_random_round_trip(void **state)
{
    (void)state;
    static int64_t ts[TSDB_CHUNK_MAX_SAMPLES];
    static uint64_t vs[TSDB_CHUNK_MAX_SAMPLES];
    size_t sizes[] = {1, 2, 3, 4, TSDB_CHUNK_SAMPLES, 1000, TSDB_CHUNK_MAX_SAMPLES};
    rng_state = 12345;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        for (int mode = 0; mode < 4; mode++) {
            int64_t t = (int64_t)(rnd() >> 24) - (1ll << 39);
            double g = 100;
            for (size_t i = 0; i < sizes[k]; i++) {
                switch (mode) {
                case 0: /* regular scrape with jitter, a gauge random walk */
                    t += 15000 + (int64_t)(rnd() % 5) - 2;
                    g += (double)(int64_t)(rnd() % 2001 - 1000) / 100.0;
                    vs[i] = f64_bits(g);
                    break;
                case 1: /* arbitrary bits and steps */
                    t += (int64_t)(rnd() % 100000000);
                    vs[i] = rnd();
                    break;
                case 2: /* counters */
                    t += 1000;
                    vs[i] = f64_bits((double)(i * 3));
                    break;
                default: /* every dod bucket boundary */
                    t += (int64_t)(rnd() % (1u << (rnd() % 24)));
                    vs[i] = rnd() >> (rnd() % 64);
                }
                ts[i] = t;
            }
            round_trip(ts, vs, sizes[k]);
        }
    }
}

static void test_xor_special_values(void **state)
{
    (void)state;
    uint64_t vs[] = {STALE_NAN_BITS, f64_bits(1), STALE_NAN_BITS,    GO_NAN_BITS,
                     f64_bits(INFINITY), f64_bits(-INFINITY), f64_bits(0.0),
                     f64_bits(-0.0), STALE_NAN_BITS, STALE_NAN_BITS, 0x7ff8000000000000ull,
                     0xfff8000000000000ull, 1, 0x8000000000000001ull, STALE_NAN_BITS};
    int64_t ts[sizeof vs / sizeof *vs];
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++)
        ts[i] = 1700000000000 + (int64_t)i * 30000;
    round_trip(ts, vs, sizeof vs / sizeof *vs);
}

static void test_xor_huge_timestamp_jumps(void **state)
{
    (void)state;
    int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, 8192, 8193, 8193 + 131072,
                    (int64_t)1 << 40, INT64_MAX - 1, INT64_MAX};
    uint64_t vs[sizeof ts / sizeof *ts];
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
        vs[i] = f64_bits((double)i);
    round_trip(ts, vs, sizeof ts / sizeof *ts);
    /* The delta-of-delta buckets at and around their edges: ±8191/8192, 65535/65536,
     * 524287/524288. */
    int64_t edges[] = {0, 8191, -8191, 8192, -8192, 8193, 65535, -65535, 65536, -65536,
                       65537, 524287, -524287, 524288, -524288, 524289, 1, -1};
    int64_t t2[2 + sizeof edges / sizeof *edges];
    uint64_t v2[2 + sizeof edges / sizeof *edges];
    int64_t delta = 1000000;
    t2[0] = 0;
    t2[1] = delta;
    v2[0] = v2[1] = f64_bits(1);
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        delta += edges[i];
        t2[i + 2] = t2[i + 1] + delta;
        v2[i + 2] = f64_bits(1);
    }
    round_trip(t2, v2, sizeof t2 / sizeof *t2);
    /* Timestamps that go backwards still round-trip (chunks from elsewhere may hold
     * them). */
    int64_t back[] = {5000, 1000, 3000, -70000000000, 2};
    uint64_t vb[] = {1, 2, 3, 4, 5};
    round_trip(back, vb, 5);
}

static void test_xor_full_chunk_refuses_more(void **state)
{
    (void)state;
    struct xor_enc e;
    assert_int_equal(xor_enc_init(&e, 0, 0), 0);
    for (int i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
        assert_int_equal(xor_enc_append(&e, i, (double)i), 0);
    size_t len0;
    xor_enc_bytes(&e, &len0);
    assert_int_equal(xor_enc_append(&e, 1 << 20, 1), -1);
    size_t len1;
    xor_enc_bytes(&e, &len1);
    assert_int_equal(len0, len1);
    xor_enc_free(&e);
}

static void test_xor_size_bound_keeps_chunk_intact(void **state)
{
    (void)state;
    /* With a 40-byte bound, appends fail once it is reached, and what was appended
     * before still decodes. */
    struct xor_enc e;
    assert_int_equal(xor_enc_init(&e, 0, 40), 0);
    int n = 0;
    rng_state = 99;
    uint64_t vals[100];
    while (n < 100) {
        vals[n] = rnd();
        if (xor_enc_append(&e, n * 1000, f64_from_bits(vals[n])) < 0)
            break;
        n++;
    }
    assert_true(n > 0 && n < 100);
    size_t len;
    const uint8_t *b = xor_enc_bytes(&e, &len);
    assert_true(len <= 40);
    struct xor_it it;
    assert_int_equal(xor_it_init(&it, b, len), 0);
    for (int i = 0; i < n; i++) {
        int64_t t;
        double v;
        assert_int_equal(xor_it_next(&it, &t, &v), 1);
        assert_int_equal(t, i * 1000);
        assert_int_equal(f64_bits(v), vals[i]);
    }
    xor_enc_free(&e);
}

static void test_xor_truncated_chunk_is_an_error(void **state)
{
    (void)state;
    for (size_t cut = 0; cut < sizeof promtool_chunk1 - 1; cut++) {
        struct xor_it it;
        if (xor_it_init(&it, promtool_chunk1, cut) < 0) {
            assert_true(cut < 2);
            continue;
        }
        int64_t t;
        double v;
        int rc, n = 0;
        while ((rc = xor_it_next(&it, &t, &v)) == 1)
            n++;
        assert_int_equal(rc, -1);
        assert_true(n < 5);
    }
    /* A header that claims more samples than the data holds. */
    uint8_t bad[sizeof promtool_chunk2];
    memcpy(bad, promtool_chunk2, sizeof bad);
    bad[1] = 200;
    struct xor_it it;
    assert_int_equal(xor_it_init(&it, bad, sizeof bad), 0);
    int64_t t;
    double v;
    int rc;
    while ((rc = xor_it_next(&it, &t, &v)) == 1)
        ;
    assert_int_equal(rc, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_values),
        cmocka_unit_test(test_bstream_bits_round_trip),
        cmocka_unit_test(test_xor_matches_promtool_bytes),
        cmocka_unit_test(test_xor_random_round_trip),
        cmocka_unit_test(test_xor_special_values),
        cmocka_unit_test(test_xor_huge_timestamp_jumps),
        cmocka_unit_test(test_xor_full_chunk_refuses_more),
        cmocka_unit_test(test_xor_size_bound_keeps_chunk_intact),
        cmocka_unit_test(test_xor_truncated_chunk_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
