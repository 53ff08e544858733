/* core/workers.c — worker threads with three bounded lanes and completions delivered
 * to the loop through one libevent event activated from any thread.
 * Locking: `mu` guards the lane queues, counters and `stopping`; `done_mu` guards the
 * completion list. Workers never touch loop state: done callbacks run on the loop. */
#include <config.h>
#include "core/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#define NLANES 3
/* Bound of the loop-call queue: large enough for a burst of completions from every
 * lane, small enough that a runaway producer is refused instead of eating memory. */
#define LOOP_QUEUE_MAX 65536

struct job {
    ignis_work_fn work;
    ignis_done_fn done;
    void *arg;
};

struct ring {
    struct job *jobs;
    size_t cap, head, len;
};

struct call {
    ignis_fn fn;
    void *arg;
    struct call *next;
};

struct ig_workers {
    struct event_base *base;
    struct event *wake; /* activated to run queued completions on the loop */
    pthread_t *threads;
    unsigned nthreads;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ring lanes[NLANES];
    unsigned running[NLANES];
    unsigned max_running[NLANES];
    unsigned max_noningest; /* query + background running together stay below this */
    bool stopping;
    uint64_t submitted[NLANES], completed[NLANES], rejected[NLANES];

    pthread_mutex_t done_mu;
    struct call *done_head, *done_tail;
    size_t done_len;
};

static int ring_push(struct ring *r, const struct job *j)
{
    if (r->len == r->cap)
        return -1;
    r->jobs[(r->head + r->len) % r->cap] = *j;
    r->len++;
    return 0;
}

static struct job ring_pop(struct ring *r)
{
    struct job j = r->jobs[r->head];
    r->head = (r->head + 1) % r->cap;
    r->len--;
    return j;
}

/* Appends a loop call. force: accept past the bound (completions of jobs already run
 * must not be lost; they are bounded by the lane queues anyway). */
static int push_call(struct ig_workers *w, ignis_fn fn, void *arg, bool force)
{
    struct call *c = malloc(sizeof *c);
    if (!c)
        return IGNIS_E_NOMEM;
    c->fn = fn;
    c->arg = arg;
    c->next = NULL;
    pthread_mutex_lock(&w->done_mu);
    if (!force && w->done_len >= LOOP_QUEUE_MAX) {
        pthread_mutex_unlock(&w->done_mu);
        free(c);
        return IGNIS_E_LIMIT;
    }
    bool was_empty = w->done_head == NULL;
    if (w->done_tail)
        w->done_tail->next = c;
    else
        w->done_head = c;
    w->done_tail = c;
    w->done_len++;
    pthread_mutex_unlock(&w->done_mu);
    if (was_empty)
        event_active(w->wake, EV_READ, 0);
    return 0;
}

static void run_calls(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ig_workers *w = arg;
    pthread_mutex_lock(&w->done_mu);
    struct call *c = w->done_head;
    w->done_head = w->done_tail = NULL;
    w->done_len = 0;
    pthread_mutex_unlock(&w->done_mu);
    while (c) {
        struct call *next = c->next;
        c->fn(c->arg);
        free(c);
        c = next;
    }
}

/* Picks the next runnable lane under mu: ingest first, then query, then background,
 * each within its running limit. Returns -1 when nothing may run now. */
static int pick_lane(struct ig_workers *w)
{
    unsigned noningest = w->running[IGNIS_LANE_QUERY] + w->running[IGNIS_LANE_BACKGROUND];
    for (int l = 0; l < NLANES; l++) {
        if (w->lanes[l].len == 0 || w->running[l] >= w->max_running[l])
            continue;
        if (l != IGNIS_LANE_INGEST && noningest >= w->max_noningest)
            continue;
        return l;
    }
    return -1;
}

static void *worker_main(void *arg)
{
    struct ig_workers *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        int lane = pick_lane(w);
        if (lane < 0) {
            bool empty = true;
            for (int l = 0; l < NLANES; l++)
                empty = empty && w->lanes[l].len == 0;
            if (w->stopping && empty)
                break;
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        struct job j = ring_pop(&w->lanes[lane]);
        w->running[lane]++;
        pthread_mutex_unlock(&w->mu);

        j.work(j.arg);
        if (j.done)
            push_call(w, j.done, j.arg, true);

        pthread_mutex_lock(&w->mu);
        w->running[lane]--;
        w->completed[lane]++;
        /* A lane limit just freed a slot: others may be waiting for it. */
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

struct ig_workers *ig_workers_new(struct event_base *base, const struct ig_workers_config *c,
                                  char *err, size_t errlen)
{
    static const size_t def_queue[NLANES] = {4096, 1024, 256};
    struct ig_workers *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->base = base;
    w->nthreads = c && c->threads ? c->threads : online_cpus();
    unsigned n = w->nthreads;
    unsigned defmax[NLANES] = {n, n > 1 ? n - 1 : 1, n > 1 ? n / 2 : 1};
    for (int l = 0; l < NLANES; l++) {
        size_t cap = c && c->queue_len[l] ? c->queue_len[l] : def_queue[l];
        w->lanes[l].cap = cap;
        w->lanes[l].jobs = calloc(cap, sizeof(struct job));
        w->max_running[l] = c && c->max_running[l] ? c->max_running[l] : defmax[l];
        if (!w->lanes[l].jobs) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    w->max_noningest = n > 1 ? n - 1 : 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_mutex_init(&w->done_mu, NULL);
    w->wake = event_new(base, -1, 0, run_calls, w);
    w->threads = calloc(n, sizeof(pthread_t));
    if (!w->wake || !w->threads) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&w->threads[i], NULL, worker_main, w);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
            pthread_mutex_lock(&w->mu);
            w->stopping = true;
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->mu);
            for (unsigned k = 0; k < i; k++)
                pthread_join(w->threads[k], NULL);
            goto fail;
        }
    }
    return w;
fail:
    for (int l = 0; l < NLANES; l++)
        free(w->lanes[l].jobs);
    if (w->wake)
        event_free(w->wake);
    free(w->threads);
    free(w);
    return NULL;
}

int ig_workers_submit(struct ig_workers *w, enum ignis_lane lane, ignis_work_fn work,
                      ignis_done_fn done, void *arg)
{
    if ((unsigned)lane >= NLANES || !work)
        return IGNIS_E_INVALID;
    struct job j = {work, done, arg};
    pthread_mutex_lock(&w->mu);
    if (w->stopping || ring_push(&w->lanes[lane], &j) != 0) {
        w->rejected[lane]++;
        pthread_mutex_unlock(&w->mu);
        return IGNIS_E_LIMIT;
    }
    w->submitted[lane]++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int ig_workers_run_on_loop(struct ig_workers *w, ignis_fn fn, void *arg)
{
    return push_call(w, fn, arg, false);
}

unsigned ig_workers_threads(const struct ig_workers *w)
{
    return w->nthreads;
}

void ig_workers_stats(struct ig_workers *w, struct ig_workers_stats *st)
{
    pthread_mutex_lock(&w->mu);
    for (int l = 0; l < NLANES; l++) {
        st->submitted[l] = w->submitted[l];
        st->completed[l] = w->completed[l];
        st->rejected[l] = w->rejected[l];
        st->queued[l] = w->lanes[l].len;
        st->running[l] = w->running[l];
    }
    pthread_mutex_unlock(&w->mu);
}

void ig_workers_drain_free(struct ig_workers *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    /* Completions (and what they queue) run here, on the loop thread. */
    while (w->done_head)
        run_calls(-1, 0, w);
    event_free(w->wake);
    for (int l = 0; l < NLANES; l++)
        free(w->lanes[l].jobs);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->done_mu);
    free(w->threads);
    free(w);
}
