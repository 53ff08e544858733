/* core/config_priv.h — shared between the config reader's files: the core's schema
 * tables (config_schema.c) that the walker (config.c) recognises by address, to know
 * which groups host plugin subtrees and which semantic checks apply. Private to
 * core/config*.c. */
#ifndef IG_CONFIG_PRIV_H
#define IG_CONFIG_PRIV_H

#include <ignis/config.h>

extern const struct ignis_option ig_cfg_root_rows[];
extern const struct ignis_option ig_cfg_global_rows[];
extern const struct ignis_option ig_cfg_plugins_rows[];
extern const struct ignis_option ig_cfg_web_rows[];
extern const struct ignis_option ig_cfg_query_rows[];
extern const struct ignis_option ig_cfg_log_rows[];
extern const struct ignis_option ig_cfg_storage_rows[];
extern const struct ignis_option ig_cfg_exemplars_rows[];
extern const struct ignis_option ig_cfg_exporters_rows[];
extern const struct ignis_option ig_cfg_scrape_rows[];
extern const struct ignis_option ig_cfg_static_rows[];
extern const struct ignis_option ig_cfg_relabel_rows[];
extern const struct ignis_option ig_cfg_basic_auth_rows[];
extern const struct ignis_option ig_cfg_authorization_rows[];
extern const struct ignis_option ig_cfg_alerting_rows[];
extern const struct ignis_option ig_cfg_alertmanager_rows[];

/* The relabel actions Prometheus knows, NULL-terminated. */
extern const char *const ig_cfg_relabel_actions[];

#endif
