/* tests/unit/sdk/test_expose_http.c — the exposer over a real socket on 127.0.0.1 (port
 * chosen at run time): negotiation, gzip, 404/405, start errors. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>

#include <ignis/expose.h>
#include <ignis/metrics.h>

struct resp {
    int status;
    char headers[4096];
    char *body;
    size_t len;
};

/* Sends an HTTP/1.0 request and reads the whole answer. */
static void request(int port, const char *method, const char *path, const char *extra,
                    struct resp *r)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: x\r\n%s\r\n", method, path,
                     extra ? extra : "");
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len == cap)
            buf = realloc(buf, cap *= 2);
        ssize_t k = read(fd, buf + len, cap - len);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    close(fd);
    char *end = memmem(buf, len, "\r\n\r\n", 4);
    assert_non_null(end);
    size_t hl = (size_t)(end - buf);
    assert_true(hl < sizeof r->headers);
    memcpy(r->headers, buf, hl);
    r->headers[hl] = '\0';
    r->status = atoi(buf + 9);
    r->len = len - hl - 4;
    r->body = malloc(r->len + 1);
    memcpy(r->body, end + 4, r->len);
    r->body[r->len] = '\0';
    free(buf);
}

static const char *header(struct resp *r, const char *name)
{
    static char v[512];
    size_t n = strlen(name);
    for (char *p = strstr(r->headers, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *s = p + 3 + n;
            while (*s == ' ')
                s++;
            size_t k = strcspn(s, "\r");
            memcpy(v, s, k);
            v[k] = '\0';
            return v;
        }
    }
    return NULL;
}

static char *render(struct ignis_registry *reg, enum ignis_expose_kind k, enum ignis_escaping e)
{
    struct evbuffer *b = evbuffer_new();
    struct ignis_expose_format f;
    ignis_expose_format_init(&f, k, e);
    struct ignis_sink *s = ignis_sink_writer_new(b, &f);
    ignis_registry_write(reg, s);
    ignis_sink_writer_finish(s);
    size_t n = evbuffer_get_length(b);
    char *t = malloc(n + 1);
    evbuffer_remove(b, t, n);
    t[n] = '\0';
    evbuffer_free(b);
    return t;
}

static struct ignis_registry *test_registry(void)
{
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_gauge *g = ignis_gauge_new(
        r, &(struct ignis_metric_opts){.name = "my.temp", .help = "A UTF-8 name."}, NULL, 0);
    ignis_gauge_set(g, 21.5);
    struct ignis_gauge_vec *v = ignis_gauge_vec_new(
        r, &(struct ignis_metric_opts){.name = "many", .help = "Enough to compress.",
                                       .label_names = (const char *[]){"i"}, .nlabels = 1},
        NULL, 0);
    for (int i = 0; i < 2000; i++) {
        char s[16];
        snprintf(s, sizeof s, "%d", i);
        ignis_gauge_set(ignis_gauge_vec_with(v, s), i);
    }
    return r;
}

static void serves_negotiated_formats(void **state)
{
    (void)state;
    struct ignis_registry *reg = test_registry();
    char err[256] = "";
    struct ignis_exposer *x = ignis_exposer_start("127.0.0.1:0", reg, err, sizeof err);
    if (!x)
        fail_msg("start: %s", err);
    int port = ignis_exposer_port(x);
    assert_true(port > 0);

    struct resp r;
    request(port, "GET", "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"),
                        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores");
    assert_null(header(&r, "Content-Encoding"));
    char *want = render(reg, IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES);
    assert_string_equal(r.body, want);
    assert_non_null(strstr(r.body, "\nmy_temp 21.5\n"));
    free(want);
    free(r.body);

    request(port, "GET", "/metrics",
            "Accept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
            "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
            "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1\r\n",
            &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "application/openmetrics-text; "
                                                    "version=1.0.0; charset=utf-8; "
                                                    "escaping=allow-utf-8");
    assert_non_null(strstr(r.body, "\n{\"my.temp\"} 21.5\n"));
    assert_non_null(strstr(r.body, "# EOF\n"));
    free(r.body);

    /* gzip */
    request(port, "GET", "/metrics?x=1", "Accept-Encoding: gzip\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Encoding"), "gzip");
    want = render(reg, IGNIS_EXPOSE_TEXT_0_0_4, IGNIS_ESCAPE_UNDERSCORES);
    size_t wl = strlen(want);
    assert_true(r.len < wl / 2);
    char *plain = malloc(wl + 16);
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (unsigned char *)r.body;
    zs.avail_in = (uInt)r.len;
    zs.next_out = (unsigned char *)plain;
    zs.avail_out = (uInt)(wl + 16);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, wl);
    inflateEnd(&zs);
    assert_memory_equal(plain, want, wl);
    free(plain);
    free(want);
    free(r.body);

    /* other paths and methods */
    request(port, "GET", "/", NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    request(port, "POST", "/metrics", "Content-Length: 0\r\n", &r);
    assert_int_equal(r.status, 405);
    free(r.body);
    request(port, "HEAD", "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    free(r.body);

    ignis_exposer_stop(x);
    ignis_registry_free(reg);
}

static void start_errors(void **state)
{
    (void)state;
    struct ignis_registry *reg = ignis_registry_new();
    char err[256] = "";
    assert_null(ignis_exposer_start("no-port", reg, err, sizeof err));
    assert_non_null(strstr(err, "invalid listen address"));
    assert_null(ignis_exposer_start("127.0.0.1:99999", reg, err, sizeof err));
    assert_null(ignis_exposer_start("127.0.0.1:0", NULL, err, sizeof err));
    /* a port in use */
    struct ignis_exposer *a = ignis_exposer_start("127.0.0.1:0", reg, err, sizeof err);
    assert_non_null(a);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ignis_exposer_port(a));
    err[0] = '\0';
    assert_null(ignis_exposer_start(addr, reg, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen"));
    ignis_exposer_stop(a);
    ignis_exposer_stop(NULL);
    ignis_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_negotiated_formats),
        cmocka_unit_test(start_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
