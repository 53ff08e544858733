/* core/scrape.c — the loop side of the scrape manager: scrape pools from the config,
 * target groups from static configs and discovery plugin instances, target labels
 * (defaults, relabeling, ports, instance), one timer per target on a grid offset by a
 * stable hash within the interval, HTTP scrapes through the loop's client, and the
 * hand-over of each body to an ingest job (scrape_ingest.c). */
#include <config.h>
#include "core/scrape_int.h"
#include "core/core.h"
#include "core/json.h"
#include "core/log.h"
#include "core/workers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <ignis/metrics.h>

/* The Accept header of Prometheus 2.42's scrapes: OpenMetrics preferred. */
#define SCRAPE_ACCEPT                                                                      \
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"\
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
/* Default tolerance for snapping a scrape's timestamp to its schedule (Prometheus'
 * --scrape.timestamp-tolerance). */
#define DEFAULT_TOLERANCE_MS 2

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- label set helpers ------------------------------------------------------------ */

/* A growable list of label pairs whose strings are borrowed. */
struct lbuild {
    struct ignis_label *v;
    size_t n, cap;
};

static int lb_set(struct lbuild *b, const char *name, size_t nl, const char *value, size_t vl)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i].name_len == nl && memcmp(b->v[i].name, name, nl) == 0) {
            b->v[i].value = value;
            b->v[i].value_len = vl;
            return 0;
        }
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        struct ignis_label *nv = realloc(b->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = (struct ignis_label){name, nl, value, vl};
    return 0;
}

static bool lb_has(const struct lbuild *b, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].name_len == nl && memcmp(b->v[i].name, name, nl) == 0 && b->v[i].value_len)
            return true;
    return false;
}

/* Copies a label set and its strings into one allocation (free() frees it all). */
static struct ignis_label *copy_labels(const struct ignis_label *ls, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += ls[i].name_len + ls[i].value_len + 2;
    struct ignis_label *out = malloc(n * sizeof *out + bytes + 1);
    if (!out)
        return NULL;
    char *p = (char *)(out + n);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, ls[i].name, ls[i].name_len);
        p[ls[i].name_len] = '\0';
        out[i].name = p;
        out[i].name_len = ls[i].name_len;
        p += ls[i].name_len + 1;
        memcpy(p, ls[i].value, ls[i].value_len);
        p[ls[i].value_len] = '\0';
        out[i].value = p;
        out[i].value_len = ls[i].value_len;
        p += ls[i].value_len + 1;
    }
    return out;
}

static const char *label_value(const struct ignis_label *ls, size_t n, const char *name,
                               size_t *len)
{
    const struct ignis_label *l = ignis_labels_get(ls, n, name, strlen(name));
    if (!l) {
        *len = 0;
        return NULL;
    }
    *len = l->value_len;
    return l->value;
}

/* ---- targets -------------------------------------------------------------------- */

static void schedule(struct target *t);
static void start_scrape(evutil_socket_t fd, short what, void *arg);

struct target_timer {
    struct event *ev;
    int64_t deadline; /* monotonic ms */
};

static void pool_free(struct pool *p);

static void target_free(struct target *t)
{
    struct pool *p = t->pool;
    if (t->timer) {
        struct target_timer *tt = (struct target_timer *)t->timer;
        event_free(tt->ev);
        free(tt);
    }
    if (t->xfer)
        ig_httpc_cancel(t->xfer);
    ig_buf_free(&t->body);
    ig_scrape_cache_free(&t->cache);
    ig_scrape_meta_free(t);
    pthread_mutex_destroy(&t->meta_mu);
    free(t->labels);
    free(t->discovered);
    free(t->url);
    free(t->global_url);
    free(t);
    if (--p->alive == 0 && p->removed)
        pool_free(p);
}

static void stop_timer(struct target *t)
{
    if (t->timer) {
        struct target_timer *tt = (struct target_timer *)t->timer;
        event_free(tt->ev);
        free(tt);
        t->timer = NULL;
    }
}

static void ingest_done(void *arg);

/* Hands the target to an ingest job. Returns 0, or -1 when the ingest lane is full. */
static int submit_ingest(struct target *t)
{
    return ig_workers_submit(t->pool->mgr->core->workers, IGNIS_LANE_INGEST,
                             ig_scrape_ingest_work, ingest_done, t);
}

/* A target left discovery: once idle, a last job marks its series stale, then it is
 * freed. When the manager is stopping it is freed at once (no markers). */
static void retire_target(struct target *t)
{
    t->removed = true;
    stop_timer(t);
    if (t->busy)
        return;
    if (t->stopping || t->prev_ts == 0) {
        target_free(t);
        return;
    }
    t->final_stale = true;
    t->sched_ts = wall_ms();
    t->busy = true;
    if (submit_ingest(t) != 0) {
        t->busy = false;
        target_free(t);
    }
}

static void ingest_done(void *arg)
{
    struct target *t = arg;
    t->busy = false;
    if (t->final_stale || t->removed) {
        if (!t->final_stale && !t->stopping) {
            retire_target(t);
            return;
        }
        target_free(t);
        return;
    }
    t->health = t->job_ok ? HEALTH_UP : HEALTH_DOWN;
    snprintf(t->last_error, sizeof t->last_error, "%s", t->job_ok ? "" : t->job_error);
    t->last_samples = t->job_samples;
    t->last_duration = t->job_seconds;
    t->prev_ts = t->sched_ts;
    if (!t->job_ok)
        ig_debug("scrape", "scrape failed\tjob=%s target=%s err=\"%s\"", t->pool->job, t->url,
                 t->job_error);
}

static void http_done(void *arg, const struct ig_httpc_result *r)
{
    struct target *t = arg;
    t->xfer = NULL;
    t->http_status = r->status;
    snprintf(t->content_type, sizeof t->content_type, "%s", r->content_type);
    snprintf(t->http_error, sizeof t->http_error, "%s", r->error ? r->error : "");
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    t->http_seconds = (double)(now.tv_sec - t->started.tv_sec) +
                      (double)(now.tv_nsec - t->started.tv_nsec) / 1e9;
    t->last_duration = t->http_seconds;
    if (submit_ingest(t) != 0) {
        t->busy = false;
        t->health = HEALTH_DOWN;
        snprintf(t->last_error, sizeof t->last_error,
                 "ingest queue full: scrape dropped (too much work for the workers)");
    }
}

static void start_scrape(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct target *t = arg;
    struct pool *p = t->pool;
    struct ig_scrape *m = p->mgr;
    struct target_timer *tt = (struct target_timer *)t->timer;
    /* Next tick on the monotonic grid, skipping ticks a stalled loop missed. */
    int64_t now_m = mono_ms();
    tt->deadline += t->interval_ms;
    if (tt->deadline <= now_m)
        tt->deadline = now_m + t->interval_ms - (now_m - tt->deadline) % t->interval_ms;
    struct timeval tv = {(time_t)((tt->deadline - now_m) / 1000),
                         (suseconds_t)((tt->deadline - now_m) % 1000) * 1000};
    event_add(tt->ev, &tv);

    if (t->busy)
        return; /* the previous scrape is still running: skip this tick */
    /* The timestamp: the schedule's, when we are within the tolerance of it. */
    int64_t now = wall_ms();
    t->sched_ts = ig_scrape_align(now, t->prev_ts, t->interval_ms, m->tolerance_ms);
    t->last_scrape_ms = now;
    clock_gettime(CLOCK_MONOTONIC, &t->started);
    int64_t mono = (int64_t)t->started.tv_sec * 1000 + t->started.tv_nsec / 1000000;
    if (t->last_start_mono) {
        char iv[32];
        ignis_format_duration(t->interval_ms, iv, sizeof iv);
        ignis_summary_observe(ignis_summary_vec_with(m->interval_length, iv),
                              (double)(mono - t->last_start_mono) / 1000.0);
    }
    t->last_start_mono = mono;
    t->busy = true;
    t->final_stale = false;

    if (!m->st) {
        snprintf(t->http_error, sizeof t->http_error, "no storage plugin loaded");
        t->http_status = 0;
        t->http_seconds = 0;
        t->busy = false;
        t->health = HEALTH_DOWN;
        snprintf(t->last_error, sizeof t->last_error, "%s", t->http_error);
        return;
    }
    if (p->target_limit > 0 && (int64_t)p->ntargets > p->target_limit) {
        snprintf(t->http_error, sizeof t->http_error,
                 "target_limit exceeded (number of targets: %zu, limit: %lld)", p->ntargets,
                 (long long)p->target_limit);
        t->http_status = 0;
        t->http_seconds = 0;
        if (submit_ingest(t) != 0)
            t->busy = false;
        return;
    }
    char timeout_hdr[32];
    snprintf(timeout_hdr, sizeof timeout_hdr, "%g", (double)t->timeout_ms / 1000.0);
    struct ig_httpc_header hs[] = {
        {"Accept", SCRAPE_ACCEPT},
        {"X-Prometheus-Scrape-Timeout-Seconds", timeout_hdr},
        {"User-Agent", "Ignis/" PACKAGE_VERSION},
    };
    struct ig_httpc_req req = {
        .url = t->url,
        .headers = hs,
        .nheaders = 3,
        .timeout_ms = t->timeout_ms,
        .max_body = p->body_size_limit,
        .accept_gzip = p->enable_compression,
        .basic_user = p->basic_user,
        .basic_password = p->basic_password,
        .authorization = p->authorization,
        .ca_file = p->ca_file,
        .cert_file = p->cert_file,
        .key_file = p->key_file,
        .server_name = p->server_name,
        .insecure_skip_verify = p->insecure,
        .proxy_url = p->proxy_url,
        .out = &t->body,
    };
    char err[256];
    t->xfer = ig_httpc_start(m->httpc, &req, http_done, t, err, sizeof err);
    if (!t->xfer) {
        snprintf(t->http_error, sizeof t->http_error, "%s", err);
        t->http_status = 0;
        t->http_seconds = 0;
        if (submit_ingest(t) != 0)
            t->busy = false;
    }
}

int64_t ig_scrape_align(int64_t now, int64_t prev, int64_t interval, int64_t tolerance)
{
    if (prev > 0 && llabs(now - (prev + interval)) <= tolerance)
        return prev + interval;
    return now;
}

int64_t ig_scrape_offset(uint64_t hash, uint64_t seed, int64_t interval)
{
    return interval > 0 ? (int64_t)((hash ^ seed) % (uint64_t)interval) : 0;
}

/* Starts (or restarts with new settings) the target's timer: the first scrape at the
 * next wall-clock time congruent to its offset modulo the interval, as Prometheus
 * spreads targets over the interval by a stable hash. */
static void schedule(struct target *t)
{
    stop_timer(t);
    struct target_timer *tt = calloc(1, sizeof *tt);
    if (!tt)
        return;
    tt->ev = event_new(t->pool->mgr->core->base, -1, 0, start_scrape, t);
    if (!tt->ev) {
        free(tt);
        return;
    }
    int64_t iv = t->interval_ms > 0 ? t->interval_ms : 60000;
    t->offset_ms = ig_scrape_offset(t->hash, t->pool->mgr->jitter_seed, iv);
    int64_t now = wall_ms();
    int64_t wait = (t->offset_ms - now % iv + iv) % iv;
    tt->deadline = mono_ms() + wait;
    t->timer = (struct ignis_timer *)tt;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    event_add(tt->ev, &tv);
}

/* ---- target groups → targets ----------------------------------------------------- */

static bool has_port(const char *addr, size_t len)
{
    if (len && addr[0] == '[') {
        const char *close = memchr(addr, ']', len);
        return close && (size_t)(close - addr) + 1 < len && close[1] == ':';
    }
    const char *colon = memchr(addr, ':', len);
    /* A bare IPv6 address has several colons and no port. */
    return colon && !memchr(colon + 1, ':', len - (size_t)(colon - addr) - 1);
}

static void url_escape(struct evbuffer *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            evbuffer_add(b, &s[i], 1);
        else if (c == ' ')
            evbuffer_add(b, "+", 1);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            evbuffer_add(b, e, 3);
        }
    }
}

static char *buffer_string(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    if (s) {
        evbuffer_remove(b, s, n);
        s[n] = '\0';
    }
    return s;
}

/* The URL of a target from its labels before the "__" ones are dropped: scheme, address,
 * path, the pool's params overridden by __param_<name> labels. */
static char *target_url(const struct pool *p, const struct ignis_label *ls, size_t n,
                        bool global)
{
    size_t sl, al, pl;
    const char *scheme = label_value(ls, n, "__scheme__", &sl);
    const char *addr = label_value(ls, n, "__address__", &al);
    const char *path = label_value(ls, n, "__metrics_path__", &pl);
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return NULL;
    evbuffer_add(b, scheme, sl);
    evbuffer_add(b, "://", 3);
    char host[256];
    if (global) {
        /* globalUrl: a loopback host is replaced by this machine's name, as Prometheus
         * does, so the URL means something elsewhere. */
        const char *colon = has_port(addr, al) ? (const char *)memrchr(addr, ':', al) : NULL;
        size_t hl = colon ? (size_t)(colon - addr) : al;
        bool loop = (hl == 9 && memcmp(addr, "localhost", 9) == 0) ||
                    (hl >= 4 && memcmp(addr, "127.", 4) == 0) ||
                    (hl == 5 && memcmp(addr, "[::1]", 5) == 0);
        if (loop && gethostname(host, sizeof host) == 0) {
            host[sizeof host - 1] = '\0';
            evbuffer_add(b, host, strlen(host));
            if (colon)
                evbuffer_add(b, colon, al - hl);
        } else {
            evbuffer_add(b, addr, al);
        }
    } else {
        evbuffer_add(b, addr, al);
    }
    if (pl == 0 || path[0] != '/')
        evbuffer_add(b, "/", 1);
    evbuffer_add(b, path, pl);
    bool first = true;
    /* Config params, unless a __param_ label overrides the name. */
    for (size_t i = 0; i < p->nparams; i++) {
        char key[300];
        snprintf(key, sizeof key, "__param_%s", p->params[i].name);
        if (ignis_labels_get(ls, n, key, strlen(key)))
            continue;
        evbuffer_add(b, first ? "?" : "&", 1);
        first = false;
        url_escape(b, p->params[i].name, p->params[i].name_len);
        evbuffer_add(b, "=", 1);
        url_escape(b, p->params[i].value, p->params[i].value_len);
    }
    for (size_t i = 0; i < n; i++) {
        if (ls[i].name_len <= 8 || memcmp(ls[i].name, "__param_", 8) != 0)
            continue;
        evbuffer_add(b, first ? "?" : "&", 1);
        first = false;
        url_escape(b, ls[i].name + 8, ls[i].name_len - 8);
        evbuffer_add(b, "=", 1);
        url_escape(b, ls[i].value, ls[i].value_len);
    }
    char *s = buffer_string(b);
    evbuffer_free(b);
    return s;
}

static uint64_t hash_target(const struct ignis_label *ls, size_t n, const char *url)
{
    return ignis_labels_hash(ls, n) ^ XXH3_64bits(url, strlen(url));
}

static void fmt_duration(int64_t ms, char *buf, size_t len)
{
    ignis_format_duration(ms, buf, len);
}

/* Turns one discovered target into a target (or a dropped one). */
static void populate(struct pool *p, const struct sd_group *g, size_t ti, struct target **keep,
                     struct ig_relabel_buf *rb)
{
    struct lbuild b = {0};
    char iv[32], to[32];
    fmt_duration(p->interval_ms, iv, sizeof iv);
    fmt_duration(p->timeout_ms, to, sizeof to);
    for (size_t i = 0; i < g->nlabels; i++)
        lb_set(&b, g->labels[i].name, g->labels[i].name_len, g->labels[i].value,
               g->labels[i].value_len);
    for (size_t i = 0; i < g->ntarget_labels[ti]; i++) {
        const struct ignis_label *l = &g->targets[ti][i];
        lb_set(&b, l->name, l->name_len, l->value, l->value_len);
    }
    if (!lb_has(&b, "job"))
        lb_set(&b, "job", 3, p->job, strlen(p->job));
    if (!lb_has(&b, "__scrape_interval__"))
        lb_set(&b, "__scrape_interval__", 19, iv, strlen(iv));
    if (!lb_has(&b, "__scrape_timeout__"))
        lb_set(&b, "__scrape_timeout__", 18, to, strlen(to));
    if (!lb_has(&b, "__metrics_path__"))
        lb_set(&b, "__metrics_path__", 16, p->metrics_path, strlen(p->metrics_path));
    if (!lb_has(&b, "__scheme__"))
        lb_set(&b, "__scheme__", 10, p->scheme, strlen(p->scheme));
    char *param_names = NULL;
    size_t pn_len = 0;
    for (size_t i = 0; i < p->nparams; i++)
        pn_len += p->params[i].name_len + 9;
    param_names = malloc(pn_len + 1);
    char *pp = param_names;
    for (size_t i = 0; param_names && i < p->nparams; i++) {
        int k = sprintf(pp, "__param_%.*s", (int)p->params[i].name_len, p->params[i].name);
        /* Only the first value of a repeated param, as Prometheus does. */
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || (p->params[j].name_len == p->params[i].name_len &&
                            memcmp(p->params[j].name, p->params[i].name, p->params[i].name_len) == 0);
        if (!seen && !lb_has(&b, pp))
            lb_set(&b, pp, (size_t)k, p->params[i].value, p->params[i].value_len);
        pp += k + 1;
    }
    if (ignis_labels_sort(b.v, b.n) != 0)
        goto out;
    const struct ignis_label *fin;
    size_t nfin;
    int rc = ig_relabel_apply(p->relabel, b.v, b.n, rb, &fin, &nfin);
    if (rc < 0)
        goto out;
    size_t al;
    const char *addr = rc == IG_RELABEL_KEPT ? label_value(fin, nfin, "__address__", &al) : NULL;
    if (rc == IG_RELABEL_DROPPED || !addr || al == 0) {
        if (rc == IG_RELABEL_KEPT) {
            ig_warn("scrape", "target without __address__ after relabeling is ignored\tjob=%s", p->job);
            goto out;
        }
        struct dropped_target *nd = realloc(p->dropped, (p->ndropped + 1) * sizeof *nd);
        if (nd) {
            p->dropped = nd;
            nd[p->ndropped].labels = copy_labels(b.v, b.n);
            nd[p->ndropped].nlabels = b.n;
            if (nd[p->ndropped].labels)
                p->ndropped++;
        }
        goto out;
    }
    /* Final labels: the address with a default port (as Prometheus 2 does), instance
     * defaulting to it, every "__" label removed. */
    struct lbuild f = {0};
    char addrbuf[512];
    size_t sl;
    const char *scheme = label_value(fin, nfin, "__scheme__", &sl);
    const char *address = addr;
    size_t addrlen = al;
    if (!has_port(addr, al) && al + 8 < sizeof addrbuf) {
        bool https = sl == 5 && memcmp(scheme, "https", 5) == 0;
        addrlen = (size_t)snprintf(addrbuf, sizeof addrbuf, "%.*s:%s", (int)al, addr,
                                   https ? "443" : "80");
        address = addrbuf;
    }
    struct lbuild u = {0};
    for (size_t i = 0; i < nfin; i++)
        lb_set(&u, fin[i].name, fin[i].name_len, fin[i].value, fin[i].value_len);
    lb_set(&u, "__address__", 11, address, addrlen);
    ignis_labels_sort(u.v, u.n);
    char *url = target_url(p, u.v, u.n, false);
    char *gurl = target_url(p, u.v, u.n, true);
    int64_t t_iv = p->interval_ms, t_to = p->timeout_ms;
    size_t vl;
    const char *v = label_value(u.v, u.n, "__scrape_interval__", &vl);
    if (v)
        ignis_parse_duration(v, vl, &t_iv);
    v = label_value(u.v, u.n, "__scrape_timeout__", &vl);
    if (v)
        ignis_parse_duration(v, vl, &t_to);
    for (size_t i = 0; i < u.n; i++) {
        if (u.v[i].name_len >= 2 && u.v[i].name[0] == '_' && u.v[i].name[1] == '_')
            continue;
        lb_set(&f, u.v[i].name, u.v[i].name_len, u.v[i].value, u.v[i].value_len);
    }
    if (!lb_has(&f, "instance"))
        lb_set(&f, "instance", 8, address, addrlen);
    ignis_labels_sort(f.v, f.n);
    if (!url || !gurl || t_iv <= 0) {
        free(url);
        free(gurl);
        free(u.v);
        free(f.v);
        goto out;
    }
    uint64_t h = hash_target(f.v, f.n, url);
    for (struct target *k = *keep; k; k = k->next) {
        if (k->hash == h) { /* the same target twice in discovery: once is enough */
            free(url);
            free(gurl);
            free(u.v);
            free(f.v);
            goto out;
        }
    }
    /* Same target as before: keep it (and its cache, schedule and state). */
    for (struct target **pp2 = &p->targets; *pp2; pp2 = &(*pp2)->next) {
        struct target *t = *pp2;
        if (t->hash == h && !t->seen) {
            t->seen = true;
            *pp2 = t->next;
            t->next = *keep;
            *keep = t;
            if (t->interval_ms != t_iv || t->timeout_ms != t_to) {
                t->interval_ms = t_iv;
                t->timeout_ms = t_to;
                schedule(t);
            }
            free(url);
            free(gurl);
            free(u.v);
            free(f.v);
            goto out;
        }
    }
    struct target *t = calloc(1, sizeof *t);
    if (!t) {
        free(url);
        free(gurl);
        free(u.v);
        free(f.v);
        goto out;
    }
    pthread_mutex_init(&t->meta_mu, NULL);
    p->alive++;
    t->pool = p;
    t->hash = h;
    t->url = url;
    t->global_url = gurl;
    t->interval_ms = t_iv;
    t->timeout_ms = t_to;
    t->seen = true;
    t->labels = copy_labels(f.v, f.n);
    t->nlabels = f.n;
    t->discovered = copy_labels(b.v, b.n);
    t->ndiscovered = b.n;
    t->next = *keep;
    *keep = t;
    free(u.v);
    free(f.v);
    schedule(t);
out:
    free(param_names);
    free(b.v);
}

/* ---- pools ------------------------------------------------------------------------ */

static void group_clear(struct sd_group *g)
{
    free(g->source);
    free(g->labels);
    for (size_t i = 0; i < g->ntargets; i++)
        free(g->targets[i]);
    free(g->targets);
    free(g->ntarget_labels);
    memset(g, 0, sizeof *g);
}

static void provider_clear_groups(struct provider *pr)
{
    for (size_t i = 0; i < pr->ngroups; i++)
        group_clear(&pr->groups[i]);
    free(pr->groups);
    pr->groups = NULL;
    pr->ngroups = 0;
}

/* Replaces (or adds) the provider's group with g's source by a copy of g. */
static int provider_put(struct provider *pr, const struct ignis_target_group *g)
{
    struct sd_group ng = {0};
    ng.source = strdup(g->source ? g->source : "");
    ng.labels = copy_labels(g->labels, g->nlabels);
    ng.nlabels = g->nlabels;
    ng.targets = calloc(g->ntargets ? g->ntargets : 1, sizeof *ng.targets);
    ng.ntarget_labels = calloc(g->ntargets ? g->ntargets : 1, sizeof *ng.ntarget_labels);
    if (!ng.source || !ng.labels || !ng.targets || !ng.ntarget_labels) {
        group_clear(&ng);
        return -1;
    }
    for (size_t i = 0; i < g->ntargets; i++) {
        ng.targets[i] = copy_labels(g->targets[i], g->ntarget_labels[i]);
        if (!ng.targets[i]) {
            ng.ntargets = i;
            group_clear(&ng);
            return -1;
        }
        ng.ntarget_labels[i] = g->ntarget_labels[i];
    }
    ng.ntargets = g->ntargets;
    for (size_t i = 0; i < pr->ngroups; i++) {
        if (strcmp(pr->groups[i].source, ng.source) == 0) {
            group_clear(&pr->groups[i]);
            pr->groups[i] = ng;
            return 0;
        }
    }
    struct sd_group *nv = realloc(pr->groups, (pr->ngroups + 1) * sizeof *nv);
    if (!nv) {
        group_clear(&ng);
        return -1;
    }
    pr->groups = nv;
    pr->groups[pr->ngroups++] = ng;
    return 0;
}

static void pool_sync(struct pool *p);

static void sync_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pool_sync(arg);
}

static struct pool *find_pool(struct ig_scrape *m, const char *job)
{
    for (struct pool *p = m->pools; p; p = p->next)
        if (!p->removed && strcmp(p->job, job) == 0)
            return p;
    return NULL;
}

/* Schedules a sync of the pool soon (several discovery updates coalesce into one). */
static void pool_sync_soon(struct pool *p)
{
    if (!p->sync_timer)
        p->sync_timer = (struct ignis_timer *)event_new(p->mgr->core->base, -1, 0, sync_cb, p);
    struct event *ev = (struct event *)p->sync_timer;
    if (ev && !evtimer_pending(ev, NULL)) {
        struct timeval tv = {0, 0};
        evtimer_add(ev, &tv);
    }
}

/* Discovery instances of a job are named "JOB/PLUGIN/INDEX" by the config reader. */
static bool job_of_instance(const char *name, char *job, size_t len)
{
    const char *last = strrchr(name, '/');
    if (!last || last == name)
        return false;
    const char *mid = last - 1;
    while (mid > name && *mid != '/')
        mid--;
    if (mid == name)
        return false;
    size_t n = (size_t)(mid - name);
    if (n >= len)
        return false;
    memcpy(job, name, n);
    job[n] = '\0';
    return true;
}

static void emit(void *arg, const struct ignis_target_group *groups, size_t n)
{
    struct provider *pr = arg;
    for (size_t i = 0; i < n; i++)
        if (provider_put(pr, &groups[i]) != 0)
            ig_error("scrape", "out of memory keeping discovered targets\tprovider=%s", pr->name);
    char job[512];
    if (!job_of_instance(pr->name, job, sizeof job))
        return;
    struct pool *p = find_pool(pr->mgr, job);
    if (p)
        pool_sync_soon(p);
}

static void pool_free(struct pool *p)
{
    if (p->sync_timer)
        event_free((struct event *)p->sync_timer);
    for (size_t i = 0; i < p->nproviders; i++) {
        provider_clear_groups(&p->providers[i]);
        free(p->providers[i].name);
    }
    free(p->providers);
    for (size_t i = 0; i < p->ndropped; i++)
        free(p->dropped[i].labels);
    free(p->dropped);
    free(p->job);
    free(p->settings_key);
    free(p->metrics_path);
    free(p->scheme);
    free(p->params);
    free(p->basic_user);
    free(p->basic_password);
    free(p->authorization);
    free(p->ca_file);
    free(p->cert_file);
    free(p->key_file);
    free(p->server_name);
    free(p->proxy_url);
    ig_relabel_free(p->relabel);
    ig_relabel_free(p->metric_relabel);
    free(p);
}

/* Reads a secret file's first line (trimmed), as Prometheus' *_file settings. */
/* A secret from a file (relative names are relative to the config file's directory). */
static char *read_secret(const struct ig_core *core, const char *name)
{
    char *path = ig_core_path(core, name);
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f)
        return NULL;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return strdup(buf);
}

static const char *opt_str(const struct ignis_config *c, const char *key)
{
    return c && ignis_config_is_set(c, key) ? ignis_config_string(c, key) : NULL;
}

/* Builds a pool's settings from one scrape_configs element. */
static struct pool *pool_from_config(struct ig_scrape *m, const struct ig_config *cfg,
                                     const struct ignis_config *sc, char *err, size_t errlen)
{
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->mgr = m;
    p->job = strdup(ignis_config_string(sc, "job_name"));
    p->interval_ms = ignis_config_is_set(sc, "scrape_interval")
                         ? ignis_config_duration_ms(sc, "scrape_interval")
                         : cfg->scrape_interval_ms;
    p->timeout_ms = ignis_config_is_set(sc, "scrape_timeout")
                        ? ignis_config_duration_ms(sc, "scrape_timeout")
                        : cfg->scrape_timeout_ms;
    if (!ignis_config_is_set(sc, "scrape_timeout") && p->timeout_ms > p->interval_ms)
        p->timeout_ms = p->interval_ms;
    p->metrics_path = strdup(ignis_config_string(sc, "metrics_path"));
    p->scheme = strdup(ignis_config_string(sc, "scheme"));
    size_t np = ignis_config_count(sc, "params");
    struct ignis_label *pl = calloc(np ? np : 1, sizeof *pl);
    for (size_t i = 0; pl && i < np; i++)
        ignis_config_label_at(sc, "params", i, &pl[i]);
    p->params = pl ? copy_labels(pl, np) : NULL;
    p->nparams = np;
    free(pl);
    p->honor_labels = ignis_config_bool(sc, "honor_labels");
    p->honor_timestamps = ignis_config_bool(sc, "honor_timestamps");
    p->track_ts_staleness = ignis_config_bool(sc, "track_timestamps_staleness");
    p->enable_compression = ignis_config_bool(sc, "enable_compression");
    const struct ignis_config *ba = ignis_config_is_set(sc, "basic_auth")
                                        ? ignis_config_group(sc, "basic_auth") : NULL;
    if (ba) {
        p->basic_user = xstrdup(opt_str(ba, "username"));
        if (opt_str(ba, "password_file"))
            p->basic_password = read_secret(m->core, opt_str(ba, "password_file"));
        else
            p->basic_password = xstrdup(opt_str(ba, "password"));
    }
    const struct ignis_config *au = ignis_config_is_set(sc, "authorization")
                                        ? ignis_config_group(sc, "authorization") : NULL;
    if (au) {
        char *cred = opt_str(au, "credentials_file")
                         ? read_secret(m->core, opt_str(au, "credentials_file"))
                         : xstrdup(opt_str(au, "credentials"));
        const char *type = ignis_config_string(au, "type");
        if (cred) {
            size_t n = strlen(type) + strlen(cred) + 2;
            p->authorization = malloc(n);
            if (p->authorization)
                snprintf(p->authorization, n, "%s %s", type, cred);
            free(cred);
        }
    }
    const struct ignis_config *tls = ignis_config_group(sc, "tls_config");
    p->ca_file = ig_core_path(m->core, opt_str(tls, "ca_file"));
    p->cert_file = ig_core_path(m->core, opt_str(tls, "cert_file"));
    p->key_file = ig_core_path(m->core, opt_str(tls, "key_file"));
    p->server_name = xstrdup(opt_str(tls, "server_name"));
    p->insecure = ignis_config_bool(tls, "insecure_skip_verify");
    p->proxy_url = xstrdup(opt_str(sc, "proxy_url"));
    p->body_size_limit = ignis_config_size(sc, "body_size_limit");
    p->sample_limit = ignis_config_int(sc, "sample_limit");
    p->label_limit = ignis_config_int(sc, "label_limit");
    p->label_name_len = ignis_config_int(sc, "label_name_length_limit");
    p->label_value_len = ignis_config_int(sc, "label_value_length_limit");
    p->target_limit = ignis_config_int(sc, "target_limit");
    p->relabel = ig_relabel_from_config(sc, "relabel_configs", IG_RELABEL_NAMES_UTF8, err, errlen);
    if (p->relabel)
        p->metric_relabel = ig_relabel_from_config(sc, "metric_relabel_configs",
                                                   IG_RELABEL_NAMES_UTF8, err, errlen);
    if (!p->job || !p->metrics_path || !p->scheme || !p->relabel || !p->metric_relabel) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        pool_free(p);
        return NULL;
    }
    /* Static configs: one provider; group i has source "i", as Prometheus names them. */
    p->providers = calloc(1, sizeof *p->providers);
    if (!p->providers) {
        pool_free(p);
        return NULL;
    }
    p->nproviders = 1;
    p->providers[0].pool = p;
    p->providers[0].name = strdup("static_configs");
    size_t ns = ignis_config_count(sc, "static_configs");
    for (size_t i = 0; i < ns; i++) {
        const struct ignis_config *st = ignis_config_at(sc, "static_configs", i);
        size_t nt = ignis_config_count(st, "targets"), nl = ignis_config_count(st, "labels");
        struct ignis_label *gl = calloc(nl + 1, sizeof *gl);
        struct ignis_label *tl = calloc(nt + 1, sizeof *tl);
        const struct ignis_label **tp = calloc(nt + 1, sizeof *tp);
        size_t *tn = calloc(nt + 1, sizeof *tn);
        char src[32];
        snprintf(src, sizeof src, "%zu", i);
        if (gl && tl && tp && tn) {
            for (size_t j = 0; j < nl; j++)
                ignis_config_label_at(st, "labels", j, &gl[j]);
            for (size_t j = 0; j < nt; j++) {
                tl[j] = ignis_label_make("__address__", ignis_config_string_at(st, "targets", j));
                tp[j] = &tl[j];
                tn[j] = 1;
            }
            struct ignis_target_group g = {src, gl, nl, tp, tn, nt};
            provider_put(&p->providers[0], &g);
        }
        free(gl);
        free(tl);
        free(tp);
        free(tn);
    }
    /* The settings as one string: a reload compares it to decide whether loops restart. */
    struct evbuffer *k = evbuffer_new();
    if (k) {
        evbuffer_add_printf(k, "%lld|%lld|%s|%s|%d%d%d%d|%s|%s|%s|%s|%s|%s|%s|%d|%s|%llu|%lld|%lld|%lld|%lld|%lld",
                            (long long)p->interval_ms, (long long)p->timeout_ms, p->metrics_path,
                            p->scheme, p->honor_labels, p->honor_timestamps,
                            p->track_ts_staleness, p->enable_compression,
                            p->basic_user ? p->basic_user : "", p->basic_password ? p->basic_password : "",
                            p->authorization ? p->authorization : "", p->ca_file ? p->ca_file : "",
                            p->cert_file ? p->cert_file : "", p->key_file ? p->key_file : "",
                            p->server_name ? p->server_name : "", p->insecure,
                            p->proxy_url ? p->proxy_url : "",
                            (unsigned long long)p->body_size_limit, (long long)p->sample_limit,
                            (long long)p->label_limit, (long long)p->label_name_len,
                            (long long)p->label_value_len, (long long)p->target_limit);
        p->settings_key = buffer_string(k);
        evbuffer_free(k);
    }
    return p;
}


static void pool_sync(struct pool *p)
{
    struct ig_scrape *m = p->mgr;
    struct ig_relabel_buf rb;
    ig_relabel_buf_init(&rb, 0);
    for (size_t i = 0; i < p->ndropped; i++)
        free(p->dropped[i].labels);
    free(p->dropped);
    p->dropped = NULL;
    p->ndropped = 0;
    for (struct target *t = p->targets; t; t = t->next)
        t->seen = false;
    struct target *keep = NULL;
    /* Static groups, then each discovery provider of this job. */
    for (size_t i = 0; i < p->nproviders; i++)
        for (size_t g = 0; g < p->providers[i].ngroups; g++)
            for (size_t ti = 0; ti < p->providers[i].groups[g].ntargets; ti++)
                populate(p, &p->providers[i].groups[g], ti, &keep, &rb);
    char job[512];
    for (size_t i = 0; i < m->ndproviders; i++) {
        struct provider *pr = m->dproviders[i];
        if (!job_of_instance(pr->name, job, sizeof job) || strcmp(job, p->job) != 0)
            continue;
        for (size_t g = 0; g < pr->ngroups; g++)
            for (size_t ti = 0; ti < pr->groups[g].ntargets; ti++)
                populate(p, &pr->groups[g], ti, &keep, &rb);
    }
    ig_relabel_buf_clear(&rb);
    /* What was not seen is gone from discovery. */
    struct target *t = p->targets;
    while (t) {
        struct target *next = t->next;
        retire_target(t);
        t = next;
    }
    p->targets = keep;
    p->ntargets = 0;
    for (t = keep; t; t = t->next)
        p->ntargets++;
}

/* ---- the manager -------------------------------------------------------------------- */

void ig_scrape_count_sample_error(struct ig_scrape *m, int err)
{
    switch (err) {
    case IGNIS_E_DUP_TS: ignis_counter_inc(m->c_dup_ts); break;
    case IGNIS_E_OUT_OF_ORDER: ignis_counter_inc(m->c_out_of_order); break;
    case IGNIS_E_OUT_OF_BOUNDS: ignis_counter_inc(m->c_out_of_bounds); break;
    default: break;
    }
}

/* Per-pool gauges, read on the loop when /metrics renders. */
static int collect_pools(void *arg, struct ignis_sink *sink)
{
    struct ig_scrape *m = arg;
    int rc = ignis_sink_family(sink, "prometheus_target_scrape_pool_targets", IGNIS_METRIC_GAUGE,
                               "Current number of targets in this scrape pool.", NULL);
    for (struct pool *p = m->pools; p; p = p->next) {
        struct ignis_label l = ignis_label_make("scrape_job", p->job);
        rc |= ignis_sink_sample(sink, "", &l, 1, (double)p->ntargets, IGNIS_NO_TIMESTAMP);
    }
    rc |= ignis_sink_family(sink, "prometheus_sd_discovered_targets", IGNIS_METRIC_GAUGE,
                            "Current number of discovered targets.", NULL);
    for (struct pool *p = m->pools; p; p = p->next) {
        struct ignis_label l[2] = {ignis_label_make("config", p->job),
                                   ignis_label_make("name", "scrape")};
        rc |= ignis_sink_sample(sink, "", l, 2, (double)(p->ntargets + p->ndropped),
                                IGNIS_NO_TIMESTAMP);
    }
    rc |= ignis_sink_family(sink, "prometheus_target_scrape_pools", IGNIS_METRIC_GAUGE,
                            "Current number of scrape pools.", NULL);
    size_t n = 0;
    for (struct pool *p = m->pools; p; p = p->next)
        n++;
    rc |= ignis_sink_sample(sink, "", NULL, 0, (double)n, IGNIS_NO_TIMESTAMP);
    return rc ? -1 : 0;
}

static const char *const self_names[] = {
    "prometheus_target_scrapes_exceeded_sample_limit_total",
    "prometheus_target_scrapes_sample_duplicate_timestamp_total",
    "prometheus_target_scrapes_sample_out_of_order_total",
    "prometheus_target_scrapes_sample_out_of_bounds_total",
    "ignis_target_scrapes_failed_total",
    "prometheus_target_interval_length_seconds",
};

static int register_self(struct ig_scrape *m, char *err, size_t errlen)
{
    struct ignis_registry *reg = ignis_registry_default();
    for (size_t i = 0; i < sizeof self_names / sizeof self_names[0]; i++)
        ignis_registry_unregister(reg, self_names[i]);
    const char *help[] = {
        "Total number of scrapes that hit the sample limit and were rejected.",
        "Total number of samples rejected due to duplicate timestamps but different values.",
        "Total number of samples rejected due to not being out of the expected order.",
        "Total number of samples rejected due to timestamp falling outside of the time bounds.",
        "Scrapes that failed (target down, bad body, limits), all targets together.",
    };
    struct ignis_counter **cs[] = {&m->c_sample_limit, &m->c_dup_ts, &m->c_out_of_order,
                                   &m->c_out_of_bounds, &m->c_scrapes_failed};
    for (size_t i = 0; i < 5; i++) {
        struct ignis_metric_opts o = {.name = self_names[i], .help = help[i]};
        if (!(*cs[i] = ignis_counter_new(reg, &o, err, errlen)))
            return -1;
    }
    static const struct ignis_quantile qs[] = {
        {0.01, 0.001}, {0.05, 0.005}, {0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};
    static const char *const iv_labels[] = {"interval"};
    struct ignis_metric_opts o = {.name = self_names[5],
                                  .help = "Actual intervals between scrapes.",
                                  .label_names = iv_labels, .nlabels = 1, .quantiles = qs,
                                  .nquantiles = 5};
    if (!(m->interval_length = ignis_summary_vec_new(reg, &o, err, errlen)))
        return -1;
    return ignis_registry_add_collector(reg, collect_pools, m);
}

struct ig_scrape *ig_scrape_new(struct ig_core *core, char *err, size_t errlen)
{
    struct ig_scrape *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->core = core;
    m->httpc = ig_httpc_new(core->base, err, errlen);
    if (!m->httpc) {
        free(m);
        return NULL;
    }
    if (register_self(m, err, errlen) != 0) {
        ig_httpc_free(m->httpc);
        free(m);
        return NULL;
    }
    m->tolerance_ms = core->flags.scrape_tolerance_ms >= 0 ? core->flags.scrape_tolerance_ms
                                                           : DEFAULT_TOLERANCE_MS;
    /* Jitter seed: this host and its external labels, so two servers scraping the same
     * targets spread them differently while one server keeps its schedule. */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    m->jitter_seed = XXH3_64bits(host, strlen(host)) ^
                     ignis_labels_hash(core->cfg.external_labels, core->cfg.nexternal_labels);
    return m;
}

static void retire_pool(struct pool *p)
{
    p->removed = true;
    struct target *t = p->targets;
    p->targets = NULL;
    p->ntargets = 0;
    p->alive++; /* hold it while its targets retire */
    while (t) {
        struct target *next = t->next;
        retire_target(t);
        t = next;
    }
    if (--p->alive == 0)
        pool_free(p);
}

int ig_scrape_apply(struct ig_scrape *m, const struct ig_config *cfg, char *err, size_t errlen)
{
    err[0] = '\0';
    struct ig_instance *sti = ig_instances_find(m->core, IGNIS_PLUGIN_STORAGE, NULL);
    m->st = sti ? sti->plugin->desc->ops : NULL;
    m->st_inst = sti ? sti->inst : NULL;
    size_t n = ignis_config_count(cfg->root, "scrape_configs");
    struct pool **fresh = calloc(n + 1, sizeof *fresh);
    if (!fresh) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        fresh[i] = pool_from_config(m, cfg, ignis_config_at(cfg->root, "scrape_configs", i), err,
                                    errlen);
        if (!fresh[i]) {
            for (size_t j = 0; j < i; j++)
                pool_free(fresh[j]);
            free(fresh);
            return -1;
        }
    }
    /* Pools that stay keep their targets; settings change in place. */
    struct pool *next_pools = NULL, **tail = &next_pools;
    for (size_t i = 0; i < n; i++) {
        struct pool *old = find_pool(m, fresh[i]->job);
        if (!old) {
            *tail = fresh[i];
            tail = &fresh[i]->next;
            continue;
        }
        /* Detach old from the list; move its targets to the fresh pool. */
        for (struct pool **pp = &m->pools; *pp; pp = &(*pp)->next)
            if (*pp == old) {
                *pp = old->next;
                break;
            }
        struct pool *p = fresh[i];
        p->targets = old->targets;
        p->ntargets = old->ntargets;
        p->alive = old->alive;
        p->sync_timer = old->sync_timer;
        old->sync_timer = NULL;
        for (struct target *t = p->targets; t; t = t->next)
            t->pool = p;
        bool changed = !old->settings_key || !p->settings_key ||
                       strcmp(old->settings_key, p->settings_key) != 0;
        old->targets = NULL;
        old->alive = 0;
        if (changed) {
            /* New settings: loops restart with the new interval (cache kept). */
            for (struct target *t = p->targets; t; t = t->next) {
                t->interval_ms = 0;
            }
        }
        if (p->sync_timer)
            event_assign((struct event *)p->sync_timer, m->core->base, -1, 0, sync_cb, p);
        pool_free(old);
        *tail = p;
        tail = &p->next;
    }
    /* Pools no longer configured: their targets retire (stale markers); a pool is
     * freed with its last target. */
    for (struct pool *p = m->pools; p;) {
        struct pool *next = p->next;
        p->next = NULL;
        retire_pool(p);
        p = next;
    }
    m->pools = next_pools;
    free(fresh);

    /* Discovery instances: start new ones; forget those destroyed by the reload. */
    size_t k = 0;
    for (size_t i = 0; i < m->ndproviders; i++) {
        struct provider *pr = m->dproviders[i];
        bool alive = false;
        for (struct ig_instance *in = m->core->instances; in && !alive; in = in->next)
            alive = in == pr->inst && in->started;
        if (alive) {
            m->dproviders[k++] = pr;
        } else {
            provider_clear_groups(pr);
            free(pr->name);
            free(pr);
        }
    }
    m->ndproviders = k;
    for (struct ig_instance *in = m->core->instances; in; in = in->next) {
        if (in->kind != IGNIS_PLUGIN_DISCOVERY || in->started)
            continue;
        struct provider *pr = calloc(1, sizeof *pr);
        struct provider **nv = realloc(m->dproviders, (m->ndproviders + 1) * sizeof *nv);
        if (!pr || !nv) {
            free(pr);
            if (nv)
                m->dproviders = nv;
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        m->dproviders = nv;
        pr->name = strdup(in->name);
        pr->inst = in;
        pr->mgr = m;
        char job[512];
        pr->pool = job_of_instance(in->name, job, sizeof job) ? find_pool(m, job) : NULL;
        m->dproviders[m->ndproviders++] = pr;
        const struct ignis_discovery_ops *ops = in->plugin->desc->ops;
        if (ops->start(in->inst, emit, pr) != 0) {
            ig_error("scrape", "discovery instance failed to start\tinstance=%s", in->name);
            continue;
        }
        in->started = true;
    }
    for (size_t i = 0; i < m->ndproviders; i++) {
        char job[512];
        m->dproviders[i]->pool = job_of_instance(m->dproviders[i]->name, job, sizeof job)
                                  ? find_pool(m, job) : NULL;
    }
    for (struct pool *p = m->pools; p; p = p->next)
        pool_sync(p);
    return 0;
}

void ig_scrape_stop(struct ig_scrape *m)
{
    if (!m)
        return;
    struct pool *p = m->pools;
    m->pools = NULL;
    while (p) {
        struct pool *next = p->next;
        p->next = NULL;
        for (struct target *t = p->targets; t; t = t->next) {
            t->stopping = true;
            if (t->xfer) {
                ig_httpc_cancel(t->xfer);
                t->xfer = NULL;
                t->busy = false;
            }
        }
        retire_pool(p);
        p = next;
    }
}

void ig_scrape_free(struct ig_scrape *m)
{
    if (!m)
        return;
    ig_scrape_stop(m); /* pools free themselves with their last target */
    for (size_t i = 0; i < m->ndproviders; i++) {
        provider_clear_groups(m->dproviders[i]);
        free(m->dproviders[i]->name);
        free(m->dproviders[i]);
    }
    free(m->dproviders);
    m->dproviders = NULL;
    m->ndproviders = 0;
    ignis_registry_remove_collector(ignis_registry_default(), collect_pools, m);
    ig_httpc_free(m->httpc);
    free(m);
}

size_t ig_scrape_active_targets(const struct ig_scrape *m)
{
    size_t n = 0;
    for (struct pool *p = m->pools; p; p = p->next)
        n += p->ntargets;
    return n;
}

/* ---- /api/v1/targets ------------------------------------------------------------- */

static int cmp_pool_name(const void *a, const void *b)
{
    return strcmp((*(struct pool *const *)a)->job, (*(struct pool *const *)b)->job);
}

void ig_scrape_targets_json(struct ig_scrape *m, struct evbuffer *out, const char *state,
                            const char *pool)
{
    bool any = !state || !*state || strcmp(state, "any") == 0;
    bool active = any || strcasecmp(state, "active") == 0;
    bool dropped = any || strcasecmp(state, "dropped") == 0;
    size_t np = 0;
    for (struct pool *p = m->pools; p; p = p->next)
        np++;
    struct pool **pools = calloc(np + 1, sizeof *pools);
    np = 0;
    for (struct pool *p = m->pools; pools && p; p = p->next)
        if (!pool || !*pool || strcmp(pool, p->job) == 0)
            pools[np++] = p;
    if (pools)
        qsort(pools, np, sizeof *pools, cmp_pool_name);
    evbuffer_add_printf(out, "{\"activeTargets\":[");
    bool first = true;
    for (size_t i = 0; active && i < np; i++) {
        for (struct target *t = pools[i]->targets; t; t = t->next) {
            evbuffer_add_printf(out, "%s{\"discoveredLabels\":", first ? "" : ",");
            first = false;
            ig_json_labels(out, t->discovered, t->ndiscovered);
            evbuffer_add_printf(out, ",\"labels\":");
            ig_json_labels(out, t->labels, t->nlabels);
            evbuffer_add_printf(out, ",\"scrapePool\":");
            ig_json_cstr(out, pools[i]->job);
            evbuffer_add_printf(out, ",\"scrapeUrl\":");
            ig_json_cstr(out, t->url);
            evbuffer_add_printf(out, ",\"globalUrl\":");
            ig_json_cstr(out, t->global_url);
            evbuffer_add_printf(out, ",\"lastError\":");
            ig_json_cstr(out, t->last_error);
            evbuffer_add_printf(out, ",\"lastScrape\":");
            if (t->last_scrape_ms)
                ig_json_time(out, t->last_scrape_ms);
            else
                evbuffer_add_printf(out, "\"0001-01-01T00:00:00Z\"");
            evbuffer_add_printf(out, ",\"lastScrapeDuration\":");
            ig_json_number(out, t->last_duration);
            evbuffer_add_printf(out, ",\"health\":\"%s\"",
                                t->health == HEALTH_UP     ? "up"
                                : t->health == HEALTH_DOWN ? "down"
                                                           : "unknown");
            char iv[32], to[32];
            ignis_format_duration(t->interval_ms, iv, sizeof iv);
            ignis_format_duration(t->timeout_ms, to, sizeof to);
            evbuffer_add_printf(out, ",\"scrapeInterval\":\"%s\",\"scrapeTimeout\":\"%s\"}", iv, to);
        }
    }
    evbuffer_add_printf(out, "],\"droppedTargets\":[");
    first = true;
    for (size_t i = 0; dropped && i < np; i++) {
        for (size_t d = 0; d < pools[i]->ndropped; d++) {
            evbuffer_add_printf(out, "%s{\"discoveredLabels\":", first ? "" : ",");
            first = false;
            ig_json_labels(out, pools[i]->dropped[d].labels, pools[i]->dropped[d].nlabels);
            evbuffer_add_printf(out, "}");
        }
    }
    evbuffer_add_printf(out, "]}");
    free(pools);
}
