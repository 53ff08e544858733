/* plugins/storage/tsdb/checkpoint.h — WAL checkpoints: "checkpoint.NNNNNNNN" holds, as WAL
 * segments of its own, what the head still needs from segments up to NNNNNNNN: the series
 * it keeps, and their samples, tombstones and exemplars at or after a time. Replay reads
 * the last checkpoint, then the segments after it. */
#ifndef TSDB_CHECKPOINT_H
#define TSDB_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct checkpoint_stats {
    uint64_t series_kept, series_dropped;
    uint64_t samples_kept, samples_dropped;
    uint64_t stones_kept, exemplars_kept;
};

/* The newest complete checkpoint of waldir: returns its number and writes its path, or
 * returns -1 when there is none. */
int checkpoint_last(const char *waldir, char *path, size_t pathlen);

/* Writes checkpoint.<last> from the newest checkpoint before it and segments
 * [first, last] (first -1: the first one after that checkpoint). keep(arg, ref) says
 * whether the head still holds a series. Then removes older checkpoints. */
int checkpoint_create(const char *waldir, int first, int last,
                      bool (*keep)(void *arg, uint64_t ref), void *arg, int64_t mint,
                      struct checkpoint_stats *st, char *err, size_t errlen);

/* Removes checkpoints numbered below n. */
int checkpoint_delete_before(const char *waldir, int n);

#endif
