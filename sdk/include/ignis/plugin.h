/* ignis/plugin.h — the plugin ABI: the descriptor a plugin exports, the host table
 * it calls the core through, and the ops table of each plugin kind.
 *
 * Rules of the contract:
 * - A plugin .so exports exactly one symbol, `ignis_plugin`, a const descriptor.
 * - Every ops table and the host table begin with `uint32_t size` (sizeof the table as
 *   the party that filled it was compiled) and only ever grow at the end; an entry is
 *   never reordered or reused. A reader checks IGNIS_HAS(table, field) before using an
 *   entry added after minor 0.
 * - The loader refuses a plugin whose ABI major differs from the host's or whose minor
 *   is newer than the host's.
 * - Ownership is written beside every pointer: "borrowed" means the callee may use it
 *   only until the call returns unless the comment says how long it lives.
 * - Thread rules are written beside every host entry: "loop" entries may be called only
 *   from the event loop thread (where create/reconfigure/destroy and all callbacks that
 *   say so run), "any" entries from any thread.
 */
#ifndef IGNIS_PLUGIN_H
#define IGNIS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <ignis/labels.h>
#include <ignis/selector.h>
#include <ignis/config.h>
#include <ignis/metrics.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IGNIS_ABI_MAJOR 1
#define IGNIS_ABI_MINOR 1
/* Initialiser of the descriptor's abi field: .abi = IGNIS_ABI */
#define IGNIS_ABI {IGNIS_ABI_MAJOR, IGNIS_ABI_MINOR}

struct ignis_abi {
    uint16_t major;
    uint16_t minor;
};

/* True when a table filled by the other party has the given entry. */
#define IGNIS_HAS(tbl, field)                                                              \
    ((tbl)->size >= offsetof(__typeof__(*(tbl)), field) + sizeof((tbl)->field) &&          \
     (tbl)->field != NULL)

/* Error codes returned across the ABI (negative; 0 is success). */
enum ignis_err {
    IGNIS_OK = 0,
    IGNIS_E_INVALID = -1,      /* bad argument or input */
    IGNIS_E_NOMEM = -2,        /* allocation failed or a bound was hit */
    IGNIS_E_NOTSUP = -3,       /* this implementation does not offer that */
    IGNIS_E_NOTFOUND = -4,     /* unknown ref, name or instance */
    IGNIS_E_REF_GONE = -5,     /* storage: the series ref was dropped; append by labels */
    IGNIS_E_OUT_OF_ORDER = -6, /* storage: sample older than the series' newest */
    IGNIS_E_DUP_TS = -7,       /* storage: same timestamp, different value */
    IGNIS_E_OUT_OF_BOUNDS = -8,/* storage: sample older than the head accepts */
    IGNIS_E_IO = -9,           /* storage: disk or network error */
    IGNIS_E_LIMIT = -10,       /* a configured limit was exceeded */
    IGNIS_E_TIMEOUT = -11,
    IGNIS_E_CANCELED = -12,
    IGNIS_E_EXEC = -13,        /* query: execution error */
};

/* A short text for an error code ("out of order sample", ...). */
const char *ignis_strerror(int err);

enum ignis_log_level {
    IGNIS_LOG_DEBUG = 0,
    IGNIS_LOG_INFO,
    IGNIS_LOG_WARN,
    IGNIS_LOG_ERROR,
};

enum ignis_plugin_kind {
    IGNIS_PLUGIN_DISCOVERY = 1,
    IGNIS_PLUGIN_EXPORTER,
    IGNIS_PLUGIN_STORAGE,
    IGNIS_PLUGIN_QUERY,
    IGNIS_PLUGIN_NOTIFIER,
    IGNIS_PLUGIN_SERVICE,
};
#define IGNIS_PLUGIN_KIND_MAX IGNIS_PLUGIN_SERVICE

/* "discovery", "exporter", ...; NULL for an unknown kind. */
const char *ignis_plugin_kind_name(int kind);

/* Work lanes of the host's worker pool. */
enum ignis_lane {
    IGNIS_LANE_INGEST = 0, /* parse + append of scraped and pushed data */
    IGNIS_LANE_QUERY,      /* queries and rule evaluation; fewer at once than workers */
    IGNIS_LANE_BACKGROUND, /* compaction, checkpoints, anything that may wait */
};

struct event_base;         /* libevent */
struct evhttp_request;     /* libevent */
struct evbuffer;           /* libevent */
struct evkeyvalq;          /* libevent */
struct ignis_registry;     /* ignis/metrics.h */
struct ignis_timer;        /* opaque, host-owned */
struct ignis_http_req;     /* opaque, host-owned */

typedef void (*ignis_fn)(void *arg);
typedef void (*ignis_work_fn)(void *arg);
typedef void (*ignis_done_fn)(void *arg);

/* HTTP methods for routes (bitmask). */
#define IGNIS_HTTP_GET 0x1u
#define IGNIS_HTTP_POST 0x2u
#define IGNIS_HTTP_PUT 0x4u
#define IGNIS_HTTP_DELETE 0x8u
/* Route flags. */
#define IGNIS_ROUTE_PREFIX 0x100u /* path matches itself and everything below it */

/* A route handler runs on the loop. It must eventually call http_reply exactly once
 * for req, now or later from the loop (for example from a worker job's done_fn). */
typedef void (*ignis_http_handler)(void *arg, struct ignis_http_req *req);

/* An outgoing HTTP request through the core's client (host entry http_fetch, ABI 1.1).
 * Every pointer is borrowed for the call only: the host copies what it keeps. */
struct ignis_http_header {
    const char *name, *value;
};
struct ignis_http_request {
    uint32_t size;                 /* sizeof(struct ignis_http_request) of the caller */
    const char *url;
    const char *method;            /* NULL: GET, or POST when body is set */
    const struct ignis_http_header *headers;
    size_t nheaders;
    const char *body;              /* request body (copied), or NULL */
    size_t body_len;
    int64_t timeout_ms;            /* the whole exchange; 0: 30 s */
    size_t max_body;               /* response body bound, decoded bytes; 0: 64 MiB */
    bool accept_gzip;              /* ask for gzip and hand out the decoded body */
    /* authentication and transport, as Prometheus' http_config */
    const char *basic_user, *basic_password;
    const char *authorization;     /* whole header value, e.g. "Bearer xyz" */
    const char *ca_file, *cert_file, *key_file, *server_name;
    bool insecure_skip_verify;
    const char *proxy_url;
};
/* What came back, borrowed for the callback only. */
struct ignis_http_response {
    int status;                    /* HTTP status; 0 when no response arrived */
    const char *error;             /* NULL when an exchange completed (any status) */
    const char *content_type;      /* "" when absent */
    const char *body;              /* NUL-terminated (not counted in body_len) */
    size_t body_len;
    bool body_too_large;           /* max_body was reached (error says so too) */
    double seconds;                /* the whole exchange */
};
typedef void (*ignis_http_done)(void *arg, const struct ignis_http_response *r);
struct ignis_http_call; /* host-owned, one request in flight */

/* The host table. One is handed to each plugin instance (so log lines carry the
 * instance's plugin and name); it lives until the instance is destroyed. */
struct ignis_host {
    uint32_t size;
    struct ignis_abi abi; /* the host's ABI version */

    /* any: one logfmt line at level with component=<plugin> instance=<name>. */
    void (*log)(const struct ignis_host *h, enum ignis_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* any: true when a line at level would be written. */
    bool (*log_enabled)(const struct ignis_host *h, enum ignis_log_level level);

    /* loop: the event base of the loop, for plugins that add their own events. */
    struct event_base *(*event_base)(const struct ignis_host *h);
    /* loop: calls fn(arg) on the loop after delay_ms, then every interval_ms when that is
     * > 0. The timer is host-owned; cancel it with timer_cancel (which frees it) before
     * arg dies. A one-shot timer is freed by the host after it fires. */
    struct ignis_timer *(*timer_add)(const struct ignis_host *h, int64_t delay_ms,
                                     int64_t interval_ms, ignis_fn fn, void *arg);
    void (*timer_cancel)(const struct ignis_host *h, struct ignis_timer *t);
    /* any: runs fn(arg) on the loop soon (a bounded queue; returns -1 when it is full). */
    int (*run_on_loop)(const struct ignis_host *h, ignis_fn fn, void *arg);

    /* any: runs work(arg) on a worker of the lane, then done(arg) on the loop (done may
     * be NULL). Returns 0, or IGNIS_E_LIMIT when the lane's queue is full (counted in
     * ignis_worker_rejected_total). */
    int (*submit)(const struct ignis_host *h, enum ignis_lane lane, ignis_work_fn work,
                  ignis_done_fn done, void *arg);

    /* loop: adds a route (methods: IGNIS_HTTP_* bitmask | IGNIS_ROUTE_PREFIX). path is
     * copied, absolute, below the route prefix (--web.route-prefix is applied by the
     * host). Returns 0, or -1 when another route has the path. Routes of an instance are
     * removed when it is destroyed. */
    int (*http_route)(const struct ignis_host *h, unsigned methods, const char *path,
                      ignis_http_handler handler, void *arg);
    /* loop: the underlying libevent request (borrowed until http_reply). */
    struct evhttp_request *(*http_evreq)(struct ignis_http_req *req);
    /* loop: the request's parameters: URL query merged with an
     * application/x-www-form-urlencoded POST body, in order (borrowed until reply). */
    const struct evkeyvalq *(*http_params)(struct ignis_http_req *req);
    /* loop: path relative to the route prefix (borrowed until reply). */
    const char *(*http_path)(struct ignis_http_req *req);
    /* loop: sends the reply: status, Content-Type (copied) and body (its contents are
     * moved out; the caller keeps the empty evbuffer and frees it). The host compresses
     * when the client accepts gzip. Ends req. */
    void (*http_reply)(struct ignis_http_req *req, int status, const char *content_type,
                       struct evbuffer *body);

    /* any: the registry for self-metrics (the process' default registry; see
     * ignis/metrics.h). Metrics an instance registers stay until it unregisters them. */
    struct ignis_registry *(*registry)(const struct ignis_host *h);

    /* loop: finds another plugin instance by kind and name (NULL: the first configured
     * of that kind). Stores its ops table and instance pointer (borrowed while it lives;
     * instances are destroyed only at shutdown or by a reload that removes them, after
     * their users were reconfigured). Returns 0 or IGNIS_E_NOTFOUND. */
    int (*lookup)(const struct ignis_host *h, enum ignis_plugin_kind kind, const char *name,
                  const void **ops, void **instance);

    /* any: marks the instance not ready (false) or ready (true). While any instance is
     * not ready, /-/ready answers 503. Instances start ready. */
    void (*set_ready)(const struct ignis_host *h, bool ready);

    /* any: the instance's name (the config key it was created from), NUL-terminated. */
    const char *(*instance_name)(const struct ignis_host *h);

    /* loop (since ABI 1.1): starts req on the core's HTTP client (libcurl driven by the
     * loop). done(arg, response) runs on the loop exactly once, unless the call is
     * canceled first. Returns the call (host-owned; valid until done returns or
     * http_cancel), or NULL with err. Calls still in flight when the instance is
     * destroyed are canceled by the host. */
    struct ignis_http_call *(*http_fetch)(const struct ignis_host *h,
                                          const struct ignis_http_request *req,
                                          ignis_http_done done, void *arg, char *err,
                                          size_t errlen);
    /* loop (since ABI 1.1): cancels a call in flight; its done is not called. */
    void (*http_cancel)(const struct ignis_host *h, struct ignis_http_call *c);

    /* any (since ABI 1.1): the absolute directory of the configuration file in force;
     * relative file names in the configuration are taken relative to it, as Prometheus
     * does. "" when there is no configuration file. */
    const char *(*config_dir)(const struct ignis_host *h);
};

/* Every ops table begins with these: size, then the instance life cycle.
 * create: runs on the loop; builds an instance from its validated config (borrowed
 *   for the call: copy what you keep). On failure returns non-zero and writes the
 *   reason in err. host lives as long as the instance.
 * reconfigure: on the loop, on reload, with the new config; on failure the old
 *   configuration stays in force (err says why). NULL: the host destroys and recreates.
 * destroy: on the loop; frees everything, cancels timers. */
#define IGNIS_OPS_HEAD                                                                     \
    uint32_t size;                                                                         \
    int (*create)(const struct ignis_host *host, const struct ignis_config *cfg,          \
                  void **instance, char *err, size_t errlen);                              \
    int (*reconfigure)(void *instance, const struct ignis_config *cfg, char *err,          \
                       size_t errlen);                                                     \
    void (*destroy)(void *instance)

/* ---- discovery ---------------------------------------------------------------- */

/* A target group, as in file SD: a source name unique within its provider, labels
 * common to every target, and the targets, each a label set that has at least
 * __address__. All borrowed for the duration of the emit call. */
struct ignis_target_group {
    const char *source;
    const struct ignis_label *labels;
    size_t nlabels;
    const struct ignis_label *const *targets; /* targets[i] has ntarget_labels[i] pairs */
    const size_t *ntarget_labels;
    size_t ntargets;
};

/* loop: replaces everything the instance emitted before under the given sources with
 * these groups (a source that is absent from a later update keeps its groups; emit an
 * empty group with that source to clear it). */
typedef void (*ignis_discovery_emit)(void *emit_arg, const struct ignis_target_group *groups,
                                     size_t n);

struct ignis_discovery_ops {
    IGNIS_OPS_HEAD;
    /* loop: begin discovering; emit (which lives until stop) may be called from the loop
     * at any time afterwards, the first full set as soon as it is known. */
    int (*start)(void *instance, ignis_discovery_emit emit, void *emit_arg);
    /* loop: stop emitting. */
    void (*stop)(void *instance);
};

/* ---- exporter ----------------------------------------------------------------- */

struct ignis_exporter_ops {
    IGNIS_OPS_HEAD;
    /* any (never two at once for one instance): writes the current metric families into
     * the sink. Returns 0, or non-zero when the collection failed (the host then exposes
     * nothing of this instance for that scrape and counts the failure). */
    int (*collect)(void *instance, struct ignis_sink *sink);
};

/* ---- storage ------------------------------------------------------------------ */

struct ignis_appender;      /* opaque, storage-owned */
struct ignis_querier;       /* opaque, storage-owned */
struct ignis_series_set;    /* opaque, storage-owned */

/* One sample to append to a known series ref. */
struct ignis_ref_sample {
    uint64_t ref;
    int64_t t; /* ms */
    double v;
};

/* A native histogram sample (float or integer counts); see Prometheus' model. Spans
 * and buckets are borrowed for the call. */
struct ignis_span {
    int32_t offset;
    uint32_t length;
};
struct ignis_histogram {
    bool is_float;       /* counts below are float_* when set, int_* otherwise */
    uint8_t counter_reset_hint; /* 0 unknown, 1 reset, 2 not reset, 3 gauge */
    int32_t schema;
    double zero_threshold;
    double zero_count;   /* used when is_float; else int_zero_count */
    uint64_t int_zero_count;
    double count;        /* used when is_float; else int_count */
    uint64_t int_count;
    double sum;
    const struct ignis_span *pos_spans;
    size_t npos_spans;
    const struct ignis_span *neg_spans;
    size_t nneg_spans;
    const int64_t *pos_deltas;  /* integer: bucket deltas */
    const int64_t *neg_deltas;
    const double *pos_counts;   /* float: absolute counts */
    const double *neg_counts;
    size_t npos, nneg;
    const double *custom_values; /* schema -53: custom bucket bounds */
    size_t ncustom_values;
};

/* An exemplar: labels (borrowed), value, timestamp (IGNIS_NO_TIMESTAMP when none). */
struct ignis_exemplar {
    const struct ignis_label *labels;
    size_t nlabels;
    double value;
    int64_t t;
};

/* Metric metadata as scraped. Strings borrowed. */
struct ignis_metadata {
    enum ignis_metric_type type;
    const char *help;
    const char *unit;
};

/* A series as a series set hands it out: its labels (sorted; borrowed until the next
 * set_next call or close) and the storage's ref for it. */
struct ignis_series {
    const struct ignis_label *labels;
    size_t nlabels;
    uint64_t ref;
};

/* A batch of float samples: the storage writes up to cap samples into t[] and v[]. */
struct ignis_sample_batch {
    int64_t *t;
    double *v;
    size_t cap;
};

/* Chunk encodings (the values of Prometheus' chunk format). */
enum ignis_chunk_encoding {
    IGNIS_CHUNK_XOR = 1,
    IGNIS_CHUNK_HISTOGRAM = 2,
    IGNIS_CHUNK_FLOAT_HISTOGRAM = 3,
};

/* A whole encoded chunk, borrowed until the next call on the set. */
struct ignis_chunk {
    enum ignis_chunk_encoding encoding;
    const uint8_t *data;
    size_t len;
    int64_t mint, maxt;
    uint32_t nsamples;
};

/* Hints a caller may give select (all optional; zero means none). */
struct ignis_select_hints {
    int64_t start, end;   /* the time range the caller will read, ms */
    int64_t step;         /* query step, ms */
    const char *func;     /* the function the samples feed, e.g. "rate" */
    size_t limit;         /* at most this many series (0: no limit) */
};

struct ignis_storage_stats {
    uint64_t num_series;       /* in the head */
    uint64_t num_samples;      /* appended since start */
    uint64_t num_chunks;       /* in the head */
    int64_t min_time, max_time;/* of the head, ms; INT64_MAX/INT64_MIN when empty */
    uint64_t num_blocks;
    uint64_t bytes_on_disk;
};

struct ignis_storage_ops {
    IGNIS_OPS_HEAD;

    /* -- appending: an appender is used by one thread at a time; several appenders may
     *    be open at once (one per thread). Samples are visible to queriers after commit.
     *    commit and rollback end the appender (the storage frees it). */
    /* any */
    struct ignis_appender *(*appender)(void *instance);
    /* Appends by labels (sorted, unique names, with __name__; borrowed for the call).
     * On success stores the series ref in *ref (which stays valid at least until the
     * series leaves the head). */
    int (*append)(struct ignis_appender *a, const struct ignis_label *labels, size_t n,
                  int64_t t, double v, uint64_t *ref);
    /* Appends n samples by ref. Returns the number appended; errs (may be NULL) receives
     * one code per sample (0, IGNIS_E_REF_GONE, IGNIS_E_OUT_OF_ORDER, ...). */
    size_t (*append_refs)(struct ignis_appender *a, const struct ignis_ref_sample *s,
                          size_t n, int *errs);
    /* A native histogram sample, by ref (ref != 0) or by labels (ref == 0, labels set);
     * stores the ref in *ref_out. IGNIS_E_NOTSUP when the storage has no histograms. */
    int (*append_histogram)(struct ignis_appender *a, uint64_t ref,
                            const struct ignis_label *labels, size_t n, int64_t t,
                            const struct ignis_histogram *h, uint64_t *ref_out);
    /* The start (created) timestamp st of the series' current counter run. */
    int (*append_start_ts)(struct ignis_appender *a, uint64_t ref, int64_t t, int64_t st);
    /* An exemplar for the series ref. IGNIS_E_NOTSUP when exemplar storage is off. */
    int (*append_exemplar)(struct ignis_appender *a, uint64_t ref,
                           const struct ignis_exemplar *e);
    /* Metadata for the series ref (kept per metric name). */
    int (*update_metadata)(struct ignis_appender *a, uint64_t ref,
                           const struct ignis_metadata *m);
    int (*commit)(struct ignis_appender *a);
    void (*rollback)(struct ignis_appender *a);

    /* -- reading: a querier sees the data of [mint, maxt] (ms, inclusive) as of its
     *    creation, and pins what it reads until closed. Any thread; one querier is used
     *    by one thread at a time. */
    struct ignis_querier *(*querier)(void *instance, int64_t mint, int64_t maxt);
    /* Selects the series that match every matcher (borrowed for the call), sorted by
     * labels. hints may be NULL. *out is freed with set_close. */
    int (*select)(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                  const struct ignis_select_hints *hints, struct ignis_series_set **out);
    /* Next series: returns 1 and fills *s, 0 at the end, or a negative error. */
    int (*set_next)(struct ignis_series_set *set, struct ignis_series *s);
    /* Float samples of the current series with mint <= t <= maxt, in time order, the
     * next batch at each call: returns the count written (0: no more). Staleness markers
     * are included as they were appended. */
    long (*set_samples)(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                        struct ignis_sample_batch *batch);
    /* The current series' chunks overlapping [mint, maxt], one per call: returns 1 and
     * fills *c, 0 at the end, IGNIS_E_NOTSUP when the storage does not keep chunks. */
    int (*set_chunk)(struct ignis_series_set *set, int64_t mint, int64_t maxt,
                     struct ignis_chunk *c);
    void (*set_close)(struct ignis_series_set *set);
    /* Label names (with matchers: of the matching series), sorted, unique, at most limit
     * (0: all). fn is called for each; strings borrowed for the call. */
    int (*label_names)(struct ignis_querier *q, const struct ignis_matcher *ms, size_t n,
                       size_t limit, void (*fn)(void *arg, const char *s, size_t len),
                       void *arg);
    int (*label_values)(struct ignis_querier *q, const char *name, size_t name_len,
                        const struct ignis_matcher *ms, size_t n, size_t limit,
                        void (*fn)(void *arg, const char *s, size_t len), void *arg);
    void (*querier_close)(struct ignis_querier *q);

    /* -- metadata by metric name: fn is called for each (name, metadata) pair known,
     *    (all names when metric is NULL). Strings borrowed for the call. */
    int (*metadata)(void *instance, const char *metric, size_t limit,
                    void (*fn)(void *arg, const char *metric, const struct ignis_metadata *m),
                    void *arg);

    /* -- stats and administration (any thread) */
    int (*stats)(void *instance, struct ignis_storage_stats *st);
    /* Writes a snapshot under dir; its name (NUL-terminated) into name. */
    int (*snapshot)(void *instance, const char *dir, bool skip_head, char *name,
                    size_t namelen);
    /* Deletes the samples of matching series in [mint, maxt]. */
    int (*delete_series)(void *instance, const struct ignis_matcher *ms, size_t n,
                         int64_t mint, int64_t maxt);
    int (*clean_tombstones)(void *instance);

    /* Exemplars of matching series in [mint, maxt]: fn per (series labels, exemplar). */
    int (*exemplars)(void *instance, const struct ignis_matcher *ms, size_t n, int64_t mint,
                     int64_t maxt,
                     void (*fn)(void *arg, const struct ignis_label *ls, size_t nls,
                                const struct ignis_exemplar *e),
                     void *arg);
};

/* ---- query -------------------------------------------------------------------- */

enum ignis_value_type {
    IGNIS_VALUE_NONE = 0,
    IGNIS_VALUE_SCALAR,
    IGNIS_VALUE_VECTOR,
    IGNIS_VALUE_MATRIX,
    IGNIS_VALUE_STRING,
};

/* Prometheus' error kinds, as the API reports them in errorType. */
enum ignis_query_error {
    IGNIS_QERR_NONE = 0,
    IGNIS_QERR_BAD_DATA,   /* "bad_data": the query does not parse or is invalid */
    IGNIS_QERR_EXECUTION,  /* "execution" */
    IGNIS_QERR_TIMEOUT,    /* "timeout" */
    IGNIS_QERR_CANCELED,   /* "canceled" */
    IGNIS_QERR_INTERNAL,   /* "internal" */
};

struct ignis_query;  /* opaque, plugin-owned: a parsed (and then evaluated) query */

/* A query's parameters. For an instant query start == end and step == 0. */
struct ignis_query_params {
    uint32_t size;
    const char *expr;
    int64_t start, end, step; /* ms */
    int64_t timeout_ms;       /* 0: the plugin's configured default */
    int64_t lookback_ms;      /* 0: the plugin's configured default */
    uint64_t max_samples;     /* 0: the plugin's configured default */
    size_t limit;             /* at most this many series in the result (0: all) */
    const void *storage_ops;  /* const struct ignis_storage_ops * (borrowed) */
    void *storage;            /* its instance (borrowed for the query's life) */
};

/* One series of a result: labels (sorted), and either its points (matrix) or one
 * point (vector: t[0], v[0]). Borrowed from the query until query_free. */
struct ignis_result_series {
    const struct ignis_label *labels;
    size_t nlabels;
    const int64_t *t;
    const double *v;
    size_t npoints;
};

/* A result, borrowed from the query until query_free. */
struct ignis_query_result {
    enum ignis_value_type type;
    enum ignis_query_error error;
    const char *error_msg;          /* NULL when no error */
    const struct ignis_result_series *series;
    size_t nseries;
    int64_t t;                      /* SCALAR and STRING: evaluation time */
    double scalar;
    const char *string;
    const char *const *warnings;    /* annotations, Prometheus' wording */
    size_t nwarnings;
    const char *const *infos;
    size_t ninfos;
    /* stats */
    uint64_t total_samples;
    uint64_t peak_samples;
    int64_t exec_ns, queue_ns, prepare_ns, eval_ns;
};

struct ignis_query_ops {
    IGNIS_OPS_HEAD;
    /* any: parses expr; on failure returns IGNIS_QERR_BAD_DATA with Prometheus' message
     * in err. *out (when not NULL) receives the parsed query, freed with query_free. */
    int (*parse)(void *instance, const char *expr, struct ignis_query **out, char *err,
                 size_t errlen);
    /* any (run it on the query lane): parses and evaluates. Always sets *out (unless
     * allocation fails, then returns IGNIS_E_NOMEM); errors are in the result. */
    int (*exec)(void *instance, const struct ignis_query_params *p, struct ignis_query **out);
    const struct ignis_query_result *(*result)(const struct ignis_query *q);
    /* any: asks a running exec to stop (it then reports IGNIS_QERR_CANCELED). */
    void (*cancel)(struct ignis_query *q);
    void (*query_free)(struct ignis_query *q);
    /* any: pretty-prints expr as Prometheus' format_query does into a malloc'd string
     * (caller frees); NULL with err on a parse error. */
    char *(*format)(void *instance, const char *expr, char *err, size_t errlen);
    /* any (since ABI 1.1): the syntax tree of expr as the JSON /api/v1/parse_query
     * answers with (Prometheus' shape), malloc'd (caller frees); NULL with err on a
     * parse error. */
    char *(*parse_json)(void *instance, const char *expr, char *err, size_t errlen);
};

/* ---- notifier ----------------------------------------------------------------- */

enum ignis_notify_status {
    IGNIS_NOTIFY_OK = 0,
    IGNIS_NOTIFY_RETRY,     /* temporary failure: the caller retries with backoff */
    IGNIS_NOTIFY_PERMANENT, /* will never succeed as it is: the caller gives up */
};

struct ignis_alert {
    bool firing;
    const struct ignis_label *labels;
    size_t nlabels;
    const struct ignis_label *annotations;
    size_t nannotations;
    int64_t starts_at, ends_at; /* ms; ends_at 0 when unknown */
    const char *generator_url;
    const char *fingerprint;    /* 16 hex digits */
};

/* One notification: a group of alerts for a receiver. Everything borrowed until the
 * done callback has been called. */
struct ignis_notification {
    const char *receiver;
    const char *group_key;
    const char *external_url;
    bool firing;                    /* status of the group */
    const struct ignis_label *group_labels;
    size_t ngroup_labels;
    const struct ignis_label *common_labels;
    size_t ncommon_labels;
    const struct ignis_label *common_annotations;
    size_t ncommon_annotations;
    const struct ignis_alert *alerts;
    size_t nalerts;
    uint64_t truncated_alerts;
};

typedef void (*ignis_notify_done)(void *arg, enum ignis_notify_status status,
                                  const char *error);

struct ignis_notifier_ops {
    IGNIS_OPS_HEAD;
    /* loop: starts sending; done (on the loop, exactly once) reports the outcome. */
    int (*send)(void *instance, const struct ignis_notification *n, ignis_notify_done done,
                void *arg);
};

/* ---- service ------------------------------------------------------------------ */

struct ignis_service_ops {
    IGNIS_OPS_HEAD;
    /* loop: called once all instances exist (so lookup finds them). */
    int (*start)(void *instance, char *err, size_t errlen);
    /* loop: on shutdown, before destroy; stop accepting work. */
    void (*stop)(void *instance);
};

/* ---- the descriptor ----------------------------------------------------------- */

struct ignis_plugin {
    struct ignis_abi abi;          /* IGNIS_ABI as the plugin was compiled */
    enum ignis_plugin_kind kind;
    const char *name;              /* unique among loaded plugins; [a-z0-9_]+ */
    const char *version;
    const char *description;       /* one line */
    const struct ignis_option *options; /* schema of the instance config (may be NULL) */
    const void *ops;               /* const struct ignis_<kind>_ops * */
};

/* The one symbol a plugin exports. */
#define IGNIS_PLUGIN_SYMBOL "ignis_plugin"

#ifdef __cplusplus
}
#endif
#endif
