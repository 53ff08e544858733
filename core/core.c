/* core/core.c — reading the config with the plugins it names, applying the command-line
 * overrides, and reloading: a new config is read and validated whole before anything
 * running is touched, so an invalid file leaves the old config in force. */
#include <config.h>
#include "core/core.h"
#include "core/log.h"
#include "core/scrape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ig_core_read_config(struct ig_core *core, const char *path, struct ig_config *out,
                        char *err, size_t errlen)
{
    struct ig_config_plugins pl;
    memset(&pl, 0, sizeof pl);
    if (ig_config_read_plugins(path, &pl, err, errlen) != 0)
        return -1;
    /* Directories: the config's, else the compiled-in default. */
    char *defdir[] = {(char *)IGNIS_PLUGIN_DIR};
    char *const *dirs = pl.npaths ? pl.paths : defdir;
    size_t ndirs = pl.npaths ? pl.npaths : 1;
    if (core->flags.nplugin_dirs) {
        dirs = core->flags.plugin_dirs;
        ndirs = core->flags.nplugin_dirs;
    }
    size_t k = 0;
    int failed = 0;
    if (pl.nload) {
        for (size_t i = 0; i < pl.nload; i++) {
            char one[1024];
            if (ig_plugins_load(&core->plugins, pl.load[i], dirs, ndirs, one, sizeof one) != 0) {
                failed++;
                if (k < errlen)
                    k += (size_t)snprintf(err + k, errlen - k, "%s%s", k ? "\n" : "", one);
            }
        }
    } else {
        failed = ig_plugins_load_all(&core->plugins, dirs, ndirs, err, errlen);
        k = strlen(err);
        while (k > 0 && err[k - 1] == '\n')
            err[--k] = '\0';
    }
    ig_config_plugins_clear(&pl);
    if (failed)
        return -1;
    memset(out, 0, sizeof *out);
    if (ig_config_load(path, ig_plugins_schema, &core->plugins, out, err, errlen) != 0)
        return -1;
    if (ig_core_apply_flags(&core->flags, out, err, errlen) != 0) {
        ig_config_clear(out);
        return -1;
    }
    return 0;
}

static int replace_str(char **dst, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

/* Sets key in every instance view of the given kind whose schema has it. */
static int set_in_instances(struct ig_config *cfg, enum ignis_plugin_kind kind,
                            const char *key, const char *value, const char *flag, char *err,
                            size_t errlen)
{
    for (size_t i = 0; i < cfg->ninstances; i++) {
        struct ig_config_instance *ci = &cfg->instances[i];
        if (ci->kind != kind || !ignis_config_row(ci->cfg, key))
            continue;
        char one[256];
        if (ignis_config_set((struct ignis_config *)ci->cfg, key, value, flag, one,
                             sizeof one) != 0) {
            snprintf(err, errlen, "flag %s: %s", flag, one);
            return -1;
        }
    }
    return 0;
}

int ig_core_apply_flags(const struct ig_flags *f, struct ig_config *cfg, char *err,
                        size_t errlen)
{
    int64_t ms;
    if (f->listen_address && replace_str(&cfg->listen_address, f->listen_address) != 0)
        goto nomem;
    if (f->external_url && replace_str(&cfg->external_url, f->external_url) != 0)
        goto nomem;
    if (f->route_prefix && replace_str(&cfg->route_prefix, f->route_prefix) != 0)
        goto nomem;
    if (f->enable_admin_api >= 0)
        cfg->enable_admin_api = f->enable_admin_api;
    if (f->enable_lifecycle >= 0)
        cfg->enable_lifecycle = f->enable_lifecycle;
    if (f->log_level) {
        enum ignis_log_level l;
        if (ig_log_parse_level(f->log_level, &l) != 0) {
            snprintf(err, errlen, "flag --log.level: unknown level \"%s\" (debug, info, warn, error)",
                     f->log_level);
            return -1;
        }
        if (replace_str(&cfg->log_level, f->log_level) != 0)
            goto nomem;
    }
    if (f->log_format) {
        if (strcmp(f->log_format, "logfmt") != 0 && strcmp(f->log_format, "json") != 0) {
            snprintf(err, errlen, "flag --log.format: unknown format \"%s\" (logfmt, json)",
                     f->log_format);
            return -1;
        }
        if (replace_str(&cfg->log_format, f->log_format) != 0)
            goto nomem;
    }
    if (f->query_timeout) {
        if (ignis_parse_duration(f->query_timeout, strlen(f->query_timeout), &ms) != 0) {
            snprintf(err, errlen, "flag --query.timeout: bad duration \"%s\"", f->query_timeout);
            return -1;
        }
        cfg->query_timeout_ms = ms;
        if (set_in_instances(cfg, IGNIS_PLUGIN_QUERY, "timeout", f->query_timeout,
                             "--query.timeout", err, errlen) != 0)
            return -1;
    }
    if (f->query_lookback) {
        if (ignis_parse_duration(f->query_lookback, strlen(f->query_lookback), &ms) != 0) {
            snprintf(err, errlen, "flag --query.lookback-delta: bad duration \"%s\"",
                     f->query_lookback);
            return -1;
        }
        cfg->query_lookback_ms = ms;
        if (set_in_instances(cfg, IGNIS_PLUGIN_QUERY, "lookback_delta", f->query_lookback,
                             "--query.lookback-delta", err, errlen) != 0)
            return -1;
    }
    if (f->query_max_samples) {
        char *end;
        long long v = strtoll(f->query_max_samples, &end, 10);
        if (*end || v <= 0) {
            snprintf(err, errlen, "flag --query.max-samples: bad number \"%s\"",
                     f->query_max_samples);
            return -1;
        }
        cfg->query_max_samples = v;
        if (set_in_instances(cfg, IGNIS_PLUGIN_QUERY, "max_samples", f->query_max_samples,
                             "--query.max-samples", err, errlen) != 0)
            return -1;
    }
    if (f->tsdb_path && set_in_instances(cfg, IGNIS_PLUGIN_STORAGE, "path", f->tsdb_path,
                                         "--storage.tsdb.path", err, errlen) != 0)
        return -1;
    if (f->retention_time &&
        set_in_instances(cfg, IGNIS_PLUGIN_STORAGE, "retention_time", f->retention_time,
                         "--storage.tsdb.retention.time", err, errlen) != 0)
        return -1;
    if (f->retention_size &&
        set_in_instances(cfg, IGNIS_PLUGIN_STORAGE, "retention_size", f->retention_size,
                         "--storage.tsdb.retention.size", err, errlen) != 0)
        return -1;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int ig_core_reload(struct ig_core *core, char *err, size_t errlen)
{
    struct ig_config next;
    const char *path = core->flags.config_file;
    if (ig_core_read_config(core, path, &next, err, errlen) != 0) {
        ig_error("config", "reload failed: the new config is invalid; the running config "
                           "stays in force\tfile=%s err=\"%s\"", path, err);
        return -1;
    }
    int rc = ig_instances_apply(core, &next, err, errlen);
    /* Instances copied what they keep; the old config's views can go. */
    ig_config_clear(&core->cfg);
    core->cfg = next;
    if (core->scrape) {
        size_t k = strlen(err);
        if (ig_scrape_apply(core->scrape, &core->cfg, err + k, errlen - k) != 0)
            rc = -1;
    }
    if (rc != 0) {
        ig_error("config", "reload partly failed\tfile=%s err=\"%s\"", path, err);
        return -1;
    }
    ig_info("config", "completed loading of configuration file\tfile=%s", path);
    return 0;
}

void ig_core_set_config_dir(struct ig_core *core, const char *config_file)
{
    core->config_dir[0] = 0;
    if (!config_file || !config_file[0])
        return;
    char dir[4096];
    const char *slash = strrchr(config_file, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == config_file)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - config_file), config_file);
    char *abs = realpath(dir, NULL);
    if (abs) {
        snprintf(core->config_dir, sizeof core->config_dir, "%s", abs);
        free(abs);
    }
}

char *ig_core_path(const struct ig_core *core, const char *path)
{
    if (!path)
        return NULL;
    if (path[0] == '/' || !core->config_dir[0])
        return strdup(path);
    size_t n = strlen(core->config_dir) + strlen(path) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", core->config_dir, path);
    return p;
}
