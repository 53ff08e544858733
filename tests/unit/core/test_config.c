/* tests/unit/core/test_config.c — the config reader (core/config.c): valid files read
 * back with their defaults and overrides, plugin subtrees placed and named, and every
 * kind of mistake reported with its exact "file:line: path: message", all at once.
 * The plugins are fakes: a callback answers with made-up kinds and schemas. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"

#define CONFIGS IG_TEST_SRCDIR "/tests/unit/core/configs/"

/* ---- fake plugins -------------------------------------------------------------- */

static const struct ignis_option mem_rows[] = {
    {"retention", IGNIS_OPT_DURATION, "2h", "how long samples are kept", NULL, 0},
    {0},
};
static const struct ignis_option tsdb_blocks[] = {
    {"min_duration", IGNIS_OPT_DURATION, "2h", "shortest block", NULL, 0},
    {0},
};
static const struct ignis_option tsdb_rows[] = {
    {"path", IGNIS_OPT_STRING, NULL, "data directory", NULL, IGNIS_OPT_REQUIRED},
    {"retention_time", IGNIS_OPT_DURATION, "15d", "age of the oldest block", NULL, 0},
    {"retention_size", IGNIS_OPT_SIZE, "0", "most bytes kept", NULL, 0},
    {"blocks", IGNIS_OPT_GROUP, NULL, "block layout", tsdb_blocks, 0},
    {0},
};
static const struct ignis_option promql_rows[] = {
    {"enable_at_modifier", IGNIS_OPT_BOOL, "true", "allow @", NULL, 0},
    {0},
};
static const struct ignis_option file_rows[] = {
    {"files", IGNIS_OPT_STRINGS, NULL, "globs", NULL, IGNIS_OPT_REQUIRED},
    {"refresh_interval", IGNIS_OPT_DURATION, "5m", "re-read period", NULL, 0},
    {0},
};
static const struct ignis_option am_route[] = {
    {"receiver", IGNIS_OPT_STRING, NULL, "default receiver", NULL, IGNIS_OPT_REQUIRED},
    {"group_by", IGNIS_OPT_STRINGS, NULL, "grouping labels", NULL, 0},
    {0},
};
static const struct ignis_option am_rows[] = {
    {"route", IGNIS_OPT_GROUP, NULL, "routing tree", am_route, 0},
    {"extra", IGNIS_OPT_ANY, NULL, "read raw", NULL, 0},
    {0},
};
static const struct ignis_option webhook_rows[] = {
    {"url", IGNIS_OPT_STRING, NULL, "where to post", NULL, 0},
    {0},
};

static const struct {
    const char *name;
    enum ignis_plugin_kind kind;
    const struct ignis_option *schema;
} fakes[] = {
    {"mem", IGNIS_PLUGIN_STORAGE, mem_rows},          {"tsdb", IGNIS_PLUGIN_STORAGE, tsdb_rows},
    {"promql", IGNIS_PLUGIN_QUERY, promql_rows},      {"node", IGNIS_PLUGIN_EXPORTER, NULL},
    {"file", IGNIS_PLUGIN_DISCOVERY, file_rows},      {"am", IGNIS_PLUGIN_SERVICE, am_rows},
    {"webhook", IGNIS_PLUGIN_NOTIFIER, webhook_rows},
};

static bool fake_plugin(void *arg, const char *name, enum ignis_plugin_kind *kind,
                        const struct ignis_option **schema)
{
    int *calls = arg;
    if (calls)
        (*calls)++;
    for (size_t i = 0; i < sizeof fakes / sizeof fakes[0]; i++) {
        if (strcmp(fakes[i].name, name) == 0) {
            *kind = fakes[i].kind;
            *schema = fakes[i].schema;
            return true;
        }
    }
    return false;
}

/* What etc/ignis.conf loads: a storage plugin "tsdb" and a query plugin "promql" (the
 * integration test ignisctl.sh checks the file against the built plugins' real schemas). */
static bool shipped_plugins(void *arg, const char *name, enum ignis_plugin_kind *kind,
                            const struct ignis_option **schema)
{
    (void)arg;
    static const struct ignis_option no_rows[] = {{NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0}};
    if (strcmp(name, "promql") == 0) {
        *kind = IGNIS_PLUGIN_QUERY;
        *schema = no_rows;
        return true;
    }
    if (strcmp(name, "tsdb") == 0) {
        *kind = IGNIS_PLUGIN_STORAGE;
        *schema = tsdb_rows;
        return true;
    }
    return false;
}

/* ---- helpers ------------------------------------------------------------------- */

static char err[32768];

static void load_ok(const char *path, ig_config_plugin_fn fn, struct ig_config *c)
{
    int rc = ig_config_load(path, fn, NULL, c, err, sizeof err);
    if (rc != 0)
        fail_msg("%s did not load:\n%s", path, err);
    assert_string_equal(err, "");
}

/* Loads CONFIGS/file, expects failure with exactly these errors, each given as
 * "name.conf:LINE: message" relative to the configs directory. */
static void expect_errors(const char *file, ig_config_plugin_fn fn, const char *const *want,
                          size_t n)
{
    struct ig_config c;
    char expected[32768] = "";
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(expected + off, sizeof expected - off, "%s%s%s", i ? "\n" : "",
                                CONFIGS, want[i]);
    int rc = ig_config_load(file, fn, NULL, &c, err, sizeof err);
    assert_int_equal(rc, -1);
    assert_string_equal(err, expected);
    /* A failed load leaves nothing behind. */
    assert_null(c.root);
    assert_null(c.instances);
    assert_int_equal(c.ninstances, 0);
}

#define EXPECT_ERRORS(file, fn, ...)                                                               \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        expect_errors(CONFIGS file, fn, want_, sizeof want_ / sizeof want_[0]);                    \
    } while (0)

static const struct ig_config_instance *find_instance(const struct ig_config *c,
                                                      enum ignis_plugin_kind kind, const char *name)
{
    for (size_t i = 0; i < c->ninstances; i++)
        if (c->instances[i].kind == kind && strcmp(c->instances[i].name, name) == 0)
            return &c->instances[i];
    return NULL;
}

static void assert_label(const struct ignis_label *l, const char *name, const char *value)
{
    assert_int_equal(l->name_len, strlen(name));
    assert_memory_equal(l->name, name, l->name_len);
    assert_int_equal(l->value_len, strlen(value));
    assert_memory_equal(l->value, value, l->value_len);
}

/* ---- valid files --------------------------------------------------------------- */

static void test_empty_file_reads_defaults(void **state)
{
    (void)state;
    struct ig_config c;
    load_ok(CONFIGS "empty.conf", fake_plugin, &c);
    assert_string_equal(c.path, CONFIGS "empty.conf");
    assert_int_equal(c.scrape_interval_ms, 60000);
    assert_int_equal(c.scrape_timeout_ms, 10000);
    assert_int_equal(c.evaluation_interval_ms, 60000);
    assert_int_equal(c.nexternal_labels, 0);
    assert_int_equal(c.plugins.npaths, 0);
    assert_int_equal(c.plugins.nload, 0);
    assert_string_equal(c.listen_address, "0.0.0.0:9090");
    assert_string_equal(c.external_url, "");
    assert_string_equal(c.route_prefix, "/");
    assert_false(c.enable_lifecycle);
    assert_false(c.enable_admin_api);
    assert_int_equal(c.read_timeout_ms, 5 * 60000);
    assert_int_equal(c.max_connections, 512);
    assert_int_equal(c.query_timeout_ms, 2 * 60000);
    assert_int_equal(c.query_max_samples, 50000000);
    assert_int_equal(c.query_lookback_ms, 5 * 60000);
    assert_int_equal(c.query_max_concurrency, 20);
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.log_format, "logfmt");
    assert_int_equal(c.workers, 0);
    assert_int_equal(c.max_exemplars, 100000);
    assert_non_null(c.root);
    assert_null(c.scrape_configs);
    assert_int_equal(c.ninstances, 0);
    /* The root view answers with defaults for groups that are absent. */
    const struct ignis_config *g = ignis_config_group(c.root, "global");
    assert_non_null(g);
    assert_false(ignis_config_is_set(g, "scrape_interval"));
    assert_int_equal(ignis_config_duration_ms(g, "scrape_interval"), 60000);
    assert_int_equal(ignis_config_count(c.root, "rule_files"), 0);
    ig_config_clear(&c);
    assert_null(c.root);
}

static void test_full_file_reads_back(void **state)
{
    (void)state;
    struct ig_config c;
    load_ok(CONFIGS "full.conf", fake_plugin, &c);
    assert_int_equal(c.scrape_interval_ms, 15000);
    assert_int_equal(c.scrape_timeout_ms, 5000);
    assert_int_equal(c.evaluation_interval_ms, 30000);
    /* external labels come sorted by name */
    assert_int_equal(c.nexternal_labels, 2);
    assert_label(&c.external_labels[0], "env", "prod");
    assert_label(&c.external_labels[1], "region", "eu1");
    assert_int_equal(c.plugins.npaths, 2);
    assert_string_equal(c.plugins.paths[0], "/opt/ignis/plugins");
    assert_string_equal(c.plugins.paths[1], "/usr/lib/ignis/plugins");
    assert_int_equal(c.plugins.nload, 6);
    assert_string_equal(c.plugins.load[0], "tsdb");
    assert_string_equal(c.plugins.load[5], "webhook");
    assert_string_equal(c.listen_address, "127.0.0.1:9999");
    assert_string_equal(c.external_url, "https://ignis.example.com/x/");
    assert_string_equal(c.route_prefix, "/x");
    assert_true(c.enable_lifecycle);
    assert_true(c.enable_admin_api);
    assert_int_equal(c.read_timeout_ms, 60000);
    assert_int_equal(c.max_connections, 64);
    assert_int_equal(c.query_timeout_ms, 30000);
    assert_int_equal(c.query_max_samples, 5000000000LL);
    assert_int_equal(c.query_lookback_ms, 600000);
    assert_int_equal(c.query_max_concurrency, 4);
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.log_format, "json");
    assert_int_equal(c.workers, 3);
    assert_int_equal(c.max_exemplars, 500);

    const struct ignis_config *g = ignis_config_group(c.root, "global");
    assert_string_equal(ignis_config_string(g, "query_log_file"), "/var/log/ignis/queries.log");
    assert_string_equal(ignis_config_where(g, "scrape_timeout"), CONFIGS "full.conf:4");
    assert_int_equal(ignis_config_count(c.root, "rule_files"), 2);
    assert_string_equal(ignis_config_string_at(c.root, "rule_files", 1), "more.yml");

    const struct ignis_config *al = ignis_config_group(c.root, "alerting");
    assert_int_equal(ignis_config_count(al, "alertmanagers"), 1);
    const struct ignis_config *am = ignis_config_at(al, "alertmanagers", 0);
    assert_int_equal(ignis_config_duration_ms(am, "timeout"), 5000);
    assert_string_equal(ignis_config_string(am, "path_prefix"), "/am");
    assert_string_equal(ignis_config_string(am, "api_version"), "v2");
    const struct ignis_config *amsc = ignis_config_at(am, "static_configs", 0);
    assert_int_equal(ignis_config_count(amsc, "targets"), 2);
    assert_string_equal(ignis_config_string_at(amsc, "targets", 1), "am2:9093");
    const struct ignis_config *arc = ignis_config_at(al, "alert_relabel_configs", 0);
    assert_string_equal(ignis_config_string(arc, "action"), "labeldrop");
    ig_config_clear(&c);
}

static void test_scrape_configs_read_back(void **state)
{
    (void)state;
    struct ig_config c;
    load_ok(CONFIGS "full.conf", fake_plugin, &c);
    const struct ignis_config *sc = c.scrape_configs;
    assert_non_null(sc);
    assert_int_equal(ignis_config_count(sc, "scrape_configs"), 2);

    /* job 0: defaults, and interval/timeout left to global */
    const struct ignis_config *j = ignis_config_at(sc, "scrape_configs", 0);
    assert_string_equal(ignis_config_string(j, "job_name"), "ignis");
    assert_false(ignis_config_is_set(j, "scrape_interval"));
    assert_false(ignis_config_is_set(j, "scrape_timeout"));
    assert_string_equal(ignis_config_string(j, "metrics_path"), "/metrics");
    assert_string_equal(ignis_config_string(j, "scheme"), "http");
    assert_false(ignis_config_bool(j, "honor_labels"));
    assert_true(ignis_config_bool(j, "honor_timestamps"));
    assert_false(ignis_config_bool(j, "track_timestamps_staleness"));
    assert_true(ignis_config_bool(j, "enable_compression"));
    assert_int_equal(ignis_config_size(j, "body_size_limit"), 0);
    assert_int_equal(ignis_config_int(j, "sample_limit"), 0);
    assert_string_equal(ignis_config_string(ignis_config_group(j, "authorization"), "type"),
                        "Bearer");
    assert_int_equal(ignis_config_count(j, "static_configs"), 1);
    const struct ignis_config *st = ignis_config_at(j, "static_configs", 0);
    assert_string_equal(ignis_config_string_at(st, "targets", 0), "localhost:9090");
    struct ignis_label l;
    assert_true(ignis_config_label_at(st, "labels", 0, &l));
    assert_label(&l, "team", "infra");
    assert_string_equal(ignis_config_where(j, NULL), CONFIGS "full.conf:40");

    /* job 1: everything overridden */
    j = ignis_config_at(sc, "scrape_configs", 1);
    assert_string_equal(ignis_config_string(j, "job_name"), "node");
    assert_int_equal(ignis_config_duration_ms(j, "scrape_interval"), 30000);
    assert_int_equal(ignis_config_duration_ms(j, "scrape_timeout"), 20000);
    assert_string_equal(ignis_config_string(j, "metrics_path"), "/probe");
    assert_string_equal(ignis_config_string(j, "scheme"), "https");
    assert_int_equal(ignis_config_count(j, "params"), 2);
    assert_true(ignis_config_label_at(j, "params", 0, &l));
    assert_label(&l, "module", "a");
    assert_true(ignis_config_label_at(j, "params", 1, &l));
    assert_label(&l, "module", "b");
    assert_true(ignis_config_bool(j, "honor_labels"));
    assert_false(ignis_config_bool(j, "honor_timestamps"));
    assert_true(ignis_config_bool(j, "track_timestamps_staleness"));
    assert_false(ignis_config_bool(j, "enable_compression"));
    const struct ignis_config *ba = ignis_config_group(j, "basic_auth");
    assert_string_equal(ignis_config_string(ba, "username"), "u");
    assert_string_equal(ignis_config_string(ba, "password_file"), "/etc/ignis/pw");
    assert_false(ignis_config_is_set(ba, "password"));
    const struct ignis_config *tls = ignis_config_group(j, "tls_config");
    assert_string_equal(ignis_config_string(tls, "ca_file"), "/etc/ca.pem");
    assert_true(ignis_config_bool(tls, "insecure_skip_verify"));
    assert_string_equal(ignis_config_string(j, "proxy_url"), "http://proxy:3128");
    assert_int_equal(ignis_config_size(j, "body_size_limit"), 10u << 20);
    assert_int_equal(ignis_config_int(j, "sample_limit"), 1000);
    assert_int_equal(ignis_config_int(j, "label_limit"), 30);
    assert_int_equal(ignis_config_int(j, "label_name_length_limit"), 100);
    assert_int_equal(ignis_config_int(j, "label_value_length_limit"), 200);
    assert_int_equal(ignis_config_int(j, "target_limit"), 50);

    /* relabel rules: defaults of separator, regex, replacement and action */
    assert_int_equal(ignis_config_count(j, "relabel_configs"), 3);
    const struct ignis_config *r = ignis_config_at(j, "relabel_configs", 0);
    assert_string_equal(ignis_config_string_at(r, "source_labels", 0), "__address__");
    assert_string_equal(ignis_config_string(r, "separator"), ";");
    assert_non_null(ignis_config_regex(r, "regex"));
    assert_string_equal(ignis_config_string(r, "replacement"), "$1");
    assert_string_equal(ignis_config_string(r, "action"), "replace");
    assert_string_equal(ignis_config_string(r, "target_label"), "__param_target");
    r = ignis_config_at(j, "relabel_configs", 2);
    assert_string_equal(ignis_config_string(r, "action"), "hashmod");
    assert_int_equal(ignis_config_int(r, "modulus"), 8);
    r = ignis_config_at(j, "metric_relabel_configs", 0);
    assert_string_equal(ignis_config_string(r, "action"), "labeldrop");
    /* discovery subtrees are not part of the scrape config's view */
    assert_null(ignis_config_row(j, "file_sd_configs"));
    ig_config_clear(&c);
}

static void test_instances_placed_and_ordered(void **state)
{
    (void)state;
    struct ig_config c;
    load_ok(CONFIGS "full.conf", fake_plugin, &c);
    /* plugins.load order for storage/query/exporter/service; discovery after, in file
     * order; notifiers get none here. */
    assert_int_equal(c.ninstances, 6);
    static const struct {
        enum ignis_plugin_kind kind;
        const char *plugin, *name;
    } want[] = {
        {IGNIS_PLUGIN_STORAGE, "tsdb", "tsdb"},
        {IGNIS_PLUGIN_QUERY, "promql", "promql"},
        {IGNIS_PLUGIN_EXPORTER, "node", "node"},
        {IGNIS_PLUGIN_SERVICE, "am", "am"},
        {IGNIS_PLUGIN_DISCOVERY, "file", "node/file/0"},
        {IGNIS_PLUGIN_DISCOVERY, "file", "node/file/1"},
    };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(c.instances[i].kind, want[i].kind);
        assert_string_equal(c.instances[i].plugin, want[i].plugin);
        assert_string_equal(c.instances[i].name, want[i].name);
        assert_non_null(c.instances[i].cfg);
    }
    const struct ignis_config *v = c.instances[0].cfg;
    assert_string_equal(ignis_config_string(v, "path"), "/var/lib/ignis");
    assert_int_equal(ignis_config_duration_ms(v, "retention_time"), 15LL * 86400000);
    assert_int_equal(ignis_config_size(v, "retention_size"), 512u << 20);
    assert_int_equal(ignis_config_duration_ms(ignis_config_group(v, "blocks"), "min_duration"),
                     3600000);
    assert_string_equal(ignis_config_where(v, NULL), CONFIGS "full.conf:34");
    assert_false(ignis_config_bool(c.instances[1].cfg, "enable_at_modifier"));
    v = c.instances[3].cfg;
    assert_string_equal(ignis_config_string(ignis_config_group(v, "route"), "receiver"), "ops");

    v = c.instances[4].cfg;
    assert_int_equal(ignis_config_count(v, "files"), 1);
    assert_string_equal(ignis_config_string_at(v, "files", 0), "targets/*.json");
    assert_int_equal(ignis_config_duration_ms(v, "refresh_interval"), 300000);
    v = c.instances[5].cfg;
    assert_string_equal(ignis_config_string_at(v, "files", 0), "more/*.yml");
    assert_int_equal(ignis_config_duration_ms(v, "refresh_interval"), 60000);
    assert_string_equal(ignis_config_where(v, "refresh_interval"), CONFIGS "full.conf:60");
    ig_config_clear(&c);
}

static void test_any_subtree_is_read_raw(void **state)
{
    (void)state;
    struct ig_config c;
    load_ok(CONFIGS "full.conf", fake_plugin, &c);
    const struct ig_config_instance *in = find_instance(&c, IGNIS_PLUGIN_SERVICE, "am");
    assert_non_null(in);
    const struct ignis_config *x = ignis_config_group(in->cfg, "extra");
    assert_non_null(x);
    assert_int_equal(ignis_config_int(x, "a"), 1);
    assert_string_equal(ignis_config_string(x, "b"), "x");
    assert_int_equal(ignis_config_count(x, "c"), 2);
    assert_string_equal(ignis_config_string_at(x, "c", 1), "2");
    assert_int_equal(ignis_config_count(x, "d"), 1);
    assert_true(ignis_config_bool(ignis_config_at(x, "d", 0), "e"));
    assert_true(ignis_config_float(ignis_config_group(x, "f"), "g") == 0.5);
    ig_config_clear(&c);
}

static void test_plugin_without_subtree_gets_defaults(void **state)
{
    (void)state;
    struct ig_config c;
    load_ok(CONFIGS "defaults_instance.conf", fake_plugin, &c);
    /* discovery ("file") and notifier ("webhook") plugins get no instance of their own */
    assert_int_equal(c.ninstances, 2);
    assert_int_equal(c.instances[0].kind, IGNIS_PLUGIN_QUERY);
    assert_string_equal(c.instances[0].name, "promql");
    assert_true(ignis_config_bool(c.instances[0].cfg, "enable_at_modifier"));
    assert_false(ignis_config_is_set(c.instances[0].cfg, "enable_at_modifier"));
    assert_int_equal(c.instances[1].kind, IGNIS_PLUGIN_STORAGE);
    assert_string_equal(c.instances[1].name, "mem");
    assert_int_equal(ignis_config_duration_ms(c.instances[1].cfg, "retention"), 7200000);
    ig_config_clear(&c);
}

static void test_shipped_config_validates(void **state)
{
    (void)state;
    struct ig_config c;
    load_ok(IG_TEST_SRCDIR "/etc/ignis.conf", shipped_plugins, &c);
    assert_string_equal(c.listen_address, "0.0.0.0:9090");
    assert_int_equal(c.plugins.nload, 2);
    assert_string_equal(c.plugins.load[0], "tsdb");
    assert_string_equal(c.plugins.load[1], "promql");
    assert_int_equal(c.ninstances, 2);
    assert_int_equal(c.instances[0].kind, IGNIS_PLUGIN_STORAGE);
    assert_string_equal(c.instances[0].name, "tsdb");
    assert_int_equal(c.instances[1].kind, IGNIS_PLUGIN_QUERY);
    assert_string_equal(c.instances[1].name, "promql");
    assert_non_null(c.scrape_configs);
    assert_int_equal(ignis_config_count(c.scrape_configs, "scrape_configs"), 1);
    const struct ignis_config *j = ignis_config_at(c.scrape_configs, "scrape_configs", 0);
    assert_string_equal(ignis_config_string(j, "job_name"), "ignis");
    const struct ignis_config *st = ignis_config_at(j, "static_configs", 0);
    assert_string_equal(ignis_config_string_at(st, "targets", 0), "localhost:9090");
    ig_config_clear(&c);
}

static void test_include_reads_files_beside(void **state)
{
    (void)state;
    struct ig_config c;
    load_ok(CONFIGS "include.conf", fake_plugin, &c);
    assert_int_equal(c.plugins.nload, 1);
    assert_int_equal(c.ninstances, 1);
    assert_int_equal(ignis_config_duration_ms(c.instances[0].cfg, "retention"), 3600000);
    assert_string_equal(ignis_config_where(c.instances[0].cfg, "retention"),
                        CONFIGS "inc/plugins.conf:2");
    const struct ignis_config *j = ignis_config_at(c.scrape_configs, "scrape_configs", 0);
    const struct ignis_config *st = ignis_config_at(j, "static_configs", 0);
    assert_int_equal(ignis_config_count(st, "targets"), 2);
    assert_string_equal(ignis_config_string_at(st, "targets", 1), "b:2");
    ig_config_clear(&c);
}

/* ---- mistakes ------------------------------------------------------------------ */

static void test_errors_in_single_settings(void **state)
{
    (void)state;
    EXPECT_ERRORS(
        "errors_types.conf", fake_plugin,
        "errors_types.conf:3: global.scrape_interval: bad duration \"15x\"",
        "errors_types.conf:4: global.scrape_timeout: expected a duration string such as "
        "\"15s\", got an integer",
        "errors_types.conf:5: global.external_labels[0].name: invalid label name \"1bad\"",
        "errors_types.conf:7: web.listen_adress: unknown setting",
        "errors_types.conf:7: web.max_connections: expected an integer, got a string",
        "errors_types.conf:8: storage.x: storage plugin \"x\" is not loaded; add it to "
        "plugins.load",
        "errors_types.conf:10: scrape_configs[0].body_size_limit: bad size \"10QB\"",
        "errors_types.conf:10: scrape_configs[0].job_name: missing required setting",
        "errors_types.conf:11: scrape_configs[0].relabel_configs[0].regex: bad regex \"a(b\": "
        "error parsing regexp: missing closing parenthesis (at offset 3)",
        "errors_types.conf:13: log.level: unknown value \"loud\" (one of debug, info, warn, "
        "error)");
}

static void test_errors_across_settings(void **state)
{
    (void)state;
    EXPECT_ERRORS(
        "errors_cross.conf", fake_plugin,
        "errors_cross.conf:2: global.scrape_timeout: 20s is longer than the scrape interval "
        "(10s)",
        "errors_cross.conf:6: scrape_configs[0].scrape_timeout: 6s is longer than the scrape "
        "interval (5s)",
        "errors_cross.conf:8: scrape_configs[0].relabel_configs[0].action: unknown value "
        "\"foo\" (one of replace, keep, drop, keepequal, dropequal, hashmod, labelmap, "
        "labeldrop, labelkeep, lowercase, uppercase)",
        "errors_cross.conf:9: scrape_configs[0].relabel_configs[1].source_labels[0]: invalid "
        "label name \"a-b\"",
        "errors_cross.conf:10: scrape_configs[0].relabel_configs[2]: action \"hashmod\" needs "
        "a non-zero modulus",
        "errors_cross.conf:11: scrape_configs[0].relabel_configs[3]: action \"replace\" needs "
        "a target_label",
        "errors_cross.conf:12: scrape_configs[0].relabel_configs[4]: action \"labeldrop\" "
        "takes only a regex",
        "errors_cross.conf:13: scrape_configs[0].relabel_configs[5].target_label: invalid "
        "target label \"1x\"",
        "errors_cross.conf:15: scrape_configs[1]: at most one of basic_auth and authorization "
        "may be set",
        "errors_cross.conf:15: scrape_configs[1].job_name: job name \"a\" is already used by "
        "scrape_configs[0]",
        "errors_cross.conf:15: scrape_configs[1].scrape_timeout: 15s is longer than the "
        "scrape interval (10s)",
        "errors_cross.conf:17: scrape_configs[2].scheme: unknown value \"ftp\" (one of http, "
        "https)",
        "errors_cross.conf:18: scrape_configs[2].basic_auth: at most one of password and "
        "password_file may be set",
        "errors_cross.conf:19: scrape_configs[2].static_configs[0].targets[0]: "
        "\"http://x:1/metrics\" is not a valid host:port (no scheme or path here)",
        "errors_cross.conf:19: scrape_configs[2].static_configs[0].targets[1]: empty target",
        "errors_cross.conf:20: scrape_configs[2].static_configs[0].labels[1].name: duplicate "
        "label name \"a\"",
        "errors_cross.conf:21: scrape_configs[3].job_name: must not be empty",
        "errors_cross.conf:21: scrape_configs[3].authorization: at most one of credentials "
        "and credentials_file may be set",
        "errors_cross.conf:21: scrape_configs[3].authorization.type: type \"Basic\" is not "
        "allowed here; use basic_auth");
}

static void test_errors_in_plugin_subtrees(void **state)
{
    (void)state;
    EXPECT_ERRORS(
        "errors_plugins.conf", fake_plugin,
        "errors_plugins.conf:2: plugins.load[3]: plugin \"nope\" is not loaded",
        "errors_plugins.conf:3: storage.promql: plugin \"promql\" is a query plugin, not a "
        "storage plugin; its settings go in query.promql",
        "errors_plugins.conf:3: storage.tsdb.path: expected a string, got an integer",
        "errors_plugins.conf:3: storage.tsdb.retention_time: bad duration \"1q\"",
        "errors_plugins.conf:3: storage.tsdb.extra: unknown setting",
        "errors_plugins.conf:4: query.tsdb: plugin \"tsdb\" is a storage plugin, not a query "
        "plugin; its settings go in storage.tsdb",
        "errors_plugins.conf:4: query.promql.enable_at_modifier: expected true or false, got "
        "a string",
        "errors_plugins.conf:5: exporters.snmp: exporter plugin \"snmp\" is not loaded; add it "
        "to plugins.load",
        "errors_plugins.conf:6: alertmanager: unknown setting, and no service plugin "
        "\"alertmanager\" is loaded",
        "errors_plugins.conf:7: scrape_configs[0].consul_sd_configs: discovery plugin "
        "\"consul\" is not loaded; add it to plugins.load",
        "errors_plugins.conf:7: scrape_configs[0].file_sd_configs[0].files: missing required "
        "setting",
        "errors_plugins.conf:7: scrape_configs[0].foo: unknown setting");
}

static void test_required_setting_of_plugin_without_subtree(void **state)
{
    (void)state;
    EXPECT_ERRORS("errors_absent_required.conf", fake_plugin,
                  "errors_absent_required.conf:4: storage.tsdb.path: missing required setting");
}

static void test_without_plugins_every_subtree_is_an_error(void **state)
{
    (void)state;
    EXPECT_ERRORS("no_plugin_fn.conf", NULL,
                  "no_plugin_fn.conf:2: storage.mem: storage plugin \"mem\" is not loaded; add "
                  "it to plugins.load");
}

static void test_syntax_error_has_file_and_line(void **state)
{
    (void)state;
    EXPECT_ERRORS("errors_syntax.conf", fake_plugin, "errors_syntax.conf:3: syntax error");
}

static void test_errors_name_the_included_file(void **state)
{
    (void)state;
    EXPECT_ERRORS("include_bad.conf", fake_plugin,
                  "include_bad.conf:2: web.max_connections: must not be negative",
                  "inc/bad.conf:2: log.level: expected a string, got an integer",
                  "inc/bad.conf:3: workers: must not be negative");
}

static void test_syntax_error_in_included_file(void **state)
{
    (void)state;
    EXPECT_ERRORS("include_syntax.conf", fake_plugin, "inc/syntax.conf:2: syntax error");
}

static void test_missing_included_file(void **state)
{
    (void)state;
    EXPECT_ERRORS("include_missing.conf", fake_plugin,
                  "include_missing.conf:2: cannot open include file");
}

static void test_missing_file(void **state)
{
    (void)state;
    EXPECT_ERRORS("nothere.conf", fake_plugin,
                  "nothere.conf: cannot open: No such file or directory");
}

static void test_integers_beyond_32_bits_need_the_suffix(void **state)
{
    (void)state;
    /* max_concurrency = 0x10 is fine: the check reads hexadecimal too. */
    EXPECT_ERRORS("errors_int.conf", fake_plugin,
                  "errors_int.conf:1: query.max_samples: integer 5000000000 does not fit in 32 "
                  "bits; write it as 5000000000L",
                  "errors_int.conf:2: scrape_configs[0].body_size_limit: integer 3000000000 "
                  "does not fit in 32 bits; write it as 3000000000L",
                  "errors_int.conf:2: scrape_configs[0].sample_limit: integer "
                  "99999999999999999999 is out of range");
}

/* A file with more mistakes than are kept: the first hundred, then a count. */
static void test_error_count_is_bounded(void **state)
{
    (void)state;
    char path[] = "/tmp/ig-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "scrape_configs = (\n");
    for (int i = 0; i < 150; i++)
        fprintf(f, "%s{ job_name = \"j%d\"; sample_limit = \"x\"; }\n", i ? "," : "", i);
    fprintf(f, ");\n");
    fclose(f);
    struct ig_config c;
    assert_int_equal(ig_config_load(path, fake_plugin, NULL, &c, err, sizeof err), -1);
    unlink(path);
    size_t lines = 1;
    for (const char *p = err; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 101);
    char first[256], last[256];
    snprintf(first, sizeof first,
             "%s:2: scrape_configs[0].sample_limit: expected an integer, got a string\n", path);
    snprintf(last, sizeof last, "\n%s: and 50 more errors", path);
    assert_memory_equal(err, first, strlen(first));
    assert_string_equal(err + strlen(err) - strlen(last), last);
}

/* Raw (ANY) trees are followed only so deep. */
static void test_deep_raw_tree_is_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/ig-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "plugins = { load = [ \"am\" ]; }; am = { extra = { ");
    for (int i = 0; i < 40; i++)
        fprintf(f, "a = { ");
    for (int i = 0; i < 41; i++)
        fprintf(f, "}; ");
    fprintf(f, "};\n");
    fclose(f);
    struct ig_config c;
    assert_int_equal(ig_config_load(path, fake_plugin, NULL, &c, err, sizeof err), -1);
    unlink(path);
    char want[1024];
    int off = snprintf(want, sizeof want, "%s:1: am.extra", path);
    for (int i = 0; i < 23; i++)
        off += snprintf(want + off, sizeof want - (size_t)off, ".a");
    snprintf(want + off, sizeof want - (size_t)off, ": nested too deeply");
    assert_string_equal(err, want);
}

/* The message is cut to the caller's buffer, still NUL-terminated. */
static void test_errors_truncated_to_buffer(void **state)
{
    (void)state;
    char small[40];
    memset(small, 'x', sizeof small);
    struct ig_config c;
    assert_int_equal(
        ig_config_load(CONFIGS "errors_types.conf", fake_plugin, NULL, &c, small, sizeof small),
        -1);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, CONFIGS "errors_types.conf", sizeof small - 1);
}

/* ---- plugins section alone ------------------------------------------------------ */

static void test_read_plugins(void **state)
{
    (void)state;
    struct ig_config_plugins p;
    assert_int_equal(ig_config_read_plugins(CONFIGS "plugins_only.conf", &p, err, sizeof err), 0);
    assert_int_equal(p.npaths, 2);
    assert_string_equal(p.paths[0], "/a");
    assert_string_equal(p.paths[1], "b/c");
    assert_int_equal(p.nload, 2);
    assert_string_equal(p.load[0], "mem");
    assert_string_equal(p.load[1], "tsdb");
    ig_config_plugins_clear(&p);
    assert_null(p.load);

    assert_int_equal(ig_config_read_plugins(CONFIGS "empty.conf", &p, err, sizeof err), 0);
    assert_int_equal(p.npaths, 0);
    assert_int_equal(p.nload, 0);
    ig_config_plugins_clear(&p);
}

static void test_read_plugins_errors(void **state)
{
    (void)state;
    struct ig_config_plugins p;
    assert_int_equal(ig_config_read_plugins(CONFIGS "plugins_bad.conf", &p, err, sizeof err), -1);
    assert_string_equal(err, CONFIGS "plugins_bad.conf:2: plugins.path: expected an array of "
                                     "strings [ \"...\", ... ], got a string\n" CONFIGS
                                     "plugins_bad.conf:4: plugins.lod: unknown setting");
    assert_int_equal(p.nload, 0);
    assert_int_equal(ig_config_read_plugins(CONFIGS "errors_syntax.conf", &p, err, sizeof err), -1);
    assert_string_equal(err, CONFIGS "errors_syntax.conf:3: syntax error");
    assert_int_equal(ig_config_read_plugins(CONFIGS "nothere.conf", &p, err, sizeof err), -1);
    assert_string_equal(err, CONFIGS "nothere.conf: cannot open: No such file or directory");
}

/* ---- schema printing ----------------------------------------------------------- */

static char *print_to_string(const struct ignis_option *schema, int indent)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    ig_config_print_schema(f, schema, indent);
    fclose(f);
    return buf;
}

/* The row of name (after exactly `indent` spaces), or NULL. */
static const char *row_of(const char *text, int indent, const char *name)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        int i = 0;
        while (p[i] == ' ')
            i++;
        size_t n = strlen(name);
        if (i == indent && strncmp(p + i, name, n) == 0 && p[i + n] == ' ')
            return p;
    }
    return NULL;
}

static bool row_has(const char *row, const char *word)
{
    const char *eol = strchr(row, '\n');
    size_t n = eol ? (size_t)(eol - row) : strlen(row);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)n, row);
    return strstr(line, word) != NULL;
}

static void test_print_schema(void **state)
{
    (void)state;
    char *s = print_to_string(tsdb_rows, 0);
    const char *r = row_of(s, 0, "path");
    assert_non_null(r);
    assert_true(row_has(r, "string"));
    assert_true(row_has(r, "(required)"));
    assert_true(row_has(r, "data directory"));
    r = row_of(s, 0, "retention_time");
    assert_true(row_has(r, "duration"));
    assert_true(row_has(r, "15d"));
    r = row_of(s, 2, "min_duration"); /* nested under blocks */
    assert_non_null(r);
    assert_true(row_has(r, "2h"));
    assert_null(row_of(s, 0, "min_duration"));
    /* columns line up: the type column starts at the same offset on every row */
    const char *a = row_of(s, 0, "path"), *b = row_of(s, 2, "min_duration");
    assert_int_equal(strstr(a + 4, "string") - a, strstr(b + 14, "duration") - b);
    free(s);

    s = print_to_string(ig_config_core_schema(), 4);
    r = row_of(s, 4, "scrape_configs");
    assert_non_null(r);
    assert_true(row_has(r, "list"));
    r = row_of(s, 6, "job_name");
    assert_true(row_has(r, "(required)"));
    r = row_of(s, 8, "action"); /* scrape_configs > relabel_configs > action */
    assert_true(row_has(r, "\"replace\""));
    r = row_of(s, 6, "password"); /* basic_auth of alertmanagers */
    assert_null(r);
    r = row_of(s, 8, "password");
    assert_true(row_has(r, "secret"));
    free(s);

    s = print_to_string(NULL, 2);
    assert_string_equal(s, "  (no options)\n");
    free(s);
}

static void test_core_schema_has_the_sections(void **state)
{
    (void)state;
    const struct ignis_option *s = ig_config_core_schema();
    static const char *const sections[] = {
        "global",    "plugins",        "web",        "query",   "log", "workers", "storage",
        "exporters", "scrape_configs", "rule_files", "alerting"};
    size_t n = 0;
    while (s[n].name)
        n++;
    assert_int_equal(n, sizeof sections / sizeof sections[0]);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s[i].name, sections[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_file_reads_defaults),
        cmocka_unit_test(test_full_file_reads_back),
        cmocka_unit_test(test_scrape_configs_read_back),
        cmocka_unit_test(test_instances_placed_and_ordered),
        cmocka_unit_test(test_any_subtree_is_read_raw),
        cmocka_unit_test(test_plugin_without_subtree_gets_defaults),
        cmocka_unit_test(test_shipped_config_validates),
        cmocka_unit_test(test_include_reads_files_beside),
        cmocka_unit_test(test_errors_in_single_settings),
        cmocka_unit_test(test_errors_across_settings),
        cmocka_unit_test(test_errors_in_plugin_subtrees),
        cmocka_unit_test(test_required_setting_of_plugin_without_subtree),
        cmocka_unit_test(test_without_plugins_every_subtree_is_an_error),
        cmocka_unit_test(test_syntax_error_has_file_and_line),
        cmocka_unit_test(test_errors_name_the_included_file),
        cmocka_unit_test(test_syntax_error_in_included_file),
        cmocka_unit_test(test_missing_included_file),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_integers_beyond_32_bits_need_the_suffix),
        cmocka_unit_test(test_error_count_is_bounded),
        cmocka_unit_test(test_deep_raw_tree_is_refused),
        cmocka_unit_test(test_errors_truncated_to_buffer),
        cmocka_unit_test(test_read_plugins),
        cmocka_unit_test(test_read_plugins_errors),
        cmocka_unit_test(test_print_schema),
        cmocka_unit_test(test_core_schema_has_the_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
