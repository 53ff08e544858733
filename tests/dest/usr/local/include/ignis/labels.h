/* ignis/labels.h — label pairs and label sets as they cross the plugin ABI.
 * A label set is an array of pairs sorted by name, names unique; strings are
 * borrowed (pointer, length) pairs, UTF-8, not NUL-terminated. */
#ifndef IGNIS_LABELS_H
#define IGNIS_LABELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One label. Both strings are borrowed from whoever hands the pair over, for as
 * long as that hand-over says (usually: until the call returns). */
struct ignis_label {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* The metric name label. */
#define IGNIS_METRIC_NAME "__name__"

/* Builds a pair from NUL-terminated strings (borrowed). */
struct ignis_label ignis_label_make(const char *name, const char *value);

/* Compares two label sets (sorted) as Prometheus orders them: pair by pair,
 * name then value, bytewise; a shorter prefix sorts first. */
int ignis_labels_cmp(const struct ignis_label *a, size_t na, const struct ignis_label *b,
                     size_t nb);

/* Sorts n pairs by name in place. Returns 0, or -1 when two names are equal. */
int ignis_labels_sort(struct ignis_label *ls, size_t n);

/* Finds a label by name in a sorted set; NULL when absent. */
const struct ignis_label *ignis_labels_get(const struct ignis_label *ls, size_t n,
                                           const char *name, size_t name_len);

/* 64-bit hash of a sorted label set (stable across runs and processes). */
uint64_t ignis_labels_hash(const struct ignis_label *ls, size_t n);

/* True when s is a legacy metric name [a-zA-Z_:][a-zA-Z0-9_:]*. */
bool ignis_is_legacy_metric_name(const char *s, size_t len);
/* True when s is a legacy label name [a-zA-Z_][a-zA-Z0-9_]*. */
bool ignis_is_legacy_label_name(const char *s, size_t len);
/* True when s is valid UTF-8 (and so a valid Prometheus 3 name or value). */
bool ignis_utf8_valid(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
