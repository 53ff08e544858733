/* plugins/storage/tsdb/querier.c — queriers over the head and the blocks of a data
 * directory (see db.h): matcher selection through each index's postings, series merged
 * by label set across sources, and their samples handed out in batches or whole chunks.
 * A series whose chunks overlap in time or carry tombstones is decoded, merged and
 * deduplicated first (and re-encoded when asked for chunks); the rest stream as stored. */
#define _GNU_SOURCE
#include "db.h"
#include "chunkenc.h"
#include "enc.h"
#include "fileutil.h"

#include <ignis/plugin.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- blocks of a directory ------------------------------------------------------------ */

static int cmp_dblock(const void *a, const void *b)
{
    const struct dblock *x = *(struct dblock *const *)a, *y = *(struct dblock *const *)b;
    if (x->b.meta.min_time != y->b.meta.min_time)
        return x->b.meta.min_time < y->b.meta.min_time ? -1 : 1;
    return strcmp(x->b.meta.ulid.s, y->b.meta.ulid.s);
}

void db_logf(struct db *db, int level, const char *fmt, ...)
{
    if (!db->log)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    db->log(db->log_arg, level, buf);
}

int db_load_blocks(struct db *db, char *err, size_t errlen)
{
    DIR *d = opendir(db->dir);
    if (!d)
        return tsdb_errf(err, errlen, -1, "open %s: %s", db->dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) && rc == 0) {
        if (!ulid_valid(de->d_name))
            continue;
        char path[4096], e[512];
        snprintf(path, sizeof path, "%s/%s", db->dir, de->d_name);
        struct dblock *b = calloc(1, sizeof *b);
        if (!b) {
            rc = tsdb_errf(err, errlen, -1, "out of memory");
            break;
        }
        if (block_open(&b->b, path, e, sizeof e) < 0) {
            db_logf(db, 1, "skipping block %s: %s", de->d_name, e);
            free(b);
            continue;
        }
        if (b->b.meta.deletable) {
            block_close(&b->b);
            free(b);
            continue;
        }
        struct dblock **nb = realloc(db->blocks, (db->nblocks + 1) * sizeof *nb);
        if (!nb) {
            block_close(&b->b);
            free(b);
            rc = tsdb_errf(err, errlen, -1, "out of memory");
            break;
        }
        db->blocks = nb;
        b->refs = 1;
        db->blocks[db->nblocks++] = b;
    }
    closedir(d);
    if (db->nblocks > 1)
        qsort(db->blocks, db->nblocks, sizeof *db->blocks, cmp_dblock);
    if (rc == 0 && db->nblocks)
        db_logf(db, 0, "opened %zu blocks", db->nblocks);
    return rc;
}

void dblock_unref(struct db *db, struct dblock *b)
{
    pthread_mutex_lock(&db->mu);
    bool last = --b->refs == 0;
    pthread_mutex_unlock(&db->mu);
    if (!last)
        return;
    char *dir = b->removed ? strdup(b->b.dir) : NULL;
    block_close(&b->b);
    free(b);
    if (dir) {
        rm_rf(dir);
        free(dir);
    }
}

void db_close_blocks(struct db *db)
{
    for (size_t i = 0; i < db->nblocks; i++)
        dblock_unref(db, db->blocks[i]);
    free(db->blocks);
    db->blocks = NULL;
    db->nblocks = 0;
}

/* ---- matcher selection on a block index ------------------------------------------------- */

static int plist_from_be(struct plist *p, const uint8_t *ids, uint32_t n)
{
    p->n = 0;
    for (uint32_t i = 0; i < n; i++)
        if (plist_push(p, be32_get(ids + 4 * i)) < 0)
            return -1;
    return 0;
}

static int index_all(const struct indexr *ix, struct plist *out)
{
    const uint8_t *ids;
    uint32_t n;
    int rc = indexr_postings(ix, "", 0, "", 0, &ids, &n);
    if (rc < 0)
        return -1;
    return plist_from_be(out, ids, n);
}

static int index_match(const struct indexr *ix, const struct ignis_matcher *m, struct plist *out)
{
    bool empty_ok = ignis_matcher_matches_empty(m);
    size_t lo, hi;
    indexr_name_range(ix, m->name, m->name_len, &lo, &hi);
    out->n = 0;
    if (lo == hi)
        return empty_ok ? index_all(ix, out) : 0;
    const uint8_t *ids;
    uint32_t n;
    if (m->type == IGNIS_MATCH_EQ && m->value_len) {
        int rc = indexr_postings(ix, m->name, m->name_len, m->value, m->value_len, &ids, &n);
        return rc < 0 ? -1 : rc == 0 ? plist_from_be(out, ids, n) : 0;
    }
    struct plist acc = {0};
    int rc = 0;
    size_t nl = 0;
    const char *const *lits = NULL;
    const size_t *lens = NULL;
    if (m->type == IGNIS_MATCH_RE && m->re && !empty_ok)
        nl = ignis_regex_literals(m->re, &lits, &lens);
    if (nl) {
        for (size_t i = 0; i < nl && rc == 0; i++) {
            int k = indexr_postings(ix, m->name, m->name_len, lits[i], lens[i], &ids, &n);
            if (k < 0)
                rc = -1;
            for (uint32_t j = 0; k == 0 && j < n && rc == 0; j++)
                rc = plist_push(&acc, be32_get(ids + 4 * j));
        }
    } else {
        for (size_t e = lo; e < hi && rc == 0; e++) {
            const struct index_pentry *pe = &ix->pe[e];
            if (ignis_matcher_matches(m, pe->value.p, pe->value.len) == empty_ok)
                continue;
            if (indexr_postings_at(ix, e, &ids, &n) < 0) {
                rc = -1;
                break;
            }
            for (uint32_t j = 0; j < n && rc == 0; j++)
                rc = plist_push(&acc, be32_get(ids + 4 * j));
        }
    }
    if (rc == 0) {
        plist_sort_unique(&acc);
        if (empty_ok) {
            struct plist all = {0};
            rc = index_all(ix, &all);
            if (rc == 0)
                rc = plist_subtract(out, &all, &acc);
            plist_free(&all);
        } else {
            plist_free(out);
            *out = acc;
            acc = (struct plist){0};
        }
    }
    plist_free(&acc);
    return rc;
}

int index_select(const struct indexr *ix, const struct ignis_matcher *ms, size_t n,
                 struct plist *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return index_all(ix, out);
    struct plist tmp = {0};
    bool started = false;
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++)
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (ignis_matcher_matches_empty(&ms[i]) != (pass == 1))
                continue;
            if (started && out->n == 0)
                break;
            rc = index_match(ix, &ms[i], &tmp);
            if (rc == 0)
                rc = started ? plist_intersect(out, out, &tmp) : plist_union(out, &tmp, 1);
            started = true;
        }
    plist_free(&tmp);
    if (rc < 0)
        plist_free(out);
    return rc;
}

/* ---- queriers ----------------------------------------------------------------------------- */

struct dbq {
    struct db *db;
    int64_t mint, maxt;
    struct dblock **blocks;
    size_t nblocks;
    uint64_t seq; /* the head's commit sequence it sees (head_iso_open) */
};

struct dbq *dbq_open(struct db *db, int64_t mint, int64_t maxt)
{
    struct dbq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->db = db;
    q->mint = mint;
    q->maxt = maxt;
    pthread_mutex_lock(&db->mu);
    q->blocks = calloc(db->nblocks ? db->nblocks : 1, sizeof *q->blocks);
    if (q->blocks)
        for (size_t i = 0; i < db->nblocks; i++) {
            struct dblock *b = db->blocks[i];
            /* A block holds [min_time, max_time). */
            if (b->b.meta.max_time <= mint || b->b.meta.min_time > maxt)
                continue;
            b->refs++;
            q->blocks[q->nblocks++] = b;
        }
    if (q->blocks)
        db->nqueriers++;
    pthread_mutex_unlock(&db->mu);
    if (!q->blocks) {
        free(q);
        return NULL;
    }
    if (head_iso_open(db->head, &q->seq) != 0) {
        q->seq = HEAD_SEQ_NONE; /* not registered: close must not unregister */
        dbq_close(q);
        return NULL;
    }
    return q;
}

void dbq_close(struct dbq *q)
{
    if (!q)
        return;
    if (q->seq != HEAD_SEQ_NONE)
        head_iso_close(q->db->head, q->seq);
    for (size_t i = 0; i < q->nblocks; i++)
        dblock_unref(q->db, q->blocks[i]);
    pthread_mutex_lock(&q->db->mu);
    q->db->nqueriers--;
    pthread_mutex_unlock(&q->db->mu);
    free(q->blocks);
    free(q);
}

/* A series of one source: the head (src == nblocks) or block src. */
struct member {
    uint32_t src;
    uint32_t id;
};

struct entry {
    size_t ls_off, nls;   /* in dbset.pool */
    size_t m_off, nm;     /* in dbset.members */
};

struct xchunk {
    const uint8_t *data;
    size_t len;
    int64_t mint, maxt;
    uint8_t enc;
    bool head; /* samples after dbset.head_cut are not visible */
    const struct tombstone *stones;
    size_t nstones;
};

struct dbset {
    struct dbq *q;
    struct ignis_label *pool;
    size_t npool, pool_cap;
    struct member *members;
    size_t nmembers, members_cap;
    struct entry *entries;
    size_t nentries, next;
    /* the current series */
    struct head_series_view hv;
    struct index_series is;
    struct xchunk *ch;
    size_t nch, ch_cap;
    bool materialized;
    int64_t head_cut; /* the current series' visible head samples end here (isolation) */
    int64_t *mt;
    double *mv;
    size_t mn, mcap, mpos;
    /* streaming state for samples */
    size_t s_chunk;
    bool s_in;
    struct xor_it it;
    const struct xchunk *s_cur;
    /* chunk handout */
    size_t c_chunk;
    struct xor_enc enc;
    bool enc_live;
    size_t c_pos; /* materialized: next sample to encode */
};

static int pool_add(struct dbset *s, const struct ignis_label *ls, size_t n, size_t *off)
{
    if (s->npool + n > s->pool_cap) {
        size_t ncap = s->pool_cap ? s->pool_cap * 2 : 1024;
        while (ncap < s->npool + n)
            ncap *= 2;
        struct ignis_label *np = realloc(s->pool, ncap * sizeof *np);
        if (!np)
            return -1;
        s->pool = np;
        s->pool_cap = ncap;
    }
    *off = s->npool;
    memcpy(s->pool + s->npool, ls, n * sizeof *ls);
    s->npool += n;
    return 0;
}

struct cand {
    size_t ls_off, nls;
    struct member m;
};

static int cmp_cand(const void *a, const void *b, void *arg)
{
    const struct dbset *s = arg;
    const struct cand *x = a, *y = b;
    int c = tsdb_labels_cmp(s->pool + x->ls_off, x->nls, s->pool + y->ls_off, y->nls);
    if (c)
        return c;
    /* Same series: blocks in time order, then the head. */
    return x->m.src < y->m.src ? -1 : x->m.src > y->m.src;
}

/* Orders the candidates by (labels, source). They arrive as one run per source in source
 * order, each sorted by labels as indexes and head_select give them: a stable merge of
 * the runs gives the order in linear passes. A run found out of order falls back to a
 * sort. */
static int order_cands(struct dbset *s, struct cand *c, size_t nc, size_t *runs, size_t nruns)
{
    for (size_t r = 0; r < nruns; r++)
        for (size_t i = runs[r] + 1; i < runs[r + 1]; i++)
            if (tsdb_labels_cmp(s->pool + c[i - 1].ls_off, c[i - 1].nls, s->pool + c[i].ls_off,
                                c[i].nls) > 0) {
                qsort_r(c, nc, sizeof *c, cmp_cand, s);
                return 0;
            }
    if (nruns < 2)
        return 0;
    struct cand *tmp = malloc(nc * sizeof *tmp);
    if (!tmp)
        return IGNIS_E_NOMEM;
    struct cand *src = c, *dst = tmp;
    while (nruns > 1) {
        size_t w = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            size_t lo = runs[r], mid = runs[r + 1], hi = r + 2 <= nruns ? runs[r + 2] : mid;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                dst[o++] = tsdb_labels_cmp(s->pool + src[b].ls_off, src[b].nls,
                                           s->pool + src[a].ls_off, src[a].nls) < 0
                               ? src[b++]
                               : src[a++];
            while (a < mid)
                dst[o++] = src[a++];
            while (b < hi)
                dst[o++] = src[b++];
            runs[w++] = lo;
        }
        runs[w] = nc;
        nruns = w;
        struct cand *t = src;
        src = dst;
        dst = t;
    }
    if (src != c)
        memcpy(c, src, nc * sizeof *c);
    free(tmp);
    return 0;
}

int dbq_select(struct dbq *q, const struct ignis_matcher *ms, size_t n, size_t limit,
               struct dbset **out)
{
    struct dbset *s = calloc(1, sizeof *s);
    if (!s)
        return IGNIS_E_NOMEM;
    s->q = q;
    struct cand *cands = NULL;
    size_t nc = 0, cc = 0;
    int rc = 0;
    char err[256];
    /* where each source's candidates start, and the end */
    size_t *runs = malloc((q->nblocks + 2) * sizeof *runs);
    size_t nruns = 0;
    if (!runs) {
        free(s);
        return IGNIS_E_NOMEM;
    }
    /* Blocks. */
    for (size_t b = 0; b < q->nblocks && rc == 0; b++) {
        const struct block *blk = &q->blocks[b]->b;
        runs[nruns++] = nc;
        struct plist p;
        if (index_select(&blk->ix, ms, n, &p) < 0) {
            rc = IGNIS_E_IO;
            break;
        }
        for (size_t i = 0; i < p.n && rc == 0; i++) {
            if (indexr_series(&blk->ix, p.v[i], &s->is, err, sizeof err) < 0) {
                rc = IGNIS_E_IO;
                break;
            }
            bool in_range = false;
            for (size_t c = 0; c < s->is.nchks && !in_range; c++)
                in_range = s->is.chks[c].maxt >= q->mint && s->is.chks[c].mint <= q->maxt;
            if (!in_range)
                continue;
            if (nc == cc) {
                cc = cc ? cc * 2 : 256;
                struct cand *ncands = realloc(cands, cc * sizeof *ncands);
                if (!ncands) {
                    rc = IGNIS_E_NOMEM;
                    break;
                }
                cands = ncands;
            }
            size_t off;
            if (pool_add(s, s->is.ls, s->is.nls, &off) < 0) {
                rc = IGNIS_E_NOMEM;
                break;
            }
            cands[nc++] = (struct cand){off, s->is.nls, {(uint32_t)b, p.v[i]}};
        }
        plist_free(&p);
    }
    /* The head. */
    if (rc == 0) {
        struct plist p;
        runs[nruns++] = nc;
        rc = head_select(q->db->head, ms, n, q->mint, q->maxt, &p);
        for (size_t i = 0; rc == 0 && i < p.n; i++) {
            /* labels only (no chunks in an empty range), and what the querier may see */
            if (head_series_at(q->db->head, p.v[i], INT64_MAX, INT64_MIN, q->seq, &s->hv) != 0)
                continue;
            if (s->hv.vis_maxt == INT64_MIN || s->hv.vis_maxt < q->mint)
                continue; /* no sample in range committed before the querier opened */
            if (nc == cc) {
                cc = cc ? cc * 2 : 256;
                struct cand *ncands = realloc(cands, cc * sizeof *ncands);
                if (!ncands) {
                    rc = IGNIS_E_NOMEM;
                    break;
                }
                cands = ncands;
            }
            size_t off;
            if (pool_add(s, s->hv.ls, s->hv.nls, &off) < 0) {
                rc = IGNIS_E_NOMEM;
                break;
            }
            cands[nc++] = (struct cand){off, s->hv.nls, {(uint32_t)q->nblocks, p.v[i]}};
        }
        plist_free(&p);
    }
    runs[nruns] = nc;
    if (rc == 0 && nc > 1)
        rc = order_cands(s, cands, nc, runs, nruns);
    free(runs);
    /* Coalesce equal label sets into entries. */
    if (rc == 0) {
        s->members = malloc((nc ? nc : 1) * sizeof *s->members);
        s->entries = malloc((nc ? nc : 1) * sizeof *s->entries);
        if (!s->members || !s->entries)
            rc = IGNIS_E_NOMEM;
    }
    for (size_t i = 0; rc == 0 && i < nc; i++) {
        bool same = s->nentries &&
                    tsdb_labels_cmp(s->pool + s->entries[s->nentries - 1].ls_off,
                                    s->entries[s->nentries - 1].nls, s->pool + cands[i].ls_off,
                                    cands[i].nls) == 0;
        if (!same) {
            if (limit && s->nentries >= limit)
                break;
            s->entries[s->nentries++] = (struct entry){cands[i].ls_off, cands[i].nls,
                                                       s->nmembers, 0};
        }
        s->members[s->nmembers++] = cands[i].m;
        s->entries[s->nentries - 1].nm++;
    }
    free(cands);
    if (rc) {
        dbset_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int cmp_xchunk(const void *a, const void *b)
{
    const struct xchunk *x = a, *y = b;
    return x->mint < y->mint ? -1 : x->mint > y->mint;
}

static bool stoned(const struct xchunk *c, int64_t t)
{
    for (size_t i = 0; i < c->nstones; i++)
        if (c->stones[i].mint <= t && t <= c->stones[i].maxt)
            return true;
    return false;
}

static int push_chunk(struct dbset *s, struct xchunk c)
{
    if (s->nch == s->ch_cap) {
        size_t ncap = s->ch_cap ? s->ch_cap * 2 : 16;
        struct xchunk *nc = realloc(s->ch, ncap * sizeof *nc);
        if (!nc)
            return -1;
        s->ch = nc;
        s->ch_cap = ncap;
    }
    s->ch[s->nch++] = c;
    return 0;
}

struct tv {
    int64_t t;
    double v;
};

static int cmp_tv(const void *a, const void *b)
{
    const struct tv *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* Decodes every chunk of the current series within the querier's range, drops tombstoned
 * samples, sorts by time and keeps one sample per timestamp (the earliest source's). */
static int materialize(struct dbset *s)
{
    struct tv *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t c = 0; c < s->nch; c++) {
        const struct xchunk *x = &s->ch[c];
        if (x->enc != TSDB_ENC_XOR)
            continue;
        struct xor_it it;
        if (xor_it_init(&it, x->data, x->len) < 0) {
            free(v);
            return IGNIS_E_IO;
        }
        int64_t t;
        double val;
        int k;
        while ((k = xor_it_next(&it, &t, &val)) == 1) {
            if (t < s->q->mint || t > s->q->maxt || stoned(x, t) ||
                (x->head && t > s->head_cut))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                struct tv *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return IGNIS_E_NOMEM;
                }
                v = nv;
            }
            v[n++] = (struct tv){t, val};
        }
        if (k < 0) {
            free(v);
            return IGNIS_E_IO;
        }
    }
    /* A stable sort keeps the earlier chunk's sample first among equal times. */
    for (size_t width = 1; width < n; width *= 2) {
        struct tv *tmp = malloc(n * sizeof *tmp);
        if (!tmp) {
            free(v);
            return IGNIS_E_NOMEM;
        }
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                tmp[o++] = cmp_tv(&v[b], &v[a]) < 0 ? v[b++] : v[a++];
            while (a < mid)
                tmp[o++] = v[a++];
            while (b < hi)
                tmp[o++] = v[b++];
        }
        free(v);
        v = tmp;
    }
    if (n > s->mcap) {
        int64_t *nt = realloc(s->mt, n * sizeof *nt);
        if (nt)
            s->mt = nt;
        double *nv = nt ? realloc(s->mv, n * sizeof *nv) : NULL;
        if (nv)
            s->mv = nv;
        if (!nt || !nv) {
            free(v);
            return IGNIS_E_NOMEM;
        }
        s->mcap = n;
    }
    s->mn = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->mn && s->mt[s->mn - 1] == v[i].t)
            continue;
        s->mt[s->mn] = v[i].t;
        s->mv[s->mn] = v[i].v;
        s->mn++;
    }
    free(v);
    s->materialized = true;
    return 0;
}

int dbset_next(struct dbset *s, const struct ignis_label **ls, size_t *nls, uint64_t *ref)
{
    struct dbq *q = s->q;
    char err[256];
    while (s->next < s->nentries) {
        const struct entry *e = &s->entries[s->next++];
        s->nch = 0;
        s->materialized = false;
        s->mpos = 0;
        s->s_chunk = 0;
        s->s_in = false;
        s->c_chunk = 0;
        s->c_pos = 0;
        if (s->enc_live) {
            xor_enc_free(&s->enc);
            s->enc_live = false;
        }
        bool complex = false;
        uint64_t head_ref = 0;
        s->head_cut = INT64_MAX;
        for (size_t m = 0; m < e->nm; m++) {
            const struct member *mb = &s->members[e->m_off + m];
            if (mb->src == q->nblocks) {
                head_ref = mb->id;
                if (head_series_at(q->db->head, mb->id, q->mint, q->maxt, q->seq, &s->hv) != 0)
                    continue;
                if (s->hv.nstones)
                    complex = true;
                s->head_cut = s->hv.vis_maxt;
                for (size_t c = 0; c < s->hv.nchks; c++) {
                    const struct head_chunk_view *h = &s->hv.chks[c];
                    /* a chunk with samples committed after the querier opened */
                    if (h->maxt > s->head_cut)
                        complex = true;
                    if (push_chunk(s, (struct xchunk){h->data, h->len, h->mint, h->maxt,
                                                      h->encoding, true, s->hv.stones,
                                                      s->hv.nstones}) < 0)
                        return IGNIS_E_NOMEM;
                }
                continue;
            }
            const struct block *b = &q->blocks[mb->src]->b;
            if (indexr_series(&b->ix, mb->id, &s->is, err, sizeof err) < 0)
                return IGNIS_E_IO;
            size_t nst;
            const struct tombstone *st = tombstones_of(&b->stones, mb->id, &nst);
            if (nst)
                complex = true;
            for (size_t c = 0; c < s->is.nchks; c++) {
                const struct chunk_meta *cm = &s->is.chks[c];
                if (cm->maxt < q->mint || cm->mint > q->maxt)
                    continue;
                struct xchunk x = {.mint = cm->mint, .maxt = cm->maxt, .stones = st,
                                   .nstones = nst};
                if (chunkr_get(&b->cr, cm->ref, &x.enc, &x.data, &x.len, err, sizeof err) < 0)
                    return IGNIS_E_IO;
                if (push_chunk(s, x) < 0)
                    return IGNIS_E_NOMEM;
            }
        }
        if (s->nch == 0 && s->head_cut != INT64_MAX)
            continue; /* all of it committed after the querier opened */
        if (s->nch > 1)
            qsort(s->ch, s->nch, sizeof *s->ch, cmp_xchunk);
        for (size_t c = 1; c < s->nch && !complex; c++)
            complex = s->ch[c].mint <= s->ch[c - 1].maxt;
        if (complex) {
            int rc = materialize(s);
            if (rc)
                return rc;
            if (s->mn == 0)
                continue; /* everything in range was deleted */
        }
        *ls = s->pool + e->ls_off;
        *nls = e->nls;
        *ref = head_ref;
        return 1;
    }
    return 0;
}

long dbset_samples(struct dbset *s, int64_t mint, int64_t maxt, int64_t *t, double *v,
                   size_t cap)
{
    size_t n = 0;
    if (s->materialized) {
        while (n < cap && s->mpos < s->mn) {
            size_t i = s->mpos++;
            if (s->mt[i] < mint)
                continue;
            if (s->mt[i] > maxt) {
                s->mpos = s->mn;
                break;
            }
            t[n] = s->mt[i];
            v[n] = s->mv[i];
            n++;
        }
        return (long)n;
    }
    while (n < cap) {
        if (!s->s_in) {
            while (s->s_chunk < s->nch &&
                   (s->ch[s->s_chunk].maxt < mint || s->ch[s->s_chunk].mint > maxt ||
                    s->ch[s->s_chunk].enc != TSDB_ENC_XOR))
                s->s_chunk++;
            if (s->s_chunk >= s->nch)
                break;
            s->s_cur = &s->ch[s->s_chunk++];
            if (xor_it_init(&s->it, s->s_cur->data, s->s_cur->len) < 0)
                return IGNIS_E_IO;
            s->s_in = true;
        }
        int64_t tt;
        double vv;
        int k = xor_it_next(&s->it, &tt, &vv);
        if (k < 0)
            return IGNIS_E_IO;
        if (k == 0) {
            s->s_in = false;
            continue;
        }
        if (tt < mint)
            continue;
        if (tt > maxt) {
            s->s_in = false;
            s->s_chunk = s->nch;
            break;
        }
        t[n] = tt;
        v[n] = vv;
        n++;
    }
    return (long)n;
}

int dbset_chunk(struct dbset *s, int64_t mint, int64_t maxt, uint8_t *enc, const uint8_t **data,
                size_t *len, int64_t *cmint, int64_t *cmaxt)
{
    if (!s->materialized) {
        while (s->c_chunk < s->nch) {
            const struct xchunk *c = &s->ch[s->c_chunk++];
            if (c->maxt < mint || c->mint > maxt)
                continue;
            *enc = c->enc;
            *data = c->data;
            *len = c->len;
            *cmint = c->mint;
            *cmaxt = c->maxt;
            return 1;
        }
        return 0;
    }
    /* Re-encode the merged samples, TSDB_CHUNK_SAMPLES per chunk. */
    while (s->c_pos < s->mn && s->mt[s->c_pos] < mint)
        s->c_pos++;
    if (s->c_pos >= s->mn || s->mt[s->c_pos] > maxt)
        return 0;
    if (s->enc_live)
        xor_enc_free(&s->enc);
    s->enc_live = false;
    if (xor_enc_init(&s->enc, 256, 0) < 0)
        return IGNIS_E_NOMEM;
    s->enc_live = true;
    *cmint = s->mt[s->c_pos];
    size_t k = 0;
    while (s->c_pos < s->mn && s->mt[s->c_pos] <= maxt && k < TSDB_CHUNK_SAMPLES) {
        if (xor_enc_append(&s->enc, s->mt[s->c_pos], s->mv[s->c_pos]) < 0)
            return IGNIS_E_NOMEM;
        *cmaxt = s->mt[s->c_pos];
        s->c_pos++;
        k++;
    }
    *enc = TSDB_ENC_XOR;
    *data = xor_enc_bytes(&s->enc, len);
    return 1;
}

void dbset_close(struct dbset *s)
{
    if (!s)
        return;
    free(s->pool);
    free(s->members);
    free(s->entries);
    head_series_view_free(&s->hv);
    index_series_free(&s->is);
    free(s->ch);
    free(s->mt);
    free(s->mv);
    if (s->enc_live)
        xor_enc_free(&s->enc);
    free(s);
}

/* ---- label names and values ---------------------------------------------------------------- */

struct strlist {
    struct tsdb_str *v;
    size_t n, cap;
};

static void strlist_add(void *arg, const char *p, size_t len)
{
    struct strlist *l = arg;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct tsdb_str *nv = realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = (struct tsdb_str){p, len};
}

static int cmp_tstr(const void *a, const void *b)
{
    const struct tsdb_str *x = a, *y = b;
    return tsdb_str_cmp(x->p, x->len, y->p, y->len);
}

static void strlist_emit(struct strlist *l, size_t limit,
                         void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_tstr);
    size_t k = 0;
    for (size_t i = 0; i < l->n && (!limit || k < limit); i++) {
        if (i && cmp_tstr(&l->v[i - 1], &l->v[i]) == 0)
            continue;
        fn(arg, l->v[i].p, l->v[i].len);
        k++;
    }
    free(l->v);
}

/* Collects from the selected series' labels: names (name == NULL) or values of name. */
static int collect_from_series(struct dbq *q, const struct ignis_matcher *ms, size_t n,
                               const char *name, size_t nlen, struct strlist *l)
{
    struct dbset *s;
    int rc = dbq_select(q, ms, n, 0, &s);
    if (rc)
        return rc;
    for (size_t e = 0; e < s->nentries; e++) {
        const struct ignis_label *ls = s->pool + s->entries[e].ls_off;
        for (size_t i = 0; i < s->entries[e].nls; i++) {
            if (!name)
                strlist_add(l, ls[i].name, ls[i].name_len);
            else if (!tsdb_str_cmp(ls[i].name, ls[i].name_len, name, nlen))
                strlist_add(l, ls[i].value, ls[i].value_len);
        }
    }
    /* The strings point into block mappings and the head's symbols, which outlive the set:
     * the querier pins the blocks. */
    dbset_close(s);
    return 0;
}

int dbq_label_names(struct dbq *q, const struct ignis_matcher *ms, size_t n, size_t limit,
                    void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    struct strlist l = {0};
    int rc = 0;
    if (n) {
        rc = collect_from_series(q, ms, n, NULL, 0, &l);
    } else {
        for (size_t b = 0; b < q->nblocks; b++) {
            const struct indexr *ix = &q->blocks[b]->b.ix;
            for (size_t e = 0; e < ix->npe; e++)
                if (ix->pe[e].name.len &&
                    (e == 0 || tsdb_str_cmp(ix->pe[e - 1].name.p, ix->pe[e - 1].name.len,
                                            ix->pe[e].name.p, ix->pe[e].name.len)))
                    strlist_add(&l, ix->pe[e].name.p, ix->pe[e].name.len);
        }
        rc = head_label_names(q->db->head, NULL, 0, strlist_add, &l);
    }
    if (rc) {
        free(l.v);
        return rc;
    }
    strlist_emit(&l, limit, fn, arg);
    return 0;
}

int dbq_label_values(struct dbq *q, const char *name, size_t nlen,
                     const struct ignis_matcher *ms, size_t n, size_t limit,
                     void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    struct strlist l = {0};
    int rc = 0;
    if (n) {
        rc = collect_from_series(q, ms, n, name, nlen, &l);
    } else {
        for (size_t b = 0; b < q->nblocks; b++) {
            const struct indexr *ix = &q->blocks[b]->b.ix;
            size_t lo, hi;
            indexr_name_range(ix, name, nlen, &lo, &hi);
            for (size_t e = lo; e < hi; e++)
                strlist_add(&l, ix->pe[e].value.p, ix->pe[e].value.len);
        }
        rc = head_label_values(q->db->head, name, nlen, NULL, 0, strlist_add, &l);
    }
    if (rc) {
        free(l.v);
        return rc;
    }
    strlist_emit(&l, limit, fn, arg);
    return 0;
}
