/* tests/unit/plugins/test_tsdb_wal.c — the write-ahead log: records of every size across
 * pages and segments, each compression, torn tails cut off by repair with everything
 * before them kept, corruption in the middle reported where it is, and the record
 * encodings round-tripping and refusing truncated input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "fileutil.h"
#include "record.h"
#include "wal.h"

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static char *mktmp(void)
{
    char *d = strdup("/tmp/test_tsdb_wal.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

/* Record i: a size from 0 to ~100 KB, half of them compressible. */
static size_t rec_len(int i)
{
    static const size_t sizes[] = {0, 1, 6, 7, 8, 100, 32761, 32768, 40000, 70000, 100000};
    return i < 11 ? sizes[i] : (size_t)(rnd() % 20000);
}
static void rec_fill(uint8_t *p, size_t n, int i)
{
    for (size_t k = 0; k < n; k++)
        p[k] = i % 2 ? (uint8_t)(k / 100 + i) : (uint8_t)rnd();
}

#define NREC 60

static void write_records(const char *dir, uint64_t segsize, enum wal_compression comp,
                          uint8_t **recs, size_t *lens, int n)
{
    char err[256];
    struct wal *w;
    assert_int_equal(wal_open(&w, dir, segsize, comp, err, sizeof err), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(wal_log(w, recs[i], lens[i], err, sizeof err), 0);
        if (i % 17 == 0)
            assert_int_equal(wal_flush(w, err, sizeof err), 0); /* partial pages */
    }
    assert_int_equal(wal_close(w, err, sizeof err), 0);
}

/* Readers are opened plain or with the read-ahead thread (the tests run in both modes). */
static bool async_mode;

static int open_reader(struct wal_reader **r, const char *dir, int first, int last, char *err,
                       size_t errlen)
{
    return async_mode ? wal_reader_open_async(r, dir, first, last, err, errlen)
                      : wal_reader_open(r, dir, first, last, err, errlen);
}

static int set_sync(void **state)
{
    (void)state;
    async_mode = false;
    return 0;
}

static int set_async(void **state)
{
    (void)state;
    async_mode = true;
    return 0;
}

static void make_records(uint8_t **recs, size_t *lens, int n)
{
    rng = 77;
    for (int i = 0; i < n; i++) {
        lens[i] = rec_len(i);
        recs[i] = malloc(lens[i] ? lens[i] : 1);
        rec_fill(recs[i], lens[i], i);
    }
}

static void free_records(uint8_t **recs, int n)
{
    for (int i = 0; i < n; i++)
        free(recs[i]);
}

/* Reads dir and checks the records equal recs[0..n); returns what the last next gave. */
static int read_back(const char *dir, uint8_t **recs, size_t *lens, int n, int *got)
{
    char err[256];
    struct wal_reader *r;
    assert_int_equal(open_reader(&r, dir, -1, -1, err, sizeof err), 0);
    const uint8_t *p;
    size_t len;
    int k, i = 0;
    while ((k = wal_reader_next(r, &p, &len)) == 1) {
        assert_true(i < n);
        assert_int_equal(len, lens[i]);
        if (len)
            assert_memory_equal(p, recs[i], len);
        i++;
    }
    *got = i;
    wal_reader_close(r);
    return k;
}

/* A full disk (here a file-size limit: writes past it fail with EFBIG) in the middle of
 * records of every size: writes fail while it lasts, and afterwards the log holds whole
 * records only, in order: every record whose wal_log returned 0, and of the failed ones
 * at most those a failure had already begun (finished afterwards), with no corruption. */
static void test_wal_write_failures_leave_whole_records(void **state)
{
    (void)state;
    char *dir = mktmp();
    enum { N = 90 };
    uint8_t *recs[N];
    size_t lens[N];
    make_records(recs, lens, N);
    bool acked[N] = {false};
    char err[256];
    struct wal *w;
    assert_int_equal(wal_open(&w, dir, 4u << 20, WAL_COMPRESS_NONE, err, sizeof err), 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(wal_log(w, recs[i], lens[i], err, sizeof err), 0);
        acked[i] = true;
    }
    assert_int_equal(wal_flush(w, err, sizeof err), 0);
    char seg[4200];
    snprintf(seg, sizeof seg, "%s/%08d", dir, wal_segment(w));
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_sa;
    sigaction(SIGXFSZ, &ign, &old_sa);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 50000; /* not page-aligned, mid-record */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int failures = 0;
    for (int i = 20; i < 60; i++) {
        int rc = wal_log(w, recs[i], lens[i], err, sizeof err);
        if (rc == 0 && i % 3 == 0)
            rc = wal_flush(w, err, sizeof err);
        acked[i] = rc == 0;
        failures += rc != 0;
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    sigaction(SIGXFSZ, &old_sa, NULL);
    assert_true(failures > 0);
    for (int i = 60; i < N; i++) {
        assert_int_equal(wal_log(w, recs[i], lens[i], err, sizeof err), 0);
        acked[i] = true;
    }
    assert_int_equal(wal_close(w, err, sizeof err), 0);

    struct wal_reader *r;
    assert_int_equal(wal_reader_open(&r, dir, -1, -1, err, sizeof err), 0);
    const uint8_t *p;
    size_t len;
    int k, next = 0, read = 0;
    while ((k = wal_reader_next(r, &p, &len)) == 1) {
        /* the next attempted record this one can be: skipped ones must be unacked */
        int j = next;
        while (j < N && !(lens[j] == len && (len == 0 || memcmp(p, recs[j], len) == 0))) {
            if (acked[j])
                fail_msg("record %d was acknowledged but is missing", j);
            j++;
        }
        if (j == N)
            fail_msg("record %d read is none of the attempted ones in order", read);
        next = j + 1;
        read++;
    }
    assert_int_equal(k, 0); /* a clean end: no torn or corrupt record */
    for (int j = next; j < N; j++)
        if (acked[j])
            fail_msg("record %d was acknowledged but is missing at the end", j);
    wal_reader_close(r);
    free_records(recs, N);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void test_wal_round_trip_all_compressions(void **state)
{
    (void)state;
    uint8_t *recs[NREC];
    size_t lens[NREC];
    make_records(recs, lens, NREC);
    enum wal_compression comps[] = {WAL_COMPRESS_NONE, WAL_COMPRESS_SNAPPY, WAL_COMPRESS_ZSTD};
    for (int c = 0; c < 3; c++) {
        char *dir = mktmp();
        /* 64 KiB segments: records spread over many, one (100 KB) larger than a segment. */
        write_records(dir, 65536, comps[c], recs, lens, NREC);
        int *nums;
        int nseg = wal_segments(dir, &nums);
        assert_true(nseg > 3);
        for (int i = 0; i < nseg; i++)
            assert_int_equal(nums[i], i);
        free(nums);
        int got;
        assert_int_equal(read_back(dir, recs, lens, NREC, &got), 0);
        assert_int_equal(got, NREC);
        /* A second writer continues in a new segment; reading sees both runs. */
        char err[256];
        struct wal *w;
        assert_int_equal(wal_open(&w, dir, 65536, comps[c], err, sizeof err), 0);
        assert_int_equal(wal_segment(w), nseg);
        assert_int_equal(wal_log(w, (const uint8_t *)"after", 5, err, sizeof err), 0);
        assert_int_equal(wal_close(w, err, sizeof err), 0);
        struct wal_reader *r;
        assert_int_equal(open_reader(&r, dir, nseg, -1, err, sizeof err), 0);
        const uint8_t *p;
        size_t len;
        assert_int_equal(wal_reader_next(r, &p, &len), 1);
        assert_int_equal(len, 5);
        assert_memory_equal(p, "after", 5);
        assert_int_equal(wal_reader_next(r, &p, &len), 0);
        wal_reader_close(r);
        rm_rf(dir);
        free(dir);
    }
    free_records(recs, NREC);
}

static void test_wal_torn_tail_is_cut_and_earlier_records_kept(void **state)
{
    (void)state;
    uint8_t *recs[NREC];
    size_t lens[NREC];
    make_records(recs, lens, NREC);
    lens[NREC - 1] = 50000; /* the last record spans pages */
    recs[NREC - 1] = realloc(recs[NREC - 1], lens[NREC - 1]);
    rec_fill(recs[NREC - 1], lens[NREC - 1], 0);
    char *dir = mktmp();
    write_records(dir, 0, WAL_COMPRESS_NONE, recs, lens, NREC);
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/00000000", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    off_t full = st.st_size;
    /* Cut the file at several points inside the last record (a power loss). */
    off_t cuts[] = {full - 1, full - 4000, full - 20000, full - 49000};
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        char *copy = mktmp();
        char cpath[4200];
        snprintf(cpath, sizeof cpath, "%s/00000000", copy);
        struct mmap_file m;
        assert_int_equal(mmap_open(&m, path, err, sizeof err), 0);
        int fd = open(cpath, O_WRONLY | O_CREAT, 0644);
        assert_int_equal(write_full(fd, m.p, (size_t)cuts[c]), 0);
        close(fd);
        mmap_close(&m);

        struct wal_reader *r;
        assert_int_equal(open_reader(&r, copy, -1, -1, err, sizeof err), 0);
        const uint8_t *p;
        size_t len;
        int got = 0, k;
        while ((k = wal_reader_next(r, &p, &len)) == 1)
            got++;
        assert_int_equal(k, -1);
        assert_int_equal(got, NREC - 1);
        int seg;
        uint64_t off;
        const char *why;
        bool last;
        wal_reader_corruption(r, &seg, &off, &why, &last);
        assert_int_equal(seg, 0);
        assert_true(last);
        assert_true(off > 0 && off < (uint64_t)cuts[c]);
        wal_reader_close(r);

        /* Repair cuts it there; a new writer appends; nothing before is lost. */
        assert_int_equal(wal_repair(copy, seg, off, err, sizeof err), 0);
        assert_int_equal(stat(cpath, &st), 0);
        assert_int_equal((uint64_t)st.st_size, off);
        struct wal *w;
        assert_int_equal(wal_open(&w, copy, 0, WAL_COMPRESS_SNAPPY, err, sizeof err), 0);
        assert_int_equal(wal_log(w, recs[NREC - 1], lens[NREC - 1], err, sizeof err), 0);
        assert_int_equal(wal_close(w, err, sizeof err), 0);
        assert_int_equal(read_back(copy, recs, lens, NREC, &got), 0);
        assert_int_equal(got, NREC);
        rm_rf(copy);
        free(copy);
    }
    rm_rf(dir);
    free(dir);
    free_records(recs, NREC);
}

static void test_wal_corruption_in_the_middle_is_located(void **state)
{
    (void)state;
    uint8_t *recs[NREC];
    size_t lens[NREC];
    make_records(recs, lens, NREC);
    char *dir = mktmp();
    write_records(dir, 65536, WAL_COMPRESS_NONE, recs, lens, NREC);
    /* Flip a byte in the data of the first record of segment 1. */
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/00000001", dir);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, WAL_FRAG_HEADER + 2), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, WAL_FRAG_HEADER + 2), 1);
    close(fd);
    struct wal_reader *r;
    assert_int_equal(open_reader(&r, dir, -1, -1, err, sizeof err), 0);
    const uint8_t *p;
    size_t len;
    int k;
    while ((k = wal_reader_next(r, &p, &len)) == 1)
        ;
    assert_int_equal(k, -1);
    int seg;
    uint64_t off;
    const char *why;
    bool last;
    wal_reader_corruption(r, &seg, &off, &why, &last);
    assert_int_equal(seg, 1);
    assert_int_equal(off, 0);
    assert_false(last);
    assert_non_null(strstr(why, "checksum"));
    /* Once corrupt, the reader stays so. */
    assert_int_equal(wal_reader_next(r, &p, &len), -1);
    wal_reader_close(r);
    rm_rf(dir);
    free(dir);
    free_records(recs, NREC);
}

static void test_wal_garbage_in_padding_is_corruption(void **state)
{
    (void)state;
    char *dir = mktmp();
    char err[256], path[4096];
    struct wal *w;
    assert_int_equal(wal_open(&w, dir, 0, WAL_COMPRESS_NONE, err, sizeof err), 0);
    assert_int_equal(wal_log(w, (const uint8_t *)"abc", 3, err, sizeof err), 0);
    assert_int_equal(wal_next_segment(w, err, sizeof err), 1); /* pads page 0 */
    assert_int_equal(wal_close(w, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/00000000", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, WAL_PAGE_SIZE);
    int fd = open(path, O_RDWR);
    uint8_t x = 0x55;
    assert_int_equal(pwrite(fd, &x, 1, 5000), 1);
    close(fd);
    struct wal_reader *r;
    assert_int_equal(open_reader(&r, dir, -1, -1, err, sizeof err), 0);
    const uint8_t *p;
    size_t len;
    assert_int_equal(wal_reader_next(r, &p, &len), 1);
    assert_int_equal(wal_reader_next(r, &p, &len), -1);
    wal_reader_close(r);
    rm_rf(dir);
    free(dir);
}

static void test_records_round_trip(void **state)
{
    (void)state;
    struct ebuf b;
    ebuf_init(&b, 0);
    struct rec_decoded d = {0};

    struct ignis_label ls[3] = {{"__name__", 8, "up", 2}, {"job", 3, "x", 1}, {"", 0, "", 0}};
    rec_encode_series_begin(&b);
    rec_encode_series(&b, 5, ls, 2);
    rec_encode_series(&b, (uint64_t)1 << 40, ls, 3);
    rec_encode_series(&b, 7, ls, 0);
    assert_false(b.err);
    assert_int_equal(rec_type(b.p, b.len), REC_SERIES);
    assert_int_equal(rec_decode_series(b.p, b.len, &d), 0);
    assert_int_equal(d.nseries, 3);
    assert_int_equal(d.series[1].ref, (uint64_t)1 << 40);
    assert_int_equal(d.series[1].n, 3);
    assert_memory_equal(d.labels[d.series[1].first].value, "up", 2);
    assert_int_equal(d.labels[d.series[1].first + 2].name_len, 0);
    assert_int_equal(d.series[2].n, 0);
    /* A cut record is refused, or (cut between entries) yields fewer of them. */
    for (size_t cut = 1; cut < b.len; cut++)
        assert_true(rec_decode_series(b.p, cut, &d) == -1 || d.nseries < 3);

    /* Refs and times going down as well as up. */
    struct rec_sample s[4] = {{100, 5000, 1.5}, {3, -7, -0.0}, {1ull << 50, INT64_MAX, 1e300},
                              {100, 5000, 2}};
    ebuf_reset(&b);
    rec_encode_samples(&b, s, 4);
    assert_int_equal(rec_decode_samples(b.p, b.len, &d), 0);
    assert_int_equal(d.nsamples, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(d.samples[i].ref, s[i].ref);
        assert_int_equal(d.samples[i].t, s[i].t);
        assert_int_equal(f64_bits(d.samples[i].v), f64_bits(s[i].v));
    }
    for (size_t cut = 2; cut < b.len; cut++)
        assert_true(rec_decode_samples(b.p, cut, &d) == -1 || d.nsamples < 4);
    ebuf_reset(&b);
    rec_encode_samples(&b, s, 0);
    assert_int_equal(b.len, 1);
    assert_int_equal(rec_decode_samples(b.p, b.len, &d), 0);
    assert_int_equal(d.nsamples, 0);

    struct rec_stone st[2] = {{9, INT64_MIN, INT64_MAX}, {1, -5, 5}};
    ebuf_reset(&b);
    rec_encode_tombstones(&b, st, 2);
    assert_int_equal(rec_decode_tombstones(b.p, b.len, &d), 0);
    assert_int_equal(d.nstones, 2);
    assert_int_equal(d.stones[0].mint, INT64_MIN);
    assert_int_equal(d.stones[0].maxt, INT64_MAX);
    assert_int_equal(d.stones[1].ref, 1);

    struct rec_exemplar ex[2] = {{4, 1000, 0.5, 0, 2}, {2, 900, 7, 2, 1}};
    ebuf_reset(&b);
    rec_encode_exemplars(&b, ex, 2, ls);
    assert_int_equal(rec_decode_exemplars(b.p, b.len, &d), 0);
    assert_int_equal(d.nexemplars, 2);
    assert_int_equal(d.exemplars[1].ref, 2);
    assert_int_equal(d.exemplars[1].t, 900);
    assert_int_equal(d.exemplars[1].n, 1);
    assert_int_equal(d.labels[d.exemplars[1].first].name_len, 0);
    assert_memory_equal(d.labels[d.exemplars[0].first + 1].name, "job", 3);
    for (size_t cut = 2; cut < b.len; cut++)
        assert_true(rec_decode_exemplars(b.p, cut, &d) == -1 || d.nexemplars < 2);

    struct rec_marker mk[1] = {{8, (uint64_t)3 << 32 | 8}};
    ebuf_reset(&b);
    rec_encode_markers(&b, mk, 1);
    assert_int_equal(rec_decode_markers(b.p, b.len, &d), 0);
    assert_int_equal(d.markers[0].mmap_ref, (uint64_t)3 << 32 | 8);

    /* A record of another type is refused by each decoder. */
    assert_int_equal(rec_decode_series(b.p, b.len, &d), -1);
    uint8_t junk[1] = {77};
    assert_int_equal(rec_type(junk, 1), REC_UNKNOWN);
    ebuf_free(&b);
    rec_decoded_free(&d);
}

static bool keep_below_100(void *arg, uint64_t ref)
{
    (void)arg;
    return ref < 100;
}

/* Replays dir (last checkpoint, then later segments) counting series, samples, stones. */
static void replay_counts(const char *dir, size_t *nseries, size_t *nsamples, size_t *nstones,
                          int64_t *min_t)
{
    char err[256], ck[4096];
    *nseries = *nsamples = *nstones = 0;
    *min_t = INT64_MAX;
    int n = checkpoint_last(dir, ck, sizeof ck);
    struct rec_decoded d = {0};
    for (int pass = n >= 0 ? 0 : 1; pass < 2; pass++) {
        struct wal_reader *r;
        assert_int_equal(open_reader(&r, pass ? dir : ck, pass && n >= 0 ? n + 1 : -1, -1,
                                         err, sizeof err),
                         0);
        const uint8_t *p;
        size_t len;
        int k;
        while ((k = wal_reader_next(r, &p, &len)) == 1) {
            switch (rec_type(p, len)) {
            case REC_SERIES:
                assert_int_equal(rec_decode_series(p, len, &d), 0);
                *nseries += d.nseries;
                break;
            case REC_SAMPLES:
                assert_int_equal(rec_decode_samples(p, len, &d), 0);
                *nsamples += d.nsamples;
                for (size_t i = 0; i < d.nsamples; i++)
                    if (d.samples[i].t < *min_t)
                        *min_t = d.samples[i].t;
                break;
            case REC_TOMBSTONES:
                assert_int_equal(rec_decode_tombstones(p, len, &d), 0);
                *nstones += d.nstones;
                break;
            default:
                break;
            }
        }
        assert_int_equal(k, 0);
        wal_reader_close(r);
    }
    rec_decoded_free(&d);
}

static void test_checkpoint_keeps_what_the_head_needs(void **state)
{
    (void)state;
    char *dir = mktmp();
    char err[256];
    struct wal *w;
    /* 200 series; per segment, one sample per series at t = 1000 * segment. */
    assert_int_equal(wal_open(&w, dir, 0, WAL_COMPRESS_SNAPPY, err, sizeof err), 0);
    struct ebuf b;
    ebuf_init(&b, 0);
    rec_encode_series_begin(&b);
    for (uint64_t ref = 1; ref <= 200; ref++) {
        struct ignis_label l = {"s", 1, (const char *)&ref, sizeof ref};
        rec_encode_series(&b, ref, &l, 1);
    }
    assert_int_equal(wal_log(w, b.p, b.len, err, sizeof err), 0);
    for (int seg = 0; seg < 4; seg++) {
        struct rec_sample s[200];
        for (int i = 0; i < 200; i++)
            s[i] = (struct rec_sample){(uint64_t)i + 1, 1000 * seg, (double)i};
        ebuf_reset(&b);
        rec_encode_samples(&b, s, 200);
        assert_int_equal(wal_log(w, b.p, b.len, err, sizeof err), 0);
        struct rec_stone st[2] = {{5, 0, 10}, {150, 0, 5000}};
        ebuf_reset(&b);
        rec_encode_tombstones(&b, st, 2);
        assert_int_equal(wal_log(w, b.p, b.len, err, sizeof err), 0);
        if (seg < 3)
            assert_int_equal(wal_next_segment(w, err, sizeof err), seg + 1);
    }
    assert_int_equal(wal_close(w, err, sizeof err), 0);

    /* Checkpoint segments 0..1 keeping refs < 100 and samples at t >= 1000. */
    struct checkpoint_stats st;
    assert_int_equal(checkpoint_create(dir, -1, 1, keep_below_100, NULL, 1000, &st, err,
                                       sizeof err),
                     0);
    assert_int_equal(st.series_kept, 99);
    assert_int_equal(st.series_dropped, 101);
    assert_int_equal(st.samples_kept, 99);      /* segment 1's samples of kept series */
    assert_int_equal(st.samples_dropped, 301);
    assert_int_equal(st.stones_kept, 0);        /* ref 5's ends before 1000; 150 dropped */
    assert_int_equal(wal_truncate_before(dir, 2, err, sizeof err), 0);
    char ck[4096];
    assert_int_equal(checkpoint_last(dir, ck, sizeof ck), 1);
    size_t ns, nsm, nst;
    int64_t min_t;
    replay_counts(dir, &ns, &nsm, &nst, &min_t);
    assert_int_equal(ns, 99);
    assert_int_equal(nsm, 99 + 400);
    assert_int_equal(nst, 4);
    assert_int_equal(min_t, 1000);

    /* A second checkpoint builds on the first and replaces it; a leftover .tmp goes. */
    char junk[4200];
    snprintf(junk, sizeof junk, "%s/checkpoint.00000002.tmp", dir);
    assert_int_equal(mkdir(junk, 0755), 0);
    assert_int_equal(checkpoint_create(dir, -1, 2, keep_below_100, NULL, 2000, &st, err,
                                       sizeof err),
                     0);
    assert_int_equal(st.series_kept, 99); /* carried over from checkpoint 1 */
    assert_int_equal(checkpoint_last(dir, ck, sizeof ck), 2);
    snprintf(junk, sizeof junk, "%s/checkpoint.00000001", dir);
    assert_int_equal(access(junk, F_OK), -1);
    snprintf(junk, sizeof junk, "%s/checkpoint.00000002.tmp", dir);
    assert_int_equal(access(junk, F_OK), -1);
    /* Making one that exists is refused. */
    assert_int_equal(checkpoint_create(dir, -1, 2, keep_below_100, NULL, 0, &st, err,
                                       sizeof err),
                     -1);
    ebuf_free(&b);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_wal_round_trip_all_compressions, set_sync),
        cmocka_unit_test_setup(test_wal_write_failures_leave_whole_records, set_sync),
        cmocka_unit_test_setup(test_wal_torn_tail_is_cut_and_earlier_records_kept, set_sync),
        cmocka_unit_test_setup(test_wal_corruption_in_the_middle_is_located, set_sync),
        cmocka_unit_test_setup(test_wal_garbage_in_padding_is_corruption, set_sync),
        cmocka_unit_test_setup(test_records_round_trip, set_sync),
        cmocka_unit_test_setup(test_checkpoint_keeps_what_the_head_needs, set_sync),
        /* The same through the read-ahead thread. */
        cmocka_unit_test_setup(test_wal_round_trip_all_compressions, set_async),
        cmocka_unit_test_setup(test_wal_torn_tail_is_cut_and_earlier_records_kept, set_async),
        cmocka_unit_test_setup(test_wal_corruption_in_the_middle_is_located, set_async),
        cmocka_unit_test_setup(test_wal_garbage_in_padding_is_corruption, set_async),
        cmocka_unit_test_setup(test_records_round_trip, set_async),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
