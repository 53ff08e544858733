/* tests/fuzz/fuzz_tsdb.c — the tsdb plugin's parsers of bytes from disk: byte 0 picks the
 * format, the rest is the input. 0: an XOR chunk (decoded to the end); 1: a WAL record
 * (every decoder); 2: a WAL segment file (read record by record, each decoded); 3: a block
 * index file (TOC, symbols, postings table, every posting and series); 4: a tombstones
 * file; 5: a head chunk file. Any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "chunkenc.h"
#include "enc.h"
#include "fileutil.h"
#include "hchunks.h"
#include "index.h"
#include "meta.h"
#include "record.h"
#include "wal.h"

static char dir[64];

static void cleanup(void)
{
    rm_rf(dir);
}

/* A private directory for the file-based formats, made once and removed at exit. */
static const char *workdir(void)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_tsdb.%d", (int)getpid());
        rm_rf(dir);
        mkdir(dir, 0755);
        atexit(cleanup);
    }
    return dir;
}

static void put_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

static void chunk(const uint8_t *p, size_t n)
{
    struct xor_it it;
    if (xor_it_init(&it, p, n) < 0)
        return;
    int64_t t, mint, maxt;
    double v;
    unsigned k = 0;
    while (xor_it_next(&it, &t, &v) == 1)
        if (++k > TSDB_CHUNK_MAX_SAMPLES)
            abort(); /* more than the header can count */
    xor_chunk_bounds(p, n, &mint, &maxt);
}

static void record(const uint8_t *p, size_t n)
{
    struct rec_decoded d = {0};
    rec_decode_series(p, n, &d);
    rec_decode_samples(p, n, &d);
    rec_decode_tombstones(p, n, &d);
    rec_decode_exemplars(p, n, &d);
    rec_decode_markers(p, n, &d);
    for (size_t i = 0; i < d.nlabels; i++)
        if (d.labels[i].name_len && !d.labels[i].name)
            abort();
    rec_decoded_free(&d);
}

static void segment(const uint8_t *p, size_t n)
{
    char sub[128], path[192], err[256];
    snprintf(sub, sizeof sub, "%s/wal", workdir());
    rm_rf(sub);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/00000000", sub);
    put_file(path, p, n);
    struct wal_reader *r;
    if (wal_reader_open(&r, sub, -1, -1, err, sizeof err) < 0)
        return;
    const uint8_t *rec;
    size_t len;
    while (wal_reader_next(r, &rec, &len) == 1)
        record(rec, len);
    wal_reader_close(r);
}

static void index_file(const uint8_t *p, size_t n)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/index", workdir());
    put_file(path, p, n);
    struct indexr r;
    if (indexr_open(&r, path, err, sizeof err) < 0)
        return;
    struct index_series s = {0};
    struct tsdb_str str;
    for (uint32_t i = 0; i < r.nsyms && i < 10000; i++)
        indexr_symbol(&r, i, &str);
    for (size_t e = 0; e < r.npe && e < 10000; e++) {
        const uint8_t *ids;
        uint32_t cnt;
        if (indexr_postings_at(&r, e, &ids, &cnt) < 0)
            continue;
        for (uint32_t k = 0; k < cnt && k < 1000; k++)
            indexr_series(&r, be32_get(ids + 4 * k), &s, err, sizeof err);
        size_t lo, hi;
        indexr_name_range(&r, r.pe[e].name.p, r.pe[e].name.len, &lo, &hi);
        if (e < lo || e >= hi)
            abort();
    }
    index_series_free(&s);
    indexr_close(&r);
}

static void tombstones(const uint8_t *p, size_t n)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/tombstones", workdir());
    put_file(path, p, n);
    struct tombstones t;
    if (tombstones_read(workdir(), &t, err, sizeof err) == 0)
        tombstones_free(&t);
}

static void count_chunk(void *arg, uint64_t sref, uint64_t cref, int64_t mint, int64_t maxt,
                        uint8_t enc)
{
    (void)sref;
    (void)mint;
    (void)maxt;
    (void)enc;
    uint64_t *last = arg;
    if (cref <= *last)
        abort(); /* refs must grow within a file */
    *last = cref;
}

static void head_chunks(const uint8_t *p, size_t n)
{
    char sub[128], path[192], err[256];
    snprintf(sub, sizeof sub, "%s/chunks_head", workdir());
    rm_rf(sub);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/000001", sub);
    put_file(path, p, n);
    struct hchunks hc;
    uint64_t last = 0;
    if (hchunks_open(&hc, sub, count_chunk, &last, err, sizeof err) == 0)
        hchunks_close(&hc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0: chunk(p, n); break;
    case 1: record(p, n); break;
    case 2: segment(p, n); break;
    case 3: index_file(p, n); break;
    case 4: tombstones(p, n); break;
    default: head_chunks(p, n); break;
    }
    return 0;
}
