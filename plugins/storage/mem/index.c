/* plugins/storage/mem/index.c — the mem storage's symbol table, series tables and
 * inverted index (label name -> value -> sorted series refs), and selection of series by
 * label matchers with Prometheus' semantics. Callers hold idx_lock as mem.h says; nothing
 * here locks except the per-name sort cache. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "mem.h"

/* ---- hashing ------------------------------------------------------------------------- */

uint64_t mem_hash_bytes(const void *p, size_t len)
{
    return XXH3_64bits(p, len);
}

/* A 64-bit finaliser (the splitmix64 mixing steps) so sequential refs and pointers spread
 * over the table. */
uint64_t mem_hash_u64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* ---- ptab ---------------------------------------------------------------------------- */

void *ptab_next(const struct ptab *t, uint64_t h, size_t *i)
{
    if (!t->slots)
        return NULL;
    size_t j = *i == SIZE_MAX ? (h & t->mask) : ((*i + 1) & t->mask);
    for (;; j = (j + 1) & t->mask) {
        if (!t->slots[j].p)
            return NULL;
        if (t->slots[j].h == h) {
            *i = j;
            return t->slots[j].p;
        }
    }
}

static void ptab_put(struct ptab_slot *slots, size_t mask, uint64_t h, void *p)
{
    size_t j = h & mask;
    while (slots[j].p)
        j = (j + 1) & mask;
    slots[j].h = h;
    slots[j].p = p;
}

int ptab_insert(struct ptab *t, uint64_t h, void *p)
{
    size_t cap = t->slots ? t->mask + 1 : 0;
    if ((t->n + 1) * 2 > cap) { /* keep the load at most 1/2: probes stay short */
        size_t ncap = cap ? cap * 2 : 16;
        struct ptab_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return IGNIS_E_NOMEM;
        for (size_t i = 0; i < cap; i++)
            if (t->slots[i].p)
                ptab_put(ns, ncap - 1, t->slots[i].h, t->slots[i].p);
        free(t->slots);
        t->slots = ns;
        t->mask = ncap - 1;
    }
    ptab_put(t->slots, t->mask, h, p);
    t->n++;
    return 0;
}

void ptab_remove(struct ptab *t, uint64_t h, const void *p)
{
    if (!t->slots)
        return;
    size_t i = h & t->mask;
    while (t->slots[i].p != p) {
        if (!t->slots[i].p)
            return;
        i = (i + 1) & t->mask;
    }
    /* Backward-shift deletion: move later members of the probe run into the hole when
     * their home slot does not lie cyclically in (hole, their slot]. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        if (!t->slots[j].p)
            break;
        size_t k = t->slots[j].h & t->mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    t->slots[i].p = NULL;
    t->slots[i].h = 0;
    t->n--;
}

void *ptab_iter(const struct ptab *t, size_t *i)
{
    if (!t->slots)
        return NULL;
    while (*i <= t->mask) {
        void *p = t->slots[(*i)++].p;
        if (p)
            return p;
    }
    return NULL;
}

void ptab_free(struct ptab *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- symbols ------------------------------------------------------------------------- */

int sym_cmp(const struct sym *a, const struct sym *b)
{
    if (a == b)
        return 0;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

struct sym *sym_find(const struct index *ix, const char *s, size_t len)
{
    uint64_t h = mem_hash_bytes(s, len);
    size_t i = SIZE_MAX;
    struct sym *y;
    while ((y = ptab_next(&ix->syms, h, &i)))
        if (y->len == len && memcmp(y->s, s, len) == 0)
            return y;
    return NULL;
}

struct sym *sym_intern(struct index *ix, const char *s, size_t len)
{
    struct sym *y = sym_find(ix, s, len);
    if (y) {
        y->refs++;
        return y;
    }
    if (len > UINT32_MAX)
        return NULL;
    y = malloc(sizeof *y + len + 1);
    if (!y)
        return NULL;
    y->refs = 1;
    y->len = (uint32_t)len;
    y->hash = mem_hash_bytes(s, len);
    if (len)
        memcpy(y->s, s, len);
    y->s[len] = '\0';
    if (ptab_insert(&ix->syms, y->hash, y) != 0) {
        free(y);
        return NULL;
    }
    return y;
}

void sym_unref(struct index *ix, struct sym *y)
{
    if (--y->refs == 0) {
        ptab_remove(&ix->syms, y->hash, y);
        free(y);
    }
}

/* ---- postings ------------------------------------------------------------------------ */

/* Appends id; ids are handed out in increasing order, so the list stays sorted. */
int postings_add(struct postings *p, uint64_t id)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 4;
        uint64_t *ni = realloc(p->ids, ncap * sizeof *ni);
        if (!ni)
            return IGNIS_E_NOMEM;
        p->ids = ni;
        p->cap = ncap;
    }
    p->ids[p->n++] = id;
    return 0;
}

static bool ids_contain(const uint64_t *ids, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == id;
}

/* Drops the ids that are in dead (sorted). */
static void postings_drop(struct postings *p, const uint64_t *dead, size_t ndead)
{
    size_t w = 0;
    for (size_t r = 0; r < p->n; r++)
        if (!ids_contain(dead, ndead, p->ids[r]))
            p->ids[w++] = p->ids[r];
    p->n = w;
}

/* ---- names and values ---------------------------------------------------------------- */

static struct lname *lname_of(const struct index *ix, const struct sym *name)
{
    size_t i = SIZE_MAX;
    struct lname *ln;
    while ((ln = ptab_next(&ix->names, name->hash, &i)))
        if (ln->name == name)
            return ln;
    return NULL;
}

struct lname *index_lname(const struct index *ix, const char *name, size_t len)
{
    struct sym *y = sym_find(ix, name, len);
    return y ? lname_of(ix, y) : NULL;
}

struct lvalue *lname_value(const struct lname *ln, const struct sym *v)
{
    size_t i = SIZE_MAX;
    struct lvalue *lv;
    while ((lv = ptab_next(&ln->values, v->hash, &i)))
        if (lv->value == v)
            return lv;
    return NULL;
}

int symp_cmp(const void *a, const void *b)
{
    return sym_cmp(*(struct sym *const *)a, *(struct sym *const *)b);
}

struct sym *const *lname_sorted(struct lname *ln, size_t *n)
{
    pthread_mutex_lock(&ln->sort_mu);
    if (!ln->sorted_ok) {
        struct sym **ns = realloc(ln->sorted, (ln->values.n ? ln->values.n : 1) * sizeof *ns);
        if (!ns) {
            pthread_mutex_unlock(&ln->sort_mu);
            *n = 0;
            return NULL;
        }
        ln->sorted = ns;
        size_t k = 0, it = 0;
        struct lvalue *lv;
        while ((lv = ptab_iter(&ln->values, &it)))
            ns[k++] = lv->value;
        qsort(ns, k, sizeof *ns, symp_cmp);
        ln->nsorted = k;
        ln->sorted_ok = true;
    }
    pthread_mutex_unlock(&ln->sort_mu);
    *n = ln->nsorted;
    return ln->sorted;
}

static void lname_free(struct lname *ln)
{
    size_t it = 0;
    struct lvalue *lv;
    while ((lv = ptab_iter(&ln->values, &it))) {
        free(lv->p.ids);
        free(lv);
    }
    ptab_free(&ln->values);
    pthread_mutex_destroy(&ln->sort_mu);
    free(ln->sorted);
    free(ln);
}

/* ---- series tables ------------------------------------------------------------------- */

int series_cmp(const struct series *a, const struct series *b)
{
    uint32_t n = a->nls < b->nls ? a->nls : b->nls;
    for (uint32_t i = 0; i < 2 * n; i++) {
        int c = sym_cmp(a->ls[i], b->ls[i]);
        if (c)
            return c;
    }
    return a->nls < b->nls ? -1 : a->nls > b->nls;
}

static bool series_eq_labels(const struct series *s, const struct ignis_label *ls, size_t n)
{
    if (s->nls != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const struct sym *nm = s->ls[2 * i], *v = s->ls[2 * i + 1];
        if (nm->len != ls[i].name_len || v->len != ls[i].value_len ||
            memcmp(nm->s, ls[i].name, nm->len) != 0 || memcmp(v->s, ls[i].value, v->len) != 0)
            return false;
    }
    return true;
}

struct series *index_find_labels(const struct index *ix, uint64_t hash,
                                 const struct ignis_label *ls, size_t n)
{
    size_t i = SIZE_MAX;
    struct series *s;
    while ((s = ptab_next(&ix->by_hash, hash, &i)))
        if (series_eq_labels(s, ls, n))
            return s;
    return NULL;
}

struct series *index_find_ref(const struct index *ix, uint64_t ref)
{
    uint64_t k = ref >> MEM_REFSEG_BITS;
    if (k < ix->by_ref.base || k - ix->by_ref.base >= ix->by_ref.ndir)
        return NULL;
    const struct refseg *g = ix->by_ref.dir[k - ix->by_ref.base];
    return g ? g->s[ref & (MEM_REFSEG - 1)] : NULL;
}

struct series *index_iter(const struct index *ix, uint64_t *it)
{
    const struct reftab *rt = &ix->by_ref;
    if (*it < (uint64_t)rt->base << MEM_REFSEG_BITS)
        *it = (uint64_t)rt->base << MEM_REFSEG_BITS;
    for (;;) {
        uint64_t k = (*it >> MEM_REFSEG_BITS) - rt->base;
        if (k >= rt->ndir)
            return NULL;
        const struct refseg *g = rt->dir[k];
        if (!g) {
            *it = (k + rt->base + 1) << MEM_REFSEG_BITS;
            continue;
        }
        struct series *s = g->s[*it & (MEM_REFSEG - 1)];
        (*it)++;
        if (s)
            return s;
    }
}

static int reftab_put(struct reftab *rt, uint64_t ref, struct series *s)
{
    uint64_t k = ref >> MEM_REFSEG_BITS;
    if (rt->ndir == 0)
        rt->base = k;
    if (k < rt->base)
        return IGNIS_E_INVALID; /* refs only grow: cannot happen */
    if (k - rt->base >= rt->ndir) {
        size_t nn = k - rt->base + 1;
        if (nn > rt->capdir) {
            size_t cap = rt->capdir ? rt->capdir : 16;
            while (cap < nn)
                cap *= 2;
            struct refseg **nd = realloc(rt->dir, cap * sizeof *nd);
            if (!nd)
                return IGNIS_E_NOMEM;
            memset(nd + rt->capdir, 0, (cap - rt->capdir) * sizeof *nd);
            rt->dir = nd;
            rt->capdir = cap;
        }
        rt->ndir = nn; /* entries past ndir are always NULL */
    }
    struct refseg **gp = &rt->dir[k - rt->base];
    if (!*gp && !(*gp = calloc(1, sizeof **gp)))
        return IGNIS_E_NOMEM;
    (*gp)->s[ref & (MEM_REFSEG - 1)] = s;
    (*gp)->live++;
    return 0;
}

static void reftab_del(struct reftab *rt, uint64_t ref)
{
    uint64_t k = ref >> MEM_REFSEG_BITS;
    if (k < rt->base || k - rt->base >= rt->ndir)
        return;
    struct refseg **gp = &rt->dir[k - rt->base];
    if (!*gp || !(*gp)->s[ref & (MEM_REFSEG - 1)])
        return;
    (*gp)->s[ref & (MEM_REFSEG - 1)] = NULL;
    if (--(*gp)->live == 0) {
        free(*gp);
        *gp = NULL;
    }
    /* Drop leading empty segments once they are half the directory. */
    size_t lead = 0;
    while (lead < rt->ndir && !rt->dir[lead])
        lead++;
    if (lead == rt->ndir) {
        free(rt->dir);
        memset(rt, 0, sizeof *rt);
    } else if (lead > 0 && lead * 2 >= rt->ndir) {
        memmove(rt->dir, rt->dir + lead, (rt->ndir - lead) * sizeof *rt->dir);
        memset(rt->dir + rt->ndir - lead, 0, lead * sizeof *rt->dir);
        rt->ndir -= lead;
        rt->base += lead;
    }
}

static void reftab_free(struct reftab *rt)
{
    for (size_t k = 0; k < rt->ndir; k++)
        free(rt->dir[k]);
    free(rt->dir);
    memset(rt, 0, sizeof *rt);
}

/* Adds s' ref to the postings of (name, value), creating the name and value entries. */
static int index_post(struct index *ix, struct sym *name, struct sym *value, uint64_t ref)
{
    struct lname *ln = lname_of(ix, name);
    if (!ln) {
        ln = calloc(1, sizeof *ln);
        if (!ln)
            return IGNIS_E_NOMEM;
        ln->name = name;
        pthread_mutex_init(&ln->sort_mu, NULL);
        if (ptab_insert(&ix->names, name->hash, ln) != 0) {
            lname_free(ln);
            return IGNIS_E_NOMEM;
        }
    }
    struct lvalue *lv = lname_value(ln, value);
    if (!lv) {
        lv = calloc(1, sizeof *lv);
        if (!lv)
            return IGNIS_E_NOMEM;
        lv->value = value;
        if (ptab_insert(&ln->values, value->hash, lv) != 0) {
            free(lv);
            return IGNIS_E_NOMEM;
        }
        ln->sorted_ok = false;
    }
    return postings_add(&lv->p, ref);
}

struct series *index_add(struct index *ix, uint64_t hash, const struct ignis_label *ls, size_t n)
{
    struct series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ls = calloc(n ? 2 * n : 1, sizeof *s->ls);
    if (!s->ls) {
        free(s);
        return NULL;
    }
    s->hash = hash;
    s->last_t = INT64_MIN;
    s->ex_last_t = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        s->ls[2 * i] = sym_intern(ix, ls[i].name, ls[i].name_len);
        s->ls[2 * i + 1] = s->ls[2 * i] ? sym_intern(ix, ls[i].value, ls[i].value_len) : NULL;
        if (!s->ls[2 * i + 1])
            goto fail_syms;
        s->nls++;
    }
    s->ref = ++ix->next_ref;
    if (ptab_insert(&ix->by_hash, hash, s) != 0)
        goto fail_syms;
    if (reftab_put(&ix->by_ref, s->ref, s) != 0) {
        ptab_remove(&ix->by_hash, hash, s);
        goto fail_syms;
    }
    ix->nseries++;
    for (size_t i = 0; i < n; i++)
        if (index_post(ix, s->ls[2 * i], s->ls[2 * i + 1], s->ref) != 0)
            goto fail_posted;
    if (postings_add(&ix->all, s->ref) != 0)
        goto fail_posted;
    return s;

fail_posted:
    index_unlink(ix, s);
    index_compact(ix, &s->ref, 1);
    index_free_series(ix, s);
    return NULL;
fail_syms:
    if (s->nls < n && s->ls[2 * s->nls])
        sym_unref(ix, s->ls[2 * s->nls]);
    for (uint32_t i = 0; i < 2 * s->nls; i++)
        sym_unref(ix, s->ls[i]);
    free(s->ls);
    free(s);
    return NULL;
}

void index_unlink(struct index *ix, struct series *s)
{
    if (index_find_ref(ix, s->ref) == s) {
        ix->nseries--;
        reftab_del(&ix->by_ref, s->ref);
    }
    ptab_remove(&ix->by_hash, s->hash, s);
    for (uint32_t i = 0; i < s->nls; i++) {
        struct lname *ln = lname_of(ix, s->ls[2 * i]);
        struct lvalue *lv = ln ? lname_value(ln, s->ls[2 * i + 1]) : NULL;
        if (lv) {
            lv->dirty = true;
            ln->dirty = true;
        }
    }
}

void index_compact(struct index *ix, const uint64_t *dead, size_t ndead)
{
    postings_drop(&ix->all, dead, ndead);
    /* Removing from a table while iterating it could skip members, so gather first. */
    struct lname **gone_names = NULL;
    size_t ngone_names = 0, it = 0;
    struct lname *ln;
    while ((ln = ptab_iter(&ix->names, &it))) {
        if (!ln->dirty)
            continue;
        ln->dirty = false;
        struct lvalue **gone = NULL;
        size_t ngone = 0, vit = 0;
        struct lvalue *lv;
        while ((lv = ptab_iter(&ln->values, &vit))) {
            if (!lv->dirty)
                continue;
            lv->dirty = false;
            postings_drop(&lv->p, dead, ndead);
            if (lv->p.n == 0) {
                struct lvalue **ng = realloc(gone, (ngone + 1) * sizeof *ng);
                if (!ng)
                    continue; /* out of memory: the value stays, with no series */
                gone = ng;
                gone[ngone++] = lv;
            }
        }
        for (size_t i = 0; i < ngone; i++) {
            ptab_remove(&ln->values, gone[i]->value->hash, gone[i]);
            free(gone[i]->p.ids);
            free(gone[i]);
        }
        if (ngone)
            ln->sorted_ok = false;
        free(gone);
        if (ln->values.n == 0) {
            struct lname **ng = realloc(gone_names, (ngone_names + 1) * sizeof *ng);
            if (ng) {
                gone_names = ng;
                gone_names[ngone_names++] = ln;
            }
        }
    }
    for (size_t i = 0; i < ngone_names; i++) {
        ptab_remove(&ix->names, gone_names[i]->name->hash, gone_names[i]);
        lname_free(gone_names[i]);
    }
    free(gone_names);
}

void index_free_series(struct index *ix, struct series *s)
{
    for (uint32_t i = 0; i < 2 * s->nls; i++)
        sym_unref(ix, s->ls[i]);
    series_free_data(s);
    free(s->ls);
    free(s);
}

void index_free(struct index *ix)
{
    size_t it = 0;
    struct lname *ln;
    while ((ln = ptab_iter(&ix->names, &it)))
        lname_free(ln);
    ptab_free(&ix->names);
    it = 0;
    struct sym *y;
    while ((y = ptab_iter(&ix->syms, &it)))
        free(y);
    ptab_free(&ix->syms);
    ptab_free(&ix->by_hash);
    reftab_free(&ix->by_ref);
    free(ix->all.ids);
    memset(ix, 0, sizeof *ix);
}

/* ---- selection ----------------------------------------------------------------------- */

/* A list of refs, borrowed from the index or owned. */
struct plist {
    const uint64_t *ids;
    size_t n;
    uint64_t *owned;
};

static void plist_free(struct plist *p)
{
    free(p->owned);
    p->owned = NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The union of the postings of vals. */
static int plist_union(struct lvalue *const *vals, size_t n, struct plist *out)
{
    memset(out, 0, sizeof *out);
    if (n == 1) {
        out->ids = vals[0]->p.ids;
        out->n = vals[0]->p.n;
        return 0;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += vals[i]->p.n;
    uint64_t *ids = malloc((total ? total : 1) * sizeof *ids);
    if (!ids)
        return IGNIS_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (vals[i]->p.n)
            memcpy(ids + k, vals[i]->p.ids, vals[i]->p.n * sizeof *ids);
        k += vals[i]->p.n;
    }
    qsort(ids, k, sizeof *ids, cmp_u64);
    size_t w = 0;
    for (size_t r = 0; r < k; r++)
        if (w == 0 || ids[w - 1] != ids[r])
            ids[w++] = ids[r];
    out->ids = out->owned = ids;
    out->n = w;
    return 0;
}

struct vals {
    struct lvalue **v;
    size_t n, cap;
};

static int vals_add(struct vals *vs, struct lvalue *lv)
{
    if (vs->n == vs->cap) {
        size_t ncap = vs->cap ? vs->cap * 2 : 8;
        struct lvalue **nv = realloc(vs->v, ncap * sizeof *nv);
        if (!nv)
            return IGNIS_E_NOMEM;
        vs->v = nv;
        vs->cap = ncap;
    }
    vs->v[vs->n++] = lv;
    return 0;
}

/* Adds the value named by (s, len) when ln has it. */
static int vals_add_named(struct vals *vs, const struct index *ix, const struct lname *ln,
                          const char *s, size_t len)
{
    struct sym *y = sym_find(ix, s, len);
    struct lvalue *lv = y ? lname_value(ln, y) : NULL;
    return lv ? vals_add(vs, lv) : 0;
}

/* The values v of ln for which the regex's match result equals `want`, using the
 * regex's literal alternatives or literal prefix when it has them and want is true. */
static int regex_values(const struct index *ix, struct lname *ln, const struct ignis_regex *re,
                        bool want, struct vals *vs)
{
    if (want) {
        const char *const *lits;
        const size_t *lens;
        size_t k = ignis_regex_literals(re, &lits, &lens);
        if (k > 0) {
            /* A repeated alternative ("a|a") adds its value twice; the union dedupes. */
            for (size_t i = 0; i < k; i++) {
                int rc = vals_add_named(vs, ix, ln, lits[i], lens[i]);
                if (rc)
                    return rc;
            }
            return 0;
        }
        size_t plen = 0;
        const char *prefix = ignis_regex_prefix(re, &plen);
        if (prefix && plen > 0) {
            size_t ns;
            struct sym *const *sorted = lname_sorted(ln, &ns);
            if (!sorted && ln->values.n)
                return IGNIS_E_NOMEM;
            size_t lo = 0, hi = ns;
            while (lo < hi) { /* first value >= prefix */
                size_t mid = lo + (hi - lo) / 2;
                const struct sym *y = sorted[mid];
                size_t m = y->len < plen ? y->len : plen;
                int c = memcmp(y->s, prefix, m);
                if (c < 0 || (c == 0 && y->len < plen))
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (size_t i = lo; i < ns; i++) {
                const struct sym *y = sorted[i];
                if (y->len < plen || memcmp(y->s, prefix, plen) != 0)
                    break;
                if (ignis_regex_match(re, y->s, y->len)) {
                    int rc = vals_add(vs, lname_value(ln, y));
                    if (rc)
                        return rc;
                }
            }
            return 0;
        }
    }
    size_t it = 0;
    struct lvalue *lv;
    while ((lv = ptab_iter(&ln->values, &it)))
        if (ignis_regex_match(re, lv->value->s, lv->value->len) == want) {
            int rc = vals_add(vs, lv);
            if (rc)
                return rc;
        }
    return 0;
}

/* The values of ln for which ignis_matcher_matches(m, value) == want. */
static int matcher_values(const struct index *ix, struct lname *ln, const struct ignis_matcher *m,
                          bool want, struct vals *vs)
{
    switch (m->type) {
    case IGNIS_MATCH_EQ:
    case IGNIS_MATCH_NE:
        if ((m->type == IGNIS_MATCH_EQ) == want)
            return vals_add_named(vs, ix, ln, m->value, m->value_len);
        break;
    case IGNIS_MATCH_RE:
    case IGNIS_MATCH_NRE:
        if (m->re)
            return regex_values(ix, ln, m->re, (m->type == IGNIS_MATCH_RE) == want, vs);
        break;
    }
    size_t it = 0;
    struct lvalue *lv;
    while ((lv = ptab_iter(&ln->values, &it)))
        if (ignis_matcher_matches(m, lv->value->s, lv->value->len) == want) {
            int rc = vals_add(vs, lv);
            if (rc)
                return rc;
        }
    return 0;
}

/* a ∩ b into out (owned). Uses binary search when one side is much shorter. */
static int intersect(const struct plist *a, const struct plist *b, struct plist *out)
{
    if (a->n > b->n) {
        const struct plist *t = a;
        a = b;
        b = t;
    }
    uint64_t *ids = malloc((a->n ? a->n : 1) * sizeof *ids);
    if (!ids)
        return IGNIS_E_NOMEM;
    size_t w = 0;
    if (a->n * 16 < b->n) {
        for (size_t i = 0; i < a->n; i++)
            if (ids_contain(b->ids, b->n, a->ids[i]))
                ids[w++] = a->ids[i];
    } else {
        size_t i = 0, j = 0;
        while (i < a->n && j < b->n) {
            if (a->ids[i] < b->ids[j])
                i++;
            else if (a->ids[i] > b->ids[j])
                j++;
            else {
                ids[w++] = a->ids[i];
                i++;
                j++;
            }
        }
    }
    out->ids = out->owned = ids;
    out->n = w;
    return 0;
}

/* a \ b into out (owned). */
static int subtract(const struct plist *a, const struct plist *b, struct plist *out)
{
    uint64_t *ids = malloc((a->n ? a->n : 1) * sizeof *ids);
    if (!ids)
        return IGNIS_E_NOMEM;
    size_t w = 0, j = 0;
    for (size_t i = 0; i < a->n; i++) {
        while (j < b->n && b->ids[j] < a->ids[i])
            j++;
        if (j < b->n && b->ids[j] == a->ids[i])
            continue;
        ids[w++] = a->ids[i];
    }
    out->ids = out->owned = ids;
    out->n = w;
    return 0;
}

static int cmp_plist_len(const void *a, const void *b)
{
    size_t x = ((const struct plist *)a)->n, y = ((const struct plist *)b)->n;
    return x < y ? -1 : x > y;
}

/* Each matcher becomes a list of refs to keep (it does not match "": the union of the
 * values it matches) or a list to drop (it matches "", so series without the label stay:
 * drop the series whose value it does not match). The result is the intersection of the
 * keep lists (every series when there is none) minus every drop list. */
int index_select(struct index *ix, const struct ignis_matcher *ms, size_t n, uint64_t **out,
                 size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (n == 0)
        return 0;
    struct plist *pos = calloc(n, sizeof *pos), *neg = calloc(n, sizeof *neg);
    struct vals vs = {0};
    size_t npos = 0, nneg = 0;
    int rc = 0;
    bool empty = false;
    if (!pos || !neg) {
        rc = IGNIS_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n && !empty; i++) {
        const struct ignis_matcher *m = &ms[i];
        struct lname *ln = index_lname(ix, m->name, m->name_len);
        bool me = ignis_matcher_matches_empty(m);
        if (!ln) {
            empty = !me; /* nobody has the label: every series has the empty value */
            continue;
        }
        vs.n = 0;
        if ((rc = matcher_values(ix, ln, m, !me, &vs)) != 0)
            goto done;
        if (me) {
            if (vs.n && (rc = plist_union(vs.v, vs.n, &neg[nneg++])) != 0)
                goto done;
        } else if (vs.n == 0) {
            empty = true;
        } else if ((rc = plist_union(vs.v, vs.n, &pos[npos++])) != 0) {
            goto done;
        }
    }
    if (empty)
        goto done;
    struct plist cur = {.ids = ix->all.ids, .n = ix->all.n};
    if (npos) {
        qsort(pos, npos, sizeof *pos, cmp_plist_len);
        cur = pos[0];
        pos[0].owned = NULL; /* moved into cur */
        for (size_t i = 1; i < npos && cur.n; i++) {
            struct plist nx;
            if ((rc = intersect(&cur, &pos[i], &nx)) != 0) {
                plist_free(&cur);
                goto done;
            }
            plist_free(&cur);
            cur = nx;
        }
    }
    for (size_t i = 0; i < nneg && cur.n; i++) {
        struct plist nx;
        if ((rc = subtract(&cur, &neg[i], &nx)) != 0) {
            plist_free(&cur);
            goto done;
        }
        plist_free(&cur);
        cur = nx;
    }
    if (!cur.owned && cur.n) { /* still borrowed from the index: copy */
        uint64_t *ids = malloc(cur.n * sizeof *ids);
        if (!ids) {
            rc = IGNIS_E_NOMEM;
            goto done;
        }
        memcpy(ids, cur.ids, cur.n * sizeof *ids);
        cur.owned = ids;
    }
    *out = cur.owned;
    *nout = cur.owned ? cur.n : 0;
done:
    for (size_t i = 0; pos && i < npos; i++)
        plist_free(&pos[i]);
    for (size_t i = 0; neg && i < nneg; i++)
        plist_free(&neg[i]);
    free(pos);
    free(neg);
    free(vs.v);
    return rc;
}
