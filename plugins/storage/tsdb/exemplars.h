/* plugins/storage/tsdb/exemplars.h — the bounded in-memory exemplar store: a ring of the
 * newest max_exemplars exemplars across all series (the oldest overwritten first, as in
 * Prometheus), with each series' exemplars chained newest first. Off when the bound is 0.
 * One mutex guards it; any thread. */
#ifndef TSDB_EXEMPLARS_H
#define TSDB_EXEMPLARS_H

#include <ignis/labels.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prometheus caps an exemplar's label set at 128 UTF-8 characters. */
#define EXEMPLAR_MAX_RUNES 128

struct exentry;

struct exstore {
    pthread_mutex_t mu;
    struct exentry *ring;
    size_t cap, next, count;
    uint64_t seq;
    /* ref -> ring index of the series' newest exemplar (open addressing) */
    uint64_t *keys;
    uint32_t *idx;
    size_t mask, nkeys;
};

void exstore_init(struct exstore *x, size_t cap);
void exstore_free(struct exstore *x);
bool exstore_on(struct exstore *x);
/* Resizes keeping the newest; 0 turns the store off. */
int exstore_resize(struct exstore *x, size_t cap);
/* Checks an exemplar for series ref against what is stored: 0 when new, 1 when it is the
 * newest one again (kept once), or IGNIS_E_INVALID / IGNIS_E_OUT_OF_ORDER. */
int exstore_check(struct exstore *x, uint64_t ref, int64_t t, double v,
                  const struct ignis_label *ls, size_t n);
/* Stores it (copies the labels); duplicates and older ones are dropped quietly. */
int exstore_add(struct exstore *x, uint64_t ref, int64_t t, double v,
                const struct ignis_label *ls, size_t n);
/* Calls fn for each exemplar of ref within [mint, maxt], oldest first. */
void exstore_each(struct exstore *x, uint64_t ref, int64_t mint, int64_t maxt,
                  void (*fn)(void *arg, int64_t t, double v, const struct ignis_label *ls,
                             size_t n),
                  void *arg);

#endif
