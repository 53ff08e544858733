/* tests/unit/core/test_httpc.c — the HTTP client against the core's own HTTP server on
 * 127.0.0.1 (one loop drives both): status and body, headers and basic auth as sent,
 * gzip decoding, the body size limit, timeouts, refused connections and cancel. */
#include <config.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/http.h"
#include "core/httpc.h"

struct env {
    struct event_base *base;
    struct ig_http *srv;
    struct ig_httpc *cli;
    char addr[64];
    int done;
    struct ig_httpc_result res;
    char error[512];
    char ctype[128];
    struct ig_httpc_xfer *xfer;
};

static void h_hello(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    struct evbuffer *b = evbuffer_new();
    const char *auth = ig_http_header(req, "Authorization");
    const char *x = ig_http_header(req, "X-Test");
    evbuffer_add_printf(b, "auth=%s x=%s", auth ? auth : "-", x ? x : "-");
    ig_http_reply(req, 201, "text/x-test", b);
    evbuffer_free(b);
}

static void h_big(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    struct evbuffer *b = evbuffer_new();
    for (int i = 0; i < 20000; i++)
        evbuffer_add_printf(b, "metric_%d 1\n", i % 10);
    ig_http_reply(req, 200, "text/plain", b);
    evbuffer_free(b);
}

static void h_never(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    (void)req; /* never replies: the client times out (the server frees it at exit) */
}

static void on_done(void *arg, const struct ig_httpc_result *r)
{
    struct env *e = arg;
    e->res = *r;
    snprintf(e->error, sizeof e->error, "%s", r->error ? r->error : "");
    snprintf(e->ctype, sizeof e->ctype, "%s", r->content_type);
    e->done++;
    event_base_loopbreak(e->base);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    e->base = event_base_new();
    e->srv = ig_http_new(e->base);
    char err[256];
    e->cli = ig_httpc_new(e->base, err, sizeof err);
    assert_non_null(e->cli);
    ig_http_route(e->srv, IGNIS_HTTP_GET | IGNIS_HTTP_POST, "/hello", h_hello, NULL, e);
    ig_http_route(e->srv, IGNIS_HTTP_GET, "/big", h_big, NULL, e);
    ig_http_route(e->srv, IGNIS_HTTP_GET, "/never", h_never, NULL, e);
    assert_int_equal(ig_http_listen(e->srv, "127.0.0.1:0", e->addr, sizeof e->addr, err, sizeof err), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    ig_httpc_free(e->cli);
    ig_http_free(e->srv);
    event_base_free(e->base);
    free(e);
    return 0;
}

static void run(struct env *e, struct ig_httpc_req *req)
{
    char err[256];
    e->done = 0;
    e->xfer = ig_httpc_start(e->cli, req, on_done, e, err, sizeof err);
    assert_non_null(e->xfer);
    struct timeval deadline = {10, 0};
    event_base_loopexit(e->base, &deadline);
    event_base_dispatch(e->base);
    assert_int_equal(e->done, 1);
}

static void url(struct env *e, char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "http://%s%s", e->addr, path);
}

static void test_status_body_headers_auth(void **state)
{
    struct env *e = *state;
    char u[128];
    url(e, u, sizeof u, "/hello");
    struct ig_buf out = {0};
    struct ig_httpc_header hs[] = {{"X-Test", "yes"}};
    struct ig_httpc_req req = {.url = u, .headers = hs, .nheaders = 1, .basic_user = "al",
                               .basic_password = "pw", .timeout_ms = 5000, .out = &out};
    run(e, &req);
    assert_int_equal(e->res.status, 201);
    assert_string_equal(e->error, "");
    assert_string_equal(e->ctype, "text/x-test");
    /* base64("al:pw") = YWw6cHc= */
    assert_int_equal(out.len, strlen("auth=Basic YWw6cHc= x=yes"));
    assert_memory_equal(out.data, "auth=Basic YWw6cHc= x=yes", out.len);
    /* A bearer authorization header instead. */
    struct ig_httpc_req req2 = {.url = u, .authorization = "Bearer tok", .out = &out};
    run(e, &req2);
    assert_memory_equal(out.data, "auth=Bearer tok x=-", out.len);
    ig_buf_free(&out);
}

static void test_gzip_is_decoded(void **state)
{
    struct env *e = *state;
    char u[128];
    url(e, u, sizeof u, "/big");
    struct ig_buf plain = {0}, gz = {0};
    struct ig_httpc_req req = {.url = u, .out = &plain};
    run(e, &req);
    struct ig_httpc_req req2 = {.url = u, .accept_gzip = true, .out = &gz};
    run(e, &req2);
    assert_int_equal(e->res.status, 200);
    assert_int_equal(gz.len, plain.len);
    assert_memory_equal(gz.data, plain.data, plain.len);
    ig_buf_free(&plain);
    ig_buf_free(&gz);
}

static void test_body_limit(void **state)
{
    struct env *e = *state;
    char u[128];
    url(e, u, sizeof u, "/big");
    struct ig_buf out = {0};
    struct ig_httpc_req req = {.url = u, .max_body = 1000, .out = &out};
    run(e, &req);
    assert_true(e->res.body_too_large);
    assert_non_null(strstr(e->error, "body size limit exceeded"));
    assert_true(out.len <= 1000);
    ig_buf_free(&out);
}

static void test_timeout(void **state)
{
    struct env *e = *state;
    char u[128];
    url(e, u, sizeof u, "/never");
    struct ig_buf out = {0};
    struct ig_httpc_req req = {.url = u, .timeout_ms = 200, .out = &out};
    run(e, &req);
    assert_int_equal(e->res.status, 0);
    assert_true(strlen(e->error) > 0);
    ig_buf_free(&out);
}

static void test_refused(void **state)
{
    struct env *e = *state;
    struct ig_buf out = {0};
    /* Port 1 on loopback: nothing listens there as an unprivileged test. */
    struct ig_httpc_req req = {.url = "http://127.0.0.1:1/", .timeout_ms = 2000, .out = &out};
    run(e, &req);
    assert_int_equal(e->res.status, 0);
    assert_true(strlen(e->error) > 0);
    ig_buf_free(&out);
}

static void test_cancel(void **state)
{
    struct env *e = *state;
    char u[128], err[128];
    url(e, u, sizeof u, "/never");
    struct ig_buf out = {0};
    struct ig_httpc_req req = {.url = u, .out = &out};
    e->done = 0;
    struct ig_httpc_xfer *x = ig_httpc_start(e->cli, &req, on_done, e, err, sizeof err);
    assert_non_null(x);
    assert_int_equal(ig_httpc_active(e->cli), 1);
    struct timeval tv = {0, 100000};
    event_base_loopexit(e->base, &tv);
    event_base_dispatch(e->base);
    ig_httpc_cancel(x);
    assert_int_equal(ig_httpc_active(e->cli), 0);
    assert_int_equal(e->done, 0);
    ig_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_body_headers_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_is_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
