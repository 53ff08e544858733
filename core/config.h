/* core/config.h — reading ignis.conf (libconfig syntax, prometheus.yml's structure and
 * names): the core's own schema, validation of every plugin's subtree against the
 * schema the plugin declares, and the typed result. Nothing here touches the loop or
 * plugins' code: plugin schemas arrive through a lookup callback, so `ignisctl check
 * config` and ignisd validate the same way. */
#ifndef IG_CONFIG_H
#define IG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <ignis/plugin.h>

/* The plugins section, read before anything else: which directories to search and
 * which plugins to load (names, in order). Owned by the struct. */
struct ig_config_plugins {
    char **paths;
    size_t npaths;
    char **load;
    size_t nload;
};

/* Reads only the `plugins` group of the file. Returns 0, or -1 with "file:line: ..." in
 * err. A file without a plugins group yields empty lists. Free with
 * ig_config_plugins_clear. */
int ig_config_read_plugins(const char *path, struct ig_config_plugins *out, char *err,
                           size_t errlen);
void ig_config_plugins_clear(struct ig_config_plugins *p);

/* What the loader knows of a plugin: its kind and its option schema (may be NULL:
 * the plugin takes no options). Returns false when no plugin of that name is loaded. */
typedef bool (*ig_config_plugin_fn)(void *arg, const char *name, enum ignis_plugin_kind *kind,
                                    const struct ignis_option **schema);

/* One plugin instance the config asks for. */
struct ig_config_instance {
    enum ignis_plugin_kind kind;
    char *plugin;                   /* plugin name */
    char *name;                     /* instance name, unique within the kind */
    const struct ignis_config *cfg; /* its validated view (owned by the ig_config) */
};

struct ig_config {
    char *path;

    /* global */
    int64_t scrape_interval_ms;     /* default 1m */
    int64_t scrape_timeout_ms;      /* default 10s */
    int64_t evaluation_interval_ms; /* default 1m */
    struct ignis_label *external_labels; /* sorted; strings owned */
    size_t nexternal_labels;

    struct ig_config_plugins plugins;

    /* web */
    char *listen_address;       /* default "0.0.0.0:9090" */
    char *external_url;         /* default "" (derived from the listen address) */
    char *route_prefix;         /* default "/" */
    bool enable_lifecycle;
    bool enable_admin_api;
    int64_t read_timeout_ms;    /* default 5m */
    int64_t max_connections;    /* default 512 */

    /* query (the core's side; the query plugin has its own subtree) */
    int64_t query_timeout_ms;   /* default 2m */
    int64_t query_max_samples;  /* default 50000000 */
    int64_t query_lookback_ms;  /* default 5m */
    int64_t query_max_concurrency; /* default 20 */

    /* log */
    char *log_level;            /* default "info" */
    char *log_format;           /* default "logfmt" */

    /* workers */
    int64_t workers;            /* 0: number of cores */

    /* storage: storage.exemplars.max_exemplars (0: off) */
    int64_t max_exemplars;

    /* The whole file as validated views. The root's schema is the core's; plugin
     * subtrees are validated against their plugins' schemas and appear in instances. */
    struct ignis_config *root;
    /* The view holding the list scrape_configs (it is root; NULL when the file has no
     * scrape config): ignis_config_count(scrape_configs, "scrape_configs") elements,
     * ignis_config_at(scrape_configs, "scrape_configs", i). An element's plugin subtrees
     * (X_sd_configs) are not in its view; they are listed in instances ("JOB/X/j"). */
    const struct ignis_config *scrape_configs;

    struct ig_config_instance *instances;
    size_t ninstances;
    void *priv; /* the implementation's own state (views it owns) */
};

/* Reads and validates the whole file. plugin_fn tells which plugins are loaded and their
 * schemas (it may be NULL: then every plugin subtree is an error). Where a plugin's
 * settings sit:
 *   storage.X            storage plugin X (except storage.exemplars, the core's)
 *   query.X              query plugin X
 *   exporters.X          exporter plugin X
 *   X (top level)        service plugin X (e.g. alertmanager)
 *   scrape_configs[i].X_sd_configs[j]   discovery plugin X, instance "JOB/X/j"
 * Every loaded plugin of kind storage, query, exporter or service gets one instance
 * named after the plugin, configured from its subtree or its schema defaults.
 * Returns 0, or -1 with every error found, one per line, each "file:line: message", in
 * err (truncated to errlen). */
int ig_config_load(const char *path, ig_config_plugin_fn plugin_fn, void *arg,
                   struct ig_config *out, char *err, size_t errlen);
void ig_config_clear(struct ig_config *c);

/* Prints a schema as `ignisd --plugin-help NAME` shows it: one row per option with
 * its type, default and help, nested groups and lists indented. */
void ig_config_print_schema(FILE *f, const struct ignis_option *schema, int indent);

/* The core's own schema (for --help-config and the docs). */
const struct ignis_option *ig_config_core_schema(void);

#endif
