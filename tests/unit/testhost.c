/* tests/unit/testhost.c — the minimal host table for plugin unit tests (see testhost.h).
 * It fakes nothing a plugin could observe differently from ignisd except what the header
 * lists as not offered; it is test support, never linked into ignisd. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>
#include <event2/thread.h>
#include "testhost.h"

struct ignis_timer {
    struct testhost *th;
    struct event *ev;
    ignis_fn fn;
    void *arg;
    int64_t interval_ms;
    bool firing, cancelled;
    struct ignis_timer *next;
};

struct qitem {
    ignis_fn fn;
    void *arg;
};

struct lookup_entry {
    enum ignis_plugin_kind kind;
    char *name;
    const void *ops;
    void *instance;
};

struct testhost {
    struct ignis_host host; /* first: the plugin's host pointer is the testhost */
    char *name;
    struct event_base *base;
    pthread_t loop_thread;
    struct ignis_timer *timers;
    size_t ntimers;

    pthread_mutex_t qmu;
    struct qitem queue[TESTHOST_QUEUE_MAX];
    size_t qhead, qlen;
    struct event *wake;

    enum ignis_log_level print_level;
    atomic_size_t logged[IGNIS_LOG_ERROR + 1];
    struct lookup_entry lookups[TESTHOST_LOOKUP_MAX];
    size_t nlookups;
    atomic_bool ready;
};

static struct testhost *TH(const struct ignis_host *h)
{
    return (struct testhost *)h;
}

static const char *level_name(enum ignis_log_level l)
{
    switch (l) {
    case IGNIS_LOG_DEBUG:
        return "debug";
    case IGNIS_LOG_INFO:
        return "info";
    case IGNIS_LOG_WARN:
        return "warn";
    case IGNIS_LOG_ERROR:
        return "error";
    }
    return "unknown";
}

static void th_log(const struct ignis_host *h, enum ignis_log_level level, const char *fmt, ...)
{
    struct testhost *th = TH(h);
    if (level < IGNIS_LOG_DEBUG || level > IGNIS_LOG_ERROR)
        level = IGNIS_LOG_ERROR;
    atomic_fetch_add(&th->logged[level], 1);
    if (level < th->print_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "level=%s component=testhost instance=%s %s\n", level_name(level), th->name,
            line);
}

static bool th_log_enabled(const struct ignis_host *h, enum ignis_log_level level)
{
    (void)h;
    (void)level;
    return true; /* every line is counted, even when not printed */
}

static struct event_base *th_event_base(const struct ignis_host *h)
{
    return TH(h)->base;
}

static void timer_unlink_free(struct ignis_timer *t)
{
    struct testhost *th = t->th;
    for (struct ignis_timer **pp = &th->timers; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            th->ntimers--;
            break;
        }
    event_free(t->ev);
    free(t);
}

static void timer_arm(struct ignis_timer *t, int64_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    event_add(t->ev, &tv);
}

/* Runs a timer's callback; re-arms it when periodic, frees it when one-shot or when the
 * callback cancelled it. */
static void timer_fire(struct ignis_timer *t)
{
    t->firing = true;
    t->fn(t->arg);
    t->firing = false;
    if (t->cancelled || t->interval_ms <= 0)
        timer_unlink_free(t);
    else
        timer_arm(t, t->interval_ms);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    timer_fire(arg);
}

static struct ignis_timer *th_timer_add(const struct ignis_host *h, int64_t delay_ms,
                                        int64_t interval_ms, ignis_fn fn, void *arg)
{
    struct testhost *th = TH(h);
    struct ignis_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ev = event_new(th->base, -1, 0, timer_cb, t);
    if (!t->ev) {
        free(t);
        return NULL;
    }
    t->th = th;
    t->fn = fn;
    t->arg = arg;
    t->interval_ms = interval_ms;
    t->next = th->timers;
    th->timers = t;
    th->ntimers++;
    timer_arm(t, delay_ms < 0 ? 0 : delay_ms);
    return t;
}

static void th_timer_cancel(const struct ignis_host *h, struct ignis_timer *t)
{
    (void)h;
    if (!t)
        return;
    if (t->firing) {
        t->cancelled = true; /* freed when its callback returns */
        return;
    }
    event_del(t->ev);
    timer_unlink_free(t);
}

static void drain_queue(struct testhost *th)
{
    for (;;) {
        pthread_mutex_lock(&th->qmu);
        if (th->qlen == 0) {
            pthread_mutex_unlock(&th->qmu);
            return;
        }
        struct qitem it = th->queue[th->qhead];
        th->qhead = (th->qhead + 1) % TESTHOST_QUEUE_MAX;
        th->qlen--;
        pthread_mutex_unlock(&th->qmu);
        it.fn(it.arg);
    }
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drain_queue(arg);
}

static int th_run_on_loop(const struct ignis_host *h, ignis_fn fn, void *arg)
{
    struct testhost *th = TH(h);
    pthread_mutex_lock(&th->qmu);
    if (th->qlen == TESTHOST_QUEUE_MAX) {
        pthread_mutex_unlock(&th->qmu);
        return -1;
    }
    th->queue[(th->qhead + th->qlen) % TESTHOST_QUEUE_MAX] = (struct qitem){fn, arg};
    th->qlen++;
    pthread_mutex_unlock(&th->qmu);
    event_active(th->wake, EV_READ, 0);
    return 0;
}

static int th_submit(const struct ignis_host *h, enum ignis_lane lane, ignis_work_fn work,
                     ignis_done_fn done, void *arg)
{
    (void)lane;
    work(arg);
    if (!done)
        return 0;
    if (pthread_equal(pthread_self(), TH(h)->loop_thread)) {
        done(arg);
        return 0;
    }
    return th_run_on_loop(h, done, arg) == 0 ? 0 : IGNIS_E_LIMIT;
}

static int th_http_route(const struct ignis_host *h, unsigned methods, const char *path,
                         ignis_http_handler handler, void *arg)
{
    (void)methods;
    (void)handler;
    (void)arg;
    th_log(h, IGNIS_LOG_WARN, "msg=\"testhost offers no HTTP routes\" path=%s", path);
    return -1;
}

static struct evhttp_request *th_http_evreq(struct ignis_http_req *req)
{
    (void)req;
    return NULL;
}

static const struct evkeyvalq *th_http_params(struct ignis_http_req *req)
{
    (void)req;
    return NULL;
}

static const char *th_http_path(struct ignis_http_req *req)
{
    (void)req;
    return NULL;
}

static void th_http_reply(struct ignis_http_req *req, int status, const char *content_type,
                          struct evbuffer *body)
{
    (void)req;
    (void)status;
    (void)content_type;
    (void)body;
}

static struct ignis_registry *th_registry(const struct ignis_host *h)
{
    (void)h;
    return ignis_registry_default();
}

static int th_lookup(const struct ignis_host *h, enum ignis_plugin_kind kind, const char *name,
                     const void **ops, void **instance)
{
    struct testhost *th = TH(h);
    for (size_t i = 0; i < th->nlookups; i++) {
        struct lookup_entry *e = &th->lookups[i];
        if (e->kind == kind && (!name || strcmp(name, e->name) == 0)) {
            *ops = e->ops;
            *instance = e->instance;
            return 0;
        }
    }
    return IGNIS_E_NOTFOUND;
}

static void th_set_ready(const struct ignis_host *h, bool ready)
{
    atomic_store(&TH(h)->ready, ready);
}

static const char *th_instance_name(const struct ignis_host *h)
{
    return TH(h)->name;
}

static void init_evthread(void)
{
    evthread_use_pthreads();
}

struct testhost *testhost_new(const char *name)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_evthread);
    struct testhost *th = calloc(1, sizeof *th);
    if (!th)
        return NULL;
    th->name = strdup(name ? name : "test");
    th->base = event_base_new();
    if (!th->name || !th->base) {
        free(th->name);
        if (th->base)
            event_base_free(th->base);
        free(th);
        return NULL;
    }
    th->wake = event_new(th->base, -1, 0, wake_cb, th);
    pthread_mutex_init(&th->qmu, NULL);
    th->loop_thread = pthread_self();
    th->print_level = IGNIS_LOG_INFO;
    const char *env = getenv("TESTHOST_LOG");
    if (env) {
        for (int l = IGNIS_LOG_DEBUG; l <= IGNIS_LOG_ERROR; l++)
            if (strcmp(env, level_name(l)) == 0)
                th->print_level = l;
    }
    atomic_store(&th->ready, true);
    struct ignis_host *h = &th->host;
    h->size = sizeof *h;
    h->abi = (struct ignis_abi)IGNIS_ABI;
    h->log = th_log;
    h->log_enabled = th_log_enabled;
    h->event_base = th_event_base;
    h->timer_add = th_timer_add;
    h->timer_cancel = th_timer_cancel;
    h->run_on_loop = th_run_on_loop;
    h->submit = th_submit;
    h->http_route = th_http_route;
    h->http_evreq = th_http_evreq;
    h->http_params = th_http_params;
    h->http_path = th_http_path;
    h->http_reply = th_http_reply;
    h->registry = th_registry;
    h->lookup = th_lookup;
    h->set_ready = th_set_ready;
    h->instance_name = th_instance_name;
    return th;
}

void testhost_free(struct testhost *th)
{
    if (!th)
        return;
    while (th->timers) {
        event_del(th->timers->ev);
        timer_unlink_free(th->timers);
    }
    drain_queue(th);
    event_free(th->wake);
    event_base_free(th->base);
    pthread_mutex_destroy(&th->qmu);
    for (size_t i = 0; i < th->nlookups; i++)
        free(th->lookups[i].name);
    free(th->name);
    free(th);
}

const struct ignis_host *testhost_host(struct testhost *th)
{
    return &th->host;
}

struct event_base *testhost_base(struct testhost *th)
{
    return th->base;
}

void testhost_run(struct testhost *th, int64_t ms)
{
    drain_queue(th);
    if (ms <= 0) {
        event_base_loop(th->base, EVLOOP_NONBLOCK);
        return;
    }
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    event_base_loopexit(th->base, &tv);
    event_base_dispatch(th->base);
}

size_t testhost_fire_timers(struct testhost *th)
{
    /* Callbacks may add or cancel timers: collect the current ones first. */
    size_t n = th->ntimers, fired = 0;
    struct ignis_timer **now = calloc(n ? n : 1, sizeof *now);
    if (!now)
        return 0;
    size_t k = 0;
    for (struct ignis_timer *t = th->timers; t && k < n; t = t->next)
        now[k++] = t;
    for (size_t i = 0; i < k; i++) {
        bool live = false; /* an earlier callback may have cancelled it */
        for (struct ignis_timer *t = th->timers; t && !live; t = t->next)
            live = t == now[i];
        if (!live)
            continue;
        event_del(now[i]->ev);
        timer_fire(now[i]);
        fired++;
    }
    free(now);
    drain_queue(th);
    return fired;
}

size_t testhost_ntimers(const struct testhost *th)
{
    return th->ntimers;
}

size_t testhost_log_count(const struct testhost *th, enum ignis_log_level level)
{
    if (level < IGNIS_LOG_DEBUG || level > IGNIS_LOG_ERROR)
        return 0;
    return atomic_load(&((struct testhost *)th)->logged[level]);
}

void testhost_set_log_level(struct testhost *th, enum ignis_log_level level)
{
    th->print_level = level;
}

int testhost_add_instance(struct testhost *th, enum ignis_plugin_kind kind, const char *name,
                          const void *ops, void *instance)
{
    if (th->nlookups == TESTHOST_LOOKUP_MAX)
        return -1;
    char *n = strdup(name ? name : "");
    if (!n)
        return -1;
    th->lookups[th->nlookups++] = (struct lookup_entry){kind, n, ops, instance};
    return 0;
}

bool testhost_ready(const struct testhost *th)
{
    return atomic_load(&((struct testhost *)th)->ready);
}
