/* core/config_schema.c — the core's own part of ignis.conf as schema rows, the same
 * struct ignis_option tables plugins declare, so the core's settings are validated,
 * defaulted and printed (`ignisd --plugin-help`, --help-config) by the same code.
 * Names and defaults are prometheus.yml's (docs/configuration/configuration.md) and
 * the Prometheus flags of the same meaning. */
#include "core/config.h"
#include "core/config_priv.h"

#include <stdio.h>
#include <string.h>

#define ROW(n, t, d, h)                                                                            \
    {                                                                                              \
        n, IGNIS_OPT_##t, d, h, NULL, 0                                                            \
    }
#define REQ(n, t, h)                                                                               \
    {                                                                                              \
        n, IGNIS_OPT_##t, NULL, h, NULL, IGNIS_OPT_REQUIRED                                        \
    }
#define SUB(n, t, rows, h)                                                                         \
    {                                                                                              \
        n, IGNIS_OPT_##t, NULL, h, rows, 0                                                         \
    }
#define END                                                                                        \
    {                                                                                              \
        NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0                                                   \
    }

const char *const ig_cfg_relabel_actions[] = {
    "replace",  "keep",      "drop",      "keepequal", "dropequal", "hashmod",
    "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase", NULL,
};

const struct ignis_option ig_cfg_global_rows[] = {
    ROW("scrape_interval", DURATION, "1m", "how often to scrape targets by default"),
    ROW("scrape_timeout", DURATION, "10s", "how long a scrape may take by default"),
    ROW("evaluation_interval", DURATION, "1m", "how often to evaluate rules by default"),
    ROW("external_labels", LABELS, NULL,
        "labels added to series and alerts sent to external systems"),
    ROW("query_log_file", STRING, NULL, "file to which PromQL queries are logged"),
    END,
};

const struct ignis_option ig_cfg_plugins_rows[] = {
    ROW("path", STRINGS, NULL, "directories searched for plugin modules, in order"),
    ROW("load", STRINGS, NULL, "plugins to load (names), in order"),
    END,
};

const struct ignis_option ig_cfg_web_rows[] = {
    ROW("listen_address", STRING, "0.0.0.0:9090", "address the HTTP server listens on"),
    ROW("external_url", STRING, "", "URL under which ignisd is reachable from outside"),
    ROW("route_prefix", STRING, "/", "prefix of every HTTP route"),
    ROW("enable_lifecycle", BOOL, "false", "allow shutdown and reload over HTTP"),
    ROW("enable_admin_api", BOOL, "false", "enable the admin endpoints of the API"),
    ROW("read_timeout", DURATION, "5m", "longest time to read a request"),
    ROW("max_connections", INT, "512", "most simultaneous HTTP connections"),
    END,
};

const struct ignis_option ig_cfg_query_rows[] = {
    ROW("timeout", DURATION, "2m", "longest time a query may run"),
    ROW("max_samples", INT, "50000000", "most samples a query may hold in memory at once"),
    ROW("lookback_delta", DURATION, "5m", "how far back an instant selector looks for a sample"),
    ROW("max_concurrency", INT, "20", "most queries executed at once"),
    END,
};

const struct ignis_option ig_cfg_log_rows[] = {
    ROW("level", STRING, "info", "lowest level logged: debug, info, warn, error"),
    ROW("format", STRING, "logfmt", "log line format: logfmt or json"),
    END,
};

const struct ignis_option ig_cfg_exemplars_rows[] = {
    ROW("max_exemplars", INT, "100000",
        "size of the circular buffer of exemplars for all series (0: none kept)"),
    END,
};

const struct ignis_option ig_cfg_storage_rows[] = {
    SUB("exemplars", GROUP, ig_cfg_exemplars_rows,
        "exemplar storage (handed to the storage in use)"),
    END,
};

const struct ignis_option ig_cfg_exporters_rows[] = {
    END,
};

const struct ignis_option ig_cfg_basic_auth_rows[] = {
    ROW("username", STRING, NULL, "user name"),
    ROW("password", SECRET, NULL, "password (or password_file)"),
    ROW("password_file", STRING, NULL, "file holding the password"),
    END,
};

const struct ignis_option ig_cfg_authorization_rows[] = {
    ROW("type", STRING, "Bearer", "authentication type of the Authorization header"),
    ROW("credentials", SECRET, NULL, "credentials (or credentials_file)"),
    ROW("credentials_file", STRING, NULL, "file holding the credentials"),
    END,
};

static const struct ignis_option tls_rows[] = {
    ROW("ca_file", STRING, NULL, "CA certificate to verify the server with"),
    ROW("cert_file", STRING, NULL, "client certificate"),
    ROW("key_file", STRING, NULL, "client certificate's key"),
    ROW("server_name", STRING, NULL, "server name (SNI) to ask for and verify"),
    ROW("insecure_skip_verify", BOOL, "false", "do not verify the server's certificate"),
    END,
};

const struct ignis_option ig_cfg_static_rows[] = {
    ROW("targets", STRINGS, NULL, "host:port of each target"),
    ROW("labels", LABELS, NULL, "labels given to every target of this group"),
    END,
};

const struct ignis_option ig_cfg_relabel_rows[] = {
    ROW("source_labels", STRINGS, NULL, "labels whose values are joined and matched"),
    ROW("separator", STRING, ";", "placed between the joined source label values"),
    ROW("regex", REGEX, "(.*)", "regular expression (RE2, anchored) matched against them"),
    ROW("modulus", INT, NULL, "modulus of the hash for hashmod"),
    ROW("target_label", STRING, NULL, "label written by replace, hashmod, ..."),
    ROW("replacement", STRING, "$1", "value written, with ${1}... from the regex"),
    ROW("action", STRING, "replace",
        "replace keep drop keepequal dropequal hashmod labelmap labeldrop labelkeep "
        "lowercase uppercase"),
    END,
};

const struct ignis_option ig_cfg_scrape_rows[] = {
    REQ("job_name", STRING, "job label of the scraped series; unique among scrape configs"),
    ROW("scrape_interval", DURATION, NULL, "how often to scrape (default: global's)"),
    ROW("scrape_timeout", DURATION, NULL, "how long a scrape may take (default: global's)"),
    ROW("metrics_path", STRING, "/metrics", "HTTP path of the metrics"),
    ROW("scheme", STRING, "http", "http or https"),
    ROW("params", LABELS, NULL, "URL parameters (a name may repeat)"),
    ROW("honor_labels", BOOL, "false", "scraped labels win over the target's labels"),
    ROW("honor_timestamps", BOOL, "true", "use the timestamps the target exposes"),
    ROW("track_timestamps_staleness", BOOL, "false",
        "mark series with explicit timestamps stale when they disappear"),
    ROW("enable_compression", BOOL, "true", "ask targets for gzip-compressed bodies"),
    SUB("basic_auth", GROUP, ig_cfg_basic_auth_rows, "HTTP basic authentication"),
    SUB("authorization", GROUP, ig_cfg_authorization_rows, "Authorization header"),
    SUB("tls_config", GROUP, tls_rows, "TLS settings of scrape requests"),
    ROW("proxy_url", STRING, NULL, "HTTP proxy"),
    SUB("static_configs", LIST, ig_cfg_static_rows, "statically listed targets"),
    SUB("relabel_configs", LIST, ig_cfg_relabel_rows, "relabeling of targets"),
    SUB("metric_relabel_configs", LIST, ig_cfg_relabel_rows,
        "relabeling of scraped samples before they are stored"),
    ROW("body_size_limit", SIZE, "0", "largest uncompressed body accepted (0: no limit)"),
    ROW("sample_limit", INT, "0", "most samples per scrape (0: no limit)"),
    ROW("label_limit", INT, "0", "most labels per sample (0: no limit)"),
    ROW("label_name_length_limit", INT, "0", "longest label name (0: no limit)"),
    ROW("label_value_length_limit", INT, "0", "longest label value (0: no limit)"),
    ROW("target_limit", INT, "0", "most targets after relabeling (0: no limit)"),
    END,
};

const struct ignis_option ig_cfg_alertmanager_rows[] = {
    ROW("timeout", DURATION, "10s", "timeout of one push of alerts"),
    ROW("api_version", STRING, "v2", "Alertmanager API version (v2)"),
    ROW("path_prefix", STRING, "/", "prefix of the HTTP path alerts are pushed to"),
    ROW("scheme", STRING, "http", "http or https"),
    SUB("basic_auth", GROUP, ig_cfg_basic_auth_rows, "HTTP basic authentication"),
    SUB("authorization", GROUP, ig_cfg_authorization_rows, "Authorization header"),
    SUB("tls_config", GROUP, tls_rows, "TLS settings of pushes"),
    ROW("proxy_url", STRING, NULL, "HTTP proxy"),
    SUB("static_configs", LIST, ig_cfg_static_rows, "statically listed Alertmanagers"),
    SUB("relabel_configs", LIST, ig_cfg_relabel_rows, "relabeling of Alertmanager targets"),
    END,
};

const struct ignis_option ig_cfg_alerting_rows[] = {
    SUB("alert_relabel_configs", LIST, ig_cfg_relabel_rows,
        "relabeling of alerts before they are sent"),
    SUB("alertmanagers", LIST, ig_cfg_alertmanager_rows, "Alertmanagers alerts are sent to"),
    END,
};

const struct ignis_option ig_cfg_root_rows[] = {
    SUB("global", GROUP, ig_cfg_global_rows, "defaults for the other sections"),
    SUB("plugins", GROUP, ig_cfg_plugins_rows, "where plugins are found and which to load"),
    SUB("web", GROUP, ig_cfg_web_rows, "the HTTP server"),
    SUB("query", GROUP, ig_cfg_query_rows,
        "query limits; query.X holds the settings of query plugin X"),
    SUB("log", GROUP, ig_cfg_log_rows, "logging"),
    ROW("workers", INT, "0", "worker threads (0: one per core)"),
    SUB("storage", GROUP, ig_cfg_storage_rows, "storage.X holds the settings of storage plugin X"),
    SUB("exporters", GROUP, ig_cfg_exporters_rows,
        "exporters.X holds the settings of exporter plugin X"),
    SUB("scrape_configs", LIST, ig_cfg_scrape_rows,
        "scrape jobs; X_sd_configs in a job go to discovery plugin X"),
    ROW("rule_files", STRINGS, NULL, "globs of Prometheus rule files"),
    SUB("alerting", GROUP, ig_cfg_alerting_rows, "where alerts are sent"),
    END,
};

const struct ignis_option *ig_config_core_schema(void)
{
    return ig_cfg_root_rows;
}

/* ---- printing ------------------------------------------------------------------ */

static const char *type_name(const struct ignis_option *o)
{
    switch (o->type) {
    case IGNIS_OPT_STRING:
        return "string";
    case IGNIS_OPT_INT:
        return "int";
    case IGNIS_OPT_FLOAT:
        return "float";
    case IGNIS_OPT_BOOL:
        return "bool";
    case IGNIS_OPT_DURATION:
        return "duration";
    case IGNIS_OPT_SIZE:
        return "size";
    case IGNIS_OPT_REGEX:
        return "regex";
    case IGNIS_OPT_SECRET:
        return "secret";
    case IGNIS_OPT_STRINGS:
        return "strings";
    case IGNIS_OPT_LABELS:
        return "labels";
    case IGNIS_OPT_GROUP:
        return "group";
    case IGNIS_OPT_LIST:
        return "list";
    case IGNIS_OPT_ANY:
        return "any";
    case IGNIS_OPT_END:
        break;
    }
    return "?";
}

/* Bounds the recursion of printing (and of walking, in config.c): a schema that nests
 * deeper is a plugin's mistake, not something to follow into a stack overflow. */
#define MAX_SCHEMA_DEPTH 16

static int name_width(const struct ignis_option *rows, int indent, int depth)
{
    int w = 0;
    if (!rows || depth > MAX_SCHEMA_DEPTH)
        return 0;
    for (const struct ignis_option *o = rows; o->name; o++) {
        int n = indent + (int)strlen(o->name);
        if (n > w)
            w = n;
        if (o->sub && (o->type == IGNIS_OPT_GROUP || o->type == IGNIS_OPT_LIST)) {
            n = name_width(o->sub, indent + 2, depth + 1);
            if (n > w)
                w = n;
        }
    }
    return w;
}

static void print_rows(FILE *f, const struct ignis_option *rows, int indent, int width, int depth)
{
    if (!rows || depth > MAX_SCHEMA_DEPTH)
        return;
    for (const struct ignis_option *o = rows; o->name; o++) {
        const char *def = o->def;
        char defbuf[96];
        if (o->flags & IGNIS_OPT_REQUIRED)
            def = "(required)";
        else if (def && o->type == IGNIS_OPT_SECRET)
            def = "<secret>";
        else if (def && (o->type == IGNIS_OPT_STRING || o->type == IGNIS_OPT_REGEX)) {
            snprintf(defbuf, sizeof defbuf, "\"%s\"", def);
            def = defbuf;
        } else if (!def)
            def = "-";
        fprintf(f, "%*s%-*s  %-8s  %-14s  %s\n", indent, "", width - indent, o->name, type_name(o),
                def, o->help ? o->help : "");
        if (o->sub && (o->type == IGNIS_OPT_GROUP || o->type == IGNIS_OPT_LIST))
            print_rows(f, o->sub, indent + 2, width, depth + 1);
    }
}

void ig_config_print_schema(FILE *f, const struct ignis_option *schema, int indent)
{
    if (indent < 0)
        indent = 0;
    if (!schema || !schema->name) {
        fprintf(f, "%*s(no options)\n", indent, "");
        return;
    }
    int width = name_width(schema, indent, 0);
    print_rows(f, schema, indent, width, 0);
}
