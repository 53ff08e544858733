/* plugins/storage/tsdb/head.c — the in-memory head (see head.h): symbols, series,
 * postings, appenders and commit through the WAL, chunk cutting to chunks_head/, replay,
 * and the reads queriers make. */
#define _GNU_SOURCE
#include "head.h"
#include "chunkenc.h"
#include "checkpoint.h"
#include "enc.h"
#include "fileutil.h"
#include "hchunks.h"
#include "index.h"
#include "record.h"
#include "wal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include <ignis/plugin.h>

/* ---- a map from 64-bit keys to pointers (linear probing, no deletion) ---------------- */

struct u64map {
    uint64_t *keys;
    void **vals; /* NULL: empty slot */
    size_t mask, n;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static void *u64map_get(const struct u64map *m, uint64_t key)
{
    if (!m->vals)
        return NULL;
    for (size_t i = mix64(key) & m->mask;; i = (i + 1) & m->mask) {
        if (!m->vals[i])
            return NULL;
        if (m->keys[i] == key)
            return m->vals[i];
    }
}

static int u64map_put(struct u64map *m, uint64_t key, void *val)
{
    if (!m->vals || (m->n + 1) * 2 > m->mask + 1) {
        size_t ncap = m->vals ? (m->mask + 1) * 2 : 64;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        void **nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return -1;
        }
        for (size_t i = 0; m->vals && i <= m->mask; i++)
            if (m->vals[i]) {
                size_t j = mix64(m->keys[i]) & (ncap - 1);
                while (nv[j])
                    j = (j + 1) & (ncap - 1);
                nk[j] = m->keys[i];
                nv[j] = m->vals[i];
            }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->mask = ncap - 1;
    }
    size_t i = mix64(key) & m->mask;
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & m->mask;
    if (!m->vals[i])
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

static void u64map_free(struct u64map *m, bool free_vals)
{
    if (free_vals && m->vals)
        for (size_t i = 0; i <= m->mask; i++)
            free(m->vals[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- structures ------------------------------------------------------------------- */

struct mchunk {
    int64_t mint, maxt;
    uint64_t ref; /* in chunks_head/ */
};

/* A head series: 120 bytes plus its label pairs, and the open chunk's bytes. Fields are
 * ordered so nothing pads; the open chunk's encoder is embedded (no allocation of its own)
 * and mm's capacity follows from nmm (mm_cap). */
struct series {
    uint32_t id;
    uint16_t nls;
    bool logged;          /* its series record is in the WAL */
    bool last_v_known;    /* false after replay attached mmapped chunks: read lazily */
    uint32_t pending;     /* samples in open appenders (atomic): truncation keeps it */
    uint32_t nmm;         /* mmapped chunks in mm */
    uint64_t hash;        /* of the label strings */
    int64_t max_t;        /* newest committed sample; INT64_MIN: none */
    uint64_t last_v;      /* its value bits, when last_v_known */
    int64_t open_mint;    /* first sample of the open chunk */
    struct xor_enc enc;   /* the open chunk; enc.s.buf NULL: none (has_open) */
    struct mchunk *mm;
    struct series *next_hash; /* chain in the hash table */
    uint32_t ls[];        /* name, value symbol ids */
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct series) == 120, "struct series grew");

static inline bool has_open(const struct series *s)
{
    return s->enc.s.buf != NULL;
}

static void drop_open(struct series *s)
{
    xor_enc_free(&s->enc);
}

/* The capacity mm has for nmm entries: 0, then powers of two from 4. After a truncation
 * shrank nmm the allocation is larger than this, never smaller. */
static uint32_t mm_cap(uint32_t nmm)
{
    if (nmm == 0)
        return 0;
    uint32_t c = 4;
    while (c < nmm)
        c *= 2;
    return c;
}

/* Room for one more mmapped chunk in s->mm. */
static int mm_reserve(struct series *s)
{
    if (s->nmm < mm_cap(s->nmm))
        return 0;
    if (s->nmm >= UINT32_MAX / 2)
        return -1;
    uint32_t ncap = s->nmm ? s->nmm * 2 : 4;
    struct mchunk *nm = realloc(s->mm, ncap * sizeof *nm);
    if (!nm)
        return -1;
    s->mm = nm;
    return 0;
}

#define ARENA_BLOCK (64 * 1024)

struct head {
    struct head_opts o;
    char *dir;
    pthread_rwlock_t lock;
    pthread_mutex_t wal_mu;
    struct wal *wal;
    struct hchunks hc;
    bool have_hc;
    int64_t chunk_range;
    int64_t min_valid; /* INT64_MIN: none */

    /* symbols */
    const char **sym_s;
    uint32_t *sym_len;
    uint32_t nsyms, syms_cap;
    uint32_t *sym_slots; /* id + 1; 0 empty */
    size_t sym_mask;
    char *arena;
    size_t arena_left;
    char **arenas;
    size_t narenas;

    /* series */
    struct series **by_id;
    size_t by_id_cap;
    struct series **buckets; /* by hash */
    size_t bucket_mask;
    uint64_t nseries;
    uint32_t next_id;

    /* postings */
    struct u64map postings;  /* name << 32 | value -> struct plist * */
    struct u64map values;    /* name -> struct plist * of value ids */
    struct plist all;

    /* deleted intervals by series ref (write lock to change) */
    struct tombstones stones;

    /* stats */
    struct head_stats st;

    /* isolation (write lock to change): commits are numbered; the open queriers' numbers
     * (unsorted, with repeats); per series id, the marks a querier needs (see iso_note) */
    uint64_t commit_seq;
    uint64_t *iso_q;
    size_t niso, iso_cap;
    struct u64map iso;
};

/* ---- isolation ------------------------------------------------------------------------
 * A querier opened after commit q must not see what later commits added. Appends within a
 * series go forward in time, so what q saw of a series is a time: its max_t before the
 * first later commit that touched it. While queriers are open, each commit c records that
 * time as a mark (c, max_t) on the series it touches; a series without a mark after q was
 * not touched since. Only the first mark after each open querier's q is kept, and every
 * mark goes when the last querier closes: no cost per series, and per commit only while
 * queries run. */

struct iso_mark {
    uint64_t seq;
    int64_t maxt;
};

struct iso_marks {
    uint32_t n, cap;
    struct iso_mark m[];
};

/* Keeps the marks some open querier needs: mark i serves the queriers in
 * [previous kept mark's seq, mark i's seq). */
static void iso_prune(const struct head *h, struct iso_marks *mk)
{
    uint32_t w = 0;
    uint64_t lo = 0;
    for (uint32_t i = 0; i < mk->n; i++) {
        bool need = false;
        for (size_t k = 0; k < h->niso && !need; k++)
            need = h->iso_q[k] >= lo && h->iso_q[k] < mk->m[i].seq;
        if (need) {
            mk->m[w++] = mk->m[i];
            lo = mk->m[i].seq;
        }
    }
    mk->n = w;
}

/* Before commit c appends to s (write lock held, queriers open). Out of memory, the mark
 * is lost and an open querier may see this commit's samples of s. */
static void iso_note(struct head *h, const struct series *s, uint64_t c)
{
    struct iso_marks *mk = u64map_get(&h->iso, s->id);
    if (mk) {
        if (mk->n && mk->m[mk->n - 1].seq == c)
            return;
        iso_prune(h, mk);
    }
    if (!mk || mk->n == mk->cap) {
        uint32_t cap = mk ? mk->cap * 2 : 2;
        struct iso_marks *nm = malloc(sizeof *nm + cap * sizeof nm->m[0]);
        if (!nm)
            return;
        nm->n = mk ? mk->n : 0;
        nm->cap = cap;
        if (mk)
            memcpy(nm->m, mk->m, mk->n * sizeof mk->m[0]);
        if (u64map_put(&h->iso, s->id, nm) < 0) {
            free(nm);
            return;
        }
        free(mk);
        mk = nm;
    }
    mk->m[mk->n++] = (struct iso_mark){c, s->max_t};
}

/* The newest sample time of series id that a querier opened at seq q sees (lock held). */
static int64_t iso_cut(const struct head *h, uint64_t id, uint64_t q)
{
    if (q == HEAD_SEQ_NONE || !h->niso)
        return INT64_MAX;
    const struct iso_marks *mk = u64map_get(&h->iso, id);
    for (uint32_t i = 0; mk && i < mk->n; i++)
        if (mk->m[i].seq > q)
            return mk->m[i].maxt;
    return INT64_MAX;
}

int head_iso_open(struct head *h, uint64_t *seq)
{
    pthread_rwlock_wrlock(&h->lock);
    int rc = 0;
    if (h->niso == h->iso_cap) {
        size_t cap = h->iso_cap ? h->iso_cap * 2 : 16;
        uint64_t *nq = realloc(h->iso_q, cap * sizeof *nq);
        if (nq) {
            h->iso_q = nq;
            h->iso_cap = cap;
        } else {
            rc = IGNIS_E_NOMEM;
        }
    }
    if (rc == 0) {
        *seq = h->commit_seq;
        h->iso_q[h->niso++] = h->commit_seq;
    }
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

void head_iso_close(struct head *h, uint64_t seq)
{
    pthread_rwlock_wrlock(&h->lock);
    for (size_t k = 0; k < h->niso; k++)
        if (h->iso_q[k] == seq) {
            h->iso_q[k] = h->iso_q[--h->niso];
            break;
        }
    if (h->niso == 0 && h->iso.n)
        u64map_free(&h->iso, true);
    pthread_rwlock_unlock(&h->lock);
}

static void hlog(struct head *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void hlog(struct head *h, int level, const char *fmt, ...)
{
    if (!h->o.log)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    h->o.log(h->o.log_arg, level, buf);
}

/* ---- symbols (write lock held to add) ----------------------------------------------- */

static uint64_t str_hash(const char *s, size_t n)
{
    return XXH3_64bits(s, n);
}

/* The id of s, or -1. */
static long sym_lookup(const struct head *h, const char *s, size_t n)
{
    if (!h->sym_slots)
        return -1;
    for (size_t i = str_hash(s, n) & h->sym_mask;; i = (i + 1) & h->sym_mask) {
        uint32_t v = h->sym_slots[i];
        if (!v)
            return -1;
        uint32_t id = v - 1;
        if (h->sym_len[id] == n && !memcmp(h->sym_s[id], s, n))
            return id;
    }
}

static int sym_rehash(struct head *h, size_t ncap)
{
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (uint32_t id = 0; id < h->nsyms; id++) {
        size_t i = str_hash(h->sym_s[id], h->sym_len[id]) & (ncap - 1);
        while (ns[i])
            i = (i + 1) & (ncap - 1);
        ns[i] = id + 1;
    }
    free(h->sym_slots);
    h->sym_slots = ns;
    h->sym_mask = ncap - 1;
    return 0;
}

static long sym_intern(struct head *h, const char *s, size_t n)
{
    long id = sym_lookup(h, s, n);
    if (id >= 0)
        return id;
    if (n > UINT32_MAX || h->nsyms == UINT32_MAX)
        return -1;
    if (h->nsyms == h->syms_cap) {
        uint32_t ncap = h->syms_cap ? h->syms_cap * 2 : 1024;
        const char **ns = realloc(h->sym_s, ncap * sizeof *ns);
        if (!ns)
            return -1;
        h->sym_s = ns;
        uint32_t *nl = realloc(h->sym_len, ncap * sizeof *nl);
        if (!nl)
            return -1;
        h->sym_len = nl;
        h->syms_cap = ncap;
    }
    if (!h->sym_slots || (h->nsyms + 1) * 2 > h->sym_mask + 1)
        if (sym_rehash(h, h->sym_slots ? (h->sym_mask + 1) * 2 : 2048) < 0)
            return -1;
    /* Copy into the arena (strings never move, so readers may keep pointers). */
    char *copy;
    if (n + 1 > ARENA_BLOCK / 4) {
        copy = malloc(n + 1);
        if (!copy)
            return -1;
        char **na = realloc(h->arenas, (h->narenas + 1) * sizeof *na);
        if (!na) {
            free(copy);
            return -1;
        }
        h->arenas = na;
        h->arenas[h->narenas++] = copy;
    } else {
        if (h->arena_left < n + 1) {
            char *blk = malloc(ARENA_BLOCK);
            char **na = realloc(h->arenas, (h->narenas + 1) * sizeof *na);
            if (!blk || !na) {
                free(blk);
                if (na)
                    h->arenas = na;
                return -1;
            }
            h->arenas = na;
            h->arenas[h->narenas++] = blk;
            h->arena = blk;
            h->arena_left = ARENA_BLOCK;
        }
        copy = h->arena;
        h->arena += n + 1;
        h->arena_left -= n + 1;
    }
    if (n)
        memcpy(copy, s, n);
    copy[n] = 0;
    uint32_t nid = h->nsyms++;
    h->sym_s[nid] = copy;
    h->sym_len[nid] = (uint32_t)n;
    size_t i = str_hash(s, n) & h->sym_mask;
    while (h->sym_slots[i])
        i = (i + 1) & h->sym_mask;
    h->sym_slots[i] = nid + 1;
    return nid;
}

/* ---- series --------------------------------------------------------------------------- */

/* Hash of a label set by its strings (so a lookup needs no interning). Empty values are
 * skipped: they mean "no such label". */
static uint64_t labels_hash(const struct ignis_label *ls, size_t n)
{
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    static const char sep = '\xff';
    for (size_t i = 0; i < n; i++) {
        if (!ls[i].value_len)
            continue;
        XXH3_64bits_update(&st, ls[i].name, ls[i].name_len);
        XXH3_64bits_update(&st, &sep, 1);
        XXH3_64bits_update(&st, ls[i].value, ls[i].value_len);
        XXH3_64bits_update(&st, &sep, 1);
    }
    return XXH3_64bits_digest(&st);
}

static bool series_equal(const struct head *h, const struct series *s,
                         const struct ignis_label *ls, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ls[i].value_len)
            continue;
        if (k >= s->nls)
            return false;
        uint32_t a = s->ls[2 * k], b = s->ls[2 * k + 1];
        if (h->sym_len[a] != ls[i].name_len || memcmp(h->sym_s[a], ls[i].name, ls[i].name_len) ||
            h->sym_len[b] != ls[i].value_len ||
            memcmp(h->sym_s[b], ls[i].value, ls[i].value_len))
            return false;
        k++;
    }
    return k == s->nls;
}

static struct series *series_find(const struct head *h, uint64_t hash,
                                  const struct ignis_label *ls, size_t n)
{
    if (!h->buckets)
        return NULL;
    for (struct series *s = h->buckets[hash & h->bucket_mask]; s; s = s->next_hash)
        if (s->hash == hash && series_equal(h, s, ls, n))
            return s;
    return NULL;
}

static struct series *series_by_id(const struct head *h, uint64_t ref)
{
    return ref < h->by_id_cap ? h->by_id[ref] : NULL;
}

/* Samples of a batch touch series all over memory: while sample i is applied, the series
 * of sample i + PREFETCH_FAR is fetched, and the end of the open chunk of sample
 * i + PREFETCH_NEAR (whose series came in by then). */
#define PREFETCH_FAR 12
#define PREFETCH_NEAR 6

static inline void prefetch_series(const struct head *h, uint64_t ref)
{
    const char *p = (const char *)series_by_id(h, ref);
    if (p) {
        __builtin_prefetch(p, 1);
        __builtin_prefetch(p + 64, 1);
    }
}

static inline void prefetch_open(const struct head *h, uint64_t ref)
{
    const struct series *s = series_by_id(h, ref);
    if (s && s->enc.s.buf)
        __builtin_prefetch(s->enc.s.buf + s->enc.s.len, 1);
}

static int postings_add(struct head *h, uint32_t name, uint32_t value, uint32_t id)
{
    uint64_t key = (uint64_t)name << 32 | value;
    struct plist *p = u64map_get(&h->postings, key);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p || u64map_put(&h->postings, key, p) < 0) {
            free(p);
            return -1;
        }
        struct plist *vals = u64map_get(&h->values, name);
        if (!vals) {
            vals = calloc(1, sizeof *vals);
            if (!vals || u64map_put(&h->values, name, vals) < 0) {
                free(vals);
                return -1;
            }
        }
        if (plist_push(vals, value) < 0)
            return -1;
    }
    /* Ids only grow, so appending keeps the list sorted; replay may bring older ids. */
    if (p->n && p->v[p->n - 1] > id) {
        if (plist_push(p, id) < 0)
            return -1;
        plist_sort_unique(p);
        return 0;
    }
    return plist_push(p, id);
}

/* Creates a series with the given id (write lock held). */
static struct series *series_create(struct head *h, uint32_t id, uint64_t hash,
                                    const struct ignis_label *ls, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ls[i].value_len != 0;
    if (k > UINT16_MAX)
        return NULL;
    struct series *s = calloc(1, sizeof *s + 2 * k * sizeof(uint32_t));
    if (!s)
        return NULL;
    s->id = id;
    s->nls = (uint16_t)k;
    s->hash = hash;
    s->max_t = INT64_MIN;
    k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ls[i].value_len)
            continue;
        long a = sym_intern(h, ls[i].name, ls[i].name_len);
        long b = sym_intern(h, ls[i].value, ls[i].value_len);
        if (a < 0 || b < 0) {
            free(s);
            return NULL;
        }
        s->ls[2 * k] = (uint32_t)a;
        s->ls[2 * k + 1] = (uint32_t)b;
        k++;
    }
    if (id >= h->by_id_cap) {
        size_t ncap = h->by_id_cap ? h->by_id_cap : 1024;
        while (ncap <= id)
            ncap *= 2;
        struct series **nb = realloc(h->by_id, ncap * sizeof *nb);
        if (!nb) {
            free(s);
            return NULL;
        }
        memset(nb + h->by_id_cap, 0, (ncap - h->by_id_cap) * sizeof *nb);
        h->by_id = nb;
        h->by_id_cap = ncap;
    }
    if (!h->buckets || h->nseries + 1 > h->bucket_mask + 1) {
        size_t ncap = h->buckets ? (h->bucket_mask + 1) * 2 : 1024;
        struct series **nb = calloc(ncap, sizeof *nb);
        if (!nb) {
            free(s);
            return NULL;
        }
        for (size_t i = 0; h->buckets && i <= h->bucket_mask; i++)
            for (struct series *x = h->buckets[i], *nx; x; x = nx) {
                nx = x->next_hash;
                x->next_hash = nb[x->hash & (ncap - 1)];
                nb[x->hash & (ncap - 1)] = x;
            }
        free(h->buckets);
        h->buckets = nb;
        h->bucket_mask = ncap - 1;
    }
    for (uint16_t i = 0; i < s->nls; i++)
        if (postings_add(h, s->ls[2 * i], s->ls[2 * i + 1], id) < 0) {
            free(s); /* postings may hold the id: harmless, it resolves to nothing */
            return NULL;
        }
    if (h->all.n && h->all.v[h->all.n - 1] > id) {
        if (plist_push(&h->all, id) < 0) {
            free(s);
            return NULL;
        }
        plist_sort_unique(&h->all);
    } else if (plist_push(&h->all, id) < 0) {
        free(s);
        return NULL;
    }
    h->by_id[id] = s;
    s->next_hash = h->buckets[hash & h->bucket_mask];
    h->buckets[hash & h->bucket_mask] = s;
    h->nseries++;
    if (id >= h->next_id)
        h->next_id = id + 1;
    return s;
}

static void series_free(struct series *s)
{
    drop_open(s);
    free(s->mm);
    free(s);
}

/* ---- appending to a series (write lock held) ---------------------------------------- */

/* Moves the open chunk to chunks_head/ (or keeps it in memory when there is no
 * directory: then mm[].ref is a malloc'd copy's address). */
static int cut_chunk(struct head *h, struct series *s)
{
    if (!has_open(s))
        return 0;
    size_t len;
    const uint8_t *b = xor_enc_bytes(&s->enc, &len);
    struct mchunk mc = {s->open_mint, s->max_t, 0};
    if (h->have_hc) {
        char err[256];
        if (hchunks_write(&h->hc, s->id, mc.mint, mc.maxt, TSDB_ENC_XOR, b, len, &mc.ref, err,
                          sizeof err) < 0) {
            hlog(h, 1, "cannot write a head chunk (kept in memory): %s", err);
            return -1;
        }
    } else {
        uint8_t *copy = malloc(len + sizeof(uint32_t));
        if (!copy)
            return -1;
        uint32_t l32 = (uint32_t)len;
        memcpy(copy, &l32, sizeof l32);
        memcpy(copy + sizeof l32, b, len);
        mc.ref = (uint64_t)(uintptr_t)copy;
    }
    if (mm_reserve(s) < 0) {
        if (!h->have_hc)
            free((void *)(uintptr_t)mc.ref);
        return -1;
    }
    s->mm[s->nmm++] = mc;
    drop_open(s);
    return 0;
}

/* Floors t to the chunk range (for negative times too). */
static int64_t range_start(int64_t t, int64_t range)
{
    int64_t q = t / range;
    if (t % range < 0)
        q--;
    return q * range;
}

/* The open chunk takes samples below this: the end of the chunk range its first sample is
 * in. */
static int64_t open_end(const struct head *h, const struct series *s)
{
    int64_t start = range_start(s->open_mint, h->chunk_range);
    return start > INT64_MAX - h->chunk_range ? INT64_MAX : start + h->chunk_range;
}

/* The bits of the series' newest value (decoding its last mmapped chunk when replay left it
 * unknown). */
static uint64_t last_value(const struct head *h, const struct series *s)
{
    if (s->last_v_known || !s->nmm || !h->have_hc)
        return s->last_v;
    uint8_t enc;
    const uint8_t *p;
    size_t len;
    uint64_t bits = s->last_v;
    if (hchunks_get((struct hchunks *)&h->hc, s->mm[s->nmm - 1].ref, &enc, &p, &len) == 0) {
        struct xor_it it;
        xor_it_init(&it, p, len);
        int64_t t;
        double v;
        while (xor_it_next(&it, &t, &v) == 1)
            bits = f64_bits(v);
    }
    return bits;
}

enum { APPLY_OK = 0, APPLY_DUP_SAME = 1 };

/* Appends (t, v) to s, or returns the IGNIS_E_* reason it cannot. */
static int series_append(struct head *h, struct series *s, int64_t t, double v)
{
    uint64_t vb = f64_bits(v);
    if (t < h->min_valid)
        return IGNIS_E_OUT_OF_BOUNDS;
    if (s->max_t != INT64_MIN && t <= s->max_t) {
        if (t == s->max_t)
            return vb == last_value(h, s) ? APPLY_DUP_SAME : IGNIS_E_DUP_TS;
        return IGNIS_E_OUT_OF_ORDER;
    }
    if (has_open(s) && (s->enc.n >= TSDB_CHUNK_SAMPLES || t >= open_end(h, s)))
        if (cut_chunk(h, s) < 0 && has_open(s) && s->enc.n >= TSDB_CHUNK_MAX_SAMPLES)
            return IGNIS_E_IO;
    if (!has_open(s)) {
        if (xor_enc_init(&s->enc, 32, 0) < 0) {
            drop_open(s);
            return IGNIS_E_NOMEM;
        }
        s->open_mint = t;
        h->st.chunks_created++;
        h->st.chunks++; /* a cut moves a chunk to disk but keeps it counted */
    }
    if (xor_enc_append(&s->enc, t, v) < 0)
        return IGNIS_E_NOMEM;
    s->max_t = t;
    s->last_v = vb;
    s->last_v_known = true;
    h->st.samples_appended++;
    if (t < h->st.mint)
        h->st.mint = t;
    if (t > h->st.maxt)
        h->st.maxt = t;
    return 0;
}

static void count_reject(struct head *h, int rc)
{
    if (rc == IGNIS_E_OUT_OF_ORDER)
        h->st.out_of_order++;
    else if (rc == IGNIS_E_DUP_TS)
        h->st.duplicates++;
    else if (rc == IGNIS_E_OUT_OF_BOUNDS)
        h->st.out_of_bounds++;
}

/* ---- appenders ------------------------------------------------------------------------ */

struct head_app {
    struct head *h;
    struct rec_sample *s;
    size_t n, cap;
    uint32_t *created; /* series this appender made (WAL series records at commit) */
    size_t ncreated, created_cap;
};

/* One pending sample of series id is gone (committed, rolled back or refused). */
static void unpend(struct head *h, uint64_t id)
{
    pthread_rwlock_rdlock(&h->lock);
    struct series *s = series_by_id(h, id);
    if (s)
        __atomic_sub_fetch(&s->pending, 1, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&h->lock);
}

struct head_app *head_appender(struct head *h)
{
    struct head_app *a = calloc(1, sizeof *a);
    if (a)
        a->h = h;
    return a;
}

static int app_push(struct head_app *a, uint64_t ref, int64_t t, double v)
{
    if (a->n == a->cap) {
        if (a->cap >= HEAD_APPENDER_MAX)
            return IGNIS_E_LIMIT;
        size_t ncap = a->cap ? a->cap * 2 : 256;
        struct rec_sample *ns = realloc(a->s, ncap * sizeof *ns);
        if (!ns)
            return IGNIS_E_NOMEM;
        a->s = ns;
        a->cap = ncap;
    }
    a->s[a->n++] = (struct rec_sample){ref, t, v};
    return 0;
}

/* Checks a sample against the committed head (read lock held). */
static int appendable(const struct head *h, const struct series *s, int64_t t, double v)
{
    if (t < h->min_valid)
        return IGNIS_E_OUT_OF_BOUNDS;
    if (s->max_t == INT64_MIN || t > s->max_t)
        return 0;
    if (t == s->max_t)
        return f64_bits(v) == last_value(h, s) ? 0 : IGNIS_E_DUP_TS;
    return IGNIS_E_OUT_OF_ORDER;
}

static bool labels_valid(const struct ignis_label *ls, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ls[i].name_len)
            return false;
        if (i && tsdb_str_cmp(ls[i - 1].name, ls[i - 1].name_len, ls[i].name,
                              ls[i].name_len) >= 0)
            return false;
        k += ls[i].value_len != 0;
    }
    return k > 0;
}

int head_app_add(struct head_app *a, const struct ignis_label *ls, size_t n, int64_t t,
                 double v, uint64_t *ref)
{
    struct head *h = a->h;
    if (!labels_valid(ls, n))
        return IGNIS_E_INVALID;
    uint64_t hash = labels_hash(ls, n);
    pthread_rwlock_rdlock(&h->lock);
    struct series *s = series_find(h, hash, ls, n);
    int rc = s ? appendable(h, s, t, v) : 0;
    uint32_t id = s ? s->id : 0;
    if (s && rc == 0)
        __atomic_add_fetch(&s->pending, 1, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&h->lock);
    if (!s) {
        pthread_rwlock_wrlock(&h->lock);
        s = series_find(h, hash, ls, n);
        if (!s) {
            if (h->next_id == UINT32_MAX) {
                pthread_rwlock_unlock(&h->lock);
                return IGNIS_E_LIMIT;
            }
            s = series_create(h, h->next_id, hash, ls, n);
            if (s && a->ncreated == a->created_cap) {
                size_t ncap = a->created_cap ? a->created_cap * 2 : 64;
                uint32_t *nc = realloc(a->created, ncap * sizeof *nc);
                if (nc) {
                    a->created = nc;
                    a->created_cap = ncap;
                }
            }
            if (s && a->ncreated < a->created_cap)
                a->created[a->ncreated++] = s->id;
        }
        rc = s ? appendable(h, s, t, v) : IGNIS_E_NOMEM;
        id = s ? s->id : 0;
        if (s && rc == 0)
            __atomic_add_fetch(&s->pending, 1, __ATOMIC_RELAXED);
        pthread_rwlock_unlock(&h->lock);
    }
    if (rc) {
        pthread_rwlock_wrlock(&h->lock);
        count_reject(h, rc);
        pthread_rwlock_unlock(&h->lock);
        return rc;
    }
    *ref = id;
    rc = app_push(a, id, t, v);
    if (rc)
        unpend(h, id);
    return rc;
}

int head_app_add_ref(struct head_app *a, uint64_t ref, int64_t t, double v)
{
    struct head *h = a->h;
    pthread_rwlock_rdlock(&h->lock);
    struct series *s = series_by_id(h, ref);
    int rc = s ? appendable(h, s, t, v) : IGNIS_E_REF_GONE;
    if (rc == 0)
        __atomic_add_fetch(&s->pending, 1, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&h->lock);
    if (rc) {
        if (rc != IGNIS_E_REF_GONE) {
            pthread_rwlock_wrlock(&h->lock);
            count_reject(h, rc);
            pthread_rwlock_unlock(&h->lock);
        }
        return rc;
    }
    rc = app_push(a, ref, t, v);
    if (rc)
        unpend(h, ref);
    return rc;
}

size_t head_app_add_refs(struct head_app *a, const struct ignis_ref_sample *s, size_t n,
                         int *errs)
{
    struct head *h = a->h;
    /* Room for all of them first (within the appender's bound). */
    size_t room = HEAD_APPENDER_MAX > a->n ? HEAD_APPENDER_MAX - a->n : 0;
    size_t take = n < room ? n : room;
    if (a->n + take > a->cap) {
        size_t ncap = a->cap ? a->cap : 256;
        while (ncap < a->n + take)
            ncap *= 2;
        struct rec_sample *ns = realloc(a->s, ncap * sizeof *ns);
        if (!ns)
            take = a->cap - a->n;
        else {
            a->s = ns;
            a->cap = ncap;
        }
    }
    size_t ok = 0;
    uint64_t ooo = 0, dup = 0, oob = 0;
    pthread_rwlock_rdlock(&h->lock);
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (i >= take) {
            rc = IGNIS_E_LIMIT;
        } else {
            struct series *x = series_by_id(h, s[i].ref);
            rc = x ? appendable(h, x, s[i].t, s[i].v) : IGNIS_E_REF_GONE;
            if (rc == 0) {
                __atomic_add_fetch(&x->pending, 1, __ATOMIC_RELAXED);
                a->s[a->n++] = (struct rec_sample){s[i].ref, s[i].t, s[i].v};
                ok++;
            }
        }
        ooo += rc == IGNIS_E_OUT_OF_ORDER;
        dup += rc == IGNIS_E_DUP_TS;
        oob += rc == IGNIS_E_OUT_OF_BOUNDS;
        if (errs)
            errs[i] = rc;
    }
    pthread_rwlock_unlock(&h->lock);
    if (ooo || dup || oob) {
        pthread_rwlock_wrlock(&h->lock);
        h->st.out_of_order += ooo;
        h->st.duplicates += dup;
        h->st.out_of_bounds += oob;
        pthread_rwlock_unlock(&h->lock);
    }
    return ok;
}

static void app_free(struct head_app *a)
{
    free(a->s);
    free(a->created);
    free(a);
}

void head_app_rollback(struct head_app *a)
{
    /* Series it created stay (empty) until a truncation finds them without samples; their
     * records are written when a sample for them is committed. */
    struct head *h = a->h;
    pthread_rwlock_rdlock(&h->lock);
    for (size_t i = 0; i < a->n; i++) {
        struct series *s = series_by_id(h, a->s[i].ref);
        if (s)
            __atomic_sub_fetch(&s->pending, 1, __ATOMIC_RELAXED);
    }
    pthread_rwlock_unlock(&h->lock);
    app_free(a);
}

/* Series records for every series the samples refer to that is not logged yet. Caller
 * holds wal_mu; takes the read lock to read labels. */
static int log_new_series(struct head *h, struct head_app *a, struct ebuf *b, char *err,
                          size_t errlen)
{
    ebuf_reset(b);
    rec_encode_series_begin(b);
    struct ignis_label *ls = NULL;
    size_t ls_cap = 0;
    uint64_t *marked = NULL; /* ids logged by this call: unmarked if the write fails */
    size_t nmarked = 0, marked_cap = 0;
    pthread_rwlock_rdlock(&h->lock);
    for (size_t pass = 0; pass < 2; pass++) {
        size_t cnt = pass == 0 ? a->ncreated : a->n;
        for (size_t i = 0; i < cnt; i++) {
            uint64_t ref = pass == 0 ? a->created[i] : a->s[i].ref;
            struct series *s = series_by_id(h, ref);
            if (!s || __atomic_load_n(&s->logged, __ATOMIC_ACQUIRE))
                continue;
            if (s->nls > ls_cap) {
                struct ignis_label *nl = realloc(ls, s->nls * sizeof *nl);
                if (!nl)
                    continue;
                ls = nl;
                ls_cap = s->nls;
            }
            for (uint16_t k = 0; k < s->nls; k++)
                ls[k] = (struct ignis_label){h->sym_s[s->ls[2 * k]], h->sym_len[s->ls[2 * k]],
                                             h->sym_s[s->ls[2 * k + 1]],
                                             h->sym_len[s->ls[2 * k + 1]]};
            if (nmarked == marked_cap) {
                size_t nc = marked_cap ? marked_cap * 2 : 64;
                uint64_t *nm = realloc(marked, nc * sizeof *nm);
                if (!nm) {
                    b->err = true;
                    continue;
                }
                marked = nm;
                marked_cap = nc;
            }
            rec_encode_series(b, s->id, ls, s->nls);
            marked[nmarked++] = s->id;
            /* wal_mu is held, so no other commit logs it twice. */
            __atomic_store_n(&s->logged, true, __ATOMIC_RELEASE);
        }
    }
    pthread_rwlock_unlock(&h->lock);
    free(ls);
    int rc = 0;
    if (b->err)
        rc = tsdb_errf(err, errlen, -1, "out of memory");
    else if (b->len > 1)
        rc = wal_log(h->wal, b->p, b->len, err, errlen);
    if (rc < 0) {
        /* Logged again by a later commit: a record that still reaches the log after all
         * only repeats the series, which replay takes as the same series. */
        pthread_rwlock_rdlock(&h->lock);
        for (size_t i = 0; i < nmarked; i++) {
            struct series *s = series_by_id(h, marked[i]);
            if (s)
                __atomic_store_n(&s->logged, false, __ATOMIC_RELEASE);
        }
        pthread_rwlock_unlock(&h->lock);
    }
    free(marked);
    return rc;
}

int head_app_commit(struct head_app *a, char *err, size_t errlen)
{
    struct head *h = a->h;
    int rc = 0;
    if (h->wal && (a->n || a->ncreated)) {
        struct ebuf b;
        ebuf_init(&b, 0);
        pthread_mutex_lock(&h->wal_mu);
        rc = log_new_series(h, a, &b, err, errlen);
        if (rc == 0 && a->n) {
            ebuf_reset(&b);
            rec_encode_samples(&b, a->s, a->n);
            rc = b.err ? tsdb_errf(err, errlen, -1, "out of memory")
                       : wal_log(h->wal, b.p, b.len, err, errlen);
        }
        if (rc == 0)
            rc = wal_flush(h->wal, err, errlen);
        pthread_mutex_unlock(&h->wal_mu);
        ebuf_free(&b);
        if (rc < 0) {
            head_app_rollback(a);
            return IGNIS_E_IO;
        }
    }
    pthread_rwlock_wrlock(&h->lock);
    uint64_t seq = ++h->commit_seq;
    for (size_t i = 0; i < a->n; i++) {
        if (i + PREFETCH_FAR < a->n)
            prefetch_series(h, a->s[i + PREFETCH_FAR].ref);
        if (i + PREFETCH_NEAR < a->n)
            prefetch_open(h, a->s[i + PREFETCH_NEAR].ref);
        struct series *s = series_by_id(h, a->s[i].ref);
        if (!s)
            continue;
        __atomic_sub_fetch(&s->pending, 1, __ATOMIC_RELAXED);
        if (h->niso)
            iso_note(h, s, seq);
        int k = series_append(h, s, a->s[i].t, a->s[i].v);
        if (k < 0)
            count_reject(h, k);
    }
    pthread_rwlock_unlock(&h->lock);
    app_free(a);
    return 0;
}

/* ---- replay ----------------------------------------------------------------------------- */

struct found_chunk {
    uint64_t sref, cref;
    int64_t mint, maxt;
};

struct replay {
    struct head *h;
    struct found_chunk *fc;
    size_t nfc, fc_cap;
    struct u64map alias; /* WAL ref -> series (duplicate series records) */
    struct rec_decoded d;
    uint64_t *hashes;    /* label set hashes of a series record's series */
    size_t hashes_cap;
};

static void on_found(void *arg, uint64_t sref, uint64_t cref, int64_t mint, int64_t maxt,
                     uint8_t enc)
{
    struct replay *r = arg;
    if (enc != TSDB_ENC_XOR)
        return; /* histogram chunks: not kept by this head yet */
    if (r->nfc == r->fc_cap) {
        size_t ncap = r->fc_cap ? r->fc_cap * 2 : 1024;
        struct found_chunk *n = realloc(r->fc, ncap * sizeof *n);
        if (!n)
            return;
        r->fc = n;
        r->fc_cap = ncap;
    }
    r->fc[r->nfc++] = (struct found_chunk){sref, cref, mint, maxt};
}

static int cmp_found(const void *a, const void *b)
{
    const struct found_chunk *x = a, *y = b;
    if (x->sref != y->sref)
        return x->sref < y->sref ? -1 : 1;
    return x->mint < y->mint ? -1 : x->mint > y->mint;
}

/* Gives a replayed series its mmapped chunks. */
static void attach_chunks(struct replay *r, struct series *s)
{
    size_t lo = 0, hi = r->nfc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->fc[mid].sref < s->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < r->nfc && r->fc[i].sref == s->id; i++) {
        if (s->nmm && r->fc[i].mint <= s->mm[s->nmm - 1].maxt)
            continue; /* overlapping duplicate */
        if (r->fc[i].maxt < r->h->min_valid)
            continue; /* in a block already */
        if (mm_reserve(s) < 0)
            return;
        s->mm[s->nmm++] = (struct mchunk){r->fc[i].mint, r->fc[i].maxt, r->fc[i].cref};
        r->h->st.chunks++;
        s->max_t = r->fc[i].maxt;
        if (r->fc[i].mint < r->h->st.mint)
            r->h->st.mint = r->fc[i].mint;
        if (r->fc[i].maxt > r->h->st.maxt)
            r->h->st.maxt = r->fc[i].maxt;
    }
    /* The last value sits in the last mmapped chunk: decoded only if a sample at exactly
     * max_t ever needs it (decoding every series' chunk here would dominate replay). */
    if (s->nmm)
        s->last_v_known = false;
}

static struct series *replay_ref(struct replay *r, uint64_t ref)
{
    struct series *s = u64map_get(&r->alias, ref);
    return s ? s : series_by_id(r->h, ref);
}

static int replay_record(struct replay *r, const uint8_t *rec, size_t len)
{
    struct head *h = r->h;
    switch (rec_type(rec, len)) {
    case REC_SERIES:
        if (rec_decode_series(rec, len, &r->d) < 0)
            return -1;
        if (r->d.nseries > r->hashes_cap) {
            size_t ncap = r->d.nseries * 2;
            uint64_t *nh = realloc(r->hashes, ncap * sizeof *nh);
            if (!nh)
                return -2;
            r->hashes = nh;
            r->hashes_cap = ncap;
        }
        for (size_t i = 0; i < r->d.nseries; i++)
            r->hashes[i] = labels_hash(r->d.labels + r->d.series[i].first, r->d.series[i].n);
        for (size_t i = 0; i < r->d.nseries; i++) {
            const struct rec_series *rs = &r->d.series[i];
            const struct ignis_label *ls = r->d.labels + rs->first;
            uint64_t hash = r->hashes[i];
            if (h->buckets && i + PREFETCH_FAR < r->d.nseries)
                __builtin_prefetch(&h->buckets[r->hashes[i + PREFETCH_FAR] & h->bucket_mask]);
            if (h->buckets && i + PREFETCH_NEAR < r->d.nseries)
                __builtin_prefetch(h->buckets[r->hashes[i + PREFETCH_NEAR] & h->bucket_mask]);
            struct series *s = series_find(h, hash, ls, rs->n);
            if (s) {
                if (s->id != rs->ref)
                    u64map_put(&r->alias, rs->ref, s);
                continue;
            }
            if (rs->ref >= UINT32_MAX || series_by_id(h, rs->ref)) {
                h->st.replay_unknown_refs++;
                continue;
            }
            s = series_create(h, (uint32_t)rs->ref, hash, ls, rs->n);
            if (!s)
                return -2;
            s->logged = true;
            attach_chunks(r, s);
            h->st.replayed_series++;
        }
        return 0;
    case REC_SAMPLES:
        if (rec_decode_samples(rec, len, &r->d) < 0)
            return -1;
        for (size_t i = 0; i < r->d.nsamples; i++) {
            const struct rec_sample *x = &r->d.samples[i];
            if (i + PREFETCH_FAR < r->d.nsamples)
                prefetch_series(h, x[PREFETCH_FAR].ref);
            if (i + PREFETCH_NEAR < r->d.nsamples)
                prefetch_open(h, x[PREFETCH_NEAR].ref);
            struct series *s = replay_ref(r, x->ref);
            if (!s) {
                h->st.replay_unknown_refs++;
                continue;
            }
            if (s->nmm && x->t <= s->mm[s->nmm - 1].maxt)
                continue; /* already in a mmapped chunk */
            if (x->t < h->min_valid)
                continue; /* already in a block */
            if (series_append(h, s, x->t, x->v) == 0)
                h->st.replayed_samples++;
        }
        return 0;
    case REC_TOMBSTONES:
        if (rec_decode_tombstones(rec, len, &r->d) < 0)
            return -1;
        for (size_t i = 0; i < r->d.nstones; i++) {
            const struct rec_stone *x = &r->d.stones[i];
            struct series *s = replay_ref(r, x->ref);
            if (s && tombstones_add(&h->stones, s->id, x->mint, x->maxt) < 0)
                return -2;
        }
        tombstones_normalize(&h->stones);
        return 0;
    case REC_EXEMPLARS:
        if (!h->o.on_exemplar)
            return 0;
        if (rec_decode_exemplars(rec, len, &r->d) < 0)
            return -1;
        for (size_t i = 0; i < r->d.nexemplars; i++) {
            const struct rec_exemplar *x = &r->d.exemplars[i];
            struct series *s = replay_ref(r, x->ref);
            if (s && x->t >= h->min_valid)
                h->o.on_exemplar(h->o.exemplar_arg, s->id, x->t, x->v,
                                 r->d.labels + x->first, x->n);
        }
        return 0;
    default:
        /* Markers, metadata, histograms: not kept by the head yet. */
        return 0;
    }
}

static int replay_dir(struct replay *r, const char *dir, int first, char *err, size_t errlen,
                      bool repair)
{
    struct head *h = r->h;
    struct wal_reader *wr;
    if (wal_reader_open_async(&wr, dir, first, -1, err, errlen) < 0)
        return -1;
    const uint8_t *rec;
    size_t len;
    int k, rc = 0, last_seg = -1;
    int nseg = wal_reader_nsegments(wr, NULL);
    while ((k = wal_reader_next(wr, &rec, &len)) == 1) {
        int seg = wal_reader_segment(wr);
        if (seg != last_seg) {
            int idx;
            wal_reader_nsegments(wr, &idx);
            hlog(h, 0, "replaying WAL segment %d (%d of %d): %" PRIu64 " series, %" PRIu64
                       " samples so far",
                 seg, idx + 1, nseg, h->st.replayed_series, h->st.replayed_samples);
            last_seg = seg;
        }
        int x = replay_record(r, rec, len);
        if (x == -2) {
            rc = tsdb_errf(err, errlen, -1, "out of memory during replay");
            break;
        }
        if (x < 0)
            hlog(h, 1, "skipping a malformed WAL record in segment %d", seg);
    }
    if (rc == 0 && k < 0) {
        int seg;
        uint64_t off;
        const char *why;
        bool last;
        wal_reader_corruption(wr, &seg, &off, &why, &last);
        if (!repair) {
            rc = tsdb_errf(err, errlen, -1, "%s: segment %d offset %" PRIu64 ": %s", dir, seg,
                           off, why);
        } else {
            hlog(h, 1,
                 "WAL %s in segment %d at offset %" PRIu64 " (%s): cutting it off there; "
                 "everything before it is kept",
                 last ? "tail is torn" : "is corrupt", seg, off, why);
            h->st.wal_corruptions++;
            if (wal_repair(dir, seg, off, err, errlen) < 0)
                rc = -1;
        }
    }
    wal_reader_close(wr);
    return rc;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int replay(struct head *h, char *err, size_t errlen)
{
    double t0 = mono_s();
    struct replay r = {.h = h};
    char path[4096];
    snprintf(path, sizeof path, "%s/chunks_head", h->dir);
    if (hchunks_open(&h->hc, path, on_found, &r, err, errlen) < 0)
        return -1;
    h->have_hc = true;
    if (r.nfc)
        qsort(r.fc, r.nfc, sizeof *r.fc, cmp_found);
    char waldir[4096], ck[4096];
    snprintf(waldir, sizeof waldir, "%s/wal", h->dir);
    int rc = 0;
    int ckn = checkpoint_last(waldir, ck, sizeof ck);
    if (ckn >= 0) {
        hlog(h, 0, "replaying WAL checkpoint %d", ckn);
        rc = replay_dir(&r, ck, -1, err, errlen, false);
    }
    if (rc == 0) {
        int *nums;
        int n = wal_segments(waldir, &nums);
        if (n > 0) {
            /* Segments older than the checkpoint are leftovers of a crash mid-truncate. */
            int first = ckn >= 0 ? ckn + 1 : nums[0];
            free(nums);
            rc = replay_dir(&r, waldir, first, err, errlen, true);
        } else {
            free(nums);
        }
    }
    free(r.fc);
    u64map_free(&r.alias, false);
    rec_decoded_free(&r.d);
    free(r.hashes);
    h->st.replay_seconds = mono_s() - t0;
    if (rc == 0)
        hlog(h, 0, "WAL replay done: %" PRIu64 " series, %" PRIu64 " samples in %.2fs",
             h->st.replayed_series, h->st.replayed_samples, h->st.replay_seconds);
    return rc;
}

/* ---- open / close ------------------------------------------------------------------- */

int head_open(struct head **out, const struct head_opts *o, char *err, size_t errlen)
{
    struct head *h = calloc(1, sizeof *h);
    if (!h)
        return tsdb_errf(err, errlen, -1, "out of memory");
    h->o = *o;
    h->chunk_range = o->chunk_range > 0 ? o->chunk_range : HEAD_CHUNK_RANGE_DEFAULT;
    h->st.mint = INT64_MAX;
    h->st.maxt = INT64_MIN;
    h->next_id = 1;
    h->min_valid = o->min_valid_set ? o->min_valid_time : INT64_MIN;
    pthread_rwlock_init(&h->lock, NULL);
    pthread_mutex_init(&h->wal_mu, NULL);
    if (o->dir) {
        if (!(h->dir = strdup(o->dir))) {
            head_close(h);
            return tsdb_errf(err, errlen, -1, "out of memory");
        }
        h->o.dir = h->dir;
        if (mkdir(h->dir, 0755) < 0 && errno != EEXIST) {
            tsdb_errf(err, errlen, -1, "mkdir %s: %s", h->dir, strerror(errno));
            head_close(h);
            return -1;
        }
        if (replay(h, err, errlen) < 0) {
            head_close(h);
            return -1;
        }
        char waldir[4096];
        snprintf(waldir, sizeof waldir, "%s/wal", h->dir);
        if (wal_open(&h->wal, waldir, o->wal_segment_size, WAL_COMPRESS_SNAPPY, err, errlen) <
            0) {
            head_close(h);
            return -1;
        }
    }
    *out = h;
    return 0;
}

void head_close(struct head *h)
{
    if (!h)
        return;
    if (h->wal) {
        char err[256];
        if (wal_close(h->wal, err, sizeof err) < 0)
            hlog(h, 1, "closing the WAL: %s", err);
    }
    for (size_t i = 0; i < h->by_id_cap; i++) {
        struct series *s = h->by_id[i];
        if (!s)
            continue;
        if (!h->have_hc)
            for (uint32_t k = 0; k < s->nmm; k++)
                free((void *)(uintptr_t)s->mm[k].ref);
        series_free(s);
    }
    if (h->have_hc)
        hchunks_close(&h->hc);
    free(h->by_id);
    free(h->buckets);
    for (size_t i = 0; i < h->narenas; i++)
        free(h->arenas[i]);
    free(h->arenas);
    free(h->sym_s);
    free(h->sym_len);
    free(h->sym_slots);
    if (h->postings.vals)
        for (size_t i = 0; i <= h->postings.mask; i++)
            if (h->postings.vals[i])
                plist_free(h->postings.vals[i]);
    u64map_free(&h->postings, true);
    if (h->values.vals)
        for (size_t i = 0; i <= h->values.mask; i++)
            if (h->values.vals[i])
                plist_free(h->values.vals[i]);
    u64map_free(&h->values, true);
    plist_free(&h->all);
    tombstones_free(&h->stones);
    u64map_free(&h->iso, true);
    free(h->iso_q);
    pthread_rwlock_destroy(&h->lock);
    pthread_mutex_destroy(&h->wal_mu);
    free(h->dir);
    free(h);
}

void head_stats(struct head *h, struct head_stats *st)
{
    pthread_rwlock_rdlock(&h->lock);
    *st = h->st;
    st->series = h->nseries;
    pthread_rwlock_unlock(&h->lock);
}

int head_log_record(struct head *h, const uint8_t *rec, size_t len, char *err, size_t errlen)
{
    if (!h->wal)
        return 0;
    pthread_mutex_lock(&h->wal_mu);
    int rc = wal_log(h->wal, rec, len, err, errlen);
    if (rc == 0)
        rc = wal_flush(h->wal, err, errlen);
    pthread_mutex_unlock(&h->wal_mu);
    return rc;
}

/* ---- deletion --------------------------------------------------------------------------- */

int head_delete(struct head *h, const uint64_t *refs, size_t n, int64_t mint, int64_t maxt,
                char *err, size_t errlen)
{
    if (!n)
        return 0;
    if (h->wal) {
        struct rec_stone *rs = malloc(n * sizeof *rs);
        if (!rs)
            return tsdb_errf(err, errlen, -1, "out of memory");
        for (size_t i = 0; i < n; i++)
            rs[i] = (struct rec_stone){refs[i], mint, maxt};
        struct ebuf b;
        ebuf_init(&b, 0);
        rec_encode_tombstones(&b, rs, n);
        free(rs);
        pthread_mutex_lock(&h->wal_mu);
        int rc = b.err ? tsdb_errf(err, errlen, -1, "out of memory")
                       : wal_log(h->wal, b.p, b.len, err, errlen);
        if (rc == 0)
            rc = wal_flush(h->wal, err, errlen);
        pthread_mutex_unlock(&h->wal_mu);
        ebuf_free(&b);
        if (rc < 0)
            return -1;
    }
    pthread_rwlock_wrlock(&h->lock);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (series_by_id(h, refs[i]))
            rc = tombstones_add(&h->stones, refs[i], mint, maxt);
    tombstones_normalize(&h->stones);
    pthread_rwlock_unlock(&h->lock);
    return rc < 0 ? tsdb_errf(err, errlen, -1, "out of memory") : 0;
}

/* ---- truncation ------------------------------------------------------------------------ */

int64_t head_chunk_range(const struct head *h)
{
    return h->chunk_range;
}

int64_t head_min_time(struct head *h)
{
    pthread_rwlock_rdlock(&h->lock);
    int64_t m = h->st.mint;
    pthread_rwlock_unlock(&h->lock);
    return m;
}

int64_t head_max_time(struct head *h)
{
    pthread_rwlock_rdlock(&h->lock);
    int64_t m = h->st.maxt;
    pthread_rwlock_unlock(&h->lock);
    return m;
}

static void drop_mchunk(struct head *h, struct mchunk *m)
{
    if (!h->have_hc)
        free((void *)(uintptr_t)m->ref);
}

/* Removes ids of deleted series from every postings list and names' value lists. */
static void gc_postings(struct head *h)
{
    for (size_t i = 0; h->postings.vals && i <= h->postings.mask; i++) {
        struct plist *p = h->postings.vals[i];
        if (!p)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < p->n; j++)
            if (series_by_id(h, p->v[j]))
                p->v[k++] = p->v[j];
        p->n = k;
    }
    size_t k = 0;
    for (size_t j = 0; j < h->all.n; j++)
        if (series_by_id(h, h->all.v[j]))
            h->all.v[k++] = h->all.v[j];
    h->all.n = k;
    for (size_t i = 0; h->values.vals && i <= h->values.mask; i++) {
        struct plist *vals = h->values.vals[i];
        if (!vals)
            continue;
        uint64_t name = h->values.keys[i];
        size_t n = 0;
        for (size_t j = 0; j < vals->n; j++) {
            struct plist *p = u64map_get(&h->postings, name << 32 | vals->v[j]);
            if (p && p->n)
                vals->v[n++] = vals->v[j];
        }
        vals->n = n;
    }
}

static bool keep_series(void *arg, uint64_t ref)
{
    struct head *h = arg;
    pthread_rwlock_rdlock(&h->lock);
    bool keep = series_by_id(h, ref) != NULL;
    pthread_rwlock_unlock(&h->lock);
    return keep;
}

int head_gc_files(struct head *h)
{
    if (!h->have_hc)
        return 0;
    pthread_rwlock_rdlock(&h->lock);
    int64_t mv = h->min_valid;
    pthread_rwlock_unlock(&h->lock);
    return hchunks_delete_older(&h->hc, mv);
}

int head_truncate(struct head *h, int64_t mint, bool delete_files,
                  struct head_truncate_stats *st, char *err, size_t errlen)
{
    struct head_truncate_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    pthread_rwlock_wrlock(&h->lock);
    if (mint > h->min_valid)
        h->min_valid = mint;
    int64_t newmin = INT64_MAX;
    bool removed = false;
    for (size_t i = 0; i < h->by_id_cap; i++) {
        struct series *s = h->by_id[i];
        if (!s)
            continue;
        uint32_t k = 0;
        for (uint32_t j = 0; j < s->nmm; j++) {
            if (s->mm[j].maxt < mint) {
                drop_mchunk(h, &s->mm[j]);
                st->chunks_dropped++;
            } else {
                s->mm[k++] = s->mm[j];
            }
        }
        s->nmm = k;
        if (has_open(s) && s->max_t < mint) {
            drop_open(s);
            st->chunks_dropped++;
        }
        if (s->nmm)
            newmin = s->mm[0].mint < newmin ? s->mm[0].mint : newmin;
        else if (has_open(s))
            newmin = s->open_mint < newmin ? s->open_mint : newmin;
        /* A series that never got a sample (a rolled-back creation) stays until it is
         * older than a truncation: max_t INT64_MIN counts as old. */
        if (!s->nmm && !has_open(s) && !__atomic_load_n(&s->pending, __ATOMIC_RELAXED)) {
            struct series **pp = &h->buckets[s->hash & h->bucket_mask];
            while (*pp && *pp != s)
                pp = &(*pp)->next_hash;
            if (*pp)
                *pp = s->next_hash;
            h->by_id[i] = NULL;
            h->nseries--;
            series_free(s);
            st->series_removed++;
            removed = true;
        }
    }
    if (removed)
        gc_postings(h);
    {
        size_t k = 0;
        for (size_t i = 0; i < h->stones.n; i++)
            if (h->stones.v[i].maxt >= mint && series_by_id(h, h->stones.v[i].ref))
                h->stones.v[k++] = h->stones.v[i];
        h->stones.n = k;
    }
    h->st.chunks -= st->chunks_dropped < h->st.chunks ? st->chunks_dropped : h->st.chunks;
    h->st.mint = newmin;
    if (newmin == INT64_MAX)
        h->st.maxt = INT64_MIN;
    pthread_rwlock_unlock(&h->lock);

    if (delete_files && h->have_hc) {
        int n = hchunks_delete_older(&h->hc, mint);
        if (n > 0)
            st->files_deleted = (uint64_t)n;
    }
    if (!h->wal)
        return 0;
    /* Checkpoint every segment before the current one; they are closed, so appends go on
     * meanwhile. */
    pthread_mutex_lock(&h->wal_mu);
    int cur = wal_next_segment(h->wal, err, errlen);
    pthread_mutex_unlock(&h->wal_mu);
    if (cur < 0)
        return -1;
    char waldir[4096];
    snprintf(waldir, sizeof waldir, "%s/wal", h->dir);
    int *nums;
    int n = wal_segments(waldir, &nums);
    int first = n > 0 ? nums[0] : cur;
    free(nums);
    if (first >= cur)
        return 0;
    struct checkpoint_stats cs;
    if (checkpoint_create(waldir, -1, cur - 1, keep_series, h, mint, &cs, err, errlen) < 0)
        return -1;
    st->checkpoint.series_kept = cs.series_kept;
    st->checkpoint.samples_kept = cs.samples_kept;
    return wal_truncate_before(waldir, cur, err, errlen);
}

/* ---- reading -------------------------------------------------------------------------- */

/* The postings of series matching m (read lock held). */
static int match_postings(struct head *h, const struct ignis_matcher *m, struct plist *out)
{
    long name = sym_lookup(h, m->name, m->name_len);
    bool empty_ok = ignis_matcher_matches_empty(m);
    out->n = 0;
    if (name < 0) /* no series has the label: all match when "" matches */
        return empty_ok ? plist_union(out, &h->all, 1) : 0;
    if (m->type == IGNIS_MATCH_EQ && m->value_len) {
        long val = sym_lookup(h, m->value, m->value_len);
        struct plist *p = val < 0 ? NULL : u64map_get(&h->postings, (uint64_t)name << 32 | (uint64_t)val);
        return p ? plist_union(out, p, 1) : 0;
    }
    struct plist *vals = u64map_get(&h->values, (uint64_t)name);
    size_t nv = vals ? vals->n : 0;
    /* Regexes that are a finite set of literals are answered without scanning values. */
    if (m->type == IGNIS_MATCH_RE && m->re && !empty_ok) {
        const char *const *lits;
        const size_t *lens;
        size_t nl = ignis_regex_literals(m->re, &lits, &lens);
        if (nl) {
            struct plist *lists = calloc(nl, sizeof *lists);
            size_t k = 0;
            if (!lists)
                return -1;
            for (size_t i = 0; i < nl; i++) {
                long val = sym_lookup(h, lits[i], lens[i]);
                struct plist *p = val < 0 ? NULL : u64map_get(&h->postings, (uint64_t)name << 32 | (uint64_t)val);
                if (p)
                    lists[k++] = *p;
            }
            int rc = plist_union(out, lists, k);
            free(lists);
            return rc;
        }
    }
    /* Scan the name's values: union of those that match (or, when "" matches, all
     * minus the union of those that do not). */
    struct plist *lists = calloc(nv ? nv : 1, sizeof *lists);
    if (!lists)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < nv; i++) {
        uint32_t val = vals->v[i];
        bool match = ignis_matcher_matches(m, h->sym_s[val], h->sym_len[val]);
        if (match != empty_ok) {
            struct plist *p = u64map_get(&h->postings, (uint64_t)name << 32 | val);
            if (p)
                lists[k++] = *p;
        }
    }
    int rc = plist_union(out, lists, k);
    free(lists);
    if (rc == 0 && empty_ok)
        rc = plist_subtract(out, &h->all, out);
    return rc;
}

static bool series_in_range(const struct series *s, int64_t mint, int64_t maxt)
{
    for (uint32_t i = 0; i < s->nmm; i++)
        if (s->mm[i].maxt >= mint && s->mm[i].mint <= maxt)
            return true;
    return has_open(s) && s->open_mint <= maxt && s->max_t >= mint;
}

static int cmp_series(const void *a, const void *b, void *arg)
{
    const struct head *h = arg;
    const struct series *x = series_by_id(h, *(const uint32_t *)a);
    const struct series *y = series_by_id(h, *(const uint32_t *)b);
    for (uint16_t i = 0; i < x->nls && i < y->nls; i++) {
        for (int k = 0; k < 2; k++) {
            uint32_t p = x->ls[2 * i + k], q = y->ls[2 * i + k];
            if (p == q)
                continue;
            int c = tsdb_str_cmp(h->sym_s[p], h->sym_len[p], h->sym_s[q], h->sym_len[q]);
            if (c)
                return c;
        }
    }
    return x->nls < y->nls ? -1 : x->nls > y->nls;
}

int head_select(struct head *h, const struct ignis_matcher *ms, size_t n, int64_t mint,
                int64_t maxt, struct plist *out)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&h->lock);
    int rc = 0;
    if (n == 0) {
        rc = plist_union(out, &h->all, 1);
    } else {
        /* Matchers that do not match "" first: they narrow fastest. */
        struct plist cur = {0}, tmp = {0};
        bool started = false;
        for (int pass = 0; pass < 2 && rc == 0; pass++)
            for (size_t i = 0; i < n && rc == 0; i++) {
                if (ignis_matcher_matches_empty(&ms[i]) != (pass == 1))
                    continue;
                if (started && cur.n == 0)
                    break;
                rc = match_postings(h, &ms[i], &tmp);
                if (rc == 0)
                    rc = started ? plist_intersect(&cur, &cur, &tmp) : plist_union(&cur, &tmp, 1);
                started = true;
            }
        plist_free(&tmp);
        *out = cur;
    }
    if (rc == 0) {
        size_t k = 0;
        for (size_t i = 0; i < out->n; i++) {
            struct series *s = series_by_id(h, out->v[i]);
            if (s && series_in_range(s, mint, maxt))
                out->v[k++] = out->v[i];
        }
        out->n = k;
        if (k > 1)
            qsort_r(out->v, k, sizeof *out->v, cmp_series, h);
    }
    pthread_rwlock_unlock(&h->lock);
    if (rc < 0)
        plist_free(out);
    return rc < 0 ? IGNIS_E_NOMEM : 0;
}

int head_series(struct head *h, uint64_t ref, int64_t mint, int64_t maxt,
                struct head_series_view *v)
{
    return head_series_at(h, ref, mint, maxt, HEAD_SEQ_NONE, v);
}

int head_series_at(struct head *h, uint64_t ref, int64_t mint, int64_t maxt, uint64_t seq,
                   struct head_series_view *v)
{
    pthread_rwlock_rdlock(&h->lock);
    struct series *s = series_by_id(h, ref);
    int rc = 0;
    if (!s) {
        rc = IGNIS_E_NOTFOUND;
        goto out;
    }
    v->ref = ref;
    v->vis_maxt = iso_cut(h, ref, seq);
    if (maxt > v->vis_maxt)
        maxt = v->vis_maxt;
    if (s->nls > v->ls_cap) {
        struct ignis_label *nl = realloc(v->ls, s->nls * sizeof *nl);
        if (!nl) {
            rc = IGNIS_E_NOMEM;
            goto out;
        }
        v->ls = nl;
        v->ls_cap = s->nls;
    }
    for (uint16_t k = 0; k < s->nls; k++)
        v->ls[k] = (struct ignis_label){h->sym_s[s->ls[2 * k]], h->sym_len[s->ls[2 * k]],
                                        h->sym_s[s->ls[2 * k + 1]], h->sym_len[s->ls[2 * k + 1]]};
    v->nls = s->nls;
    v->nchks = 0;
    size_t need = s->nmm + 1;
    if (need > v->chks_cap) {
        struct head_chunk_view *nc = realloc(v->chks, need * sizeof *nc);
        if (!nc) {
            rc = IGNIS_E_NOMEM;
            goto out;
        }
        v->chks = nc;
        v->chks_cap = need;
    }
    for (uint32_t i = 0; i < s->nmm; i++) {
        const struct mchunk *m = &s->mm[i];
        if (m->maxt < mint || m->mint > maxt)
            continue;
        struct head_chunk_view *c = &v->chks[v->nchks];
        if (h->have_hc) {
            if (hchunks_get(&h->hc, m->ref, &c->encoding, &c->data, &c->len) < 0)
                continue;
        } else {
            const uint8_t *p = (const uint8_t *)(uintptr_t)m->ref;
            uint32_t l32;
            memcpy(&l32, p, sizeof l32);
            c->data = p + sizeof l32;
            c->len = l32;
            c->encoding = TSDB_ENC_XOR;
        }
        c->mint = m->mint;
        c->maxt = m->maxt;
        v->nchks++;
    }
    size_t nst;
    const struct tombstone *st = tombstones_of(&h->stones, ref, &nst);
    v->nstones = 0;
    if (nst > v->stones_cap) {
        struct tombstone *ns = realloc(v->stones, nst * sizeof *ns);
        if (!ns) {
            rc = IGNIS_E_NOMEM;
            goto out;
        }
        v->stones = ns;
        v->stones_cap = nst;
    }
    if (nst)
        memcpy(v->stones, st, nst * sizeof *st);
    v->nstones = nst;
    if (has_open(s) && s->open_mint <= maxt && s->max_t >= mint) {
        size_t len;
        const uint8_t *b = xor_enc_bytes(&s->enc, &len);
        if (len > v->open_cap) {
            uint8_t *no = realloc(v->open, len);
            if (!no) {
                rc = IGNIS_E_NOMEM;
                goto out;
            }
            v->open = no;
            v->open_cap = len;
        }
        memcpy(v->open, b, len);
        v->chks[v->nchks++] = (struct head_chunk_view){v->open, len, s->open_mint, s->max_t,
                                                       TSDB_ENC_XOR};
    }
out:
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

void head_series_view_free(struct head_series_view *v)
{
    free(v->stones);
    free(v->ls);
    free(v->chks);
    free(v->open);
    memset(v, 0, sizeof *v);
}

static int cmp_sym(const void *a, const void *b, void *arg)
{
    const struct head *h = arg;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return tsdb_str_cmp(h->sym_s[x], h->sym_len[x], h->sym_s[y], h->sym_len[y]);
}

/* Emits the sorted, unique strings of the symbol ids in p. */
static void emit_syms(struct head *h, struct plist *p,
                      void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    plist_sort_unique(p);
    if (p->n > 1)
        qsort_r(p->v, p->n, sizeof *p->v, cmp_sym, h);
    for (size_t i = 0; i < p->n; i++)
        fn(arg, h->sym_s[p->v[i]], h->sym_len[p->v[i]]);
}

int head_label_names(struct head *h, const struct ignis_matcher *ms, size_t n,
                     void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    struct plist sel = {0}, names = {0};
    if (n && head_select(h, ms, n, INT64_MIN, INT64_MAX, &sel) < 0)
        return IGNIS_E_NOMEM;
    pthread_rwlock_rdlock(&h->lock);
    int rc = 0;
    if (!n) {
        for (size_t i = 0; h->values.vals && i <= h->values.mask && rc == 0; i++)
            if (h->values.vals[i])
                rc = plist_push(&names, (uint32_t)h->values.keys[i]);
    } else {
        for (size_t i = 0; i < sel.n && rc == 0; i++) {
            struct series *s = series_by_id(h, sel.v[i]);
            for (uint16_t k = 0; s && k < s->nls && rc == 0; k++)
                rc = plist_push(&names, s->ls[2 * k]);
        }
    }
    if (rc == 0)
        emit_syms(h, &names, fn, arg);
    pthread_rwlock_unlock(&h->lock);
    plist_free(&sel);
    plist_free(&names);
    return rc ? IGNIS_E_NOMEM : 0;
}

int head_label_values(struct head *h, const char *name, size_t nlen,
                      const struct ignis_matcher *ms, size_t n,
                      void (*fn)(void *arg, const char *s, size_t len), void *arg)
{
    struct plist sel = {0}, vals = {0};
    if (n && head_select(h, ms, n, INT64_MIN, INT64_MAX, &sel) < 0)
        return IGNIS_E_NOMEM;
    pthread_rwlock_rdlock(&h->lock);
    int rc = 0;
    long nid = sym_lookup(h, name, nlen);
    if (nid >= 0 && !n) {
        struct plist *v = u64map_get(&h->values, (uint64_t)nid);
        if (v)
            rc = plist_union(&vals, v, 1);
    } else if (nid >= 0) {
        for (size_t i = 0; i < sel.n && rc == 0; i++) {
            struct series *s = series_by_id(h, sel.v[i]);
            for (uint16_t k = 0; s && k < s->nls && rc == 0; k++)
                if (s->ls[2 * k] == (uint32_t)nid)
                    rc = plist_push(&vals, s->ls[2 * k + 1]);
        }
    }
    if (rc == 0)
        emit_syms(h, &vals, fn, arg);
    pthread_rwlock_unlock(&h->lock);
    plist_free(&sel);
    plist_free(&vals);
    return rc ? IGNIS_E_NOMEM : 0;
}
