/* core/core.h — the daemon's state: one loop and what hangs off it. Owned by the loop
 * thread; workers never touch it. */
#ifndef IG_CORE_H
#define IG_CORE_H

#include <stdbool.h>
#include <stdatomic.h>
#include "core/config.h"
#include "core/plugins.h"

struct event_base;
struct ig_workers;
struct ig_http;
struct ig_selfmetrics;

/* Overrides from the command line (Prometheus' flags); NULL / -1 when not given. */
struct ig_flags {
    const char *config_file;
    const char *tsdb_path;
    const char *retention_time;
    const char *retention_size;
    const char *listen_address;
    const char *external_url;
    const char *route_prefix;
    int enable_admin_api;  /* -1 unset, 0, 1 */
    int enable_lifecycle;
    const char *query_timeout;
    const char *query_max_samples;
    const char *query_lookback;
    const char *log_level;
    const char *log_format;
    /* --plugin-dir (repeatable): searched instead of the config's plugins.path */
    char *plugin_dirs[16];
    size_t nplugin_dirs;
    int64_t scrape_tolerance_ms; /* --scrape.timestamp-tolerance; -1 unset */
};

struct ig_core {
    struct event_base *base;
    struct ig_workers *workers;
    struct ig_http *http;
    struct ig_flags flags;
    struct ig_config cfg;       /* the config in force */
    bool have_cfg;
    struct ig_plugins plugins;
    struct ig_instance *instances; /* in creation order */
    _Atomic int not_ready;      /* instances that said set_ready(false) */
    bool started;               /* start-up finished */
    bool stopping;
    char listen_bound[160];
    struct ig_selfmetrics *self;
    struct ig_scrape *scrape;
    struct ig_httpc *httpc;     /* plugins' HTTP client (host http_fetch), made on first use */
    char config_dir[4096];      /* absolute directory of the config file ("" when unknown) */
};

/* Sets core->config_dir from the config file's path. */
void ig_core_set_config_dir(struct ig_core *core, const char *config_file);
/* path as the configuration means it: a relative one is taken relative to the config
 * file's directory, as Prometheus does. malloc'd; NULL when path is NULL or on OOM. */
char *ig_core_path(const struct ig_core *core, const char *path);

/* Applies the command-line overrides to a freshly loaded config (and to the views of
 * the plugin instances whose schemas have the matching settings). Returns 0, or -1 with
 * err when a flag's value is invalid. */
int ig_core_apply_flags(const struct ig_flags *f, struct ig_config *cfg, char *err,
                        size_t errlen);

/* Reads, validates and loads plugins for the config file (plugins are loaded on the
 * way, since their schemas validate their subtrees). Returns 0, or -1 with every error
 * in err. */
int ig_core_read_config(struct ig_core *core, const char *path, struct ig_config *out,
                        char *err, size_t errlen);

/* Reloads the config file: an invalid one keeps the running config. Returns 0 or -1
 * (logged, and the reason in err). */
int ig_core_reload(struct ig_core *core, char *err, size_t errlen);

#endif
