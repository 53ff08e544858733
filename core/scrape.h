/* core/scrape.h — the scrape manager: target groups from static configs and discovery
 * plugins → relabeling → one scrape loop per target (deterministic offset within the
 * interval, timestamps snapped to the target's schedule) → parse and append on the
 * ingest lane through the storage ops table, with a per-target scrape cache from the raw
 * bytes of a series to its storage ref, staleness markers, limits and the synthetic
 * series. Runs on the loop; the parse+append job of a target runs on a worker, one at a
 * time per target. */
#ifndef IG_SCRAPE_H
#define IG_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ig_core;
struct ig_config;
struct ig_scrape;
struct evbuffer;

struct ig_scrape *ig_scrape_new(struct ig_core *core, char *err, size_t errlen);
/* Applies (at start and on every reload) the scrape configs of cfg: pools of jobs that
 * stay keep their targets' state; new ones start; removed ones stop and mark their
 * series stale. Returns 0, or -1 with err (the previous pools stay). */
int ig_scrape_apply(struct ig_scrape *s, const struct ig_config *cfg, char *err, size_t errlen);
/* Stops every loop (no stale markers: a restart continues the series). Targets whose
 * ingest job is running are freed when it completes (the workers' drain runs it). */
void ig_scrape_stop(struct ig_scrape *s);
/* Frees the manager, after ig_scrape_stop and the workers' drain. */
void ig_scrape_free(struct ig_scrape *s);

/* JSON for /api/v1/targets: the "data" object. state: NULL/"any", "active", "dropped";
 * pool: NULL or a scrapePool name. */
void ig_scrape_targets_json(struct ig_scrape *s, struct evbuffer *out, const char *state,
                            const char *pool);

/* The timestamp of a scrape starting at wall time now (ms): the schedule's (prev +
 * interval) when now is within tolerance of it, else now. prev 0: no previous scrape. */
int64_t ig_scrape_align(int64_t now, int64_t prev, int64_t interval, int64_t tolerance);
/* A target's offset within its interval, from its hash and the server's jitter seed:
 * scrapes happen at wall times congruent to it modulo the interval. */
int64_t ig_scrape_offset(uint64_t hash, uint64_t seed, int64_t interval);

/* Number of active targets (tests, self-metrics). */
size_t ig_scrape_active_targets(const struct ig_scrape *s);

#endif
