/* plugins/storage/tsdb/merge.c — compaction of blocks into larger ones, as Prometheus'
 * leveled compactor plans it: block ranges grow by 3x from the minimum block duration
 * (2h, 6h, 18h, ...) up to a maximum; the newest block is left out of planning; blocks
 * that overlap in time are merged first (vertical compaction). Series are merged by label
 * set across the sources (their indexes are sorted), chunks copied as they are unless a
 * source has tombstones or chunks overlap, then samples are merged, deduplicated and
 * re-encoded. The new block is listed before the old ones go. */
#define _GNU_SOURCE
#include "db.h"
#include "chunkenc.h"
#include "enc.h"
#include "fileutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
    const struct block *b;
    const uint8_t *ids;
    uint32_t n, pos;
    struct index_series s; /* the current series, decoded */
    bool valid;
};

static int cursor_load(struct cursor *c, char *err, size_t errlen)
{
    c->valid = false;
    if (c->pos >= c->n)
        return 0;
    if (indexr_series(&c->b->ix, be32_get(c->ids + 4 * c->pos), &c->s, err, errlen) < 0)
        return -1;
    c->valid = true;
    return 0;
}

struct tvs {
    int64_t *t;
    double *v;
    size_t n, cap;
};

static int tvs_push(struct tvs *x, int64_t t, double v)
{
    if (x->n == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 1024;
        int64_t *nt = realloc(x->t, ncap * sizeof *nt);
        if (nt)
            x->t = nt;
        double *nv = nt ? realloc(x->v, ncap * sizeof *nv) : NULL;
        if (nv)
            x->v = nv;
        if (!nt || !nv)
            return -1;
        x->cap = ncap;
    }
    x->t[x->n] = t;
    x->v[x->n] = v;
    x->n++;
    return 0;
}

struct src_chunk {
    struct raw_chunk c;
    const struct tombstone *st;
    size_t nst;
};

static int cmp_src_chunk(const void *a, const void *b)
{
    const struct src_chunk *x = a, *y = b;
    return x->c.mint < y->c.mint ? -1 : x->c.mint > y->c.mint;
}

/* Writes the merge of blocks bs[0..n) as one block over [mint, maxt). */
static int merge_blocks(struct db *db, struct dblock **bs, size_t n, int64_t mint, int64_t maxt,
                        char *newulid, char *err, size_t errlen)
{
    struct symset sy = {0};
    struct cursor *cur = calloc(n, sizeof *cur);
    struct ulid *sources = NULL, *parents = calloc(n, sizeof *parents);
    size_t nsources = 0;
    int level = 0, rc = 0;
    if (!cur || !parents) {
        rc = tsdb_errf(err, errlen, -1, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct block *b = &bs[i]->b;
        parents[i] = b->meta.ulid;
        if (b->meta.level > level)
            level = b->meta.level;
        struct ulid *ns = realloc(sources, (nsources + b->meta.nsources + 1) * sizeof *ns);
        if (!ns) {
            rc = tsdb_errf(err, errlen, -1, "out of memory");
            break;
        }
        sources = ns;
        for (size_t k = 0; k < b->meta.nsources; k++)
            sources[nsources++] = b->meta.sources[k];
        if (!b->meta.nsources)
            sources[nsources++] = b->meta.ulid;
        for (uint32_t k = 0; k < b->ix.nsyms && rc == 0; k++) {
            struct tsdb_str s;
            if (indexr_symbol(&b->ix, k, &s) < 0 || symset_add(&sy, s.p, s.len) < 0)
                rc = tsdb_errf(err, errlen, -1, "block %s: bad symbol table", b->meta.ulid.s);
        }
        cur[i].b = b;
        if (rc == 0 && indexr_postings(&b->ix, "", 0, "", 0, &cur[i].ids, &cur[i].n) < 0)
            rc = tsdb_errf(err, errlen, -1, "block %s: corrupt postings", b->meta.ulid.s);
        if (rc == 0)
            rc = cursor_load(&cur[i], err, errlen);
    }
    symset_finish(&sy);
    struct block_writer w;
    bool open = false;
    if (rc == 0 && (rc = blockw_open(&w, db->dir, mint, maxt, err, errlen)) == 0) {
        open = true;
        w.level = level + 1;
        w.sources = sources;
        w.nsources = nsources;
        w.parents = parents;
        w.nparents = n;
        rc = blockw_symbols(&w, sy.v, sy.n, err, errlen);
    }
    struct src_chunk *chs = NULL;
    size_t nch = 0, chcap = 0;
    struct raw_chunk *raws = NULL;
    struct tvs tv = {0};
    while (rc == 0) {
        /* The smallest label set among the cursors. */
        const struct index_series *min = NULL;
        for (size_t i = 0; i < n; i++)
            if (cur[i].valid && (!min || tsdb_labels_cmp(cur[i].s.ls, cur[i].s.nls, min->ls,
                                                         min->nls) < 0))
                min = &cur[i].s;
        if (!min)
            break;
        /* Copy its labels: the cursors move on below. */
        struct ignis_label lsbuf[64], *ls = lsbuf;
        size_t nls = min->nls;
        if (nls > 64 && !(ls = malloc(nls * sizeof *ls))) {
            rc = tsdb_errf(err, errlen, -1, "out of memory");
            break;
        }
        memcpy(ls, min->ls, nls * sizeof *ls);
        nch = 0;
        bool complex = false;
        for (size_t i = 0; i < n && rc == 0; i++) {
            struct cursor *c = &cur[i];
            if (!c->valid || tsdb_labels_cmp(c->s.ls, c->s.nls, ls, nls) != 0)
                continue;
            uint32_t id = be32_get(c->ids + 4 * c->pos);
            size_t nst;
            const struct tombstone *st = tombstones_of(&c->b->stones, id, &nst);
            complex |= nst > 0;
            for (size_t k = 0; k < c->s.nchks && rc == 0; k++) {
                if (nch == chcap) {
                    chcap = chcap ? chcap * 2 : 16;
                    struct src_chunk *nc = realloc(chs, chcap * sizeof *nc);
                    if (!nc) {
                        rc = tsdb_errf(err, errlen, -1, "out of memory");
                        break;
                    }
                    chs = nc;
                }
                struct src_chunk *x = &chs[nch++];
                x->st = st;
                x->nst = nst;
                x->c.mint = c->s.chks[k].mint;
                x->c.maxt = c->s.chks[k].maxt;
                if (chunkr_get(&c->b->cr, c->s.chks[k].ref, &x->c.encoding, &x->c.data,
                               &x->c.len, err, errlen) < 0)
                    rc = -1;
                else
                    x->c.nsamples = x->c.encoding == TSDB_ENC_XOR
                                        ? xor_num_samples(x->c.data, x->c.len)
                                        : 0;
            }
            c->pos++;
            if (rc == 0)
                rc = cursor_load(c, err, errlen);
        }
        if (rc == 0 && nch > 1)
            qsort(chs, nch, sizeof *chs, cmp_src_chunk);
        for (size_t k = 1; k < nch && !complex; k++)
            complex = chs[k].c.mint <= chs[k - 1].c.maxt;
        if (rc == 0 && !complex && nch) {
            struct raw_chunk *nr = realloc(raws, nch * sizeof *nr);
            if (!nr) {
                rc = tsdb_errf(err, errlen, -1, "out of memory");
            } else {
                raws = nr;
                for (size_t k = 0; k < nch; k++)
                    raws[k] = chs[k].c;
                rc = blockw_add_chunks(&w, ls, nls, raws, nch, err, errlen);
            }
        } else if (rc == 0 && nch) {
            /* Merge sample by sample: chunks in mint order, keep the first of equal times. */
            tv.n = 0;
            for (size_t k = 0; k < nch && rc == 0; k++) {
                if (chs[k].c.encoding != TSDB_ENC_XOR)
                    continue;
                struct xor_it it;
                xor_it_init(&it, chs[k].c.data, chs[k].c.len);
                int64_t t;
                double v;
                int q;
                while ((q = xor_it_next(&it, &t, &v)) == 1) {
                    bool del = false;
                    for (size_t z = 0; z < chs[k].nst && !del; z++)
                        del = chs[k].st[z].mint <= t && t <= chs[k].st[z].maxt;
                    if (!del && tvs_push(&tv, t, v) < 0) {
                        rc = tsdb_errf(err, errlen, -1, "out of memory");
                        break;
                    }
                }
                if (q < 0 && rc == 0)
                    rc = tsdb_errf(err, errlen, -1, "corrupt chunk");
            }
            /* Insertion into order (inputs are runs already sorted). */
            for (size_t a = 1; rc == 0 && a < tv.n; a++)
                for (size_t b = a; b > 0 && tv.t[b - 1] > tv.t[b]; b--) {
                    int64_t tt = tv.t[b];
                    double vv = tv.v[b];
                    tv.t[b] = tv.t[b - 1];
                    tv.v[b] = tv.v[b - 1];
                    tv.t[b - 1] = tt;
                    tv.v[b - 1] = vv;
                }
            size_t m = 0;
            for (size_t a = 0; a < tv.n; a++)
                if (!m || tv.t[m - 1] != tv.t[a]) {
                    tv.t[m] = tv.t[a];
                    tv.v[m] = tv.v[a];
                    m++;
                }
            if (rc == 0 && m)
                rc = blockw_add_samples(&w, ls, nls, tv.t, tv.v, m, err, errlen);
        }
        if (ls != lsbuf)
            free(ls);
    }
    struct ulid u;
    if (open) {
        if (rc == 0)
            rc = blockw_finish(&w, &u, err, errlen);
        else
            blockw_abort(&w);
    }
    if (rc == 0)
        memcpy(newulid, u.s, ULID_LEN + 1);
    free(chs);
    free(raws);
    free(tv.t);
    free(tv.v);
out:
    for (size_t i = 0; cur && i < n; i++)
        index_series_free(&cur[i].s);
    free(cur);
    free(sources);
    free(parents);
    symset_free(&sy);
    return rc;
}

static int64_t floor_to(int64_t t, int64_t r)
{
    int64_t q = t / r;
    if (t % r < 0)
        q--;
    return q * r;
}

/* Picks the next set of blocks to merge (db->mu held); returns their count (0: none) and
 * the new block's range. blocks are sorted by min_time. */
static size_t plan(struct dblock **bl, size_t nb, const int64_t *ranges, size_t nranges,
                   size_t *first, int64_t *mint, int64_t *maxt)
{
    if (nb < 2)
        return 0;
    /* Overlapping blocks first (all of them, together with everything they overlap). */
    for (size_t i = 0; i + 1 < nb; i++) {
        int64_t end = bl[i]->b.meta.max_time;
        size_t j = i + 1;
        while (j < nb && bl[j]->b.meta.min_time < end) {
            if (bl[j]->b.meta.max_time > end)
                end = bl[j]->b.meta.max_time;
            j++;
        }
        if (j > i + 1) {
            *first = i;
            *mint = bl[i]->b.meta.min_time;
            *maxt = end;
            return j - i;
        }
    }
    /* Leveled: leave the newest block out; a group of aligned blocks inside one range is
     * merged when it fills the range or a newer block lies beyond it. */
    size_t usable = nb - 1;
    int64_t newest_end = bl[nb - 1]->b.meta.max_time;
    for (size_t r = 1; r < nranges; r++) {
        int64_t R = ranges[r];
        for (size_t i = 0; i < usable;) {
            int64_t start = floor_to(bl[i]->b.meta.min_time, R);
            size_t j = i;
            while (j < usable && bl[j]->b.meta.min_time >= start &&
                   bl[j]->b.meta.max_time <= start + R)
                j++;
            if (j == i) { /* a block larger than R: not part of any group here */
                i++;
                continue;
            }
            bool fills = bl[j - 1]->b.meta.max_time == start + R && bl[i]->b.meta.min_time == start;
            if (j - i > 1 && (fills || newest_end > start + R)) {
                *first = i;
                *mint = bl[i]->b.meta.min_time;
                *maxt = bl[j - 1]->b.meta.max_time;
                return j - i;
            }
            i = j;
        }
    }
    return 0;
}

int db_compact_blocks(struct db *db, const int64_t *ranges, size_t nranges, uint64_t *merged,
                      char *err, size_t errlen)
{
    for (int round = 0; round < 64; round++) {
        pthread_mutex_lock(&db->mu);
        size_t first = 0;
        int64_t mint = 0, maxt = 0;
        size_t n = plan(db->blocks, db->nblocks, ranges, nranges, &first, &mint, &maxt);
        struct dblock **bs = n ? malloc(n * sizeof *bs) : NULL;
        for (size_t i = 0; bs && i < n; i++) {
            bs[i] = db->blocks[first + i];
            bs[i]->refs++;
        }
        pthread_mutex_unlock(&db->mu);
        if (!n)
            return 0;
        if (!bs)
            return tsdb_errf(err, errlen, -1, "out of memory");
        char ulid[ULID_LEN + 1];
        int rc = merge_blocks(db, bs, n, mint, maxt, ulid, err, errlen);
        if (rc == 0 && db->log) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "compacted %zu blocks (%" PRId64 " to %" PRId64 ", first %s) into %s", n,
                     mint, maxt, bs[0]->b.meta.ulid.s, ulid);
            db->log(db->log_arg, 0, msg);
        }
        if (rc == 0)
            rc = db_list_block(db, ulid, err, errlen);
        if (rc == 0) {
            /* Unlist the sources; their directories go with their last reference. */
            pthread_mutex_lock(&db->mu);
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < db->nblocks; k++)
                    if (db->blocks[k] == bs[i]) {
                        memmove(db->blocks + k, db->blocks + k + 1,
                                (db->nblocks - k - 1) * sizeof *db->blocks);
                        db->nblocks--;
                        bs[i]->removed = true;
                        bs[i]->refs--; /* the list's reference */
                        break;
                    }
            pthread_mutex_unlock(&db->mu);
            if (merged)
                (*merged)++;
        }
        for (size_t i = 0; i < n; i++)
            dblock_unref(db, bs[i]);
        free(bs);
        if (rc)
            return -1;
    }
    return 0;
}

size_t db_block_ranges(int64_t min, int64_t max, int64_t *out, size_t cap)
{
    if (max <= 0)
        max = 31ll * 24 * 3600 * 1000;
    size_t n = 0;
    for (int64_t r = min; r > 0 && r <= max && n < cap; r *= 3)
        out[n++] = r;
    if (n == 0 && cap)
        out[n++] = min;
    return n;
}
