/* ignis/selector.h — label matchers and series selectors: the one grammar that the
 * HTTP API (match[]), federation, relabel-free target matching and the PromQL
 * parser share. Regexes are RE2 syntax, fully anchored, `.` matching newlines. */
#ifndef IGNIS_SELECTOR_H
#define IGNIS_SELECTOR_H

#include <stddef.h>
#include <stdbool.h>
#include <ignis/labels.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A compiled, fully anchored regular expression (PCRE2 with JIT underneath).
 * Immutable after compilation, so one may be shared by any number of threads. */
struct ignis_regex;

/* Compiles pattern (pattern_len bytes, RE2 syntax) anchored at both ends.
 * Returns NULL and fills err (with the offset of the problem) on a bad pattern.
 * Caller frees with ignis_regex_free. */
struct ignis_regex *ignis_regex_compile(const char *pattern, size_t pattern_len, char *err,
                                        size_t errlen);
void ignis_regex_free(struct ignis_regex *re);
/* True when the whole of s matches. Any thread. */
bool ignis_regex_match(const struct ignis_regex *re, const char *s, size_t len);
/* The source pattern, NUL-terminated, owned by re. */
const char *ignis_regex_source(const struct ignis_regex *re);
/* When every string the regex matches is one of a finite set of literals
 * (`a|b|c`, `abc`), stores them (borrowed from re) and returns their count;
 * returns 0 when it cannot tell. Lets indexes answer without scanning. */
size_t ignis_regex_literals(const struct ignis_regex *re, const char *const **lits,
                            const size_t **lens);
/* The literal prefix every match starts with (borrowed from re, possibly empty). */
const char *ignis_regex_prefix(const struct ignis_regex *re, size_t *len);
/* Runs the regex and expands a Prometheus-style replacement template ($1, ${1},
 * ${name}, $$) into out (NUL-terminated). Returns the length written, or -1 when s
 * does not match, or -2 when out is too small. */
long ignis_regex_replace(const struct ignis_regex *re, const char *s, size_t len,
                         const char *tmpl, char *out, size_t outlen);

enum ignis_match_type {
    IGNIS_MATCH_EQ = 0, /* =  */
    IGNIS_MATCH_NE,     /* != */
    IGNIS_MATCH_RE,     /* =~ */
    IGNIS_MATCH_NRE,    /* !~ */
};

/* One label matcher. name/value are owned by whatever produced the matcher (a
 * selector from ignis_selector_parse owns its matchers' strings). re is set for
 * the two regex kinds and owned likewise. */
struct ignis_matcher {
    enum ignis_match_type type;
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    const struct ignis_regex *re;
};

/* True when a label value (an absent label counts as the empty value) satisfies m. */
bool ignis_matcher_matches(const struct ignis_matcher *m, const char *value, size_t len);

/* True when m matches the empty string (so it also selects series without the label). */
bool ignis_matcher_matches_empty(const struct ignis_matcher *m);

/* Fills m (owning copies of name, value and regex inside it). Returns 0, or -1 with err
 * on a bad regex. Free with ignis_matcher_clear. */
int ignis_matcher_init(struct ignis_matcher *m, enum ignis_match_type type, const char *name,
                       size_t name_len, const char *value, size_t value_len, char *err,
                       size_t errlen);
void ignis_matcher_clear(struct ignis_matcher *m);

/* A parsed series selector: `name{l="v", ...}`, `{__name__=~"x.*"}`, `{"my.metric"}`.
 * The metric name, when given outside the braces or quoted inside them, becomes an
 * `__name__` equality matcher, placed first. */
struct ignis_selector {
    struct ignis_matcher *matchers; /* owned by the selector */
    size_t n;
};

/* Parses a whole selector from s[0..len). Returns 0, or -1 with a message
 * "1:COL: parse error: ..." (1-based column, as Prometheus prints positions) in err.
 * A selector must have at least one matcher that does not match the empty string,
 * as Prometheus requires for match[] and PromQL vector selectors.
 * Caller frees with ignis_selector_free. */
int ignis_selector_parse(const char *s, size_t len, struct ignis_selector *out, char *err,
                         size_t errlen);

/* Parses the `{...}` part only, starting at s[*pos] (which must be '{'), appending
 * matchers to out; on return *pos is just past the '}'. For parsers (PromQL) that
 * embed the grammar. Positions in err are offsets into s, 0-based, as "at N: ...". */
int ignis_selector_parse_braces(const char *s, size_t len, size_t *pos,
                                struct ignis_selector *out, char *err, size_t errlen);

/* True when the sorted label set satisfies every matcher of sel. */
bool ignis_selector_matches(const struct ignis_selector *sel, const struct ignis_label *ls,
                            size_t n);

void ignis_selector_free(struct ignis_selector *sel);

#ifdef __cplusplus
}
#endif
#endif
