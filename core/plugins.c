/* core/plugins.c — loading plugin .so files with their ABI checks, and the life of
 * plugin instances: their host tables, creation from the config, reconfiguration on
 * reload, and destruction in dependency order. */
#include <config.h>
#include "core/plugins.h"
#include "core/core.h"
#include "core/http.h"
#include "core/httpc.h"
#include "core/log.h"
#include "core/workers.h"


#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>

/* The size of each kind's ops table at ABI minor 0: every entry up to then must be
 * there. Tables only grow, so these constants never change once released. */
static size_t min_ops_size(enum ignis_plugin_kind kind)
{
    switch (kind) {
    case IGNIS_PLUGIN_DISCOVERY: return sizeof(struct ignis_discovery_ops);
    case IGNIS_PLUGIN_EXPORTER: return sizeof(struct ignis_exporter_ops);
    case IGNIS_PLUGIN_STORAGE: return sizeof(struct ignis_storage_ops);
    case IGNIS_PLUGIN_QUERY: return sizeof(struct ignis_query_ops);
    case IGNIS_PLUGIN_NOTIFIER: return sizeof(struct ignis_notifier_ops);
    case IGNIS_PLUGIN_SERVICE: return sizeof(struct ignis_service_ops);
    }
    return 0;
}

/* Every ops table begins with IGNIS_OPS_HEAD; this is its shape. */
struct ops_head {
    IGNIS_OPS_HEAD;
};

static bool valid_plugin_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

static int load_file(struct ig_plugins *ps, const char *file, const char *want_name,
                     char *err, size_t errlen)
{
    char real[PATH_MAX];
    if (!realpath(file, real)) {
        snprintf(err, errlen, "plugin %s: %s", file, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].file, real) == 0)
            return 0;
    dlerror();
    void *dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(err, errlen, "plugin %s: cannot load: %s", real, e ? e : "unknown error");
        return -1;
    }
    const struct ignis_plugin *d = dlsym(dl, IGNIS_PLUGIN_SYMBOL);
    if (!d) {
        snprintf(err, errlen, "plugin %s: refused: no symbol %s (not an Ignis plugin?)", real,
                 IGNIS_PLUGIN_SYMBOL);
        return -1;
    }
    if (d->abi.major != IGNIS_ABI_MAJOR) {
        snprintf(err, errlen,
                 "plugin %s: refused: built for ABI %u.%u, this ignisd speaks ABI %d.%d "
                 "(major versions differ: rebuild the plugin)",
                 real, d->abi.major, d->abi.minor, IGNIS_ABI_MAJOR, IGNIS_ABI_MINOR);
        return -1;
    }
    if (d->abi.minor > IGNIS_ABI_MINOR) {
        snprintf(err, errlen,
                 "plugin %s: refused: built for ABI %u.%u, newer than this ignisd's %d.%d "
                 "(upgrade ignisd)",
                 real, d->abi.major, d->abi.minor, IGNIS_ABI_MAJOR, IGNIS_ABI_MINOR);
        return -1;
    }
    if (!ignis_plugin_kind_name((int)d->kind)) {
        snprintf(err, errlen, "plugin %s: refused: unknown kind %d", real, (int)d->kind);
        return -1;
    }
    if (!valid_plugin_name(d->name)) {
        snprintf(err, errlen, "plugin %s: refused: missing or malformed name (want [a-z0-9_]+)",
                 real);
        return -1;
    }
    const struct ops_head *ops = d->ops;
    if (!ops || ops->size < min_ops_size(d->kind) || !ops->create || !ops->destroy) {
        snprintf(err, errlen,
                 "plugin %s: refused: %s ops table missing or incomplete (size %u, need %zu)",
                 real, ignis_plugin_kind_name((int)d->kind), ops ? ops->size : 0,
                 min_ops_size(d->kind));
        return -1;
    }
    if (want_name && strcmp(d->name, want_name) != 0) {
        snprintf(err, errlen, "plugin %s: refused: file is named %s but the plugin calls itself %s",
                 real, want_name, d->name);
        return -1;
    }
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->v[i].desc->name, d->name) == 0) {
            snprintf(err, errlen, "plugin %s: refused: duplicate name \"%s\" (already loaded from %s)",
                     real, d->name, ps->v[i].file);
            return -1;
        }
    }
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        struct ig_plugin *nv = realloc(ps->v, cap * sizeof *nv);
        if (!nv) {
            snprintf(err, errlen, "plugin %s: out of memory", real);
            return -1;
        }
        ps->v = nv;
        ps->cap = cap;
    }
    struct ig_plugin *p = &ps->v[ps->n];
    p->file = strdup(real);
    if (!p->file) {
        snprintf(err, errlen, "plugin %s: out of memory", real);
        return -1;
    }
    p->dl = dl;
    p->desc = d;
    ps->n++;
    ig_info("plugins", "loaded plugin\tname=%s kind=%s version=%s abi=%u.%u file=%s", d->name,
            ignis_plugin_kind_name((int)d->kind), d->version ? d->version : "", d->abi.major,
            d->abi.minor, real);
    return 0;
}

int ig_plugins_load(struct ig_plugins *ps, const char *name, char *const *dirs, size_t ndirs,
                    char *err, size_t errlen)
{
    if (strchr(name, '/'))
        return load_file(ps, name, NULL, err, errlen);
    const struct ig_plugin *have = ig_plugins_find(ps, name);
    if (have)
        return 0;
    for (size_t i = 0; i < ndirs; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s.so", dirs[i], name);
        struct stat st;
        if (stat(path, &st) == 0)
            return load_file(ps, path, name, err, errlen);
    }
    size_t k = (size_t)snprintf(err, errlen, "plugin %s: no %s.so in", name, name);
    for (size_t i = 0; i < ndirs && k < errlen; i++)
        k += (size_t)snprintf(err + k, errlen - k, "%s %s", i ? "," : "", dirs[i]);
    if (ndirs == 0 && k < errlen)
        snprintf(err + k, errlen - k, " (no plugin directories configured)");
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ig_plugins_load_all(struct ig_plugins *ps, char *const *dirs, size_t ndirs, char *err,
                        size_t errlen)
{
    int refused = 0;
    size_t k = 0;
    if (errlen)
        err[0] = '\0';
    for (size_t i = 0; i < ndirs; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        char *names[1024];
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL && nn < 1024) {
            size_t l = strlen(e->d_name);
            if (l > 3 && strcmp(e->d_name + l - 3, ".so") == 0)
                names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, nn, sizeof names[0], cmp_str);
        for (size_t j = 0; j < nn; j++) {
            if (!names[j])
                continue;
            char path[PATH_MAX], one[1024];
            snprintf(path, sizeof path, "%s/%s", dirs[i], names[j]);
            if (load_file(ps, path, NULL, one, sizeof one) != 0) {
                refused++;
                if (k < errlen)
                    k += (size_t)snprintf(err + k, errlen - k, "%s\n", one);
            }
            free(names[j]);
        }
    }
    return refused;
}

const struct ig_plugin *ig_plugins_find(const struct ig_plugins *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].desc->name, name) == 0)
            return &ps->v[i];
    return NULL;
}

void ig_plugins_clear(struct ig_plugins *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->v[i].file);
    free(ps->v);
    ps->v = NULL;
    ps->n = ps->cap = 0;
}

bool ig_plugins_schema(void *arg, const char *name, enum ignis_plugin_kind *kind,
                       const struct ignis_option **schema)
{
    const struct ig_plugin *p = ig_plugins_find(arg, name);
    if (!p)
        return false;
    *kind = p->desc->kind;
    *schema = p->desc->options;
    return true;
}

/* ---- the host table ----------------------------------------------------------- */

/* A host timer: a one-shot libevent event re-armed after each fire for the next
 * deadline on a fixed grid (deadline += interval), so periodic timers do not drift. */
struct ignis_timer {
    struct event *ev;
    ignis_fn fn;
    void *arg;
    int64_t interval_ms;
    int64_t deadline_ms; /* monotonic */
    bool firing;         /* inside fn: a cancel from fn frees after it returns */
    bool canceled;
};

static struct ig_instance *inst_of(const struct ignis_host *h)
{
    return (struct ig_instance *)(uintptr_t)h;
}

static void host_log(const struct ignis_host *h, enum ignis_log_level level, const char *fmt,
                     ...)
{
    struct ig_instance *in = inst_of(h);
    va_list ap;
    va_start(ap, fmt);
    ig_logv(level, in->plugin->desc->name, in->name, fmt, ap);
    va_end(ap);
}

static bool host_log_enabled(const struct ignis_host *h, enum ignis_log_level level)
{
    (void)h;
    return ig_log_enabled(level);
}

static struct event_base *host_event_base(const struct ignis_host *h)
{
    return inst_of(h)->core->base;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int arm(struct ignis_timer *t)
{
    int64_t d = t->deadline_ms - mono_ms();
    if (d < 0)
        d = 0;
    struct timeval tv = {(time_t)(d / 1000), (suseconds_t)(d % 1000) * 1000};
    return event_add(t->ev, &tv);
}

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ignis_timer *t = arg;
    t->firing = true;
    t->fn(t->arg);
    t->firing = false;
    if (t->canceled || t->interval_ms <= 0) {
        event_free(t->ev);
        free(t);
        return;
    }
    int64_t now = mono_ms();
    t->deadline_ms += t->interval_ms;
    if (t->deadline_ms < now) /* fell behind (a stalled loop): skip missed ticks */
        t->deadline_ms = now + t->interval_ms - (now - t->deadline_ms) % t->interval_ms;
    arm(t);
}

static struct ignis_timer *host_timer_add(const struct ignis_host *h, int64_t delay_ms,
                                          int64_t interval_ms, ignis_fn fn, void *arg)
{
    struct ignis_timer *t = calloc(1, sizeof *t);
    if (!t || !fn || delay_ms < 0) {
        free(t);
        return NULL;
    }
    t->fn = fn;
    t->arg = arg;
    t->interval_ms = interval_ms;
    t->deadline_ms = mono_ms() + delay_ms;
    t->ev = event_new(inst_of(h)->core->base, -1, 0, timer_fire, t);
    if (!t->ev || arm(t) != 0) {
        if (t->ev)
            event_free(t->ev);
        free(t);
        return NULL;
    }
    return t;
}

static void host_timer_cancel(const struct ignis_host *h, struct ignis_timer *t)
{
    (void)h;
    if (!t)
        return;
    if (t->firing) {
        t->canceled = true;
        return;
    }
    event_free(t->ev);
    free(t);
}

static int host_run_on_loop(const struct ignis_host *h, ignis_fn fn, void *arg)
{
    return ig_workers_run_on_loop(inst_of(h)->core->workers, fn, arg);
}

static int host_submit(const struct ignis_host *h, enum ignis_lane lane, ignis_work_fn work,
                       ignis_done_fn done, void *arg)
{
    return ig_workers_submit(inst_of(h)->core->workers, lane, work, done, arg);
}

static int host_http_route(const struct ignis_host *h, unsigned methods, const char *path,
                           ignis_http_handler handler, void *arg)
{
    struct ig_instance *in = inst_of(h);
    return ig_http_route(in->core->http, methods, path, handler, arg, in);
}

static struct ignis_registry *host_registry(const struct ignis_host *h)
{
    (void)h;
    return ignis_registry_default();
}

static int host_lookup(const struct ignis_host *h, enum ignis_plugin_kind kind,
                       const char *name, const void **ops, void **instance)
{
    struct ig_instance *in = ig_instances_find(inst_of(h)->core, kind, name);
    if (!in)
        return IGNIS_E_NOTFOUND;
    if (ops)
        *ops = in->plugin->desc->ops;
    if (instance)
        *instance = in->inst;
    return 0;
}

static void host_set_ready(const struct ignis_host *h, bool ready)
{
    struct ig_instance *in = inst_of(h);
    bool was = __atomic_exchange_n(&in->ready, ready, __ATOMIC_SEQ_CST);
    if (was && !ready)
        atomic_fetch_add(&in->core->not_ready, 1);
    else if (!was && ready)
        atomic_fetch_sub(&in->core->not_ready, 1);
}

static const char *host_instance_name(const struct ignis_host *h)
{
    return inst_of(h)->name;
}

/* A plugin's HTTP call: the core client's transfer, the copied request body and the
 * response buffer, linked into its instance's list so destroy can cancel it. */
struct ignis_http_call {
    struct ig_instance *in;
    struct ig_httpc_xfer *xfer;
    ignis_http_done done;
    void *arg;
    char *body;
    struct ig_buf out;
    bool in_done; /* a cancel from inside done is a no-op: the call ends after it */
    struct ignis_http_call *prev, *next;
};

#define HOST_HTTP_TIMEOUT_MS 30000
#define HOST_HTTP_MAX_BODY (64u << 20)

static void call_unlink_free(struct ignis_http_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->in->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->body);
    ig_buf_free(&c->out);
    free(c);
}

static void call_done(void *arg, const struct ig_httpc_result *r)
{
    struct ignis_http_call *c = arg;
    /* the body must be NUL-terminated for the plugin */
    bool room = ig_buf_reserve(&c->out, 1) == 0;
    if (room)
        c->out.data[c->out.len] = 0;
    struct ignis_http_response resp = {
        .status = r->status,
        .error = room ? r->error : "out of memory",
        .content_type = r->content_type ? r->content_type : "",
        .body = room ? c->out.data : "",
        .body_len = room ? c->out.len : 0,
        .body_too_large = r->body_too_large,
        .seconds = r->seconds,
    };
    c->xfer = NULL;
    c->in_done = true;
    c->done(c->arg, &resp);
    call_unlink_free(c);
}

static struct ignis_http_call *host_http_fetch(const struct ignis_host *h,
                                               const struct ignis_http_request *req,
                                               ignis_http_done done, void *arg, char *err,
                                               size_t errlen)
{
    struct ig_instance *in = inst_of(h);
    struct ig_core *core = in->core;
    if (!req || !req->url || !done || req->size < offsetof(struct ignis_http_request, proxy_url) +
                                                       sizeof req->proxy_url) {
        snprintf(err, errlen, "http_fetch: no URL, no callback or a short request struct");
        return NULL;
    }
    if (!core->httpc) {
        core->httpc = ig_httpc_new(core->base, err, errlen);
        if (!core->httpc)
            return NULL;
    }
    struct ignis_http_call *c = calloc(1, sizeof *c);
    struct ig_httpc_header *hs = req->nheaders ? calloc(req->nheaders, sizeof *hs) : NULL;
    if (!c || (req->nheaders && !hs) || (req->body && !(c->body = malloc(req->body_len + 1)))) {
        free(hs);
        if (c)
            free(c->body);
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (req->body)
        memcpy(c->body, req->body, req->body_len);
    for (size_t i = 0; i < req->nheaders; i++)
        hs[i] = (struct ig_httpc_header){req->headers[i].name, req->headers[i].value};
    struct ig_httpc_req r = {
        .url = req->url,
        .method = req->method,
        .headers = hs,
        .nheaders = req->nheaders,
        .body = c->body,
        .body_len = req->body ? req->body_len : 0,
        .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : HOST_HTTP_TIMEOUT_MS,
        .max_body = req->max_body ? req->max_body : HOST_HTTP_MAX_BODY,
        .accept_gzip = req->accept_gzip,
        .basic_user = req->basic_user,
        .basic_password = req->basic_password,
        .authorization = req->authorization,
        .ca_file = req->ca_file,
        .cert_file = req->cert_file,
        .key_file = req->key_file,
        .server_name = req->server_name,
        .insecure_skip_verify = req->insecure_skip_verify,
        .proxy_url = req->proxy_url,
        .out = &c->out,
    };
    c->in = in;
    c->done = done;
    c->arg = arg;
    c->xfer = ig_httpc_start(core->httpc, &r, call_done, c, err, errlen);
    free(hs);
    if (!c->xfer) {
        free(c->body);
        ig_buf_free(&c->out);
        free(c);
        return NULL;
    }
    c->next = in->calls;
    if (in->calls)
        in->calls->prev = c;
    in->calls = c;
    return c;
}

static void host_http_cancel(const struct ignis_host *h, struct ignis_http_call *c)
{
    (void)h;
    if (!c || c->in_done)
        return;
    if (c->xfer)
        ig_httpc_cancel(c->xfer);
    call_unlink_free(c);
}

static const char *host_config_dir(const struct ignis_host *h)
{
    return inst_of(h)->core->config_dir;
}

static const struct ignis_host host_template = {
    .size = sizeof(struct ignis_host),
    .abi = {IGNIS_ABI_MAJOR, IGNIS_ABI_MINOR},
    .log = host_log,
    .log_enabled = host_log_enabled,
    .event_base = host_event_base,
    .timer_add = host_timer_add,
    .timer_cancel = host_timer_cancel,
    .run_on_loop = host_run_on_loop,
    .submit = host_submit,
    .http_route = host_http_route,
    .http_evreq = ig_http_evreq,
    .http_params = ig_http_params,
    .http_path = ig_http_path,
    .http_reply = ig_http_reply,
    .registry = host_registry,
    .lookup = host_lookup,
    .set_ready = host_set_ready,
    .instance_name = host_instance_name,
    .http_fetch = host_http_fetch,
    .http_cancel = host_http_cancel,
    .config_dir = host_config_dir,
};

/* ---- instances ---------------------------------------------------------------- */

static const struct ops_head *ops_of(const struct ig_instance *in)
{
    return in->plugin->desc->ops;
}

/* Creation order by kind: what others look up exists before them. */
static int kind_rank(enum ignis_plugin_kind k)
{
    switch (k) {
    case IGNIS_PLUGIN_STORAGE: return 0;
    case IGNIS_PLUGIN_QUERY: return 1;
    case IGNIS_PLUGIN_EXPORTER: return 2;
    case IGNIS_PLUGIN_NOTIFIER: return 3;
    case IGNIS_PLUGIN_DISCOVERY: return 4;
    case IGNIS_PLUGIN_SERVICE: return 5;
    }
    return 6;
}

static struct ig_instance *instance_new(struct ig_core *core, const struct ig_config_instance *ci,
                                        char *err, size_t errlen)
{
    const struct ig_plugin *p = ig_plugins_find(&core->plugins, ci->plugin);
    if (!p) {
        snprintf(err, errlen, "%s \"%s\": plugin %s is not loaded",
                 ignis_plugin_kind_name((int)ci->kind), ci->name, ci->plugin);
        return NULL;
    }
    struct ig_instance *in = calloc(1, sizeof *in);
    if (!in || !(in->name = strdup(ci->name))) {
        free(in);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = host_template;
    in->core = core;
    in->plugin = p;
    in->kind = p->desc->kind;
    in->ready = true;
    char perr[1024] = "";
    int rc = ((const struct ops_head *)p->desc->ops)->create(&in->host, ci->cfg, &in->inst, perr,
                                                           sizeof perr);
    if (rc != 0) {
        snprintf(err, errlen, "plugin %s (%s): instance \"%s\": create failed: %s", p->desc->name,
                 p->file, ci->name, perr[0] ? perr : ignis_strerror(rc));
        ig_http_remove_owner(core->http, in);
        if (!in->ready)
            atomic_fetch_sub(&core->not_ready, 1);
        free(in->name);
        free(in);
        return NULL;
    }
    ig_info("plugins", "created instance\tplugin=%s kind=%s instance=%s", p->desc->name,
            ignis_plugin_kind_name((int)in->kind), in->name);
    return in;
}

static void instance_free(struct ig_core *core, struct ig_instance *in)
{
    if (in->kind == IGNIS_PLUGIN_SERVICE && in->started) {
        const struct ignis_service_ops *so = in->plugin->desc->ops;
        so->stop(in->inst);
    }
    if (in->kind == IGNIS_PLUGIN_DISCOVERY && in->started) {
        const struct ignis_discovery_ops *dso = in->plugin->desc->ops;
        dso->stop(in->inst);
    }
    ops_of(in)->destroy(in->inst);
    while (in->calls)
        host_http_cancel(&in->host, in->calls);
    ig_http_remove_owner(core->http, in);
    if (!in->ready)
        atomic_fetch_sub(&core->not_ready, 1);
    free(in->name);
    free(in);
}

/* Sorts a config's instances by kind rank, keeping config order within a kind. */
static size_t *creation_order(const struct ig_config *cfg)
{
    size_t *idx = malloc((cfg->ninstances + 1) * sizeof *idx);
    if (!idx)
        return NULL;
    size_t k = 0;
    for (int r = 0; r <= 6; r++)
        for (size_t i = 0; i < cfg->ninstances; i++)
            if (kind_rank(cfg->instances[i].kind) == r)
                idx[k++] = i;
    return idx;
}

int ig_instances_create(struct ig_core *core, const struct ig_config *cfg, char *err,
                        size_t errlen)
{
    size_t *order = creation_order(cfg);
    if (!order) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct ig_instance *head = core->instances, **tail = &core->instances;
    while (*tail)
        tail = &(*tail)->next;
    struct ig_instance **first_new = tail;
    for (size_t i = 0; i < cfg->ninstances; i++) {
        struct ig_instance *in = instance_new(core, &cfg->instances[order[i]], err, errlen);
        if (!in) {
            /* Undo in reverse creation order. */
            while (*first_new) {
                struct ig_instance *last = *first_new, **pp = first_new;
                while (last->next) {
                    pp = &last->next;
                    last = last->next;
                }
                *pp = NULL;
                instance_free(core, last);
            }
            (void)head;
            free(order);
            return -1;
        }
        *tail = in;
        tail = &in->next;
    }
    free(order);
    return 0;
}

struct ig_instance *ig_instances_find(struct ig_core *core, enum ignis_plugin_kind kind,
                                      const char *name)
{
    for (struct ig_instance *in = core->instances; in; in = in->next)
        if (in->kind == kind && (!name || strcmp(in->name, name) == 0))
            return in;
    return NULL;
}

int ig_instances_apply(struct ig_core *core, const struct ig_config *cfg, char *err,
                       size_t errlen)
{
    int rc = 0;
    size_t k = 0;
    if (errlen)
        err[0] = '\0';
    /* 1. Destroy instances the new config no longer has (or whose plugin changed),
     *    in reverse creation order. */
    for (;;) {
        struct ig_instance *victim = NULL, **vpp = NULL;
        for (struct ig_instance **pp = &core->instances; *pp; pp = &(*pp)->next) {
            struct ig_instance *in = *pp;
            bool keep = false;
            for (size_t i = 0; i < cfg->ninstances && !keep; i++)
                keep = cfg->instances[i].kind == in->kind &&
                       strcmp(cfg->instances[i].name, in->name) == 0 &&
                       strcmp(cfg->instances[i].plugin, in->plugin->desc->name) == 0;
            if (!keep) {
                victim = in;
                vpp = pp;
            }
        }
        if (!victim)
            break;
        *vpp = victim->next;
        ig_info("plugins", "destroying instance removed from config\tplugin=%s instance=%s",
                victim->plugin->desc->name, victim->name);
        instance_free(core, victim);
    }
    /* 2. Reconfigure the ones that stay; create the new ones in kind order. */
    size_t *order = creation_order(cfg);
    if (!order) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t j = 0; j < cfg->ninstances; j++) {
        const struct ig_config_instance *ci = &cfg->instances[order[j]];
        struct ig_instance *in = ig_instances_find(core, ci->kind, ci->name);
        char one[1024] = "";
        if (in) {
            const struct ops_head *ops = ops_of(in);
            if (!ops->reconfigure) {
                /* No reconfigure: replace the instance in place. */
                struct ig_instance *fresh = instance_new(core, ci, one, sizeof one);
                if (!fresh) {
                    rc = -1;
                } else {
                    fresh->next = in->next;
                    for (struct ig_instance **pp = &core->instances; *pp; pp = &(*pp)->next)
                        if (*pp == in) {
                            *pp = fresh;
                            break;
                        }
                    instance_free(core, in);
                }
            } else if (ops->reconfigure(in->inst, ci->cfg, one, sizeof one) != 0) {
                rc = -1;
                char tmp[1024];
                snprintf(tmp, sizeof tmp, "plugin %s: instance \"%s\": reconfigure failed "
                         "(keeps its old config): %s", in->plugin->desc->name, in->name, one);
                snprintf(one, sizeof one, "%s", tmp);
            }
        } else {
            struct ig_instance *fresh = instance_new(core, ci, one, sizeof one);
            if (!fresh) {
                rc = -1;
            } else {
                struct ig_instance **pp = &core->instances;
                while (*pp)
                    pp = &(*pp)->next;
                *pp = fresh;
            }
        }
        if (one[0] && k < errlen)
            k += (size_t)snprintf(err + k, errlen - k, "%s%s", k ? "\n" : "", one);
    }
    free(order);
    return rc;
}

int ig_instances_start(struct ig_core *core, char *err, size_t errlen)
{
    for (struct ig_instance *in = core->instances; in; in = in->next) {
        if (in->kind != IGNIS_PLUGIN_SERVICE || in->started)
            continue;
        const struct ignis_service_ops *so = in->plugin->desc->ops;
        char one[512] = "";
        if (so->start(in->inst, one, sizeof one) != 0) {
            snprintf(err, errlen, "plugin %s: instance \"%s\": start failed: %s",
                     in->plugin->desc->name, in->name, one);
            return -1;
        }
        in->started = true;
    }
    return 0;
}

void ig_instances_destroy_all(struct ig_core *core)
{
    /* Reverse kind rank: services first, storage last. */
    for (int r = 6; r >= 0; r--) {
        for (;;) {
            struct ig_instance *last = NULL, **lpp = NULL;
            for (struct ig_instance **pp = &core->instances; *pp; pp = &(*pp)->next)
                if (kind_rank((*pp)->kind) == r) {
                    last = *pp;
                    lpp = pp;
                }
            if (!last)
                break;
            *lpp = last->next;
            instance_free(core, last);
        }
    }
}

bool ig_instances_ready(struct ig_core *core)
{
    return atomic_load(&core->not_ready) == 0;
}
