/* tests/unit/core/test_workers.c — the worker pool: jobs run off the loop, completions
 * run on it, lane queues are bounded, and lane limits leave ingest a thread. */
#include <config.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "core/workers.h"

struct ctx {
    pthread_t loop_thread;
    _Atomic int ran, done, done_on_loop, work_on_loop;
    _Atomic int running_query, max_running_query;
    _Atomic int block; /* while set, blocking jobs spin */
    struct event_base *base;
    int target;
};

static void work_count(void *arg)
{
    struct ctx *c = arg;
    if (pthread_equal(pthread_self(), c->loop_thread))
        atomic_fetch_add(&c->work_on_loop, 1);
    atomic_fetch_add(&c->ran, 1);
}

static void done_count(void *arg)
{
    struct ctx *c = arg;
    if (pthread_equal(pthread_self(), c->loop_thread))
        atomic_fetch_add(&c->done_on_loop, 1);
    if (atomic_fetch_add(&c->done, 1) + 1 == c->target)
        event_base_loopbreak(c->base);
}

static void setup_loop(struct ctx *c)
{
    evthread_use_pthreads();
    c->base = event_base_new();
    c->loop_thread = pthread_self();
    assert_non_null(c->base);
}

static void run_loop_until_done(struct ctx *c)
{
    struct timeval tv = {10, 0}; /* a deadline, not a timing assertion */
    event_base_loopexit(c->base, &tv);
    event_base_dispatch(c->base);
}

static void test_jobs_run_off_loop_and_complete_on_it(void **state)
{
    (void)state;
    struct ctx c = {0};
    setup_loop(&c);
    char err[256];
    struct ig_workers_config wc = {.threads = 2};
    struct ig_workers *w = ig_workers_new(c.base, &wc, err, sizeof err);
    assert_non_null(w);
    c.target = 300;
    for (int i = 0; i < 300; i++)
        assert_int_equal(ig_workers_submit(w, (enum ignis_lane)(i % 3), work_count, done_count, &c), 0);
    run_loop_until_done(&c);
    assert_int_equal(atomic_load(&c.ran), 300);
    assert_int_equal(atomic_load(&c.done), 300);
    assert_int_equal(atomic_load(&c.done_on_loop), 300);
    assert_int_equal(atomic_load(&c.work_on_loop), 0);
    ig_workers_drain_free(w);
    event_base_free(c.base);
}

static void work_block(void *arg)
{
    struct ctx *c = arg;
    while (atomic_load(&c->block))
        usleep(1000);
    atomic_fetch_add(&c->ran, 1);
}

static void test_full_lane_rejects(void **state)
{
    (void)state;
    struct ctx c = {0};
    setup_loop(&c);
    char err[256];
    struct ig_workers_config wc = {.threads = 1, .queue_len = {4, 4, 4}};
    struct ig_workers *w = ig_workers_new(c.base, &wc, err, sizeof err);
    assert_non_null(w);
    atomic_store(&c.block, 1);
    int accepted = 0, rejected = 0;
    /* One job may be taken by the worker at once; the queue then holds 4. */
    for (int i = 0; i < 10; i++) {
        int rc = ig_workers_submit(w, IGNIS_LANE_BACKGROUND, work_block, NULL, &c);
        if (rc == 0)
            accepted++;
        else {
            assert_int_equal(rc, IGNIS_E_LIMIT);
            rejected++;
        }
    }
    assert_true(accepted >= 4 && accepted <= 5);
    assert_int_equal(accepted + rejected, 10);
    struct ig_workers_stats st;
    ig_workers_stats(w, &st);
    assert_int_equal(st.rejected[IGNIS_LANE_BACKGROUND], (uint64_t)rejected);
    /* Other lanes are not affected by a full background lane. */
    assert_int_equal(ig_workers_submit(w, IGNIS_LANE_INGEST, work_count, NULL, &c), 0);
    atomic_store(&c.block, 0);
    ig_workers_drain_free(w);
    assert_int_equal(atomic_load(&c.ran), accepted + 1);
    event_base_free(c.base);
}

static void work_query(void *arg)
{
    struct ctx *c = arg;
    int now = atomic_fetch_add(&c->running_query, 1) + 1;
    int prev = atomic_load(&c->max_running_query);
    while (now > prev && !atomic_compare_exchange_weak(&c->max_running_query, &prev, now))
        ;
    while (atomic_load(&c->block))
        usleep(1000);
    atomic_fetch_sub(&c->running_query, 1);
}

static void test_queries_leave_a_worker_for_ingest(void **state)
{
    (void)state;
    struct ctx c = {0};
    setup_loop(&c);
    char err[256];
    struct ig_workers_config wc = {.threads = 3};
    struct ig_workers *w = ig_workers_new(c.base, &wc, err, sizeof err);
    assert_non_null(w);
    atomic_store(&c.block, 1);
    for (int i = 0; i < 6; i++)
        assert_int_equal(ig_workers_submit(w, IGNIS_LANE_QUERY, work_query, NULL, &c), 0);
    /* While queries block, an ingest job still runs to completion. */
    c.target = 1;
    assert_int_equal(ig_workers_submit(w, IGNIS_LANE_INGEST, work_count, done_count, &c), 0);
    run_loop_until_done(&c);
    assert_int_equal(atomic_load(&c.done), 1);
    assert_true(atomic_load(&c.max_running_query) <= 2);
    atomic_store(&c.block, 0);
    ig_workers_drain_free(w);
    event_base_free(c.base);
}

static void call_on_loop(void *arg)
{
    done_count(arg);
}

static void *thread_posts(void *arg)
{
    struct ig_workers *w = ((void **)arg)[0];
    struct ctx *c = ((void **)arg)[1];
    for (int i = 0; i < 100; i++)
        while (ig_workers_run_on_loop(w, call_on_loop, c) != 0)
            usleep(100);
    return NULL;
}

static void test_run_on_loop_from_threads(void **state)
{
    (void)state;
    struct ctx c = {0};
    setup_loop(&c);
    char err[256];
    struct ig_workers *w = ig_workers_new(c.base, NULL, err, sizeof err);
    assert_non_null(w);
    c.target = 200;
    void *args[2] = {w, &c};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, thread_posts, args);
    pthread_create(&t2, NULL, thread_posts, args);
    run_loop_until_done(&c);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(atomic_load(&c.done), 200);
    assert_int_equal(atomic_load(&c.done_on_loop), 200);
    ig_workers_drain_free(w);
    event_base_free(c.base);
}

static void test_drain_runs_queued_jobs(void **state)
{
    (void)state;
    struct ctx c = {0};
    setup_loop(&c);
    char err[256];
    struct ig_workers_config wc = {.threads = 1};
    struct ig_workers *w = ig_workers_new(c.base, &wc, err, sizeof err);
    for (int i = 0; i < 50; i++)
        assert_int_equal(ig_workers_submit(w, IGNIS_LANE_INGEST, work_count, done_count, &c), 0);
    c.target = -1;
    ig_workers_drain_free(w); /* no loop run: drain itself runs the completions */
    assert_int_equal(atomic_load(&c.ran), 50);
    assert_int_equal(atomic_load(&c.done), 50);
    event_base_free(c.base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_run_off_loop_and_complete_on_it),
        cmocka_unit_test(test_full_lane_rejects),
        cmocka_unit_test(test_queries_leave_a_worker_for_ingest),
        cmocka_unit_test(test_run_on_loop_from_threads),
        cmocka_unit_test(test_drain_runs_queued_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
