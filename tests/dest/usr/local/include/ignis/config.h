/* ignis/config.h — option schemas that plugins declare, and the typed, validated view
 * of their config subtree that the host hands them. No libconfig type crosses the
 * plugin ABI: the host validates the file against the schema and builds this view.
 * The view is immutable once built, so any thread may read it. */
#ifndef IGNIS_CONFIG_H
#define IGNIS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <ignis/selector.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ignis_opt_type {
    IGNIS_OPT_END = 0,   /* terminates a schema table */
    IGNIS_OPT_STRING,    /* "text" */
    IGNIS_OPT_INT,       /* 64-bit integer */
    IGNIS_OPT_FLOAT,     /* double (integers accepted) */
    IGNIS_OPT_BOOL,      /* true / false */
    IGNIS_OPT_DURATION,  /* Prometheus duration string "1h30m", "15s", "500ms"; read in ms */
    IGNIS_OPT_SIZE,      /* "512MB", "1GiB", or an integer byte count; read in bytes */
    IGNIS_OPT_REGEX,     /* RE2 pattern, compiled (anchored) at validation time */
    IGNIS_OPT_SECRET,    /* a string shown as "<secret>" wherever config is printed */
    IGNIS_OPT_STRINGS,   /* [ "a", "b" ] */
    IGNIS_OPT_LABELS,    /* ( { name = "a"; value = "b"; }, ... ): a label or header map */
    IGNIS_OPT_GROUP,     /* { ... } whose keys are the rows of .sub */
    IGNIS_OPT_LIST,      /* ( { ... }, { ... } ): a list of groups, each with rows .sub */
    IGNIS_OPT_ANY,       /* accepted unchecked; the plugin reads it raw (as a group tree) */
};

/* Row flags. */
#define IGNIS_OPT_REQUIRED 0x1u /* validation fails when the setting is absent */

/* One row of a schema. Tables end with a row whose name is NULL. Tables are
 * static const data in the plugin: the host borrows them for the plugin's life. */
struct ignis_option {
    const char *name;
    enum ignis_opt_type type;
    const char *def;  /* default, written as it would be in the file; NULL: none */
    const char *help; /* one line */
    const struct ignis_option *sub; /* GROUP and LIST: the rows inside */
    unsigned flags;
};

/* A validated view of one group of settings. Opaque. */
struct ignis_config;

/* Accessors. `key` names a row of this group's schema; asking for a key the schema
 * does not have is a programming error and returns the zero value. A setting absent
 * from the file reads as its schema default (or zero / NULL / empty when none). */
bool ignis_config_is_set(const struct ignis_config *c, const char *key);
const char *ignis_config_string(const struct ignis_config *c, const char *key);
int64_t ignis_config_int(const struct ignis_config *c, const char *key);
double ignis_config_float(const struct ignis_config *c, const char *key);
bool ignis_config_bool(const struct ignis_config *c, const char *key);
int64_t ignis_config_duration_ms(const struct ignis_config *c, const char *key);
uint64_t ignis_config_size(const struct ignis_config *c, const char *key);
/* Borrowed from the view. */
const struct ignis_regex *ignis_config_regex(const struct ignis_config *c, const char *key);
/* STRINGS, LABELS and LIST: number of elements. */
size_t ignis_config_count(const struct ignis_config *c, const char *key);
const char *ignis_config_string_at(const struct ignis_config *c, const char *key, size_t i);
/* LABELS element i, borrowed from the view. Returns false past the end. */
bool ignis_config_label_at(const struct ignis_config *c, const char *key, size_t i,
                           struct ignis_label *out);
/* GROUP: the nested view (an empty view of defaults when absent). LIST: element i. */
const struct ignis_config *ignis_config_group(const struct ignis_config *c, const char *key);
const struct ignis_config *ignis_config_at(const struct ignis_config *c, const char *key,
                                           size_t i);
/* The keys of a view in order: a schema's rows, or, in a schema-less view (the content
 * of an ANY row), the keys as they were set. With ignis_config_row(c, key)->type a
 * plugin can walk an ANY tree it reads raw. Borrowed from the view. */
size_t ignis_config_nkeys(const struct ignis_config *c);
const char *ignis_config_key_at(const struct ignis_config *c, size_t i);
/* "file:line" of a setting (or of the group when key is NULL), for the plugin's own
 * error messages; "" when unknown. Borrowed from the view. */
const char *ignis_config_where(const struct ignis_config *c, const char *key);

/* ---- Building a view (hosts and tests; plugins only read) ----------------------- */

/* A fresh empty view over schema rows (borrowed). Caller frees the root with
 * ignis_config_free; nested views belong to their parent. */
struct ignis_config *ignis_config_new(const struct ignis_option *schema, const char *where);
void ignis_config_free(struct ignis_config *c);
/* Setters copy their arguments. They check the value against the row's type and
 * return 0, or -1 with a message in err ("bad duration \"1x\"", ...). */
int ignis_config_set(struct ignis_config *c, const char *key, const char *text,
                     const char *where, char *err, size_t errlen);
int ignis_config_set_bool(struct ignis_config *c, const char *key, bool v, const char *where);
int ignis_config_set_int(struct ignis_config *c, const char *key, int64_t v, const char *where);
int ignis_config_set_float(struct ignis_config *c, const char *key, double v,
                           const char *where);
int ignis_config_add_string(struct ignis_config *c, const char *key, const char *v,
                            const char *where);
int ignis_config_add_label(struct ignis_config *c, const char *key, const char *name,
                           const char *value, const char *where);
/* GROUP (and ANY): returns the nested view (created on first call); LIST: appends an
 * element. In a schema-less view (an ANY row's content) any key is accepted: each setter
 * gives a new key its type (set: STRING, set_int: INT, add_string: STRINGS, add_group:
 * GROUP, ...), and a group created there is schema-less too. */
struct ignis_config *ignis_config_add_group(struct ignis_config *c, const char *key,
                                            const char *where);
/* LIST: appends an element, as ignis_config_add_group does. In a schema-less view it
 * makes key a list of schema-less groups (on first call) and appends one. */
struct ignis_config *ignis_config_add_list_group(struct ignis_config *c, const char *key,
                                                 const char *where);
/* The schema row for key in c's table, or NULL. */
const struct ignis_option *ignis_config_row(const struct ignis_config *c, const char *key);
const struct ignis_option *ignis_config_schema(const struct ignis_config *c);

/* Value parsers shared by the host, the API and plugins. */
/* Prometheus durations: "1y2w3d4h5m6s7ms", units y w d h m s ms, each at most once and
 * in that order; a bare "0" is allowed. Returns 0 and stores milliseconds, or -1. */
int ignis_parse_duration(const char *s, size_t len, int64_t *ms);
/* Writes a duration as Prometheus prints it ("1h30m", "15s", "0s"). Returns length. */
size_t ignis_format_duration(int64_t ms, char *buf, size_t buflen);
/* Sizes: "512MB", "1GiB", "100KB", "42B" (KB/MB/GB/TB/PB/EB are powers of 1024 as in
 * Prometheus' units.Base2Bytes), or a plain integer of bytes. */
int ignis_parse_size(const char *s, size_t len, uint64_t *bytes);

#ifdef __cplusplus
}
#endif
#endif
