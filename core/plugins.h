/* core/plugins.h — the plugin loader and the instances created from the config.
 * Loading: dlopen of NAME.so from the configured directories, then the ABI checks; a
 * loaded plugin is never dlclose'd (timers and routes hold its code). Instances: each
 * gets its own host table (so its log lines carry its name) and is created,
 * reconfigured and destroyed on the loop. */
#ifndef IG_PLUGINS_H
#define IG_PLUGINS_H

#include <stdbool.h>
#include <stddef.h>
#include <ignis/plugin.h>

struct ig_core;
struct ig_config;

struct ig_plugin {
    char *file;                       /* path it was loaded from */
    void *dl;                         /* dlopen handle, never closed */
    const struct ignis_plugin *desc;  /* borrowed from the .so */
};

struct ig_plugins {
    struct ig_plugin *v;
    size_t n, cap;
};

/* Loads the plugin NAME from the first directory of dirs holding NAME.so, or the file
 * itself when name contains a '/'. Refuses (and returns -1 with err naming the file and
 * the reason): a file that does not load, a missing ignis_plugin symbol, another ABI
 * major, a newer ABI minor, an unknown kind, a missing or malformed name, an ops table
 * too small for its kind, a name already loaded from another file. Loading a name that
 * is already loaded from the same file is a no-op returning 0. */
int ig_plugins_load(struct ig_plugins *ps, const char *name, char *const *dirs, size_t ndirs,
                    char *err, size_t errlen);
/* Loads every *.so of the directories (for configs without plugins.load); every
 * refusal is appended to err, one per line. Returns the number refused. */
int ig_plugins_load_all(struct ig_plugins *ps, char *const *dirs, size_t ndirs, char *err,
                        size_t errlen);
const struct ig_plugin *ig_plugins_find(const struct ig_plugins *ps, const char *name);
/* Frees the bookkeeping (the code stays mapped). */
void ig_plugins_clear(struct ig_plugins *ps);

/* The config module's view of loaded plugins (ig_config_plugin_fn). */
bool ig_plugins_schema(void *ps, const char *name, enum ignis_plugin_kind *kind,
                       const struct ignis_option **schema);

/* One instance. host is first so a host table pointer is the instance pointer. */
struct ig_instance {
    struct ignis_host host;
    struct ig_core *core;
    const struct ig_plugin *plugin;
    enum ignis_plugin_kind kind;
    char *name;
    void *inst;
    bool ready;
    bool started;   /* services and discovery: start() succeeded (stop before destroy) */
    struct ignis_http_call *calls; /* http_fetch calls in flight (canceled at destroy) */
    struct ig_instance *next;
};

/* Creates the instances the config asks for, in config order (storage first, then
 * query, exporters, discovery, notifiers, services). On failure destroys those it made,
 * leaves core->instances unchanged and returns -1 with err naming the plugin. */
int ig_instances_create(struct ig_core *core, const struct ig_config *cfg, char *err,
                        size_t errlen);
/* Applies a reloaded config: reconfigures the instances that stay, creates new ones,
 * destroys removed ones. Returns 0, or -1 with err when some instance refused its new
 * config (that instance keeps its old one). */
int ig_instances_apply(struct ig_core *core, const struct ig_config *cfg, char *err,
                       size_t errlen);
/* Starts service instances that have not started. */
int ig_instances_start(struct ig_core *core, char *err, size_t errlen);
/* Stops services and destroys every instance (services and exporters first, storage
 * last). */
void ig_instances_destroy_all(struct ig_core *core);
struct ig_instance *ig_instances_find(struct ig_core *core, enum ignis_plugin_kind kind,
                                      const char *name);
/* True when every instance reports ready. */
bool ig_instances_ready(struct ig_core *core);

#endif
