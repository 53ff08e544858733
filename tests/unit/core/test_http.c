/* tests/unit/core/test_http.c — the HTTP server over a real socket on 127.0.0.1 (port
 * chosen by the kernel): routing, methods, parameters from query and form, gzip,
 * route prefix, deferred replies and the request observer. */
#include <config.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "core/http.h"
#include "core/json.h"

struct srv {
    struct event_base *base;
    struct ig_http *http;
    int port;
    pthread_t thread;
    char observed[64];
    int observed_status;
};

static void *loop_main(void *arg)
{
    struct srv *s = arg;
    event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void observe(void *arg, const char *handler, int status, double secs)
{
    struct srv *s = arg;
    (void)secs;
    snprintf(s->observed, sizeof s->observed, "%s", handler);
    s->observed_status = status;
}

static void h_text(void *arg, struct ignis_http_req *req)
{
    ig_http_reply_text(req, 200, arg);
}

static void h_echo_params(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    struct evbuffer *b = evbuffer_new();
    const struct evkeyvalq *q = ig_http_params(req);
    const struct evkeyval *kv;
    TAILQ_FOREACH(kv, q, next)
        evbuffer_add_printf(b, "%s=%s;", kv->key, kv->value);
    evbuffer_add_printf(b, "path=%s", ig_http_path(req));
    ig_http_reply(req, 200, "text/plain", b);
    evbuffer_free(b);
}

static void deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ig_http_reply_text(arg, 200, "later");
}

static void h_defer(void *arg, struct ignis_http_req *req)
{
    struct srv *s = arg;
    struct timeval tv = {0, 10000};
    event_base_once(s->base, -1, EV_TIMEOUT, deferred, req, &tv);
}

static void h_big(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    struct evbuffer *b = evbuffer_new();
    for (int i = 0; i < 5000; i++)
        evbuffer_add_printf(b, "line %d of a body that compresses well\n", i);
    ig_http_reply(req, 200, "text/plain", b);
    evbuffer_free(b);
}

static struct srv *start(const char *prefix)
{
    evthread_use_pthreads();
    struct srv *s = calloc(1, sizeof *s);
    s->base = event_base_new();
    s->http = ig_http_new(s->base);
    if (prefix)
        ig_http_set_route_prefix(s->http, prefix);
    ig_http_set_observer(s->http, observe, s);
    assert_int_equal(ig_http_route(s->http, IGNIS_HTTP_GET, "/a", h_text, "exact a", s), 0);
    assert_int_equal(ig_http_route(s->http, IGNIS_HTTP_GET | IGNIS_ROUTE_PREFIX, "/p", h_text,
                                   "prefix p", s), 0);
    assert_int_equal(ig_http_route(s->http, IGNIS_HTTP_GET | IGNIS_ROUTE_PREFIX, "/p/q", h_text,
                                   "prefix p/q", s), 0);
    assert_int_equal(ig_http_route(s->http, IGNIS_HTTP_GET, "/p/exact", h_text, "exact p",
                                   s), 0);
    assert_int_equal(ig_http_route(s->http, IGNIS_HTTP_GET | IGNIS_HTTP_POST, "/echo",
                                   h_echo_params, NULL, s), 0);
    assert_int_equal(ig_http_route(s->http, IGNIS_HTTP_GET, "/defer", h_defer, s, s), 0);
    assert_int_equal(ig_http_route(s->http, IGNIS_HTTP_GET, "/big", h_big, NULL, s), 0);
    char bound[128], err[256];
    assert_int_equal(ig_http_listen(s->http, "127.0.0.1:0", bound, sizeof bound, err, sizeof err), 0);
    s->port = atoi(strrchr(bound, ':') + 1);
    assert_true(s->port > 0);
    pthread_create(&s->thread, NULL, loop_main, s);
    return s;
}

static void stop(struct srv *s)
{
    event_base_loopbreak(s->base);
    pthread_join(s->thread, NULL);
    ig_http_free(s->http);
    event_base_free(s->base);
    free(s);
}

struct resp {
    int status;
    char headers[4096];
    char *body;
    size_t len;
};

/* A blocking HTTP/1.0 exchange; the server closes after replying. */
static void request(int port, const char *raw, struct resp *r)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, raw, strlen(raw)), (ssize_t)strlen(raw));
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    ssize_t k;
    while ((k = read(fd, buf + n, cap - n - 1)) > 0)
        n += (size_t)k;
    close(fd);
    buf[n] = '\0';
    memset(r, 0, sizeof *r);
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r->status), 1);
    char *sep = strstr(buf, "\r\n\r\n");
    assert_non_null(sep);
    size_t hl = (size_t)(sep - buf);
    memcpy(r->headers, buf, hl < sizeof r->headers - 1 ? hl : sizeof r->headers - 1);
    r->len = n - hl - 4;
    r->body = malloc(r->len + 1);
    memcpy(r->body, sep + 4, r->len);
    r->body[r->len] = '\0';
    free(buf);
}

static void get(int port, const char *path, struct resp *r)
{
    char raw[1024];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    request(port, raw, r);
}

static void test_routes_and_methods(void **state)
{
    (void)state;
    struct srv *s = start(NULL);
    struct resp r;
    get(s->port, "/a", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "exact a");
    free(r.body);
    get(s->port, "/nope", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    request(s->port, "POST /a HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    free(r.body);
    get(s->port, "/p/x/y", &r);
    assert_string_equal(r.body, "prefix p");
    free(r.body);
    get(s->port, "/p/q/z", &r);
    assert_string_equal(r.body, "prefix p/q");
    free(r.body);
    get(s->port, "/p/exact", &r);
    assert_string_equal(r.body, "exact p");
    free(r.body);
    get(s->port, "/pq", &r); /* not below /p */
    assert_int_equal(r.status, 404);
    free(r.body);
    stop(s);
}

static void test_params_from_query_and_form(void **state)
{
    (void)state;
    struct srv *s = start(NULL);
    struct resp r;
    const char *body = "match%5B%5D=up&b=x+y";
    char raw[512];
    snprintf(raw, sizeof raw,
             "POST /echo?match[]=a%%7Bb%%3D%%22c%%22%%7D&z=1 HTTP/1.0\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    request(s->port, raw, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "match[]=a{b=\"c\"};z=1;match[]=up;b=x y;path=/echo");
    free(r.body);
    assert_string_equal(s->observed, "/echo");
    assert_int_equal(s->observed_status, 200);
    stop(s);
}

static void test_gzip_when_accepted(void **state)
{
    (void)state;
    struct srv *s = start(NULL);
    struct resp plain, gz;
    get(s->port, "/big", &plain);
    assert_null(strcasestr(plain.headers, "Content-Encoding"));
    request(s->port, "GET /big HTTP/1.0\r\nAccept-Encoding: gzip, deflate\r\n\r\n", &gz);
    assert_int_equal(gz.status, 200);
    assert_non_null(strcasestr(gz.headers, "Content-Encoding: gzip"));
    assert_true(gz.len < plain.len / 4);
    /* Inflate and compare with the plain body. */
    char *out = malloc(plain.len + 16);
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)gz.body;
    zs.avail_in = (uInt)gz.len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)plain.len + 16;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, plain.len);
    assert_memory_equal(out, plain.body, plain.len);
    inflateEnd(&zs);
    free(out);
    /* q=0 refuses gzip. */
    struct resp no;
    request(s->port, "GET /big HTTP/1.0\r\nAccept-Encoding: gzip;q=0\r\n\r\n", &no);
    assert_null(strcasestr(no.headers, "Content-Encoding"));
    free(no.body);
    free(plain.body);
    free(gz.body);
    stop(s);
}

static void test_route_prefix(void **state)
{
    (void)state;
    struct srv *s = start("/ignis/");
    struct resp r;
    get(s->port, "/ignis/a", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "exact a");
    free(r.body);
    get(s->port, "/a", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    get(s->port, "/ignis/echo", &r);
    assert_string_equal(r.body, "path=/echo");
    free(r.body);
    stop(s);
}

static void test_deferred_reply(void **state)
{
    (void)state;
    struct srv *s = start(NULL);
    struct resp r;
    get(s->port, "/defer", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "later");
    free(r.body);
    stop(s);
}

/* A client that leaves before a deferred reply: the reply is dropped, the server lives. */
static void test_client_gone_before_reply(void **state)
{
    (void)state;
    struct srv *s = start(NULL);
    for (int i = 0; i < 5; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        const char *raw = "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_int_equal(write(fd, raw, strlen(raw)), (ssize_t)strlen(raw));
        usleep(2000);
        close(fd);
    }
    usleep(50000); /* the deferred replies fire for clients that are gone */
    struct resp r;
    get(s->port, "/a", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_int_equal(s->observed_status, 200);
    stop(s);
}

static void test_duplicate_and_owner_removal(void **state)
{
    (void)state;
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    struct ig_http *h = ig_http_new(base);
    int owner1, owner2;
    assert_int_equal(ig_http_route(h, IGNIS_HTTP_GET, "/x", h_text, "1", &owner1), 0);
    assert_int_equal(ig_http_route(h, IGNIS_HTTP_GET, "/x", h_text, "2", &owner2), -1);
    /* Same path, other method: allowed. */
    assert_int_equal(ig_http_route(h, IGNIS_HTTP_POST, "/x", h_text, "2", &owner2), 0);
    ig_http_remove_owner(h, &owner1);
    assert_int_equal(ig_http_route(h, IGNIS_HTTP_GET, "/x", h_text, "3", &owner2), 0);
    assert_int_equal(ig_http_route(h, IGNIS_HTTP_GET, "relative", h_text, "3", &owner2), -1);
    char bound[64], err[256];
    assert_int_equal(ig_http_listen(h, "nohostport", bound, sizeof bound, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing port"));
    assert_int_equal(ig_http_listen(h, "127.0.0.1:99999", bound, sizeof bound, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad port"));
    ig_http_free(h);
    event_base_free(base);
}

/* JSON numbers and sample values as Prometheus' Go encoder writes them. */
static void json_of(void (*fn)(struct evbuffer *, double), double v, const char *want)
{
    struct evbuffer *b = evbuffer_new();
    fn(b, v);
    size_t n = evbuffer_get_length(b);
    char got[400] = "";
    evbuffer_remove(b, got, n < sizeof got - 1 ? n : sizeof got - 1);
    evbuffer_free(b);
    if (strcmp(got, want) != 0)
        fail_msg("%.17g: got %s, want %s", v, got, want);
}

static void test_json_numbers(void **state)
{
    (void)state;
    json_of(ig_json_number, 0.0012345, "0.0012345");
    json_of(ig_json_number, 0.000015, "0.000015");
    json_of(ig_json_number, 1e-7, "1e-7");
    json_of(ig_json_number, 2.5e-10, "2.5e-10");
    json_of(ig_json_number, 123456789, "123456789");
    json_of(ig_json_number, 1e20, "100000000000000000000");
    json_of(ig_json_number, 1e21, "1e+21");
    json_of(ig_json_number, 0.1, "0.1");
    json_of(ig_json_number, 0, "0");
    json_of(ig_json_value, 0.1, "\"0.1\"");
    json_of(ig_json_value, 1e21, "\"1000000000000000000000\"");
    json_of(ig_json_value, -1.5e-7, "\"-0.00000015\"");
    json_of(ig_json_value, 1.0 / 0.0, "\"+Inf\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_methods),
        cmocka_unit_test(test_json_numbers),
        cmocka_unit_test(test_params_from_query_and_form),
        cmocka_unit_test(test_gzip_when_accepted),
        cmocka_unit_test(test_route_prefix),
        cmocka_unit_test(test_deferred_reply),
        cmocka_unit_test(test_client_gone_before_reply),
        cmocka_unit_test(test_duplicate_and_owner_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
