/* tests/tools/static_server.c — serves the files of one directory over HTTP on
 * 127.0.0.1 (a port the kernel picks, printed on stdout), for tests that scrape captured
 * bodies. *.om.txt files are served as OpenMetrics, everything else as text 0.0.4.
 * With a second argument, every request must carry exactly that Authorization header
 * (401 otherwise; "" for none). With third and fourth arguments (a PEM certificate and
 * key) it speaks HTTPS. A request with an absolute URI (as sent to a proxy) is served
 * by its path too, so the server can stand in for an HTTP proxy. Runs until SIGTERM. */
#include <config.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *dir;
static const char *want_auth;
static SSL_CTX *ssl_ctx;

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
    (void)arg;
    return bufferevent_openssl_socket_new(base, -1, SSL_new(ssl_ctx), BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static void serve(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (want_auth && *want_auth) {
        const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        if (!a || strcmp(a, want_auth) != 0) {
            evhttp_send_error(req, 401, "Unauthorized");
            return;
        }
    }
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path || strstr(path, "..") || path[0] != '/' || !path[1]) {
        evhttp_send_error(req, 404, NULL);
        return;
    }
    char file[4096];
    snprintf(file, sizeof file, "%s%s", dir, path);
    int fd = open(file, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        evhttp_send_error(req, 404, NULL);
        return;
    }
    size_t n = strlen(file);
    bool om = n > 7 && strcmp(file + n - 7, ".om.txt") == 0;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                         : "text/plain; version=0.0.4; charset=utf-8");
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_file(b, fd, 0, st.st_size);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void on_signal(evutil_socket_t s, short w, void *arg)
{
    (void)s;
    (void)w;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3 && argc != 5) {
        fprintf(stderr, "usage: static_server DIR [AUTHORIZATION [CERT KEY]]\n");
        return 2;
    }
    dir = argv[1];
    want_auth = argc >= 3 ? argv[2] : NULL;
    if (argc == 5) {
        ssl_ctx = SSL_CTX_new(TLS_server_method());
        if (!ssl_ctx || SSL_CTX_use_certificate_chain_file(ssl_ctx, argv[3]) != 1 ||
            SSL_CTX_use_PrivateKey_file(ssl_ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "static_server: cannot load %s / %s\n", argv[3], argv[4]);
            return 1;
        }
    }
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (!s) {
        fprintf(stderr, "static_server: cannot listen\n");
        return 1;
    }
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&a, &al);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    evhttp_set_gencb(http, serve, NULL);
    if (ssl_ctx)
        evhttp_set_bevcb(http, tls_bev, NULL);
    struct event *t = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *i = evsignal_new(base, SIGINT, on_signal, base);
    evsignal_add(t, NULL);
    evsignal_add(i, NULL);
    event_base_dispatch(base);
    event_free(t);
    event_free(i);
    evhttp_free(http);
    event_base_free(base);
    if (ssl_ctx)
        SSL_CTX_free(ssl_ctx);
    return 0;
}
