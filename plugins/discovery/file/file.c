/* plugins/discovery/file/file.c — the `file` discovery plugin: Prometheus' file_sd_config.
 * Target files matched by glob are read and parsed on a worker (background lane); the
 * loop compares each file with what it last emitted and emits only what changed: a
 * changed file's groups, empty groups for sources a file no longer has, and for files
 * that went away. inotify on the patterns' directories triggers a refresh at once;
 * refresh_interval re-reads everything as a fallback. A file that fails to read keeps
 * the groups it had, and the reason is logged with the file and, when known, the line. */
#define _GNU_SOURCE /* vasprintf, strndup, GLOB_PERIOD */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <xxhash.h>

#include <ignis/plugin.h>

#include "file_sd.h"

/* Defaults of the options (Prometheus: refresh_interval 5m; the bounds are ours). */
#define DEFAULT_MAX_FILE_SIZE "64MiB"
#define DEFAULT_MAX_TARGETS   "100000"
/* Events on a watched directory often come in bursts (write, close, rename); one
 * refresh this long after the first covers the burst. */
#define DEBOUNCE_MS 20
/* When the worker lane is full, try again after this long. */
#define RETRY_MS 1000
/* At most this many files matched by all patterns in one refresh; past it the refresh
 * fails as a whole and everything stays as it was. */
#define FILES_MAX 65536
/* Room for a batch of inotify events (each a header plus a name up to NAME_MAX). */
#define INOTIFY_BUF (64 * 1024)
#define INOTIFY_MASK                                                                               \
    (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |            \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct watch {
    char *dir;
    int wd; /* -1: not watched (missing directory); retried on every refresh */
};

/* What the loop last emitted for a file. */
struct known {
    char *path;
    uint64_t hash; /* of the content that was emitted */
    size_t ngroups;
};

struct job;

struct filesd {
    const struct ignis_host *host;
    char **patterns;
    size_t npatterns;
    int64_t refresh_ms;
    uint64_t max_size;
    size_t max_targets;

    ignis_discovery_emit emit;
    void *emit_arg;
    bool running;

    struct ignis_timer *tick;  /* refresh_interval */
    struct ignis_timer *retry; /* one-shot, after a full worker lane */
    struct event *debounce;
    int ifd;
    struct event *iev;
    struct watch *watches;
    size_t nwatches;

    struct job *job; /* the refresh in flight, if any */
    bool again;      /* something changed while it ran: refresh once more */
    bool dying;      /* destroyed while a job was in flight: the job's done frees us */

    struct known *known; /* sorted by path */
    size_t nknown;
};

/* ---- a refresh: globbing and parsing on a worker --------------------------------------- */

enum jf_state { JF_PARSED, JF_UNCHANGED, JF_FAILED };

struct job_file {
    char *path;
    enum jf_state state;
    uint64_t hash;
    char *err;
    struct fsd_file parsed;
};

/* Everything the worker reads is copied into the job, so it never touches the
 * instance, which the loop may reconfigure meanwhile. */
struct job {
    struct filesd *fs;
    char **patterns;
    size_t npatterns;
    uint64_t max_size;
    size_t max_targets;
    struct known *prev; /* path and hash of what was emitted, to skip unchanged files */
    size_t nprev;
    struct job_file *files;
    size_t nfiles;
    char *err; /* the refresh failed as a whole */
};

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_known(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct known *)elem)->path);
}

/* job files are in path order (the worker sorts the globbed paths) */
static int cmp_job_file(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct job_file *)elem)->path);
}

static const struct known *known_find(const struct known *k, size_t n, const char *path)
{
    return n ? bsearch(path, k, n, sizeof *k, cmp_known) : NULL;
}

/* Reads a whole file of at most max bytes. Returns 0, or -1 with a message. */
static int read_file(const char *path, uint64_t max, char **data, size_t *len, char **err)
{
    *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = xasprintf("%s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *err = xasprintf("%s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = xasprintf("not a regular file");
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > max) {
        *err = xasprintf("file is %lld bytes, more than max_file_size (%llu)",
                         (long long)st.st_size, (unsigned long long)max);
        close(fd);
        return -1;
    }
    /* The file may grow while it is read: read up to max + 1 and refuse what is over. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap > max) {
                *err = xasprintf("file grew past max_file_size (%llu) while read",
                                 (unsigned long long)max);
                free(buf);
                close(fd);
                return -1;
            }
            size_t ncap = cap * 2 > max + 1 ? (size_t)max + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = xasprintf("%s", strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf) {
        *err = xasprintf("out of memory");
        return -1;
    }
    if (n > max) {
        *err = xasprintf("file grew past max_file_size (%llu) while read", (unsigned long long)max);
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

static void job_read_one(struct job *j, struct job_file *jf)
{
    enum fsd_format fmt;
    if (fsd_format_of(jf->path, &fmt) < 0) {
        jf->state = JF_FAILED;
        jf->err = xasprintf("unhandled file extension");
        return;
    }
    char *data;
    size_t len;
    if (read_file(jf->path, j->max_size, &data, &len, &jf->err) < 0) {
        jf->state = JF_FAILED;
        return;
    }
    jf->hash = XXH3_64bits(data, len);
    const struct known *k = known_find(j->prev, j->nprev, jf->path);
    if (k && k->hash == jf->hash) {
        jf->state = JF_UNCHANGED;
        free(data);
        return;
    }
    char err[512];
    if (fsd_parse(fmt, data, len, jf->path, j->max_targets, &jf->parsed, err, sizeof err) < 0) {
        jf->state = JF_FAILED;
        jf->err = xstrdup(err);
    } else {
        jf->state = JF_PARSED;
    }
    free(data);
}

/* Worker: globs every pattern (as Go's filepath.Glob: '*' also matches a leading dot),
 * then reads and parses the files that changed. */
static void job_work(void *arg)
{
    struct job *j = arg;
    char **paths = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < j->npatterns && !j->err; i++) {
        glob_t g;
        int rc = glob(j->patterns[i], GLOB_PERIOD, NULL, &g);
        if (rc == GLOB_NOSPACE)
            j->err = xasprintf("out of memory globbing %s", j->patterns[i]);
        if (rc != 0) {
            if (rc != GLOB_NOMATCH)
                globfree(&g);
            continue;
        }
        for (size_t k = 0; k < g.gl_pathc && !j->err; k++) {
            if (n == FILES_MAX) {
                j->err = xasprintf("more than %d files match the patterns", FILES_MAX);
                break;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                char **np = realloc(paths, cap * sizeof *np);
                if (!np) {
                    j->err = xasprintf("out of memory");
                    break;
                }
                paths = np;
            }
            if (!(paths[n] = xstrdup(g.gl_pathv[k])))
                j->err = xasprintf("out of memory");
            else
                n++;
        }
        globfree(&g);
    }
    if (!j->err && n) {
        /* two patterns may match one file: read it once */
        qsort(paths, n, sizeof *paths, cmp_str);
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (m && strcmp(paths[m - 1], paths[i]) == 0)
                free(paths[i]);
            else
                paths[m++] = paths[i];
        }
        n = m;
        j->files = calloc(n, sizeof *j->files);
        if (!j->files)
            j->err = xasprintf("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (j->err || !j->files) {
            free(paths[i]);
            continue;
        }
        j->files[i].path = paths[i];
        j->nfiles++;
        job_read_one(j, &j->files[i]);
    }
    free(paths);
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->npatterns; i++)
        free(j->patterns[i]);
    free(j->patterns);
    for (size_t i = 0; i < j->nprev; i++)
        free(j->prev[i].path);
    free(j->prev);
    for (size_t i = 0; i < j->nfiles; i++) {
        free(j->files[i].path);
        free(j->files[i].err);
        fsd_file_free(&j->files[i].parsed);
    }
    free(j->files);
    free(j->err);
    free(j);
}

static struct job *job_new(struct filesd *fs)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->fs = fs;
    j->max_size = fs->max_size;
    j->max_targets = fs->max_targets;
    j->patterns = calloc(fs->npatterns ? fs->npatterns : 1, sizeof *j->patterns);
    j->prev = calloc(fs->nknown ? fs->nknown : 1, sizeof *j->prev);
    if (!j->patterns || !j->prev)
        goto oom;
    for (size_t i = 0; i < fs->npatterns; i++, j->npatterns++)
        if (!(j->patterns[i] = xstrdup(fs->patterns[i])))
            goto oom;
    for (size_t i = 0; i < fs->nknown; i++, j->nprev++) {
        j->prev[i] = fs->known[i];
        if (!(j->prev[i].path = xstrdup(fs->known[i].path)))
            goto oom;
    }
    return j;
oom:
    job_free(j);
    return NULL;
}

/* ---- back on the loop: emitting what changed ------------------------------------------- */

struct emitbuf {
    struct ignis_target_group *g;
    size_t n, cap;
    char **owned; /* source names made here for clearing groups */
    size_t nowned, owned_cap;
};

static int eb_push(struct emitbuf *e, struct ignis_target_group g)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        struct ignis_target_group *ng = realloc(e->g, cap * sizeof *ng);
        if (!ng)
            return -1;
        e->g = ng;
        e->cap = cap;
    }
    e->g[e->n++] = g;
    return 0;
}

/* Queues empty groups for sources path:from .. path:to-1. */
static int eb_clear(struct emitbuf *e, const char *path, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (e->nowned == e->owned_cap) {
            size_t cap = e->owned_cap ? e->owned_cap * 2 : 16;
            char **no = realloc(e->owned, cap * sizeof *no);
            if (!no)
                return -1;
            e->owned = no;
            e->owned_cap = cap;
        }
        char *src = xasprintf("%s:%zu", path, i);
        if (!src)
            return -1;
        e->owned[e->nowned++] = src;
        if (eb_push(e, (struct ignis_target_group){.source = src}) < 0)
            return -1;
    }
    return 0;
}

static void eb_free(struct emitbuf *e)
{
    for (size_t i = 0; i < e->nowned; i++)
        free(e->owned[i]);
    free(e->owned);
    free(e->g);
}

static void refresh(struct filesd *fs);
static void watches_sync(struct filesd *fs);

/* Applies a finished refresh: builds the new `known` table and the groups to emit. */
static int apply_job(struct filesd *fs, struct job *j, struct emitbuf *e, struct known **nk_out,
                     size_t *nnk_out)
{
    struct known *nk = calloc(j->nfiles + fs->nknown + 1, sizeof *nk);
    size_t nnk = 0;
    if (!nk)
        return -1;
    for (size_t i = 0; i < j->nfiles; i++) {
        struct job_file *jf = &j->files[i];
        const struct known *k = known_find(fs->known, fs->nknown, jf->path);
        if (jf->state == JF_FAILED) {
            fs->host->log(fs->host, IGNIS_LOG_ERROR, "error reading file %s: %s", jf->path,
                          jf->err ? jf->err : "unknown error");
            if (!k)
                continue; /* nothing emitted for it before, nothing to keep */
            nk[nnk] = *k;
        } else if (jf->state == JF_UNCHANGED && k) {
            nk[nnk] = *k; /* the same content as what was emitted */
        } else {
            /* parsed: emit its groups, and clear sources it had and has no longer */
            size_t ng = jf->parsed.ngroups;
            for (size_t g = 0; g < ng; g++) {
                const struct fsd_group *fg = &jf->parsed.groups[g];
                struct ignis_target_group tg = {
                    .source = fg->source,
                    .labels = fg->labels,
                    .nlabels = fg->nlabels,
                    .targets = fg->tptrs,
                    .ntarget_labels = fg->tcounts,
                    .ntargets = fg->ntargets,
                };
                if (eb_push(e, tg) < 0)
                    goto oom;
            }
            if (k && k->ngroups > ng && eb_clear(e, jf->path, ng, k->ngroups) < 0)
                goto oom;
            nk[nnk] = (struct known){NULL, jf->hash, ng};
        }
        if (!(nk[nnk].path = xstrdup(jf->path)))
            goto oom;
        nnk++;
    }
    /* files that no longer match (deleted, renamed away): clear all their sources */
    for (size_t i = 0; i < fs->nknown; i++) {
        bool seen = j->nfiles &&
                    bsearch(fs->known[i].path, j->files, j->nfiles, sizeof *j->files, cmp_job_file);
        if (!seen && eb_clear(e, fs->known[i].path, 0, fs->known[i].ngroups) < 0)
            goto oom;
    }
    qsort(nk, nnk, sizeof *nk, cmp_str); /* path is the first member */
    *nk_out = nk;
    *nnk_out = nnk;
    return 0;
oom:
    for (size_t i = 0; i < nnk; i++)
        free(nk[i].path);
    free(nk);
    return -1;
}

static void filesd_free(struct filesd *fs);

static void job_done(void *arg)
{
    struct job *j = arg;
    struct filesd *fs = j->fs;
    fs->job = NULL;
    if (fs->dying) {
        job_free(j);
        filesd_free(fs);
        return;
    }
    if (!fs->running) {
        job_free(j);
        return;
    }
    if (j->err) {
        fs->host->log(fs->host, IGNIS_LOG_ERROR, "refreshing file SD failed: %s", j->err);
    } else {
        struct emitbuf e = {0};
        struct known *nk;
        size_t nnk;
        if (apply_job(fs, j, &e, &nk, &nnk) < 0) {
            fs->host->log(fs->host, IGNIS_LOG_ERROR, "refreshing file SD: out of memory");
        } else {
            if (e.n)
                fs->emit(fs->emit_arg, e.g, e.n);
            for (size_t i = 0; i < fs->nknown; i++)
                free(fs->known[i].path);
            free(fs->known);
            fs->known = nk;
            fs->nknown = nnk;
        }
        eb_free(&e);
    }
    job_free(j);
    watches_sync(fs); /* directories that appeared since can be watched now */
    if (fs->again) {
        fs->again = false;
        refresh(fs);
    }
}

static void retry_cb(void *arg)
{
    struct filesd *fs = arg;
    fs->retry = NULL; /* the host frees a one-shot timer after it fires */
    refresh(fs);
}

/* Starts a refresh unless one is in flight (then it runs once more when that ends). */
static void refresh(struct filesd *fs)
{
    if (!fs->running)
        return;
    if (fs->job) {
        fs->again = true;
        return;
    }
    struct job *j = job_new(fs);
    if (!j) {
        fs->host->log(fs->host, IGNIS_LOG_ERROR, "refreshing file SD: out of memory");
        return;
    }
    fs->job = j;
    if (!IGNIS_HAS(fs->host, submit)) {
        job_work(j);
        job_done(j);
        return;
    }
    /* done may run before submit returns (a host may run both inline) */
    if (fs->host->submit(fs->host, IGNIS_LANE_BACKGROUND, job_work, job_done, j) != 0) {
        fs->job = NULL;
        job_free(j);
        if (!fs->retry)
            fs->retry = fs->host->timer_add(fs->host, RETRY_MS, 0, retry_cb, fs);
    }
}

static void tick_cb(void *arg)
{
    refresh(arg);
}

static void debounce_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    refresh(arg);
}

/* ---- inotify -------------------------------------------------------------------------- */

static void inotify_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct filesd *fs = arg;
    /* loop thread only, so one buffer serves every instance; aligned as inotify_event
     * requires */
    static char buf[INOTIFY_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool any = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_IGNORED) {
                for (size_t i = 0; i < fs->nwatches; i++)
                    if (fs->watches[i].wd == ev->wd)
                        fs->watches[i].wd = -1; /* directory gone: re-added on refresh */
            }
            any = true;
            p += sizeof *ev + ev->len;
        }
    }
    if (any && fs->running && !evtimer_pending(fs->debounce, NULL)) {
        struct timeval tv = {0, DEBOUNCE_MS * 1000};
        evtimer_add(fs->debounce, &tv);
    }
}

/* The directory part of a pattern ("." when it has none). */
static char *pattern_dir(const char *p)
{
    const char *slash = strrchr(p, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == p)
        return xstrdup("/");
    return strndup(p, (size_t)(slash - p));
}

/* Adds watches for directories not yet watched (they may not exist yet). */
static void watches_sync(struct filesd *fs)
{
    if (fs->ifd < 0)
        return;
    for (size_t i = 0; i < fs->nwatches; i++) {
        if (fs->watches[i].wd >= 0)
            continue;
        int wd = inotify_add_watch(fs->ifd, fs->watches[i].dir, INOTIFY_MASK);
        if (wd >= 0)
            fs->watches[i].wd = wd;
    }
}

static void watches_close(struct filesd *fs)
{
    if (fs->iev) {
        event_free(fs->iev);
        fs->iev = NULL;
    }
    if (fs->ifd >= 0) {
        close(fs->ifd);
        fs->ifd = -1;
    }
    for (size_t i = 0; i < fs->nwatches; i++)
        free(fs->watches[i].dir);
    free(fs->watches);
    fs->watches = NULL;
    fs->nwatches = 0;
}

static int watches_open(struct filesd *fs)
{
    fs->watches = calloc(fs->npatterns ? fs->npatterns : 1, sizeof *fs->watches);
    if (!fs->watches)
        return -1;
    for (size_t i = 0; i < fs->npatterns; i++) {
        char *d = pattern_dir(fs->patterns[i]);
        if (!d)
            return -1;
        bool dup = false;
        for (size_t k = 0; k < fs->nwatches && !dup; k++)
            dup = strcmp(fs->watches[k].dir, d) == 0;
        if (dup) {
            free(d);
            continue;
        }
        fs->watches[fs->nwatches++] = (struct watch){d, -1};
    }
    fs->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fs->ifd < 0) {
        fs->host->log(fs->host, IGNIS_LOG_WARN,
                      "inotify unavailable (%s): changes are seen every refresh_interval",
                      strerror(errno));
        return 0;
    }
    fs->iev =
        event_new(fs->host->event_base(fs->host), fs->ifd, EV_READ | EV_PERSIST, inotify_cb, fs);
    if (!fs->iev || event_add(fs->iev, NULL) != 0)
        return -1;
    watches_sync(fs);
    return 0;
}

/* ---- life cycle ----------------------------------------------------------------------- */

static void free_patterns(char **p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i]);
    free(p);
}

struct settings {
    char **patterns;
    size_t npatterns;
    int64_t refresh_ms;
    uint64_t max_size;
    size_t max_targets;
};

/* Relative patterns are taken relative to the directory of the configuration file, as
 * Prometheus does (the host says which; an older host: the working directory). */
static int read_settings(const struct ignis_host *host, const struct ignis_config *cfg,
                         struct settings *s, char *err, size_t errlen)
{
    const char *base = IGNIS_HAS(host, config_dir) ? host->config_dir(host) : NULL;
    memset(s, 0, sizeof *s);
    size_t n = ignis_config_count(cfg, "files");
    if (n == 0) {
        snprintf(err, errlen, "%s: files: at least one pattern is required",
                 ignis_config_where(cfg, "files"));
        return -1;
    }
    s->patterns = calloc(n, sizeof *s->patterns);
    if (!s->patterns) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *p = ignis_config_string_at(cfg, "files", i);
        if (!p || !fsd_pattern_valid(p)) {
            snprintf(err, errlen, "%s: path name \"%s\" is not valid for file discovery",
                     ignis_config_where(cfg, "files"), p ? p : "");
            goto fail;
        }
        if (!(s->patterns[i] = base && base[0] && p[0] != '/' ? xasprintf("%s/%s", base, p)
                                                               : xstrdup(p))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        s->npatterns++;
    }
    s->refresh_ms = ignis_config_duration_ms(cfg, "refresh_interval");
    if (s->refresh_ms <= 0) {
        snprintf(err, errlen, "%s: refresh_interval must be greater than 0",
                 ignis_config_where(cfg, "refresh_interval"));
        goto fail;
    }
    s->max_size = ignis_config_size(cfg, "max_file_size");
    int64_t mt = ignis_config_int(cfg, "max_targets");
    if (mt < 0) {
        snprintf(err, errlen, "%s: max_targets must not be negative",
                 ignis_config_where(cfg, "max_targets"));
        goto fail;
    }
    s->max_targets = (size_t)mt;
    return 0;
fail:
    free_patterns(s->patterns, s->npatterns);
    s->patterns = NULL;
    return -1;
}

static void take_settings(struct filesd *fs, struct settings *s)
{
    free_patterns(fs->patterns, fs->npatterns);
    fs->patterns = s->patterns;
    fs->npatterns = s->npatterns;
    fs->refresh_ms = s->refresh_ms;
    fs->max_size = s->max_size;
    fs->max_targets = s->max_targets;
    s->patterns = NULL;
}

static int create(const struct ignis_host *host, const struct ignis_config *cfg, void **instance,
                  char *err, size_t errlen)
{
    struct settings s;
    if (read_settings(host, cfg, &s, err, errlen) < 0)
        return IGNIS_E_INVALID;
    struct filesd *fs = calloc(1, sizeof *fs);
    if (!fs) {
        free_patterns(s.patterns, s.npatterns);
        snprintf(err, errlen, "out of memory");
        return IGNIS_E_NOMEM;
    }
    fs->host = host;
    fs->ifd = -1;
    take_settings(fs, &s);
    *instance = fs;
    return 0;
}

/* Stops timers and watches; keeps what was emitted (`known`). */
static void quiesce(struct filesd *fs)
{
    if (fs->tick) {
        fs->host->timer_cancel(fs->host, fs->tick);
        fs->tick = NULL;
    }
    if (fs->retry) {
        fs->host->timer_cancel(fs->host, fs->retry);
        fs->retry = NULL;
    }
    if (fs->debounce) {
        event_free(fs->debounce);
        fs->debounce = NULL;
    }
    watches_close(fs);
}

static int arm(struct filesd *fs)
{
    fs->debounce = evtimer_new(fs->host->event_base(fs->host), debounce_cb, fs);
    if (!fs->debounce)
        return -1;
    if (watches_open(fs) < 0)
        return -1;
    fs->tick = fs->host->timer_add(fs->host, fs->refresh_ms, fs->refresh_ms, tick_cb, fs);
    return fs->tick ? 0 : -1;
}

static int start(void *instance, ignis_discovery_emit emit, void *emit_arg)
{
    struct filesd *fs = instance;
    fs->emit = emit;
    fs->emit_arg = emit_arg;
    if (arm(fs) < 0) {
        quiesce(fs);
        fs->host->log(fs->host, IGNIS_LOG_ERROR, "cannot start file SD: out of resources");
        return IGNIS_E_NOMEM;
    }
    fs->running = true;
    refresh(fs);
    return 0;
}

static void stop(void *instance)
{
    struct filesd *fs = instance;
    fs->running = false;
    fs->again = false;
    quiesce(fs);
}

static int reconfigure(void *instance, const struct ignis_config *cfg, char *err, size_t errlen)
{
    struct filesd *fs = instance;
    struct settings s;
    if (read_settings(fs->host, cfg, &s, err, errlen) < 0)
        return IGNIS_E_INVALID;
    take_settings(fs, &s);
    if (fs->running) {
        /* new patterns, new directories, new interval: re-arm, then look again; files no
         * longer matched are cleared by that refresh */
        quiesce(fs);
        if (arm(fs) < 0) {
            quiesce(fs);
            fs->running = false;
            snprintf(err, errlen, "out of resources re-arming file SD");
            return IGNIS_E_NOMEM;
        }
        refresh(fs);
    }
    return 0;
}

static void filesd_free(struct filesd *fs)
{
    free_patterns(fs->patterns, fs->npatterns);
    for (size_t i = 0; i < fs->nknown; i++)
        free(fs->known[i].path);
    free(fs->known);
    free(fs);
}

static void destroy(void *instance)
{
    struct filesd *fs = instance;
    if (!fs)
        return;
    stop(fs);
    if (fs->job) {
        /* a worker still reads for us: its done frees the instance, touching no host */
        fs->dying = true;
        return;
    }
    filesd_free(fs);
}

static const struct ignis_option options[] = {
    {"files", IGNIS_OPT_STRINGS, NULL,
     "patterns of target files (.json, .yml, .yaml; one '*' in the last segment)", NULL,
     IGNIS_OPT_REQUIRED},
    {"refresh_interval", IGNIS_OPT_DURATION, "5m", "re-read the files this often as well", NULL, 0},
    {"max_file_size", IGNIS_OPT_SIZE, DEFAULT_MAX_FILE_SIZE,
     "a larger target file is refused (its previous targets stay)", NULL, 0},
    {"max_targets", IGNIS_OPT_INT, DEFAULT_MAX_TARGETS,
     "most targets one file may list (0: no limit); a file with more is refused", NULL, 0},
    {NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0},
};

static const struct ignis_discovery_ops ops = {
    .size = sizeof ops,
    .create = create,
    .reconfigure = reconfigure,
    .destroy = destroy,
    .start = start,
    .stop = stop,
};

const struct ignis_plugin ignis_plugin = {
    .abi = IGNIS_ABI,
    .kind = IGNIS_PLUGIN_DISCOVERY,
    .name = "file",
    .version = "1.0.0",
    .description = "file-based service discovery (Prometheus file_sd_config)",
    .options = options,
    .ops = &ops,
};
