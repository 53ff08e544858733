/* plugins/storage/tsdb/admin.c — the administrative operations on a data directory:
 * deleting series (tombstones in the head's WAL and in blocks' tombstones files), cleaning
 * tombstones (blocks rewritten without the deleted samples) and snapshots (blocks
 * hard-linked, the head written as a block). Serialised by db.admin_mu. */
#define _GNU_SOURCE
#include "db.h"
#include "chunkenc.h"
#include "enc.h"
#include "fileutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ignis/plugin.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The listed blocks, each with a reference the caller drops with dblock_unref. */
static struct dblock **pin_blocks(struct db *db, size_t *n)
{
    pthread_mutex_lock(&db->mu);
    struct dblock **v = malloc((db->nblocks ? db->nblocks : 1) * sizeof *v);
    *n = 0;
    if (v)
        for (size_t i = 0; i < db->nblocks; i++) {
            db->blocks[i]->refs++;
            v[(*n)++] = db->blocks[i];
        }
    pthread_mutex_unlock(&db->mu);
    return v;
}

/* Replaces old in the list by a fresh open of dir (when old is still listed); remove: the
 * old directory goes with its last reference. */
static int relist(struct db *db, struct dblock *old, const char *dir, bool remove, char *err,
                  size_t errlen)
{
    struct dblock *nb = calloc(1, sizeof *nb);
    if (!nb)
        return tsdb_errf(err, errlen, -1, "out of memory");
    if (block_open(&nb->b, dir, err, errlen) < 0) {
        free(nb);
        return -1;
    }
    nb->refs = 1;
    bool done = false;
    pthread_mutex_lock(&db->mu);
    for (size_t i = 0; i < db->nblocks; i++)
        if (db->blocks[i] == old) {
            db->blocks[i] = nb;
            old->removed = remove;
            done = true;
            break;
        }
    pthread_mutex_unlock(&db->mu);
    if (done)
        dblock_unref(db, old); /* the list's reference */
    else {
        block_close(&nb->b);
        free(nb);
    }
    return 0;
}

int db_delete(struct db *db, const struct ignis_matcher *ms, size_t n, int64_t mint,
              int64_t maxt, char *err, size_t errlen)
{
    if (mint > maxt)
        return 0;
    pthread_mutex_lock(&db->admin_mu);
    int rc = 0;
    struct plist refs;
    if (head_select(db->head, ms, n, INT64_MIN, INT64_MAX, &refs) != 0) {
        pthread_mutex_unlock(&db->admin_mu);
        return IGNIS_E_NOMEM;
    }
    uint64_t *r64 = malloc((refs.n ? refs.n : 1) * sizeof *r64);
    if (!r64)
        rc = IGNIS_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < refs.n; i++)
        r64[i] = refs.v[i];
    if (rc == 0 && head_delete(db->head, r64, refs.n, mint, maxt, err, errlen) < 0)
        rc = IGNIS_E_IO;
    free(r64);
    plist_free(&refs);

    size_t nb;
    struct dblock **bs = pin_blocks(db, &nb);
    if (!bs)
        rc = rc ? rc : IGNIS_E_NOMEM;
    for (size_t i = 0; bs && i < nb; i++) {
        struct dblock *b = bs[i];
        if (rc == 0 && b->b.meta.max_time > mint && b->b.meta.min_time <= maxt) {
            struct plist ids;
            if (index_select(&b->b.ix, ms, n, &ids) < 0) {
                rc = tsdb_errf(err, errlen, IGNIS_E_IO, "block %s: corrupt index",
                               b->b.meta.ulid.s);
            } else if (ids.n) {
                /* The block's tombstones plus the new ones, clipped to its range. */
                struct tombstones t = {0};
                int64_t a = mint > b->b.meta.min_time ? mint : b->b.meta.min_time;
                int64_t z = maxt < b->b.meta.max_time - 1 ? maxt : b->b.meta.max_time - 1;
                for (size_t k = 0; k < b->b.stones.n && rc == 0; k++)
                    if (tombstones_add(&t, b->b.stones.v[k].ref, b->b.stones.v[k].mint,
                                       b->b.stones.v[k].maxt) < 0)
                        rc = IGNIS_E_NOMEM;
                for (size_t k = 0; k < ids.n && rc == 0; k++)
                    if (tombstones_add(&t, ids.v[k], a, z) < 0)
                        rc = IGNIS_E_NOMEM;
                tombstones_normalize(&t);
                if (rc == 0 && tombstones_write(b->b.dir, &t, err, errlen) < 0)
                    rc = IGNIS_E_IO;
                tombstones_free(&t);
                if (rc == 0 && relist(db, b, b->b.dir, false, err, errlen) < 0)
                    rc = IGNIS_E_IO;
            }
            plist_free(&ids);
        }
        dblock_unref(db, b);
    }
    free(bs);
    pthread_mutex_unlock(&db->admin_mu);
    return rc;
}

struct tv {
    int64_t t;
    double v;
};

/* Rewrites block b without its deleted samples; returns the new block's directory in
 * newdir. */
static int rewrite_block(struct db *db, const struct block *b, char *newdir, size_t ndlen,
                         char *err, size_t errlen)
{
    const uint8_t *ids;
    uint32_t n;
    if (indexr_postings(&b->ix, "", 0, "", 0, &ids, &n) < 0)
        return tsdb_errf(err, errlen, -1, "block %s: corrupt index", b->meta.ulid.s);
    struct index_series s = {0};
    struct symset sy = {0};
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (indexr_series(&b->ix, be32_get(ids + 4 * i), &s, err, errlen) < 0)
            rc = -1;
        /* Strings point into the old block's mapping, which stays open meanwhile. */
        else if (symset_add_labels(&sy, s.ls, s.nls) < 0)
            rc = tsdb_errf(err, errlen, -1, "out of memory");
    }
    symset_finish(&sy);
    struct block_writer w;
    bool open = false;
    if (rc == 0 && (rc = blockw_open(&w, db->dir, b->meta.min_time, b->meta.max_time, err,
                                     errlen)) == 0)
        open = true;
    if (rc == 0)
        rc = blockw_symbols(&w, sy.v, sy.n, err, errlen);
    struct raw_chunk *rcs = NULL;
    int64_t *tt = NULL;
    double *vv = NULL;
    size_t tcap = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t id = be32_get(ids + 4 * i);
        if (indexr_series(&b->ix, id, &s, err, errlen) < 0) {
            rc = -1;
            break;
        }
        size_t nst;
        const struct tombstone *st = tombstones_of(&b->stones, id, &nst);
        if (!nst) {
            struct raw_chunk *nr = realloc(rcs, (s.nchks ? s.nchks : 1) * sizeof *nr);
            if (!nr) {
                rc = tsdb_errf(err, errlen, -1, "out of memory");
                break;
            }
            rcs = nr;
            for (size_t c = 0; c < s.nchks && rc == 0; c++) {
                struct raw_chunk *r = &rcs[c];
                if (chunkr_get(&b->cr, s.chks[c].ref, &r->encoding, &r->data, &r->len, err,
                               errlen) < 0)
                    rc = -1;
                r->mint = s.chks[c].mint;
                r->maxt = s.chks[c].maxt;
                r->nsamples = r->encoding == TSDB_ENC_XOR ? xor_num_samples(r->data, r->len) : 0;
            }
            if (rc == 0)
                rc = blockw_add_chunks(&w, s.ls, s.nls, rcs, s.nchks, err, errlen);
            continue;
        }
        /* Decode what is left and let the writer cut new chunks. */
        size_t m = 0;
        for (size_t c = 0; c < s.nchks && rc == 0; c++) {
            uint8_t enc;
            const uint8_t *d;
            size_t len;
            if (chunkr_get(&b->cr, s.chks[c].ref, &enc, &d, &len, err, errlen) < 0) {
                rc = -1;
                break;
            }
            if (enc != TSDB_ENC_XOR)
                continue; /* histogram chunks: not kept yet */
            struct xor_it it;
            xor_it_init(&it, d, len);
            int64_t t;
            double v;
            int k;
            while ((k = xor_it_next(&it, &t, &v)) == 1) {
                bool del = false;
                for (size_t q = 0; q < nst && !del; q++)
                    del = st[q].mint <= t && t <= st[q].maxt;
                if (del)
                    continue;
                if (m == tcap) {
                    tcap = tcap ? tcap * 2 : 1024;
                    int64_t *nt = realloc(tt, tcap * sizeof *nt);
                    if (nt)
                        tt = nt;
                    double *nv = nt ? realloc(vv, tcap * sizeof *nv) : NULL;
                    if (nv)
                        vv = nv;
                    if (!nt || !nv) {
                        rc = tsdb_errf(err, errlen, -1, "out of memory");
                        break;
                    }
                }
                tt[m] = t;
                vv[m] = v;
                m++;
            }
            if (k < 0 && rc == 0)
                rc = tsdb_errf(err, errlen, -1, "block %s: corrupt chunk", b->meta.ulid.s);
        }
        if (rc == 0 && m)
            rc = blockw_add_samples(&w, s.ls, s.nls, tt, vv, m, err, errlen);
    }
    struct ulid u;
    if (open) {
        if (rc == 0)
            rc = blockw_finish(&w, &u, err, errlen);
        else
            blockw_abort(&w);
    }
    if (rc == 0)
        snprintf(newdir, ndlen, "%s/%s", db->dir, u.s);
    free(rcs);
    free(tt);
    free(vv);
    symset_free(&sy);
    index_series_free(&s);
    return rc;
}

int db_clean_tombstones(struct db *db, char *err, size_t errlen)
{
    pthread_mutex_lock(&db->admin_mu);
    size_t nb;
    struct dblock **bs = pin_blocks(db, &nb);
    int rc = bs ? 0 : IGNIS_E_NOMEM;
    for (size_t i = 0; bs && i < nb; i++) {
        struct dblock *b = bs[i];
        if (rc == 0 && b->b.stones.n) {
            char newdir[4096];
            if (rewrite_block(db, &b->b, newdir, sizeof newdir, err, errlen) < 0 ||
                relist(db, b, newdir, true, err, errlen) < 0)
                rc = IGNIS_E_IO;
        }
        dblock_unref(db, b);
    }
    free(bs);
    pthread_mutex_unlock(&db->admin_mu);
    return rc;
}

/* Links (or copies) src to dst. */
static int link_or_copy(const char *src, const char *dst)
{
    if (link(src, dst) == 0)
        return 0;
    struct mmap_file m;
    if (mmap_open(&m, src, NULL, 0) < 0)
        return -1;
    int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 || (m.size && write_full(fd, m.p, m.size) < 0) ? -1 : 0;
    if (fd >= 0 && (fsync(fd) < 0 || close(fd) < 0))
        rc = -1;
    mmap_close(&m);
    return rc;
}

/* Links every regular file of src/ (and of its chunks/) into dst/. */
static int link_tree(const char *src, const char *dst)
{
    if (mkdir(dst, 0755) < 0 && errno != EEXIST)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) && rc == 0) {
        if (de->d_name[0] == '.')
            continue;
        char s[4096], t[4096];
        snprintf(s, sizeof s, "%s/%s", src, de->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, de->d_name);
        struct stat st;
        if (stat(s, &st) < 0)
            rc = -1;
        else if (S_ISDIR(st.st_mode))
            rc = link_tree(s, t);
        else
            rc = link_or_copy(s, t);
    }
    closedir(d);
    return rc;
}

int db_snapshot(struct db *db, const char *dir, bool skip_head, char *name, size_t namelen,
                char *err, size_t errlen)
{
    /* Prometheus' snapshot names: 20060102T150405Z-<16 hex digits>. */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    uint8_t rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return tsdb_errf(err, errlen, IGNIS_E_IO, "no randomness: %s", strerror(errno));
    char nm[64];
    size_t k = strftime(nm, sizeof nm, "%Y%m%dT%H%M%SZ-", &tm);
    for (int i = 0; i < 8; i++)
        k += (size_t)snprintf(nm + k, sizeof nm - k, "%02x", rnd[i]);
    char out[4096];
    snprintf(out, sizeof out, "%s/%s", dir, nm);
    if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || mkdir(out, 0755) < 0)
        return tsdb_errf(err, errlen, IGNIS_E_IO, "mkdir %s: %s", out, strerror(errno));
    pthread_mutex_lock(&db->admin_mu);
    size_t nb;
    struct dblock **bs = pin_blocks(db, &nb);
    int rc = bs ? 0 : IGNIS_E_NOMEM;
    for (size_t i = 0; bs && i < nb; i++) {
        if (rc == 0) {
            char t[4200];
            snprintf(t, sizeof t, "%s/%s", out, bs[i]->b.meta.ulid.s);
            if (link_tree(bs[i]->b.dir, t) < 0)
                rc = tsdb_errf(err, errlen, IGNIS_E_IO, "snapshot of block %s: %s",
                               bs[i]->b.meta.ulid.s, strerror(errno));
        }
        dblock_unref(db, bs[i]);
    }
    free(bs);
    if (rc == 0 && !skip_head) {
        int64_t a = head_min_time(db->head), z = head_max_time(db->head);
        bool written;
        if (a != INT64_MAX && z != INT64_MIN &&
            db_persist_head_to(db, out, false, a, z + 1, &written, NULL, err, errlen) < 0)
            rc = IGNIS_E_IO;
    }
    pthread_mutex_unlock(&db->admin_mu);
    if (rc)
        rm_rf(out);
    else
        snprintf(name, namelen, "%s", nm);
    return rc;
}
