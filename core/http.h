/* core/http.h — the HTTP server: evhttp listeners, a route table that the core and
 * plugin instances add to, request parameters (query string and form bodies), gzip
 * replies, and the per-handler request metrics. Everything here runs on the loop. */
#ifndef IG_HTTP_H
#define IG_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <ignis/plugin.h>

struct event_base;
struct ig_http;

/* Called when a request ends, for self-metrics: the route's path ("" when no route
 * matched), the status and the handling time in seconds. */
typedef void (*ig_http_observe_fn)(void *arg, const char *handler, int status, double seconds);

struct ig_http *ig_http_new(struct event_base *base);
/* Route prefix ("/" or "/prefix"): every route is served below it. */
void ig_http_set_route_prefix(struct ig_http *h, const char *prefix);
void ig_http_set_observer(struct ig_http *h, ig_http_observe_fn fn, void *arg);
void ig_http_set_timeout(struct ig_http *h, int seconds);
/* Binds "host:port", "[v6]:port" or ":port" (port 0: any free port). Stores the bound
 * address as "host:port" in bound. Returns 0, or -1 with err. */
int ig_http_listen(struct ig_http *h, const char *address, char *bound, size_t boundlen,
                   char *err, size_t errlen);

/* Adds a route; owner tags it so ig_http_remove_owner can drop an instance's routes.
 * Returns 0, or -1 when the path (with the same methods overlapping) is taken. */
int ig_http_route(struct ig_http *h, unsigned methods, const char *path,
                  ignis_http_handler handler, void *arg, const void *owner);
void ig_http_remove_owner(struct ig_http *h, const void *owner);

/* The request accessors behind the host table's entries. */
struct evhttp_request *ig_http_evreq(struct ignis_http_req *req);
const struct evkeyvalq *ig_http_params(struct ignis_http_req *req);
const char *ig_http_path(struct ignis_http_req *req);
void ig_http_reply(struct ignis_http_req *req, int status, const char *content_type,
                   struct evbuffer *body);
/* Convenience: replies with a short text body. */
void ig_http_reply_text(struct ignis_http_req *req, int status, const char *text);
/* The first value of a parameter, or NULL. */
const char *ig_http_param(struct ignis_http_req *req, const char *name);
/* A request header, or NULL. */
const char *ig_http_header(struct ignis_http_req *req, const char *name);

/* Parses application/x-www-form-urlencoded text (or a URL query) into dst, appending
 * pairs in order, keys and values percent-decoded, '+' as space. Free the pairs with
 * evhttp_clear_headers. */
void ig_http_parse_form(struct evkeyvalq *dst, const char *s, size_t len);

/* Stops listening and frees the server (requests in flight are dropped). */
void ig_http_free(struct ig_http *h);

#endif
