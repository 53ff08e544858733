/* core/json.h — streaming JSON output into evbuffers, for the HTTP API's hot paths
 * (jansson is for reading JSON; building a tree to print it would double the work).
 * Strings are escaped as RFC 8259 requires, with the same choices as Go's
 * encoding/json (which Prometheus' API uses): <, > and & as \u003c, \u003e, \u0026,
 * invalid UTF-8 as \ufffd. */
#ifndef IG_JSON_H
#define IG_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <ignis/labels.h>

struct evbuffer;

/* A quoted JSON string. */
void ig_json_str(struct evbuffer *b, const char *s, size_t len);
void ig_json_cstr(struct evbuffer *b, const char *s);
/* A float as the Prometheus API writes sample values: a quoted string, "NaN", "+Inf",
 * "-Inf", otherwise Go's strconv.FormatFloat(v, 'f', -1, 64). */
void ig_json_value(struct evbuffer *b, double v);
/* A float as a JSON number, shortest round-trip form (lastScrapeDuration and the like). */
void ig_json_number(struct evbuffer *b, double v);
/* A label set as a JSON object {"name":"value",...} in the given order. */
void ig_json_labels(struct evbuffer *b, const struct ignis_label *ls, size_t n);
/* RFC 3339 with milliseconds in UTC, as Go's time.Time marshals ("2006-01-02T15:04:05.123Z"
 * style, trailing zeros of the fraction dropped), quoted. */
void ig_json_time(struct evbuffer *b, int64_t ms);

#endif
