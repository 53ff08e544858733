/* core/scrape_int.h — the scrape manager's private structures, shared by the loop side
 * (scrape.c: pools, targets, schedule, HTTP) and the worker side (scrape_ingest.c:
 * parse, cache, relabel, append). A target is owned by the loop, except while `busy`:
 * then its ingest fields belong to the one job running for it. */
#ifndef IG_SCRAPE_INT_H
#define IG_SCRAPE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <ignis/plugin.h>

#include "core/httpc.h"
#include "core/relabel.h"
#include "core/scrape.h"

struct ig_core;
struct ig_instance;
struct ignis_timer;

/* A scrape cache entry: the raw bytes of a series line's name-and-labels part and what
 * they became (a storage ref, or "dropped by metric relabeling"). */
struct cache_entry {
    uint64_t hash;      /* of the raw bytes */
    uint64_t ref;
    uint32_t raw_off;   /* the raw bytes: arena[raw_off .. raw_off + raw_len) */
    uint32_t raw_len;
    uint32_t iter;      /* last scrape iteration that saw it */
    uint8_t dropped;    /* metric relabeling dropped it */
    uint8_t explicit_ts;/* the exposition gave it its own timestamp */
    uint8_t fresh;      /* added by the scrape in progress: no stale marker if it fails */
};

/* The cache keeps its entries, and their raw bytes, in the order the target exposed
 * them, so a steady-state scrape walks both sequentially: each line is first compared
 * with the entry after the previous line's (`next`), and only a miss hashes the line
 * and probes the index. Entries a scrape did not see are compacted away after it. */
struct scrape_cache {
    struct cache_entry *ents; /* dense, in exposition order */
    size_t n, cap;
    uint32_t *index;          /* open addressing on hash: entry number + 1, 0 empty */
    size_t icap;              /* power of two */
    char *arena;              /* raw bytes of the entries, in entry order */
    size_t arena_len, arena_cap;
    size_t next;              /* the entry expected for the next line */
};

struct meta_entry {
    char *family;
    size_t family_len;
    enum ignis_metric_type type;
    char *help;
    char *unit;
};

enum target_health { HEALTH_UNKNOWN = 0, HEALTH_UP, HEALTH_DOWN };

struct pool;

struct target {
    struct pool *pool;
    struct target *next;        /* in the pool */
    uint64_t hash;              /* of labels and URL: identity across syncs */
    struct ignis_label *labels; /* final target labels, sorted (one block with strings) */
    size_t nlabels;
    struct ignis_label *discovered; /* labels before relabeling (one block) */
    size_t ndiscovered;
    char *url;
    char *global_url;
    int64_t interval_ms, timeout_ms;
    int64_t offset_ms;
    bool seen;                  /* in the latest sync */

    /* schedule and HTTP (loop) */
    struct ignis_timer *timer;
    struct ig_httpc_xfer *xfer;
    bool busy;                  /* HTTP or an ingest job in flight */
    bool removed;               /* gone from discovery; freed when idle */
    bool stopping;              /* the manager is shutting down: no stale markers */
    int64_t sched_ts;           /* timestamp of the scrape in flight (ms) */
    struct timespec started;
    int64_t last_start_mono;    /* for prometheus_target_interval_length_seconds */

    /* results for the API (loop) */
    enum target_health health;
    char last_error[512];
    int64_t last_scrape_ms;     /* wall time the last scrape started */
    double last_duration;
    uint64_t last_samples;

    /* handed to the ingest job (loop writes before submit, job reads) */
    struct ig_buf body;
    char content_type[160];
    char http_error[512];
    int http_status;
    double http_seconds;
    bool final_stale;           /* the job only marks everything stale (target removed) */

    /* ingest state (the job's while busy) */
    struct scrape_cache cache;
    uint32_t iter;
    int64_t prev_ts;            /* timestamp of the previous scrape (ms), 0 before any */
    uint64_t synth_refs[5];
    bool prev_ok;               /* previous scrape appended its samples */
    /* outcome written by the job, read on the loop at its completion */
    char job_error[512];
    bool job_ok;
    uint64_t job_samples;
    double job_seconds;         /* the whole scrape: fetch, parse, append */

    /* metadata per family (written by the job, read by the API: meta_mu) */
    pthread_mutex_t meta_mu;
    struct meta_entry *meta;
    size_t nmeta, meta_cap;
    uint32_t *meta_idx;         /* open addressing over meta by family hash: index + 1 */
    size_t meta_idx_cap;        /* power of two, > 2 * nmeta */
};

struct sd_group {
    char *source;
    struct ignis_label *labels; /* one block with its strings */
    size_t nlabels;
    struct ignis_label **targets; /* each one block with its strings */
    size_t *ntarget_labels;
    size_t ntargets;
};

struct provider {
    struct ig_scrape *mgr;
    struct pool *pool;
    char *name;                 /* "static_configs" or the discovery instance name */
    struct ig_instance *inst;   /* NULL for static configs */
    struct sd_group *groups;
    size_t ngroups;
    bool started;
};

struct dropped_target {
    struct ignis_label *labels; /* discovered labels; one block with its strings */
    size_t nlabels;
};

struct pool {
    struct ig_scrape *mgr;
    struct pool *next;
    char *job;
    char *settings_key;         /* a digest of its settings; a change restarts targets */

    int64_t interval_ms, timeout_ms;
    char *metrics_path, *scheme;
    struct ignis_label *params; /* one block with its strings */
    size_t nparams;
    bool honor_labels, honor_timestamps, track_ts_staleness, enable_compression;
    char *basic_user, *basic_password, *authorization;
    char *ca_file, *cert_file, *key_file, *server_name;
    bool insecure;
    char *proxy_url;
    uint64_t body_size_limit;
    int64_t sample_limit, label_limit, label_name_len, label_value_len, target_limit;
    struct ig_relabel *relabel, *metric_relabel;

    struct provider *providers;
    size_t nproviders;
    struct target *targets;
    size_t ntargets;
    struct dropped_target *dropped;
    size_t ndropped;
    struct ignis_timer *sync_timer;
    bool removed;
    size_t alive;               /* targets not yet freed (retiring ones included) */
};

struct ig_scrape {
    struct ig_core *core;
    /* self-metrics, under Prometheus' names */
    struct ignis_counter *c_sample_limit, *c_dup_ts, *c_out_of_order, *c_out_of_bounds;
    struct ignis_counter *c_scrapes_failed, *c_cache_flush;
    struct ignis_summary_vec *interval_length;
    struct ig_httpc *httpc;
    const struct ignis_storage_ops *st;
    void *st_inst;
    struct pool *pools;
    struct provider **dproviders; /* one per started discovery instance */
    size_t ndproviders;
    uint64_t jitter_seed;
    int64_t tolerance_ms;
};

/* scrape_ingest.c: runs on a worker (work) and then on the loop (done). */
void ig_scrape_ingest_work(void *arg);
/* Counts a storage error of one sample in the matching self-metric. */
void ig_scrape_count_sample_error(struct ig_scrape *m, int err);
void ig_scrape_cache_free(struct scrape_cache *c);
void ig_scrape_meta_free(struct target *t);

#endif
