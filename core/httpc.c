/* core/httpc.c — libcurl multi on libevent: curl tells us which sockets to watch and
 * when its timer fires (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION); libevent events call
 * curl_multi_socket_action; finished transfers are collected from curl_multi_info_read
 * and their callbacks run on the loop. */
#include <config.h>
#include "core/httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

struct ig_httpc {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    size_t active;
    struct ig_httpc_xfer *xfers; /* in flight, for free() */
};

struct ig_httpc_xfer {
    struct ig_httpc *c;
    CURL *easy;
    struct curl_slist *headers;
    ig_httpc_done done;
    void *arg;
    struct ig_buf *out;
    size_t max_body;
    bool too_large;
    char errbuf[CURL_ERROR_SIZE];
    struct ig_httpc_xfer *prev, *next;
};

/* Per-socket state curl asks us to watch. */
struct sock {
    struct event *ev;
    curl_socket_t fd;
};

void ig_buf_free(struct ig_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int ig_buf_reserve(struct ig_buf *b, size_t n)
{
    if (b->cap - b->len > n)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= n) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

static void unlink_xfer(struct ig_httpc_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        x->c->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
}

static void free_xfer(struct ig_httpc_xfer *x)
{
    curl_multi_remove_handle(x->c->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    x->c->active--;
    unlink_xfer(x);
    free(x);
}

static void check_done(struct ig_httpc *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct ig_httpc_xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        struct ig_httpc_result r = {0};
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        r.status = (int)code;
        char *ct = NULL, ctype[256];
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(ctype, sizeof ctype, "%s", ct ? ct : ""); /* ct dies with the handle */
        r.content_type = ctype;
        curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &r.seconds);
        char msg[CURL_ERROR_SIZE + 64];
        if (x->too_large) {
            snprintf(msg, sizeof msg, "body size limit exceeded (%zu bytes)", x->max_body);
            r.error = msg;
            r.body_too_large = true;
        } else if (m->data.result != CURLE_OK) {
            snprintf(msg, sizeof msg, "%s",
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result));
            r.error = msg;
        }
        ig_httpc_done done = x->done;
        void *arg = x->arg;
        free_xfer(x);
        done(arg, &r);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct ig_httpc *c = arg;
    int mask = 0, running;
    if (what & EV_READ)
        mask |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        mask |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, fd, mask, &running);
    check_done(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ig_httpc *c = arg;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct ig_httpc *c = userp;
    struct sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            event_free(s->ev);
            free(s);
        }
        curl_multi_assign(c->multi, fd, NULL);
        return 0;
    }
    short ev = EV_PERSIST;
    if (what & CURL_POLL_IN)
        ev |= EV_READ;
    if (what & CURL_POLL_OUT)
        ev |= EV_WRITE;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;
        s->fd = fd;
        curl_multi_assign(c->multi, fd, s);
    } else {
        event_free(s->ev);
    }
    s->ev = event_new(c->base, fd, ev, on_socket_event, c);
    if (!s->ev)
        return -1;
    event_add(s->ev, NULL);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct ig_httpc *c = userp;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct ig_httpc_xfer *x = userdata;
    size_t n = size * nmemb;
    if (x->max_body && x->out->len + n > x->max_body) {
        x->too_large = true;
        return 0; /* aborts the transfer */
    }
    if (ig_buf_reserve(x->out, n) != 0)
        return 0;
    memcpy(x->out->data + x->out->len, ptr, n);
    x->out->len += n;
    return n;
}

struct ig_httpc *ig_httpc_new(struct event_base *base, char *err, size_t errlen)
{
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
            snprintf(err, errlen, "curl_global_init failed");
            return NULL;
        }
        global_done = 1;
    }
    struct ig_httpc *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->base = base;
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, on_timer, c);
    if (!c->multi || !c->timer) {
        snprintf(err, errlen, "cannot create the HTTP client");
        ig_httpc_free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* Bound of open connections kept for reuse (scrapes reuse one per target). */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 1024L);
    return c;
}

void ig_httpc_free(struct ig_httpc *c)
{
    if (!c)
        return;
    while (c->xfers)
        free_xfer(c->xfers);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->timer)
        event_free(c->timer);
    free(c);
}

struct ig_httpc_xfer *ig_httpc_start(struct ig_httpc *c, const struct ig_httpc_req *req,
                                     ig_httpc_done done, void *arg, char *err, size_t errlen)
{
    struct ig_httpc_xfer *x = calloc(1, sizeof *x);
    if (!x || !(x->easy = curl_easy_init())) {
        free(x);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->c = c;
    x->done = done;
    x->arg = arg;
    x->out = req->out;
    x->max_body = req->max_body;
    x->out->len = 0;
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    if (req->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    if (req->accept_gzip)
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    if (req->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (req->method)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->basic_user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
    }
    if (req->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
    if (req->cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, req->cert_file);
    if (req->key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, req->key_file);
    if (req->insecure_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (req->proxy_url)
        curl_easy_setopt(e, CURLOPT_PROXY, req->proxy_url);
    else
        curl_easy_setopt(e, CURLOPT_PROXY, "");
    for (size_t i = 0; i < req->nheaders; i++) {
        char line[8192];
        snprintf(line, sizeof line, "%s: %s", req->headers[i].name, req->headers[i].value);
        struct curl_slist *n = curl_slist_append(x->headers, line);
        if (!n)
            goto fail;
        x->headers = n;
    }
    if (req->authorization) {
        char line[8192];
        snprintf(line, sizeof line, "Authorization: %s", req->authorization);
        struct curl_slist *n = curl_slist_append(x->headers, line);
        if (!n)
            goto fail;
        x->headers = n;
    }
    if (req->server_name) {
        /* TLS server name differs from the URL's host: send it as SNI and Host. */
        char line[512];
        snprintf(line, sizeof line, "Host: %s", req->server_name);
        struct curl_slist *n = curl_slist_append(x->headers, line);
        if (!n)
            goto fail;
        x->headers = n;
    }
    if (x->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
        goto fail;
    c->active++;
    x->next = c->xfers;
    if (c->xfers)
        c->xfers->prev = x;
    c->xfers = x;
    return x;
fail:
    snprintf(err, errlen, "cannot start request to %s", req->url);
    curl_slist_free_all(x->headers);
    curl_easy_cleanup(e);
    free(x);
    return NULL;
}

void ig_httpc_cancel(struct ig_httpc_xfer *x)
{
    if (x)
        free_xfer(x);
}

size_t ig_httpc_active(const struct ig_httpc *c)
{
    return c->active;
}
