/* core/workers.h — the worker pool: a fixed set of threads running CPU work in three
 * lanes (ingest, query, background), each with a bounded queue. A job's completion runs
 * back on the loop. Lane limits keep queries and background work from occupying every
 * worker, so ingest (scrapes) always has a thread. */
#ifndef IG_WORKERS_H
#define IG_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ignis/plugin.h>

struct event_base;
struct ig_workers;

struct ig_workers_config {
    unsigned threads;            /* 0: number of online CPUs */
    size_t queue_len[3];         /* per lane; 0: defaults (4096, 1024, 256) */
    unsigned max_running[3];     /* per lane; 0: defaults (all, threads-1, threads/2) */
};

/* Creates the pool and starts its threads. The loop's event_base must have been
 * created after evthread_use_pthreads(). Returns NULL with err on failure. */
struct ig_workers *ig_workers_new(struct event_base *base, const struct ig_workers_config *c,
                                  char *err, size_t errlen);
/* any thread: queues work on a lane; done runs on the loop afterwards. Returns 0, or
 * IGNIS_E_LIMIT when the lane's queue is full. */
int ig_workers_submit(struct ig_workers *w, enum ignis_lane lane, ignis_work_fn work,
                      ignis_done_fn done, void *arg);
/* any thread: runs fn(arg) on the loop soon. Returns 0, or IGNIS_E_LIMIT when the queue
 * of loop calls is full. */
int ig_workers_run_on_loop(struct ig_workers *w, ignis_fn fn, void *arg);
/* loop: stops taking jobs, runs what is queued, joins the threads and runs the last
 * completions. Then frees the pool. */
void ig_workers_drain_free(struct ig_workers *w);

unsigned ig_workers_threads(const struct ig_workers *w);

struct ig_workers_stats {
    uint64_t submitted[3], completed[3], rejected[3];
    size_t queued[3];
    unsigned running[3];
};
void ig_workers_stats(struct ig_workers *w, struct ig_workers_stats *st);

#endif
