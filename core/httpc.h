/* core/httpc.h — the HTTP client: libcurl's multi interface driven by the loop's
 * libevent base. Used for scrapes, discovery APIs, notifications and remote write.
 * Everything here runs on the loop; completions are called on the loop. */
#ifndef IG_HTTPC_H
#define IG_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct ig_httpc;
struct ig_httpc_xfer;

/* A growable byte buffer the caller owns and may reuse across transfers (a scrape loop
 * keeps one, so steady-state scrapes do not allocate). */
struct ig_buf {
    char *data;
    size_t len, cap;
};
void ig_buf_free(struct ig_buf *b);
/* Makes room for n more bytes; returns 0 or -1. */
int ig_buf_reserve(struct ig_buf *b, size_t n);

struct ig_httpc_header {
    const char *name, *value;
};

struct ig_httpc_req {
    const char *url;
    const char *method;              /* NULL: GET (POST when body is set) */
    const struct ig_httpc_header *headers;
    size_t nheaders;
    const char *body;                /* borrowed until done */
    size_t body_len;
    int64_t timeout_ms;              /* whole transfer; 0: none */
    size_t max_body;                 /* response body limit, decoded bytes; 0: none */
    bool accept_gzip;                /* ask for gzip and decode it */
    /* auth and transport */
    const char *basic_user, *basic_password;
    const char *authorization;       /* full header value, e.g. "Bearer xyz" */
    const char *ca_file, *cert_file, *key_file, *server_name;
    bool insecure_skip_verify;
    const char *proxy_url;
    struct ig_buf *out;              /* response body lands here (cleared first) */
};

struct ig_httpc_result {
    int status;                 /* HTTP status, 0 when no response */
    const char *content_type;   /* "" when absent; valid during the callback */
    const char *error;          /* NULL on a completed exchange (any status) */
    bool body_too_large;        /* max_body was hit (error says so too) */
    double seconds;             /* total time */
};

typedef void (*ig_httpc_done)(void *arg, const struct ig_httpc_result *r);

struct ig_httpc *ig_httpc_new(struct event_base *base, char *err, size_t errlen);
/* Cancels every transfer in flight (their callbacks are not called) and frees. */
void ig_httpc_free(struct ig_httpc *c);
/* Starts a transfer. The request's strings are copied or borrowed as libcurl does
 * (headers copied; body and out borrowed until done). Returns NULL with err on failure. */
struct ig_httpc_xfer *ig_httpc_start(struct ig_httpc *c, const struct ig_httpc_req *req,
                                     ig_httpc_done done, void *arg, char *err, size_t errlen);
/* Cancels one transfer in flight; its callback is not called. */
void ig_httpc_cancel(struct ig_httpc_xfer *x);
/* Transfers in flight. */
size_t ig_httpc_active(const struct ig_httpc *c);

#endif
