/* tests/plugins/fetchplug.c — an exporter plugin that exercises the host's HTTP client
 * (http_fetch, http_cancel). GET /fetch?url=U[&timeout_ms=T][&max_body=N][&cancel=1]
 * fetches U through the host and answers "status=S error=E len=L too_large=B" and a
 * newline, then the body. url=blackhole points at a socket of its own that listens but
 * never accepts, so a call stays in flight until its timeout; cancel=1 cancels the call
 * right after starting it and answers "canceled". On destroy it answers 503 to clients
 * still waiting but leaves their calls to the host, which must cancel them. */
#include <ignis/plugin.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

struct fetch;

struct waiting {
    struct fetch *f;
    struct ignis_http_req *req;
    struct ignis_http_call *call;
    struct waiting *next;
};

struct fetch {
    const struct ignis_host *host;
    int hole;       /* listening socket nobody accepts on */
    int hole_port;
    struct waiting *waiting;
};

static const char *param(struct fetch *f, struct ignis_http_req *req, const char *name)
{
    return evhttp_find_header(f->host->http_params(req), name);
}

static void reply(struct fetch *f, struct ignis_http_req *req, int status, const char *text,
                  const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return;
    evbuffer_add_printf(b, "%s\n", text);
    if (body)
        evbuffer_add(b, body, len);
    f->host->http_reply(req, status, "text/plain", b);
    evbuffer_free(b);
}

static void unlink_waiting(struct waiting *w)
{
    for (struct waiting **pp = &w->f->waiting; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            return;
        }
}

static void fetched(void *arg, const struct ignis_http_response *r)
{
    struct waiting *w = arg;
    char line[512];
    snprintf(line, sizeof line, "status=%d error=%s len=%zu too_large=%d", r->status,
             r->error ? r->error : "", r->body_len, r->body_too_large ? 1 : 0);
    /* the body is NUL-terminated as the ABI promises */
    if (r->body[r->body_len] != 0)
        snprintf(line, sizeof line, "body not NUL-terminated");
    reply(w->f, w->req, 200, line, r->body, r->body_len);
    unlink_waiting(w);
    free(w);
}

static void h_fetch(void *arg, struct ignis_http_req *req)
{
    struct fetch *f = arg;
    const char *url = param(f, req, "url");
    const char *t = param(f, req, "timeout_ms");
    const char *m = param(f, req, "max_body");
    const char *cancel = param(f, req, "cancel");
    if (!url) {
        reply(f, req, 400, "url missing", NULL, 0);
        return;
    }
    char hole[64];
    if (strcmp(url, "blackhole") == 0) {
        snprintf(hole, sizeof hole, "http://127.0.0.1:%d/", f->hole_port);
        url = hole;
    }
    struct waiting *w = calloc(1, sizeof *w);
    if (!w) {
        reply(f, req, 500, "out of memory", NULL, 0);
        return;
    }
    w->f = f;
    w->req = req;
    struct ignis_http_header hs[] = {{"X-Test", "fetchplug"}};
    struct ignis_http_request r = {
        .size = sizeof r,
        .url = url,
        .headers = hs,
        .nheaders = 1,
        .timeout_ms = t ? atoll(t) : 0,
        .max_body = m ? (size_t)atoll(m) : 0,
    };
    char err[256] = "";
    w->call = f->host->http_fetch(f->host, &r, fetched, w, err, sizeof err);
    if (!w->call) {
        char line[300];
        snprintf(line, sizeof line, "fetch refused: %s", err);
        reply(f, req, 500, line, NULL, 0);
        free(w);
        return;
    }
    if (cancel) {
        f->host->http_cancel(f->host, w->call);
        reply(f, req, 200, "canceled", NULL, 0);
        free(w);
        return;
    }
    w->next = f->waiting;
    f->waiting = w;
}

static int create(const struct ignis_host *host, const struct ignis_config *cfg,
                  void **instance, char *err, size_t errlen)
{
    (void)cfg;
    if (!IGNIS_HAS(host, http_fetch) || !IGNIS_HAS(host, http_cancel)) {
        snprintf(err, errlen, "the host has no HTTP client");
        return -1;
    }
    struct fetch *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->host = host;
    f->hole = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (f->hole < 0 || bind(f->hole, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(f->hole, 16) != 0 || getsockname(f->hole, (struct sockaddr *)&sa, &sl) != 0) {
        snprintf(err, errlen, "cannot open the black-hole socket");
        if (f->hole >= 0)
            close(f->hole);
        free(f);
        return -1;
    }
    f->hole_port = ntohs(sa.sin_port);
    if (host->http_route(host, IGNIS_HTTP_GET, "/fetch", h_fetch, f) != 0) {
        snprintf(err, errlen, "cannot add /fetch");
        close(f->hole);
        free(f);
        return -1;
    }
    *instance = f;
    return 0;
}

static int reconfigure(void *instance, const struct ignis_config *cfg, char *err, size_t errlen)
{
    (void)instance;
    (void)cfg;
    (void)err;
    (void)errlen;
    return 0;
}

static void destroy(void *instance)
{
    struct fetch *f = instance;
    while (f->waiting) {
        struct waiting *w = f->waiting;
        f->waiting = w->next;
        /* the call stays in flight: the host cancels it after destroy */
        reply(f, w->req, 503, "destroyed", NULL, 0);
        free(w);
    }
    close(f->hole);
    free(f);
}

static int collect(void *instance, struct ignis_sink *sink)
{
    (void)instance;
    (void)sink;
    return 0;
}

static const struct ignis_option options[] = {
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static const struct ignis_exporter_ops ops = {
    .size = sizeof ops,
    .create = create,
    .reconfigure = reconfigure,
    .destroy = destroy,
    .collect = collect,
};

const struct ignis_plugin ignis_plugin = {
    .abi = IGNIS_ABI,
    .kind = IGNIS_PLUGIN_EXPORTER,
    .name = "fetch",
    .version = "1.0.0",
    .description = "test exporter using the host's HTTP client",
    .options = options,
    .ops = &ops,
};
