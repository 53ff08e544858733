/* plugins/storage/tsdb/block.c — writing and opening persisted blocks (see block.h). */
#define _GNU_SOURCE
#include "block.h"
#include "fileutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int blockw_open(struct block_writer *w, const char *parent, int64_t mint, int64_t maxt,
                char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->mint = mint;
    w->maxt = maxt;
    w->data_mint = INT64_MAX;
    w->data_maxt = INT64_MIN;
    if (ulid_new(&w->ulid, now_ms()) < 0)
        return tsdb_errf(err, errlen, -1, "no randomness for a ULID: %s", strerror(errno));
    if (asprintf(&w->tmpdir, "%s/%s.tmp-for-creation", parent, w->ulid.s) < 0) {
        w->tmpdir = NULL;
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    if (!(w->parent = strdup(parent))) {
        blockw_abort(w);
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    if (mkdir(w->tmpdir, 0755) < 0) {
        tsdb_errf(err, errlen, -1, "mkdir %s: %s", w->tmpdir, strerror(errno));
        free(w->tmpdir);
        w->tmpdir = NULL;
        blockw_abort(w);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/chunks", w->tmpdir);
    if (chunkw_open(&w->cw, path, 0, err, errlen) < 0) {
        blockw_abort(w);
        return -1;
    }
    snprintf(path, sizeof path, "%s/index", w->tmpdir);
    if (indexw_open(&w->iw, path, err, errlen) < 0) {
        w->iw = NULL;
        blockw_abort(w);
        return -1;
    }
    return 0;
}

void blockw_abort(struct block_writer *w)
{
    if (w->iw)
        indexw_abort(w->iw);
    w->iw = NULL;
    if (w->cw.dir)
        chunkw_close(&w->cw, false, NULL, 0);
    if (w->tmpdir)
        rm_rf(w->tmpdir);
    if (w->enc_live)
        xor_enc_free(&w->enc);
    w->enc_live = false;
    free(w->tmpdir);
    free(w->parent);
    free(w->metas);
    w->tmpdir = w->parent = NULL;
    w->metas = NULL;
}

int blockw_symbols(struct block_writer *w, const struct tsdb_str *syms, size_t n, char *err,
                   size_t errlen)
{
    return indexw_add_symbols(w->iw, syms, n, err, errlen);
}

static int metas_reserve(struct block_writer *w, size_t n)
{
    if (n <= w->metas_cap)
        return 0;
    size_t ncap = w->metas_cap ? w->metas_cap : 16;
    while (ncap < n)
        ncap *= 2;
    struct chunk_meta *nm = realloc(w->metas, ncap * sizeof *nm);
    if (!nm)
        return -1;
    w->metas = nm;
    w->metas_cap = ncap;
    return 0;
}

static void note_range(struct block_writer *w, int64_t mint, int64_t maxt)
{
    if (mint < w->data_mint)
        w->data_mint = mint;
    if (maxt > w->data_maxt)
        w->data_maxt = maxt;
}

int blockw_add_samples(struct block_writer *w, const struct ignis_label *ls, size_t nls,
                       const int64_t *t, const double *v, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    size_t nchunks = (n + TSDB_CHUNK_SAMPLES - 1) / TSDB_CHUNK_SAMPLES;
    if (metas_reserve(w, nchunks) < 0)
        return tsdb_errf(err, errlen, -1, "out of memory");
    for (size_t c = 0; c < nchunks; c++) {
        size_t a = c * TSDB_CHUNK_SAMPLES;
        size_t b = a + TSDB_CHUNK_SAMPLES < n ? a + TSDB_CHUNK_SAMPLES : n;
        if (xor_enc_init(&w->enc, 256, 0) < 0)
            return tsdb_errf(err, errlen, -1, "out of memory");
        w->enc_live = true;
        for (size_t i = a; i < b; i++)
            if (xor_enc_append(&w->enc, t[i], v[i]) < 0) {
                xor_enc_free(&w->enc);
                w->enc_live = false;
                return tsdb_errf(err, errlen, -1, "out of memory");
            }
        size_t len;
        const uint8_t *data = xor_enc_bytes(&w->enc, &len);
        int rc = chunkw_write(&w->cw, TSDB_ENC_XOR, data, len, &w->metas[c].ref, err, errlen);
        xor_enc_free(&w->enc);
        w->enc_live = false;
        if (rc < 0)
            return -1;
        w->metas[c].mint = t[a];
        w->metas[c].maxt = t[b - 1];
        note_range(w, t[a], t[b - 1]);
    }
    if (indexw_add_series(w->iw, ls, nls, w->metas, nchunks, err, errlen) < 0)
        return -1;
    w->nsamples += n;
    w->nchunks += nchunks;
    w->nseries++;
    return 0;
}

int blockw_add_chunks(struct block_writer *w, const struct ignis_label *ls, size_t nls,
                      const struct raw_chunk *c, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    if (metas_reserve(w, n) < 0)
        return tsdb_errf(err, errlen, -1, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (chunkw_write(&w->cw, c[i].encoding, c[i].data, c[i].len, &w->metas[i].ref, err,
                         errlen) < 0)
            return -1;
        w->metas[i].mint = c[i].mint;
        w->metas[i].maxt = c[i].maxt;
        note_range(w, c[i].mint, c[i].maxt);
        w->nsamples += c[i].nsamples;
    }
    if (indexw_add_series(w->iw, ls, nls, w->metas, n, err, errlen) < 0)
        return -1;
    w->nchunks += n;
    w->nseries++;
    return 0;
}

int blockw_finish(struct block_writer *w, struct ulid *out, char *err, size_t errlen)
{
    int rc = chunkw_close(&w->cw, true, err, errlen);
    w->cw.dir = NULL;
    if (rc == 0) {
        rc = indexw_close(w->iw, true, err, errlen);
        w->iw = NULL;
    }
    struct block_meta m = {0};
    if (rc == 0) {
        m.ulid = w->ulid;
        m.min_time = w->mint != INT64_MAX ? w->mint : w->data_mint;
        m.max_time = w->maxt != INT64_MIN ? w->maxt
                     : w->data_maxt == INT64_MIN ? w->data_maxt
                                                 : w->data_maxt + 1;
        if (w->nseries == 0 && w->mint == INT64_MAX)
            m.min_time = m.max_time = 0;
        m.num_samples = w->nsamples;
        m.num_series = w->nseries;
        m.num_chunks = w->nchunks;
        m.level = w->level > 0 ? w->level : 1;
        m.sources = w->level > 0 ? (struct ulid *)w->sources : &w->ulid;
        m.nsources = w->level > 0 ? w->nsources : 1;
        m.parents = (struct ulid *)w->parents;
        m.nparents = w->nparents;
        struct tombstones none = {0};
        rc = tombstones_write(w->tmpdir, &none, err, errlen);
        if (rc == 0)
            rc = meta_write(w->tmpdir, &m, err, errlen);
    }
    if (rc == 0) {
        char final[4096];
        snprintf(final, sizeof final, "%s/%s", w->parent, w->ulid.s);
        if (fsync_dir(w->tmpdir) < 0 || rename(w->tmpdir, final) < 0 ||
            fsync_dir(w->parent) < 0)
            rc = tsdb_errf(err, errlen, -1, "rename %s: %s", final, strerror(errno));
    }
    if (rc == 0) {
        if (out)
            *out = w->ulid;
        free(w->tmpdir);
        w->tmpdir = NULL;
    }
    blockw_abort(w);
    return rc;
}

int block_open(struct block *b, const char *dir, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (!(b->dir = strdup(dir)))
        return tsdb_errf(err, errlen, -1, "out of memory");
    char path[4096];
    if (meta_read(dir, &b->meta, err, errlen) < 0)
        goto fail;
    snprintf(path, sizeof path, "%s/index", dir);
    if (indexr_open(&b->ix, path, err, errlen) < 0)
        goto fail;
    snprintf(path, sizeof path, "%s/chunks", dir);
    if (chunkr_open(&b->cr, path, err, errlen) < 0)
        goto fail;
    if (tombstones_read(dir, &b->stones, err, errlen) < 0)
        goto fail;
    return 0;
fail:
    block_close(b);
    return -1;
}

void block_close(struct block *b)
{
    indexr_close(&b->ix);
    chunkr_close(&b->cr);
    tombstones_free(&b->stones);
    meta_free(&b->meta);
    free(b->dir);
    b->dir = NULL;
}

int symset_add_labels(struct symset *s, const struct ignis_label *ls, size_t n)
{
    if (s->n + 2 * n > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        while (ncap < s->n + 2 * n)
            ncap *= 2;
        struct tsdb_str *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = ncap;
    }
    for (size_t i = 0; i < n; i++) {
        s->v[s->n++] = (struct tsdb_str){ls[i].name, ls[i].name_len};
        s->v[s->n++] = (struct tsdb_str){ls[i].value, ls[i].value_len};
    }
    return 0;
}

int symset_add(struct symset *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        struct tsdb_str *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n++] = (struct tsdb_str){p, len};
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    const struct tsdb_str *x = a, *y = b;
    return tsdb_str_cmp(x->p, x->len, y->p, y->len);
}

void symset_finish(struct symset *s)
{
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_str);
    size_t o = 0;
    for (size_t i = 1; i < s->n; i++)
        if (cmp_str(&s->v[o], &s->v[i]) != 0)
            s->v[++o] = s->v[i];
    s->n = o + 1;
}

void symset_free(struct symset *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}
