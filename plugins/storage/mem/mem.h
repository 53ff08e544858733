/* plugins/storage/mem/mem.h — private structures of the mem storage plugin: interned
 * symbols, series and their sample chunks, the inverted label index, and the instance.
 * Only the files of this folder include it; nothing here crosses the plugin ABI.
 *
 * Locking (the one rule every file of this folder follows; take locks in this order):
 *   commit_mu  serialises commits, so each series' samples are in commit order and a
 *              querier's view is a prefix in time of every series (see struct hist);
 *   idx_lock   (rwlock) the symbol table, both series tables, the postings, the
 *              graveyard and the live-series count: read to look up, write to change;
 *   series lock (striped: locks[ref % NLOCKS]) a series' chunks, hist, last sample and
 *              exemplar state; a series' ref, hash and labels never change after creation;
 *   snap_mu    seq/published counters, gc_epoch and the open querier/appender lists;
 *   ex_mu, meta_mu, pool_mu  the exemplar ring, the metadata table, the appender pool
 *              (leaves: nothing is taken inside them).
 */
#ifndef MEM_H
#define MEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <ignis/plugin.h>

/* Chunk capacities: a series' first chunk holds MEM_CHUNK_MIN samples and doubles while it
 * fills, up to MEM_CHUNK_MAX, where it is sealed and a new one starts. 128 is close to the
 * 120 samples Prometheus puts in a head chunk; starting small keeps short-lived series
 * cheap. */
#define MEM_CHUNK_MIN 4
#define MEM_CHUNK_MAX 128

/* Number of striped series locks (a power of two). 1024 mutexes are 40 KB and make
 * collisions between two appender threads rare. */
#define MEM_NLOCKS 1024

/* At most this many samples (plus exemplars and metadata updates) wait in one appender
 * before commit; beyond it append returns IGNIS_E_LIMIT. 4 M samples is 20 times the
 * largest single scrape we aim at (200k series). */
#define MEM_APPENDER_MAX (4u << 20)

/* Appenders kept for reuse per instance, and the largest buffers (in samples) a pooled
 * appender keeps: one scrape of a big target, so steady scraping allocates nothing. */
#define MEM_APPENDER_POOL 16
#define MEM_POOL_KEEP     (64u << 10)

/* Prometheus caps an exemplar's label set at 128 UTF-8 characters (names and values). */
#define MEM_EXEMPLAR_MAX_RUNES 128

/* ---- hash table of pointers keyed by 64-bit hashes (linear probing) --------------- */

struct ptab_slot {
    uint64_t h;
    void *p; /* NULL: empty */
};

struct ptab {
    struct ptab_slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two (0 when never allocated) */
    size_t n;
};

/* Walks the candidates with hash h: start with *i = SIZE_MAX, returns NULL at the end. */
void *ptab_next(const struct ptab *t, uint64_t h, size_t *i);
int ptab_insert(struct ptab *t, uint64_t h, void *p);
/* Removes the slot holding exactly p (with hash h). */
void ptab_remove(struct ptab *t, uint64_t h, const void *p);
void ptab_free(struct ptab *t);
/* Iterates every stored pointer: start with *i = 0; returns NULL at the end. */
void *ptab_iter(const struct ptab *t, size_t *i);

uint64_t mem_hash_bytes(const void *p, size_t len);
uint64_t mem_hash_u64(uint64_t x);

/* ---- symbols ------------------------------------------------------------------------- */

/* An interned string. refs counts the series whose labels point at it (guarded by
 * idx_lock held for writing). */
struct sym {
    uint32_t refs;
    uint32_t len;
    uint64_t hash;
    char s[]; /* len bytes, then a NUL */
};

/* ---- sample chunks ------------------------------------------------------------------- */

/* A run of samples of one series in time order. Only the series' head chunk grows, and
 * only at index n, under the series lock; everything below n never changes, so a series
 * set that pinned the chunk with the n it saw reads it without a lock. Deletion never
 * edits a chunk: it replaces it with a copy (copy on write). */
struct chunk {
    atomic_uint refs; /* one for the series' list, one per series set that pinned it */
    uint32_t n;       /* samples written; changed only under the series lock */
    uint32_t cap;
    uint32_t pad;
    int64_t *t;
    double *v;
    /* the t[cap] and v[cap] arrays follow in the same allocation */
};

struct chunk *chunk_new(uint32_t cap);
void chunk_unref(struct chunk *c);
/* Index of the first sample with t >= mint among the first n (n when none). */
uint32_t chunk_seek(const struct chunk *c, uint32_t n, int64_t mint);

/* ---- series -------------------------------------------------------------------------- */

/* One commit that touched a series, kept while some open querier might predate it:
 * queriers whose snapshot seq is below `seq` see only the samples with t <= t_before
 * (commits are serialised and timestamps increase, so that is exactly what they saw). */
struct hist {
    uint64_t seq;
    int64_t t_before;
};

struct series {
    uint64_t ref;  /* stable, never reused */
    uint64_t hash; /* ignis_labels_hash of the labels */
    uint32_t nls;
    bool dead;            /* removed from the index (set under idx_lock + series lock) */
    uint64_t dead_epoch;  /* gc_epoch when it was removed */
    struct series *grave; /* next in the graveyard */
    struct sym **ls;      /* 2*nls: name, value, name, value, ... sorted by name */

    /* Guarded by the series lock. */
    struct chunk **chunks;
    uint32_t nchunks, capchunks;
    int64_t last_t; /* newest committed sample; INT64_MIN when none was ever committed */
    uint64_t last_vbits;
    struct hist *hist;
    uint32_t nhist, caphist;
    int64_t ex_last_t; /* newest stored exemplar: for duplicate and order checks */
    uint64_t ex_last_vbits, ex_last_lhash;
};

/* Visibility limit of s for a querier with snapshot seq `snap`: samples newer are not
 * visible to it. Series lock held. */
int64_t series_vis_limit(const struct series *s, uint64_t snap);
/* True when s has a sample in [lo, hi]. Series lock held. */
bool series_has_data(const struct series *s, int64_t lo, int64_t hi);
/* Appends a committed sample (t newer than last_t). Series lock held. Returns 0 or
 * IGNIS_E_NOMEM. *newchunks counts chunks created. */
int series_push(struct series *s, int64_t t, double v, int *newchunks);
/* Records that commit seq touches s, dropping entries every open querier has passed
 * (seq <= lowwater). Series lock held. */
int series_hist_push(struct series *s, uint64_t seq, uint64_t lowwater);
/* Removes the samples with lo <= t <= hi. Returns the change in the chunk count
 * (negative or zero), or IGNIS_E_NOMEM (and changes nothing). Series lock held. */
int series_delete(struct series *s, int64_t lo, int64_t hi, long *dchunks);
/* Frees the chunks and arrays of s (not its symbols). */
void series_free_data(struct series *s);

/* ---- the label index ----------------------------------------------------------------- */

/* A sorted list of series refs. */
struct postings {
    uint64_t *ids;
    size_t n, cap;
};

struct lvalue {
    struct sym *value;
    struct postings p;
    bool dirty; /* GC: has refs of removed series to drop */
};

struct lname {
    struct sym *name;
    struct ptab values; /* value sym hash -> struct lvalue */
    bool dirty;
    /* Sorted copy of the values, rebuilt when stale. Readers hold idx_lock for reading
     * and sort_mu while rebuilding; only writers (idx_lock for writing) make it stale,
     * so an array built under a read lock stays valid until that lock is released. */
    pthread_mutex_t sort_mu;
    struct sym **sorted;
    size_t nsorted;
    bool sorted_ok;
};

/* Series by ref: refs are handed out in increasing order, so a two-level array finds a
 * series with two loads, and scrape-ordered lookups touch memory in order (a hash table
 * here cost a cache miss per sample). A segment of MEM_REFSEG refs is freed when its last
 * series goes, and leading empty segments are dropped from the directory, so memory
 * follows the live refs; the worst case (one survivor per segment) is 8 KB per series. */
#define MEM_REFSEG_BITS 10
#define MEM_REFSEG      (1u << MEM_REFSEG_BITS)

struct refseg {
    uint32_t live;
    struct series *s[MEM_REFSEG];
};

struct reftab {
    struct refseg **dir; /* dir[k] holds refs of segment base + k; NULL when empty */
    size_t base, ndir, capdir;
};

struct index {
    struct ptab syms;    /* string hash -> struct sym */
    struct ptab names;   /* name sym hash -> struct lname */
    struct ptab by_hash; /* label-set hash -> struct series */
    struct reftab by_ref;
    struct postings all; /* every live series' ref */
    uint64_t next_ref;
    uint64_t nseries;
};

struct sym *sym_find(const struct index *ix, const char *s, size_t len);
struct sym *sym_intern(struct index *ix, const char *s, size_t len); /* refs += 1 */
void sym_unref(struct index *ix, struct sym *y);
int sym_cmp(const struct sym *a, const struct sym *b);
/* qsort comparator over struct sym * elements. */
int symp_cmp(const void *a, const void *b);

struct series *index_find_labels(const struct index *ix, uint64_t hash,
                                 const struct ignis_label *ls, size_t n);
struct series *index_find_ref(const struct index *ix, uint64_t ref);
/* Iterates every live series in ref order: start with *it = 0; NULL at the end. */
struct series *index_iter(const struct index *ix, uint64_t *it);
/* Creates and indexes a series for the (validated, sorted) labels. NULL on NOMEM. */
struct series *index_add(struct index *ix, uint64_t hash, const struct ignis_label *ls, size_t n);
/* Removes s from the tables and marks the postings it is in dirty (its refs are dropped
 * by index_compact). Does not free s. */
void index_unlink(struct index *ix, struct series *s);
/* Drops the refs in `dead` (sorted) from every dirty postings list, and removes values
 * and names left without series. */
void index_compact(struct index *ix, const uint64_t *dead, size_t ndead);
/* Releases s' symbols and frees it (s must be unlinked). */
void index_free_series(struct index *ix, struct series *s);
void index_free(struct index *ix);

/* The series refs (sorted) matching every matcher, as Prometheus selects: a matcher that
 * matches "" also selects series without the label. n == 0 selects nothing. idx_lock
 * held (read). *out is malloc'd (may be NULL when *nout is 0). Returns 0 or NOMEM. */
int index_select(struct index *ix, const struct ignis_matcher *ms, size_t n, uint64_t **out,
                 size_t *nout);
struct lname *index_lname(const struct index *ix, const char *name, size_t len);
/* The values of ln sorted (borrowed while idx_lock is held for reading). */
struct sym *const *lname_sorted(struct lname *ln, size_t *n);
struct lvalue *lname_value(const struct lname *ln, const struct sym *v);

/* Sorted-array set operations. */
int postings_add(struct postings *p, uint64_t id);

/* Compares two series by labels, as ignis_labels_cmp orders label sets. */
int series_cmp(const struct series *a, const struct series *b);

/* ---- the instance ------------------------------------------------------------------ */

/* An open querier or appender (or a short internal reader) in creation order: the
 * oldest querier's seq bounds the commit history series must keep, the oldest
 * registration's epoch bounds which removed series may be freed. */
struct reg {
    struct reg *prev, *next;
    uint64_t seq;   /* published seq at creation: a querier's snapshot */
    uint64_t epoch; /* gc_epoch at creation */
};

struct reglist {
    struct reg *head, *tail;
};

struct ex_slot {
    uint64_t ref;
    int64_t t;
    double v;
    struct ignis_label *ls; /* one allocation: the pairs, then their bytes */
    size_t nls;
};

struct meta {
    char *name; /* metric name (copy) */
    uint64_t hash;
    enum ignis_metric_type type;
    char *help, *unit;
};

struct mem {
    const struct ignis_host *host;
    _Atomic int64_t retention_ms; /* 0: keep everything */
    _Atomic int64_t max_series;   /* 0: unlimited */
    struct ignis_timer *gc_timer; /* loop only */
    int64_t gc_period_ms;

    pthread_mutex_t commit_mu;
    pthread_rwlock_t idx_lock;
    struct index ix;
    struct series *graveyard; /* removed series not yet freed (idx_lock) */
    pthread_mutex_t locks[MEM_NLOCKS];

    pthread_mutex_t snap_mu;
    uint64_t published; /* newest commit visible to new queriers */
    uint64_t gc_epoch;
    struct reglist queriers, others;

    _Atomic uint64_t num_samples;
    _Atomic int64_t max_time; /* newest sample ever committed; INT64_MIN when none */
    _Atomic uint64_t dropped; /* samples dropped at commit (a newer sample won the race) */

    pthread_mutex_t ex_mu;
    struct ex_slot *ring; /* ex_cap slots; the oldest at ex_next when full */
    size_t ex_cap, ex_next, ex_count;

    pthread_mutex_t meta_mu;
    struct ptab meta; /* name hash -> struct meta */

    pthread_mutex_t pool_mu; /* (leaf) */
    struct ignis_appender *pool[MEM_APPENDER_POOL];
    size_t npool;
};

static inline pthread_mutex_t *series_lock(struct mem *m, const struct series *s)
{
    return &m->locks[s->ref & (MEM_NLOCKS - 1)];
}

static inline uint64_t vbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Registers r (an appender, querier or short reader) at the tail of l, stamping it with
 * the published seq and gc_epoch; reg_del removes it. */
void reg_add(struct mem *m, struct reglist *l, struct reg *r);
void reg_del(struct mem *m, struct reglist *l, struct reg *r);
/* Builds the ignis_label view of s' labels into buf (nls pairs). */
void series_labels(const struct series *s, struct ignis_label *buf);
void ex_slot_clear(struct ex_slot *e);

/* ---- the ops table, by file ---------------------------------------------------------- */

/* append.c */
void appender_pool_free(struct mem *m); /* at destroy */
struct ignis_appender *mem_appender(void *instance);
int mem_append(struct ignis_appender *a, const struct ignis_label *labels, size_t n, int64_t t,
               double v, uint64_t *ref);
size_t mem_append_refs(struct ignis_appender *a, const struct ignis_ref_sample *smp, size_t n,
                       int *errs);
int mem_append_histogram(struct ignis_appender *a, uint64_t ref, const struct ignis_label *labels,
                         size_t n, int64_t t, const struct ignis_histogram *h, uint64_t *ref_out);
int mem_append_start_ts(struct ignis_appender *a, uint64_t ref, int64_t t, int64_t st);
int mem_append_exemplar(struct ignis_appender *a, uint64_t ref, const struct ignis_exemplar *e);
int mem_update_metadata(struct ignis_appender *a, uint64_t ref, const struct ignis_metadata *md);
int mem_commit(struct ignis_appender *a);
void mem_rollback(struct ignis_appender *a);

/* query.c */
struct ignis_querier *mem_querier(void *instance, int64_t mint, int64_t maxt);
int mem_select(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
               const struct ignis_select_hints *hints, struct ignis_series_set **out);
int mem_set_next(struct ignis_series_set *set, struct ignis_series *s);
long mem_set_samples(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                     struct ignis_sample_batch *b);
int mem_set_chunk(struct ignis_series_set *set, int64_t mint, int64_t maxt, struct ignis_chunk *c);
void mem_set_close(struct ignis_series_set *set);
int mem_label_names(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n, size_t limit,
                    void (*fn)(void *arg, const char *s, size_t len), void *arg);
int mem_label_values(struct ignis_querier *q, const char *name, size_t name_len,
                     const struct ignis_matcher *ms, size_t n, size_t limit,
                     void (*fn)(void *arg, const char *s, size_t len), void *arg);
void mem_querier_close(struct ignis_querier *q);
int mem_metadata(void *instance, const char *metric, size_t limit,
                 void (*fn)(void *arg, const char *metric, const struct ignis_metadata *md),
                 void *arg);
int mem_exemplars(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
                  int64_t maxt,
                  void (*fn)(void *arg, const struct ignis_label *ls, size_t nls,
                             const struct ignis_exemplar *e),
                  void *arg);

#endif
