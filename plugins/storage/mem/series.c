/* plugins/storage/mem/series.c — a series' samples: reference-counted chunks that only
 * grow at the end (so pinned readers need no lock), copy-on-write deletion, and the
 * per-series commit history that gives queriers their snapshot. The caller holds the
 * series lock for every function here that touches a series. */
#include <stdlib.h>
#include <string.h>
#include "mem.h"

struct chunk *chunk_new(uint32_t cap)
{
    struct chunk *c = malloc(sizeof *c + (size_t)cap * (sizeof(int64_t) + sizeof(double)));
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->n = 0;
    c->cap = cap;
    c->pad = 0;
    c->t = (int64_t *)(c + 1);
    c->v = (double *)(c->t + cap);
    return c;
}

void chunk_unref(struct chunk *c)
{
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        free(c);
}

uint32_t chunk_seek(const struct chunk *c, uint32_t n, int64_t mint)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->t[mid] < mint)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int64_t series_vis_limit(const struct series *s, uint64_t snap)
{
    /* hist is in seq order; the first commit the snapshot does not include bounds it. */
    for (uint32_t i = 0; i < s->nhist; i++)
        if (s->hist[i].seq > snap)
            return s->hist[i].t_before;
    return INT64_MAX;
}

bool series_has_data(const struct series *s, int64_t lo, int64_t hi)
{
    if (lo > hi)
        return false;
    for (uint32_t k = 0; k < s->nchunks; k++) {
        const struct chunk *c = s->chunks[k];
        if (c->n == 0 || c->t[c->n - 1] < lo)
            continue;
        if (c->t[0] > hi)
            return false;
        uint32_t i = chunk_seek(c, c->n, lo);
        return i < c->n && c->t[i] <= hi;
    }
    return false;
}

int series_hist_push(struct series *s, uint64_t seq, uint64_t lowwater)
{
    if (s->nhist && s->hist[s->nhist - 1].seq == seq)
        return 0;
    uint32_t drop = 0;
    while (drop < s->nhist && s->hist[drop].seq <= lowwater)
        drop++;
    if (drop) {
        memmove(s->hist, s->hist + drop, (s->nhist - drop) * sizeof *s->hist);
        s->nhist -= drop;
    }
    if (s->nhist == s->caphist) {
        uint32_t ncap = s->caphist ? s->caphist * 2 : 2;
        struct hist *nh = realloc(s->hist, ncap * sizeof *nh);
        if (!nh)
            return IGNIS_E_NOMEM;
        s->hist = nh;
        s->caphist = ncap;
    }
    s->hist[s->nhist].seq = seq;
    s->hist[s->nhist].t_before = s->last_t;
    s->nhist++;
    return 0;
}

static int chunks_reserve(struct series *s, uint32_t want)
{
    if (want <= s->capchunks)
        return 0;
    uint32_t ncap = s->capchunks ? s->capchunks : 2;
    while (ncap < want)
        ncap *= 2;
    struct chunk **nc = realloc(s->chunks, ncap * sizeof *nc);
    if (!nc)
        return IGNIS_E_NOMEM;
    s->chunks = nc;
    s->capchunks = ncap;
    return 0;
}

int series_push(struct series *s, int64_t t, double v, int *newchunks)
{
    struct chunk *h = s->nchunks ? s->chunks[s->nchunks - 1] : NULL;
    if (!h || h->n == h->cap) {
        if (h && h->cap < MEM_CHUNK_MAX) {
            /* Grow the head chunk by copying: a series set may have pinned the old one. */
            uint32_t ncap = h->cap * 2 < MEM_CHUNK_MAX ? h->cap * 2 : MEM_CHUNK_MAX;
            struct chunk *nc = chunk_new(ncap);
            if (!nc)
                return IGNIS_E_NOMEM;
            memcpy(nc->t, h->t, h->n * sizeof *h->t);
            memcpy(nc->v, h->v, h->n * sizeof *h->v);
            nc->n = h->n;
            s->chunks[s->nchunks - 1] = nc;
            chunk_unref(h);
            h = nc;
        } else {
            if (chunks_reserve(s, s->nchunks + 1) != 0)
                return IGNIS_E_NOMEM;
            h = chunk_new(s->nchunks ? MEM_CHUNK_MAX : MEM_CHUNK_MIN);
            if (!h)
                return IGNIS_E_NOMEM;
            s->chunks[s->nchunks++] = h;
            (*newchunks)++;
        }
    }
    h->t[h->n] = t;
    h->v[h->n] = v;
    h->n++;
    return 0;
}

int series_delete(struct series *s, int64_t lo, int64_t hi, long *dchunks)
{
    *dchunks = 0;
    if (lo > hi || s->nchunks == 0)
        return 0;
    /* Quick exit when nothing overlaps. */
    bool any = false;
    for (uint32_t k = 0; k < s->nchunks && !any; k++) {
        const struct chunk *c = s->chunks[k];
        any = c->n && c->t[0] <= hi && c->t[c->n - 1] >= lo;
    }
    if (!any)
        return 0;
    /* Decide each chunk's fate first (kept, dropped: NULL, or replaced by a copy without
     * the deleted samples), so an allocation failure leaves the series as it was. */
    struct chunk **repl = malloc(s->nchunks * sizeof *repl);
    if (!repl)
        return IGNIS_E_NOMEM;
    for (uint32_t k = 0; k < s->nchunks; k++) {
        struct chunk *c = s->chunks[k];
        repl[k] = c;
        if (c->n == 0 || c->t[0] > hi || c->t[c->n - 1] < lo)
            continue;
        uint32_t a = chunk_seek(c, c->n, lo);
        uint32_t b = hi == INT64_MAX ? c->n : chunk_seek(c, c->n, hi + 1);
        uint32_t keep = c->n - (b - a);
        if (keep == 0) {
            repl[k] = NULL;
            continue;
        }
        struct chunk *nc = chunk_new(keep);
        if (!nc) {
            for (uint32_t i = 0; i < k; i++)
                if (repl[i] && repl[i] != s->chunks[i])
                    chunk_unref(repl[i]);
            free(repl);
            return IGNIS_E_NOMEM;
        }
        memcpy(nc->t, c->t, a * sizeof *c->t);
        memcpy(nc->v, c->v, a * sizeof *c->v);
        memcpy(nc->t + a, c->t + b, (c->n - b) * sizeof *c->t);
        memcpy(nc->v + a, c->v + b, (c->n - b) * sizeof *c->v);
        nc->n = keep;
        repl[k] = nc;
    }
    uint32_t nn = 0;
    for (uint32_t k = 0; k < s->nchunks; k++) {
        if (repl[k] != s->chunks[k])
            chunk_unref(s->chunks[k]);
        if (repl[k])
            repl[nn++] = repl[k];
    }
    *dchunks = (long)nn - (long)s->nchunks;
    free(s->chunks);
    s->capchunks = s->nchunks; /* the size repl was allocated with */
    s->chunks = repl;
    s->nchunks = nn;
    return 0;
}

void series_free_data(struct series *s)
{
    for (uint32_t k = 0; k < s->nchunks; k++)
        chunk_unref(s->chunks[k]);
    free(s->chunks);
    free(s->hist);
    s->chunks = NULL;
    s->hist = NULL;
    s->nchunks = s->capchunks = s->nhist = s->caphist = 0;
}
