/* plugins/storage/tsdb/rohead.c — a data directory's head loaded read-only for tools (see
 * rohead.h). Nothing here writes: head chunk files are mapped read-only, WAL segments and
 * checkpoints are read through the WAL reader, and a torn or corrupt record ends the read
 * with a warning instead of a repair. */
#define _GNU_SOURCE
#include "rohead.h"
#include "chunkenc.h"
#include "checkpoint.h"
#include "fileutil.h"
#include "hchunks.h"
#include "index.h"
#include "record.h"
#include "wal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NONE SIZE_MAX

struct found {
    uint64_t sref, cref;
    int64_t mint, maxt;
    uint8_t enc;
};

struct load {
    struct rohead *h;
    struct hchunks hc;
    struct found *fc;
    size_t nfc, fc_cap;
    bool oom;
    int64_t min_valid;
    struct rec_decoded d;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static uint64_t labels_hash(const struct ignis_label *ls, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ls[i].name_len; k++)
            h = (h ^ (unsigned char)ls[i].name[k]) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull;
        for (size_t k = 0; k < ls[i].value_len; k++)
            h = (h ^ (unsigned char)ls[i].value[k]) * 0x100000001b3ull;
        h = (h ^ 0xfe) * 0x100000001b3ull;
    }
    return h;
}

static size_t ref_get(const struct rohead *h, uint64_t ref)
{
    if (!h->refcap)
        return NONE;
    for (size_t i = mix(ref) & (h->refcap - 1);; i = (i + 1) & (h->refcap - 1)) {
        if (h->refvals[i] == NONE)
            return NONE;
        if (h->refkeys[i] == ref)
            return h->refvals[i];
    }
}

static int ref_put(struct rohead *h, uint64_t ref, size_t idx)
{
    if ((h->nrefs + 1) * 2 > h->refcap) {
        size_t ncap = h->refcap ? h->refcap * 2 : 1024;
        uint64_t *nk = malloc(ncap * sizeof *nk);
        size_t *nv = malloc(ncap * sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return -1;
        }
        for (size_t i = 0; i < ncap; i++)
            nv[i] = NONE;
        for (size_t i = 0; i < h->refcap; i++) {
            if (h->refvals[i] == NONE)
                continue;
            size_t j = mix(h->refkeys[i]) & (ncap - 1);
            while (nv[j] != NONE)
                j = (j + 1) & (ncap - 1);
            nk[j] = h->refkeys[i];
            nv[j] = h->refvals[i];
        }
        free(h->refkeys);
        free(h->refvals);
        h->refkeys = nk;
        h->refvals = nv;
        h->refcap = ncap;
    }
    size_t i = mix(ref) & (h->refcap - 1);
    while (h->refvals[i] != NONE && h->refkeys[i] != ref)
        i = (i + 1) & (h->refcap - 1);
    if (h->refvals[i] == NONE)
        h->nrefs++;
    h->refkeys[i] = ref;
    h->refvals[i] = idx;
    return 0;
}

static bool same_labels(const struct rohead_series *s, const struct ignis_label *ls, size_t n)
{
    return tsdb_labels_cmp(s->ls, s->nls, ls, n) == 0 && s->nls == n;
}

/* The series with these labels, or NONE; *slot gets where a new one goes. */
static size_t find_labels(const struct rohead *h, const struct ignis_label *ls, size_t n,
                          size_t *slot)
{
    if (!h->hashcap) {
        *slot = NONE;
        return NONE;
    }
    size_t i = labels_hash(ls, n) & (h->hashcap - 1);
    for (;; i = (i + 1) & (h->hashcap - 1)) {
        size_t v = h->byhash[i];
        if (v == NONE)
            break;
        if (same_labels(h->s[v], ls, n))
            return v;
    }
    *slot = i;
    return NONE;
}

static int hash_grow(struct rohead *h)
{
    size_t ncap = h->hashcap ? h->hashcap * 2 : 1024;
    size_t *nb = malloc(ncap * sizeof *nb);
    if (!nb)
        return -1;
    for (size_t i = 0; i < ncap; i++)
        nb[i] = NONE;
    for (size_t k = 0; k < h->n; k++) {
        size_t i = labels_hash(h->s[k]->ls, h->s[k]->nls) & (ncap - 1);
        while (nb[i] != NONE)
            i = (i + 1) & (ncap - 1);
        nb[i] = k;
    }
    free(h->byhash);
    h->byhash = nb;
    h->hashcap = ncap;
    return 0;
}

int tsdb_tv_push(struct tsdb_tv *x, int64_t t, double v)
{
    if (x->n == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 64;
        int64_t *nt = realloc(x->t, ncap * sizeof *nt);
        if (!nt)
            return -1;
        x->t = nt;
        double *nv = realloc(x->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        x->v = nv;
        x->cap = ncap;
    }
    x->t[x->n] = t;
    x->v[x->n++] = v;
    return 0;
}

void tsdb_tv_free(struct tsdb_tv *x)
{
    free(x->t);
    free(x->v);
    memset(x, 0, sizeof *x);
}

static int push_sample(struct load *l, struct rohead_series *s, int64_t t, double v)
{
    struct rohead *h = l->h;
    if (h->samples >= ROHEAD_MAX_SAMPLES || tsdb_tv_push(&s->tv, t, v) < 0)
        return -1;
    h->samples++;
    if (t < h->mint)
        h->mint = t;
    if (t > h->maxt)
        h->maxt = t;
    return 0;
}

static void on_found(void *arg, uint64_t sref, uint64_t cref, int64_t mint, int64_t maxt,
                     uint8_t enc)
{
    struct load *l = arg;
    if (l->nfc == l->fc_cap) {
        size_t ncap = l->fc_cap ? l->fc_cap * 2 : 1024;
        struct found *n = realloc(l->fc, ncap * sizeof *n);
        if (!n) {
            l->oom = true;
            return;
        }
        l->fc = n;
        l->fc_cap = ncap;
    }
    l->fc[l->nfc++] = (struct found){sref, cref, mint, maxt, enc};
}

static int cmp_found(const void *a, const void *b)
{
    const struct found *x = a, *y = b;
    if (x->sref != y->sref)
        return x->sref < y->sref ? -1 : 1;
    return x->mint < y->mint ? -1 : x->mint > y->mint;
}

/* Gives a new series the samples of its mmapped chunks (overlapping duplicates and chunks
 * wholly before min_valid skipped, as the head's replay does). */
static int attach_chunks(struct load *l, struct rohead_series *s)
{
    size_t lo = 0, hi = l->nfc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->fc[mid].sref < s->ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < l->nfc && l->fc[i].sref == s->ref; i++) {
        const struct found *f = &l->fc[i];
        if (f->enc != TSDB_ENC_XOR || (s->mm_maxt != INT64_MIN && f->mint <= s->mm_maxt) ||
            f->maxt < l->min_valid)
            continue;
        uint8_t enc;
        const uint8_t *data;
        size_t len;
        if (hchunks_get(&l->hc, f->cref, &enc, &data, &len) < 0)
            continue;
        struct xor_it it;
        xor_it_init(&it, data, len);
        int64_t t;
        double v;
        while (xor_it_next(&it, &t, &v) == 1)
            if (push_sample(l, s, t, v) < 0)
                return -1;
        s->mm_maxt = f->maxt;
    }
    return 0;
}

static int add_series(struct load *l, uint64_t ref, const struct ignis_label *ls, size_t n)
{
    struct rohead *h = l->h;
    if ((h->n + 1) * 2 > h->hashcap && hash_grow(h) < 0)
        return -1;
    size_t slot;
    size_t have = find_labels(h, ls, n, &slot);
    if (have != NONE) {
        if (h->s[have]->ref != ref)
            return ref_put(h, ref, have); /* a second record for the same series */
        return 0;
    }
    if (ref_get(h, ref) != NONE) {
        h->unknown_refs++; /* the ref names other labels already */
        return 0;
    }
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 256;
        struct rohead_series **ns = realloc(h->s, ncap * sizeof *ns);
        if (!ns)
            return -1;
        h->s = ns;
        h->cap = ncap;
    }
    struct rohead_series *s = calloc(1, sizeof *s);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += ls[i].name_len + ls[i].value_len;
    if (!s || !(s->ls = malloc((n ? n : 1) * sizeof *s->ls)) || !(s->store = malloc(bytes + 1))) {
        if (s)
            free(s->ls);
        free(s);
        return -1;
    }
    char *o = s->store;
    for (size_t i = 0; i < n; i++) {
        memcpy(o, ls[i].name, ls[i].name_len);
        s->ls[i].name = o;
        s->ls[i].name_len = ls[i].name_len;
        o += ls[i].name_len;
        memcpy(o, ls[i].value, ls[i].value_len);
        s->ls[i].value = o;
        s->ls[i].value_len = ls[i].value_len;
        o += ls[i].value_len;
    }
    s->nls = n;
    s->ref = ref;
    s->mm_maxt = INT64_MIN;
    h->s[h->n] = s;
    h->byhash[slot] = h->n;
    if (ref_put(h, ref, h->n) < 0)
        return -1;
    h->n++;
    return attach_chunks(l, s);
}

/* 0, -1 for a malformed record (skipped), -2 out of memory. */
static int apply_record(struct load *l, const uint8_t *rec, size_t len)
{
    struct rohead *h = l->h;
    struct rec_decoded *d = &l->d;
    switch (rec_type(rec, len)) {
    case REC_SERIES:
        if (rec_decode_series(rec, len, d) < 0)
            return -1;
        for (size_t i = 0; i < d->nseries; i++)
            if (add_series(l, d->series[i].ref, d->labels + d->series[i].first,
                           d->series[i].n) < 0)
                return -2;
        return 0;
    case REC_SAMPLES:
        if (rec_decode_samples(rec, len, d) < 0)
            return -1;
        for (size_t i = 0; i < d->nsamples; i++) {
            const struct rec_sample *x = &d->samples[i];
            size_t k = ref_get(h, x->ref);
            if (k == NONE) {
                h->unknown_refs++;
                continue;
            }
            struct rohead_series *s = h->s[k];
            if (x->t <= s->mm_maxt || x->t < l->min_valid || (s->tv.n && x->t <= s->tv.t[s->tv.n - 1]))
                continue; /* in a mmapped chunk or a block already, or out of order */
            if (push_sample(l, s, x->t, x->v) < 0)
                return -2;
        }
        return 0;
    case REC_TOMBSTONES:
        if (rec_decode_tombstones(rec, len, d) < 0)
            return -1;
        for (size_t i = 0; i < d->nstones; i++) {
            size_t k = ref_get(h, d->stones[i].ref);
            if (k != NONE &&
                tombstones_add(&h->stones, h->s[k]->ref, d->stones[i].mint, d->stones[i].maxt) < 0)
                return -2;
        }
        return 0;
    default:
        return 0; /* exemplars, markers, metadata, histograms: not dumped */
    }
}

static int read_dir(struct load *l, const char *dir, int first, char *err, size_t errlen)
{
    struct wal_reader *r;
    if (wal_reader_open(&r, dir, first, -1, err, errlen) < 0)
        return -1;
    const uint8_t *rec;
    size_t len;
    int k, rc = 0;
    while ((k = wal_reader_next(r, &rec, &len)) == 1)
        if (apply_record(l, rec, len) == -2) {
            rc = tsdb_errf(err, errlen, -1, "out of memory (or more than %llu samples) reading "
                           "the WAL", (unsigned long long)ROHEAD_MAX_SAMPLES);
            break;
        }
    if (rc == 0 && k < 0 && !l->h->warning[0]) {
        int seg;
        uint64_t off;
        const char *why;
        bool last;
        wal_reader_corruption(r, &seg, &off, &why, &last);
        snprintf(l->h->warning, sizeof l->h->warning,
                 "%s: WAL %s in segment %d at offset %" PRIu64 " (%s): read up to there", dir,
                 last ? "tail is torn" : "is corrupt", seg, off, why);
    }
    wal_reader_close(r);
    return rc;
}

static int cmp_ref(const void *a, const void *b)
{
    const struct rohead_series *x = *(struct rohead_series *const *)a;
    const struct rohead_series *y = *(struct rohead_series *const *)b;
    return x->ref < y->ref ? -1 : x->ref > y->ref;
}

int rohead_load(struct rohead *h, const char *dir, int64_t min_valid, char *err,
                size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->mint = INT64_MAX;
    h->maxt = INT64_MIN;
    struct load l = {.h = h, .min_valid = min_valid};
    char path[4096];
    snprintf(path, sizeof path, "%s/chunks_head", dir);
    if (hchunks_open_ro(&l.hc, path, on_found, &l, err, errlen) < 0)
        return -1;
    int rc = 0;
    if (l.oom)
        rc = tsdb_errf(err, errlen, -1, "out of memory");
    if (l.nfc)
        qsort(l.fc, l.nfc, sizeof *l.fc, cmp_found);
    char waldir[4096], ck[4096];
    snprintf(waldir, sizeof waldir, "%s/wal", dir);
    struct stat st;
    if (rc == 0 && stat(waldir, &st) == 0) {
        int ckn = checkpoint_last(waldir, ck, sizeof ck);
        if (ckn >= 0)
            rc = read_dir(&l, ck, -1, err, errlen);
        int *nums = NULL;
        int n = rc == 0 ? wal_segments(waldir, &nums) : 0;
        if (n > 0) {
            /* Segments before the checkpoint are leftovers of an interrupted truncation. */
            int first = ckn >= 0 ? ckn + 1 : nums[0];
            if (first <= nums[n - 1])
                rc = read_dir(&l, waldir, first < nums[0] ? nums[0] : first, err, errlen);
        }
        free(nums);
    }
    hchunks_close(&l.hc);
    free(l.fc);
    rec_decoded_free(&l.d);
    if (rc < 0) {
        rohead_free(h);
        return -1;
    }
    tombstones_normalize(&h->stones);
    if (h->n)
        qsort(h->s, h->n, sizeof *h->s, cmp_ref);
    return 0;
}

void rohead_free(struct rohead *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->s[i]->ls);
        free(h->s[i]->store);
        tsdb_tv_free(&h->s[i]->tv);
        free(h->s[i]);
    }
    free(h->s);
    tombstones_free(&h->stones);
    free(h->refkeys);
    free(h->refvals);
    free(h->byhash);
    memset(h, 0, sizeof *h);
}
