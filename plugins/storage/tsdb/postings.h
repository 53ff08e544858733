/* plugins/storage/tsdb/postings.h — sorted lists of 32-bit series ids and the set
 * operations matchers need: intersect, union of many, subtract. Lists are plain arrays
 * the caller owns; results are malloc'd (caller frees). */
#ifndef TSDB_POSTINGS_H
#define TSDB_POSTINGS_H

#include <stddef.h>
#include <stdint.h>

struct plist {
    uint32_t *v;
    size_t n, cap;
};

int plist_push(struct plist *p, uint32_t id);
void plist_free(struct plist *p);
/* out = a ∩ b (out may be a). */
int plist_intersect(struct plist *out, const struct plist *a, const struct plist *b);
/* out = a \ b (out may be a). */
int plist_subtract(struct plist *out, const struct plist *a, const struct plist *b);
/* out = union of lists[0..n) (sorted, unique). */
int plist_union(struct plist *out, const struct plist *lists, size_t n);
/* Sorts and removes duplicates in place. */
void plist_sort_unique(struct plist *p);

#endif
