/* tests/unit/core/test_relabel.c — relabeling (core/relabel.c), table-driven. Expected
 * results are Prometheus' documented behaviour of <relabel_config>; where the docs are
 * silent (hashmod values, templated targets, empty replacements, Unicode case mapping)
 * they are what a real Prometheus 2.42 reported in /api/v1/targets for the same labels
 * and rules (file SD targets, read back as `labels`). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ignis/config.h>
#include <ignis/plugin.h>

#include "core/relabel.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAXL     24
#define MAXR     6

/* source_labels from a list of names */
#define SRC(...)                                                                                   \
    .source_labels = (const char *const[]){__VA_ARGS__},                                           \
    .nsource_labels = sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)

struct tcase {
    const char *name;
    enum ig_relabel_names names;
    struct ig_relabel_spec rules[MAXR];
    size_t nrules;
    const char *in[2 * MAXL + 1];   /* name, value, ..., NULL; sorted by name */
    const char *want[2 * MAXL + 1]; /* the same, or ignored when drop */
    bool drop;
};

static size_t to_labels(const char *const *kv, struct ignis_label *ls)
{
    size_t n = 0;
    for (; kv[2 * n]; n++)
        ls[n] = ignis_label_make(kv[2 * n], kv[2 * n + 1]);
    assert_int_equal(ignis_labels_sort(ls, n), 0);
    return n;
}

static int name_cmp(const struct ignis_label *a, const struct ignis_label *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static void print_labels(char *buf, size_t len, const struct ignis_label *ls, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%.*s=\"%.*s\"", i ? "," : "",
                              (int)ls[i].name_len, ls[i].name, (int)ls[i].value_len, ls[i].value);
}

static void run_cases(const struct tcase *cases, size_t ncases)
{
    struct ig_relabel_buf b;
    ig_relabel_buf_init(&b, 0);
    for (size_t i = 0; i < ncases; i++) {
        const struct tcase *c = &cases[i];
        char err[512] = "";
        struct ig_relabel *r = ig_relabel_new(c->rules, c->nrules, c->names, err, sizeof err);
        if (!r)
            fail_msg("%s: compile: %s", c->name, err);
        assert_int_equal(ig_relabel_len(r), c->nrules);
        struct ignis_label in[MAXL], want[MAXL];
        size_t nin = to_labels(c->in, in);
        const struct ignis_label *out = NULL;
        size_t nout = 0;
        int rc = ig_relabel_apply(r, in, nin, &b, &out, &nout);
        if (c->drop) {
            if (rc != IG_RELABEL_DROPPED)
                fail_msg("%s: kept, want dropped (rc %d)", c->name, rc);
        } else {
            if (rc != IG_RELABEL_KEPT)
                fail_msg("%s: rc %d, want kept", c->name, rc);
            size_t nwant = to_labels(c->want, want);
            if (ignis_labels_cmp(out, nout, want, nwant) != 0) {
                char g[2048], w[2048];
                print_labels(g, sizeof g, out, nout);
                print_labels(w, sizeof w, want, nwant);
                fail_msg("%s:\n got  {%s}\n want {%s}", c->name, g, w);
            }
            /* the result is a proper label set: sorted, names unique, no empty value */
            for (size_t k = 0; k < nout; k++) {
                assert_true(out[k].value_len > 0);
                if (k)
                    assert_true(name_cmp(&out[k - 1], &out[k]) < 0);
            }
        }
        ig_relabel_free(r);
    }
    ig_relabel_buf_clear(&b);
}

/* The label sets Prometheus 2.42 was given (file SD groups), before relabeling. */
#define TARGET_A                                                                                   \
    "__address__", "a.example:9100", "__meta_env",                                                 \
        "Prod-Stra\xc3\x9f"                                                                        \
        "e",                                                                                       \
        "__meta_kv", "team=ops", "job", "j", "mixed", "AbC", "zone", "eu1"
#define TARGET_C                                                                                   \
    "__address__", "c.example:9100", "__meta_env", "dev", "__meta_kv", "1bad=x", "copy",           \
        "c.example:9100", "job", "j", "zone", "eu1"

static void test_replace(void **state)
{
    (void)state;
    const struct tcase cases[] = {
        {.name = "defaults copy a source label",
         .rules = {{.action = IG_RELABEL_REPLACE, SRC("zone"), .target_label = "region"}},
         .nrules = 1,
         .in = {"zone", "eu1", NULL},
         .want = {"region", "eu1", "zone", "eu1", NULL}},
        {.name = "target label templated from groups",
         .rules = {{SRC("__meta_kv"), .regex = "(.+)=(.+)", .target_label = "${1}",
                    .replacement = "$2"},
                   {SRC("__meta_kv"), .regex = "(.+)=(.+)", .target_label = "x_$1",
                    .replacement = "${2}y"}},
         .nrules = 2,
         .in = {TARGET_A, NULL},
         .want = {TARGET_A, "team", "ops", "x_team", "opsy", NULL}},
        {.name = "templated target that is not a legacy name skips the rule",
         .rules = {{SRC("__meta_kv"), .regex = "(.+)=(.+)", .target_label = "${1}",
                    .replacement = "$2"},
                   {SRC("__meta_kv"), .regex = "(.+)=(.+)", .target_label = "x_$1",
                    .replacement = "${2}y"}},
         .nrules = 2,
         .in = {TARGET_C, NULL},
         .want = {TARGET_C, "x_1bad", "xy", NULL}},
        {.name = "utf-8 names: the same target is allowed",
         .names = IG_RELABEL_NAMES_UTF8,
         .rules = {{SRC("__meta_kv"), .regex = "(.+)=(.+)", .target_label = "${1}",
                    .replacement = "$2"}},
         .nrules = 1,
         .in = {TARGET_C, NULL},
         .want = {TARGET_C, "1bad", "x", NULL}},
        {.name = "$1x names group 1x, which is absent: empty target skips",
         .rules = {{SRC("__meta_kv"), .regex = "(.+)=(.+)", .target_label = "$1x",
                    .replacement = "[$1x]"}},
         .nrules = 1,
         .in = {TARGET_A, NULL},
         .want = {TARGET_A, NULL}},
        {.name = "empty replacement deletes the target label",
         .rules = {{SRC("zone"), .target_label = "zone", .replacement = ""}},
         .nrules = 1,
         .in = {TARGET_A, NULL},
         .want = {"__address__", "a.example:9100", "__meta_env",
                  "Prod-Stra\xc3\x9f"
                  "e",
                  "__meta_kv", "team=ops", "job", "j", "mixed", "AbC", NULL}},
        {.name = "replacement expanding to empty deletes too",
         .rules = {{SRC("mixed"), .regex = "(x?)AbC", .target_label = "mixed"}},
         .nrules = 1,
         .in = {"mixed", "AbC", "z", "1", NULL},
         .want = {"z", "1", NULL}},
        {.name = "missing source labels join as empty strings",
         .rules = {{SRC("mixed", "nosuch", "mixed"), .target_label = "joined"}},
         .nrules = 1,
         .in = {TARGET_A, NULL},
         .want = {TARGET_A, "joined", "AbC;;AbC", NULL}},
        {.name = "all sources missing: empty value, target not created",
         .rules = {{SRC("nosuch", "other"), .separator = "", .target_label = "joined"}},
         .nrules = 1,
         .in = {"a", "1", NULL},
         .want = {"a", "1", NULL}},
        {.name = "no match, no replacement",
         .rules = {{SRC("mixed"), .regex = "a(.*)", .target_label = "nomatch", .replacement = "x"}},
         .nrules = 1,
         .in = {TARGET_A, NULL},
         .want = {TARGET_A, NULL}},
        {.name = "$$ is a dollar, $0 the whole match, (?i) flags",
         .rules = {{SRC("mixed"), .regex = "(?i)a(.*)", .target_label = "ci",
                    .replacement = "$$1-$1-$0"}},
         .nrules = 1,
         .in = {TARGET_A, NULL},
         .want = {TARGET_A, "ci", "$1-bC-AbC", NULL}},
        {.name = "named groups",
         .rules = {{SRC("__address__"), .regex = "(?P<host>[^:]+):(?P<port>\\d+)",
                    .target_label = "hp", .replacement = "${port}@${host}"}},
         .nrules = 1,
         .in = {"__address__", "h:80", NULL},
         .want = {"__address__", "h:80", "hp", "80@h", NULL}},
        {.name = "separator",
         .rules = {{SRC("a", "b"), .separator = "::", .target_label = "c"}},
         .nrules = 1,
         .in = {"a", "1", "b", "2", NULL},
         .want = {"a", "1", "b", "2", "c", "1::2", NULL}},
        {.name = "regex is anchored at both ends",
         .rules = {{SRC("a"), .regex = "b", .target_label = "hit", .replacement = "y"},
                   {SRC("a"), .regex = ".*b.*", .target_label = "hit2", .replacement = "y"}},
         .nrules = 2,
         .in = {"a", "abc", NULL},
         .want = {"a", "abc", "hit2", "y", NULL}},
        {.name = "dot matches a newline",
         .rules = {{SRC("a"), .regex = "x.y", .target_label = "hit", .replacement = "1"}},
         .nrules = 1,
         .in = {"a", "x\ny", NULL},
         .want = {"a", "x\ny", "hit", "1", NULL}},
        {.name = "literal replacement without source labels sets a constant",
         .rules = {{.target_label = "__address__", .replacement = "blackbox:9115"}},
         .nrules = 1,
         .in = {"__address__", "example.com", NULL},
         .want = {"__address__", "blackbox:9115", NULL}},
        {.name = "blackbox exporter pattern: __param_target and instance",
         .rules = {{SRC("__address__"), .target_label = "__param_target"},
                   {SRC("__param_target"), .target_label = "instance"},
                   {.target_label = "__address__", .replacement = "127.0.0.1:9115"}},
         .nrules = 3,
         .in = {"__address__", "https://example.com", "job", "blackbox", NULL},
         .want = {"__address__", "127.0.0.1:9115", "__param_target", "https://example.com",
                  "instance", "https://example.com", "job", "blackbox", NULL}},
        {.name = "port rewrite on __address__",
         .rules = {{SRC("__address__"), .regex = "([^:]+)(?::\\d+)?", .target_label = "__address__",
                    .replacement = "${1}:9100"}},
         .nrules = 1,
         .in = {"__address__", "10.0.0.1:80", NULL},
         .want = {"__address__", "10.0.0.1:9100", NULL}},
        {.name = "__tmp_ labels are plain labels for later rules",
         .rules = {{SRC("__meta_env"), .regex = "(.*)-.*", .target_label = "__tmp_env"},
                   {SRC("__tmp_env"), .target_label = "env"}},
         .nrules = 2,
         .in = {"__meta_env", "prod-1", NULL},
         .want = {"__meta_env", "prod-1", "__tmp_env", "prod", "env", "prod", NULL}},
        {.name = "rules see what earlier rules wrote",
         .rules = {{SRC("a"), .target_label = "b"},
                   {SRC("b"), .regex = "(.)(.)", .target_label = "c", .replacement = "$2$1"}},
         .nrules = 2,
         .in = {"a", "xy", NULL},
         .want = {"a", "xy", "b", "xy", "c", "yx", NULL}},
        {.name = "invalid UTF-8 value through the identity path keeps its bytes",
         .rules = {{SRC("a"), .target_label = "b"}},
         .nrules = 1,
         .in = {"a", "x\xffy", NULL},
         .want = {"a", "x\xffy", "b", "x\xffy", NULL}},
    };
    run_cases(cases, COUNT(cases));
}

static void test_keep_drop(void **state)
{
    (void)state;
    const struct tcase cases[] = {
        {.name = "keep: separator and regex match",
         .rules = {{.action = IG_RELABEL_KEEP,
                    SRC("zone", "__meta_env"),
                    .separator = "/",
                    .regex = "eu1/.*e.*"}},
         .nrules = 1,
         .in = {TARGET_C, NULL},
         .want = {TARGET_C, NULL}},
        {.name = "keep: no match drops",
         .rules = {{.action = IG_RELABEL_KEEP,
                    SRC("zone", "__meta_env"),
                    .separator = "/",
                    .regex = "eu1/x.*"}},
         .nrules = 1,
         .in = {TARGET_C, NULL},
         .drop = true},
        {.name = "drop: match drops",
         .rules = {{.action = IG_RELABEL_DROP, SRC("__address__"), .regex = "c\\..*"}},
         .nrules = 1,
         .in = {TARGET_C, NULL},
         .drop = true},
        {.name = "drop: no match keeps",
         .rules = {{.action = IG_RELABEL_DROP, SRC("__address__"), .regex = "b\\..*"}},
         .nrules = 1,
         .in = {TARGET_C, NULL},
         .want = {TARGET_C, NULL}},
        {.name = "drop with the default regex drops everything",
         .rules = {{.action = IG_RELABEL_DROP, SRC("nosuch")}},
         .nrules = 1,
         .in = {"a", "1", NULL},
         .drop = true},
        {.name = "keep an empty (missing) value with regex \"\"",
         .rules = {{.action = IG_RELABEL_KEEP, SRC("nosuch"), .regex = ""}},
         .nrules = 1,
         .in = {"a", "1", NULL},
         .want = {"a", "1", NULL}},
        {.name = "keep is anchored",
         .rules = {{.action = IG_RELABEL_KEEP, SRC("a"), .regex = "b"}},
         .nrules = 1,
         .in = {"a", "abc", NULL},
         .drop = true},
        {.name = "metric relabeling: drop by __name__",
         .rules = {{.action = IG_RELABEL_DROP, SRC("__name__"), .regex = "go_gc_.*|process_.*"}},
         .nrules = 1,
         .in = {"__name__", "go_gc_duration_seconds", "quantile", "0.5", NULL},
         .drop = true},
        {.name = "a drop stops later rules",
         .rules = {{.action = IG_RELABEL_DROP, SRC("a")}, {SRC("a"), .target_label = "b"}},
         .nrules = 2,
         .in = {"a", "1", NULL},
         .drop = true},
        {.name = "keepequal keeps when equal",
         .rules = {{.action = IG_RELABEL_KEEPEQUAL, SRC("__address__"), .target_label = "copy"}},
         .nrules = 1,
         .in = {TARGET_C, NULL},
         .want = {TARGET_C, NULL}},
        {.name = "keepequal drops when the target is absent",
         .rules = {{.action = IG_RELABEL_KEEPEQUAL, SRC("__address__"), .target_label = "copy"}},
         .nrules = 1,
         .in = {TARGET_A, NULL},
         .drop = true},
        {.name = "dropequal drops when equal",
         .rules = {{.action = IG_RELABEL_DROPEQUAL, SRC("__address__"), .target_label = "copy"}},
         .nrules = 1,
         .in = {TARGET_C, NULL},
         .drop = true},
        {.name = "dropequal keeps when different",
         .rules = {{.action = IG_RELABEL_DROPEQUAL, SRC("__address__"), .target_label = "copy"}},
         .nrules = 1,
         .in = {TARGET_A, NULL},
         .want = {TARGET_A, NULL}},
        {.name = "keepequal: missing source and missing target are both empty",
         .rules = {{.action = IG_RELABEL_KEEPEQUAL, SRC("nosuch"), .target_label = "none"}},
         .nrules = 1,
         .in = {"a", "1", NULL},
         .want = {"a", "1", NULL}},
    };
    run_cases(cases, COUNT(cases));
}

static void test_hashmod(void **state)
{
    (void)state;
    /* Values are what Prometheus 2.42 computed for these addresses. */
    const struct tcase cases[] = {
        {.name = "hashmod a.example",
         .rules = {{.action = IG_RELABEL_HASHMOD,
                    SRC("__address__"),
                    .modulus = 8,
                    .target_label = "h8"},
                   {.action = IG_RELABEL_HASHMOD,
                    SRC("__address__"),
                    .modulus = 1000000007,
                    .target_label = "hbig"},
                   {.action = IG_RELABEL_HASHMOD,
                    SRC("__address__"),
                    .modulus = 18446744073709551615ull,
                    .target_label = "hmax"},
                   {.action = IG_RELABEL_HASHMOD,
                    SRC("zone", "__address__"),
                    .separator = "|",
                    .modulus = 97,
                    .target_label = "h2"},
                   {.action = IG_RELABEL_HASHMOD,
                    SRC("nosuch"),
                    .modulus = 100,
                    .target_label = "hempty"}},
         .nrules = 5,
         .in = {"__address__", "a.example:9100", "zone", "eu1", NULL},
         .want = {"__address__", "a.example:9100", "zone", "eu1", "h8", "4", "hbig", "522645522",
                  "hmax", "14847166574452810812", "h2", "51", "hempty", "58", NULL}},
        {.name = "hashmod c.example",
         .rules = {{.action = IG_RELABEL_HASHMOD,
                    SRC("__address__"),
                    .modulus = 8,
                    .target_label = "h8"},
                   {.action = IG_RELABEL_HASHMOD,
                    SRC("__address__"),
                    .modulus = 1000000007,
                    .target_label = "hbig"},
                   {.action = IG_RELABEL_HASHMOD,
                    SRC("__address__"),
                    .modulus = 18446744073709551615ull,
                    .target_label = "hmax"},
                   {.action = IG_RELABEL_HASHMOD,
                    SRC("zone", "__address__"),
                    .separator = "|",
                    .modulus = 97,
                    .target_label = "h2"}},
         .nrules = 4,
         .in = {"__address__", "c.example:9100", "zone", "eu1", NULL},
         .want = {"__address__", "c.example:9100", "zone", "eu1", "h8", "3", "hbig", "666754567",
                  "hmax", "12304301538796864731", "h2", "14", NULL}},
        {.name = "hashmod of non-ASCII and of an IP",
         .rules =
             {{.action = IG_RELABEL_HASHMOD, SRC("a"), .modulus = 1000000007, .target_label = "ha"},
              {.action = IG_RELABEL_HASHMOD,
               SRC("b"),
               .modulus = 1000000007,
               .target_label = "hb"}},
         .nrules = 2,
         .in = {"a", "host-\xc3\x84\xc3\x96:1", "b", "10.0.0.1:80", NULL},
         .want = {"a", "host-\xc3\x84\xc3\x96:1", "b", "10.0.0.1:80", "ha", "433660495", "hb",
                  "971796254", NULL}},
        {.name = "sharding: keep one shard of two",
         .rules = {{.action = IG_RELABEL_HASHMOD,
                    SRC("__address__"),
                    .modulus = 2,
                    .target_label = "__tmp_hash"},
                   {.action = IG_RELABEL_KEEP, SRC("__tmp_hash"), .regex = "1"}},
         .nrules = 2,
         .in = {"__address__", "a.example:9100", NULL}, /* 4 % 2 == 0 */
         .drop = true},
    };
    run_cases(cases, COUNT(cases));
}

static void test_labelmap_drop_keep(void **state)
{
    (void)state;
    const struct tcase cases[] = {
        {.name = "labelmap __meta_ and a suffix template, then labeldrop",
         .rules = {{.action = IG_RELABEL_LABELMAP, .regex = "__meta_(.+)", .replacement = "m_$1"},
                   {.action = IG_RELABEL_LABELMAP, .regex = "z(.*)", .replacement = "${1}_z"},
                   {.action = IG_RELABEL_LABELDROP, .regex = "mix.*"}},
         .nrules = 3,
         .in = {TARGET_A, NULL},
         .want = {"__address__", "a.example:9100", "__meta_env",
                  "Prod-Stra\xc3\x9f"
                  "e",
                  "__meta_kv", "team=ops", "job", "j", "zone", "eu1", "m_env",
                  "Prod-Stra\xc3\x9f"
                  "e",
                  "m_kv", "team=ops", "one_z", "eu1", NULL}},
        {.name = "labelmap default replacement $1",
         .rules = {{.action = IG_RELABEL_LABELMAP, .regex = "__meta_kubernetes_pod_label_(.+)"}},
         .nrules = 1,
         .in = {"__meta_kubernetes_pod_label_app", "web", "__meta_kubernetes_pod_name", "p1", NULL},
         .want = {"__meta_kubernetes_pod_label_app", "web", "__meta_kubernetes_pod_name", "p1",
                  "app", "web", NULL}},
        {.name = "labelmap overwrites an existing label",
         .rules = {{.action = IG_RELABEL_LABELMAP, .regex = "__meta_(.+)"}},
         .nrules = 1,
         .in = {"__meta_zone", "new", "zone", "old", NULL},
         .want = {"__meta_zone", "new", "zone", "new", NULL}},
        {.name = "labelmap matches the set as it was before the rule",
         .rules = {{.action = IG_RELABEL_LABELMAP, .regex = "x_(.*)", .replacement = "x_x_$1"}},
         .nrules = 1,
         .in = {"x_a", "1", "x_x_a", "2", NULL},
         .want = {"x_a", "1", "x_x_a", "1", "x_x_x_a", "2", NULL}},
        {.name = "labelmap skips a name that is not valid",
         .rules = {{.action = IG_RELABEL_LABELMAP, .regex = "a(.*)", .replacement = "$1"}},
         .nrules = 1,
         .in = {"a", "1", "a9", "2", "ab", "3", NULL},
         .want = {"a", "1", "a9", "2", "ab", "3", "b", "3", NULL}},
        {.name = "labelkeep keeps only matching names (job too)",
         .rules = {{.action = IG_RELABEL_LABELKEEP, .regex = "__.*|zone"}},
         .nrules = 1,
         .in = {TARGET_A, NULL},
         .want = {"__address__", "a.example:9100", "__meta_env",
                  "Prod-Stra\xc3\x9f"
                  "e",
                  "__meta_kv", "team=ops", "zone", "eu1", NULL}},
        {.name = "labeldrop is anchored",
         .rules = {{.action = IG_RELABEL_LABELDROP, .regex = "a"}},
         .nrules = 1,
         .in = {"a", "1", "ab", "2", "ba", "3", NULL},
         .want = {"ab", "2", "ba", "3", NULL}},
        {.name = "labeldrop everything",
         .rules = {{.action = IG_RELABEL_LABELDROP, .regex = ".*"}},
         .nrules = 1,
         .in = {"a", "1", "b", "2", NULL},
         .want = {NULL}},
    };
    run_cases(cases, COUNT(cases));
}

static void test_case_mapping(void **state)
{
    (void)state;
    const struct tcase cases[] = {
        {.name = "lowercase and uppercase of joined values, Unicode as Go maps it",
         .rules = {{.action = IG_RELABEL_LOWERCASE,
                    SRC("__meta_env", "__address__"),
                    .target_label = "lower"},
                   {.action = IG_RELABEL_UPPERCASE,
                    SRC("__meta_env", "__address__"),
                    .target_label = "upper"}},
         .nrules = 2,
         .in = {"__address__", "host-\xc3\x84\xc3\x96:1", "__meta_env",
                "Prod-Stra\xc3\x9f"
                "e",
                NULL},
         .want = {"__address__", "host-\xc3\x84\xc3\x96:1", "__meta_env",
                  "Prod-Stra\xc3\x9f"
                  "e",
                  "lower",
                  "prod-stra\xc3\x9f"
                  "e;host-\xc3\xa4\xc3\xb6:1", /* ß stays, Ä→ä */
                  "upper",
                  "PROD-STRA\xc3\x9f"
                  "E;HOST-\xc3\x84\xc3\x96:1",
                  NULL}},
        {.name = "ASCII only",
         .rules = {{.action = IG_RELABEL_UPPERCASE, SRC("a"), .target_label = "a"}},
         .nrules = 1,
         .in = {"a", "dev;c.example:9100", NULL},
         .want = {"a", "DEV;C.EXAMPLE:9100", NULL}},
        {.name = "lowercase of a missing label deletes the target",
         .rules = {{.action = IG_RELABEL_LOWERCASE, SRC("nosuch"), .target_label = "mixed"}},
         .nrules = 1,
         .in = {"mixed", "AbC", "z", "1", NULL},
         .want = {"z", "1", NULL}},
        {.name = "code points whose partner has another length (simple mappings)",
         .rules = {{.action = IG_RELABEL_LOWERCASE, SRC("a"), .target_label = "lo"},
                   {.action = IG_RELABEL_UPPERCASE, SRC("b"), .target_label = "up"}},
         .nrules = 2,
         /* U+023A Ⱥ → U+2C65 ⱥ (2 → 3 bytes), U+212A KELVIN SIGN → k, U+0130 İ → i;
          * U+0131 ı → I, U+1C5 ǅ → Ǆ, U+10428 → U+10400 */
         .in = {"a", "\xc8\xba\xe2\x84\xaa\xc4\xb0", "b", "\xc4\xb1\xc7\x85\xf0\x90\x90\xa8", NULL},
         .want = {"a", "\xc8\xba\xe2\x84\xaa\xc4\xb0", "b", "\xc4\xb1\xc7\x85\xf0\x90\x90\xa8",
                  "lo", "\xe2\xb1\xa5ki", "up", "I\xc7\x84\xf0\x90\x90\x80", NULL}},
    };
    run_cases(cases, COUNT(cases));
}

static void test_case_mapping_bad_utf8(void **state)
{
    (void)state;
    /* Go's strings.ToLower maps a byte that is not UTF-8 to U+FFFD when the string is
     * not all ASCII; the result is valid UTF-8 either way. */
    struct ig_relabel_spec s = {.action = IG_RELABEL_LOWERCASE, SRC("a"), .target_label = "b"};
    char err[256];
    struct ig_relabel *r = ig_relabel_new(&s, 1, IG_RELABEL_NAMES_LEGACY, err, sizeof err);
    assert_non_null(r);
    struct ig_relabel_buf b;
    ig_relabel_buf_init(&b, 0);
    struct ignis_label in[] = {ignis_label_make("a", "A\xff\xc3\x84")};
    const struct ignis_label *out;
    size_t n;
    assert_int_equal(ig_relabel_apply(r, in, 1, &b, &out, &n), IG_RELABEL_KEPT);
    assert_int_equal(n, 2);
    assert_int_equal(out[1].value_len, 6);
    assert_memory_equal(out[1].value, "a\xef\xbf\xbd\xc3\xa4", 6);
    ig_relabel_buf_clear(&b);
    ig_relabel_free(r);
}

static void test_compile_errors(void **state)
{
    (void)state;
    const struct {
        struct ig_relabel_spec s;
        enum ig_relabel_names names;
        const char *want;
    } cases[] = {
        {{.action = IG_RELABEL_HASHMOD, SRC("a"), .target_label = "t"},
         0,
         "hashmod requires non-zero modulus"},
        {{.action = IG_RELABEL_REPLACE, SRC("a")},
         0,
         "replace action requires 'target_label' value"},
        {{.action = IG_RELABEL_LOWERCASE, SRC("a")},
         0,
         "lowercase action requires 'target_label' value"},
        {{.action = IG_RELABEL_KEEPEQUAL, SRC("a")},
         0,
         "keepequal action requires 'target_label' value"},
        {{.action = IG_RELABEL_REPLACE, .target_label = "1abc"},
         0,
         "\"1abc\" is invalid 'target_label' for replace action"},
        {{.action = IG_RELABEL_REPLACE, .target_label = "a-b"}, 0, "invalid 'target_label'"},
        {{.action = IG_RELABEL_REPLACE, .target_label = "a$"}, 0, "invalid 'target_label'"},
        {{.action = IG_RELABEL_REPLACE, .target_label = "${a"}, 0, "invalid 'target_label'"},
        {{.action = IG_RELABEL_UPPERCASE, SRC("a"), .target_label = "${1}"},
         0,
         "\"${1}\" is invalid 'target_label' for uppercase action"},
        {{.action = IG_RELABEL_HASHMOD, SRC("a"), .modulus = 2, .target_label = "$1"},
         0,
         "invalid 'target_label' for hashmod"},
        {{.action = IG_RELABEL_LABELMAP, .replacement = "a-$1"},
         0,
         "\"a-$1\" is invalid 'replacement' for labelmap action"},
        {{.action = IG_RELABEL_LABELDROP, SRC("a")},
         0,
         "labeldrop action requires only 'regex', and no other fields"},
        {{.action = IG_RELABEL_LABELKEEP, .target_label = "x"},
         0,
         "labelkeep action requires only 'regex'"},
        {{.action = IG_RELABEL_LABELKEEP, .separator = ","},
         0,
         "labelkeep action requires only 'regex'"},
        {{.action = IG_RELABEL_LABELDROP, .replacement = "x"},
         0,
         "labeldrop action requires only 'regex'"},
        {{.action = IG_RELABEL_KEEPEQUAL, SRC("a"), .target_label = "b", .regex = "x"},
         0,
         "keepequal action requires only 'source_labels' and `target_label`"},
        {{.action = IG_RELABEL_DROPEQUAL, SRC("a"), .target_label = "b", .modulus = 3},
         0,
         "dropequal action requires only 'source_labels'"},
        {{.action = IG_RELABEL_KEEP, SRC("a"), .regex = "("}, 0, "invalid regex \"(\""},
        {{.action = IG_RELABEL_KEEP, SRC("a-b")}, 0, "a-b is not a valid label name"},
        {{.action = (enum ig_relabel_action)99}, 0, "unknown relabel action"},
        {{.action = IG_RELABEL_REPLACE, .target_label = ""},
         IG_RELABEL_NAMES_UTF8,
         "requires 'target_label'"},
        {{.action = IG_RELABEL_REPLACE, .target_label = "\xff"},
         IG_RELABEL_NAMES_UTF8,
         "invalid 'target_label'"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char err[512] = "";
        struct ig_relabel *r = ig_relabel_new(&cases[i].s, 1, cases[i].names, err, sizeof err);
        if (r)
            fail_msg("case %zu: compiled, want error \"%s\"", i, cases[i].want);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: error \"%s\", want \"%s\"", i, err, cases[i].want);
        assert_non_null(strstr(err, "rule 1: "));
    }
    /* and what the UTF-8 scheme accepts */
    struct ig_relabel_spec ok[] = {
        {.action = IG_RELABEL_KEEP, SRC("a-b", "k8s.io/app")},
        {.action = IG_RELABEL_REPLACE, .target_label = "a.b"},
        {.action = IG_RELABEL_LOWERCASE, SRC("x"), .target_label = "\xc3\xa9t\xc3\xa9"},
    };
    char err[512];
    struct ig_relabel *r = ig_relabel_new(ok, COUNT(ok), IG_RELABEL_NAMES_UTF8, err, sizeof err);
    if (!r)
        fail_msg("utf8: %s", err);
    assert_int_equal(ig_relabel_len(r), 3);
    ig_relabel_free(r);
    /* the error names the rule */
    struct ig_relabel_spec two[] = {{.action = IG_RELABEL_KEEP, SRC("a")},
                                    {.action = IG_RELABEL_HASHMOD, .target_label = "t"}};
    assert_null(ig_relabel_new(two, 2, IG_RELABEL_NAMES_LEGACY, err, sizeof err));
    assert_non_null(strstr(err, "rule 2: "));
}

static void test_actions_by_name(void **state)
{
    (void)state;
    const char *names[] = {"replace",   "keep",      "drop",     "keepequal",
                           "dropequal", "hashmod",   "labelmap", "labeldrop",
                           "labelkeep", "lowercase", "uppercase"};
    for (size_t i = 0; i < COUNT(names); i++) {
        enum ig_relabel_action a;
        assert_int_equal(ig_relabel_action_parse(names[i], &a), 0);
        assert_string_equal(ig_relabel_action_name(a), names[i]);
    }
    enum ig_relabel_action a;
    assert_int_equal(ig_relabel_action_parse("Replace", &a), -1);
    assert_int_equal(ig_relabel_action_parse("", &a), -1);
    assert_null(ig_relabel_action_name((enum ig_relabel_action)42));
}

/* The relabel_configs element schema as the core's config declares it. */
static const struct ignis_option rule_rows[] = {
    {"source_labels", IGNIS_OPT_STRINGS, NULL, "labels joined", NULL, 0},
    {"separator", IGNIS_OPT_STRING, ";", "joins source values", NULL, 0},
    {"regex", IGNIS_OPT_REGEX, "(.*)", "matched against the joined value", NULL, 0},
    {"modulus", IGNIS_OPT_INT, NULL, "hashmod modulus", NULL, 0},
    {"target_label", IGNIS_OPT_STRING, NULL, "label written", NULL, 0},
    {"replacement", IGNIS_OPT_STRING, "$1", "value written", NULL, 0},
    {"action", IGNIS_OPT_STRING, "replace", "what to do", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};
static const struct ignis_option scrape_rows[] = {
    {"relabel_configs", IGNIS_OPT_LIST, NULL, "target relabeling", rule_rows, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static void test_from_config(void **state)
{
    (void)state;
    char err[512];
    struct ignis_config *c = ignis_config_new(scrape_rows, "t.conf:1");
    assert_non_null(c);
    /* absent list: no rules */
    struct ig_relabel *r =
        ig_relabel_from_config(c, "relabel_configs", IG_RELABEL_NAMES_LEGACY, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(ig_relabel_len(r), 0);
    ig_relabel_free(r);

    struct ignis_config *e = ignis_config_add_list_group(c, "relabel_configs", "t.conf:2");
    assert_int_equal(ignis_config_add_string(e, "source_labels", "__meta_kv", "t.conf:3"), 0);
    assert_int_equal(ignis_config_set(e, "regex", "(.+)=(.+)", "t.conf:4", err, sizeof err), 0);
    assert_int_equal(ignis_config_set(e, "target_label", "${1}", "t.conf:5", err, sizeof err), 0);
    assert_int_equal(ignis_config_set(e, "replacement", "$2", "t.conf:6", err, sizeof err), 0);
    e = ignis_config_add_list_group(c, "relabel_configs", "t.conf:7");
    assert_int_equal(ignis_config_add_string(e, "source_labels", "__address__", "t.conf:8"), 0);
    assert_int_equal(ignis_config_set_int(e, "modulus", 8, "t.conf:9"), 0);
    assert_int_equal(ignis_config_set(e, "target_label", "h", "t.conf:10", err, sizeof err), 0);
    assert_int_equal(ignis_config_set(e, "action", "hashmod", "t.conf:11", err, sizeof err), 0);
    e = ignis_config_add_list_group(c, "relabel_configs", "t.conf:12");
    assert_int_equal(ignis_config_add_string(e, "source_labels", "zone", "t.conf:13"), 0);
    assert_int_equal(ignis_config_add_string(e, "source_labels", "h", "t.conf:13"), 0);
    assert_int_equal(ignis_config_set(e, "target_label", "zh", "t.conf:14", err, sizeof err), 0);
    assert_int_equal(ignis_config_set(e, "separator", "/", "t.conf:15", err, sizeof err), 0);

    r = ig_relabel_from_config(c, "relabel_configs", IG_RELABEL_NAMES_LEGACY, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(ig_relabel_len(r), 3);
    struct ignis_label in[8];
    const char *kv[] = {TARGET_A, NULL};
    size_t n = to_labels(kv, in);
    struct ig_relabel_buf b;
    ig_relabel_buf_init(&b, 0);
    const struct ignis_label *out;
    size_t nout;
    assert_int_equal(ig_relabel_apply(r, in, n, &b, &out, &nout), IG_RELABEL_KEPT);
    const char *wkv[] = {TARGET_A, "team", "ops", "h", "4", "zh", "eu1/4", NULL};
    struct ignis_label want[12];
    size_t nw = to_labels(wkv, want);
    assert_int_equal(ignis_labels_cmp(out, nout, want, nw), 0);
    ig_relabel_free(r);

    /* a bad rule: the message carries the rule's file:line */
    e = ignis_config_add_list_group(c, "relabel_configs", "t.conf:20");
    assert_int_equal(ignis_config_set(e, "action", "hashmod", "t.conf:21", err, sizeof err), 0);
    assert_int_equal(ignis_config_set(e, "target_label", "x", "t.conf:22", err, sizeof err), 0);
    assert_null(
        ig_relabel_from_config(c, "relabel_configs", IG_RELABEL_NAMES_LEGACY, err, sizeof err));
    assert_non_null(strstr(err, "t.conf:20: "));
    assert_non_null(strstr(err, "requires non-zero modulus"));
    ignis_config_free(c);

    /* an unknown action names the action's line */
    c = ignis_config_new(scrape_rows, "t.conf:1");
    e = ignis_config_add_list_group(c, "relabel_configs", "t.conf:30");
    assert_int_equal(ignis_config_set(e, "action", "Keep", "t.conf:31", err, sizeof err), 0);
    assert_null(
        ig_relabel_from_config(c, "relabel_configs", IG_RELABEL_NAMES_LEGACY, err, sizeof err));
    assert_string_equal(err, "t.conf:31: unknown relabel action \"Keep\"");
    ignis_config_free(c);
    ig_relabel_buf_clear(&b);
}

/* After the first call, applying the same rules to same-sized sets allocates nothing:
 * the buffer's footprint stays where the first call left it. */
static void test_buffer_steady_state(void **state)
{
    (void)state;
    struct ig_relabel_spec rules[] = {
        {.action = IG_RELABEL_LABELMAP, .regex = "__meta_(.+)"},
        {.action = IG_RELABEL_REPLACE,
         SRC("__address__"),
         .regex = "([^:]+):.*",
         .target_label = "host",
         .replacement = "h-$1"},
        {.action = IG_RELABEL_HASHMOD,
         SRC("__address__"),
         .modulus = 16,
         .target_label = "__tmp_shard"},
        {.action = IG_RELABEL_UPPERCASE, SRC("env", "host"), .target_label = "tag"},
        {.action = IG_RELABEL_LABELDROP, .regex = "__meta_.*"},
    };
    char err[256];
    struct ig_relabel *r = ig_relabel_new(rules, COUNT(rules), 0, err, sizeof err);
    assert_non_null(r);
    struct ig_relabel_buf b;
    ig_relabel_buf_init(&b, 0);
    char addr[64];
    size_t first = 0;
    for (int i = 0; i < 500; i++) {
        snprintf(addr, sizeof addr, "host%03d.example:9100", i % 1000);
        struct ignis_label in[] = {ignis_label_make("__address__", addr),
                                   ignis_label_make("__meta_env", "prod"),
                                   ignis_label_make("__meta_rack", "r1")};
        const struct ignis_label *out;
        size_t n;
        assert_int_equal(ig_relabel_apply(r, in, 3, &b, &out, &n), IG_RELABEL_KEPT);
        /* __address__ env host rack tag __tmp_shard */
        assert_int_equal(n, 6);
        if (i == 0)
            first = b.bytes;
        else
            assert_int_equal(b.bytes, first);
    }
    assert_true(first > 0);
    ig_relabel_buf_clear(&b);
    ig_relabel_free(r);
}

static void test_buffer_bound(void **state)
{
    (void)state;
    struct ig_relabel_spec s = {
        .action = IG_RELABEL_REPLACE, SRC("a", "a", "a"), .target_label = "b"};
    char err[256];
    struct ig_relabel *r = ig_relabel_new(&s, 1, 0, err, sizeof err);
    assert_non_null(r);
    size_t big = 64 * 1024;
    char *v = malloc(big + 1);
    assert_non_null(v);
    memset(v, 'x', big);
    v[big] = '\0';
    struct ignis_label in[] = {ignis_label_make("a", v)};
    const struct ignis_label *out;
    size_t n;
    struct ig_relabel_buf b;
    ig_relabel_buf_init(&b, 128 * 1024); /* a joined value of 3 × 64 KiB does not fit */
    assert_int_equal(ig_relabel_apply(r, in, 1, &b, &out, &n), IGNIS_E_LIMIT);
    assert_true(b.bytes <= 128 * 1024);
    /* the buffer still works for what fits */
    struct ignis_label small[] = {ignis_label_make("a", "y")};
    assert_int_equal(ig_relabel_apply(r, small, 1, &b, &out, &n), IG_RELABEL_KEPT);
    assert_int_equal(n, 2);
    assert_memory_equal(out[1].value, "y;y;y", 5);
    ig_relabel_buf_clear(&b);
    /* a large enough buffer takes it */
    ig_relabel_buf_init(&b, 0);
    assert_int_equal(ig_relabel_apply(r, in, 1, &b, &out, &n), IG_RELABEL_KEPT);
    assert_int_equal(out[1].value_len, 3 * big + 2);
    ig_relabel_buf_clear(&b);
    free(v);
    ig_relabel_free(r);
}

static void test_no_rules_and_many_labels(void **state)
{
    (void)state;
    struct ig_relabel_buf b;
    ig_relabel_buf_init(&b, 0);
    struct ignis_label in[] = {ignis_label_make("a", "1")};
    const struct ignis_label *out;
    size_t n;
    assert_int_equal(ig_relabel_apply(NULL, in, 1, &b, &out, &n), IG_RELABEL_KEPT);
    assert_ptr_equal(out, in);
    assert_int_equal(n, 1);

    /* labelmap doubling a set past the working array's first capacity */
    struct ig_relabel_spec s = {
        .action = IG_RELABEL_LABELMAP, .regex = "l(.*)", .replacement = "m$1"};
    char err[256];
    struct ig_relabel *r = ig_relabel_new(&s, 1, 0, err, sizeof err);
    assert_non_null(r);
    enum { N = 100 };
    static char names[N][8];
    struct ignis_label many[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "l%03d", i);
        many[i] = ignis_label_make(names[i], names[i]);
    }
    assert_int_equal(ig_relabel_apply(r, many, N, &b, &out, &n), IG_RELABEL_KEPT);
    assert_int_equal(n, 2 * N);
    for (int i = 0; i < N; i++) {
        assert_memory_equal(out[i].name, names[i], 4);
        assert_memory_equal(out[N + i].name, "m", 1);
        assert_memory_equal(out[N + i].name + 1, names[i] + 1, 3);
        assert_memory_equal(out[N + i].value, names[i], 4);
    }
    ig_relabel_free(r);
    ig_relabel_buf_clear(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace),        cmocka_unit_test(test_keep_drop),
        cmocka_unit_test(test_hashmod),        cmocka_unit_test(test_labelmap_drop_keep),
        cmocka_unit_test(test_case_mapping),   cmocka_unit_test(test_case_mapping_bad_utf8),
        cmocka_unit_test(test_compile_errors), cmocka_unit_test(test_actions_by_name),
        cmocka_unit_test(test_from_config),    cmocka_unit_test(test_buffer_steady_state),
        cmocka_unit_test(test_buffer_bound),   cmocka_unit_test(test_no_rules_and_many_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
