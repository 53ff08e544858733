/* sdk/src/config.c — the typed view of a config group that plugins read: one entry per
 * schema row (or per key in a schema-less ANY group), values copied in by the host's
 * setters, defaults parsed from the rows' `def` text, "file:line" kept per setting.
 * Also Prometheus' duration and size syntax. Reading never allocates or mutates, so a
 * finished view may be shared by threads. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ignis/config.h>

/* Nested groups deeper than this are refused: a schema row whose .sub points back at
 * its own table would otherwise recurse forever when default views are built. */
#define CONFIG_MAX_DEPTH 32

struct cfg_entry {
    const struct ignis_option *row; /* schema row, or own_row in a schema-less view */
    struct ignis_option *own_row;   /* schema-less: synthesised row, name owned */
    bool set;
    char *where;

    char *str;  /* STRING, SECRET */
    char *text; /* DURATION, SIZE, REGEX: the text as written (or the default's) */
    int64_t i;  /* INT; DURATION in ms */
    double f;   /* FLOAT */
    bool b;     /* BOOL */
    uint64_t size;
    struct ignis_regex *re;

    char **strs; /* STRINGS */
    size_t nstrs;
    struct ignis_label *labels; /* LABELS: strings owned, NUL-terminated */
    size_t nlabels;
    struct ignis_config *group;  /* GROUP, ANY */
    struct ignis_config **elems; /* LIST */
    size_t nelems;
};

struct ignis_config {
    const struct ignis_option *schema; /* NULL: schema-less (the content of an ANY row) */
    char *where;
    int depth;
    struct cfg_entry *e;
    size_t n, cap;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *xstrdup(const char *s)
{
    return strdup(s ? s : "");
}

/* ---- durations and sizes -------------------------------------------------------- */

#define MS_SECOND 1000LL
#define MS_MINUTE (60 * MS_SECOND)
#define MS_HOUR   (60 * MS_MINUTE)
#define MS_DAY    (24 * MS_HOUR)
#define MS_WEEK   (7 * MS_DAY)
#define MS_YEAR   (365 * MS_DAY) /* Prometheus' year: always 365 days */

static const struct {
    const char *name;
    int64_t ms;
} dur_units[] = {
    {"y", MS_YEAR},   {"w", MS_WEEK},   {"d", MS_DAY}, {"h", MS_HOUR},
    {"m", MS_MINUTE}, {"s", MS_SECOND}, {"ms", 1},
};
#define N_DUR_UNITS (sizeof dur_units / sizeof dur_units[0])

int ignis_parse_duration(const char *s, size_t len, int64_t *ms)
{
    if (!s || len == 0)
        return -1;
    if (len == 1 && s[0] == '0') {
        *ms = 0;
        return 0;
    }
    int64_t total = 0;
    int last = -1; /* index of the previous unit: units must strictly decrease */
    size_t i = 0;
    while (i < len) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t v = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (v > (uint64_t)INT64_MAX / 10)
                return -1;
            v = v * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        if (i >= len)
            return -1; /* a number without a unit */
        int u;
        if (s[i] == 'm' && i + 1 < len && s[i + 1] == 's') {
            u = 6;
            i += 2;
        } else {
            u = -1;
            for (int k = 0; k < 6; k++)
                if (s[i] == dur_units[k].name[0]) {
                    u = k;
                    break;
                }
            if (u < 0)
                return -1;
            i++;
        }
        if (u <= last)
            return -1;
        last = u;
        uint64_t mult = (uint64_t)dur_units[u].ms;
        if (v > (uint64_t)INT64_MAX / mult)
            return -1;
        int64_t add = (int64_t)(v * mult);
        if (total > INT64_MAX - add)
            return -1;
        total += add;
    }
    *ms = total;
    return 0;
}

/* Years and weeks are written only when they divide what is left exactly (so 90 days
 * prints as "90d", not "12w6d"), the rest greedily, as Prometheus prints durations. */
size_t ignis_format_duration(int64_t ms, char *buf, size_t buflen)
{
    char tmp[96];
    size_t n = 0;
    if (ms == 0) {
        memcpy(tmp, "0s", 2);
        n = 2;
    } else {
        uint64_t left = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
        if (ms < 0)
            tmp[n++] = '-';
        for (size_t k = 0; k < N_DUR_UNITS; k++) {
            uint64_t mult = (uint64_t)dur_units[k].ms;
            if (k < 2 && left % mult != 0)
                continue;
            uint64_t v = left / mult;
            if (v == 0)
                continue;
            n += (size_t)snprintf(tmp + n, sizeof tmp - n, "%" PRIu64 "%s", v, dur_units[k].name);
            left -= v * mult;
        }
    }
    if (buf && buflen) {
        size_t c = n < buflen - 1 ? n : buflen - 1;
        memcpy(buf, tmp, c);
        buf[c] = '\0';
    }
    return n;
}

static const struct {
    const char *name;
    unsigned shift;
} size_units[] = {
    {"B", 0},    {"KB", 10},  {"MB", 20},  {"GB", 30},  {"TB", 40},  {"PB", 50},  {"EB", 60},
    {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"PiB", 50}, {"EiB", 60},
};

/* Sizes as Prometheus reads them (units.Base2Bytes): a sequence of number+unit, numbers
 * possibly fractional, all units powers of 1024; a bare integer is a byte count. The
 * result must fit an int64, as Prometheus' does. */
int ignis_parse_size(const char *s, size_t len, uint64_t *bytes)
{
    if (!s || len == 0)
        return -1;
    size_t i = 0;
    bool all_digits = true;
    for (size_t k = 0; k < len; k++)
        if (s[k] < '0' || s[k] > '9')
            all_digits = false;
    if (all_digits) {
        uint64_t v = 0;
        for (; i < len; i++) {
            if (v > ((uint64_t)INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
                return -1;
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *bytes = v;
        return 0;
    }
    unsigned __int128 total = 0;
    while (i < len) {
        unsigned __int128 ip = 0, fp = 0, fscale = 1;
        size_t digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            ip = ip * 10 + (unsigned)(s[i] - '0');
            if (ip > (unsigned __int128)INT64_MAX)
                return -1;
            i++;
            digits++;
        }
        if (i < len && s[i] == '.') {
            i++;
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                if (fscale < (unsigned __int128)1000000000000000000ULL) {
                    fp = fp * 10 + (unsigned)(s[i] - '0');
                    fscale *= 10;
                }
                i++;
                digits++;
            }
        }
        if (digits == 0)
            return -1;
        size_t us = i;
        while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            i++;
        int u = -1;
        for (size_t k = 0; k < sizeof size_units / sizeof size_units[0]; k++)
            if (strlen(size_units[k].name) == i - us &&
                memcmp(size_units[k].name, s + us, i - us) == 0) {
                u = (int)k;
                break;
            }
        if (u < 0)
            return -1;
        unsigned __int128 mult = (unsigned __int128)1 << size_units[u].shift;
        total += ip * mult + (fp * mult) / fscale;
        if (total > (unsigned __int128)INT64_MAX)
            return -1;
    }
    *bytes = (uint64_t)total;
    return 0;
}

/* ---- small parsers for defaults and values ------------------------------------------ */

static int parse_int(const char *s, int64_t *v)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

static int parse_float(const char *s, double *v)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (*end || (errno == ERANGE && isinf(x)))
        return -1;
    *v = x;
    return 0;
}

static int parse_bool(const char *s, bool *v)
{
    if (s && strcasecmp(s, "true") == 0)
        *v = true;
    else if (s && strcasecmp(s, "false") == 0)
        *v = false;
    else
        return -1;
    return 0;
}

/* A tiny reader for list defaults written as in the file: [ "a", "b" ] and
 * ( { name = "a"; value = "b"; }, ... ). Strings take libconfig's escapes. */
struct lit_reader {
    const char *p;
};

static void lr_ws(struct lit_reader *r)
{
    while (*r->p && isspace((unsigned char)*r->p))
        r->p++;
}

static bool lr_eat(struct lit_reader *r, char c)
{
    lr_ws(r);
    if (*r->p == c) {
        r->p++;
        return true;
    }
    return false;
}

/* Reads a quoted string; returns a malloc'd copy or NULL. */
static char *lr_string(struct lit_reader *r)
{
    lr_ws(r);
    if (*r->p != '"')
        return NULL;
    const char *s = ++r->p;
    size_t cap = strlen(s) + 1;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    while (*s && *s != '"') {
        if (*s == '\\' && s[1]) {
            s++;
            switch (*s) {
            case 'n':
                *o++ = '\n';
                break;
            case 't':
                *o++ = '\t';
                break;
            case 'r':
                *o++ = '\r';
                break;
            case 'f':
                *o++ = '\f';
                break;
            default:
                *o++ = *s;
                break;
            }
            s++;
        } else {
            *o++ = *s++;
        }
    }
    if (*s != '"') {
        free(out);
        return NULL;
    }
    *o = '\0';
    r->p = s + 1;
    return out;
}

static bool lr_ident(struct lit_reader *r, const char *word)
{
    lr_ws(r);
    size_t n = strlen(word);
    if (strncmp(r->p, word, n) == 0 && !isalnum((unsigned char)r->p[n]) && r->p[n] != '_') {
        r->p += n;
        return true;
    }
    return false;
}

/* ---- entries ------------------------------------------------------------------------ */

static void clear_lists(struct cfg_entry *e)
{
    for (size_t k = 0; k < e->nstrs; k++)
        free(e->strs[k]);
    free(e->strs);
    e->strs = NULL;
    e->nstrs = 0;
    for (size_t k = 0; k < e->nlabels; k++) {
        free((char *)e->labels[k].name);
        free((char *)e->labels[k].value);
    }
    free(e->labels);
    e->labels = NULL;
    e->nlabels = 0;
}

static void clear_scalars(struct cfg_entry *e)
{
    free(e->str);
    e->str = NULL;
    free(e->text);
    e->text = NULL;
    ignis_regex_free(e->re);
    e->re = NULL;
    e->i = 0;
    e->f = 0;
    e->b = false;
    e->size = 0;
}

static void entry_free(struct cfg_entry *e)
{
    clear_scalars(e);
    clear_lists(e);
    free(e->where);
    ignis_config_free(e->group);
    for (size_t k = 0; k < e->nelems; k++)
        ignis_config_free(e->elems[k]);
    free(e->elems);
    if (e->own_row) {
        free((char *)e->own_row->name);
        free(e->own_row);
    }
}

static int push_string(struct cfg_entry *e, const char *v)
{
    char **ns = realloc(e->strs, (e->nstrs + 1) * sizeof *ns);
    if (!ns)
        return -1;
    e->strs = ns;
    if (!(e->strs[e->nstrs] = xstrdup(v)))
        return -1;
    e->nstrs++;
    return 0;
}

static int push_label(struct cfg_entry *e, const char *name, const char *value)
{
    struct ignis_label *nl = realloc(e->labels, (e->nlabels + 1) * sizeof *nl);
    if (!nl)
        return -1;
    e->labels = nl;
    char *n = xstrdup(name), *v = xstrdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    e->labels[e->nlabels++] = (struct ignis_label){n, strlen(n), v, strlen(v)};
    return 0;
}

/* Parses text as a value of e's row type into e (scalars only). */
static int parse_scalar(struct cfg_entry *e, const char *text, char *err, size_t errlen)
{
    const char *key = e->row->name;
    switch (e->row->type) {
    case IGNIS_OPT_STRING:
    case IGNIS_OPT_SECRET: {
        char *s = xstrdup(text);
        if (!s)
            goto oom;
        clear_scalars(e);
        e->str = s;
        return 0;
    }
    case IGNIS_OPT_INT: {
        int64_t v;
        if (parse_int(text, &v) < 0) {
            set_err(err, errlen, "%s: bad integer \"%s\"", key, text);
            return -1;
        }
        clear_scalars(e);
        e->i = v;
        return 0;
    }
    case IGNIS_OPT_FLOAT: {
        double v;
        if (parse_float(text, &v) < 0) {
            set_err(err, errlen, "%s: bad number \"%s\"", key, text);
            return -1;
        }
        clear_scalars(e);
        e->f = v;
        return 0;
    }
    case IGNIS_OPT_BOOL: {
        bool v;
        if (parse_bool(text, &v) < 0) {
            set_err(err, errlen, "%s: bad boolean \"%s\" (want true or false)", key, text);
            return -1;
        }
        clear_scalars(e);
        e->b = v;
        return 0;
    }
    case IGNIS_OPT_DURATION: {
        int64_t v;
        if (ignis_parse_duration(text, strlen(text), &v) < 0) {
            set_err(err, errlen, "%s: bad duration \"%s\"", key, text);
            return -1;
        }
        char *t = xstrdup(text);
        if (!t)
            goto oom;
        clear_scalars(e);
        e->i = v;
        e->text = t;
        return 0;
    }
    case IGNIS_OPT_SIZE: {
        uint64_t v;
        if (ignis_parse_size(text, strlen(text), &v) < 0) {
            set_err(err, errlen, "%s: bad size \"%s\"", key, text);
            return -1;
        }
        char *t = xstrdup(text);
        if (!t)
            goto oom;
        clear_scalars(e);
        e->size = v;
        e->text = t;
        return 0;
    }
    case IGNIS_OPT_REGEX: {
        char rerr[256];
        struct ignis_regex *re = ignis_regex_compile(text, strlen(text), rerr, sizeof rerr);
        if (!re) {
            set_err(err, errlen, "%s: bad regex \"%s\": %s", key, text, rerr);
            return -1;
        }
        char *t = xstrdup(text);
        if (!t) {
            ignis_regex_free(re);
            goto oom;
        }
        clear_scalars(e);
        e->re = re;
        e->text = t;
        return 0;
    }
    default:
        break;
    }
    set_err(err, errlen, "%s: not a single value", key);
    return -1;
oom:
    set_err(err, errlen, "%s: out of memory", key);
    return -1;
}

static struct ignis_config *view_new(const struct ignis_option *schema, const char *where,
                                     int depth);

/* Fills an entry's default from its row (at view creation). A default that does not
 * parse is the plugin's bug: the entry then reads as zero. */
static int apply_default(struct ignis_config *c, struct cfg_entry *e)
{
    const struct ignis_option *row = e->row;
    switch (row->type) {
    case IGNIS_OPT_GROUP:
    case IGNIS_OPT_ANY:
        if (c->depth + 1 >= CONFIG_MAX_DEPTH)
            return 0;
        e->group = view_new(row->type == IGNIS_OPT_GROUP ? row->sub : NULL, "", c->depth + 1);
        return e->group ? 0 : -1;
    case IGNIS_OPT_LIST:
    case IGNIS_OPT_END:
        return 0;
    case IGNIS_OPT_STRINGS: {
        if (!row->def)
            return 0;
        struct lit_reader r = {row->def};
        if (!lr_eat(&r, '['))
            return push_string(e, row->def);
        if (lr_eat(&r, ']'))
            return 0;
        do {
            char *s = lr_string(&r);
            if (!s)
                break;
            int rc = push_string(e, s);
            free(s);
            if (rc < 0)
                return -1;
        } while (lr_eat(&r, ','));
        return 0;
    }
    case IGNIS_OPT_LABELS: {
        if (!row->def)
            return 0;
        struct lit_reader r = {row->def};
        if (!lr_eat(&r, '(') || lr_eat(&r, ')'))
            return 0;
        do {
            char *name = NULL, *value = NULL;
            if (!lr_eat(&r, '{'))
                break;
            while (!lr_eat(&r, '}')) {
                char **dst;
                if (lr_ident(&r, "name"))
                    dst = &name;
                else if (lr_ident(&r, "value"))
                    dst = &value;
                else
                    break;
                if (!lr_eat(&r, '=') && !lr_eat(&r, ':'))
                    break;
                free(*dst);
                *dst = lr_string(&r);
                if (!*dst)
                    break;
                (void)(lr_eat(&r, ';') || lr_eat(&r, ','));
            }
            int rc = name && value ? push_label(e, name, value) : 0;
            free(name);
            free(value);
            if (rc < 0)
                return -1;
        } while (lr_eat(&r, ','));
        return 0;
    }
    default:
        if (row->def && parse_scalar(e, row->def, NULL, 0) < 0)
            clear_scalars(e);
        return 0;
    }
}

static struct ignis_config *view_new(const struct ignis_option *schema, const char *where,
                                     int depth)
{
    struct ignis_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->schema = schema;
    c->depth = depth;
    c->where = xstrdup(where);
    if (!c->where)
        goto fail;
    if (schema) {
        size_t n = 0;
        while (schema[n].name)
            n++;
        c->e = calloc(n ? n : 1, sizeof *c->e);
        if (!c->e)
            goto fail;
        c->n = c->cap = n;
        for (size_t k = 0; k < n; k++) {
            c->e[k].row = &schema[k];
            if (apply_default(c, &c->e[k]) < 0)
                goto fail;
        }
    }
    return c;
fail:
    ignis_config_free(c);
    return NULL;
}

struct ignis_config *ignis_config_new(const struct ignis_option *schema, const char *where)
{
    return view_new(schema, where, 0);
}

void ignis_config_free(struct ignis_config *c)
{
    if (!c)
        return;
    for (size_t k = 0; k < c->n; k++)
        entry_free(&c->e[k]);
    free(c->e);
    free(c->where);
    free(c);
}

static struct cfg_entry *find(const struct ignis_config *c, const char *key)
{
    if (!c || !key)
        return NULL;
    for (size_t k = 0; k < c->n; k++)
        if (strcmp(c->e[k].row->name, key) == 0)
            return &c->e[k];
    return NULL;
}

static const struct cfg_entry *find_typed(const struct ignis_config *c, const char *key,
                                          enum ignis_opt_type t)
{
    const struct cfg_entry *e = find(c, key);
    return e && e->row->type == t ? e : NULL;
}

/* In a schema-less view, a key is created on first set with the setter's type. */
static struct cfg_entry *find_or_add(struct ignis_config *c, const char *key, enum ignis_opt_type t)
{
    struct cfg_entry *e = find(c, key);
    if (e || c->schema || !key)
        return e;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct cfg_entry *ne = realloc(c->e, cap * sizeof *ne);
        if (!ne)
            return NULL;
        c->e = ne;
        c->cap = cap;
    }
    struct ignis_option *row = calloc(1, sizeof *row);
    char *name = xstrdup(key);
    if (!row || !name) {
        free(row);
        free(name);
        return NULL;
    }
    row->name = name;
    row->type = t;
    e = &c->e[c->n++];
    memset(e, 0, sizeof *e);
    e->row = e->own_row = row;
    return e;
}

static int mark_set(struct cfg_entry *e, const char *where)
{
    char *w = xstrdup(where);
    if (!w)
        return -1;
    free(e->where);
    e->where = w;
    e->set = true;
    return 0;
}

/* ---- accessors ---------------------------------------------------------------------- */

bool ignis_config_is_set(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find(c, key);
    return e && e->set;
}

const char *ignis_config_string(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find(c, key);
    if (!e)
        return NULL;
    switch (e->row->type) {
    case IGNIS_OPT_STRING:
    case IGNIS_OPT_SECRET:
        return e->str;
    case IGNIS_OPT_DURATION:
    case IGNIS_OPT_SIZE:
    case IGNIS_OPT_REGEX:
        return e->text;
    default:
        return NULL;
    }
}

int64_t ignis_config_int(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find_typed(c, key, IGNIS_OPT_INT);
    return e ? e->i : 0;
}

double ignis_config_float(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find(c, key);
    if (e && e->row->type == IGNIS_OPT_FLOAT)
        return e->f;
    if (e && e->row->type == IGNIS_OPT_INT)
        return (double)e->i;
    return 0;
}

bool ignis_config_bool(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find_typed(c, key, IGNIS_OPT_BOOL);
    return e ? e->b : false;
}

int64_t ignis_config_duration_ms(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find_typed(c, key, IGNIS_OPT_DURATION);
    return e ? e->i : 0;
}

uint64_t ignis_config_size(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find_typed(c, key, IGNIS_OPT_SIZE);
    return e ? e->size : 0;
}

const struct ignis_regex *ignis_config_regex(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find_typed(c, key, IGNIS_OPT_REGEX);
    return e ? e->re : NULL;
}

size_t ignis_config_count(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find(c, key);
    if (!e)
        return 0;
    switch (e->row->type) {
    case IGNIS_OPT_STRINGS:
        return e->nstrs;
    case IGNIS_OPT_LABELS:
        return e->nlabels;
    case IGNIS_OPT_LIST:
        return e->nelems;
    default:
        return 0;
    }
}

const char *ignis_config_string_at(const struct ignis_config *c, const char *key, size_t i)
{
    const struct cfg_entry *e = find_typed(c, key, IGNIS_OPT_STRINGS);
    return e && i < e->nstrs ? e->strs[i] : NULL;
}

bool ignis_config_label_at(const struct ignis_config *c, const char *key, size_t i,
                           struct ignis_label *out)
{
    const struct cfg_entry *e = find_typed(c, key, IGNIS_OPT_LABELS);
    if (!e || i >= e->nlabels)
        return false;
    if (out)
        *out = e->labels[i];
    return true;
}

const struct ignis_config *ignis_config_group(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find(c, key);
    if (!e || (e->row->type != IGNIS_OPT_GROUP && e->row->type != IGNIS_OPT_ANY))
        return NULL;
    return e->group;
}

const struct ignis_config *ignis_config_at(const struct ignis_config *c, const char *key, size_t i)
{
    const struct cfg_entry *e = find_typed(c, key, IGNIS_OPT_LIST);
    return e && i < e->nelems ? e->elems[i] : NULL;
}

const char *ignis_config_where(const struct ignis_config *c, const char *key)
{
    if (!c)
        return "";
    if (!key)
        return c->where ? c->where : "";
    const struct cfg_entry *e = find(c, key);
    return e && e->where ? e->where : "";
}

const struct ignis_option *ignis_config_row(const struct ignis_config *c, const char *key)
{
    const struct cfg_entry *e = find(c, key);
    return e ? e->row : NULL;
}

const struct ignis_option *ignis_config_schema(const struct ignis_config *c)
{
    return c ? c->schema : NULL;
}

size_t ignis_config_nkeys(const struct ignis_config *c)
{
    return c ? c->n : 0;
}

const char *ignis_config_key_at(const struct ignis_config *c, size_t i)
{
    return c && i < c->n ? c->e[i].row->name : NULL;
}

/* ---- builders ----------------------------------------------------------------------- */

int ignis_config_set(struct ignis_config *c, const char *key, const char *text, const char *where,
                     char *err, size_t errlen)
{
    if (!c || !key) {
        set_err(err, errlen, "no setting named");
        return -1;
    }
    struct cfg_entry *e = find_or_add(c, key, IGNIS_OPT_STRING);
    if (!e) {
        if (c->schema)
            set_err(err, errlen, "unknown setting \"%s\"", key);
        else
            set_err(err, errlen, "%s: out of memory", key);
        return -1;
    }
    if (!text)
        text = "";
    switch (e->row->type) {
    case IGNIS_OPT_STRINGS:
        if (!e->set)
            clear_lists(e);
        if (push_string(e, text) < 0) {
            set_err(err, errlen, "%s: out of memory", key);
            return -1;
        }
        break;
    case IGNIS_OPT_LABELS:
        set_err(err, errlen, "%s: expected a list of { name = ...; value = ...; } pairs", key);
        return -1;
    case IGNIS_OPT_GROUP:
    case IGNIS_OPT_ANY:
        set_err(err, errlen, "%s: expected a group { ... }", key);
        return -1;
    case IGNIS_OPT_LIST:
        set_err(err, errlen, "%s: expected a list of groups ( { ... }, ... )", key);
        return -1;
    default:
        if (parse_scalar(e, text, err, errlen) < 0)
            return -1;
        break;
    }
    if (mark_set(e, where) < 0) {
        set_err(err, errlen, "%s: out of memory", key);
        return -1;
    }
    return 0;
}

int ignis_config_set_bool(struct ignis_config *c, const char *key, bool v, const char *where)
{
    struct cfg_entry *e = c ? find_or_add(c, key, IGNIS_OPT_BOOL) : NULL;
    if (!e || e->row->type != IGNIS_OPT_BOOL)
        return -1;
    clear_scalars(e);
    e->b = v;
    return mark_set(e, where);
}

int ignis_config_set_int(struct ignis_config *c, const char *key, int64_t v, const char *where)
{
    struct cfg_entry *e = c ? find_or_add(c, key, IGNIS_OPT_INT) : NULL;
    if (!e)
        return -1;
    switch (e->row->type) {
    case IGNIS_OPT_INT:
        clear_scalars(e);
        e->i = v;
        break;
    case IGNIS_OPT_FLOAT:
        clear_scalars(e);
        e->f = (double)v;
        break;
    case IGNIS_OPT_SIZE: {
        if (v < 0)
            return -1;
        char t[32];
        snprintf(t, sizeof t, "%" PRId64, v);
        char *text = xstrdup(t);
        if (!text)
            return -1;
        clear_scalars(e);
        e->size = (uint64_t)v;
        e->text = text;
        break;
    }
    default:
        return -1;
    }
    return mark_set(e, where);
}

int ignis_config_set_float(struct ignis_config *c, const char *key, double v, const char *where)
{
    struct cfg_entry *e = c ? find_or_add(c, key, IGNIS_OPT_FLOAT) : NULL;
    if (!e || e->row->type != IGNIS_OPT_FLOAT)
        return -1;
    clear_scalars(e);
    e->f = v;
    return mark_set(e, where);
}

int ignis_config_add_string(struct ignis_config *c, const char *key, const char *v,
                            const char *where)
{
    struct cfg_entry *e = c ? find_or_add(c, key, IGNIS_OPT_STRINGS) : NULL;
    if (!e || e->row->type != IGNIS_OPT_STRINGS)
        return -1;
    if (!e->set) /* the file's list replaces the default */
        clear_lists(e);
    if (push_string(e, v) < 0)
        return -1;
    return e->set ? 0 : mark_set(e, where);
}

int ignis_config_add_label(struct ignis_config *c, const char *key, const char *name,
                           const char *value, const char *where)
{
    struct cfg_entry *e = c ? find_or_add(c, key, IGNIS_OPT_LABELS) : NULL;
    if (!e || e->row->type != IGNIS_OPT_LABELS)
        return -1;
    if (!e->set)
        clear_lists(e);
    if (push_label(e, name, value) < 0)
        return -1;
    return e->set ? 0 : mark_set(e, where);
}

static struct ignis_config *append_element(struct ignis_config *c, struct cfg_entry *e,
                                           const char *where)
{
    if (c->depth + 1 >= CONFIG_MAX_DEPTH)
        return NULL;
    struct ignis_config **ne = realloc(e->elems, (e->nelems + 1) * sizeof *ne);
    if (!ne)
        return NULL;
    e->elems = ne;
    const struct ignis_option *sub = e->own_row ? NULL : e->row->sub;
    struct ignis_config *g = view_new(sub, where, c->depth + 1);
    if (!g)
        return NULL;
    if (!e->set && mark_set(e, where) < 0) {
        ignis_config_free(g);
        return NULL;
    }
    e->elems[e->nelems++] = g;
    return g;
}

struct ignis_config *ignis_config_add_group(struct ignis_config *c, const char *key,
                                            const char *where)
{
    struct cfg_entry *e = c ? find_or_add(c, key, IGNIS_OPT_GROUP) : NULL;
    if (!e)
        return NULL;
    switch (e->row->type) {
    case IGNIS_OPT_GROUP:
    case IGNIS_OPT_ANY:
        if (!e->group) {
            if (c->depth + 1 >= CONFIG_MAX_DEPTH)
                return NULL;
            const struct ignis_option *sub =
                e->row->type == IGNIS_OPT_GROUP && !e->own_row ? e->row->sub : NULL;
            e->group = view_new(sub, where, c->depth + 1);
            if (!e->group)
                return NULL;
        }
        if (!e->set) {
            char *w = xstrdup(where);
            if (!w || mark_set(e, where) < 0) {
                free(w);
                return NULL;
            }
            free(e->group->where);
            e->group->where = w;
        }
        return e->group;
    case IGNIS_OPT_LIST:
        return append_element(c, e, where);
    default:
        return NULL;
    }
}

struct ignis_config *ignis_config_add_list_group(struct ignis_config *c, const char *key,
                                                 const char *where)
{
    struct cfg_entry *e = c ? find_or_add(c, key, IGNIS_OPT_LIST) : NULL;
    if (!e || e->row->type != IGNIS_OPT_LIST)
        return NULL;
    return append_element(c, e, where);
}
