/* plugins/storage/tsdb/compact.c — background work on a data directory: the head's oldest
 * chunk range written as a block (chunks copied as they are), the head truncated behind it
 * (WAL checkpointed, old head chunk files deleted when no querier holds them), and time
 * and size retention applied to the blocks. Merging blocks into larger ranges is not done
 * yet. */
#define _GNU_SOURCE
#include "db.h"
#include "chunkenc.h"
#include "enc.h"
#include "fileutil.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp_dblock_time(const void *a, const void *b)
{
    const struct dblock *x = *(struct dblock *const *)a, *y = *(struct dblock *const *)b;
    if (x->b.meta.min_time != y->b.meta.min_time)
        return x->b.meta.min_time < y->b.meta.min_time ? -1 : 1;
    return strcmp(x->b.meta.ulid.s, y->b.meta.ulid.s);
}

int db_list_block(struct db *db, const char *ulid, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", db->dir, ulid);
    struct dblock *b = calloc(1, sizeof *b);
    if (!b)
        return tsdb_errf(err, errlen, -1, "out of memory");
    if (block_open(&b->b, path, err, errlen) < 0) {
        free(b);
        return -1;
    }
    b->refs = 1;
    pthread_mutex_lock(&db->mu);
    struct dblock **nb = realloc(db->blocks, (db->nblocks + 1) * sizeof *nb);
    if (nb) {
        db->blocks = nb;
        db->blocks[db->nblocks++] = b;
        qsort(db->blocks, db->nblocks, sizeof *db->blocks, cmp_dblock_time);
    }
    pthread_mutex_unlock(&db->mu);
    if (!nb) {
        block_close(&b->b);
        free(b);
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    return 0;
}

int64_t db_blocks_maxt(struct db *db)
{
    int64_t m = INT64_MIN;
    pthread_mutex_lock(&db->mu);
    for (size_t i = 0; i < db->nblocks; i++)
        if (db->blocks[i]->b.meta.max_time > m)
            m = db->blocks[i]->b.meta.max_time;
    pthread_mutex_unlock(&db->mu);
    return m;
}

static bool deleted(const struct tombstone *st, size_t n, int64_t t)
{
    for (size_t i = 0; i < n; i++)
        if (st[i].mint <= t && t <= st[i].maxt)
            return true;
    return false;
}

/* Re-encodes the samples of a chunk that fall in [a, b) and are not deleted (a chunk that
 * straddles the range, as one replayed from another writer may, or one with tombstones). */
static int clip_chunk(const struct head_chunk_view *c, int64_t a, int64_t b,
                      const struct tombstone *st, size_t nst, struct xor_enc *enc, bool *have)
{
    struct xor_it it;
    if (xor_it_init(&it, c->data, c->len) < 0)
        return -1;
    int64_t t;
    double v;
    int k;
    *have = false;
    if (xor_enc_init(enc, 256, 0) < 0)
        return -1;
    while ((k = xor_it_next(&it, &t, &v)) == 1)
        if (t >= a && t < b && !deleted(st, nst, t)) {
            if (xor_enc_append(enc, t, v) < 0)
                return -1;
            *have = true;
        }
    return k < 0 ? -1 : 0;
}

int db_persist_head(struct db *db, int64_t a, int64_t b, bool *written, char *err,
                    size_t errlen)
{
    return db_persist_head_to(db, db->dir, true, a, b, written, NULL, err, errlen);
}

int db_persist_head_to(struct db *db, const char *parent, bool list, int64_t a, int64_t b,
                       bool *written, struct ulid *out, char *err, size_t errlen)
{
    *written = false;
    struct plist refs;
    if (head_select(db->head, NULL, 0, a, b - 1, &refs) != 0)
        return tsdb_errf(err, errlen, -1, "out of memory");
    if (refs.n == 0) {
        plist_free(&refs);
        return 0;
    }
    struct head_series_view v = {0};
    struct symset sy = {0};
    int rc = 0;
    for (size_t i = 0; i < refs.n && rc == 0; i++) {
        if (head_series(db->head, refs.v[i], INT64_MAX, INT64_MIN, &v) != 0)
            continue;
        /* Label strings live in the head's symbol table, which only grows. */
        if (symset_add_labels(&sy, v.ls, v.nls) < 0)
            rc = tsdb_errf(err, errlen, -1, "out of memory");
    }
    symset_finish(&sy);
    struct block_writer w;
    if (rc == 0)
        rc = blockw_open(&w, parent, a, b, err, errlen);
    bool open = rc == 0;
    if (rc == 0)
        rc = blockw_symbols(&w, sy.v, sy.n, err, errlen);
    struct raw_chunk *rc_arr = NULL;
    size_t rc_cap = 0;
    struct xor_enc *encs = NULL;
    size_t encs_cap = 0;
    for (size_t i = 0; i < refs.n && rc == 0; i++) {
        if (head_series(db->head, refs.v[i], a, b - 1, &v) != 0 || v.nchks == 0)
            continue;
        if (v.nchks > rc_cap) {
            struct raw_chunk *n1 = realloc(rc_arr, v.nchks * sizeof *n1);
            struct xor_enc *n2 = n1 ? realloc(encs, v.nchks * sizeof *n2) : NULL;
            if (n1)
                rc_arr = n1;
            if (n2)
                encs = n2;
            if (!n1 || !n2) {
                rc = tsdb_errf(err, errlen, -1, "out of memory");
                break;
            }
            rc_cap = encs_cap = v.nchks;
        }
        size_t nc = 0, nencs = 0;
        for (size_t c = 0; c < v.nchks && rc == 0; c++) {
            const struct head_chunk_view *hc = &v.chks[c];
            if (hc->encoding != TSDB_ENC_XOR)
                continue;
            if (hc->mint >= a && hc->maxt < b && !v.nstones) {
                rc_arr[nc++] = (struct raw_chunk){hc->encoding, hc->data, hc->len, hc->mint,
                                                  hc->maxt, xor_num_samples(hc->data, hc->len)};
                continue;
            }
            bool have;
            struct xor_enc *e = &encs[nencs++];
            if (clip_chunk(hc, a, b, v.stones, v.nstones, e, &have) < 0) {
                rc = tsdb_errf(err, errlen, -1, "corrupt head chunk");
                break;
            }
            if (!have)
                continue;
            size_t len;
            const uint8_t *d = xor_enc_bytes(e, &len);
            int64_t mn, mx;
            xor_chunk_bounds(d, len, &mn, &mx);
            rc_arr[nc++] = (struct raw_chunk){TSDB_ENC_XOR, d, len, mn, mx,
                                              xor_num_samples(d, len)};
        }
        if (rc == 0 && nc)
            rc = blockw_add_chunks(&w, v.ls, v.nls, rc_arr, nc, err, errlen);
        for (size_t k = 0; k < nencs; k++)
            xor_enc_free(&encs[k]);
    }
    (void)encs_cap;
    struct ulid u;
    if (open) {
        if (rc == 0)
            rc = blockw_finish(&w, &u, err, errlen);
        else
            blockw_abort(&w);
    }
    if (rc == 0 && list)
        rc = db_list_block(db, u.s, err, errlen);
    if (rc == 0) {
        *written = true;
        if (out)
            *out = u;
    }
    free(rc_arr);
    free(encs);
    symset_free(&sy);
    head_series_view_free(&v);
    plist_free(&refs);
    return rc;
}

static uint64_t dir_bytes(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (uint64_t)st.st_size;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        n += dir_bytes(sub);
    }
    closedir(d);
    return n;
}

uint64_t db_bytes(struct db *db)
{
    uint64_t n = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/wal", db->dir);
    n += dir_bytes(path);
    snprintf(path, sizeof path, "%s/chunks_head", db->dir);
    n += dir_bytes(path);
    pthread_mutex_lock(&db->mu);
    for (size_t i = 0; i < db->nblocks; i++)
        n += dir_bytes(db->blocks[i]->b.dir);
    pthread_mutex_unlock(&db->mu);
    return n;
}

/* Unlists block i (mu held); its directory goes when the last querier lets go. */
static struct dblock *unlist(struct db *db, size_t i)
{
    struct dblock *b = db->blocks[i];
    memmove(db->blocks + i, db->blocks + i + 1, (db->nblocks - i - 1) * sizeof *db->blocks);
    db->nblocks--;
    b->removed = true;
    return b;
}

static int retention(struct db *db, int64_t retention_ms, uint64_t max_bytes,
                     struct db_compact_stats *st)
{
    /* By time: blocks whose end is more than retention_ms before the newest block's end. */
    if (retention_ms > 0) {
        for (;;) {
            struct dblock *victim = NULL;
            pthread_mutex_lock(&db->mu);
            int64_t newest = INT64_MIN;
            for (size_t i = 0; i < db->nblocks; i++)
                if (db->blocks[i]->b.meta.max_time > newest)
                    newest = db->blocks[i]->b.meta.max_time;
            for (size_t i = 0; i < db->nblocks; i++)
                if (newest - db->blocks[i]->b.meta.max_time > retention_ms) {
                    victim = unlist(db, i);
                    break;
                }
            pthread_mutex_unlock(&db->mu);
            if (!victim)
                break;
            db_logf(db, 0, "deleting block %s: beyond time retention", victim->b.meta.ulid.s);
            dblock_unref(db, victim);
            st->blocks_deleted++;
        }
    }
    /* By size: the oldest blocks go until everything fits. */
    while (max_bytes > 0 && db_bytes(db) > max_bytes) {
        pthread_mutex_lock(&db->mu);
        struct dblock *victim = db->nblocks ? unlist(db, 0) : NULL;
        pthread_mutex_unlock(&db->mu);
        if (!victim)
            break;
        db_logf(db, 0, "deleting block %s: beyond size retention", victim->b.meta.ulid.s);
        dblock_unref(db, victim);
        st->blocks_deleted++;
    }
    return 0;
}

/* Floors t to a multiple of range. */
static int64_t align_down(int64_t t, int64_t range)
{
    int64_t q = t / range;
    if (t % range < 0)
        q--;
    return q * range;
}

static int compact_locked(struct db *db, int64_t retention_ms, uint64_t max_bytes,
                          struct db_compact_stats *st, char *err, size_t errlen);

int db_compact(struct db *db, int64_t retention_ms, uint64_t max_bytes,
               struct db_compact_stats *st, char *err, size_t errlen)
{
    struct db_compact_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&db->admin_mu);
    int rc = compact_locked(db, retention_ms, max_bytes, st, err, errlen);
    pthread_mutex_unlock(&db->admin_mu);
    return rc;
}

static int compact_locked(struct db *db, int64_t retention_ms, uint64_t max_bytes,
                          struct db_compact_stats *st, char *err, size_t errlen)
{
    int64_t range = head_chunk_range(db->head);
    for (;;) {
        int64_t mint = head_min_time(db->head), maxt = head_max_time(db->head);
        if (mint == INT64_MAX || maxt == INT64_MIN)
            break;
        /* As Prometheus: persist once the head spans more than 1.5 ranges. */
        if (maxt - mint <= range / 2 * 3)
            break;
        int64_t a = align_down(mint, range), b = a + range;
        bool written;
        if (db_persist_head(db, a, b, &written, err, errlen) < 0)
            return -1;
        if (written) {
            st->blocks_written++;
            db_logf(db, 0, "persisted the head's [%" PRId64 ", %" PRId64 ") as a block", a, b);
        }
        struct head_truncate_stats ts;
        if (head_truncate(db->head, b, false, &ts, err, errlen) < 0)
            return -1;
        st->head_chunks_dropped += ts.chunks_dropped;
        st->head_series_removed += ts.series_removed;
    }
    /* Blocks into larger ranges. */
    int64_t ranges[16];
    size_t nr = db_block_ranges(range, db->max_block, ranges, 16);
    if (db_compact_blocks(db, ranges, nr, &st->blocks_merged, err, errlen) < 0)
        return -1;
    /* Head chunk files older than the head go only while no querier may hold pointers into
     * them; queriers opening meanwhile wait on mu. */
    pthread_mutex_lock(&db->mu);
    if (db->nqueriers == 0)
        head_gc_files(db->head);
    pthread_mutex_unlock(&db->mu);
    return retention(db, retention_ms, max_bytes, st);
}
