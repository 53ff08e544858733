/* core/api_query.c — the query side of the HTTP API: /api/v1/query, /api/v1/query_range,
 * /api/v1/format_query, /api/v1/parse_query, /api/v1/query_exemplars and
 * /api/v1/status/{buildinfo,runtimeinfo,flags,config}, in Prometheus' JSON shapes and HTTP codes. Queries run on
 * the query lane through the loaded query plugin's ops table; an optional query log
 * gets one JSON line per query. */
#include <config.h>
#include "core/api.h"
#include "core/core.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/workers.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include <ignis/expose.h>

#define JSON_CT "application/json"
/* Prometheus' bound on points per series in a range query. */
#define MAX_POINTS 11000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t start_ms; /* process start, for runtimeinfo */


/* Writes ms as the API writes timestamps (seconds with up to 3 decimals, trailing zeros
 * dropped) at p, which has room for 24 bytes; returns the end. */
static char *put_ts(char *p, int64_t ms)
{
    int64_t s = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        s--;
    }
    uint64_t u = (uint64_t)s;
    if (s < 0) {
        *p++ = '-';
        u = 0 - u;
    }
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n)
        *p++ = tmp[--n];
    if (frac) {
        *p++ = '.';
        *p++ = (char)('0' + frac / 100);
        if (frac % 100) {
            *p++ = (char)('0' + frac / 10 % 10);
            if (frac % 10)
                *p++ = (char)('0' + frac % 10);
        }
    }
    return p;
}

static void json_ts(struct evbuffer *b, int64_t ms)
{
    char buf[24];
    evbuffer_add(b, buf, (size_t)(put_ts(buf, ms) - buf));
}

/* A duration parameter: float seconds or a Prometheus duration. */
static int parse_dur(const char *s, int64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s && *end == '\0' && errno == 0 && isfinite(v)) {
        *ms = (int64_t)llround(v * 1000.0);
        return 0;
    }
    return ignis_parse_duration(s, strlen(s), ms);
}

/* ---- query execution ---------------------------------------------------------------- */

struct qjob {
    struct ig_core *core;
    struct ignis_http_req *req;
    const struct ignis_query_ops *qo;
    void *qinst;
    struct ignis_query_params p;
    char *expr;
    bool range, stats;
    struct ignis_query *q;
    int rc;
    struct timespec queued, started, ended;
    /* rendered on the worker, sent from the loop */
    struct evbuffer *out;
    int status;
};

static void render(struct qjob *j);

/* On a worker of the query lane: evaluate, then render the JSON answer (a large matrix
 * takes a while to format; the loop only sends it). */
static void q_work(void *arg)
{
    struct qjob *j = arg;
    clock_gettime(CLOCK_MONOTONIC, &j->started);
    j->rc = j->qo->exec(j->qinst, &j->p, &j->q);
    clock_gettime(CLOCK_MONOTONIC, &j->ended);
    render(j);
}

static double secs_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static const char *error_type(enum ignis_query_error e, int *status)
{
    switch (e) {
    case IGNIS_QERR_BAD_DATA: *status = 400; return "bad_data";
    case IGNIS_QERR_EXECUTION: *status = 422; return "execution";
    case IGNIS_QERR_TIMEOUT: *status = 503; return "timeout";
    case IGNIS_QERR_CANCELED: *status = 503; return "canceled";
    default: *status = 500; return "internal";
    }
}

static void write_strings(struct evbuffer *b, const char *key, const char *const *v, size_t n)
{
    if (!n)
        return;
    evbuffer_add_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            evbuffer_add(b, ",", 1);
        ig_json_cstr(b, v[i]);
    }
    evbuffer_add(b, "]", 1);
}

/* Writes the query log line (when a query log is configured). */
static void query_log(struct qjob *j, const struct ignis_query_result *r)
{
    const char *path = j->core->cfg.root ? ignis_config_string(ignis_config_group(j->core->cfg.root, "global"), "query_log_file") : NULL;
    if (!path || !*path)
        return;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"params\":{\"query\":");
    ig_json_cstr(b, j->expr);
    evbuffer_add_printf(b, ",\"start\":");
    ig_json_time(b, j->p.start);
    evbuffer_add_printf(b, ",\"end\":");
    ig_json_time(b, j->p.end);
    evbuffer_add_printf(b, ",\"step\":%lld},\"stats\":{\"timings\":{\"evalTotalTime\":%.9f,"
                           "\"execQueueTime\":%.9f,\"execTotalTime\":%.9f}},\"ts\":",
                        (long long)(j->p.step / 1000), secs_between(&j->started, &j->ended),
                        secs_between(&j->queued, &j->started), secs_between(&j->queued, &j->ended));
    ig_json_time(b, now_ms());
    if (r && r->error_msg) {
        evbuffer_add_printf(b, ",\"error\":");
        ig_json_cstr(b, r->error_msg);
    }
    evbuffer_add_printf(b, "}\n");
    FILE *f = fopen(path, "a");
    if (f) {
        size_t n = evbuffer_get_length(b);
        fwrite(evbuffer_pullup(b, (ev_ssize_t)n), 1, n, f);
        fclose(f);
    }
    evbuffer_free(b);
}

/* Output written straight into space reserved in the evbuffer, committed in large pieces:
 * a matrix answer has millions of points, and an evbuffer call (or a copy) per token
 * costs more than the formatting. Nothing else may write to the evbuffer between
 * wb_room and wb_commit. Out of memory, the rest of the output is dropped (failed). */
struct wbuf {
    struct evbuffer *b;
    char *p; /* reserved space; NULL: none */
    size_t n, cap;
    struct evbuffer_iovec v;
    bool failed;
};

#define WB_CHUNK 65536 /* bytes reserved at a time */
#define WB_POINT 64    /* room one point's timestamp and punctuation need */

static void wb_commit(struct wbuf *w)
{
    if (w->p && w->n) {
        w->v.iov_len = w->n;
        evbuffer_commit_space(w->b, &w->v, 1);
    }
    w->p = NULL;
    w->n = w->cap = 0;
}

/* Room for need (<= WB_CHUNK) more bytes at the returned pointer (w->p + w->n), or NULL. */
static char *wb_room(struct wbuf *w, size_t need)
{
    if (w->p && w->n + need <= w->cap)
        return w->p + w->n;
    wb_commit(w);
    if (w->failed || evbuffer_reserve_space(w->b, WB_CHUNK, &w->v, 1) != 1 ||
        w->v.iov_len < need) {
        w->failed = true;
        return NULL;
    }
    w->p = w->v.iov_base;
    w->cap = w->v.iov_len;
    return w->p;
}

static void wb_add(struct wbuf *w, const char *s, size_t n)
{
    char *p = wb_room(w, n);
    if (p) {
        memcpy(p, s, n);
        w->n += n;
    }
}

/* A quoted JSON string: copied when nothing in it needs escaping, else by ig_json_str. */
static void wb_str(struct wbuf *w, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    bool plain = len + 2 <= WB_CHUNK;
    for (size_t i = 0; i < len && plain; i++)
        plain = u[i] >= 0x20 && u[i] < 0x80 && u[i] != '"' && u[i] != '\\' && u[i] != '<' &&
                u[i] != '>' && u[i] != '&';
    if (!plain) {
        wb_commit(w);
        if (!w->failed)
            ig_json_str(w->b, s, len);
        return;
    }
    char *p = wb_room(w, len + 2);
    if (!p)
        return;
    *p++ = '"';
    memcpy(p, s, len);
    p[len] = '"';
    w->n += len + 2;
}

/* A sample value, quoted, as ig_json_value writes it. */
static void wb_value(struct wbuf *w, double v)
{
    char *p = wb_room(w, IGNIS_FORMAT_FLOAT_F_SIZE + 2), *start = p;
    if (!p)
        return;
    *p++ = '"';
    p += ignis_format_float(p, v, 'f');
    *p++ = '"';
    w->n += (size_t)(p - start);
}

/* Series [from, to) of the result array of a vector or matrix answer (the brackets are
 * the caller's). */
static void render_part(struct evbuffer *b, const struct ignis_query_result *r, size_t from,
                        size_t to)
{
    struct wbuf wb = {.b = b}, *w = &wb;
    /* The points of a matrix mostly share their timestamps (the steps): each is written
     * once per position and copied after that. */
    struct tscache {
        int64_t ms;
        char s[24];
    } *tc = NULL;
    size_t ntc = 0;
    if (r->type == IGNIS_VALUE_MATRIX) {
        for (size_t i = 0; i < r->nseries; i++)
            if (r->series[i].npoints > ntc)
                ntc = r->series[i].npoints;
        if (ntc > MAX_POINTS + 1)
            ntc = MAX_POINTS + 1;
        tc = ntc ? malloc(ntc * sizeof *tc) : NULL;
        for (size_t k = 0; tc && k < ntc; k++) {
            tc[k].ms = INT64_MIN; /* no point is at INT64_MIN: ig_api_parse_time bounds */
            tc[k].s[0] = '\0';
        }
    }
    for (size_t i = from; i < to && !w->failed; i++) {
        const struct ignis_result_series *s = &r->series[i];
        wb_add(w, i ? ",{\"metric\":{" : "{\"metric\":{", i ? 12 : 11);
        for (size_t l = 0; l < s->nlabels; l++) {
            if (l)
                wb_add(w, ",", 1);
            wb_str(w, s->labels[l].name, s->labels[l].name_len);
            wb_add(w, ":", 1);
            wb_str(w, s->labels[l].value, s->labels[l].value_len);
        }
        wb_add(w, "}", 1);
        if (r->type == IGNIS_VALUE_VECTOR) {
            wb_add(w, ",\"value\":[", 10);
            char *p = wb_room(w, WB_POINT), *start = p;
            if (!p)
                break;
            p = put_ts(p, s->npoints ? s->t[0] : r->t);
            *p++ = ',';
            w->n += (size_t)(p - start);
            wb_value(w, s->npoints ? s->v[0] : NAN);
            wb_add(w, "]}", 2);
            continue;
        }
        wb_add(w, ",\"values\":[", 11);
        for (size_t k = 0; k < s->npoints; k++) {
            char *p = wb_room(w, WB_POINT), *start = p;
            if (!p)
                break;
            if (k)
                *p++ = ',';
            *p++ = '[';
            if (k < ntc && tc) {
                struct tscache *c = &tc[k];
                if (c->ms != s->t[k]) {
                    c->ms = s->t[k];
                    *put_ts(c->s, c->ms) = '\0';
                }
                size_t l = strlen(c->s);
                memcpy(p, c->s, sizeof c->s);
                p += l;
            } else {
                p = put_ts(p, s->t[k]);
            }
            *p++ = ',';
            w->n += (size_t)(p - start);
            wb_value(w, s->v[k]);
            wb_add(w, "]", 1);
        }
        wb_add(w, "]}", 2);
    }
    wb_commit(w);
    free(tc);
}

/* Points from which a matrix is written by two threads: the second half of the series
 * into its own evbuffer, moved (not copied) behind the first. Below this, a thread costs
 * more than it saves. */
#define RENDER_SPLIT_POINTS 200000

struct render_half {
    struct evbuffer *b;
    const struct ignis_query_result *r;
    size_t from, to;
};

static void *render_half_main(void *arg)
{
    struct render_half *h = arg;
    render_part(h->b, h->r, h->from, h->to);
    return NULL;
}

/* The result array of a vector or matrix answer. */
static void render_series(struct evbuffer *b, const struct ignis_query_result *r)
{
    evbuffer_add(b, "[", 1);
    size_t points = 0;
    for (size_t i = 0; i < r->nseries && points < RENDER_SPLIT_POINTS; i++)
        points += r->series[i].npoints;
    size_t mid = r->nseries / 2;
    struct render_half h = {.r = r, .from = mid, .to = r->nseries};
    pthread_t th;
    bool split = points >= RENDER_SPLIT_POINTS && mid > 0 && (h.b = evbuffer_new()) != NULL;
    if (split && pthread_create(&th, NULL, render_half_main, &h) != 0) {
        evbuffer_free(h.b);
        split = false;
    }
    render_part(b, r, 0, split ? mid : r->nseries);
    if (split) {
        pthread_join(th, NULL);
        evbuffer_add_buffer(b, h.b);
        evbuffer_free(h.b);
    }
    evbuffer_add(b, "]", 1);
}

static void render(struct qjob *j)
{
    const struct ignis_query_result *r = j->q ? j->qo->result(j->q) : NULL;
    query_log(j, r);
    j->out = evbuffer_new();
    if (!j->out)
        return;
    if (!r) {
        ig_api_error_body(j->out, "internal", j->rc ? ignis_strerror(j->rc) : "query failed");
        j->status = 500;
        return;
    }
    if (r->error != IGNIS_QERR_NONE) {
        int status;
        const char *type = error_type(r->error, &status);
        struct evbuffer *b = j->out;
        evbuffer_add_printf(b, "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":", type);
        ig_json_cstr(b, r->error_msg ? r->error_msg : "");
        write_strings(b, "warnings", r->warnings, r->nwarnings);
        write_strings(b, "infos", r->infos, r->ninfos);
        evbuffer_add(b, "}", 1);
        j->status = status;
        return;
    }
    struct evbuffer *b = j->out;
    static const char *const tnames[] = {"", "scalar", "vector", "matrix", "string"};
    const char *rt = r->type <= IGNIS_VALUE_STRING ? tnames[r->type] : "";
    evbuffer_add_printf(b, "{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":", rt);
    if (r->type == IGNIS_VALUE_SCALAR || r->type == IGNIS_VALUE_STRING) {
        evbuffer_add(b, "[", 1);
        json_ts(b, r->t);
        evbuffer_add(b, ",", 1);
        if (r->type == IGNIS_VALUE_SCALAR)
            ig_json_value(b, r->scalar);
        else
            ig_json_cstr(b, r->string ? r->string : "");
        evbuffer_add(b, "]", 1);
    } else {
        render_series(b, r);
    }
    if (j->stats) {
        evbuffer_add_printf(b,
                            ",\"stats\":{\"timings\":{\"evalTotalTime\":%.9g,\"resultSortTime\":0,"
                            "\"queryPreparationTime\":%.9g,\"innerEvalTime\":%.9g,"
                            "\"execQueueTime\":%.9g,\"execTotalTime\":%.9g},"
                            "\"samples\":{\"totalQueryableSamples\":%llu,\"peakSamples\":%llu}}",
                            (double)r->eval_ns / 1e9, (double)r->prepare_ns / 1e9,
                            (double)r->eval_ns / 1e9, secs_between(&j->queued, &j->started),
                            secs_between(&j->queued, &j->ended),
                            (unsigned long long)r->total_samples,
                            (unsigned long long)r->peak_samples);
    }
    evbuffer_add(b, "}", 1);
    write_strings(b, "warnings", r->warnings, r->nwarnings);
    write_strings(b, "infos", r->infos, r->ninfos);
    evbuffer_add(b, "}", 1);
    j->status = 200;
}

/* On the loop: send what the worker rendered. */
static void q_done(void *arg)
{
    struct qjob *j = arg;
    if (j->out)
        ig_http_reply(j->req, j->status, JSON_CT, j->out);
    else
        ig_api_reply_error(j->req, "internal", "out of memory");
    if (j->out)
        evbuffer_free(j->out);
    if (j->q)
        j->qo->query_free(j->q);
    free(j->expr);
    free(j);
}

static bool find_query(struct ig_core *core, const struct ignis_query_ops **qo, void **qi)
{
    struct ig_instance *in = ig_instances_find(core, IGNIS_PLUGIN_QUERY, NULL);
    if (!in)
        return false;
    *qo = in->plugin->desc->ops;
    *qi = in->inst;
    return true;
}

static void run_query(struct ig_core *core, struct ignis_http_req *req, bool range)
{
    const struct ignis_query_ops *qo;
    void *qi;
    if (!find_query(core, &qo, &qi)) {
        ig_api_reply_error(req, "unavailable", "no query plugin loaded (add \"promql\" to plugins.load)");
        return;
    }
    struct ig_instance *st = ig_instances_find(core, IGNIS_PLUGIN_STORAGE, NULL);
    if (!st) {
        ig_api_reply_error(req, "unavailable", "no storage plugin loaded");
        return;
    }
    const char *expr = ig_http_param(req, "query");
    if (!expr) {
        ig_api_reply_error(req, "bad_data", "invalid parameter \"query\": unknown position: parse error: no expression found in input");
        return;
    }
    struct qjob *j = calloc(1, sizeof *j);
    if (!j || !(j->expr = strdup(expr))) {
        free(j);
        ig_api_reply_error(req, "internal", "out of memory");
        return;
    }
    j->core = core;
    j->req = req;
    j->qo = qo;
    j->qinst = qi;
    j->range = range;
    const char *stats = ig_http_param(req, "stats");
    j->stats = stats && *stats;
    char msg[512];
    j->p.size = sizeof j->p;
    j->p.expr = j->expr;
    j->p.storage_ops = st->plugin->desc->ops;
    j->p.storage = st->inst;
    const char *to = ig_http_param(req, "timeout");
    if (to && *to && parse_dur(to, &j->p.timeout_ms) != 0) {
        snprintf(msg, sizeof msg, "invalid parameter \"timeout\": cannot parse \"%s\" to a valid duration", to);
        goto bad;
    }
    const char *lim = ig_http_param(req, "limit");
    if (lim && *lim) {
        char *end;
        long l = strtol(lim, &end, 10);
        if (*end || l < 0) {
            snprintf(msg, sizeof msg, "invalid parameter \"limit\": cannot parse \"%s\" to a valid limit", lim);
            goto bad;
        }
        j->p.limit = (size_t)l;
    }
    if (!range) {
        const char *t = ig_http_param(req, "time");
        int64_t ts = now_ms();
        if (t && *t && ig_api_parse_time(t, &ts) != 0) {
            snprintf(msg, sizeof msg, "invalid parameter \"time\": cannot parse \"%s\" to a valid timestamp", t);
            goto bad;
        }
        j->p.start = j->p.end = ts;
        j->p.step = 0;
    } else {
        const char *s = ig_http_param(req, "start"), *e = ig_http_param(req, "end"),
                   *st_ = ig_http_param(req, "step");
        if (!s || ig_api_parse_time(s, &j->p.start) != 0) {
            snprintf(msg, sizeof msg, "invalid parameter \"start\": cannot parse \"%s\" to a valid timestamp", s ? s : "");
            goto bad;
        }
        if (!e || ig_api_parse_time(e, &j->p.end) != 0) {
            snprintf(msg, sizeof msg, "invalid parameter \"end\": cannot parse \"%s\" to a valid timestamp", e ? e : "");
            goto bad;
        }
        if (j->p.end < j->p.start) {
            snprintf(msg, sizeof msg, "invalid parameter \"end\": end timestamp must not be before start time");
            goto bad;
        }
        if (!st_ || parse_dur(st_, &j->p.step) != 0) {
            snprintf(msg, sizeof msg, "invalid parameter \"step\": cannot parse \"%s\" to a valid duration", st_ ? st_ : "");
            goto bad;
        }
        if (j->p.step <= 0) {
            snprintf(msg, sizeof msg, "zero or negative query resolution step widths are not accepted. Try a positive integer");
            goto bad;
        }
        if ((j->p.end - j->p.start) / j->p.step > MAX_POINTS) {
            snprintf(msg, sizeof msg, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
            goto bad;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &j->queued);
    if (ig_workers_submit(core->workers, IGNIS_LANE_QUERY, q_work, q_done, j) != 0) {
        free(j->expr);
        free(j);
        ig_api_reply_error(req, "unavailable", "too many queries in flight");
    }
    return;
bad:
    free(j->expr);
    free(j);
    ig_api_reply_error(req, "bad_data", msg);
}

static void h_query(void *arg, struct ignis_http_req *req)
{
    run_query(arg, req, false);
}

static void h_query_range(void *arg, struct ignis_http_req *req)
{
    run_query(arg, req, true);
}

/* /api/v1/format_query (the expression pretty-printed) and /api/v1/parse_query (its
 * syntax tree as JSON); both parse only. */
static void parse_reply(void *arg, struct ignis_http_req *req, bool tree)
{
    const struct ignis_query_ops *qo;
    void *qi;
    if (!find_query(arg, &qo, &qi)) {
        ig_api_reply_error(req, "unavailable", "no query plugin loaded");
        return;
    }
    if (tree && !IGNIS_HAS(qo, parse_json)) {
        ig_api_reply_error(req, "unavailable", "the query plugin cannot show syntax trees");
        return;
    }
    const char *expr = ig_http_param(req, "query");
    char err[1024] = "";
    char *out = NULL;
    if (expr)
        out = tree ? qo->parse_json(qi, expr, err, sizeof err) : qo->format(qi, expr, err, sizeof err);
    if (!out) {
        char msg[1100];
        snprintf(msg, sizeof msg, "invalid parameter \"query\": %s",
                 err[0] ? err : "no expression found in input");
        ig_api_reply_error(req, "bad_data", msg);
        return;
    }
    struct evbuffer *d = evbuffer_new();
    if (tree)
        evbuffer_add(d, out, strlen(out));
    else
        ig_json_cstr(d, out);
    free(out);
    ig_api_reply_data(req, d);
    evbuffer_free(d);
}

static void h_format_query(void *arg, struct ignis_http_req *req)
{
    parse_reply(arg, req, false);
}

static void h_parse_query(void *arg, struct ignis_http_req *req)
{
    parse_reply(arg, req, true);
}

/* /api/v1/query_exemplars: exemplars of the series a selector picks in [start, end]. */
struct ex_ctx {
    struct evbuffer *b;
    char last[4096];
    bool any, open;
};

static void ex_one(void *arg, const struct ignis_label *ls, size_t n, const struct ignis_exemplar *e)
{
    struct ex_ctx *c = arg;
    struct evbuffer *key = evbuffer_new();
    ig_json_labels(key, ls, n);
    size_t kl = evbuffer_get_length(key);
    char *k = (char *)evbuffer_pullup(key, (ev_ssize_t)kl);
    bool same = c->open && kl < sizeof c->last && strlen(c->last) == kl && memcmp(c->last, k, kl) == 0;
    if (!same) {
        if (c->open)
            evbuffer_add(c->b, "]}", 2);
        evbuffer_add_printf(c->b, "%s{\"seriesLabels\":", c->any ? "," : "");
        evbuffer_add(c->b, k, kl);
        evbuffer_add_printf(c->b, ",\"exemplars\":[");
        snprintf(c->last, sizeof c->last, "%.*s", (int)kl, k);
        c->open = true;
        c->any = true;
    } else {
        evbuffer_add(c->b, ",", 1);
    }
    evbuffer_add_printf(c->b, "{\"labels\":");
    ig_json_labels(c->b, e->labels, e->nlabels);
    evbuffer_add_printf(c->b, ",\"value\":");
    ig_json_value(c->b, e->value);
    evbuffer_add_printf(c->b, ",\"timestamp\":");
    json_ts(c->b, e->t);
    evbuffer_add(c->b, "}", 1);
    evbuffer_free(key);
}

static void h_query_exemplars(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    struct ig_instance *st = ig_instances_find(core, IGNIS_PLUGIN_STORAGE, NULL);
    const char *expr = ig_http_param(req, "query");
    int64_t start = IG_API_MIN_TIME, end = IG_API_MAX_TIME;
    const char *s = ig_http_param(req, "start"), *e = ig_http_param(req, "end");
    if ((s && *s && ig_api_parse_time(s, &start) != 0) || (e && *e && ig_api_parse_time(e, &end) != 0)) {
        ig_api_reply_error(req, "bad_data", "invalid parameter \"start\" or \"end\"");
        return;
    }
    struct ignis_selector sel = {0};
    char err[512];
    if (!expr || ignis_selector_parse(expr, strlen(expr), &sel, err, sizeof err) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "invalid parameter \"query\": %s", expr ? err : "no expression found in input");
        ig_api_reply_error(req, "bad_data", msg);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"status\":\"success\",\"data\":[");
    const struct ignis_storage_ops *so = st ? st->plugin->desc->ops : NULL;
    struct ex_ctx c = {.b = b};
    if (so && IGNIS_HAS(so, exemplars))
        so->exemplars(st->inst, sel.matchers, sel.n, start, end, ex_one, &c);
    if (c.open)
        evbuffer_add(b, "]}", 2);
    evbuffer_add(b, "]}", 2);
    ignis_selector_free(&sel);
    ig_http_reply(req, 200, JSON_CT, b);
    evbuffer_free(b);
}

/* ---- status ------------------------------------------------------------------------- */

static void h_buildinfo(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    struct evbuffer *d = evbuffer_new();
    evbuffer_add_printf(d, "{\"version\":\"%s\",\"revision\":\"\",\"branch\":\"\",\"buildUser\":\"\","
                           "\"buildDate\":\"\",\"goVersion\":\"\"}", PACKAGE_VERSION);
    ig_api_reply_data(req, d);
    evbuffer_free(d);
}

static void h_runtimeinfo(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    struct evbuffer *d = evbuffer_new();
    char cwd[4096] = "";
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    evbuffer_add_printf(d, "{\"startTime\":");
    ig_json_time(d, start_ms);
    evbuffer_add_printf(d, ",\"CWD\":");
    ig_json_cstr(d, cwd);
    evbuffer_add_printf(d, ",\"reloadConfigSuccess\":%s,\"lastConfigTime\":",
                        core->cfg.root ? "true" : "false");
    ig_json_time(d, start_ms);
    evbuffer_add_printf(d, ",\"corruptionCount\":0,\"goroutineCount\":0,\"GOMAXPROCS\":%ld,"
                           "\"GOMEMLIMIT\":0,\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":",
                        sysconf(_SC_NPROCESSORS_ONLN));
    struct ig_instance *st = ig_instances_find(core, IGNIS_PLUGIN_STORAGE, NULL);
    char ret[64] = "";
    for (size_t i = 0; st && i < core->cfg.ninstances; i++) {
        const struct ig_config_instance *ci = &core->cfg.instances[i];
        if (ci->kind == IGNIS_PLUGIN_STORAGE && strcmp(ci->name, st->name) == 0 &&
            ignis_config_row(ci->cfg, "retention_time"))
            ignis_format_duration(ignis_config_duration_ms(ci->cfg, "retention_time"), ret, sizeof ret);
    }
    ig_json_cstr(d, ret);
    evbuffer_add(d, "}", 1);
    ig_api_reply_data(req, d);
    evbuffer_free(d);
}

static void h_flags(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    const struct ig_flags *f = &core->flags;
    const struct ig_config *c = &core->cfg;
    char buf[64];
    struct evbuffer *d = evbuffer_new();
    evbuffer_add(d, "{", 1);
#define FLAG(name, val)                                                                    \
    do {                                                                                   \
        evbuffer_add_printf(d, "%s\"" name "\":", evbuffer_get_length(d) > 1 ? "," : "");  \
        ig_json_cstr(d, val);                                                              \
    } while (0)
    FLAG("config.file", f->config_file);
    FLAG("web.listen-address", c->listen_address);
    FLAG("web.external-url", c->external_url);
    FLAG("web.route-prefix", c->route_prefix);
    FLAG("web.enable-lifecycle", c->enable_lifecycle ? "true" : "false");
    FLAG("web.enable-admin-api", c->enable_admin_api ? "true" : "false");
    ignis_format_duration(c->query_timeout_ms, buf, sizeof buf);
    FLAG("query.timeout", buf);
    ignis_format_duration(c->query_lookback_ms, buf, sizeof buf);
    FLAG("query.lookback-delta", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->query_max_samples);
    FLAG("query.max-samples", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->query_max_concurrency);
    FLAG("query.max-concurrency", buf);
    FLAG("storage.tsdb.path", f->tsdb_path);
    FLAG("storage.tsdb.retention.time", f->retention_time);
    FLAG("storage.tsdb.retention.size", f->retention_size);
    FLAG("log.level", c->log_level);
    FLAG("log.format", c->log_format);
#undef FLAG
    evbuffer_add(d, "}", 1);
    ig_api_reply_data(req, d);
    evbuffer_free(d);
}

/* The config in force, printed in its own syntax with every setting (defaults too) and
 * secrets shown as "<secret>", as the "yaml" member Prometheus returns. */
static void print_view(struct evbuffer *b, const struct ignis_config *c, int indent);

static void print_value(struct evbuffer *b, const struct ignis_config *c,
                        const struct ignis_option *row, int indent)
{
    char buf[64];
    switch (row->type) {
    case IGNIS_OPT_STRING: {
        const char *s = ignis_config_string(c, row->name);
        evbuffer_add_printf(b, "\"");
        for (const char *p = s ? s : ""; *p; p++)
            evbuffer_add_printf(b, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
        evbuffer_add_printf(b, "\"");
        break;
    }
    case IGNIS_OPT_SECRET:
        evbuffer_add_printf(b, "\"<secret>\"");
        break;
    case IGNIS_OPT_INT: evbuffer_add_printf(b, "%lld", (long long)ignis_config_int(c, row->name)); break;
    case IGNIS_OPT_FLOAT: evbuffer_add_printf(b, "%g", ignis_config_float(c, row->name)); break;
    case IGNIS_OPT_BOOL: evbuffer_add_printf(b, "%s", ignis_config_bool(c, row->name) ? "true" : "false"); break;
    case IGNIS_OPT_DURATION:
        ignis_format_duration(ignis_config_duration_ms(c, row->name), buf, sizeof buf);
        evbuffer_add_printf(b, "\"%s\"", buf);
        break;
    case IGNIS_OPT_SIZE: evbuffer_add_printf(b, "%llu", (unsigned long long)ignis_config_size(c, row->name)); break;
    case IGNIS_OPT_REGEX: {
        const struct ignis_regex *re = ignis_config_regex(c, row->name);
        evbuffer_add_printf(b, "\"");
        for (const char *p = re ? ignis_regex_source(re) : ""; *p; p++)
            evbuffer_add_printf(b, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
        evbuffer_add_printf(b, "\"");
        break;
    }
    case IGNIS_OPT_STRINGS: {
        size_t n = ignis_config_count(c, row->name);
        evbuffer_add_printf(b, "[");
        for (size_t i = 0; i < n; i++)
            evbuffer_add_printf(b, "%s\"%s\"", i ? ", " : " ", ignis_config_string_at(c, row->name, i));
        evbuffer_add_printf(b, "%s]", n ? " " : "");
        break;
    }
    case IGNIS_OPT_LABELS: {
        size_t n = ignis_config_count(c, row->name);
        evbuffer_add_printf(b, "(");
        for (size_t i = 0; i < n; i++) {
            struct ignis_label l;
            ignis_config_label_at(c, row->name, i, &l);
            evbuffer_add_printf(b, "%s{ name = \"%.*s\"; value = \"%.*s\"; }", i ? ", " : " ",
                                (int)l.name_len, l.name, (int)l.value_len, l.value);
        }
        evbuffer_add_printf(b, "%s)", n ? " " : "");
        break;
    }
    case IGNIS_OPT_GROUP:
        evbuffer_add_printf(b, "{\n");
        print_view(b, ignis_config_group(c, row->name), indent + 2);
        evbuffer_add_printf(b, "%*s}", indent, "");
        break;
    case IGNIS_OPT_LIST: {
        size_t n = ignis_config_count(c, row->name);
        evbuffer_add_printf(b, "(");
        for (size_t i = 0; i < n; i++) {
            evbuffer_add_printf(b, "%s\n%*s{\n", i ? "," : "", indent + 2, "");
            print_view(b, ignis_config_at(c, row->name, i), indent + 4);
            evbuffer_add_printf(b, "%*s}", indent + 2, "");
        }
        evbuffer_add_printf(b, "%s)", n ? "\n" : "");
        if (n)
            evbuffer_add_printf(b, "%*s", 0, "");
        break;
    }
    default:
        evbuffer_add_printf(b, "{ }");
    }
}

static void print_view(struct evbuffer *b, const struct ignis_config *c, int indent)
{
    const struct ignis_option *rows = c ? ignis_config_schema(c) : NULL;
    for (size_t i = 0; rows && rows[i].name; i++) {
        const struct ignis_option *row = &rows[i];
        bool optional = !row->def && row->type != IGNIS_OPT_GROUP && row->type != IGNIS_OPT_LIST &&
                        row->type != IGNIS_OPT_STRINGS && row->type != IGNIS_OPT_LABELS;
        if (optional && !ignis_config_is_set(c, row->name))
            continue;
        evbuffer_add_printf(b, "%*s%s = ", indent, "", row->name);
        print_value(b, c, row, indent);
        evbuffer_add_printf(b, ";\n");
    }
}

static void h_config(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    struct evbuffer *text = evbuffer_new(), *d = evbuffer_new();
    print_view(text, core->cfg.root, 0);
    size_t n = evbuffer_get_length(text);
    evbuffer_add_printf(d, "{\"yaml\":");
    ig_json_str(d, (const char *)evbuffer_pullup(text, (ev_ssize_t)n), n);
    evbuffer_add(d, "}", 1);
    ig_api_reply_data(req, d);
    evbuffer_free(text);
    evbuffer_free(d);
}

int ig_api_query_routes(struct ig_core *core, struct ig_http *http, char *err, size_t errlen)
{
    start_ms = now_ms();
    const unsigned GP = IGNIS_HTTP_GET | IGNIS_HTTP_POST;
    const struct {
        unsigned m;
        const char *path;
        ignis_http_handler fn;
    } routes[] = {
        {GP, "/api/v1/query", h_query},
        {GP, "/api/v1/query_range", h_query_range},
        {GP, "/api/v1/format_query", h_format_query},
        {GP, "/api/v1/parse_query", h_parse_query},
        {GP, "/api/v1/query_exemplars", h_query_exemplars},
        {IGNIS_HTTP_GET, "/api/v1/status/buildinfo", h_buildinfo},
        {IGNIS_HTTP_GET, "/api/v1/status/runtimeinfo", h_runtimeinfo},
        {IGNIS_HTTP_GET, "/api/v1/status/flags", h_flags},
        {IGNIS_HTTP_GET, "/api/v1/status/config", h_config},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (ig_http_route(http, routes[i].m, routes[i].path, routes[i].fn, core, core) != 0) {
            snprintf(err, errlen, "cannot add route %s", routes[i].path);
            return -1;
        }
    return 0;
}
