/* tests/unit/testhost.h — a minimal `struct ignis_host` for unit tests of plugins, so a
 * test can create plugin instances through their ops table without ignisd.
 *
 * What it offers:
 *   log / log_enabled  logfmt lines on stderr (level >= the set level, default INFO, or
 *                      from env TESTHOST_LOG=debug|info|warn|error); lines are counted
 *                      per level so a test can check that something was logged.
 *   event_base         a libevent base (pthreads enabled) that the test drives with
 *                      testhost_run(); nothing runs behind the test's back.
 *   timer_add / _cancel real libevent timers on that base; testhost_fire_timers() also
 *                      fires every live timer at once, so tests need not wait.
 *   run_on_loop        a bounded queue (TESTHOST_QUEUE_MAX) drained by the loop.
 *   submit             runs work(arg) inline in the calling thread; done(arg) runs inline
 *                      too when called on the loop thread (the thread that made the host),
 *                      else it is queued with run_on_loop.
 *   registry           ignis_registry_default(), the process' registry (as in ignisd).
 *   lookup             from a small table the test fills with testhost_add_instance().
 *   set_ready          remembered; read it with testhost_ready().
 *   instance_name      the name given to testhost_new().
 *   http_*             not offered: http_route returns -1, the others do nothing.
 *
 * Use: add tests/unit/testhost.c to the test program's SOURCES, $(LIBEVENT_LIBS) to its
 * LDADD and $(LIBEVENT_CFLAGS) to its CFLAGS ($(IG_TEST_CC) has them). One host serves
 * one plugin instance (log lines carry its name); a test may make several. */
#ifndef TESTHOST_H
#define TESTHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ignis/plugin.h>

#define TESTHOST_QUEUE_MAX  1024
#define TESTHOST_LOOKUP_MAX 16

struct testhost;

/* A new host for the instance `name` (copied). NULL on allocation failure. Call on the
 * thread that will drive the loop. */
struct testhost *testhost_new(const char *name);
/* Frees the host, its base and any timers still armed. Destroy the plugin instance first. */
void testhost_free(struct testhost *th);

const struct ignis_host *testhost_host(struct testhost *th);
struct event_base *testhost_base(struct testhost *th);

/* Drives the loop for about ms milliseconds (0: one non-blocking pass). */
void testhost_run(struct testhost *th, int64_t ms);
/* Fires every live timer once now (periodic timers stay armed, one-shot timers are freed)
 * and runs queued run_on_loop work. Returns the number of timers fired. */
size_t testhost_fire_timers(struct testhost *th);
/* Number of timers currently armed. */
size_t testhost_ntimers(const struct testhost *th);

/* Lines logged at exactly this level so far (including those below the print level). */
size_t testhost_log_count(const struct testhost *th, enum ignis_log_level level);
void testhost_set_log_level(struct testhost *th, enum ignis_log_level level);

/* Makes (kind, name) -> (ops, instance) known to lookup. Returns 0, or -1 when full. */
int testhost_add_instance(struct testhost *th, enum ignis_plugin_kind kind, const char *name,
                          const void *ops, void *instance);

/* The last value the instance gave set_ready (true at start). */
bool testhost_ready(const struct testhost *th);

#endif
