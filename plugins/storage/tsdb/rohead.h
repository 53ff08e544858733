/* plugins/storage/tsdb/rohead.h — a read-only view of a data directory's head for tools
 * (`ignisctl tsdb dump`): the series and samples that chunks_head/, the last WAL checkpoint
 * and the WAL segments after it hold, loaded without taking the lock, creating, repairing,
 * truncating or checkpointing anything. Replay follows the head's rules: mmapped chunks
 * first, then WAL samples newer than them, in order per series; samples older than the
 * minimum valid time (the newest block's end) are dropped, as Prometheus' read-only DB does. */
#ifndef TSDB_ROHEAD_H
#define TSDB_ROHEAD_H

#include "meta.h"

#include <ignis/labels.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bound on the samples one view holds (16 bytes each in memory). */
#define ROHEAD_MAX_SAMPLES (1ull << 30)

/* A growing list of samples (times and values apart), freed with tsdb_tv_free. */
struct tsdb_tv {
    int64_t *t;
    double *v;
    size_t n, cap;
};
/* Appends one sample. Returns 0, or -1 when memory runs out (x unchanged). */
int tsdb_tv_push(struct tsdb_tv *x, int64_t t, double v);
void tsdb_tv_free(struct tsdb_tv *x);

struct rohead_series {
    uint64_t ref;              /* the WAL's series ref */
    struct ignis_label *ls;    /* sorted; strings in store */
    size_t nls;
    char *store;
    struct tsdb_tv tv;         /* samples in time order */
    int64_t mm_maxt;           /* newest sample of its mmapped chunks (INT64_MIN: none) */
};

struct rohead {
    struct rohead_series **s;  /* in ref order */
    size_t n, cap;
    struct tombstones stones;  /* by series ref, normalized */
    uint64_t samples, unknown_refs;
    int64_t mint, maxt;        /* INT64_MAX / INT64_MIN when empty */
    /* Where reading stopped early (a torn or corrupt WAL record): a message, else "". */
    char warning[256];
    /* internal: ref -> series index (open addressing), label-set hash -> index */
    uint64_t *refkeys;
    size_t *refvals, refcap, nrefs;
    size_t *byhash, hashcap;
};

/* Loads dir's head (dir holds wal/ and chunks_head/; either may be missing). min_valid:
 * samples older than this are not part of the head (INT64_MIN: keep all). Returns 0 or -1
 * with err. Free with rohead_free. */
int rohead_load(struct rohead *h, const char *dir, int64_t min_valid, char *err,
                size_t errlen);
void rohead_free(struct rohead *h);

#endif
