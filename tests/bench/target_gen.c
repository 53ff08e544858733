/* tests/bench/target_gen.c — a load generator for scrape benchmarks: one HTTP server on
 * 127.0.0.1 (port printed on stdout) whose /t/<i> serves target i's exposition of
 * SERIES series (counters that grow at every scrape, like a real exporter's), and /big a
 * single large target. Usage: target_gen SERIES_PER_TARGET BIG_SERIES. Runs until
 * SIGTERM. Bodies are rebuilt per request, so values change as in production. */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static long per_target, big_series;
static unsigned long tick;

static void body(struct evbuffer *b, long n, long target)
{
    tick++;
    long families = n / 20 > 0 ? n / 20 : 1;
    for (long f = 0; f < families; f++) {
        evbuffer_add_printf(b, "# HELP gen_metric_%ld_total A generated counter.\n# TYPE gen_metric_%ld_total counter\n", f, f);
        for (long k = 0; k < 20 && f * 20 + k < n; k++)
            evbuffer_add_printf(b,
                                "gen_metric_%ld_total{target=\"%ld\",path=\"/api/v1/item/%ld\",method=\"GET\",code=\"200\"} %lu\n",
                                f, target, k, tick * (unsigned long)(k + 1));
    }
}

static void serve(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *b = evbuffer_new();
    if (path && strncmp(path, "/t/", 3) == 0)
        body(b, per_target, atol(path + 3));
    else if (path && strcmp(path, "/big") == 0)
        body(b, big_series, -1);
    else {
        evbuffer_free(b);
        evhttp_send_error(req, 404, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
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
    if (argc != 3) {
        fprintf(stderr, "usage: target_gen SERIES_PER_TARGET BIG_SERIES\n");
        return 2;
    }
    per_target = atol(argv[1]);
    big_series = atol(argv[2]);
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_max_body_size(http, 1 << 20);
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (!s)
        return 1;
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&a, &al);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    evhttp_set_gencb(http, serve, NULL);
    struct event *t = evsignal_new(base, SIGTERM, on_signal, base);
    evsignal_add(t, NULL);
    event_base_dispatch(base);
    event_free(t);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
