/* core/http.c — evhttp behind a route table. A request is matched against the routes
 * (exact paths first, then the longest prefix route), its parameters are gathered from
 * the query string and a form body, and the handler replies now or later through
 * ig_http_reply, which compresses with gzip when the client accepts it. */
#include <config.h>
#include "core/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include <ignis/expose.h>

/* Bounds on what a client may send: headers as Go's net/http default (1 MiB), bodies
 * large enough for remote-write batches. */
#define MAX_HEADERS_SIZE (1u << 20)
#define MAX_BODY_SIZE (64u << 20)
#define DEFAULT_TIMEOUT_S 300

struct route {
    char *path;
    size_t len;
    unsigned methods; /* IGNIS_HTTP_* | IGNIS_ROUTE_PREFIX */
    ignis_http_handler handler;
    void *arg;
    const void *owner;
};

struct ig_http {
    struct event_base *base;
    struct evhttp *http;
    struct route *routes;
    size_t nroutes, cap;
    char *prefix; /* "" for "/" */
    ig_http_observe_fn observe;
    void *observe_arg;
    struct ignis_http_req *pending; /* requests not yet replied to */
};

struct ignis_http_req {
    struct ig_http *h;
    struct ignis_http_req *prev, *next; /* in h->pending */
    struct evhttp_request *evreq;       /* NULL once the client went away */
    const char *handler; /* route path for metrics; "" when none */
    char *handler_copy;
    char *path;
    struct evkeyvalq params;
    struct timespec start;
};

static unsigned method_bit(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
    case EVHTTP_REQ_HEAD: return IGNIS_HTTP_GET;
    case EVHTTP_REQ_POST: return IGNIS_HTTP_POST;
    case EVHTTP_REQ_PUT: return IGNIS_HTTP_PUT;
    case EVHTTP_REQ_DELETE: return IGNIS_HTTP_DELETE;
    default: return 0;
    }
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 413: return "Request Entity Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

struct ig_http *ig_http_new(struct event_base *base)
{
    struct ig_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->base = base;
    h->http = evhttp_new(base);
    h->prefix = strdup("");
    if (!h->http || !h->prefix) {
        if (h->http)
            evhttp_free(h->http);
        free(h->prefix);
        free(h);
        return NULL;
    }
    evhttp_set_max_headers_size(h->http, MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(h->http, MAX_BODY_SIZE);
    evhttp_set_timeout(h->http, DEFAULT_TIMEOUT_S);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS);
    return h;
}

void ig_http_set_route_prefix(struct ig_http *h, const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;
    while (n > 0 && prefix[n - 1] == '/')
        n--;
    char *p = malloc(n + 2);
    if (!p)
        return;
    size_t k = 0;
    if (n > 0 && prefix[0] != '/')
        p[k++] = '/';
    memcpy(p + k, prefix, n);
    p[k + n] = '\0';
    free(h->prefix);
    h->prefix = p;
}

void ig_http_set_observer(struct ig_http *h, ig_http_observe_fn fn, void *arg)
{
    h->observe = fn;
    h->observe_arg = arg;
}

void ig_http_set_timeout(struct ig_http *h, int seconds)
{
    evhttp_set_timeout(h->http, seconds > 0 ? seconds : DEFAULT_TIMEOUT_S);
}

int ig_http_route(struct ig_http *h, unsigned methods, const char *path,
                  ignis_http_handler handler, void *arg, const void *owner)
{
    if (!path || path[0] != '/' || !handler)
        return -1;
    unsigned m = methods & ~IGNIS_ROUTE_PREFIX;
    for (size_t i = 0; i < h->nroutes; i++) {
        struct route *r = &h->routes[i];
        if (strcmp(r->path, path) == 0 &&
            ((r->methods & ~IGNIS_ROUTE_PREFIX) & m) != 0 &&
            (r->methods & IGNIS_ROUTE_PREFIX) == (methods & IGNIS_ROUTE_PREFIX))
            return -1;
    }
    if (h->nroutes == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 32;
        struct route *nr = realloc(h->routes, cap * sizeof *nr);
        if (!nr)
            return -1;
        h->routes = nr;
        h->cap = cap;
    }
    struct route *r = &h->routes[h->nroutes];
    r->path = strdup(path);
    if (!r->path)
        return -1;
    r->len = strlen(path);
    r->methods = methods;
    r->handler = handler;
    r->arg = arg;
    r->owner = owner;
    h->nroutes++;
    return 0;
}

void ig_http_remove_owner(struct ig_http *h, const void *owner)
{
    if (!h)
        return;
    size_t k = 0;
    for (size_t i = 0; i < h->nroutes; i++) {
        if (h->routes[i].owner == owner) {
            free(h->routes[i].path);
            continue;
        }
        h->routes[k++] = h->routes[i];
    }
    h->nroutes = k;
}

/* Finds the route for path: an exact route first, else the longest prefix route that
 * equals path or is followed by '/'. *method_ok tells whether it allows the method. */
static struct route *find_route(struct ig_http *h, const char *path, unsigned mbit,
                                bool *path_known)
{
    struct route *best = NULL;
    size_t plen = strlen(path);
    *path_known = false;
    for (size_t i = 0; i < h->nroutes; i++) {
        struct route *r = &h->routes[i];
        bool match;
        if (r->methods & IGNIS_ROUTE_PREFIX)
            match = plen >= r->len && memcmp(path, r->path, r->len) == 0 &&
                    (plen == r->len || path[r->len] == '/' || r->path[r->len - 1] == '/');
        else
            match = plen == r->len && memcmp(path, r->path, r->len) == 0;
        if (!match)
            continue;
        *path_known = true;
        if (!(r->methods & mbit))
            continue;
        bool exact = !(r->methods & IGNIS_ROUTE_PREFIX);
        if (!best || exact || ((best->methods & IGNIS_ROUTE_PREFIX) && r->len > best->len))
            best = r;
        if (exact)
            break;
    }
    return best;
}

/* Parses an application/x-www-form-urlencoded string (also a URL's query) into dst,
 * appending in order; keys and values are percent-decoded and '+' is a space. libevent's
 * own parser decodes only values and refuses values with newlines (PromQL has them). */
void ig_http_parse_form(struct evkeyvalq *dst, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != '&')
            j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && s[eq] != '=')
                eq++;
            char *rk = strndup(s + i, eq - i);
            char *rv = strndup(eq < j ? s + eq + 1 : "", eq < j ? j - eq - 1 : 0);
            char *k = rk ? evhttp_uridecode(rk, 1, NULL) : NULL;
            char *v = rv ? evhttp_uridecode(rv, 1, NULL) : NULL;
            struct evkeyval *kv = calloc(1, sizeof *kv);
            if (k && v && kv) {
                kv->key = k;
                kv->value = v;
                TAILQ_INSERT_TAIL(dst, kv, next);
            } else {
                free(k);
                free(v);
                free(kv);
            }
            free(rk);
            free(rv);
        }
        i = j + 1;
    }
}

static void gather_params(struct ignis_http_req *r)
{
    TAILQ_INIT(&r->params);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->evreq);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (q && *q)
        ig_http_parse_form(&r->params, q, strlen(q));
    if (evhttp_request_get_command(r->evreq) != EVHTTP_REQ_POST &&
        evhttp_request_get_command(r->evreq) != EVHTTP_REQ_PUT)
        return;
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(r->evreq),
                                        "Content-Type");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(r->evreq);
    size_t n = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    if (body)
        ig_http_parse_form(&r->params, body, n);
}

static void unlink_pending(struct ignis_http_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (r->h->pending == r)
        r->h->pending = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

/* The client closed the connection before we replied: libevent frees its requests, so
 * the handler's later reply must not touch them. */
static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct ignis_http_req *r = arg;
    r->evreq = NULL;
}

static void finish(struct ignis_http_req *r, int status)
{
    unlink_pending(r);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs = (double)(now.tv_sec - r->start.tv_sec) +
                  (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
    if (r->h->observe)
        r->h->observe(r->h->observe_arg, r->handler, status, secs);
    evhttp_clear_headers(&r->params);
    free(r->path);
    free(r->handler_copy);
    free(r);
}

static void dispatch(struct evhttp_request *evreq, void *arg)
{
    struct ig_http *h = arg;
    struct ignis_http_req *r = calloc(1, sizeof *r);
    if (!r) {
        evhttp_send_error(evreq, 500, NULL);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    r->h = h;
    r->evreq = evreq;
    r->handler = "";
    TAILQ_INIT(&r->params);
    r->next = h->pending;
    if (h->pending)
        h->pending->prev = r;
    h->pending = r;
    evhttp_connection_set_closecb(evhttp_request_get_connection(evreq), on_conn_close, r);

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    char *path = evhttp_uridecode(raw && *raw ? raw : "/", 0, NULL);
    if (!path) {
        ig_http_reply_text(r, 400, "bad path\n");
        return;
    }
    size_t plen = strlen(h->prefix);
    if (plen > 0) {
        if (strncmp(path, h->prefix, plen) != 0 || (path[plen] != '/' && path[plen] != '\0')) {
            free(path);
            ig_http_reply_text(r, 404, "404 page not found\n");
            return;
        }
        memmove(path, path + plen, strlen(path + plen) + 1);
        if (path[0] == '\0') {
            path[0] = '/';
            path[1] = '\0';
        }
    }
    r->path = path;

    unsigned mbit = method_bit(evhttp_request_get_command(evreq));
    bool known;
    struct route *rt = find_route(h, path, mbit ? mbit : ~0u, &known);
    if (!rt || !mbit) {
        if (known)
            ig_http_reply_text(r, 405, "Method Not Allowed\n");
        else
            ig_http_reply_text(r, 404, "404 page not found\n");
        return;
    }
    r->handler_copy = strdup(rt->path);
    r->handler = r->handler_copy ? r->handler_copy : "";
    gather_params(r);
    rt->handler(rt->arg, r);
}

int ig_http_listen(struct ig_http *h, const char *address, char *bound, size_t boundlen,
                   char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(address, ':');
    if (!colon) {
        snprintf(err, errlen, "listen address \"%s\": missing port", address);
        return -1;
    }
    size_t hl = (size_t)(colon - address);
    const char *hs = address;
    if (hl >= 2 && address[0] == '[' && address[hl - 1] == ']') {
        hs++;
        hl -= 2;
    }
    if (hl >= sizeof host) {
        snprintf(err, errlen, "listen address \"%s\": host too long", address);
        return -1;
    }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || colon[1] == '\0') {
        snprintf(err, errlen, "listen address \"%s\": bad port", address);
        return -1;
    }
    if (host[0] == '\0')
        strcpy(host, "0.0.0.0");
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(h->http, host, (uint16_t)port);
    if (!s) {
        snprintf(err, errlen, "cannot listen on %s: %s", address,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return -1;
    }
    evhttp_set_gencb(h->http, dispatch, h);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(s);
    if (bound && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char a[128] = "";
        int p = 0;
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            evutil_inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
            p = ntohs(s6->sin6_port);
            snprintf(bound, boundlen, "[%s]:%d", a, p);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            evutil_inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
            p = ntohs(s4->sin_port);
            snprintf(bound, boundlen, "%s:%d", a, p);
        }
    }
    return 0;
}

struct evhttp_request *ig_http_evreq(struct ignis_http_req *req)
{
    return req->evreq;
}

const struct evkeyvalq *ig_http_params(struct ignis_http_req *req)
{
    return &req->params;
}

const char *ig_http_path(struct ignis_http_req *req)
{
    return req->path ? req->path : "/";
}

const char *ig_http_param(struct ignis_http_req *req, const char *name)
{
    return evhttp_find_header(&req->params, name);
}

const char *ig_http_header(struct ignis_http_req *req, const char *name)
{
    if (!req->evreq)
        return NULL;
    return evhttp_find_header(evhttp_request_get_input_headers(req->evreq), name);
}

/* Compresses src into a new evbuffer in gzip framing; NULL on failure. */
static struct evbuffer *gzip_buffer(struct evbuffer *src)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return NULL;
    struct evbuffer *dst = evbuffer_new();
    if (!dst) {
        deflateEnd(&zs);
        return NULL;
    }
    int n = evbuffer_peek(src, -1, NULL, NULL, 0);
    struct evbuffer_iovec *v = calloc(n > 0 ? (size_t)n : 1, sizeof *v);
    if (!v)
        goto fail;
    evbuffer_peek(src, -1, NULL, v, n);
    for (int i = 0; i <= n; i++) {
        int flush = i == n ? Z_FINISH : Z_NO_FLUSH;
        if (i < n) {
            zs.next_in = v[i].iov_base;
            zs.avail_in = (uInt)v[i].iov_len;
        } else {
            zs.next_in = NULL;
            zs.avail_in = 0;
        }
        int rc;
        do {
            struct evbuffer_iovec out;
            if (evbuffer_reserve_space(dst, 16384, &out, 1) < 1)
                goto fail;
            zs.next_out = out.iov_base;
            zs.avail_out = (uInt)out.iov_len;
            rc = deflate(&zs, flush);
            out.iov_len -= zs.avail_out;
            evbuffer_commit_space(dst, &out, 1);
            if (rc == Z_STREAM_ERROR)
                goto fail;
        } while (zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    }
    free(v);
    deflateEnd(&zs);
    return dst;
fail:
    free(v);
    deflateEnd(&zs);
    evbuffer_free(dst);
    return NULL;
}

void ig_http_reply(struct ignis_http_req *req, int status, const char *content_type,
                   struct evbuffer *body)
{
    if (!req->evreq) { /* the client is gone: nothing to send */
        finish(req, 499);
        return;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req->evreq), NULL, NULL);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req->evreq);
    if (content_type)
        evhttp_add_header(oh, "Content-Type", content_type);
    struct evbuffer *send = body;
    struct evbuffer *gz = NULL;
    if (body && evbuffer_get_length(body) > 0 && ignis_expose_accepts_gzip(evhttp_find_header(
                                  evhttp_request_get_input_headers(req->evreq), "Accept-Encoding"))) {
        gz = gzip_buffer(body);
        if (gz) {
            evhttp_add_header(oh, "Content-Encoding", "gzip");
            evbuffer_drain(body, evbuffer_get_length(body));
            send = gz;
        }
    }
    evhttp_add_header(oh, "Vary", "Accept-Encoding");
    evhttp_send_reply(req->evreq, status, reason(status), send);
    if (gz)
        evbuffer_free(gz);
    finish(req, status);
}

void ig_http_reply_text(struct ignis_http_req *req, int status, const char *text)
{
    struct evbuffer *b = evbuffer_new();
    if (b)
        evbuffer_add(b, text, strlen(text));
    ig_http_reply(req, status, "text/plain; charset=utf-8", b);
    if (b)
        evbuffer_free(b);
}

void ig_http_free(struct ig_http *h)
{
    if (!h)
        return;
    /* Requests never replied to (a handler that lost them) are dropped with the server. */
    while (h->pending) {
        struct ignis_http_req *r = h->pending;
        if (r->evreq)
            evhttp_connection_set_closecb(evhttp_request_get_connection(r->evreq), NULL, NULL);
        r->evreq = NULL;
        h->observe = NULL;
        finish(r, 0);
    }
    evhttp_free(h->http);
    for (size_t i = 0; i < h->nroutes; i++)
        free(h->routes[i].path);
    free(h->routes);
    free(h->prefix);
    free(h);
}
