/* core/selfmetrics.h — ignisd's own metrics, through libignis' default registry:
 * process_*, prometheus_http_* by handler, config reload status, plugin load status,
 * worker lanes, ignis_build_info; and the /metrics route, which also serves the
 * families collected by loaded exporter plugins. */
#ifndef IG_SELFMETRICS_H
#define IG_SELFMETRICS_H

#include <stdbool.h>
#include <stddef.h>

struct ig_core;
struct ig_http;
struct ig_selfmetrics;

struct ig_selfmetrics *ig_selfmetrics_new(struct ig_core *core, char *err, size_t errlen);
/* Adds /metrics and installs the HTTP request observer. */
int ig_selfmetrics_routes(struct ig_selfmetrics *s, struct ig_http *http, const void *owner,
                          char *err, size_t errlen);
void ig_selfmetrics_reload_result(struct ig_selfmetrics *s, bool ok);
void ig_selfmetrics_free(struct ig_selfmetrics *s);

#endif
