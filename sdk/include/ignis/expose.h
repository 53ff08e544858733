/* ignis/expose.h — exposition: the text writers (Prometheus text 0.0.4 and OpenMetrics
 * 1.0 text) as a metric-family sink that streams into a libevent evbuffer, content
 * negotiation from an HTTP Accept header, and a small HTTP exposer for standalone
 * programs. */
#ifndef IGNIS_EXPOSE_H
#define IGNIS_EXPOSE_H

#include <stddef.h>
#include <stdint.h>
#include <ignis/metrics.h>

#ifdef __cplusplus
extern "C" {
#endif

struct evbuffer; /* libevent */

enum ignis_expose_kind {
    IGNIS_EXPOSE_TEXT_0_0_4 = 0,   /* text/plain; version=0.0.4 */
    IGNIS_EXPOSE_TEXT_1_0_0,       /* text/plain; version=1.0.0 (same syntax) */
    IGNIS_EXPOSE_OPENMETRICS_1_0_0,/* application/openmetrics-text; version=1.0.0 */
    IGNIS_EXPOSE_OPENMETRICS_0_0_1,/* application/openmetrics-text; version=0.0.1 (same) */
};

/* How metric and label names outside the legacy sets are written (Prometheus' escaping
 * schemes). ALLOW_UTF8 quotes them ({"my.metric", "a-b"="x"}); the others rewrite them
 * into legacy names: UNDERSCORES replaces every other character by "_"; DOTS writes "."
 * as "_dot_", "_" as "__" and others as "_"; VALUES prefixes "U__" and writes "_" as "__"
 * and others as "_<hex code point>_". */
enum ignis_escaping {
    IGNIS_ESCAPE_UNDERSCORES = 0,
    IGNIS_ESCAPE_ALLOW_UTF8,
    IGNIS_ESCAPE_DOTS,
    IGNIS_ESCAPE_VALUES,
};

/* The answer to a negotiation. content_type is the exact Content-Type header value to
 * send, e.g. "text/plain; version=0.0.4; charset=utf-8; escaping=underscores". */
struct ignis_expose_format {
    enum ignis_expose_kind kind;
    enum ignis_escaping escaping;
    char content_type[96];
};

/* Fills fmt for kind and escaping (the content type follows from them). */
void ignis_expose_format_init(struct ignis_expose_format *fmt, enum ignis_expose_kind kind,
                              enum ignis_escaping escaping);

/* Chooses the format for an Accept header (NULL or "" for none): the accepted media
 * range with the highest q that we write (OpenMetrics on a tie), else text 0.0.4; the
 * escaping from that range's escaping= parameter (underscores when absent or unknown).
 * Always succeeds; malformed parts of the header are skipped. */
void ignis_expose_negotiate(const char *accept, struct ignis_expose_format *fmt);

/* True when an Accept-Encoding header value (NULL for none) accepts gzip (q > 0). */
int ignis_expose_accepts_gzip(const char *accept_encoding);

/* The writer: a sink that renders families in fmt's format into out (borrowed until
 * ignis_sink_writer_finish or ignis_sink_free). It buffers internally; nothing is
 * allocated per sample. It refuses (-1) a family announced twice, a sample before any
 * family, a suffix the family's type does not have, and invalid UTF-8 or names. NULL
 * when memory runs out. */
struct ignis_sink *ignis_sink_writer_new(struct evbuffer *out,
                                         const struct ignis_expose_format *fmt);
/* Ends the exposition ("# EOF" for OpenMetrics), flushes into out and frees the sink.
 * Returns 0, or -1 when anything was refused or out could not take the bytes (the
 * output is still complete and well-formed apart from what was refused). */
int ignis_sink_writer_finish(struct ignis_sink *s);

/* Formats v as Prometheus clients do (shortest round-trip, Go's %g layout, +Inf, -Inf,
 * NaN; openmetrics adds ".0" to integral values). Writes a NUL-terminated string into
 * buf (at least 32 bytes) and returns its length. */
size_t ignis_format_double(char *buf, double v, int openmetrics);

/* Formats v exactly as Go's strconv.FormatFloat(v, fmt, -1, 64) does, for fmt 'e', 'f' or
 * 'g': the shortest decimal that reads back as v (the one closest to v when several are
 * as short), "NaN", "+Inf", "-Inf", "-0" for negative zero; 'e' writes d.ddde±XX with at
 * least two exponent digits, 'g' uses 'e' when the decimal exponent is < -4 or >= 6 and
 * 'f' otherwise. Writes a NUL-terminated string and returns its length. buf must hold 32
 * bytes for 'e' and 'g', IGNIS_FORMAT_FLOAT_F_SIZE for 'f' (5e-324 takes 327 characters,
 * 1.7976931348623157e308 310). Any other fmt is taken as 'f'. Thread-safe, no locale. */
#define IGNIS_FORMAT_FLOAT_F_SIZE 330
size_t ignis_format_float(char *buf, double v, char fmt);

/* Rewrites a metric (label: is_label = 1) name per escaping into out (NUL-terminated,
 * cut at outlen). Names already legal are unchanged except under DOTS. Returns the full
 * length needed, as snprintf does. ALLOW_UTF8 copies the name. */
size_t ignis_escape_name(char *out, size_t outlen, const char *name, size_t len, int is_label,
                         enum ignis_escaping escaping);

/* ---- A small HTTP exposer for standalone programs -------------------------------
 * Serves GET /metrics from reg with content negotiation and gzip, on its own thread
 * and libevent loop. listen_addr is "host:port" ("[v6]:port", ":port" for all
 * addresses); port 0 picks a free port (see ignis_exposer_port). Returns NULL with a
 * message in err on failure. */
struct ignis_exposer;
struct ignis_exposer *ignis_exposer_start(const char *listen_addr, struct ignis_registry *reg,
                                          char *err, size_t errlen);
/* The port it listens on. */
int ignis_exposer_port(const struct ignis_exposer *x);
/* Stops serving, joins the thread and frees the exposer. */
void ignis_exposer_stop(struct ignis_exposer *x);

#ifdef __cplusplus
}
#endif
#endif
