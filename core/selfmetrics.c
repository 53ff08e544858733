/* core/selfmetrics.c — TEMPORARY until libignis' metrics land. */
#include <config.h>
#include "core/selfmetrics.h"
#include "core/core.h"
#include "core/http.h"
#include <stdlib.h>

struct ig_selfmetrics {
    struct ig_core *core;
};

static void h_metrics(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    ig_http_reply_text(req, 503, "not yet\n");
}

struct ig_selfmetrics *ig_selfmetrics_new(struct ig_core *core, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct ig_selfmetrics *s = calloc(1, sizeof *s);
    if (s)
        s->core = core;
    return s;
}

int ig_selfmetrics_routes(struct ig_selfmetrics *s, struct ig_http *http, const void *owner,
                          char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return ig_http_route(http, IGNIS_HTTP_GET, "/metrics", h_metrics, s, owner);
}

void ig_selfmetrics_reload_result(struct ig_selfmetrics *s, bool ok)
{
    (void)s;
    (void)ok;
}

void ig_selfmetrics_free(struct ig_selfmetrics *s)
{
    free(s);
}
struct ignis_registry *ignis_registry_default(void);
struct ignis_registry *ignis_registry_default(void) { return NULL; }
