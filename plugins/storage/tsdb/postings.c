/* plugins/storage/tsdb/postings.c — set operations on sorted id lists (see postings.h). */
#include "postings.h"

#include <stdlib.h>
#include <string.h>

static int reserve(struct plist *p, size_t n)
{
    if (n <= p->cap)
        return 0;
    size_t ncap = p->cap ? p->cap : 16;
    while (ncap < n)
        ncap *= 2;
    uint32_t *nv = realloc(p->v, ncap * sizeof *nv);
    if (!nv)
        return -1;
    p->v = nv;
    p->cap = ncap;
    return 0;
}

int plist_push(struct plist *p, uint32_t id)
{
    if (reserve(p, p->n + 1) < 0)
        return -1;
    p->v[p->n++] = id;
    return 0;
}

void plist_free(struct plist *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

int plist_intersect(struct plist *out, const struct plist *a, const struct plist *b)
{
    size_t need = a->n < b->n ? a->n : b->n;
    uint32_t *tmp = malloc((need ? need : 1) * sizeof *tmp);
    if (!tmp)
        return -1;
    size_t i = 0, j = 0, k = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            tmp[k++] = a->v[i];
            i++;
            j++;
        }
    }
    free(out->v);
    out->v = tmp;
    out->n = k;
    out->cap = need ? need : 1;
    return 0;
}

int plist_subtract(struct plist *out, const struct plist *a, const struct plist *b)
{
    uint32_t *tmp = malloc((a->n ? a->n : 1) * sizeof *tmp);
    if (!tmp)
        return -1;
    size_t i = 0, j = 0, k = 0;
    while (i < a->n) {
        while (j < b->n && b->v[j] < a->v[i])
            j++;
        if (j < b->n && b->v[j] == a->v[i])
            i++;
        else
            tmp[k++] = a->v[i++];
    }
    free(out->v);
    out->v = tmp;
    out->n = k;
    out->cap = a->n ? a->n : 1;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void plist_sort_unique(struct plist *p)
{
    if (p->n < 2)
        return;
    qsort(p->v, p->n, sizeof *p->v, cmp_u32);
    size_t k = 1;
    for (size_t i = 1; i < p->n; i++)
        if (p->v[i] != p->v[k - 1])
            p->v[k++] = p->v[i];
    p->n = k;
}

int plist_union(struct plist *out, const struct plist *lists, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lists[i].n;
    struct plist r = {0};
    if (reserve(&r, total ? total : 1) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (lists[i].n)
            memcpy(r.v + r.n, lists[i].v, lists[i].n * sizeof *r.v);
        r.n += lists[i].n;
    }
    plist_sort_unique(&r);
    plist_free(out);
    *out = r;
    return 0;
}
