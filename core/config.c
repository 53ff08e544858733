/* core/config.c — reads ignis.conf with libconfig, checks it against the core's schema
 * (config_schema.c) and every plugin's, and builds the typed views plugins are handed.
 * Every error is collected, not just the first, each as "file:line: path: message".
 * Nothing here touches the loop or runs plugin code: schemas come from a callback. */
#include "core/config.h"
#include "core/config_priv.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Errors kept for one load; the rest are counted in a closing line. A file with more
 * mistakes than this is better fixed a hundred at a time. */
#define MAX_ERRORS 100
/* Longest setting path ("scrape_configs[3].relabel_configs[0].regex"); longer paths
 * are cut, which only shortens messages. */
#define MAX_PATH 512
/* Deepest nesting of groups and lists the walker follows: the core's schema nests 4
 * deep; raw (ANY) trees stop here, below the view's own limit (32). */
#define MAX_DEPTH 24
/* Largest file kept in memory to check integer literals against what libconfig read. */
#define MAX_SOURCE_BYTES (16u << 20)
/* Most distinct files (the main one and its @includes) whose text is kept. */
#define MAX_SOURCES 64

struct cfg_error {
    int file; /* order of first appearance of the file, for sorting */
    unsigned line;
    size_t seq; /* order of discovery: keeps sorting stable */
    char *text; /* "file:line: message" */
};

struct source {
    char *name; /* as printed in messages */
    char *text; /* NULL when unreadable or too large */
    size_t len;
};

struct inst {
    enum ignis_plugin_kind kind;
    char *plugin;
    char *name;
    struct ignis_config *view;
    bool used; /* moved into the result */
};

struct loader {
    const char *path;
    char *dir;
    config_t lc;
    bool lc_init;
    ig_config_plugin_fn plugin_fn;
    void *arg;

    struct cfg_error *errs;
    size_t nerrs, errcap;
    size_t dropped;
    size_t seq;

    struct source srcs[MAX_SOURCES];
    size_t nsrcs;

    struct inst *insts;
    size_t ninsts, instcap;
};

/* What ig_config.priv points at. */
struct cfg_priv {
    struct ignis_config **views; /* instance views, owned */
    size_t nviews;
};

static const struct ignis_option no_rows[] = {{NULL, IGNIS_OPT_END, NULL, NULL, NULL, 0}};

/* ---- small helpers ------------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Appends to path at len; returns the new length (the text is cut at MAX_PATH). */
__attribute__((format(printf, 3, 4))) static size_t path_add(char *path, size_t len,
                                                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(path + len, MAX_PATH - len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return len;
    if ((size_t)n >= MAX_PATH - len)
        return MAX_PATH - 1;
    return len + (size_t)n;
}

static size_t path_key(char *path, size_t len, const char *key)
{
    return len ? path_add(path, len, ".%s", key) : path_add(path, len, "%s", key);
}

static const char *kind_name(enum ignis_plugin_kind k)
{
    switch (k) {
    case IGNIS_PLUGIN_DISCOVERY:
        return "discovery";
    case IGNIS_PLUGIN_EXPORTER:
        return "exporter";
    case IGNIS_PLUGIN_STORAGE:
        return "storage";
    case IGNIS_PLUGIN_QUERY:
        return "query";
    case IGNIS_PLUGIN_NOTIFIER:
        return "notifier";
    case IGNIS_PLUGIN_SERVICE:
        return "service";
    }
    return "unknown";
}

/* Where a plugin of kind k takes its settings, for messages. */
static void kind_place(enum ignis_plugin_kind k, const char *plugin, char *buf, size_t n)
{
    switch (k) {
    case IGNIS_PLUGIN_DISCOVERY:
        snprintf(buf, n, "scrape_configs[i].%s_sd_configs", plugin);
        return;
    case IGNIS_PLUGIN_EXPORTER:
        snprintf(buf, n, "exporters.%s", plugin);
        return;
    case IGNIS_PLUGIN_STORAGE:
        snprintf(buf, n, "storage.%s", plugin);
        return;
    case IGNIS_PLUGIN_QUERY:
        snprintf(buf, n, "query.%s", plugin);
        return;
    case IGNIS_PLUGIN_NOTIFIER:
        snprintf(buf, n, "%s_configs of a receiver", plugin);
        return;
    case IGNIS_PLUGIN_SERVICE:
        break;
    }
    snprintf(buf, n, "%s", plugin);
}

/* ---- sources: file names as printed, and their text --------------------------- */

/* libconfig records an included file by the name written in @include; print it as the
 * path it was opened from (the include directory is the main file's). Returns the
 * index of the source, registering it on first sight. */
static int source_of(struct loader *L, const char *file)
{
    char buf[PATH_MAX];
    const char *name = file;
    if (!file)
        name = L->path;
    else if (strcmp(file, L->path) != 0 && file[0] != '/' && L->dir) {
        snprintf(buf, sizeof buf, "%s/%s", L->dir, file);
        name = buf;
    }
    for (size_t i = 0; i < L->nsrcs; i++)
        if (strcmp(L->srcs[i].name, name) == 0)
            return (int)i;
    if (L->nsrcs == MAX_SOURCES)
        return -1;
    struct source *s = &L->srcs[L->nsrcs];
    s->name = xstrdup(name);
    if (!s->name)
        return -1;
    s->text = NULL;
    s->len = 0;
    return (int)L->nsrcs++;
}

static const char *source_name(struct loader *L, int src)
{
    return src >= 0 ? L->srcs[src].name : L->path;
}

/* The file's text, read on first use (bounded by MAX_SOURCE_BYTES). */
static const char *source_text(struct loader *L, int src, size_t *len)
{
    if (src < 0)
        return NULL;
    struct source *s = &L->srcs[src];
    if (!s->text) {
        FILE *f = fopen(s->name, "rb");
        if (!f)
            return NULL;
        char *buf = malloc(MAX_SOURCE_BYTES + 1);
        size_t n = buf ? fread(buf, 1, MAX_SOURCE_BYTES + 1, f) : 0;
        fclose(f);
        if (!buf || n > MAX_SOURCE_BYTES) {
            free(buf);
            return NULL;
        }
        buf[n] = '\0';
        char *shrunk = realloc(buf, n + 1);
        s->text = shrunk ? shrunk : buf;
        s->len = n;
    }
    *len = s->len;
    return s->text;
}

/* "file:line" of a setting. */
static void where_of(struct loader *L, const config_setting_t *s, char *buf, size_t n)
{
    int src = source_of(L, config_setting_source_file(s));
    snprintf(buf, n, "%s:%u", source_name(L, src), config_setting_source_line(s));
}

/* ---- errors -------------------------------------------------------------------- */

static void add_error(struct loader *L, int src, unsigned line, const char *msg)
{
    if (L->nerrs == MAX_ERRORS) {
        L->dropped++;
        return;
    }
    if (L->nerrs == L->errcap) {
        size_t cap = L->errcap ? 2 * L->errcap : 16;
        struct cfg_error *e = realloc(L->errs, cap * sizeof *e);
        if (!e) {
            L->dropped++;
            return;
        }
        L->errs = e;
        L->errcap = cap;
    }
    size_t need = strlen(source_name(L, src)) + strlen(msg) + 16;
    char *text = malloc(need);
    if (!text) {
        L->dropped++;
        return;
    }
    if (line)
        snprintf(text, need, "%s:%u: %s", source_name(L, src), line, msg);
    else
        snprintf(text, need, "%s: %s", source_name(L, src), msg);
    L->errs[L->nerrs++] = (struct cfg_error){src, line, L->seq++, text};
}

static size_t nerrors(const struct loader *L)
{
    return L->nerrs + L->dropped;
}

/* An error about setting s (or the group holding a missing one) at path. */
__attribute__((format(printf, 4, 5))) static void errf(struct loader *L, const config_setting_t *s,
                                                       const char *path, const char *fmt, ...)
{
    char msg[1024];
    int off = 0;
    if (path && *path)
        off = snprintf(msg, sizeof msg, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
    va_end(ap);
    int src = s ? source_of(L, config_setting_source_file(s)) : source_of(L, NULL);
    add_error(L, src, s ? config_setting_source_line(s) : 0, msg);
}

static int cmp_error(const void *a, const void *b)
{
    const struct cfg_error *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the errors, in file and line order, one per line, into err (cut at errlen). */
static void flush_errors(struct loader *L, char *err, size_t errlen)
{
    if (!err || !errlen)
        return;
    qsort(L->errs, L->nerrs, sizeof *L->errs, cmp_error);
    size_t off = 0;
    err[0] = '\0';
    for (size_t i = 0; i < L->nerrs && off + 1 < errlen; i++) {
        int n = snprintf(err + off, errlen - off, "%s%s", i ? "\n" : "", L->errs[i].text);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    if (L->dropped && off + 1 < errlen)
        snprintf(err + off, errlen - off, "\n%s: and %zu more errors", L->path, L->dropped);
}

/* ---- opening the file ---------------------------------------------------------- */

static void loader_init(struct loader *L, const char *path)
{
    memset(L, 0, sizeof *L);
    L->path = path;
}

static void loader_free(struct loader *L)
{
    if (L->lc_init)
        config_destroy(&L->lc);
    free(L->dir);
    for (size_t i = 0; i < L->nerrs; i++)
        free(L->errs[i].text);
    free(L->errs);
    for (size_t i = 0; i < L->nsrcs; i++) {
        free(L->srcs[i].name);
        free(L->srcs[i].text);
    }
    for (size_t i = 0; i < L->ninsts; i++) {
        if (!L->insts[i].used)
            ignis_config_free(L->insts[i].view);
        free(L->insts[i].plugin);
        free(L->insts[i].name);
    }
    free(L->insts);
}

/* Parses the file (and its @includes, looked up beside it). Returns 0 or -1 with the
 * error recorded. */
static int loader_open(struct loader *L)
{
    FILE *f = fopen(L->path, "r");
    if (!f) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot open: %s", strerror(errno));
        add_error(L, source_of(L, NULL), 0, msg);
        return -1;
    }
    fclose(f);
    source_of(L, NULL); /* the main file is source 0 */

    const char *slash = strrchr(L->path, '/');
    L->dir = slash ? xstrndup(L->path, slash == L->path ? 1 : (size_t)(slash - L->path)) : NULL;
    config_init(&L->lc);
    L->lc_init = true;
    if (L->dir)
        config_set_include_dir(&L->lc, L->dir);
    if (config_read_file(&L->lc, L->path))
        return 0;
    if (config_error_type(&L->lc) == CONFIG_ERR_FILE_IO && !config_error_file(&L->lc)) {
        add_error(L, source_of(L, NULL), 0, "cannot read the file");
        return -1;
    }
    int src = source_of(L, config_error_file(&L->lc));
    int line = config_error_line(&L->lc);
    add_error(L, src, line > 0 ? (unsigned)line : 0, config_error_text(&L->lc));
    return -1;
}

/* ---- values -------------------------------------------------------------------- */

static const char *got_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    }
    return "nothing";
}

static const char *want_name(enum ignis_opt_type t)
{
    switch (t) {
    case IGNIS_OPT_STRING:
    case IGNIS_OPT_SECRET:
        return "a string";
    case IGNIS_OPT_INT:
        return "an integer";
    case IGNIS_OPT_FLOAT:
        return "a number";
    case IGNIS_OPT_BOOL:
        return "true or false";
    case IGNIS_OPT_DURATION:
        return "a duration string such as \"15s\"";
    case IGNIS_OPT_SIZE:
        return "a size such as \"512MB\" or a number of bytes";
    case IGNIS_OPT_REGEX:
        return "a regular expression string";
    case IGNIS_OPT_STRINGS:
        return "an array of strings [ \"...\", ... ]";
    case IGNIS_OPT_LABELS:
        return "a list of { name = \"...\"; value = \"...\"; } groups";
    case IGNIS_OPT_GROUP:
        return "a group { ... }";
    case IGNIS_OPT_LIST:
        return "a list of groups ( { ... }, ... )";
    case IGNIS_OPT_ANY:
    case IGNIS_OPT_END:
        break;
    }
    return "a value";
}

static void type_error(struct loader *L, const config_setting_t *s, const char *path,
                       enum ignis_opt_type want)
{
    errf(L, s, path, "expected %s, got %s", want_name(want), got_name(s));
}

/* A list or array usable as a sequence: ( ... ), [ ... ] (an empty [ ] too, for lists
 * of groups, since "nothing" is written either way). */
static bool is_sequence(const config_setting_t *s, bool groups)
{
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_LIST)
        return true;
    return t == CONFIG_TYPE_ARRAY && (!groups || config_setting_length(s) == 0);
}

static bool is_name_char(char c)
{
    return c == '_' || c == '-' || c == '*' || (c >= '0' && c <= '9') ||
           ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* libconfig 1.5 reads a decimal literal without an L suffix into 32 bits and silently
 * keeps the low bits of a larger one. Reads the literal back from the file and reports
 * a mismatch, so "max_samples = 5000000000;" is an error, not 705032704. */
static void check_int_literal(struct loader *L, const config_setting_t *s, const char *path)
{
    const char *name = config_setting_name(s);
    if (config_setting_type(s) != CONFIG_TYPE_INT || !name)
        return;
    size_t len;
    int src = source_of(L, config_setting_source_file(s));
    const char *text = source_text(L, src, &len);
    if (!text)
        return;
    unsigned line = config_setting_source_line(s);
    const char *p = text, *end = text + len;
    for (unsigned l = 1; l < line && p < end; l++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p)
            return;
        p++;
    }
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    size_t nlen = strlen(name);
    bool in_str = false;
    for (const char *q = p; q + nlen <= eol; q++) {
        /* Names inside strings do not count; a comment ends the search. */
        if (in_str) {
            if (*q == '\\' && q + 1 < eol)
                q++;
            else if (*q == '"')
                in_str = false;
            continue;
        }
        if (*q == '"') {
            in_str = true;
            continue;
        }
        if (*q == '#' || (*q == '/' && q + 1 < eol && (q[1] == '/' || q[1] == '*')))
            return;
        if (memcmp(q, name, nlen) != 0 || (q > p && is_name_char(q[-1])))
            continue;
        const char *v = q + nlen;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        if (v == eol || (*v != '=' && *v != ':'))
            continue;
        v++;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        char lit[64];
        size_t n = 0;
        while (v + n < eol && n + 1 < sizeof lit &&
               (v[n] == '-' || v[n] == '+' || v[n] == 'x' || v[n] == 'X' ||
                (v[n] >= '0' && v[n] <= '9') || ((v[n] | 32) >= 'a' && (v[n] | 32) <= 'f')))
            n++;
        memcpy(lit, v, n);
        lit[n] = '\0';
        if (!n || (v + n < eol && (v[n] == 'L' || v[n] == '.')))
            return;
        errno = 0;
        char *e;
        long long want = strtoll(lit, &e, 0);
        if (*e != '\0')
            return;
        if (errno == ERANGE)
            errf(L, s, path, "integer %s is out of range", lit);
        else if (want != (long long)config_setting_get_int(s))
            errf(L, s, path, "integer %s does not fit in 32 bits; write it as %sL", lit, lit);
        return;
    }
}

/* ---- checks of single values, made as each setting is read ---------------------- */

enum vcheck {
    V_ENUM,       /* a string from .set */
    V_NONNEG,     /* an integer >= 0 */
    V_POSITIVE,   /* an integer >= 1 */
    V_NONEMPTY,   /* a non-empty string */
    V_LABELNAMES, /* STRINGS of label names, or LABELS whose names are label names */
    V_TARGETS,    /* STRINGS of host:port */
};

struct vrule {
    const struct ignis_option *rows;
    const char *key;
    enum vcheck check;
    const char *const *set;
};

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"logfmt", "json", NULL};
static const char *const schemes[] = {"http", "https", NULL};
static const char *const api_versions[] = {"v2", NULL};

static const struct vrule vrules[] = {
    {ig_cfg_global_rows, "external_labels", V_LABELNAMES, NULL},
    {ig_cfg_log_rows, "level", V_ENUM, log_levels},
    {ig_cfg_log_rows, "format", V_ENUM, log_formats},
    {ig_cfg_root_rows, "workers", V_NONNEG, NULL},
    {ig_cfg_web_rows, "max_connections", V_NONNEG, NULL},
    {ig_cfg_query_rows, "max_samples", V_NONNEG, NULL},
    {ig_cfg_query_rows, "max_concurrency", V_POSITIVE, NULL},
    {ig_cfg_exemplars_rows, "max_exemplars", V_NONNEG, NULL},
    {ig_cfg_scrape_rows, "job_name", V_NONEMPTY, NULL},
    {ig_cfg_scrape_rows, "scheme", V_ENUM, schemes},
    {ig_cfg_scrape_rows, "sample_limit", V_NONNEG, NULL},
    {ig_cfg_scrape_rows, "label_limit", V_NONNEG, NULL},
    {ig_cfg_scrape_rows, "label_name_length_limit", V_NONNEG, NULL},
    {ig_cfg_scrape_rows, "label_value_length_limit", V_NONNEG, NULL},
    {ig_cfg_scrape_rows, "target_limit", V_NONNEG, NULL},
    {ig_cfg_static_rows, "targets", V_TARGETS, NULL},
    {ig_cfg_static_rows, "labels", V_LABELNAMES, NULL},
    {ig_cfg_relabel_rows, "source_labels", V_LABELNAMES, NULL},
    {ig_cfg_relabel_rows, "action", V_ENUM, ig_cfg_relabel_actions},
    {ig_cfg_relabel_rows, "modulus", V_NONNEG, NULL},
    {ig_cfg_alertmanager_rows, "scheme", V_ENUM, schemes},
    {ig_cfg_alertmanager_rows, "api_version", V_ENUM, api_versions},
};

static const struct vrule *vrule_of(const struct ignis_option *row)
{
    for (size_t i = 0; i < sizeof vrules / sizeof vrules[0]; i++) {
        const struct ignis_option *r = vrules[i].rows;
        for (; r->name; r++)
            if (r == row)
                break;
        if (r == row && strcmp(row->name, vrules[i].key) == 0)
            return &vrules[i];
    }
    return NULL;
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

/* Checks a string or integer value against the row's rule. Returns false (and
 * records why) when it is refused. */
static bool check_value(struct loader *L, const config_setting_t *s, const char *path,
                        const struct vrule *r, const char *str, long long num)
{
    if (!r)
        return true;
    switch (r->check) {
    case V_ENUM:
        if (str && !one_of(str, r->set)) {
            char list[256] = "";
            size_t off = 0;
            for (const char *const *p = r->set; *p && off < sizeof list; p++)
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
                                        p == r->set ? "" : ", ", *p);
            errf(L, s, path, "unknown value \"%s\" (one of %s)", str, list);
            return false;
        }
        break;
    case V_NONNEG:
        if (!str && num < 0) {
            errf(L, s, path, "must not be negative");
            return false;
        }
        break;
    case V_POSITIVE:
        if (!str && num < 1) {
            errf(L, s, path, "must be at least 1");
            return false;
        }
        break;
    case V_NONEMPTY:
        if (str && !*str) {
            errf(L, s, path, "must not be empty");
            return false;
        }
        break;
    case V_LABELNAMES:
        if (str && !ignis_is_legacy_label_name(str, strlen(str))) {
            errf(L, s, path, "invalid label name \"%s\"", str);
            return false;
        }
        break;
    case V_TARGETS:
        if (str && !*str) {
            errf(L, s, path, "empty target");
            return false;
        }
        if (str && strchr(str, '/')) {
            errf(L, s, path, "\"%s\" is not a valid host:port (no scheme or path here)", str);
            return false;
        }
        break;
    }
    return true;
}

static void view_failed(struct loader *L, const config_setting_t *s, const char *path)
{
    errf(L, s, path, "cannot store the setting (out of memory)");
}

static void set_text(struct loader *L, const config_setting_t *s, struct ignis_config *view,
                     const char *key, const char *text, const char *where, const char *path)
{
    char e[512] = "";
    if (ignis_config_set(view, key, text, where, e, sizeof e) != 0) {
        /* The view's messages start with the key; ours with the whole path. */
        size_t kl = strlen(key);
        const char *m = e;
        if (strncmp(m, key, kl) == 0 && m[kl] == ':' && m[kl + 1] == ' ')
            m += kl + 2;
        errf(L, s, path, "%s", *m ? m : "invalid value");
    }
}

static unsigned walk_group(struct loader *L, const config_setting_t *g, struct ignis_config *view,
                           const struct ignis_option *rows, char *path, size_t plen, int depth);

static void set_strings(struct loader *L, const config_setting_t *s, struct ignis_config *view,
                        const struct ignis_option *row, char *path, size_t plen)
{
    if (!is_sequence(s, false)) {
        type_error(L, s, path, IGNIS_OPT_STRINGS);
        return;
    }
    const struct vrule *rule = vrule_of(row);
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        path_add(path, plen, "[%d]", i);
        char where[PATH_MAX + 32];
        where_of(L, e, where, sizeof where);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            errf(L, e, path, "expected a string, got %s", got_name(e));
        else if (check_value(L, e, path, rule, config_setting_get_string(e), 0) &&
                 ignis_config_add_string(view, row->name, config_setting_get_string(e), where) != 0)
            view_failed(L, e, path);
        path[plen] = '\0';
    }
}

static void set_labels(struct loader *L, const config_setting_t *s, struct ignis_config *view,
                       const struct ignis_option *row, char *path, size_t plen)
{
    if (!is_sequence(s, true)) {
        type_error(L, s, path, IGNIS_OPT_LABELS);
        return;
    }
    const struct vrule *rule = vrule_of(row);
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        size_t l = path_add(path, plen, "[%d]", i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            errf(L, e, path, "expected { name = \"...\"; value = \"...\"; }, got %s", got_name(e));
            path[plen] = '\0';
            continue;
        }
        const char *name = NULL, *value = NULL;
        bool ok = true;
        int m = config_setting_length(e);
        for (int j = 0; j < m; j++) {
            const config_setting_t *f = config_setting_get_elem(e, (unsigned)j);
            const char *fn = config_setting_name(f);
            path_key(path, l, fn);
            bool isname = strcmp(fn, "name") == 0, isvalue = strcmp(fn, "value") == 0;
            ok = false;
            if (!isname && !isvalue)
                errf(L, f, path, "unknown setting (a pair has only name and value)");
            else if (config_setting_type(f) != CONFIG_TYPE_STRING)
                type_error(L, f, path, IGNIS_OPT_STRING);
            else if (isvalue)
                value = config_setting_get_string(f), ok = true;
            else if (check_value(L, f, path, rule, config_setting_get_string(f), 0))
                name = config_setting_get_string(f), ok = true;
            path[l] = '\0';
            if (!ok)
                break;
        }
        static const char *const pair[] = {"name", "value"};
        for (int k = 0; ok && k < 2; k++) {
            if (!config_setting_get_member(e, pair[k])) {
                path_key(path, l, pair[k]);
                errf(L, e, path, "missing required setting");
                path[l] = '\0';
                ok = false;
            }
        }
        /* Names of label sets are unique; URL parameters and headers may repeat. */
        for (int j = 0; ok && rule && j < i; j++) {
            const char *prev = NULL;
            config_setting_lookup_string(config_setting_get_elem(s, (unsigned)j), "name", &prev);
            if (prev && strcmp(prev, name) == 0) {
                path_key(path, l, "name");
                errf(L, config_setting_get_member(e, "name"), path, "duplicate label name \"%s\"",
                     name);
                path[l] = '\0';
                ok = false;
            }
        }
        if (ok) {
            char where[PATH_MAX + 32];
            where_of(L, e, where, sizeof where);
            if (ignis_config_add_label(view, row->name, name, value, where) != 0)
                view_failed(L, e, path);
        }
        path[plen] = '\0';
    }
}

/* A scalar as text, for arrays and lists of scalars in a raw (ANY) tree. */
static void scalar_text(const config_setting_t *s, char *buf, size_t n)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING:
        snprintf(buf, n, "%s", config_setting_get_string(s));
        return;
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(buf, n, "%lld", config_setting_get_int64(s));
        return;
    case CONFIG_TYPE_FLOAT:
        snprintf(buf, n, "%.17g", config_setting_get_float(s));
        return;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, n, "%s", config_setting_get_bool(s) ? "true" : "false");
        return;
    }
    buf[0] = '\0';
}

/* Copies group g unchecked into a schema-less view (the content of an ANY row): the
 * plugin reads it raw. Scalars keep their type; arrays and lists of scalars become
 * STRINGS (numbers written as text); lists of groups become lists of raw groups. */
static void copy_raw_group(struct loader *L, const config_setting_t *g, struct ignis_config *view,
                           char *path, size_t plen, int depth)
{
    if (depth > MAX_DEPTH) {
        errf(L, g, path, "nested too deeply");
        return;
    }
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *key = config_setting_name(m);
        size_t l = path_key(path, plen, key);
        char where[PATH_MAX + 32];
        where_of(L, m, where, sizeof where);
        int t = config_setting_type(m);
        int rc = 0;
        switch (t) {
        case CONFIG_TYPE_STRING:
            set_text(L, m, view, key, config_setting_get_string(m), where, path);
            break;
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
            check_int_literal(L, m, path);
            rc = ignis_config_set_int(view, key, config_setting_get_int64(m), where);
            break;
        case CONFIG_TYPE_FLOAT:
            rc = ignis_config_set_float(view, key, config_setting_get_float(m), where);
            break;
        case CONFIG_TYPE_BOOL:
            rc = ignis_config_set_bool(view, key, config_setting_get_bool(m) != 0, where);
            break;
        case CONFIG_TYPE_GROUP: {
            struct ignis_config *sub = ignis_config_add_group(view, key, where);
            if (sub)
                copy_raw_group(L, m, sub, path, l, depth + 1);
            else
                rc = -1;
            break;
        }
        case CONFIG_TYPE_ARRAY:
        case CONFIG_TYPE_LIST: {
            int k = config_setting_length(m), groups = 0;
            for (int j = 0; j < k; j++)
                groups += config_setting_type(config_setting_get_elem(m, (unsigned)j)) ==
                          CONFIG_TYPE_GROUP;
            if (groups && groups != k) {
                errf(L, m, path, "a list holds either groups or values, not both");
                break;
            }
            for (int j = 0; j < k && rc == 0; j++) {
                const config_setting_t *e = config_setting_get_elem(m, (unsigned)j);
                char ew[PATH_MAX + 32];
                where_of(L, e, ew, sizeof ew);
                if (groups) {
                    struct ignis_config *sub = ignis_config_add_list_group(view, key, ew);
                    size_t l2 = path_add(path, l, "[%d]", j);
                    if (sub)
                        copy_raw_group(L, e, sub, path, l2, depth + 1);
                    else
                        rc = -1;
                    path[l] = '\0';
                } else if (config_setting_is_aggregate(e)) {
                    path_add(path, l, "[%d]", j);
                    errf(L, e, path, "a list of values cannot nest lists");
                    path[l] = '\0';
                } else {
                    char text[64];
                    const char *v = text;
                    if (config_setting_type(e) == CONFIG_TYPE_STRING)
                        v = config_setting_get_string(e);
                    else
                        scalar_text(e, text, sizeof text);
                    rc = ignis_config_add_string(view, key, v, ew);
                }
            }
            break;
        }
        }
        if (rc != 0)
            view_failed(L, m, path);
        path[plen] = '\0';
    }
}

/* Stores setting s (row `row` of view's schema) into view, or records why not. */
static void set_value(struct loader *L, const config_setting_t *s, struct ignis_config *view,
                      const struct ignis_option *row, char *path, size_t plen, int depth)
{
    char where[PATH_MAX + 32];
    where_of(L, s, where, sizeof where);
    int t = config_setting_type(s);
    const char *key = row->name;
    const char *str = t == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    bool isint = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    const struct vrule *rule = vrule_of(row);
    size_t before = nerrors(L);

    switch (row->type) {
    case IGNIS_OPT_STRING:
    case IGNIS_OPT_SECRET:
    case IGNIS_OPT_REGEX:
        if (!str)
            type_error(L, s, path, row->type);
        else if (check_value(L, s, path, rule, str, 0))
            set_text(L, s, view, key, str, where, path);
        break;
    case IGNIS_OPT_DURATION: {
        int64_t ms;
        if (!str)
            type_error(L, s, path, row->type);
        else if (ignis_parse_duration(str, strlen(str), &ms) != 0)
            errf(L, s, path, "bad duration \"%s\"", str);
        else
            set_text(L, s, view, key, str, where, path);
        break;
    }
    case IGNIS_OPT_SIZE: {
        uint64_t b;
        if (isint) {
            check_int_literal(L, s, path);
            long long v = config_setting_get_int64(s);
            char num[32];
            snprintf(num, sizeof num, "%lld", v);
            if (nerrors(L) != before)
                break;
            if (v < 0)
                errf(L, s, path, "bad size %s", num);
            else
                set_text(L, s, view, key, num, where, path);
        } else if (!str)
            type_error(L, s, path, row->type);
        else if (ignis_parse_size(str, strlen(str), &b) != 0)
            errf(L, s, path, "bad size \"%s\"", str);
        else
            set_text(L, s, view, key, str, where, path);
        break;
    }
    case IGNIS_OPT_INT:
        if (!isint) {
            type_error(L, s, path, row->type);
            break;
        }
        check_int_literal(L, s, path);
        if (nerrors(L) == before &&
            check_value(L, s, path, rule, NULL, config_setting_get_int64(s)) &&
            ignis_config_set_int(view, key, config_setting_get_int64(s), where) != 0)
            view_failed(L, s, path);
        break;
    case IGNIS_OPT_FLOAT:
        if (!isint && t != CONFIG_TYPE_FLOAT) {
            type_error(L, s, path, row->type);
            break;
        }
        check_int_literal(L, s, path);
        if (nerrors(L) == before &&
            ignis_config_set_float(view, key,
                                   isint ? (double)config_setting_get_int64(s)
                                         : config_setting_get_float(s),
                                   where) != 0)
            view_failed(L, s, path);
        break;
    case IGNIS_OPT_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            type_error(L, s, path, row->type);
        else if (ignis_config_set_bool(view, key, config_setting_get_bool(s) != 0, where) != 0)
            view_failed(L, s, path);
        break;
    case IGNIS_OPT_STRINGS:
        set_strings(L, s, view, row, path, plen);
        break;
    case IGNIS_OPT_LABELS:
        set_labels(L, s, view, row, path, plen);
        break;
    case IGNIS_OPT_GROUP: {
        if (t != CONFIG_TYPE_GROUP) {
            type_error(L, s, path, row->type);
            break;
        }
        struct ignis_config *sub = ignis_config_add_group(view, key, where);
        if (!sub)
            view_failed(L, s, path);
        else
            walk_group(L, s, sub, row->sub ? row->sub : no_rows, path, plen, depth + 1);
        break;
    }
    case IGNIS_OPT_LIST: {
        if (!is_sequence(s, true)) {
            type_error(L, s, path, row->type);
            break;
        }
        int n = config_setting_length(s);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            size_t l = path_add(path, plen, "[%d]", i);
            if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                errf(L, e, path, "expected a group { ... }, got %s", got_name(e));
            } else {
                char ew[PATH_MAX + 32];
                where_of(L, e, ew, sizeof ew);
                struct ignis_config *sub = ignis_config_add_group(view, key, ew);
                if (!sub)
                    view_failed(L, e, path);
                else
                    walk_group(L, e, sub, row->sub ? row->sub : no_rows, path, l, depth + 1);
            }
            path[plen] = '\0';
        }
        break;
    }
    case IGNIS_OPT_ANY: {
        if (t != CONFIG_TYPE_GROUP) {
            type_error(L, s, path, IGNIS_OPT_GROUP);
            break;
        }
        struct ignis_config *sub = ignis_config_add_group(view, key, where);
        if (!sub)
            view_failed(L, s, path);
        else
            copy_raw_group(L, s, sub, path, plen, depth + 1);
        break;
    }
    case IGNIS_OPT_END:
        break;
    }
}

/* ---- plugin subtrees ----------------------------------------------------------- */

static bool lookup_plugin(struct loader *L, const char *name, enum ignis_plugin_kind *kind,
                          const struct ignis_option **schema)
{
    *schema = NULL;
    if (!L->plugin_fn)
        return false;
    return L->plugin_fn(L->arg, name, kind, schema);
}

static struct inst *add_inst(struct loader *L, enum ignis_plugin_kind kind, const char *plugin,
                             const char *name, struct ignis_config *view)
{
    if (L->ninsts == L->instcap) {
        size_t cap = L->instcap ? 2 * L->instcap : 8;
        struct inst *p = realloc(L->insts, cap * sizeof *p);
        if (!p)
            return NULL;
        L->insts = p;
        L->instcap = cap;
    }
    struct inst *in = &L->insts[L->ninsts];
    in->kind = kind;
    in->plugin = xstrdup(plugin);
    in->name = xstrdup(name);
    in->view = view;
    in->used = false;
    if (!in->plugin || !in->name) {
        free(in->plugin);
        free(in->name);
        return NULL;
    }
    L->ninsts++;
    return in;
}

static struct inst *find_inst(struct loader *L, enum ignis_plugin_kind kind, const char *name)
{
    for (size_t i = 0; i < L->ninsts; i++)
        if (L->insts[i].kind == kind && strcmp(L->insts[i].name, name) == 0)
            return &L->insts[i];
    return NULL;
}

/* Validates group s against a plugin's schema into a new view and records the
 * instance. */
static void plugin_instance(struct loader *L, const config_setting_t *s,
                            enum ignis_plugin_kind kind, const char *plugin, const char *name,
                            const struct ignis_option *schema, char *path, size_t plen, int depth)
{
    char where[PATH_MAX + 32];
    where_of(L, s, where, sizeof where);
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        type_error(L, s, path, IGNIS_OPT_GROUP);
        return;
    }
    if (!schema)
        schema = no_rows;
    struct ignis_config *view = ignis_config_new(schema, where);
    if (!view) {
        view_failed(L, s, path);
        return;
    }
    walk_group(L, s, view, schema, path, plen, depth + 1);
    if (!add_inst(L, kind, plugin, name, view)) {
        ignis_config_free(view);
        view_failed(L, s, path);
    }
}

/* The plugin named by key s of a group that hosts plugin subtrees. Returns false when
 * s is not a plugin's place (the caller reports an unknown setting). */
static bool place_plugin(struct loader *L, const struct ignis_option *rows,
                         const config_setting_t *g, const config_setting_t *s, char *path,
                         size_t plen, int depth)
{
    const char *key = config_setting_name(s);
    enum ignis_plugin_kind want;
    if (rows == ig_cfg_root_rows)
        want = IGNIS_PLUGIN_SERVICE;
    else if (rows == ig_cfg_storage_rows)
        want = IGNIS_PLUGIN_STORAGE;
    else if (rows == ig_cfg_query_rows)
        want = IGNIS_PLUGIN_QUERY;
    else if (rows == ig_cfg_exporters_rows)
        want = IGNIS_PLUGIN_EXPORTER;
    else if (rows == ig_cfg_scrape_rows)
        want = IGNIS_PLUGIN_DISCOVERY;
    else
        return false;

    static const char sd[] = "_sd_configs";
    size_t klen = strlen(key);
    char plugin[128];
    if (want == IGNIS_PLUGIN_DISCOVERY) {
        if (klen <= sizeof sd - 1 || strcmp(key + klen - (sizeof sd - 1), sd) != 0)
            return false;
        klen -= sizeof sd - 1;
    }
    if (klen >= sizeof plugin) {
        errf(L, s, path, "unknown setting");
        return true;
    }
    memcpy(plugin, key, klen);
    plugin[klen] = '\0';

    enum ignis_plugin_kind kind;
    const struct ignis_option *schema;
    if (!lookup_plugin(L, plugin, &kind, &schema)) {
        if (want == IGNIS_PLUGIN_SERVICE)
            errf(L, s, path, "unknown setting, and no service plugin \"%s\" is loaded", plugin);
        else
            errf(L, s, path, "%s plugin \"%s\" is not loaded; add it to plugins.load",
                 kind_name(want), plugin);
        return true;
    }
    if (kind != want) {
        char place[160];
        kind_place(kind, plugin, place, sizeof place);
        if (kind == IGNIS_PLUGIN_SERVICE)
            strncat(place, " at the top level", sizeof place - strlen(place) - 1);
        errf(L, s, path, "plugin \"%s\" is a %s plugin, not a %s plugin; its settings go in %s",
             plugin, kind_name(kind), kind_name(want), place);
        return true;
    }
    if (want != IGNIS_PLUGIN_DISCOVERY) {
        plugin_instance(L, s, kind, plugin, plugin, schema, path, plen, depth);
        return true;
    }
    if (!is_sequence(s, true)) {
        type_error(L, s, path, IGNIS_OPT_LIST);
        return true;
    }
    const char *job = "";
    config_setting_lookup_string(g, "job_name", &job);
    int n = config_setting_length(s);
    for (int j = 0; j < n; j++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)j);
        size_t l = path_add(path, plen, "[%d]", j);
        char name[512];
        snprintf(name, sizeof name, "%s/%s/%d", job, plugin, j);
        plugin_instance(L, e, kind, plugin, name, schema, path, l, depth);
        path[plen] = '\0';
    }
    return true;
}

/* ---- checks across settings (on groups whose settings all were valid) ---------- */

static const config_setting_t *member_or(const config_setting_t *g, const char *key)
{
    const config_setting_t *m = config_setting_get_member(g, key);
    return m ? m : g;
}

/* Reports setting key of g at path.key (or at g when the key is absent). */
__attribute__((format(printf, 6, 7))) static void key_err(struct loader *L,
                                                          const config_setting_t *g, char *path,
                                                          size_t plen, const char *key,
                                                          const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    path_key(path, plen, key);
    errf(L, member_or(g, key), path, "%s", msg);
    path[plen] = '\0';
}

static void check_timeout(struct loader *L, const config_setting_t *g, char *path, size_t plen,
                          int64_t timeout, int64_t interval)
{
    if (timeout <= interval)
        return;
    char a[32], b[32];
    ignis_format_duration(timeout, a, sizeof a);
    ignis_format_duration(interval, b, sizeof b);
    key_err(L, g, path, plen, "scrape_timeout", "%s is longer than the scrape interval (%s)", a, b);
}

/* True when t is a replace target: label name characters and $1 / ${name} references,
 * not starting with a digit (Prometheus' rule for target_label of replace actions). */
static bool valid_replace_target(const char *t)
{
    const char *p = t;
    bool first = true;
    if (!*p)
        return false;
    while (*p) {
        char c = *p;
        if (c == '$') {
            bool brace = *++p == '{';
            p += brace;
            const char *q = p;
            while (*p == '_' || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z'))
                p++;
            if (p == q || (brace && *p++ != '}'))
                return false;
        } else if (c == '_' || ((c | 32) >= 'a' && (c | 32) <= 'z') ||
                   (c >= '0' && c <= '9' && !first)) {
            p++;
        } else {
            return false;
        }
        first = false;
    }
    return true;
}

static void check_relabel(struct loader *L, const config_setting_t *g, const struct ignis_config *v,
                          char *path, size_t plen)
{
    static const char *const need_target[] = {"replace",   "hashmod",   "lowercase", "uppercase",
                                              "keepequal", "dropequal", NULL};
    static const char *const equal[] = {"keepequal", "dropequal", NULL};
    static const char *const labelset[] = {"labeldrop", "labelkeep", NULL};
    const char *action = ignis_config_string(v, "action");
    const char *target = ignis_config_string(v, "target_label");
    bool has_target = target && *target;
    if (!action)
        return;

    if (one_of(action, need_target) && !has_target)
        errf(L, g, path, "action \"%s\" needs a target_label", action);
    else if (has_target && strcmp(action, "replace") == 0 && !valid_replace_target(target))
        key_err(L, g, path, plen, "target_label", "invalid target label \"%s\"", target);
    else if (has_target && one_of(action, need_target) && strcmp(action, "replace") != 0 &&
             !ignis_is_legacy_label_name(target, strlen(target)))
        key_err(L, g, path, plen, "target_label", "invalid label name \"%s\"", target);
    if (strcmp(action, "hashmod") == 0 && ignis_config_int(v, "modulus") == 0)
        errf(L, g, path, "action \"hashmod\" needs a non-zero modulus");
    if (one_of(action, equal) &&
        (ignis_config_is_set(v, "regex") || ignis_config_is_set(v, "replacement") ||
         ignis_config_is_set(v, "modulus")))
        errf(L, g, path, "action \"%s\" takes only source_labels and target_label", action);
    if (one_of(action, labelset)) {
        const char *sep = ignis_config_string(v, "separator");
        const char *rep = ignis_config_string(v, "replacement");
        if (ignis_config_count(v, "source_labels") || ignis_config_is_set(v, "target_label") ||
            ignis_config_is_set(v, "modulus") || (sep && strcmp(sep, ";") != 0) ||
            (rep && strcmp(rep, "$1") != 0))
            errf(L, g, path, "action \"%s\" takes only a regex", action);
    }
}

static void check_auth(struct loader *L, const config_setting_t *g, const struct ignis_config *v,
                       char *path, size_t plen, bool basic)
{
    if (basic) {
        if (ignis_config_is_set(v, "password") && ignis_config_is_set(v, "password_file"))
            errf(L, g, path, "at most one of password and password_file may be set");
        return;
    }
    if (ignis_config_is_set(v, "credentials") && ignis_config_is_set(v, "credentials_file"))
        errf(L, g, path, "at most one of credentials and credentials_file may be set");
    const char *type = ignis_config_string(v, "type");
    if (type && strcasecmp(type, "basic") == 0)
        key_err(L, g, path, plen, "type", "type \"%s\" is not allowed here; use basic_auth", type);
}

static void check_group(struct loader *L, const struct ignis_option *rows,
                        const config_setting_t *g, const struct ignis_config *v, char *path,
                        size_t plen)
{
    if (rows == ig_cfg_global_rows)
        check_timeout(L, g, path, plen, ignis_config_duration_ms(v, "scrape_timeout"),
                      ignis_config_duration_ms(v, "scrape_interval"));
    else if (rows == ig_cfg_relabel_rows)
        check_relabel(L, g, v, path, plen);
    else if (rows == ig_cfg_basic_auth_rows)
        check_auth(L, g, v, path, plen, true);
    else if (rows == ig_cfg_authorization_rows)
        check_auth(L, g, v, path, plen, false);
    else if ((rows == ig_cfg_scrape_rows || rows == ig_cfg_alertmanager_rows) &&
             config_setting_get_member(g, "basic_auth") &&
             config_setting_get_member(g, "authorization"))
        errf(L, g, path, "at most one of basic_auth and authorization may be set");
    else if (rows == ig_cfg_plugins_rows) {
        const config_setting_t *s = config_setting_get_member(g, "load");
        size_t l = path_key(path, plen, "load");
        for (int i = 0; s && i < config_setting_length(s); i++) {
            const char *a = config_setting_get_string_elem(s, i);
            for (int j = 0; a && j < i; j++) {
                if (strcmp(a, config_setting_get_string_elem(s, j)) == 0) {
                    path_add(path, l, "[%d]", i);
                    errf(L, config_setting_get_elem(s, (unsigned)i), path,
                         "plugin \"%s\" is listed twice", a);
                    path[l] = '\0';
                    break;
                }
            }
        }
        path[plen] = '\0';
    }
}

/* ---- the walk ------------------------------------------------------------------ */

static const struct ignis_option *find_row(const struct ignis_option *rows, const char *name)
{
    for (; rows && rows->name; rows++)
        if (strcmp(rows->name, name) == 0)
            return rows;
    return NULL;
}

/* Validates group g against rows into view; plugin subtrees in the core's groups go to
 * their plugins. Runs the group's semantic checks when it had no errors of its own.
 * Returns the number of errors found inside. */
static unsigned walk_group(struct loader *L, const config_setting_t *g, struct ignis_config *view,
                           const struct ignis_option *rows, char *path, size_t plen, int depth)
{
    size_t before = nerrors(L);
    if (depth > MAX_DEPTH) {
        errf(L, g, path, "nested too deeply");
        return 1;
    }
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(m);
        size_t l = path_key(path, plen, name);
        const struct ignis_option *row = find_row(rows, name);
        if (row)
            set_value(L, m, view, row, path, l, depth);
        else if (!place_plugin(L, rows, g, m, path, l, depth))
            errf(L, m, path, "unknown setting");
        path[plen] = '\0';
    }
    for (const struct ignis_option *r = rows; r && r->name; r++) {
        if ((r->flags & IGNIS_OPT_REQUIRED) && !config_setting_get_member(g, r->name)) {
            path_key(path, plen, r->name);
            errf(L, g, path, "missing required setting");
            path[plen] = '\0';
        }
    }
    size_t found = nerrors(L) - before;
    if (!found)
        check_group(L, rows, g, view, path, plen);
    return (unsigned)found;
}

/* Checks across scrape configs, after the whole file was walked: job names unique,
 * timeouts within intervals (a job's unset interval or timeout is global's). */
static void check_scrape_configs(struct loader *L, const struct ignis_config *root)
{
    const config_setting_t *list = config_lookup(&L->lc, "scrape_configs");
    if (!list || !is_sequence(list, true))
        return;
    const struct ignis_config *global = ignis_config_group(root, "global");
    int64_t giv = ignis_config_duration_ms(global, "scrape_interval");
    size_t n = ignis_config_count(root, "scrape_configs");
    char path[MAX_PATH];
    for (size_t i = 0; i < n && i < (size_t)config_setting_length(list); i++) {
        const struct ignis_config *sc = ignis_config_at(root, "scrape_configs", i);
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        if (!sc || !g || config_setting_type(g) != CONFIG_TYPE_GROUP)
            continue;
        size_t plen = path_add(path, 0, "scrape_configs[%zu]", i);
        const char *job = ignis_config_string(sc, "job_name");
        for (size_t j = 0; job && *job && j < i; j++) {
            const char *other =
                ignis_config_string(ignis_config_at(root, "scrape_configs", j), "job_name");
            if (other && strcmp(other, job) == 0) {
                key_err(L, g, path, plen, "job_name",
                        "job name \"%s\" is already used by scrape_configs[%zu]", job, j);
                break;
            }
        }
        if (ignis_config_is_set(sc, "scrape_timeout"))
            check_timeout(L, g, path, plen, ignis_config_duration_ms(sc, "scrape_timeout"),
                          ignis_config_is_set(sc, "scrape_interval")
                              ? ignis_config_duration_ms(sc, "scrape_interval")
                              : giv);
    }
}

/* Orders instances: plugins.load's order for storage, query, exporter and service
 * plugins (a plugin without a subtree gets its schema's defaults), then discovery
 * instances in file order. */
static int collect_instances(struct loader *L, const struct ignis_config *root,
                             struct ig_config *out, struct cfg_priv *priv)
{
    const config_setting_t *load = config_lookup(&L->lc, "plugins.load");
    size_t nload = load && is_sequence(load, false) ? (size_t)config_setting_length(load) : 0;
    size_t cap = L->ninsts + nload;
    if (!cap)
        return 0;
    out->instances = calloc(cap, sizeof *out->instances);
    priv->views = calloc(cap, sizeof *priv->views);
    if (!out->instances || !priv->views)
        return -1;

    for (size_t i = 0; i < nload; i++) {
        const config_setting_t *el = config_setting_get_elem(load, (unsigned)i);
        const char *name = config_setting_get_string(el); /* NULL: not a string */
        enum ignis_plugin_kind kind;
        const struct ignis_option *schema;
        if (!name || !L->plugin_fn)
            continue;
        char path[MAX_PATH];
        size_t plen = path_add(path, 0, "plugins.load[%zu]", i);
        if (!lookup_plugin(L, name, &kind, &schema)) {
            errf(L, el, path, "plugin \"%s\" is not loaded", name);
            continue;
        }
        if (kind == IGNIS_PLUGIN_DISCOVERY || kind == IGNIS_PLUGIN_NOTIFIER)
            continue;
        struct inst *in = find_inst(L, kind, name);
        bool dup = false;
        for (size_t k = 0; k < out->ninstances; k++)
            if (out->instances[k].kind == kind && strcmp(out->instances[k].name, name) == 0)
                dup = true;
        if (dup)
            continue;
        if (!in) {
            char where[PATH_MAX + 32];
            where_of(L, el, where, sizeof where);
            struct ignis_config *view = ignis_config_new(schema ? schema : no_rows, where);
            if (!view)
                return -1;
            in = add_inst(L, kind, name, name, view);
            if (!in) {
                ignis_config_free(view);
                return -1;
            }
            /* Required settings of a plugin whose subtree is absent. */
            kind_place(kind, name, path, MAX_PATH);
            plen = strlen(path);
            for (const struct ignis_option *r = schema; r && r->name; r++) {
                if (r->flags & IGNIS_OPT_REQUIRED) {
                    path_key(path, plen, r->name);
                    errf(L, el, path, "missing required setting");
                    path[plen] = '\0';
                }
            }
        }
        in->used = true;
        struct ig_config_instance *oi = &out->instances[out->ninstances];
        oi->kind = in->kind;
        oi->plugin = xstrdup(in->plugin);
        oi->name = xstrdup(in->name);
        oi->cfg = in->view;
        priv->views[priv->nviews++] = in->view;
        out->ninstances++;
        if (!oi->plugin || !oi->name)
            return -1;
    }
    for (size_t i = 0; i < L->ninsts; i++) {
        struct inst *in = &L->insts[i];
        if (in->used)
            continue;
        in->used = true;
        struct ig_config_instance *oi = &out->instances[out->ninstances];
        oi->kind = in->kind;
        oi->plugin = xstrdup(in->plugin);
        oi->name = xstrdup(in->name);
        oi->cfg = in->view;
        priv->views[priv->nviews++] = in->view;
        out->ninstances++;
        if (!oi->plugin || !oi->name)
            return -1;
    }
    return 0;
}

/* ---- the typed result ---------------------------------------------------------- */

static int copy_strings(const struct ignis_config *v, const char *key, char ***out, size_t *n)
{
    size_t c = ignis_config_count(v, key);
    *out = NULL;
    *n = 0;
    if (!c)
        return 0;
    *out = calloc(c, sizeof **out);
    if (!*out)
        return -1;
    for (size_t i = 0; i < c; i++) {
        (*out)[i] = xstrdup(ignis_config_string_at(v, key, i));
        if (!(*out)[i])
            return -1;
        (*n)++;
    }
    return 0;
}

static int fill_plugins(const struct ignis_config *pl, struct ig_config_plugins *p)
{
    if (copy_strings(pl, "path", &p->paths, &p->npaths) != 0)
        return -1;
    return copy_strings(pl, "load", &p->load, &p->nload);
}

static int fill(struct ig_config *out, struct ignis_config *root)
{
    const struct ignis_config *g = ignis_config_group(root, "global");
    out->scrape_interval_ms = ignis_config_duration_ms(g, "scrape_interval");
    out->scrape_timeout_ms = ignis_config_duration_ms(g, "scrape_timeout");
    out->evaluation_interval_ms = ignis_config_duration_ms(g, "evaluation_interval");
    size_t n = ignis_config_count(g, "external_labels");
    if (n) {
        out->external_labels = calloc(n, sizeof *out->external_labels);
        if (!out->external_labels)
            return -1;
        for (size_t i = 0; i < n; i++) {
            struct ignis_label l;
            if (!ignis_config_label_at(g, "external_labels", i, &l))
                return -1;
            char *name = xstrndup(l.name, l.name_len);
            char *value = xstrndup(l.value, l.value_len);
            if (!name || !value) {
                free(name);
                free(value);
                return -1;
            }
            out->external_labels[i] = (struct ignis_label){name, l.name_len, value, l.value_len};
            out->nexternal_labels++;
        }
        ignis_labels_sort(out->external_labels, out->nexternal_labels);
    }
    if (fill_plugins(ignis_config_group(root, "plugins"), &out->plugins) != 0)
        return -1;

    const struct ignis_config *w = ignis_config_group(root, "web");
    out->listen_address = xstrdup(ignis_config_string(w, "listen_address"));
    out->external_url = xstrdup(ignis_config_string(w, "external_url"));
    out->route_prefix = xstrdup(ignis_config_string(w, "route_prefix"));
    out->enable_lifecycle = ignis_config_bool(w, "enable_lifecycle");
    out->enable_admin_api = ignis_config_bool(w, "enable_admin_api");
    out->read_timeout_ms = ignis_config_duration_ms(w, "read_timeout");
    out->max_connections = ignis_config_int(w, "max_connections");

    const struct ignis_config *q = ignis_config_group(root, "query");
    out->query_timeout_ms = ignis_config_duration_ms(q, "timeout");
    out->query_max_samples = ignis_config_int(q, "max_samples");
    out->query_lookback_ms = ignis_config_duration_ms(q, "lookback_delta");
    out->query_max_concurrency = ignis_config_int(q, "max_concurrency");

    const struct ignis_config *lg = ignis_config_group(root, "log");
    out->log_level = xstrdup(ignis_config_string(lg, "level"));
    out->log_format = xstrdup(ignis_config_string(lg, "format"));

    out->workers = ignis_config_int(root, "workers");
    const struct ignis_config *st = ignis_config_group(root, "storage");
    out->max_exemplars = ignis_config_int(ignis_config_group(st, "exemplars"), "max_exemplars");

    out->root = root;
    out->scrape_configs = ignis_config_count(root, "scrape_configs") ? root : NULL;
    if (!out->listen_address || !out->external_url || !out->route_prefix || !out->log_level ||
        !out->log_format)
        return -1;
    return 0;
}

/* ---- entry points -------------------------------------------------------------- */

void ig_config_plugins_clear(struct ig_config_plugins *p)
{
    for (size_t i = 0; i < p->npaths; i++)
        free(p->paths[i]);
    for (size_t i = 0; i < p->nload; i++)
        free(p->load[i]);
    free(p->paths);
    free(p->load);
    memset(p, 0, sizeof *p);
}

int ig_config_read_plugins(const char *path, struct ig_config_plugins *out, char *err,
                           size_t errlen)
{
    struct loader L;
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    loader_init(&L, path);
    int rc = -1;
    struct ignis_config *view = NULL;
    if (loader_open(&L) != 0)
        goto done;
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "%s:1", path);
    view = ignis_config_new(ig_cfg_plugins_rows, where);
    if (!view) {
        add_error(&L, 0, 0, "out of memory");
        goto done;
    }
    const config_setting_t *g = config_lookup(&L.lc, "plugins");
    if (g) {
        char p[MAX_PATH] = "plugins";
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
            type_error(&L, g, p, IGNIS_OPT_GROUP);
        else
            walk_group(&L, g, view, ig_cfg_plugins_rows, p, strlen(p), 1);
    }
    if (nerrors(&L))
        goto done;
    if (fill_plugins(view, out) != 0) {
        add_error(&L, 0, 0, "out of memory");
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        flush_errors(&L, err, errlen);
        ig_config_plugins_clear(out);
    }
    ignis_config_free(view);
    loader_free(&L);
    return rc;
}

int ig_config_load(const char *path, ig_config_plugin_fn plugin_fn, void *arg,
                   struct ig_config *out, char *err, size_t errlen)
{
    struct loader L;
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    loader_init(&L, path);
    L.plugin_fn = plugin_fn;
    L.arg = arg;
    int rc = -1;
    struct ignis_config *root = NULL;
    struct cfg_priv *priv = calloc(1, sizeof *priv);
    out->priv = priv;
    out->path = xstrdup(path);
    if (!priv || !out->path) {
        add_error(&L, -1, 0, "out of memory");
        goto done;
    }
    if (loader_open(&L) != 0)
        goto done;

    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "%s:1", path);
    root = ignis_config_new(ig_cfg_root_rows, where);
    if (!root) {
        add_error(&L, 0, 0, "out of memory");
        goto done;
    }
    char p[MAX_PATH] = "";
    walk_group(&L, config_root_setting(&L.lc), root, ig_cfg_root_rows, p, 0, 0);
    check_scrape_configs(&L, root);
    if (collect_instances(&L, root, out, priv) != 0)
        add_error(&L, 0, 0, "out of memory");
    if (nerrors(&L))
        goto done;
    if (fill(out, root) != 0) {
        out->root = NULL;
        add_error(&L, 0, 0, "out of memory");
        goto done;
    }
    root = NULL; /* owned by out now */
    rc = 0;
done:
    if (rc != 0) {
        flush_errors(&L, err, errlen);
        ig_config_clear(out);
    }
    ignis_config_free(root);
    loader_free(&L);
    return rc;
}

void ig_config_clear(struct ig_config *c)
{
    free(c->path);
    for (size_t i = 0; i < c->nexternal_labels; i++) {
        free((char *)c->external_labels[i].name);
        free((char *)c->external_labels[i].value);
    }
    free(c->external_labels);
    ig_config_plugins_clear(&c->plugins);
    free(c->listen_address);
    free(c->external_url);
    free(c->route_prefix);
    free(c->log_level);
    free(c->log_format);
    for (size_t i = 0; i < c->ninstances; i++) {
        free(c->instances[i].plugin);
        free(c->instances[i].name);
    }
    free(c->instances);
    struct cfg_priv *priv = c->priv;
    if (priv) {
        for (size_t i = 0; i < priv->nviews; i++)
            ignis_config_free(priv->views[i]);
        free(priv->views);
        free(priv);
    }
    ignis_config_free(c->root);
    memset(c, 0, sizeof *c);
}
