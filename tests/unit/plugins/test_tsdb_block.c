/* tests/unit/plugins/test_tsdb_block.c — block files: chunk segments, index v2, meta.json
 * and tombstones written and read back, and corruption caught by the checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "enc.h"
#include "fileutil.h"

static char *mktmp(void)
{
    char *d = strdup("/tmp/test_tsdb_block.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void test_chunk_segments_round_trip_and_rotate(void **state)
{
    (void)state;
    char *dir = mktmp();
    char cdir[4096], err[256];
    snprintf(cdir, sizeof cdir, "%s/chunks", dir);
    struct chunkw w;
    /* Segments of at most 1000 bytes force several files. */
    assert_int_equal(chunkw_open(&w, cdir, 1000, err, sizeof err), 0);
    uint64_t refs[50];
    uint8_t data[50][100];
    for (int i = 0; i < 50; i++) {
        for (int k = 0; k < 100; k++)
            data[i][k] = (uint8_t)(i * 7 + k);
        assert_int_equal(chunkw_write(&w, TSDB_ENC_XOR, data[i], (size_t)(i + 50), &refs[i],
                                      err, sizeof err),
                         0);
    }
    assert_int_equal(chunkw_close(&w, true, err, sizeof err), 0);
    assert_true(refs[49] >> 32 >= 4); /* rotated */
    assert_int_equal(refs[0], 8);     /* first segment is index 0, after the header */
    struct chunkr r;
    assert_int_equal(chunkr_open(&r, cdir, err, sizeof err), 0);
    assert_true(r.nsegs >= 5);
    for (int i = 0; i < 50; i++) {
        uint8_t enc;
        const uint8_t *p;
        size_t len;
        assert_int_equal(chunkr_get(&r, refs[i], &enc, &p, &len, err, sizeof err), 0);
        assert_int_equal(enc, TSDB_ENC_XOR);
        assert_int_equal(len, (size_t)(i + 50));
        assert_memory_equal(p, data[i], len);
    }
    uint8_t enc;
    const uint8_t *p;
    size_t len;
    assert_int_equal(chunkr_get(&r, (uint64_t)99 << 32 | 8, &enc, &p, &len, err, sizeof err),
                     -1);
    chunkr_close(&r);
    /* A flipped data byte fails the chunk's CRC. */
    char seg[4200];
    snprintf(seg, sizeof seg, "%s/000001", cdir);
    flip_byte(seg, 8 + 1 + 1 + 10);
    assert_int_equal(chunkr_open(&r, cdir, err, sizeof err), 0);
    assert_int_equal(chunkr_get(&r, refs[0], &enc, &p, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "checksum"));
    chunkr_close(&r);
    /* A bad magic is refused at open. */
    flip_byte(seg, 0);
    assert_int_equal(chunkr_open(&r, cdir, err, sizeof err), -1);
    assert_non_null(strstr(err, "magic"));
    rm_rf(dir);
    free(dir);
}

#define NSER 30

static void series_labels(int i, char *val, size_t vlen, struct ignis_label ls[3])
{
    snprintf(val, vlen, "v%03d", i);
    ls[0] = (struct ignis_label){"__name__", 8, i % 2 ? "odd" : "even", i % 2 ? 3u : 4u};
    ls[1] = (struct ignis_label){"i", 1, val, strlen(val)};
    ls[2] = (struct ignis_label){"z", 1, i % 3 ? "x" : "y", 1};
}

static void test_index_round_trip(void **state)
{
    (void)state;
    char *dir = mktmp();
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/index", dir);
    /* Series sorted by labels: the even ones first (__name__="even" < "odd"). */
    int order[NSER], k = 0;
    for (int i = 0; i < NSER; i += 2)
        order[k++] = i;
    for (int i = 1; i < NSER; i += 2)
        order[k++] = i;
    struct symset sy = {0};
    char vals[NSER][8];
    struct ignis_label ls[NSER][3];
    for (int i = 0; i < NSER; i++) {
        series_labels(i, vals[i], sizeof vals[i], ls[i]);
        assert_int_equal(symset_add_labels(&sy, ls[i], 3), 0);
    }
    symset_finish(&sy);
    assert_int_equal(sy.n, 3 + NSER + 2 + 2); /* names, i values, even/odd, x/y */
    struct indexw *w;
    assert_int_equal(indexw_open(&w, path, err, sizeof err), 0);
    assert_int_equal(indexw_add_symbols(w, sy.v, sy.n, err, sizeof err), 0);
    for (int q = 0; q < NSER; q++) {
        int i = order[q];
        /* Chunk metas with negative times and refs going backwards. */
        struct chunk_meta cm[3] = {
            {-5000 + i, -4000 + i, (uint64_t)1 << 32 | (uint64_t)(1000 + i)},
            {-3000 + i, 10 + i, 8},
            {20 + i, 20 + i, (uint64_t)3 << 32 | 77},
        };
        assert_int_equal(indexw_add_series(w, ls[i], 3, cm, (size_t)(i % 4), err, sizeof err),
                         0);
    }
    /* A label missing from the symbol table is refused. */
    struct ignis_label bad[1] = {{"nope", 4, "x", 1}};
    assert_int_equal(indexw_add_series(w, bad, 1, NULL, 0, err, sizeof err), -1);
    assert_int_equal(indexw_close(w, true, err, sizeof err), 0);
    symset_free(&sy);

    struct indexr r;
    assert_int_equal(indexr_open(&r, path, err, sizeof err), 0);
    const uint8_t *ids;
    uint32_t n;
    assert_int_equal(indexr_postings(&r, "", 0, "", 0, &ids, &n), 0);
    assert_int_equal(n, NSER);
    struct index_series s = {0};
    for (uint32_t q = 0; q < n; q++) {
        int i = order[q];
        uint32_t id = be32_get(ids + 4 * q);
        if (q)
            assert_true(id > be32_get(ids + 4 * (q - 1)));
        assert_int_equal(indexr_series(&r, id, &s, err, sizeof err), 0);
        assert_int_equal(s.nls, 3);
        assert_int_equal(tsdb_labels_cmp(s.ls, s.nls, ls[i], 3), 0);
        assert_int_equal(s.nchks, (size_t)(i % 4));
        if (s.nchks >= 1) {
            assert_int_equal(s.chks[0].mint, -5000 + i);
            assert_int_equal(s.chks[0].maxt, -4000 + i);
            assert_int_equal(s.chks[0].ref, (uint64_t)1 << 32 | (uint64_t)(1000 + i));
        }
        if (s.nchks >= 2) {
            assert_int_equal(s.chks[1].mint, -3000 + i);
            assert_int_equal(s.chks[1].maxt, 10 + i);
            assert_int_equal(s.chks[1].ref, 8);
        }
        if (s.nchks >= 3)
            assert_int_equal(s.chks[2].ref, (uint64_t)3 << 32 | 77);
    }
    /* Postings of one pair, and a name's values in order. */
    assert_int_equal(indexr_postings(&r, "__name__", 8, "odd", 3, &ids, &n), 0);
    assert_int_equal(n, NSER / 2);
    assert_int_equal(indexr_series(&r, be32_get(ids), &s, err, sizeof err), 0);
    assert_memory_equal(s.ls[1].value, "v001", 4);
    assert_int_equal(indexr_postings(&r, "z", 1, "y", 1, &ids, &n), 0);
    assert_int_equal(n, NSER / 3);
    assert_int_equal(indexr_postings(&r, "z", 1, "w", 1, &ids, &n), 1);
    assert_int_equal(indexr_postings(&r, "q", 1, "x", 1, &ids, &n), 1);
    size_t lo, hi;
    indexr_name_range(&r, "i", 1, &lo, &hi);
    assert_int_equal(hi - lo, NSER);
    for (size_t e = lo; e < hi; e++) {
        char want[8];
        snprintf(want, sizeof want, "v%03zu", e - lo);
        assert_int_equal(r.pe[e].value.len, strlen(want));
        assert_memory_equal(r.pe[e].value.p, want, strlen(want));
        assert_int_equal(indexr_postings_at(&r, e, &ids, &n), 0);
        assert_int_equal(n, 1);
    }
    indexr_name_range(&r, "zz", 2, &lo, &hi);
    assert_int_equal(hi, lo);
    index_series_free(&s);
    indexr_close(&r);

    /* A flipped byte in the symbol table fails its CRC at open. */
    flip_byte(path, 5 + 8 + 3);
    assert_int_equal(indexr_open(&r, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "symbol table"));
    rm_rf(dir);
    free(dir);
}

static void test_index_series_corruption_detected(void **state)
{
    (void)state;
    char *dir = mktmp();
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/index", dir);
    struct tsdb_str syms[2] = {{"a", 1}, {"b", 1}};
    struct ignis_label ls[1] = {{"a", 1, "b", 1}};
    struct chunk_meta cm = {1, 2, 8};
    struct indexw *w;
    assert_int_equal(indexw_open(&w, path, err, sizeof err), 0);
    assert_int_equal(indexw_add_symbols(w, syms, 2, err, sizeof err), 0);
    assert_int_equal(indexw_add_series(w, ls, 1, &cm, 1, err, sizeof err), 0);
    assert_int_equal(indexw_close(w, false, err, sizeof err), 0);
    struct indexr r;
    assert_int_equal(indexr_open(&r, path, err, sizeof err), 0);
    const uint8_t *ids;
    uint32_t n;
    assert_int_equal(indexr_postings(&r, "a", 1, "b", 1, &ids, &n), 0);
    assert_int_equal(n, 1);
    uint32_t id = be32_get(ids);
    indexr_close(&r);
    flip_byte(path, (long)id * 16 + 3);
    assert_int_equal(indexr_open(&r, path, err, sizeof err), 0);
    struct index_series s = {0};
    assert_int_equal(indexr_series(&r, id, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "checksum"));
    index_series_free(&s);
    indexr_close(&r);
    /* A truncated file is refused. */
    assert_int_equal(truncate(path, 40), 0);
    assert_int_equal(indexr_open(&r, path, err, sizeof err), -1);
    rm_rf(dir);
    free(dir);
}

static void test_tombstones_round_trip(void **state)
{
    (void)state;
    char *dir = mktmp();
    char err[256];
    struct tombstones t = {0};
    /* Written out of order, overlapping and adjacent: normalized on read. */
    assert_int_equal(tombstones_add(&t, 48, 100, 200), 0);
    assert_int_equal(tombstones_add(&t, 16, -50, 10), 0);
    assert_int_equal(tombstones_add(&t, 48, 150, 300), 0);
    assert_int_equal(tombstones_add(&t, 48, 301, 400), 0);
    assert_int_equal(tombstones_add(&t, 48, 1000, INT64_MAX), 0);
    assert_int_equal(tombstones_write(dir, &t, err, sizeof err), 0);
    tombstones_free(&t);
    struct tombstones r;
    assert_int_equal(tombstones_read(dir, &r, err, sizeof err), 0);
    assert_int_equal(r.n, 3);
    assert_true(tombstones_covers(&r, 16, -50));
    assert_true(tombstones_covers(&r, 16, 10));
    assert_false(tombstones_covers(&r, 16, 11));
    assert_true(tombstones_covers(&r, 48, 100));
    assert_true(tombstones_covers(&r, 48, 400));
    assert_false(tombstones_covers(&r, 48, 401));
    assert_true(tombstones_covers(&r, 48, INT64_MAX));
    assert_false(tombstones_covers(&r, 32, 100));
    tombstones_free(&r);
    /* The empty file is 9 bytes, as promtool writes it. */
    struct tombstones none = {0};
    assert_int_equal(tombstones_write(dir, &none, err, sizeof err), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/tombstones", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 9);
    /* A corrupt file is refused; a missing one is no tombstones. */
    assert_int_equal(tombstones_add(&none, 1, 2, 3), 0);
    assert_int_equal(tombstones_write(dir, &none, err, sizeof err), 0);
    tombstones_free(&none);
    flip_byte(path, 6);
    assert_int_equal(tombstones_read(dir, &r, err, sizeof err), -1);
    unlink(path);
    assert_int_equal(tombstones_read(dir, &r, err, sizeof err), 0);
    assert_int_equal(r.n, 0);
    rm_rf(dir);
    free(dir);
}

static void test_meta_round_trip_and_ulid(void **state)
{
    (void)state;
    char *dir = mktmp();
    char err[256];
    struct ulid a, b, src[2];
    assert_int_equal(ulid_new(&a, 1700000000000), 0);
    assert_int_equal(ulid_new(&b, 1700000000001), 0);
    assert_true(ulid_valid(a.s));
    assert_true(strcmp(a.s, b.s) < 0); /* time is the prefix */
    assert_false(ulid_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
    assert_false(ulid_valid("01M89B2DNX2GV4MY23RVFTM0Z"));
    assert_true(ulid_valid("01M89B2DNX2GV4MY23RVFTM0Z8")); /* one promtool wrote */
    src[0] = a;
    src[1] = b;
    struct block_meta m = {.ulid = a, .min_time = -7, .max_time = 1700000000000,
                           .num_samples = 5, .num_series = 2, .num_chunks = 3, .level = 2,
                           .sources = src, .nsources = 2, .parents = src, .nparents = 1};
    assert_int_equal(meta_write(dir, &m, err, sizeof err), 0);
    struct block_meta r;
    assert_int_equal(meta_read(dir, &r, err, sizeof err), 0);
    assert_string_equal(r.ulid.s, a.s);
    assert_int_equal(r.min_time, -7);
    assert_int_equal(r.max_time, 1700000000000);
    assert_int_equal(r.num_samples, 5);
    assert_int_equal(r.num_series, 2);
    assert_int_equal(r.num_chunks, 3);
    assert_int_equal(r.level, 2);
    assert_int_equal(r.nsources, 2);
    assert_string_equal(r.sources[1].s, b.s);
    assert_int_equal(r.nparents, 1);
    assert_string_equal(r.parents[0].s, a.s);
    meta_free(&r);
    /* Garbage is an error naming the file. */
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"ulid\": 3}", f);
    fclose(f);
    assert_int_equal(meta_read(dir, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "meta.json"));
    rm_rf(dir);
    free(dir);
}

static void test_block_write_and_open(void **state)
{
    (void)state;
    char *dir = mktmp();
    char err[256];
    struct block_writer w;
    assert_int_equal(blockw_open(&w, dir, INT64_MAX, INT64_MIN, err, sizeof err), 0);
    struct ignis_label ls[2][1] = {{{"a", 1, "1", 1}}, {{"a", 1, "2", 1}}};
    struct symset sy = {0};
    symset_add_labels(&sy, ls[0], 1);
    symset_add_labels(&sy, ls[1], 1);
    symset_finish(&sy);
    assert_int_equal(blockw_symbols(&w, sy.v, sy.n, err, sizeof err), 0);
    symset_free(&sy);
    enum { N = 250 };
    int64_t t[N];
    double v[N];
    for (int i = 0; i < N; i++) {
        t[i] = 1000 + i * 10;
        v[i] = i * 0.5;
    }
    assert_int_equal(blockw_add_samples(&w, ls[0], 1, t, v, N, err, sizeof err), 0);
    assert_int_equal(blockw_add_samples(&w, ls[1], 1, t, v, 7, err, sizeof err), 0);
    struct ulid u;
    assert_int_equal(blockw_finish(&w, &u, err, sizeof err), 0);
    char bdir[4096];
    snprintf(bdir, sizeof bdir, "%s/%s", dir, u.s);
    struct block b;
    assert_int_equal(block_open(&b, bdir, err, sizeof err), 0);
    assert_int_equal(b.meta.min_time, 1000);
    assert_int_equal(b.meta.max_time, 1000 + (N - 1) * 10 + 1);
    assert_int_equal(b.meta.num_samples, N + 7);
    assert_int_equal(b.meta.num_series, 2);
    assert_int_equal(b.meta.num_chunks, 3 + 1); /* 250 = 120 + 120 + 10 */
    const uint8_t *ids;
    uint32_t n;
    assert_int_equal(indexr_postings(&b.ix, "a", 1, "1", 1, &ids, &n), 0);
    struct index_series s = {0};
    assert_int_equal(indexr_series(&b.ix, be32_get(ids), &s, err, sizeof err), 0);
    assert_int_equal(s.nchks, 3);
    int seen = 0;
    for (size_t c = 0; c < s.nchks; c++) {
        uint8_t enc;
        const uint8_t *p;
        size_t len;
        assert_int_equal(chunkr_get(&b.cr, s.chks[c].ref, &enc, &p, &len, err, sizeof err), 0);
        assert_int_equal(xor_num_samples(p, len), c < 2 ? 120 : 10);
        struct xor_it it;
        xor_it_init(&it, p, len);
        int64_t tt;
        double vv;
        while (xor_it_next(&it, &tt, &vv) == 1) {
            assert_int_equal(tt, t[seen]);
            assert_true(vv == v[seen]);
            seen++;
        }
        assert_int_equal(s.chks[c].mint, t[c * 120]);
    }
    assert_int_equal(seen, N);
    index_series_free(&s);
    block_close(&b);

    /* An empty block is valid too; an aborted one leaves nothing behind. */
    assert_int_equal(blockw_open(&w, dir, 0, 7200000, err, sizeof err), 0);
    assert_int_equal(blockw_finish(&w, &u, err, sizeof err), 0);
    snprintf(bdir, sizeof bdir, "%s/%s", dir, u.s);
    assert_int_equal(block_open(&b, bdir, err, sizeof err), 0);
    assert_int_equal(b.meta.max_time, 7200000);
    assert_int_equal(indexr_postings(&b.ix, "", 0, "", 0, &ids, &n), 0);
    assert_int_equal(n, 0);
    block_close(&b);
    assert_int_equal(blockw_open(&w, dir, 0, 1, err, sizeof err), 0);
    char tmpdir[4096];
    snprintf(tmpdir, sizeof tmpdir, "%s", w.tmpdir);
    blockw_abort(&w);
    assert_int_equal(access(tmpdir, F_OK), -1);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_segments_round_trip_and_rotate),
        cmocka_unit_test(test_index_round_trip),
        cmocka_unit_test(test_index_series_corruption_detected),
        cmocka_unit_test(test_tombstones_round_trip),
        cmocka_unit_test(test_meta_round_trip_and_ulid),
        cmocka_unit_test(test_block_write_and_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
