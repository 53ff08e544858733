/* core/api_tsdb.c — storage status and administration over the HTTP API:
 * /api/v1/status/tsdb (head stats and the top cardinalities, computed from one pass
 * over the head's series through the storage ops table) and, with
 * --web.enable-admin-api, /api/v1/admin/tsdb/{snapshot,delete_series,clean_tombstones}.
 * The work runs on the query lane (status) or the background lane (admin). */
#include <config.h>
#include "core/api.h"
#include "core/core.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#define JSON_CT "application/json"
/* Bound on distinct label pairs counted for the status page (a head with more shows
 * the top lists of the pairs seen first, and says so in a log line). */
#define MAX_PAIRS (1u << 22)


static struct ig_instance *storage(struct ig_core *core, struct ignis_http_req *req)
{
    struct ig_instance *st = ig_instances_find(core, IGNIS_PLUGIN_STORAGE, NULL);
    if (!st)
        ig_api_reply_error(req, "unavailable", "no storage plugin loaded");
    return st;
}

/* ---- /api/v1/status/tsdb --------------------------------------------------------- */

struct count {
    char *key; /* "name" or "name\x01value" */
    size_t keylen;
    uint64_t n;
    uint64_t bytes;
};

struct counter {
    struct count *v;
    size_t cap, len;
    bool full;
};

static struct count *count_get(struct counter *c, const char *k, size_t kl)
{
    if ((c->len + 1) * 2 > c->cap) {
        if (c->len >= MAX_PAIRS) {
            c->full = true;
            return NULL;
        }
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct count *nv = calloc(cap, sizeof *nv);
        if (!nv)
            return NULL;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->v[i].key)
                continue;
            size_t j = XXH3_64bits(c->v[i].key, c->v[i].keylen) & (cap - 1);
            while (nv[j].key)
                j = (j + 1) & (cap - 1);
            nv[j] = c->v[i];
        }
        free(c->v);
        c->v = nv;
        c->cap = cap;
    }
    size_t j = XXH3_64bits(k, kl) & (c->cap - 1);
    for (; c->v[j].key; j = (j + 1) & (c->cap - 1))
        if (c->v[j].keylen == kl && memcmp(c->v[j].key, k, kl) == 0)
            return &c->v[j];
    c->v[j].key = malloc(kl + 1);
    if (!c->v[j].key)
        return NULL;
    memcpy(c->v[j].key, k, kl);
    c->v[j].key[kl] = '\0';
    c->v[j].keylen = kl;
    c->len++;
    return &c->v[j];
}

static void counter_free(struct counter *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->v[i].key);
    free(c->v);
}

static int cmp_n_desc(const void *a, const void *b)
{
    const struct count *x = *(const struct count *const *)a, *y = *(const struct count *const *)b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->key, y->key);
}

static int cmp_bytes_desc(const void *a, const void *b)
{
    const struct count *x = *(const struct count *const *)a, *y = *(const struct count *const *)b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return strcmp(x->key, y->key);
}

/* Writes [{"name":K,"value":V},...] of the top `limit` entries of c. */
static void top(struct evbuffer *b, struct counter *c, size_t limit, bool by_bytes)
{
    struct count **all = malloc((c->len + 1) * sizeof *all);
    size_t n = 0;
    for (size_t i = 0; all && i < c->cap; i++)
        if (c->v[i].key)
            all[n++] = &c->v[i];
    if (all)
        qsort(all, n, sizeof *all, by_bytes ? cmp_bytes_desc : cmp_n_desc);
    evbuffer_add(b, "[", 1);
    for (size_t i = 0; i < n && i < limit; i++) {
        evbuffer_add_printf(b, "%s{\"name\":", i ? "," : "");
        char *sep = memchr(all[i]->key, '\x01', all[i]->keylen);
        if (sep) {
            /* a pair: Prometheus writes it as name=value */
            size_t nl = (size_t)(sep - all[i]->key);
            char buf[8192];
            int k = snprintf(buf, sizeof buf, "%.*s=%s", (int)nl, all[i]->key, sep + 1);
            ig_json_str(b, buf, (size_t)k < sizeof buf ? (size_t)k : sizeof buf - 1);
        } else {
            ig_json_str(b, all[i]->key, all[i]->keylen);
        }
        evbuffer_add_printf(b, ",\"value\":%llu}",
                            (unsigned long long)(by_bytes ? all[i]->bytes : all[i]->n));
    }
    evbuffer_add(b, "]", 1);
    free(all);
}

struct status_job {
    struct ignis_http_req *req;
    const struct ignis_storage_ops *so;
    void *inst;
    size_t limit;
    struct evbuffer *out;
    int status;
};

static void status_work(void *arg)
{
    struct status_job *j = arg;
    j->out = evbuffer_new();
    struct ignis_storage_stats st;
    memset(&st, 0, sizeof st);
    j->so->stats(j->inst, &st);
    struct counter by_metric = {0}, values_by_name = {0}, pairs = {0};
    /* One pass over the head's series (its time range). */
    int64_t mint = st.min_time, maxt = st.max_time;
    if (mint > maxt) {
        mint = 0;
        maxt = 0;
    }
    struct ignis_querier *q = j->so->querier(j->inst, mint, maxt);
    if (q && st.num_series > 0) {
        struct ignis_matcher m;
        char err[64];
        ignis_matcher_init(&m, IGNIS_MATCH_RE, "__name__", 8, ".+", 2, err, sizeof err);
        struct ignis_series_set *set = NULL;
        if (j->so->select(q, &m, 1, NULL, &set) == 0) {
            struct ignis_series s;
            char key[8192];
            while (j->so->set_next(set, &s) == 1) {
                for (size_t i = 0; i < s.nlabels; i++) {
                    const struct ignis_label *l = &s.labels[i];
                    if (l->name_len == 8 && memcmp(l->name, "__name__", 8) == 0) {
                        struct count *c = count_get(&by_metric, l->value, l->value_len);
                        if (c)
                            c->n++;
                    }
                    if (l->name_len + l->value_len + 1 >= sizeof key)
                        continue;
                    memcpy(key, l->name, l->name_len);
                    key[l->name_len] = '\x01';
                    memcpy(key + l->name_len + 1, l->value, l->value_len);
                    struct count *p = count_get(&pairs, key, l->name_len + 1 + l->value_len);
                    if (!p)
                        continue;
                    if (p->n++ == 0) {
                        /* a new value of this name */
                        struct count *v = count_get(&values_by_name, l->name, l->name_len);
                        if (v) {
                            v->n++;
                            v->bytes += l->value_len;
                        }
                    }
                }
            }
            j->so->set_close(set);
        }
        ignis_matcher_clear(&m);
    }
    if (q)
        j->so->querier_close(q);
    if (pairs.full || by_metric.full)
        ig_warn("api", "status/tsdb: too many label pairs; the top lists are partial");
    struct evbuffer *b = j->out;
    evbuffer_add_printf(b, "{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":%llu,"
                           "\"numLabelPairs\":%zu,\"chunkCount\":%llu,\"minTime\":%lld,"
                           "\"maxTime\":%lld},\"seriesCountByMetricName\":",
                        (unsigned long long)st.num_series, pairs.len,
                        (unsigned long long)st.num_chunks,
                        (long long)(st.min_time <= st.max_time ? st.min_time : 0),
                        (long long)(st.min_time <= st.max_time ? st.max_time : 0));
    top(b, &by_metric, j->limit, false);
    evbuffer_add_printf(b, ",\"labelValueCountByLabelName\":");
    top(b, &values_by_name, j->limit, false);
    evbuffer_add_printf(b, ",\"memoryInBytesByLabelName\":");
    top(b, &values_by_name, j->limit, true);
    evbuffer_add_printf(b, ",\"seriesCountByLabelValuePair\":");
    top(b, &pairs, j->limit, false);
    evbuffer_add_printf(b, "}}");
    counter_free(&by_metric);
    counter_free(&values_by_name);
    counter_free(&pairs);
    j->status = 200;
}

static void status_done(void *arg)
{
    struct status_job *j = arg;
    ig_http_reply(j->req, j->status, JSON_CT, j->out);
    evbuffer_free(j->out);
    free(j);
}

static void h_status_tsdb(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    struct ig_instance *st = storage(core, req);
    if (!st)
        return;
    const char *l = ig_http_param(req, "limit");
    long limit = 10;
    if (l && *l) {
        char *end;
        limit = strtol(l, &end, 10);
        if (*end || limit <= 0 || limit > 10000) {
            ig_api_reply_error(req, "bad_data", "limit must be a positive number");
            return;
        }
    }
    struct status_job *j = calloc(1, sizeof *j);
    if (!j) {
        ig_api_reply_error(req, "internal", "out of memory");
        return;
    }
    j->req = req;
    j->so = st->plugin->desc->ops;
    j->inst = st->inst;
    j->limit = (size_t)limit;
    if (ig_workers_submit(core->workers, IGNIS_LANE_QUERY, status_work, status_done, j) != 0) {
        free(j);
        ig_api_reply_error(req, "unavailable", "too many queries in flight");
    }
}

/* ---- /api/v1/admin/tsdb/ ------------------------------------------------------------ */

static bool admin_allowed(struct ig_core *core, struct ignis_http_req *req)
{
    if (!core->cfg.enable_admin_api) {
        ig_api_reply_error(req, "unavailable", "admin APIs disabled");
        return false;
    }
    return true;
}

/* The storage instance's data directory (its "path" setting), or "data". */
static const char *storage_path(struct ig_core *core, const struct ig_instance *st)
{
    for (size_t i = 0; i < core->cfg.ninstances; i++) {
        const struct ig_config_instance *ci = &core->cfg.instances[i];
        if (ci->kind == IGNIS_PLUGIN_STORAGE && strcmp(ci->name, st->name) == 0 &&
            ignis_config_row(ci->cfg, "path"))
            return ignis_config_string(ci->cfg, "path");
    }
    return "data";
}

static void h_snapshot(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    if (!admin_allowed(core, req))
        return;
    struct ig_instance *st = storage(core, req);
    if (!st)
        return;
    const struct ignis_storage_ops *so = st->plugin->desc->ops;
    const char *sh = ig_http_param(req, "skip_head");
    bool skip = sh && (strcasecmp(sh, "true") == 0 || strcmp(sh, "1") == 0);
    char dir[4096], name[256] = "";
    snprintf(dir, sizeof dir, "%s/snapshots", storage_path(core, st));
    int rc = so->snapshot(st->inst, dir, skip, name, sizeof name);
    if (rc == IGNIS_E_NOTSUP) {
        ig_api_reply_error(req, "unavailable", "the storage plugin does not take snapshots");
        return;
    }
    if (rc != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "create snapshot: %s", ignis_strerror(rc));
        ig_api_reply_error(req, "internal", msg);
        return;
    }
    struct evbuffer *d = evbuffer_new();
    evbuffer_add(d, "{\"name\":", 8);
    ig_json_cstr(d, name);
    evbuffer_add(d, "}", 1);
    ig_api_reply_data(req, d);
    evbuffer_free(d);
}

static void h_delete_series(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    if (!admin_allowed(core, req))
        return;
    struct ig_instance *st = storage(core, req);
    if (!st)
        return;
    const struct ignis_storage_ops *so = st->plugin->desc->ops;
    int64_t start = IG_API_MIN_TIME, end = IG_API_MAX_TIME;
    const char *s = ig_http_param(req, "start"), *e = ig_http_param(req, "end");
    if ((s && *s && ig_api_parse_time(s, &start) != 0) || (e && *e && ig_api_parse_time(e, &end) != 0)) {
        ig_api_reply_error(req, "bad_data", "invalid parameter \"start\" or \"end\"");
        return;
    }
    const struct evkeyval *kv;
    int n = 0;
    TAILQ_FOREACH(kv, ig_http_params(req), next) {
        if (strcmp(kv->key, "match[]") != 0)
            continue;
        struct ignis_selector sel;
        char err[512];
        if (ignis_selector_parse(kv->value, strlen(kv->value), &sel, err, sizeof err) != 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "invalid parameter \"match[]\": %s", err);
            ig_api_reply_error(req, "bad_data", msg);
            return;
        }
        int rc = so->delete_series(st->inst, sel.matchers, sel.n, start, end);
        ignis_selector_free(&sel);
        if (rc != 0) {
            ig_api_reply_error(req, "internal", ignis_strerror(rc));
            return;
        }
        n++;
    }
    if (n == 0) {
        ig_api_reply_error(req, "bad_data", "no match[] parameter provided");
        return;
    }
    ig_http_reply(req, 204, NULL, NULL);
}

static void h_clean_tombstones(void *arg, struct ignis_http_req *req)
{
    struct ig_core *core = arg;
    if (!admin_allowed(core, req))
        return;
    struct ig_instance *st = storage(core, req);
    if (!st)
        return;
    const struct ignis_storage_ops *so = st->plugin->desc->ops;
    int rc = so->clean_tombstones(st->inst);
    if (rc != 0) {
        ig_api_reply_error(req, "internal", ignis_strerror(rc));
        return;
    }
    ig_http_reply(req, 204, NULL, NULL);
}

int ig_api_tsdb_routes(struct ig_core *core, struct ig_http *http, char *err, size_t errlen)
{
    const unsigned PP = IGNIS_HTTP_POST | IGNIS_HTTP_PUT;
    const struct {
        unsigned m;
        const char *path;
        ignis_http_handler fn;
    } routes[] = {
        {IGNIS_HTTP_GET, "/api/v1/status/tsdb", h_status_tsdb},
        {PP, "/api/v1/admin/tsdb/snapshot", h_snapshot},
        {PP | IGNIS_HTTP_DELETE, "/api/v1/admin/tsdb/delete_series", h_delete_series},
        {PP, "/api/v1/admin/tsdb/clean_tombstones", h_clean_tombstones},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (ig_http_route(http, routes[i].m, routes[i].path, routes[i].fn, core, core) != 0) {
            snprintf(err, errlen, "cannot add route %s", routes[i].path);
            return -1;
        }
    return 0;
}
