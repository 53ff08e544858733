/* core/api.c — /api/v1/targets, /api/v1/targets/metadata, /api/v1/metadata,
 * /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values. */
#include <config.h>
#include "core/api.h"
#include "core/core.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/scrape.h"
#include "core/scrape_int.h"
#include "core/workers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define JSON_CT "application/json"
/* Most match[] selectors one request may carry. */
#define MAX_MATCH 256

void ig_api_error_body(struct evbuffer *b, const char *type, const char *msg)
{
    evbuffer_add_printf(b, "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":", type);
    ig_json_cstr(b, msg);
    evbuffer_add(b, "}", 1);
}

static int status_of(const char *type)
{
    if (strcmp(type, "bad_data") == 0)
        return 400;
    if (strcmp(type, "execution") == 0)
        return 422;
    if (strcmp(type, "timeout") == 0 || strcmp(type, "canceled") == 0 ||
        strcmp(type, "unavailable") == 0)
        return 503;
    if (strcmp(type, "not_found") == 0)
        return 404;
    return 500;
}

void ig_api_reply_error(struct ignis_http_req *req, const char *type, const char *msg)
{
    struct evbuffer *b = evbuffer_new();
    ig_api_error_body(b, type, msg);
    ig_http_reply(req, status_of(type), JSON_CT, b);
    evbuffer_free(b);
}

static void reply_error(struct ignis_http_req *req, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_error(struct ignis_http_req *req, const char *type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ig_api_reply_error(req, type, msg);
}

int ig_api_parse_time(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end == '\0' && errno == 0 && isfinite(v)) {
        double m = v * 1000.0;
        if (m > (double)IG_API_MAX_TIME)
            m = (double)IG_API_MAX_TIME;
        if (m < (double)IG_API_MIN_TIME)
            m = (double)IG_API_MIN_TIME;
        *ms = (int64_t)llround(m);
        return 0;
    }
    /* RFC 3339: 2006-01-02T15:04:05[.frac](Z|±hh:mm) */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    int64_t frac_ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        int64_t f = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3) {
                f = f * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        while (digits < 3) {
            f *= 10;
            digits++;
        }
        frac_ms = f;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = sign * (int64_t)(hh * 3600 + mm * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - off) * 1000 + frac_ms;
    return 0;
}

void ig_api_reply_data(struct ignis_http_req *req, struct evbuffer *data)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"status\":\"success\",\"data\":");
    evbuffer_add_buffer(b, data);
    evbuffer_add(b, "}", 1);
    ig_http_reply(req, 200, JSON_CT, b);
    evbuffer_free(b);
}

/* ---- targets ---------------------------------------------------------------------- */

static void h_targets(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    struct evbuffer *d = evbuffer_new();
    if (core->scrape)
        ig_scrape_targets_json(core->scrape, d, ig_http_param(req, "state"),
                               ig_http_param(req, "scrapePool"));
    else
        evbuffer_add_printf(d, "{\"activeTargets\":[],\"droppedTargets\":[]}");
    ig_api_reply_data(req, d);
    evbuffer_free(d);
}

static const char *type_name(enum ignis_metric_type t)
{
    return ignis_metric_type_name(t);
}

static long parse_limit(struct ignis_http_req *req, bool *bad)
{
    const char *l = ig_http_param(req, "limit");
    *bad = false;
    if (!l || !*l)
        return -1;
    char *end;
    long v = strtol(l, &end, 10);
    if (*end) {
        *bad = true;
        return -1;
    }
    return v;
}

/* /api/v1/targets/metadata?match_target=<selector>&metric=<name>&limit=<n> */
static void h_targets_metadata(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    bool bad;
    long limit = parse_limit(req, &bad);
    if (bad) {
        reply_error(req, "bad_data", "invalid limit");
        return;
    }
    const char *mt = ig_http_param(req, "match_target");
    struct ignis_selector sel = {0};
    char err[512];
    if (mt && *mt && ignis_selector_parse(mt, strlen(mt), &sel, err, sizeof err) != 0) {
        reply_error(req, "bad_data", "%s", err);
        return;
    }
    const char *metric = ig_http_param(req, "metric");
    struct evbuffer *d = evbuffer_new();
    evbuffer_add(d, "[", 1);
    long n = 0;
    bool first = true;
    for (struct pool *p = core->scrape ? core->scrape->pools : NULL; p; p = p->next) {
        for (struct target *t = p->targets; t; t = t->next) {
            if (mt && *mt && !ignis_selector_matches(&sel, t->labels, t->nlabels))
                continue;
            pthread_mutex_lock(&t->meta_mu);
            for (size_t i = 0; i < t->nmeta && (limit < 0 || n < limit); i++) {
                struct meta_entry *e = &t->meta[i];
                if (metric && *metric && strcmp(metric, e->family) != 0)
                    continue;
                evbuffer_add_printf(d, "%s{\"target\":", first ? "" : ",");
                first = false;
                ig_json_labels(d, t->labels, t->nlabels);
                evbuffer_add_printf(d, ",\"metric\":");
                ig_json_cstr(d, e->family);
                evbuffer_add_printf(d, ",\"type\":\"%s\",\"help\":", type_name(e->type));
                ig_json_cstr(d, e->help ? e->help : "");
                evbuffer_add_printf(d, ",\"unit\":");
                ig_json_cstr(d, e->unit ? e->unit : "");
                evbuffer_add(d, "}", 1);
                n++;
            }
            pthread_mutex_unlock(&t->meta_mu);
        }
    }
    evbuffer_add(d, "]", 1);
    ignis_selector_free(&sel);
    ig_api_reply_data(req, d);
    evbuffer_free(d);
}

/* /api/v1/metadata?metric=<name>&limit=<n>&limit_per_metric=<n>: metadata by metric
 * name over all targets, distinct (type, help, unit) triples per name. */
struct md_item {
    const char *family, *help, *unit;
    enum ignis_metric_type type;
};

static int cmp_md(const void *a, const void *b)
{
    const struct md_item *x = a, *y = b;
    int c = strcmp(x->family, y->family);
    if (c)
        return c;
    if (x->type != y->type)
        return (int)x->type - (int)y->type;
    c = strcmp(x->help, y->help);
    return c ? c : strcmp(x->unit, y->unit);
}

static void h_metadata(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    bool bad;
    long limit = parse_limit(req, &bad);
    const char *lpm_s = ig_http_param(req, "limit_per_metric");
    long lpm = lpm_s && *lpm_s ? strtol(lpm_s, NULL, 10) : -1;
    if (bad) {
        reply_error(req, "bad_data", "invalid limit");
        return;
    }
    const char *metric = ig_http_param(req, "metric");
    size_t n = 0, cap = 256;
    struct md_item *items = malloc(cap * sizeof *items);
    /* The locks of every target are held while the items point into their tables. */
    for (struct pool *p = core->scrape ? core->scrape->pools : NULL; p; p = p->next)
        for (struct target *t = p->targets; t; t = t->next) {
            pthread_mutex_lock(&t->meta_mu);
            for (size_t i = 0; items && i < t->nmeta; i++) {
                struct meta_entry *e = &t->meta[i];
                if (metric && *metric && strcmp(metric, e->family) != 0)
                    continue;
                if (n == cap) {
                    struct md_item *ni = realloc(items, cap * 2 * sizeof *ni);
                    if (!ni)
                        break;
                    items = ni;
                    cap *= 2;
                }
                items[n++] = (struct md_item){e->family, e->help ? e->help : "",
                                              e->unit ? e->unit : "", e->type};
            }
        }
    if (items)
        qsort(items, n, sizeof *items, cmp_md);
    struct evbuffer *d = evbuffer_new();
    evbuffer_add(d, "{", 1);
    long metrics = 0;
    for (size_t i = 0; items && i < n;) {
        size_t j = i;
        while (j < n && strcmp(items[j].family, items[i].family) == 0)
            j++;
        if (limit >= 0 && metrics >= limit)
            break;
        evbuffer_add_printf(d, "%s", metrics ? "," : "");
        ig_json_cstr(d, items[i].family);
        evbuffer_add(d, ":[", 2);
        long per = 0;
        for (size_t k = i; k < j; k++) {
            if (k > i && cmp_md(&items[k], &items[k - 1]) == 0)
                continue;
            if (lpm > 0 && per >= lpm)
                break;
            evbuffer_add_printf(d, "%s{\"type\":\"%s\",\"help\":", per ? "," : "",
                                type_name(items[k].type));
            ig_json_cstr(d, items[k].help);
            evbuffer_add_printf(d, ",\"unit\":");
            ig_json_cstr(d, items[k].unit);
            evbuffer_add(d, "}", 1);
            per++;
        }
        evbuffer_add(d, "]", 1);
        metrics++;
        i = j;
    }
    evbuffer_add(d, "}", 1);
    for (struct pool *p = core->scrape ? core->scrape->pools : NULL; p; p = p->next)
        for (struct target *t = p->targets; t; t = t->next)
            pthread_mutex_unlock(&t->meta_mu);
    free(items);
    ig_api_reply_data(req, d);
    evbuffer_free(d);
}

/* ---- storage reads ------------------------------------------------------------------ */

enum read_kind { READ_SERIES, READ_LABELS, READ_VALUES };

struct read_job {
    struct ig_core *core;
    struct ignis_http_req *req;
    enum read_kind kind;
    char *label;                 /* READ_VALUES */
    struct ignis_selector sel[MAX_MATCH];
    size_t nsel;
    int64_t start, end;
    long limit;
    const struct ignis_storage_ops *st;
    void *st_inst;
    /* result */
    struct evbuffer *out;
    char error[512];
    const char *error_type;
    bool truncated;
};

/* Sorted, de-duplicated strings or label sets collected from the storage. */
struct strset {
    char **v;
    size_t n, cap;
};

static void strset_add(void *arg, const char *s, size_t len)
{
    struct strset *ss = arg;
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? ss->cap * 2 : 64;
        char **nv = realloc(ss->v, cap * sizeof *nv);
        if (!nv)
            return;
        ss->v = nv;
        ss->cap = cap;
    }
    char *c = strndup(s, len);
    if (c)
        ss->v[ss->n++] = c;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strset_free(struct strset *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        free(ss->v[i]);
    free(ss->v);
}

/* Serialised label sets (as JSON objects) keep the sort order of label sets when
 * compared bytewise only approximately; sort on a key of "name\xffvalue\xfe..." instead. */
struct series_item {
    char *key;
    char *json;
};

static int cmp_series(const void *a, const void *b)
{
    return strcmp(((const struct series_item *)a)->key, ((const struct series_item *)b)->key);
}

static void read_work(void *arg)
{
    struct read_job *j = arg;
    j->out = evbuffer_new();
    struct ignis_querier *q = j->st->querier(j->st_inst, j->start, j->end);
    if (!q) {
        snprintf(j->error, sizeof j->error, "cannot open a querier on the storage");
        j->error_type = "internal";
        return;
    }
    if (j->kind == READ_SERIES) {
        size_t n = 0, cap = 0;
        struct series_item *items = NULL;
        for (size_t s = 0; s < j->nsel; s++) {
            struct ignis_series_set *set = NULL;
            struct ignis_select_hints hints = {.start = j->start, .end = j->end, .func = "series"};
            if (j->st->select(q, j->sel[s].matchers, j->sel[s].n, &hints, &set) != 0)
                continue;
            struct ignis_series sr;
            while (j->st->set_next(set, &sr) == 1) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 256;
                    struct series_item *ni = realloc(items, cap * sizeof *ni);
                    if (!ni)
                        break;
                    items = ni;
                }
                struct evbuffer *kb = evbuffer_new(), *jb = evbuffer_new();
                for (size_t i = 0; i < sr.nlabels; i++) {
                    evbuffer_add(kb, sr.labels[i].name, sr.labels[i].name_len);
                    evbuffer_add(kb, "\x01", 1);
                    evbuffer_add(kb, sr.labels[i].value, sr.labels[i].value_len);
                    evbuffer_add(kb, "\x02", 1);
                }
                ig_json_labels(jb, sr.labels, sr.nlabels);
                size_t kl = evbuffer_get_length(kb), jl = evbuffer_get_length(jb);
                items[n].key = malloc(kl + 1);
                items[n].json = malloc(jl + 1);
                evbuffer_remove(kb, items[n].key, kl);
                evbuffer_remove(jb, items[n].json, jl);
                items[n].key[kl] = '\0';
                items[n].json[jl] = '\0';
                evbuffer_free(kb);
                evbuffer_free(jb);
                n++;
            }
            j->st->set_close(set);
        }
        if (items)
            qsort(items, n, sizeof *items, cmp_series);
        evbuffer_add(j->out, "[", 1);
        long written = 0;
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && strcmp(items[i].key, items[i - 1].key) == 0)
                continue;
            if (j->limit > 0 && written >= j->limit) {
                j->truncated = true;
                break;
            }
            evbuffer_add_printf(j->out, "%s%s", written ? "," : "", items[i].json);
            written++;
        }
        evbuffer_add(j->out, "]", 1);
        for (size_t i = 0; i < n; i++) {
            free(items[i].key);
            free(items[i].json);
        }
        free(items);
    } else {
        struct strset ss = {0};
        size_t name_len = j->label ? strlen(j->label) : 0;
        if (j->nsel == 0) {
            if (j->kind == READ_LABELS)
                j->st->label_names(q, NULL, 0, 0, strset_add, &ss);
            else
                j->st->label_values(q, j->label, name_len, NULL, 0, 0, strset_add, &ss);
        }
        for (size_t s = 0; s < j->nsel; s++) {
            if (j->kind == READ_LABELS)
                j->st->label_names(q, j->sel[s].matchers, j->sel[s].n, 0, strset_add, &ss);
            else
                j->st->label_values(q, j->label, name_len, j->sel[s].matchers, j->sel[s].n, 0,
                                    strset_add, &ss);
        }
        if (ss.v)
            qsort(ss.v, ss.n, sizeof *ss.v, cmp_strp);
        evbuffer_add(j->out, "[", 1);
        long written = 0;
        for (size_t i = 0; i < ss.n; i++) {
            if (i > 0 && strcmp(ss.v[i], ss.v[i - 1]) == 0)
                continue;
            if (j->limit > 0 && written >= j->limit) {
                j->truncated = true;
                break;
            }
            if (written)
                evbuffer_add(j->out, ",", 1);
            ig_json_cstr(j->out, ss.v[i]);
            written++;
        }
        evbuffer_add(j->out, "]", 1);
        strset_free(&ss);
    }
    j->st->querier_close(q);
}

static void read_job_free(struct read_job *j)
{
    for (size_t i = 0; i < j->nsel; i++)
        ignis_selector_free(&j->sel[i]);
    free(j->label);
    if (j->out)
        evbuffer_free(j->out);
    free(j);
}

static void read_done(void *arg)
{
    struct read_job *j = arg;
    if (j->error_type) {
        reply_error(j->req, j->error_type, "%s", j->error);
    } else {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "{\"status\":\"success\",\"data\":");
        evbuffer_add_buffer(b, j->out);
        if (j->truncated)
            evbuffer_add_printf(b, ",\"warnings\":[\"results truncated due to limit\"]");
        evbuffer_add(b, "}", 1);
        ig_http_reply(j->req, 200, JSON_CT, b);
        evbuffer_free(b);
    }
    read_job_free(j);
}

static void start_read(struct ig_core *core, struct ignis_http_req *req, enum read_kind kind,
                       const char *label)
{
    struct ig_instance *sti = ig_instances_find(core, IGNIS_PLUGIN_STORAGE, NULL);
    if (!sti) {
        reply_error(req, "unavailable", "no storage plugin loaded");
        return;
    }
    struct read_job *j = calloc(1, sizeof *j);
    if (!j) {
        reply_error(req, "internal", "out of memory");
        return;
    }
    j->core = core;
    j->req = req;
    j->kind = kind;
    j->st = sti->plugin->desc->ops;
    j->st_inst = sti->inst;
    j->start = IG_API_MIN_TIME;
    j->end = IG_API_MAX_TIME;
    if (label && !(j->label = strdup(label))) {
        reply_error(req, "internal", "out of memory");
        read_job_free(j);
        return;
    }
    const char *s = ig_http_param(req, "start"), *e = ig_http_param(req, "end");
    if (s && *s && ig_api_parse_time(s, &j->start) != 0) {
        reply_error(req, "bad_data", "invalid parameter \"start\": cannot parse \"%s\" to a valid timestamp", s);
        read_job_free(j);
        return;
    }
    if (e && *e && ig_api_parse_time(e, &j->end) != 0) {
        reply_error(req, "bad_data", "invalid parameter \"end\": cannot parse \"%s\" to a valid timestamp", e);
        read_job_free(j);
        return;
    }
    bool bad;
    j->limit = parse_limit(req, &bad);
    if (bad || (j->limit < 0 && ig_http_param(req, "limit") && *ig_http_param(req, "limit"))) {
        reply_error(req, "bad_data", "invalid parameter \"limit\"");
        read_job_free(j);
        return;
    }
    const struct evkeyvalq *params = ig_http_params(req);
    const struct evkeyval *kv;
    TAILQ_FOREACH(kv, params, next) {
        if (strcmp(kv->key, "match[]") != 0)
            continue;
        if (j->nsel == MAX_MATCH) {
            reply_error(req, "bad_data", "too many match[] parameters (at most %d)", MAX_MATCH);
            read_job_free(j);
            return;
        }
        char err[512];
        if (ignis_selector_parse(kv->value, strlen(kv->value), &j->sel[j->nsel], err,
                                 sizeof err) != 0) {
            reply_error(req, "bad_data", "invalid parameter \"match[]\": %s", err);
            read_job_free(j);
            return;
        }
        j->nsel++;
    }
    if (kind == READ_SERIES && j->nsel == 0) {
        reply_error(req, "bad_data", "no match[] parameter provided");
        read_job_free(j);
        return;
    }
    if (ig_workers_submit(core->workers, IGNIS_LANE_QUERY, read_work, read_done, j) != 0) {
        reply_error(req, "unavailable", "too many queries in flight");
        read_job_free(j);
    }
}

static void h_series(void *arg, struct ignis_http_req *req)
{
    start_read(arg, req, READ_SERIES, NULL);
}

static void h_labels(void *arg, struct ignis_http_req *req)
{
    start_read(arg, req, READ_LABELS, NULL);
}

/* /api/v1/label/<name>/values: a prefix route; the name is the path's middle. A name
 * starting with "U__" is Prometheus 3's escaped form of a UTF-8 name. */
static void h_label_values(void *arg, struct ignis_http_req *req)
{
    const char *path = ig_http_path(req);
    const char *p = path + strlen("/api/v1/label/");
    const char *slash = strchr(p, '/');
    if (!slash || strcmp(slash, "/values") != 0 || slash == p) {
        reply_error(req, "not_found", "404 page not found");
        return;
    }
    char name[1024];
    size_t n = (size_t)(slash - p);
    if (n >= sizeof name) {
        reply_error(req, "bad_data", "invalid label name");
        return;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    if (!ignis_utf8_valid(name, n)) {
        reply_error(req, "bad_data", "invalid label name: \"%s\"", name);
        return;
    }
    start_read(arg, req, READ_VALUES, name);
}

int ig_api_routes(struct ig_core *core, struct ig_http *http, char *err, size_t errlen)
{
    const unsigned GP = IGNIS_HTTP_GET | IGNIS_HTTP_POST;
    const struct {
        unsigned m;
        const char *path;
        ignis_http_handler fn;
    } routes[] = {
        {IGNIS_HTTP_GET, "/api/v1/targets", h_targets},
        {IGNIS_HTTP_GET, "/api/v1/targets/metadata", h_targets_metadata},
        {IGNIS_HTTP_GET, "/api/v1/metadata", h_metadata},
        {GP, "/api/v1/series", h_series},
        {GP, "/api/v1/labels", h_labels},
        {IGNIS_HTTP_GET | IGNIS_ROUTE_PREFIX, "/api/v1/label", h_label_values},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (ig_http_route(http, routes[i].m, routes[i].path, routes[i].fn, core, core) != 0) {
            snprintf(err, errlen, "cannot add route %s", routes[i].path);
            return -1;
        }
    if (ig_api_query_routes(core, http, err, errlen) != 0)
        return -1;
    return ig_api_tsdb_routes(core, http, err, errlen);
}
