/* plugins/storage/tsdb/exemplars.c — the exemplar ring (see exemplars.h). */
#include "exemplars.h"
#include "enc.h"

#include <ignis/plugin.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

struct exentry {
    uint64_t ref;
    uint64_t seq;   /* 0: empty slot */
    int64_t t;
    double v;
    struct ignis_label *ls; /* labels and their strings in one allocation */
    size_t n;
    uint32_t prev;  /* the series' previous exemplar, valid while its seq is older */
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    return x ^ (x >> 33);
}

void exstore_init(struct exstore *x, size_t cap)
{
    memset(x, 0, sizeof *x);
    pthread_mutex_init(&x->mu, NULL);
    exstore_resize(x, cap);
}

static void entry_clear(struct exentry *e)
{
    free(e->ls);
    memset(e, 0, sizeof *e);
}

void exstore_free(struct exstore *x)
{
    for (size_t i = 0; i < x->cap; i++)
        entry_clear(&x->ring[i]);
    free(x->ring);
    free(x->keys);
    free(x->idx);
    pthread_mutex_destroy(&x->mu);
}

bool exstore_on(struct exstore *x)
{
    pthread_mutex_lock(&x->mu);
    bool on = x->cap > 0;
    pthread_mutex_unlock(&x->mu);
    return on;
}

/* The slot for ref in the index (mu held); grows it. NULL on allocation failure. */
static uint32_t *slot(struct exstore *x, uint64_t ref, bool create)
{
    if (create && (!x->keys || (x->nkeys + 1) * 2 > x->mask + 1)) {
        size_t ncap = x->keys ? (x->mask + 1) * 2 : 1024;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        uint32_t *ni = malloc(ncap * sizeof *ni);
        if (!nk || !ni) {
            free(nk);
            free(ni);
            return NULL;
        }
        for (size_t i = 0; i < ncap; i++)
            ni[i] = NONE;
        size_t n = 0;
        for (size_t i = 0; x->keys && i <= x->mask; i++)
            if (x->idx[i] != NONE) {
                size_t j = mix(x->keys[i]) & (ncap - 1);
                while (ni[j] != NONE)
                    j = (j + 1) & (ncap - 1);
                nk[j] = x->keys[i];
                ni[j] = x->idx[i];
                n++;
            }
        free(x->keys);
        free(x->idx);
        x->keys = nk;
        x->idx = ni;
        x->mask = ncap - 1;
        x->nkeys = n;
    }
    if (!x->keys)
        return NULL;
    for (size_t i = mix(ref) & x->mask;; i = (i + 1) & x->mask) {
        if (x->idx[i] == NONE) {
            if (!create)
                return NULL;
            x->keys[i] = ref;
            x->nkeys++;
            return &x->idx[i];
        }
        if (x->keys[i] == ref)
            return &x->idx[i];
    }
}

/* The newest stored exemplar of ref, or NULL (mu held). A slot may have been reused by
 * another series since; then it no longer counts. */
static struct exentry *newest(struct exstore *x, uint64_t ref)
{
    uint32_t *s = slot(x, ref, false);
    if (!s || *s == NONE || *s >= x->cap)
        return NULL;
    struct exentry *e = &x->ring[*s];
    return e->seq && e->ref == ref ? e : NULL;
}

static bool same_labels(const struct exentry *e, const struct ignis_label *ls, size_t n)
{
    if (e->n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (e->ls[i].name_len != ls[i].name_len || e->ls[i].value_len != ls[i].value_len ||
            memcmp(e->ls[i].name, ls[i].name, ls[i].name_len) ||
            (ls[i].value_len && memcmp(e->ls[i].value, ls[i].value, ls[i].value_len)))
            return false;
    return true;
}

static size_t runes(const char *s, size_t len)
{
    size_t r = 0;
    for (size_t i = 0; i < len; i++)
        r += ((unsigned char)s[i] & 0xc0) != 0x80;
    return r;
}

static int check_locked(struct exstore *x, uint64_t ref, int64_t t, double v,
                        const struct ignis_label *ls, size_t n)
{
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ls[i].name_len || !ignis_utf8_valid(ls[i].name, ls[i].name_len) ||
            (ls[i].value_len && !ignis_utf8_valid(ls[i].value, ls[i].value_len)))
            return IGNIS_E_INVALID;
        r += runes(ls[i].name, ls[i].name_len) + runes(ls[i].value, ls[i].value_len);
    }
    if (r > EXEMPLAR_MAX_RUNES)
        return IGNIS_E_INVALID;
    const struct exentry *e = newest(x, ref);
    if (!e)
        return 0;
    if (e->t == t && f64_bits(e->v) == f64_bits(v) && same_labels(e, ls, n))
        return 1;
    return t <= e->t ? IGNIS_E_OUT_OF_ORDER : 0;
}

int exstore_check(struct exstore *x, uint64_t ref, int64_t t, double v,
                  const struct ignis_label *ls, size_t n)
{
    pthread_mutex_lock(&x->mu);
    int rc = x->cap ? check_locked(x, ref, t, v, ls, n) : IGNIS_E_NOTSUP;
    pthread_mutex_unlock(&x->mu);
    return rc;
}

int exstore_add(struct exstore *x, uint64_t ref, int64_t t, double v,
                const struct ignis_label *ls, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += ls[i].name_len + ls[i].value_len;
    struct ignis_label *copy = malloc(n * sizeof *copy + bytes + 1);
    if (!copy)
        return IGNIS_E_NOMEM;
    char *p = (char *)(copy + n);
    for (size_t i = 0; i < n; i++) {
        copy[i].name = p;
        copy[i].name_len = ls[i].name_len;
        memcpy(p, ls[i].name, ls[i].name_len);
        p += ls[i].name_len;
        copy[i].value = p;
        copy[i].value_len = ls[i].value_len;
        if (ls[i].value_len)
            memcpy(p, ls[i].value, ls[i].value_len);
        p += ls[i].value_len;
    }
    pthread_mutex_lock(&x->mu);
    int rc = x->cap ? check_locked(x, ref, t, v, ls, n) : IGNIS_E_NOTSUP;
    if (rc != 0) {
        pthread_mutex_unlock(&x->mu);
        free(copy);
        return rc == 1 ? 0 : rc;
    }
    uint32_t *s = slot(x, ref, true);
    if (!s) {
        pthread_mutex_unlock(&x->mu);
        free(copy);
        return IGNIS_E_NOMEM;
    }
    uint32_t prev = *s;
    struct exentry *e = &x->ring[x->next];
    if (e->seq) {
        /* The oldest goes: if it was its series' newest, the series has none left. */
        uint32_t *os = slot(x, e->ref, false);
        if (os && *os == x->next)
            *os = NONE;
        entry_clear(e);
        x->count--;
    }
    /* slot() may have moved when growing: look ref up again. */
    s = slot(x, ref, true);
    *e = (struct exentry){ref, ++x->seq, t, v, copy, n, prev};
    *s = (uint32_t)x->next;
    x->next = (x->next + 1) % x->cap;
    x->count++;
    pthread_mutex_unlock(&x->mu);
    return 0;
}

int exstore_resize(struct exstore *x, size_t cap)
{
    if (cap > UINT32_MAX - 1)
        return IGNIS_E_LIMIT;
    pthread_mutex_lock(&x->mu);
    struct exentry *old = x->ring;
    size_t ocap = x->cap, onext = x->next, ocount = x->count;
    struct exentry *nr = cap ? calloc(cap, sizeof *nr) : NULL;
    if (cap && !nr) {
        pthread_mutex_unlock(&x->mu);
        return IGNIS_E_NOMEM;
    }
    free(x->keys);
    free(x->idx);
    x->keys = NULL;
    x->idx = NULL;
    x->mask = x->nkeys = 0;
    x->ring = nr;
    x->cap = cap;
    x->next = x->count = 0;
    /* Re-add the newest min(count, cap), oldest first, rebuilding the chains. */
    size_t keep = ocount < cap ? ocount : cap;
    for (size_t i = 0; i < ocount; i++) {
        struct exentry *e = &old[(onext + ocap - ocount + i) % ocap];
        if (i < ocount - keep) {
            entry_clear(e);
            continue;
        }
        uint32_t *s = slot(x, e->ref, true);
        uint32_t prev = s ? *s : NONE;
        x->ring[x->next] = (struct exentry){e->ref, ++x->seq, e->t, e->v, e->ls, e->n, prev};
        if (s)
            *s = (uint32_t)x->next;
        x->next = (x->next + 1) % cap;
        x->count++;
    }
    free(old);
    pthread_mutex_unlock(&x->mu);
    return 0;
}

void exstore_each(struct exstore *x, uint64_t ref, int64_t mint, int64_t maxt,
                  void (*fn)(void *arg, int64_t t, double v, const struct ignis_label *ls,
                             size_t n),
                  void *arg)
{
    pthread_mutex_lock(&x->mu);
    /* Walk newest to oldest, then call oldest first. */
    uint32_t chain[256];
    size_t k = 0;
    struct exentry *e = x->cap ? newest(x, ref) : NULL;
    uint64_t seq = UINT64_MAX;
    while (e && e->seq < seq && e->ref == ref) {
        seq = e->seq;
        if (e->t >= mint && e->t <= maxt) {
            if (k == sizeof chain / sizeof *chain)
                break; /* the newest 256 of a series per call */
            chain[k++] = (uint32_t)(e - x->ring);
        }
        if (e->prev == NONE || e->prev >= x->cap)
            break;
        e = &x->ring[e->prev];
        if (!e->seq)
            break;
    }
    while (k--) {
        const struct exentry *c = &x->ring[chain[k]];
        fn(arg, c->t, c->v, c->ls, c->n);
    }
    pthread_mutex_unlock(&x->mu);
}
