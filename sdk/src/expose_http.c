/* sdk/src/expose_http.c — a small HTTP server for standalone programs: GET /metrics
 * renders a registry in the negotiated format, gzipped when the client accepts it, on
 * its own thread and libevent loop. It is not the core's server (ignisd serves /metrics
 * through its own routes with the same writer). */
#define _GNU_SOURCE
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <zlib.h>

#include <ignis/expose.h>

/* Requests larger than this (headers + body) are refused by evhttp. */
#define EXPOSER_MAX_HEADERS 16384
#define EXPOSER_MAX_BODY 4096
/* Idle connections are closed after this many seconds. */
#define EXPOSER_TIMEOUT_S 30

struct ignis_exposer {
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    int stop_pipe[2];
    pthread_t thread;
    int port;
    struct ignis_registry *reg;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Compresses all of in into out as one gzip member. 0, or -1 on failure. */
static int gzip_buffer(struct evbuffer *in, struct evbuffer *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 window bits + 16: gzip wrapper; level 1: the text compresses well anyway and
     * the scrape should stay cheap */
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    int rc = 0;
    size_t total = evbuffer_get_length(in);
    size_t done = 0;
    struct evbuffer_ptr pos;
    evbuffer_ptr_set(in, &pos, 0, EVBUFFER_PTR_SET);
    for (;;) {
        struct evbuffer_iovec chunk;
        int have = done < total ? evbuffer_peek(in, -1, &pos, &chunk, 1) : 0;
        int flush = Z_NO_FLUSH;
        if (have > 0) {
            zs.next_in = chunk.iov_base;
            zs.avail_in = (uInt)chunk.iov_len;
            done += chunk.iov_len;
            evbuffer_ptr_set(in, &pos, chunk.iov_len, EVBUFFER_PTR_ADD);
        } else {
            zs.next_in = NULL;
            zs.avail_in = 0;
        }
        if (done >= total)
            flush = Z_FINISH;
        int zr;
        do {
            struct evbuffer_iovec v;
            if (evbuffer_reserve_space(out, 65536, &v, 1) < 1) {
                rc = -1;
                goto end;
            }
            zs.next_out = v.iov_base;
            zs.avail_out = (uInt)v.iov_len;
            zr = deflate(&zs, flush);
            v.iov_len -= zs.avail_out;
            evbuffer_commit_space(out, &v, 1);
            if (zr == Z_STREAM_ERROR) {
                rc = -1;
                goto end;
            }
        } while (zs.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
        if (flush == Z_FINISH)
            break;
    }
end:
    deflateEnd(&zs);
    return rc;
}

static void reply_text(struct evhttp_request *req, int code, const char *reason,
                       const char *text)
{
    struct evbuffer *b = evbuffer_new();
    if (b)
        evbuffer_add_printf(b, "%s\n", text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_send_reply(req, code, reason, b);
    if (b)
        evbuffer_free(b);
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct ignis_exposer *x = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || strcmp(path, "/metrics") != 0) {
        reply_text(req, 404, "Not Found", "404 page not found");
        return;
    }
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_text(req, 405, "Method Not Allowed", "method not allowed");
        return;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct ignis_expose_format fmt;
    ignis_expose_negotiate(evhttp_find_header(in, "Accept"), &fmt);
    bool gz = ignis_expose_accepts_gzip(evhttp_find_header(in, "Accept-Encoding"));

    struct evbuffer *body = evbuffer_new();
    struct ignis_sink *sink = body ? ignis_sink_writer_new(body, &fmt) : NULL;
    if (!sink) {
        if (body)
            evbuffer_free(body);
        reply_text(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    /* A failing collector leaves out its own families; the rest is still served. */
    ignis_registry_write(x->reg, sink);
    ignis_sink_writer_finish(sink);

    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", fmt.content_type);
    if (gz) {
        struct evbuffer *z = evbuffer_new();
        if (z && gzip_buffer(body, z) == 0) {
            evbuffer_free(body);
            body = z;
            evhttp_add_header(out, "Content-Encoding", "gzip");
        } else if (z) {
            evbuffer_free(z);
        }
    }
    evhttp_add_header(out, "Vary", "Accept-Encoding");
    if (cmd == EVHTTP_REQ_HEAD) {
        /* the length a GET would get, without the body */
        char len[32];
        snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
        evhttp_add_header(out, "Content-Length", len);
        evbuffer_drain(body, evbuffer_get_length(body));
    }
    evhttp_send_reply(req, 200, "OK", body);
    evbuffer_free(body);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct ignis_exposer *x = arg;
    char c;
    (void)what;
    while (read(fd, &c, 1) > 0)
        ;
    event_base_loopbreak(x->base);
}

static void *run(void *arg)
{
    struct ignis_exposer *x = arg;
    event_base_dispatch(x->base);
    return NULL;
}

/* Splits "host:port", "[v6]:port" or ":port". */
static int split_addr(const char *addr, char *host, size_t hostlen, unsigned *port)
{
    const char *colon;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        size_t n = (size_t)(close - addr - 1);
        if (n + 1 > hostlen)
            return -1;
        memcpy(host, addr + 1, n);
        host[n] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        size_t n = (size_t)(colon - addr);
        if (n + 1 > hostlen)
            return -1;
        memcpy(host, addr, n);
        host[n] = '\0';
    }
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p > 65535)
        return -1;
    *port = (unsigned)p;
    return 0;
}

static void exposer_free(struct ignis_exposer *x)
{
    if (x->stop_ev)
        event_free(x->stop_ev);
    if (x->http)
        evhttp_free(x->http);
    if (x->base)
        event_base_free(x->base);
    if (x->stop_pipe[0] >= 0)
        close(x->stop_pipe[0]);
    if (x->stop_pipe[1] >= 0)
        close(x->stop_pipe[1]);
    free(x);
}

struct ignis_exposer *ignis_exposer_start(const char *listen_addr, struct ignis_registry *reg,
                                          char *err, size_t errlen)
{
    char host[256];
    unsigned port;
    if (!listen_addr || !reg) {
        seterr(err, errlen, "no listen address or registry");
        return NULL;
    }
    if (split_addr(listen_addr, host, sizeof host, &port) < 0) {
        seterr(err, errlen, "invalid listen address \"%s\" (want host:port)", listen_addr);
        return NULL;
    }
    struct ignis_exposer *x = calloc(1, sizeof *x);
    if (!x) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    x->stop_pipe[0] = x->stop_pipe[1] = -1;
    x->reg = reg;
    if (pipe2(x->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        seterr(err, errlen, "pipe: %s", strerror(errno));
        exposer_free(x);
        return NULL;
    }
    x->base = event_base_new();
    x->http = x->base ? evhttp_new(x->base) : NULL;
    x->stop_ev = x->base ? event_new(x->base, x->stop_pipe[0], EV_READ | EV_PERSIST, on_stop, x)
                         : NULL;
    if (!x->http || !x->stop_ev || event_add(x->stop_ev, NULL) < 0) {
        seterr(err, errlen, "cannot set up the event loop");
        exposer_free(x);
        return NULL;
    }
    evhttp_set_allowed_methods(x->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_headers_size(x->http, EXPOSER_MAX_HEADERS);
    evhttp_set_max_body_size(x->http, EXPOSER_MAX_BODY);
    evhttp_set_timeout(x->http, EXPOSER_TIMEOUT_S);
    evhttp_set_gencb(x->http, handle, x);

    struct evhttp_bound_socket *sock;
    if (host[0]) {
        sock = evhttp_bind_socket_with_handle(x->http, host, (ev_uint16_t)port);
    } else {
        sock = evhttp_bind_socket_with_handle(x->http, "::", (ev_uint16_t)port);
        if (!sock)
            sock = evhttp_bind_socket_with_handle(x->http, "0.0.0.0", (ev_uint16_t)port);
    }
    if (!sock) {
        seterr(err, errlen, "cannot listen on %s: %s", listen_addr, strerror(errno));
        exposer_free(x);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0)
        x->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    int e = pthread_create(&x->thread, NULL, run, x);
    if (e) {
        seterr(err, errlen, "cannot start the exposer thread: %s", strerror(e));
        exposer_free(x);
        return NULL;
    }
    return x;
}

int ignis_exposer_port(const struct ignis_exposer *x)
{
    return x ? x->port : -1;
}

void ignis_exposer_stop(struct ignis_exposer *x)
{
    if (!x)
        return;
    char c = 1;
    while (write(x->stop_pipe[1], &c, 1) < 0 && errno == EINTR)
        ;
    pthread_join(x->thread, NULL);
    exposer_free(x);
}
