/* core/api.h — the Prometheus HTTP API (/api/v1/...) endpoints the core serves itself:
 * targets and their metadata, and the storage read endpoints (series, labels, label
 * values), in Prometheus' JSON shapes and error types. Storage reads run on the query
 * lane; replies go out from the loop. */
#ifndef IG_API_H
#define IG_API_H

#include <stddef.h>
#include <stdint.h>

struct ig_core;
struct ig_http;
struct evbuffer;

int ig_api_routes(struct ig_core *core, struct ig_http *http, char *err, size_t errlen);
/* The query endpoints and /api/v1/status/ (api_query.c). */
int ig_api_query_routes(struct ig_core *core, struct ig_http *http, char *err, size_t errlen);
/* /api/v1/status/tsdb and the admin endpoints (api_tsdb.c). */
int ig_api_tsdb_routes(struct ig_core *core, struct ig_http *http, char *err, size_t errlen);

/* Parses an API time: float seconds since the epoch or RFC 3339. Returns 0 and ms. */
int ig_api_parse_time(const char *s, int64_t *ms);
/* Prometheus' error body: {"status":"error","errorType":TYPE,"error":MSG}. */
void ig_api_error_body(struct evbuffer *b, const char *type, const char *msg);
/* Replies with that body and the HTTP status Prometheus gives the error type (bad_data
 * 400, execution 422, timeout/canceled/unavailable 503, not_found 404, else 500). */
struct ignis_http_req;
void ig_api_reply_error(struct ignis_http_req *req, const char *type, const char *msg);
/* Replies 200 {"status":"success","data":<data>}; data's contents are moved out. */
void ig_api_reply_data(struct ignis_http_req *req, struct evbuffer *data);

/* The bounds Prometheus uses for an absent start / end. */
#define IG_API_MIN_TIME (INT64_MIN / 2)
#define IG_API_MAX_TIME (INT64_MAX / 2)

#endif
