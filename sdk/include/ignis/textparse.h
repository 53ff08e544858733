/* ignis/textparse.h — the exposition parser: Prometheus text format 0.0.4 and OpenMetrics
 * 1.0 text, one pull-style iterator that works in place on a body held in memory, and a
 * bounded streaming gunzip for compressed bodies. The scrape manager and `ignisctl check
 * metrics` share it. It allocates nothing per sample; only strict mode keeps bookkeeping
 * (family names, metric groups) on the heap, freed by ignis_textparse_fini(). */
#ifndef IGNIS_TEXTPARSE_H
#define IGNIS_TEXTPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <ignis/labels.h>
#include <ignis/metrics.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ignis_textparse_format {
    IGNIS_TEXTPARSE_PROMETHEUS = 0,  /* text/plain; version=0.0.4 */
    IGNIS_TEXTPARSE_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
};

enum ignis_textparse_mode {
    /* Accepts every body a Prometheus 2.42/3.x scrape accepts (and a little more where
     * Prometheus' own leniency is version-dependent): syntax, plus what Prometheus'
     * parsers themselves refuse (invalid UTF-8, unknown types, a unit that is not a
     * suffix of its metric name, OpenMetrics without # EOF). */
    IGNIS_TEXTPARSE_SCRAPE = 0,
    /* The specifications to the letter: OpenMetrics 1.0 (metadata placement, family
     * grouping, suffixes, histogram and counter rules, exemplar limits) and, for 0.0.4,
     * what `promtool check metrics` refuses (escapes, repeated HELP/TYPE, commas). */
    IGNIS_TEXTPARSE_STRICT = 1,
};

enum ignis_textparse_entry {
    IGNIS_TP_SERIES = 0, /* a sample line */
    IGNIS_TP_TYPE,       /* # TYPE name type */
    IGNIS_TP_HELP,       /* # HELP name text */
    IGNIS_TP_UNIT,       /* # UNIT name unit (OpenMetrics) */
    IGNIS_TP_COMMENT,    /* any other comment (0.0.4 only) */
    IGNIS_TP_EOF,        /* the end: the body was valid; repeated calls return EOF again */
    IGNIS_TP_ERROR,      /* the body is invalid: see ignis_textparse_error(); sticky */
};

/* The parser's state, for the caller to place anywhere (stack, arena). Its layout is
 * private to libignis; the size is fixed by the ABI. */
#define IGNIS_TEXTPARSE_OPAQUE_WORDS 96
struct ignis_textparse {
    uint64_t opaque_[IGNIS_TEXTPARSE_OPAQUE_WORDS];
};

/* The format a scrape response's Content-Type names: "application/openmetrics-text"
 * (any parameters, any case) is OpenMetrics; "text/plain", NULL, empty or anything else
 * falls back to 0.0.4, as Prometheus 2.x does. */
enum ignis_textparse_format ignis_textparse_format_for(const char *content_type);

/* Starts parsing body[0..len). The body is borrowed and must stay unchanged until
 * ignis_textparse_fini(); nothing is written to it and it need not be NUL-terminated.
 * Every pointer the accessors below hand out points into the body, into the caller's
 * scratch buffer, or into static storage, and stays valid until the next call to
 * ignis_textparse_next() (pointers into the body stay valid as long as the body). */
void ignis_textparse_init(struct ignis_textparse *p, const char *body, size_t len,
                          enum ignis_textparse_format format, enum ignis_textparse_mode mode);
/* Frees what strict mode allocated. Safe to call twice; init may follow. */
void ignis_textparse_fini(struct ignis_textparse *p);

/* Advances to the next entry. Blank lines (0.0.4) are skipped. */
enum ignis_textparse_entry ignis_textparse_next(struct ignis_textparse *p);

/* After IGNIS_TP_ERROR: "line 3 col 14: expected ..." (NUL-terminated, owned by p). Lines
 * and columns count from 1; columns count bytes. NULL when there was no error. */
const char *ignis_textparse_error(const struct ignis_textparse *p);
/* The 1-based line of the current entry (or of the error). */
uint32_t ignis_textparse_line(const struct ignis_textparse *p);

/* ---- SERIES --------------------------------------------------------------------------
 * The raw bytes of the series' name-and-labels part exactly as written ("foo{a=\"b\"}",
 * "{\"my.metric\",\"a-b\"=\"x\"}"), pointing into the body: what a scrape cache hashes to
 * find a known series without parsing its labels. */
const char *ignis_textparse_series(const struct ignis_textparse *p, size_t *len);
/* The sample value. Every NaN is returned as Prometheus' normal NaN
 * (0x7ff8000000000001), never as the staleness marker. */
double ignis_textparse_value(const struct ignis_textparse *p);
/* True and *ts_ms set when the line carries a timestamp (0.0.4: milliseconds; OpenMetrics:
 * seconds, converted, truncated toward zero, saturated to the int64 range). */
bool ignis_textparse_timestamp(const struct ignis_textparse *p, int64_t *ts_ms);
/* The number of labels the series has, not counting the metric name. */
size_t ignis_textparse_label_count(const struct ignis_textparse *p);
/* Fills out[0] with ("__name__", metric name), then the series' labels in the order
 * written (not sorted; ignis_labels_sort() sorts and finds repeated names). Names and
 * values without escapes point into the body; unescaped ones are written into scratch
 * (scratch_len >= the length of the series bytes always suffices). Returns the number of
 * pairs written (label_count + 1), or -1 when max or scratch_len is too small. */
int ignis_textparse_labels(const struct ignis_textparse *p, struct ignis_label *out, size_t max,
                           char *scratch, size_t scratch_len);

/* An OpenMetrics exemplar on the current sample. */
struct ignis_textparse_exemplar {
    const char *labels; /* raw bytes "{...}" in the body */
    size_t labels_len;
    size_t label_count;
    double value;
    bool has_timestamp;
    int64_t ts_ms;
};
/* True and *ex filled when the current sample carries an exemplar. */
bool ignis_textparse_exemplar(const struct ignis_textparse *p, struct ignis_textparse_exemplar *ex);
/* The exemplar's labels, as ignis_textparse_labels() but without a __name__ pair.
 * Returns the number of pairs, or -1 when out or scratch is too small or there is no
 * exemplar. */
int ignis_textparse_exemplar_labels(const struct ignis_textparse *p, struct ignis_label *out,
                                    size_t max, char *scratch, size_t scratch_len);

/* True when the current sample is the "_created" sample of a counter, histogram or
 * summary family declared before it (OpenMetrics; also honoured in 0.0.4): its value is
 * the creation time in seconds, to be attached to the series with the same labels rather
 * than stored as a series of its own if the caller ingests created timestamps. */
bool ignis_textparse_is_created(const struct ignis_textparse *p);
/* For a sample of a counter, histogram or summary family: looks ahead, without moving
 * the parser, through the rest of the sample's metric (the following samples with the same
 * labels, le and quantile aside) for its "_created" sample, and returns true with the
 * creation time in *ct_ms when there is one. The look-ahead costs up to the metric's
 * sample count: call it once per metric (on its first sample), not on every bucket. */
bool ignis_textparse_created(const struct ignis_textparse *p, int64_t *ct_ms);

/* ---- Metadata -------------------------------------------------------------------------
 * On TYPE, HELP and UNIT entries these describe the line; on SERIES entries, the metric
 * family the sample belongs to (the last metadata's family when the sample's name is that
 * family's name plus one of its type's suffixes; otherwise the sample's own name, type
 * unknown, no help or unit).
 *
 * The family name; unescaped into scratch when it was quoted with escapes (scratch_len >=
 * the raw length suffices). NULL when scratch is too small, and on COMMENT, EOF and ERROR
 * entries. */
const char *ignis_textparse_family(const struct ignis_textparse *p, char *scratch,
                                   size_t scratch_len, size_t *len);
/* The family's type (IGNIS_METRIC_UNKNOWN for untyped/unknown or no TYPE line). */
enum ignis_metric_type ignis_textparse_type(const struct ignis_textparse *p);
/* The help text, unescaped (into scratch when it holds escapes); NULL when the family has
 * no HELP line or scratch is too small (scratch_len >= the raw length suffices). */
const char *ignis_textparse_help(const struct ignis_textparse *p, char *scratch, size_t scratch_len,
                                 size_t *len);
/* The unit (OpenMetrics); NULL when none. Units hold no escapes. */
const char *ignis_textparse_unit(const struct ignis_textparse *p, size_t *len);
/* The text of a COMMENT entry after the '#' (raw). */
const char *ignis_textparse_comment(const struct ignis_textparse *p, size_t *len);

/* ---- gzip bodies ------------------------------------------------------------------------
 * A streaming gunzip into one growing buffer bounded by a body size limit, so a scrape can
 * inflate as bytes arrive and then parse the result in place. Concatenated gzip members
 * are inflated one after another, as gzip(1) does. A gunzip is used by one thread; reset
 * keeps its buffer, so a steady scrape loop allocates nothing. */
struct ignis_gunzip;

/* limit: the most bytes of output accepted (0: no limit). NULL when out of memory. */
struct ignis_gunzip *ignis_gunzip_new(size_t limit);
void ignis_gunzip_free(struct ignis_gunzip *g);
/* Forgets the data (keeps the buffer) and sets a new limit. */
void ignis_gunzip_reset(struct ignis_gunzip *g, size_t limit);
/* Inflates len more input bytes. Returns 0, IGNIS_E_LIMIT when the output would exceed the
 * limit, IGNIS_E_INVALID on corrupt input (or input after the end when not a new member),
 * IGNIS_E_NOMEM; err gets a message. After an error every call fails the same way. */
int ignis_gunzip_feed(struct ignis_gunzip *g, const void *in, size_t len, char *err, size_t errlen);
/* Ends the input: 0 when the stream ended cleanly, IGNIS_E_INVALID when truncated. */
int ignis_gunzip_finish(struct ignis_gunzip *g, char *err, size_t errlen);
/* The output so far (NUL-terminated for convenience; *len excludes the NUL). Owned by g,
 * valid until the next feed, reset or free. */
const char *ignis_gunzip_data(const struct ignis_gunzip *g, size_t *len);

/* One-shot: inflates a whole gzip body into *out (caller frees with free()). Returns 0 or
 * an error as ignis_gunzip_feed/finish. */
int ignis_gunzip_all(const void *in, size_t len, size_t limit, char **out, size_t *out_len,
                     char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
