/* core/main.c — ignisd: command-line flags, start-up, the event loop, reload (SIGHUP,
 * POST /-/reload) and shutdown (SIGTERM/SIGINT drain and exit 0). */
#include <config.h>
#include "core/api.h"
#include "core/core.h"
#include "core/http.h"
#include "core/httpc.h"
#include "core/log.h"
#include "core/scrape.h"
#include "core/selfmetrics.h"
#include "core/workers.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#define DEFAULT_CONFIG "ignis.conf"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ignisd [flags]\n"
            "\n"
            "The Ignis monitoring daemon: loads plugins and runs the roles its config asks for.\n"
            "\n"
            "flags:\n"
            "  -c, --config FILE, --config.file=FILE   config file (default " DEFAULT_CONFIG ")\n"
            "      --check-config                 validate the config (and its plugins) and exit\n"
            "      --plugin-help NAME             print plugin NAME's options and exit\n"
            "      --plugin-dir DIR               search DIR for plugins instead of plugins.path\n"
            "                                     (repeatable)\n"
            "      --version                      print the version and exit\n"
            "  -h, --help                         this text\n"
            "\n"
            "Prometheus flags, as overrides of the config:\n"
            "      --web.listen-address=ADDR      address to listen on (web.listen_address)\n"
            "      --web.external-url=URL         URL under which ignisd is reachable\n"
            "      --web.route-prefix=PATH        prefix of every HTTP route\n"
            "      --web.enable-lifecycle         allow POST /-/reload and /-/quit\n"
            "      --web.enable-admin-api         allow the admin API\n"
            "      --storage.tsdb.path=DIR        data directory of the storage plugin\n"
            "      --storage.tsdb.retention.time=DURATION\n"
            "      --storage.tsdb.retention.size=SIZE\n"
            "      --query.timeout=DURATION       maximum time a query may take\n"
            "      --query.max-samples=N          maximum samples a query may load\n"
            "      --query.lookback-delta=DURATION\n"
            "      --log.level=LEVEL              debug, info, warn, error\n"
            "      --log.format=FORMAT            logfmt or json\n"
            "      --scrape.timestamp-tolerance=DURATION\n"
            "                                     snap scrape timestamps to the schedule within\n"
            "                                     this much (default 2ms)\n"
            "(a boolean flag --x also has its --no-x)\n");
}

enum {
    OPT_CHECK = 1000,
    OPT_PLUGIN_HELP,
    OPT_VERSION,
    OPT_TSDB_PATH,
    OPT_RET_TIME,
    OPT_RET_SIZE,
    OPT_LISTEN,
    OPT_EXTURL,
    OPT_PREFIX,
    OPT_ADMIN,
    OPT_NO_ADMIN,
    OPT_LIFECYCLE,
    OPT_NO_LIFECYCLE,
    OPT_QTIMEOUT,
    OPT_QMAX,
    OPT_QLOOKBACK,
    OPT_LOGLEVEL,
    OPT_LOGFORMAT,
    OPT_PLUGIN_DIR,
    OPT_TOLERANCE,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"config.file", required_argument, NULL, 'c'},
    {"check-config", no_argument, NULL, OPT_CHECK},
    {"plugin-help", required_argument, NULL, OPT_PLUGIN_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {"storage.tsdb.path", required_argument, NULL, OPT_TSDB_PATH},
    {"storage.tsdb.retention.time", required_argument, NULL, OPT_RET_TIME},
    {"storage.tsdb.retention.size", required_argument, NULL, OPT_RET_SIZE},
    {"web.listen-address", required_argument, NULL, OPT_LISTEN},
    {"web.external-url", required_argument, NULL, OPT_EXTURL},
    {"web.route-prefix", required_argument, NULL, OPT_PREFIX},
    {"web.enable-admin-api", no_argument, NULL, OPT_ADMIN},
    {"no-web.enable-admin-api", no_argument, NULL, OPT_NO_ADMIN},
    {"web.enable-lifecycle", no_argument, NULL, OPT_LIFECYCLE},
    {"no-web.enable-lifecycle", no_argument, NULL, OPT_NO_LIFECYCLE},
    {"query.timeout", required_argument, NULL, OPT_QTIMEOUT},
    {"query.max-samples", required_argument, NULL, OPT_QMAX},
    {"query.lookback-delta", required_argument, NULL, OPT_QLOOKBACK},
    {"log.level", required_argument, NULL, OPT_LOGLEVEL},
    {"log.format", required_argument, NULL, OPT_LOGFORMAT},
    {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
    {"scrape.timestamp-tolerance", required_argument, NULL, OPT_TOLERANCE},
    {NULL, 0, NULL, 0},
};

static struct ig_core core;
static struct event *sig_hup, *sig_term, *sig_int;

static void apply_log_settings(const struct ig_config *cfg)
{
    enum ignis_log_level l;
    if (cfg->log_level && ig_log_parse_level(cfg->log_level, &l) == 0)
        ig_log_set_level(l);
    if (cfg->log_format)
        ig_log_set_format(strcmp(cfg->log_format, "json") == 0 ? IG_LOG_JSON : IG_LOG_LOGFMT);
}

static int do_reload(char *err, size_t errlen)
{
    int rc = ig_core_reload(&core, err, errlen);
    apply_log_settings(&core.cfg);
    ig_selfmetrics_reload_result(core.self, rc == 0);
    return rc;
}

/* Leaves the loop soon: after delay_ms, so a reply just queued (/-/quit) is flushed. */
static void shutdown_loop_after(int delay_ms)
{
    if (core.stopping)
        return;
    core.stopping = true;
    ig_info("main", "received termination request, draining");
    struct timeval tv = {0, delay_ms * 1000};
    event_base_loopexit(core.base, &tv);
}

static void shutdown_loop(void)
{
    shutdown_loop_after(0);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (sig == SIGHUP) {
        char err[4096];
        ig_info("main", "received SIGHUP, reloading configuration");
        do_reload(err, sizeof err);
        return;
    }
    shutdown_loop();
}

/* ---- the core's routes -------------------------------------------------------- */

static void h_healthy(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    ig_http_reply_text(req, 200, "Ignis Server is Healthy.\n");
}

static void h_ready(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    if (core.started && !core.stopping && ig_instances_ready(&core))
        ig_http_reply_text(req, 200, "Ignis Server is Ready.\n");
    else
        ig_http_reply_text(req, 503, "Service Unavailable");
}

static bool lifecycle_allowed(struct ignis_http_req *req)
{
    if (!core.cfg.enable_lifecycle) {
        ig_http_reply_text(req, 403, "Lifecycle API is not enabled.");
        return false;
    }
    return true;
}

static void h_reload(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    if (!lifecycle_allowed(req))
        return;
    char err[4096];
    if (do_reload(err, sizeof err) != 0) {
        char msg[4200];
        snprintf(msg, sizeof msg, "failed to reload config: %s\n", err);
        ig_http_reply_text(req, 500, msg);
        return;
    }
    ig_http_reply_text(req, 200, "");
}

static void h_quit(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    if (!lifecycle_allowed(req))
        return;
    ig_http_reply_text(req, 200, "Requesting termination... Goodbye!");
    shutdown_loop_after(200);
}

static void h_method_not_allowed(void *arg, struct ignis_http_req *req)
{
    (void)arg;
    ig_http_reply_text(req, 405, "Only POST or PUT requests allowed");
}

static int add_core_routes(char *err, size_t errlen)
{
    const struct {
        unsigned m;
        const char *path;
        ignis_http_handler fn;
    } routes[] = {
        {IGNIS_HTTP_GET, "/-/healthy", h_healthy},
        {IGNIS_HTTP_GET, "/-/ready", h_ready},
        {IGNIS_HTTP_POST | IGNIS_HTTP_PUT, "/-/reload", h_reload},
        {IGNIS_HTTP_GET, "/-/reload", h_method_not_allowed},
        {IGNIS_HTTP_POST | IGNIS_HTTP_PUT, "/-/quit", h_quit},
        {IGNIS_HTTP_GET, "/-/quit", h_method_not_allowed},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (ig_http_route(core.http, routes[i].m, routes[i].path, routes[i].fn, NULL, &core) !=
            0) {
            snprintf(err, errlen, "cannot add route %s", routes[i].path);
            return -1;
        }
    }
    if (ig_api_routes(&core, core.http, err, errlen) != 0)
        return -1;
    return ig_selfmetrics_routes(core.self, core.http, &core, err, errlen);
}

/* ---- modes that exit at once -------------------------------------------------- */

static int check_config(void)
{
    char err[16384];
    struct ig_config cfg;
    if (ig_core_read_config(&core, core.flags.config_file, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        fprintf(stderr, "FAILED: %s is not valid\n", core.flags.config_file);
        return 1;
    }
    printf("SUCCESS: %s is valid (%zu plugin instance%s)\n", core.flags.config_file,
           cfg.ninstances, cfg.ninstances == 1 ? "" : "s");
    ig_config_clear(&cfg);
    return 0;
}

static int plugin_help(const char *name)
{
    char err[4096];
    struct ig_config_plugins pl;
    memset(&pl, 0, sizeof pl);
    /* Directories: the config's when it is readable, else the default. */
    if (access(core.flags.config_file, R_OK) == 0 &&
        ig_config_read_plugins(core.flags.config_file, &pl, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char *defdir[] = {(char *)IGNIS_PLUGIN_DIR};
    char *const *dirs = pl.npaths ? pl.paths : defdir;
    size_t ndirs = pl.npaths ? pl.npaths : 1;
    if (core.flags.nplugin_dirs) {
        dirs = core.flags.plugin_dirs;
        ndirs = core.flags.nplugin_dirs;
    }
    int rc = ig_plugins_load(&core.plugins, name, dirs, ndirs, err, sizeof err);
    ig_config_plugins_clear(&pl);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct ig_plugin *p = ig_plugins_find(&core.plugins, strchr(name, '/') ? core.plugins.v[0].desc->name : name);
    const struct ignis_plugin *d = p->desc;
    printf("plugin %s (%s) version %s, ABI %u.%u\n  %s\n  file: %s\n\noptions:\n", d->name,
           ignis_plugin_kind_name((int)d->kind), d->version ? d->version : "?", d->abi.major,
           d->abi.minor, d->description ? d->description : "", p->file);
    if (d->options && d->options[0].name)
        ig_config_print_schema(stdout, d->options, 2);
    else
        printf("  (none)\n");
    return 0;
}

static int parse_flags(int argc, char **argv, int *mode, const char **plugin)
{
    core.flags.config_file = DEFAULT_CONFIG;
    core.flags.enable_admin_api = -1;
    core.flags.enable_lifecycle = -1;
    core.flags.scrape_tolerance_ms = -1;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'c': core.flags.config_file = optarg; break;
        case 'h': usage(stdout); exit(0);
        case OPT_CHECK: *mode = OPT_CHECK; break;
        case OPT_PLUGIN_HELP: *mode = OPT_PLUGIN_HELP; *plugin = optarg; break;
        case OPT_VERSION: *mode = OPT_VERSION; break;
        case OPT_TSDB_PATH: core.flags.tsdb_path = optarg; break;
        case OPT_RET_TIME: core.flags.retention_time = optarg; break;
        case OPT_RET_SIZE: core.flags.retention_size = optarg; break;
        case OPT_LISTEN: core.flags.listen_address = optarg; break;
        case OPT_EXTURL: core.flags.external_url = optarg; break;
        case OPT_PREFIX: core.flags.route_prefix = optarg; break;
        case OPT_ADMIN: core.flags.enable_admin_api = 1; break;
        case OPT_NO_ADMIN: core.flags.enable_admin_api = 0; break;
        case OPT_LIFECYCLE: core.flags.enable_lifecycle = 1; break;
        case OPT_NO_LIFECYCLE: core.flags.enable_lifecycle = 0; break;
        case OPT_QTIMEOUT: core.flags.query_timeout = optarg; break;
        case OPT_QMAX: core.flags.query_max_samples = optarg; break;
        case OPT_QLOOKBACK: core.flags.query_lookback = optarg; break;
        case OPT_LOGLEVEL: core.flags.log_level = optarg; break;
        case OPT_LOGFORMAT: core.flags.log_format = optarg; break;
        case OPT_PLUGIN_DIR:
            if (core.flags.nplugin_dirs == sizeof core.flags.plugin_dirs / sizeof(char *)) {
                fprintf(stderr, "ignisd: too many --plugin-dir flags\n");
                return -1;
            }
            core.flags.plugin_dirs[core.flags.nplugin_dirs++] = optarg;
            break;
        case OPT_TOLERANCE:
            if (ignis_parse_duration(optarg, strlen(optarg), &core.flags.scrape_tolerance_ms) != 0) {
                fprintf(stderr, "ignisd: --scrape.timestamp-tolerance: bad duration \"%s\"\n", optarg);
                return -1;
            }
            break;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ignisd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (core.flags.log_level) {
        enum ignis_log_level l;
        if (ig_log_parse_level(core.flags.log_level, &l) != 0) {
            fprintf(stderr, "ignisd: --log.level: unknown level \"%s\"\n", core.flags.log_level);
            return -1;
        }
        ig_log_set_level(l);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int mode = 0;
    const char *plugin = NULL;
    if (parse_flags(argc, argv, &mode, &plugin) != 0)
        return 2;
    if (mode == OPT_VERSION) {
        printf("ignisd, version %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, IGNIS_ABI_MAJOR,
               IGNIS_ABI_MINOR);
        return 0;
    }
    if (mode == OPT_PLUGIN_HELP)
        return plugin_help(plugin);
    if (mode == OPT_CHECK)
        return check_config();

    signal(SIGPIPE, SIG_IGN);
    /* A file-size limit (RLIMIT_FSIZE) then shows as EFBIG from write(2), handled like a
     * full disk (logged, retried), instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    evthread_use_pthreads();
    char err[16384];
    int status = 1;
    core.base = event_base_new();
    core.http = core.base ? ig_http_new(core.base) : NULL;
    if (!core.http) {
        ig_error("main", "cannot create the event loop");
        return 1;
    }
    ig_info("main", "starting ignisd\tversion=%s config=%s", PACKAGE_VERSION,
            core.flags.config_file);
    ig_core_set_config_dir(&core, core.flags.config_file);
    if (ig_core_read_config(&core, core.flags.config_file, &core.cfg, err, sizeof err) != 0) {
        ig_error("main", "cannot load config\tfile=%s err=\"%s\"", core.flags.config_file, err);
        goto out;
    }
    core.have_cfg = true;
    apply_log_settings(&core.cfg);

    struct ig_workers_config wc = {.threads = (unsigned)core.cfg.workers};
    core.workers = ig_workers_new(core.base, &wc, err, sizeof err);
    if (!core.workers) {
        ig_error("main", "cannot start workers\terr=\"%s\"", err);
        goto out;
    }
    core.self = ig_selfmetrics_new(&core, err, sizeof err);
    if (!core.self) {
        ig_error("main", "cannot set up self-metrics\terr=\"%s\"", err);
        goto out;
    }
    ig_http_set_route_prefix(core.http, core.cfg.route_prefix);
    ig_http_set_timeout(core.http, (int)(core.cfg.read_timeout_ms / 1000));
    if (add_core_routes(err, sizeof err) != 0) {
        ig_error("main", "%s", err);
        goto out;
    }
    if (ig_http_listen(core.http, core.cfg.listen_address, core.listen_bound,
                       sizeof core.listen_bound, err, sizeof err) != 0) {
        ig_error("main", "%s", err);
        goto out;
    }
    ig_info("web", "listening\taddress=%s", core.listen_bound);
    if (ig_instances_create(&core, &core.cfg, err, sizeof err) != 0) {
        ig_error("main", "%s", err);
        goto out;
    }
    if (ig_instances_start(&core, err, sizeof err) != 0) {
        ig_error("main", "%s", err);
        goto out;
    }
    core.scrape = ig_scrape_new(&core, err, sizeof err);
    if (!core.scrape || ig_scrape_apply(core.scrape, &core.cfg, err, sizeof err) != 0) {
        ig_error("main", "cannot start scraping\terr=\"%s\"", err);
        goto out;
    }
    ig_selfmetrics_reload_result(core.self, true);

    sig_hup = evsignal_new(core.base, SIGHUP, on_signal, NULL);
    sig_term = evsignal_new(core.base, SIGTERM, on_signal, NULL);
    sig_int = evsignal_new(core.base, SIGINT, on_signal, NULL);
    evsignal_add(sig_hup, NULL);
    evsignal_add(sig_term, NULL);
    evsignal_add(sig_int, NULL);

    core.started = true;
    ig_info("main", "server is ready to receive web requests");
    event_base_dispatch(core.base);
    status = 0;

out:
    core.stopping = true;
    /* Drain: the loop has stopped taking requests; queued work finishes and its
     * completions reply; then instances go (storage last), then the server. */
    ig_scrape_stop(core.scrape);
    if (core.workers) {
        ig_workers_drain_free(core.workers);
        core.workers = NULL;
    }
    ig_scrape_free(core.scrape);
    core.scrape = NULL;
    ig_instances_destroy_all(&core);
    if (core.httpc) {
        ig_httpc_free(core.httpc);
        core.httpc = NULL;
    }
    if (core.http) {
        ig_http_free(core.http);
        core.http = NULL;
    }
    ig_selfmetrics_free(core.self);
    if (core.have_cfg)
        ig_config_clear(&core.cfg);
    ig_plugins_clear(&core.plugins);
    if (sig_hup) {
        event_free(sig_hup);
        event_free(sig_term);
        event_free(sig_int);
    }
    event_base_free(core.base);
    ig_info("main", "see you next time!\tstatus=%d", status);
    return status;
}
