/* core/relabel.h — relabeling as Prometheus' <relabel_config> defines it. A list of rules
 * is compiled once (from its validated config view or from plain C values) and then
 * applied to sorted label sets on the hot path: every target, and every new series for
 * metric_relabel_configs. Applying allocates nothing per rule: working memory comes from
 * a caller-owned buffer that is reused across calls. __address__, __meta_*, __tmp_*,
 * __param_* are plain labels here; what they mean is the scrape manager's business. */
#ifndef IG_RELABEL_H
#define IG_RELABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ignis/config.h>
#include <ignis/labels.h>

enum ig_relabel_action {
    IG_RELABEL_REPLACE = 0,
    IG_RELABEL_KEEP,
    IG_RELABEL_DROP,
    IG_RELABEL_KEEPEQUAL,
    IG_RELABEL_DROPEQUAL,
    IG_RELABEL_HASHMOD,
    IG_RELABEL_LABELMAP,
    IG_RELABEL_LABELDROP,
    IG_RELABEL_LABELKEEP,
    IG_RELABEL_LOWERCASE,
    IG_RELABEL_UPPERCASE,
};

/* "replace", "keep", ...; NULL for a value outside the enum. */
const char *ig_relabel_action_name(enum ig_relabel_action a);
/* Parses an action name as the config writes it (case-sensitive, as Prometheus' YAML
 * lower-cases nothing). Returns 0, or -1 for an unknown name. */
int ig_relabel_action_parse(const char *s, enum ig_relabel_action *out);

/* Which label names the rules may write. LEGACY: [a-zA-Z_][a-zA-Z0-9_]* as Prometheus
 * 2.x and Prometheus 3 with metric_name_validation_scheme "legacy"; UTF8: any non-empty
 * UTF-8, as Prometheus 3 by default. It decides both the checks made when compiling
 * (source_labels, target_label) and which names a templated target_label or labelmap
 * may produce (an invalid one skips the rule for that label set, as Prometheus does). */
enum ig_relabel_names {
    IG_RELABEL_NAMES_LEGACY = 0,
    IG_RELABEL_NAMES_UTF8,
};

/* One rule as plain C values, every string NUL-terminated and borrowed for the call
 * that compiles it. NULL strings take Prometheus' defaults. */
struct ig_relabel_spec {
    enum ig_relabel_action action;
    const char *const *source_labels;
    size_t nsource_labels;
    const char *separator;    /* NULL: ";" */
    const char *regex;        /* RE2 syntax, anchored at both ends; NULL: "(.*)" */
    uint64_t modulus;         /* hashmod only; must be > 0 there */
    const char *target_label; /* NULL: none (""); replace may template it: "${1}" */
    const char *replacement;  /* NULL: "$1" */
};

/* A compiled list of rules. Immutable, so any number of threads may apply it at once
 * (each with its own ig_relabel_buf). */
struct ig_relabel;

/* Compiles n rules, checking each as Prometheus' config loader does (required
 * target_label, non-zero modulus, fields an action forbids, valid names and regexes).
 * Returns NULL with "rule N: ..." in err on the first bad rule (or when out of memory).
 * n may be 0. Caller frees with ig_relabel_free. */
struct ig_relabel *ig_relabel_new(const struct ig_relabel_spec *rules, size_t n,
                                  enum ig_relabel_names names, char *err, size_t errlen);

/* Compiles the LIST setting `key` of the view c (e.g. a scrape config's
 * "relabel_configs"), whose elements have the rows source_labels (STRINGS), separator
 * (STRING), regex (REGEX), modulus (INT), target_label (STRING), replacement (STRING)
 * and action (STRING) with Prometheus' defaults. The view is borrowed for the call.
 * Returns NULL with "file:line: ..." in err on a bad rule. An absent list compiles to an
 * empty one. */
struct ig_relabel *ig_relabel_from_config(const struct ignis_config *c, const char *key,
                                          enum ig_relabel_names names, char *err, size_t errlen);

void ig_relabel_free(struct ig_relabel *r);

/* Number of rules. */
size_t ig_relabel_len(const struct ig_relabel *r);

/* Working memory for ig_relabel_apply: one per thread, reused across calls so that the
 * steady state allocates nothing. Everything it holds counts against max_bytes; a label
 * set that would need more fails with IGNIS_E_LIMIT. Fields are private. */
struct ig_relabel_block;
struct ig_relabel_buf {
    size_t max_bytes;
    size_t bytes;
    struct ignis_label *ls, *snap;
    size_t ls_cap, snap_cap;
    char *join;
    size_t join_cap;
    struct ig_relabel_block *blocks, *cur;
    void *md_ctx;
};

/* Default bound of a buffer: far above any real label set (a Kubernetes pod's meta
 * labels are a few KiB), small enough that a hostile one cannot take the process. */
#define IG_RELABEL_BUF_MAX_DEFAULT ((size_t)16 << 20)

/* max_bytes 0: IG_RELABEL_BUF_MAX_DEFAULT. Allocates nothing yet. */
void ig_relabel_buf_init(struct ig_relabel_buf *b, size_t max_bytes);
void ig_relabel_buf_clear(struct ig_relabel_buf *b);

#define IG_RELABEL_KEPT    0
#define IG_RELABEL_DROPPED 1

/* Applies r's rules in order to the sorted label set in[0..n) (names unique).
 * Returns IG_RELABEL_KEPT with the resulting sorted set in *out and *nout,
 * IG_RELABEL_DROPPED when a rule dropped it, or a negative IGNIS_E_* (IGNIS_E_LIMIT: b's
 * bound was hit; IGNIS_E_NOMEM). The result's array lives in b until the next apply on b; its
 * strings point into in, into r (literal replacements) or into b, so it is valid while all three
 * are. A label set to the empty value is removed, as in Prometheus. r may be NULL (no rules: *out
 * is in). */
int ig_relabel_apply(const struct ig_relabel *r, const struct ignis_label *in, size_t n,
                     struct ig_relabel_buf *b, const struct ignis_label **out, size_t *nout);

#endif
