/* sdk/src/metrics.c — the client SDK's metric families: counters, gauges, histograms,
 * summaries and infos, label vectors with a bound on their children, and registries
 * that write their families (then their collectors') into a sink. Updates are lock-free
 * atomics; a family's lock is taken only to create a child or to write the family. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ignis/metrics.h>
#include <ignis/plugin.h>
#include "metrics_int.h"

const double ignis_default_buckets[11] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

/* Children of one family carry at most this many labels (constant + variable); one
 * more slot is kept for "le"/"quantile" when writing. */
#define IG_MAX_LABELS 64
/* Histograms: at most this many buckets (a bound on per-child memory). */
#define IG_MAX_BUCKETS 4096
/* Summaries: at most this many objectives. */
#define IG_MAX_QUANTILES 64
/* Longest le/quantile label value we format (Go %g of a double fits in 32 bytes). */
#define IG_NUMLEN 32

struct ig_family;

struct ig_child {
    struct ig_family *fam;
    uint64_t hash;
    struct ignis_label *labels; /* nconst + nlabels pairs, then one spare slot */
    double created;             /* seconds since the epoch */
    union {
        struct {
            _Atomic uint64_t ival;  /* integer increments: fetch_add, wait-free */
            _Atomic uint64_t fbits; /* fractional adds: double bits, CAS */
        } counter;
        struct {
            _Atomic uint64_t bits;
        } gauge;
        struct {
            _Atomic uint64_t sumbits;
            _Atomic uint64_t *counts; /* nbuckets + 1, non-cumulative; +Inf last */
        } hist;
        struct {
            pthread_mutex_t lock;
            double sum;
            uint64_t count;
            struct ig_summary_window *win;
        } sum;
    } u;
};

/* Lookup table from label values to children: open addressing, read without a lock.
 * Only the family's lock holder inserts; a full table is replaced by a bigger one and
 * the old one kept (retired) until the family is freed, so readers never see freed
 * memory. */
struct ig_table {
    size_t mask;
    struct ig_table *retired;
    _Atomic(struct ig_child *) slot[];
};

struct ig_family {
    enum ignis_metric_type type;
    char *name; /* as exposed: counters without "_total", infos without "_info" */
    char *help;
    char *unit;
    size_t nconst, nlabels;
    char **lnames;  /* nconst + nlabels label names */
    char **cvalues; /* nconst constant values */
    size_t max_children;
    /* histogram */
    double *bounds;
    size_t nbounds;
    char (*le)[IG_NUMLEN]; /* formatted bounds, then "+Inf" */
    /* summary */
    struct ignis_quantile *obj;
    size_t nobj;
    char (*qstr)[IG_NUMLEN];
    int64_t max_age_ms;
    unsigned age_buckets;
    int64_t (*clock_ms)(void *);
    void *clock_arg;

    pthread_mutex_t lock; /* guards children[] growth, table replacement */
    struct ig_child **children;
    size_t nchildren, cap;
    _Atomic(struct ig_table *) table;
    _Atomic uint64_t refused;
};

struct ig_collector {
    ignis_collect_fn fn;
    void *arg;
};

struct ignis_registry {
    pthread_mutex_t lock; /* guards fams, cols; held while writing */
    struct ig_family **fams; /* sorted by name */
    size_t nfams, capfams;
    struct ig_collector *cols;
    size_t ncols, capcols;
};

/* ---- small helpers -------------------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static inline double bits2d(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static inline uint64_t d2bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* Adds v to the double stored as bits in *p. */
static inline void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, d2bits(bits2d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static double now_realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* FNV-1a over the values, each followed by its length so ("a","bc") != ("ab","c"). */
static uint64_t hash_values(const char *const *v, const size_t *len, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)v[i];
        for (size_t j = 0; j < len[i]; j++) {
            h ^= p[j];
            h *= 1099511628211ULL;
        }
        h ^= (uint64_t)len[i] + 0x9e3779b97f4a7c15ULL;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

/* ---- sinks ---------------------------------------------------------------------- */

struct ignis_sink *ignis_sink_new(const struct ignis_sink_ops *ops, void *impl)
{
    struct ignis_sink *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ops = ops;
    s->impl = impl;
    return s;
}

void ignis_sink_free(struct ignis_sink *s)
{
    if (!s)
        return;
    if (s->destroy)
        s->destroy(s);
    else
        free(s);
}

int ignis_sink_family(struct ignis_sink *s, const char *name, enum ignis_metric_type type,
                      const char *help, const char *unit)
{
    if (!s || !name)
        return -1;
    return s->ops->family(s->impl, name, type, help ? help : "", unit ? unit : "");
}

int ignis_sink_sample(struct ignis_sink *s, const char *suffix, const struct ignis_label *ls,
                      size_t n, double value, int64_t ts_ms)
{
    if (!s)
        return -1;
    return s->ops->sample(s->impl, suffix ? suffix : "", ls, n, value, ts_ms);
}

/* ---- registries ----------------------------------------------------------------- */

static struct ignis_registry *default_registry;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    default_registry = ignis_registry_new();
}

struct ignis_registry *ignis_registry_default(void)
{
    pthread_once(&default_once, default_init);
    return default_registry;
}

struct ignis_registry *ignis_registry_new(void)
{
    struct ignis_registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void child_free(struct ig_child *c)
{
    if (c->fam->type == IGNIS_METRIC_SUMMARY) {
        pthread_mutex_destroy(&c->u.sum.lock);
        ig_sw_free(c->u.sum.win);
    }
    free(c);
}

static void family_free(struct ig_family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nchildren; i++)
        child_free(f->children[i]);
    free(f->children);
    struct ig_table *t = atomic_load(&f->table);
    while (t) {
        struct ig_table *next = t->retired;
        free(t);
        t = next;
    }
    for (size_t i = 0; i < f->nconst + f->nlabels; i++)
        free(f->lnames ? f->lnames[i] : NULL);
    for (size_t i = 0; i < f->nconst; i++)
        free(f->cvalues ? f->cvalues[i] : NULL);
    free(f->lnames);
    free(f->cvalues);
    free(f->bounds);
    free(f->le);
    free(f->obj);
    free(f->qstr);
    free(f->name);
    free(f->help);
    free(f->unit);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void ignis_registry_free(struct ignis_registry *reg)
{
    if (!reg || reg == default_registry)
        return;
    for (size_t i = 0; i < reg->nfams; i++)
        family_free(reg->fams[i]);
    free(reg->fams);
    free(reg->cols);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

/* Suffixes a family's samples use, for clash detection between families. */
static const char *const *type_suffixes(enum ignis_metric_type t)
{
    static const char *const counter[] = {"_total", "_created", NULL};
    static const char *const plain[] = {"", NULL};
    static const char *const hist[] = {"_bucket", "_count", "_sum", "_created", NULL};
    static const char *const ghist[] = {"_bucket", "_gcount", "_gsum", NULL};
    static const char *const summary[] = {"", "_count", "_sum", "_created", NULL};
    static const char *const info[] = {"_info", NULL};
    switch (t) {
    case IGNIS_METRIC_COUNTER: return counter;
    case IGNIS_METRIC_HISTOGRAM: return hist;
    case IGNIS_METRIC_GAUGEHISTOGRAM: return ghist;
    case IGNIS_METRIC_SUMMARY: return summary;
    case IGNIS_METRIC_INFO: return info;
    default: return plain;
    }
}

/* Index of the first family whose name is >= name. */
static size_t fam_lower_bound(struct ignis_registry *r, const char *name, size_t len)
{
    size_t lo = 0, hi = r->nfams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *fn = r->fams[mid]->name;
        size_t fl = strlen(fn);
        int c = memcmp(fn, name, fl < len ? fl : len);
        if (c < 0 || (c == 0 && fl < len))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct ig_family *fam_find(struct ignis_registry *r, const char *name, size_t len)
{
    size_t i = fam_lower_bound(r, name, len);
    if (i < r->nfams && strlen(r->fams[i]->name) == len &&
        memcmp(r->fams[i]->name, name, len) == 0)
        return r->fams[i];
    return NULL;
}

/* True when the sample name s (length n) is written by some registered family: either
 * the family's own name, or a family name plus one of its type's suffixes. */
static const char *sample_name_owner(struct ignis_registry *r, const char *s, size_t n)
{
    static const char *const all[] = {"",      "_total", "_created", "_bucket", "_count",
                                      "_sum",  "_gcount", "_gsum",   "_info",   NULL};
    for (const char *const *sx = all; *sx; sx++) {
        size_t m = strlen(*sx);
        if (n < m || memcmp(s + n - m, *sx, m) != 0)
            continue;
        struct ig_family *f = fam_find(r, s, n - m);
        if (!f)
            continue;
        if (m == 0)
            return f->name; /* a family of that very name */
        for (const char *const *fs = type_suffixes(f->type); *fs; fs++)
            if (strcmp(*fs, *sx) == 0)
                return f->name;
    }
    return NULL;
}

static int registry_check_clash(struct ignis_registry *r, struct ig_family *f, char *err,
                                size_t errlen)
{
    char buf[512];
    size_t n = strlen(f->name);
    if (n + 16 > sizeof buf) {
        seterr(err, errlen, "metric name too long (%zu bytes)", n);
        return -1;
    }
    memcpy(buf, f->name, n);
    const char *owner = sample_name_owner(r, f->name, n);
    if (owner) {
        seterr(err, errlen, "duplicate metric name \"%s\" (clashes with \"%s\")", f->name, owner);
        return -1;
    }
    for (const char *const *sx = type_suffixes(f->type); *sx; sx++) {
        size_t m = strlen(*sx);
        memcpy(buf + n, *sx, m);
        owner = sample_name_owner(r, buf, n + m);
        if (owner) {
            buf[n + m] = '\0';
            seterr(err, errlen, "metric \"%s\" would write \"%s\", which clashes with \"%s\"",
                   f->name, buf, owner);
            return -1;
        }
        /* Also: an existing family named exactly like one of our sample names. */
        if (m && fam_find(r, buf, n + m)) {
            buf[n + m] = '\0';
            seterr(err, errlen, "metric \"%s\" would write \"%s\", an existing metric",
                   f->name, buf);
            return -1;
        }
    }
    return 0;
}

static int registry_add(struct ignis_registry *r, struct ig_family *f, char *err, size_t errlen)
{
    pthread_mutex_lock(&r->lock);
    if (registry_check_clash(r, f, err, errlen) < 0) {
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    if (r->nfams == r->capfams) {
        size_t nc = r->capfams ? r->capfams * 2 : 16;
        struct ig_family **nf = realloc(r->fams, nc * sizeof *nf);
        if (!nf) {
            pthread_mutex_unlock(&r->lock);
            seterr(err, errlen, "out of memory");
            return -1;
        }
        r->fams = nf;
        r->capfams = nc;
    }
    size_t i = fam_lower_bound(r, f->name, strlen(f->name));
    memmove(r->fams + i + 1, r->fams + i, (r->nfams - i) * sizeof *r->fams);
    r->fams[i] = f;
    r->nfams++;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int ignis_registry_unregister(struct ignis_registry *reg, const char *name)
{
    if (!reg || !name)
        return IGNIS_E_INVALID;
    pthread_mutex_lock(&reg->lock);
    size_t len = strlen(name);
    struct ig_family *f = fam_find(reg, name, len);
    if (!f) {
        /* Also accept a counter's or info's name with its suffix. */
        if (ends_with(name, "_total"))
            f = fam_find(reg, name, len - 6);
        else if (ends_with(name, "_info"))
            f = fam_find(reg, name, len - 5);
        if (f && f->type != (ends_with(name, "_total") ? IGNIS_METRIC_COUNTER
                                                        : IGNIS_METRIC_INFO))
            f = NULL;
    }
    if (!f) {
        pthread_mutex_unlock(&reg->lock);
        return IGNIS_E_NOTFOUND;
    }
    size_t i = fam_lower_bound(reg, f->name, strlen(f->name));
    memmove(reg->fams + i, reg->fams + i + 1, (reg->nfams - i - 1) * sizeof *reg->fams);
    reg->nfams--;
    pthread_mutex_unlock(&reg->lock);
    family_free(f);
    return 0;
}

int ignis_registry_add_collector(struct ignis_registry *reg, ignis_collect_fn fn, void *arg)
{
    if (!reg || !fn)
        return IGNIS_E_INVALID;
    pthread_mutex_lock(&reg->lock);
    if (reg->ncols == reg->capcols) {
        size_t nc = reg->capcols ? reg->capcols * 2 : 8;
        struct ig_collector *n = realloc(reg->cols, nc * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&reg->lock);
            return IGNIS_E_NOMEM;
        }
        reg->cols = n;
        reg->capcols = nc;
    }
    reg->cols[reg->ncols++] = (struct ig_collector){fn, arg};
    pthread_mutex_unlock(&reg->lock);
    return 0;
}

bool ig_registry_has_collector(struct ignis_registry *reg, ignis_collect_fn fn, void *arg)
{
    bool found = false;
    pthread_mutex_lock(&reg->lock);
    for (size_t i = 0; i < reg->ncols && !found; i++)
        found = reg->cols[i].fn == fn && reg->cols[i].arg == arg;
    pthread_mutex_unlock(&reg->lock);
    return found;
}

int ignis_registry_remove_collector(struct ignis_registry *reg, ignis_collect_fn fn, void *arg)
{
    if (!reg)
        return IGNIS_E_INVALID;
    pthread_mutex_lock(&reg->lock);
    for (size_t i = 0; i < reg->ncols; i++) {
        if (reg->cols[i].fn == fn && reg->cols[i].arg == arg) {
            memmove(reg->cols + i, reg->cols + i + 1, (reg->ncols - i - 1) * sizeof *reg->cols);
            reg->ncols--;
            pthread_mutex_unlock(&reg->lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return IGNIS_E_NOTFOUND;
}

/* ---- families: validation and creation ------------------------------------------ */

static bool valid_label_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && ig_utf8_ok(s, n) && !(n >= 2 && s[0] == '_' && s[1] == '_');
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static struct ig_family *family_new(enum ignis_metric_type type,
                                    const struct ignis_metric_opts *o, bool vec, char *err,
                                    size_t errlen)
{
    if (!o || !o->name || !*o->name) {
        seterr(err, errlen, "metric name is empty");
        return NULL;
    }
    if (!ig_utf8_ok(o->name, strlen(o->name))) {
        seterr(err, errlen, "metric name is not valid UTF-8");
        return NULL;
    }
    if (!o->help) {
        seterr(err, errlen, "metric \"%s\" has no help", o->name);
        return NULL;
    }
    if (!ig_utf8_ok(o->help, strlen(o->help))) {
        seterr(err, errlen, "help of metric \"%s\" is not valid UTF-8", o->name);
        return NULL;
    }
    size_t nlabels = vec ? o->nlabels : 0;
    if (!vec && o->nlabels) {
        seterr(err, errlen, "metric \"%s\": label names given to a metric without labels "
               "(use the _vec_new form)", o->name);
        return NULL;
    }
    if (o->nconst + nlabels > IG_MAX_LABELS) {
        seterr(err, errlen, "metric \"%s\" has more than %d labels", o->name, IG_MAX_LABELS);
        return NULL;
    }
    if ((nlabels && !o->label_names) || (o->nconst && !o->const_labels)) {
        seterr(err, errlen, "metric \"%s\": label array missing", o->name);
        return NULL;
    }

    struct ig_family *f = calloc(1, sizeof *f);
    if (!f)
        goto oom;
    pthread_mutex_init(&f->lock, NULL);
    f->type = type;
    size_t nl = strlen(o->name);
    if (type == IGNIS_METRIC_COUNTER && ends_with(o->name, "_total"))
        nl -= 6;
    else if (type == IGNIS_METRIC_INFO && ends_with(o->name, "_info"))
        nl -= 5;
    if (nl == 0) {
        seterr(err, errlen, "metric name \"%s\" is only a suffix", o->name);
        family_free(f);
        return NULL;
    }
    f->name = malloc(nl + 1);
    if (!f->name)
        goto oom;
    memcpy(f->name, o->name, nl);
    f->name[nl] = '\0';
    f->help = xstrdup(o->help);
    f->unit = xstrdup(o->unit ? o->unit : "");
    if (!f->help || !f->unit)
        goto oom;
    if (*f->unit) {
        char tail[256];
        int tl = snprintf(tail, sizeof tail, "_%s", f->unit);
        if (tl <= 1 || (size_t)tl >= sizeof tail || !ends_with(f->name, tail) ||
            strlen(f->name) == (size_t)tl || type == IGNIS_METRIC_INFO ||
            type == IGNIS_METRIC_STATESET) {
            seterr(err, errlen, "metric \"%s\": unit \"%s\" must be a suffix of the name "
                   "after an underscore (and infos have no unit)", o->name, f->unit);
            family_free(f);
            return NULL;
        }
    }

    f->nconst = o->nconst;
    f->nlabels = nlabels;
    f->lnames = calloc(o->nconst + nlabels + 1, sizeof *f->lnames);
    f->cvalues = calloc(o->nconst + 1, sizeof *f->cvalues);
    if (!f->lnames || !f->cvalues)
        goto oom;
    for (size_t i = 0; i < o->nconst + nlabels; i++) {
        const char *ln;
        if (i < o->nconst) {
            const struct ignis_label *cl = &o->const_labels[i];
            if (!cl->name || !cl->value || !ig_utf8_ok(cl->value, cl->value_len)) {
                seterr(err, errlen, "metric \"%s\": constant label %zu is invalid", o->name, i);
                family_free(f);
                return NULL;
            }
            f->lnames[i] = malloc(cl->name_len + 1);
            f->cvalues[i] = malloc(cl->value_len + 1);
            if (!f->lnames[i] || !f->cvalues[i])
                goto oom;
            memcpy(f->lnames[i], cl->name, cl->name_len);
            f->lnames[i][cl->name_len] = '\0';
            memcpy(f->cvalues[i], cl->value, cl->value_len);
            f->cvalues[i][cl->value_len] = '\0';
            if (memchr(cl->name, '\0', cl->name_len) || memchr(cl->value, '\0', cl->value_len)) {
                seterr(err, errlen, "metric \"%s\": constant label %zu contains NUL", o->name, i);
                family_free(f);
                return NULL;
            }
        } else {
            if (!o->label_names[i - o->nconst]) {
                seterr(err, errlen, "metric \"%s\": label name %zu is NULL", o->name, i);
                family_free(f);
                return NULL;
            }
            f->lnames[i] = xstrdup(o->label_names[i - o->nconst]);
            if (!f->lnames[i])
                goto oom;
        }
        ln = f->lnames[i];
        if (!valid_label_name(ln)) {
            seterr(err, errlen, "metric \"%s\": invalid label name \"%s\" (empty, not UTF-8 "
                   "or reserved \"__\" prefix)", o->name, ln);
            family_free(f);
            return NULL;
        }
        if ((type == IGNIS_METRIC_HISTOGRAM && strcmp(ln, "le") == 0) ||
            (type == IGNIS_METRIC_SUMMARY && strcmp(ln, "quantile") == 0)) {
            seterr(err, errlen, "metric \"%s\": label name \"%s\" is reserved for its type",
                   o->name, ln);
            family_free(f);
            return NULL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(f->lnames[j], ln) == 0) {
                seterr(err, errlen, "metric \"%s\": duplicate label name \"%s\"", o->name, ln);
                family_free(f);
                return NULL;
            }
        }
    }
    f->max_children = vec ? (o->max_children ? o->max_children : IGNIS_DEFAULT_MAX_CHILDREN) : 1;

    if (type == IGNIS_METRIC_HISTOGRAM) {
        const double *b = o->buckets ? o->buckets : ignis_default_buckets;
        size_t nb = o->buckets ? o->nbuckets : 11;
        if (nb > 0 && isinf(b[nb - 1]) && b[nb - 1] > 0)
            nb--; /* a trailing +Inf is implicit */
        if (nb > IG_MAX_BUCKETS) {
            seterr(err, errlen, "histogram \"%s\": more than %d buckets", o->name,
                   IG_MAX_BUCKETS);
            family_free(f);
            return NULL;
        }
        for (size_t i = 0; i < nb; i++) {
            if (!isfinite(b[i]) || (i > 0 && !(b[i] > b[i - 1]))) {
                seterr(err, errlen, "histogram \"%s\": buckets must be finite and strictly "
                       "increasing (bucket %zu)", o->name, i);
                family_free(f);
                return NULL;
            }
        }
        f->nbounds = nb;
        f->bounds = malloc((nb + 1) * sizeof *f->bounds);
        f->le = malloc((nb + 1) * sizeof *f->le);
        if (!f->bounds || !f->le)
            goto oom;
        for (size_t i = 0; i < nb; i++) {
            f->bounds[i] = b[i];
            ig_fmt_double(f->le[i], b[i], false);
        }
        f->bounds[nb] = INFINITY;
        strcpy(f->le[nb], "+Inf");
    }
    if (type == IGNIS_METRIC_SUMMARY) {
        if (o->nquantiles > IG_MAX_QUANTILES || (o->nquantiles && !o->quantiles)) {
            seterr(err, errlen, "summary \"%s\": too many objectives", o->name);
            family_free(f);
            return NULL;
        }
        f->nobj = o->nquantiles;
        f->obj = malloc((f->nobj + 1) * sizeof *f->obj);
        f->qstr = malloc((f->nobj + 1) * sizeof *f->qstr);
        if (!f->obj || !f->qstr)
            goto oom;
        for (size_t i = 0; i < f->nobj; i++) {
            struct ignis_quantile q = o->quantiles[i];
            if (!(q.q >= 0 && q.q <= 1) || !(q.err > 0 && q.err < 1)) {
                seterr(err, errlen, "summary \"%s\": objective %zu needs 0 <= q <= 1 and "
                       "0 < err < 1", o->name, i);
                family_free(f);
                return NULL;
            }
            /* insertion sort by q; equal q is an error */
            size_t j = i;
            while (j > 0 && f->obj[j - 1].q > q.q) {
                f->obj[j] = f->obj[j - 1];
                j--;
            }
            if (j > 0 && f->obj[j - 1].q == q.q) {
                seterr(err, errlen, "summary \"%s\": duplicate objective %g", o->name, q.q);
                family_free(f);
                return NULL;
            }
            f->obj[j] = q;
        }
        for (size_t i = 0; i < f->nobj; i++)
            ig_fmt_double(f->qstr[i], f->obj[i].q, false);
        f->max_age_ms = o->max_age_ms > 0 ? o->max_age_ms : IGNIS_DEFAULT_SUMMARY_MAX_AGE_MS;
        f->age_buckets = o->age_buckets ? o->age_buckets : IGNIS_DEFAULT_SUMMARY_AGE_BUCKETS;
        if (f->age_buckets > 1000) {
            seterr(err, errlen, "summary \"%s\": more than 1000 age buckets", o->name);
            family_free(f);
            return NULL;
        }
        f->clock_ms = o->clock_ms;
        f->clock_arg = o->clock_arg;
    }
    return f;
oom:
    seterr(err, errlen, "out of memory");
    family_free(f);
    return NULL;
}

static int64_t fam_now_ms(const struct ig_family *f)
{
    return f->clock_ms ? f->clock_ms(f->clock_arg) : now_monotonic_ms();
}

/* Allocates a child for the given variable label values (validated by the caller). */
static struct ig_child *child_new(struct ig_family *f, const char *const *values,
                                  const size_t *lens, uint64_t hash)
{
    size_t nl = f->nconst + f->nlabels;
    size_t strbytes = 0;
    for (size_t i = 0; i < f->nlabels; i++)
        strbytes += lens[i] + 1;
    size_t hbytes = 0;
    if (f->type == IGNIS_METRIC_HISTOGRAM)
        hbytes = (f->nbounds + 1) * sizeof(_Atomic uint64_t);
    /* layout: child | histogram counts | labels (nl + 1) | strings */
    size_t off_counts = (sizeof(struct ig_child) + 63) & ~(size_t)63;
    size_t off_labels = off_counts + hbytes;
    size_t off_str = off_labels + (nl + 1) * sizeof(struct ignis_label);
    struct ig_child *c = aligned_alloc(64, (off_str + strbytes + 63) & ~(size_t)63);
    if (!c)
        return NULL;
    memset(c, 0, off_str);
    c->fam = f;
    c->hash = hash;
    c->labels = (struct ignis_label *)((char *)c + off_labels);
    char *s = (char *)c + off_str;
    for (size_t i = 0; i < f->nconst; i++)
        c->labels[i] = (struct ignis_label){f->lnames[i], strlen(f->lnames[i]), f->cvalues[i],
                                            strlen(f->cvalues[i])};
    for (size_t i = 0; i < f->nlabels; i++) {
        memcpy(s, values[i], lens[i]);
        s[lens[i]] = '\0';
        size_t k = f->nconst + i;
        c->labels[k] = (struct ignis_label){f->lnames[k], strlen(f->lnames[k]), s, lens[i]};
        s += lens[i] + 1;
    }
    c->created = now_realtime();
    switch (f->type) {
    case IGNIS_METRIC_HISTOGRAM:
        c->u.hist.counts = (_Atomic uint64_t *)((char *)c + off_counts);
        for (size_t i = 0; i <= f->nbounds; i++)
            atomic_init(&c->u.hist.counts[i], 0);
        break;
    case IGNIS_METRIC_SUMMARY:
        pthread_mutex_init(&c->u.sum.lock, NULL);
        c->u.sum.win = ig_sw_new(f->obj, f->nobj, f->max_age_ms, f->age_buckets, fam_now_ms(f));
        if (!c->u.sum.win) {
            pthread_mutex_destroy(&c->u.sum.lock);
            free(c);
            return NULL;
        }
        break;
    default:
        break;
    }
    return c;
}

static bool child_matches(const struct ig_child *c, const char *const *values,
                          const size_t *lens)
{
    const struct ig_family *f = c->fam;
    for (size_t i = 0; i < f->nlabels; i++) {
        const struct ignis_label *l = &c->labels[f->nconst + i];
        if (l->value_len != lens[i] || memcmp(l->value, values[i], lens[i]) != 0)
            return false;
    }
    return true;
}

static struct ig_child *table_find(struct ig_table *t, const char *const *values,
                                   const size_t *lens, uint64_t hash)
{
    if (!t)
        return NULL;
    for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        struct ig_child *c = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (!c)
            return NULL;
        if (c->hash == hash && child_matches(c, values, lens))
            return c;
    }
}

static void table_put(struct ig_table *t, struct ig_child *c)
{
    size_t i = c->hash & t->mask;
    while (atomic_load_explicit(&t->slot[i], memory_order_relaxed))
        i = (i + 1) & t->mask;
    atomic_store_explicit(&t->slot[i], c, memory_order_release);
}

static struct ig_table *table_new(size_t size)
{
    struct ig_table *t = calloc(1, sizeof *t + size * sizeof(t->slot[0]));
    if (!t)
        return NULL;
    t->mask = size - 1;
    for (size_t i = 0; i < size; i++)
        atomic_init(&t->slot[i], NULL);
    return t;
}

/* Under f->lock: adds c to children[] and the table (growing both as needed). */
static int family_insert(struct ig_family *f, struct ig_child *c)
{
    if (f->nchildren == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 4;
        struct ig_child **n = realloc(f->children, nc * sizeof *n);
        if (!n)
            return -1;
        f->children = n;
        f->cap = nc;
    }
    struct ig_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    /* keep the load factor at most 1/2 */
    if (!t || (f->nchildren + 1) * 2 > t->mask + 1) {
        size_t size = t ? (t->mask + 1) * 2 : 8;
        struct ig_table *nt = table_new(size);
        if (!nt)
            return -1;
        for (size_t i = 0; i < f->nchildren; i++)
            table_put(nt, f->children[i]);
        nt->retired = t;
        atomic_store_explicit(&f->table, nt, memory_order_release);
        t = nt;
    }
    f->children[f->nchildren++] = c;
    table_put(t, c);
    return 0;
}

/* The child for values: found without a lock, or created under the family's lock. */
static struct ig_child *family_with(struct ig_family *f, const char *const *values,
                                    const size_t *lens_in)
{
    if (!f)
        return NULL;
    size_t lens_buf[IG_MAX_LABELS];
    const size_t *lens = lens_in;
    if (!lens) {
        for (size_t i = 0; i < f->nlabels; i++)
            lens_buf[i] = values[i] ? strlen(values[i]) : 0;
        lens = lens_buf;
    }
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values[i] && lens[i])
            return NULL;
    uint64_t h = hash_values(values, lens, f->nlabels);
    struct ig_child *c =
        table_find(atomic_load_explicit(&f->table, memory_order_acquire), values, lens, h);
    if (c)
        return c;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!ig_utf8_ok(values[i] ? values[i] : "", lens[i]) ||
            (lens[i] && memchr(values[i], '\0', lens[i]))) {
            atomic_fetch_add_explicit(&f->refused, 1, memory_order_relaxed);
            return NULL;
        }
    }
    pthread_mutex_lock(&f->lock);
    c = table_find(atomic_load_explicit(&f->table, memory_order_relaxed), values, lens, h);
    if (!c) {
        if (f->nchildren >= f->max_children) {
            atomic_fetch_add_explicit(&f->refused, 1, memory_order_relaxed);
        } else {
            static const char *const none[1] = {""};
            c = child_new(f, f->nlabels ? values : none, lens, h);
            if (c && family_insert(f, c) < 0) {
                child_free(c);
                c = NULL;
            }
            if (!c)
                atomic_fetch_add_explicit(&f->refused, 1, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&f->lock);
    return c;
}

static struct ig_family *create(struct ignis_registry *reg, enum ignis_metric_type type,
                                const struct ignis_metric_opts *o, bool vec, char *err,
                                size_t errlen)
{
    if (!reg) {
        seterr(err, errlen, "no registry");
        return NULL;
    }
    struct ig_family *f = family_new(type, o, vec, err, errlen);
    if (!f)
        return NULL;
    if (!vec || f->nlabels == 0) {
        /* the one child exists from the start, so it is exposed before first use */
        size_t zero = 0;
        if (!family_with(f, NULL, &zero)) {
            seterr(err, errlen, "out of memory");
            family_free(f);
            return NULL;
        }
    }
    if (registry_add(reg, f, err, errlen) < 0) {
        family_free(f);
        return NULL;
    }
    return f;
}

static struct ig_child *only_child(struct ig_family *f)
{
    return f ? f->children[0] : NULL;
}

struct ignis_counter *ignis_counter_new(struct ignis_registry *reg,
                                        const struct ignis_metric_opts *o, char *err,
                                        size_t errlen)
{
    return (struct ignis_counter *)only_child(
        create(reg, IGNIS_METRIC_COUNTER, o, false, err, errlen));
}

struct ignis_counter_vec *ignis_counter_vec_new(struct ignis_registry *reg,
                                                const struct ignis_metric_opts *o, char *err,
                                                size_t errlen)
{
    return (struct ignis_counter_vec *)create(reg, IGNIS_METRIC_COUNTER, o, true, err, errlen);
}

struct ignis_gauge *ignis_gauge_new(struct ignis_registry *reg,
                                    const struct ignis_metric_opts *o, char *err,
                                    size_t errlen)
{
    return (struct ignis_gauge *)only_child(
        create(reg, IGNIS_METRIC_GAUGE, o, false, err, errlen));
}

struct ignis_gauge_vec *ignis_gauge_vec_new(struct ignis_registry *reg,
                                            const struct ignis_metric_opts *o, char *err,
                                            size_t errlen)
{
    return (struct ignis_gauge_vec *)create(reg, IGNIS_METRIC_GAUGE, o, true, err, errlen);
}

struct ignis_histogram *ignis_histogram_new(struct ignis_registry *reg,
                                            const struct ignis_metric_opts *o, char *err,
                                            size_t errlen)
{
    return (struct ignis_histogram *)only_child(
        create(reg, IGNIS_METRIC_HISTOGRAM, o, false, err, errlen));
}

struct ignis_histogram_vec *ignis_histogram_vec_new(struct ignis_registry *reg,
                                                    const struct ignis_metric_opts *o,
                                                    char *err, size_t errlen)
{
    return (struct ignis_histogram_vec *)create(reg, IGNIS_METRIC_HISTOGRAM, o, true, err,
                                                errlen);
}

struct ignis_summary *ignis_summary_new(struct ignis_registry *reg,
                                        const struct ignis_metric_opts *o, char *err,
                                        size_t errlen)
{
    return (struct ignis_summary *)only_child(
        create(reg, IGNIS_METRIC_SUMMARY, o, false, err, errlen));
}

struct ignis_summary_vec *ignis_summary_vec_new(struct ignis_registry *reg,
                                                const struct ignis_metric_opts *o, char *err,
                                                size_t errlen)
{
    return (struct ignis_summary_vec *)create(reg, IGNIS_METRIC_SUMMARY, o, true, err, errlen);
}

int ignis_info_new(struct ignis_registry *reg, const struct ignis_metric_opts *o, char *err,
                   size_t errlen)
{
    return create(reg, IGNIS_METRIC_INFO, o, false, err, errlen) ? 0 : IGNIS_E_INVALID;
}

/* ---- with_labels ------------------------------------------------------------------ */

static struct ig_child *with_va(struct ig_family *f, va_list ap)
{
    if (!f)
        return NULL;
    const char *vals[IG_MAX_LABELS];
    for (size_t i = 0; i < f->nlabels; i++)
        vals[i] = va_arg(ap, const char *);
    return family_with(f, vals, NULL);
}

#define IG_WITH(type)                                                                   \
    struct ignis_##type *ignis_##type##_vec_with(struct ignis_##type##_vec *v, ...)     \
    {                                                                                   \
        va_list ap;                                                                     \
        va_start(ap, v);                                                                \
        struct ig_child *c = with_va((struct ig_family *)v, ap);                        \
        va_end(ap);                                                                     \
        return (struct ignis_##type *)c;                                                \
    }                                                                                   \
    struct ignis_##type *ignis_##type##_vec_withv(struct ignis_##type##_vec *v,         \
                                                  const char *const *values,            \
                                                  const size_t *lens)                   \
    {                                                                                   \
        struct ig_family *f = (struct ig_family *)v;                                    \
        if (!f || (f->nlabels && !values))                                              \
            return NULL;                                                                \
        return (struct ignis_##type *)family_with(f, values, lens);                     \
    }

IG_WITH(counter)
IG_WITH(gauge)
IG_WITH(histogram)
IG_WITH(summary)

size_t ignis_vec_children(const void *vec)
{
    struct ig_family *f = (struct ig_family *)vec;
    if (!f)
        return 0;
    pthread_mutex_lock(&f->lock);
    size_t n = f->nchildren;
    pthread_mutex_unlock(&f->lock);
    return n;
}

uint64_t ignis_vec_refused(const void *vec)
{
    const struct ig_family *f = vec;
    return f ? atomic_load_explicit(&f->refused, memory_order_relaxed) : 0;
}

/* ---- updates ------------------------------------------------------------------ */

#define CHILD(p) ((struct ig_child *)(p))

void ignis_counter_inc(struct ignis_counter *c)
{
    if (c)
        atomic_fetch_add_explicit(&CHILD(c)->u.counter.ival, 1, memory_order_relaxed);
}

void ignis_counter_add(struct ignis_counter *c, double v)
{
    if (!c || !(v >= 0))
        return;
    /* whole amounts go to the integer cell (wait-free) while they are exact */
    if (v < 9007199254740992.0 && v == floor(v))
        atomic_fetch_add_explicit(&CHILD(c)->u.counter.ival, (uint64_t)v, memory_order_relaxed);
    else
        atomic_add_double(&CHILD(c)->u.counter.fbits, v);
}

double ignis_counter_value(const struct ignis_counter *c)
{
    if (!c)
        return 0;
    struct ig_child *ch = CHILD(c);
    return (double)atomic_load_explicit(&ch->u.counter.ival, memory_order_relaxed) +
           bits2d(atomic_load_explicit(&ch->u.counter.fbits, memory_order_relaxed));
}

double ignis_counter_created(const struct ignis_counter *c)
{
    return c ? CHILD(c)->created : 0;
}

void ignis_gauge_set(struct ignis_gauge *g, double v)
{
    if (g)
        atomic_store_explicit(&CHILD(g)->u.gauge.bits, d2bits(v), memory_order_relaxed);
}

void ignis_gauge_add(struct ignis_gauge *g, double v)
{
    if (g)
        atomic_add_double(&CHILD(g)->u.gauge.bits, v);
}

void ignis_gauge_sub(struct ignis_gauge *g, double v)
{
    ignis_gauge_add(g, -v);
}

void ignis_gauge_inc(struct ignis_gauge *g)
{
    ignis_gauge_add(g, 1);
}

void ignis_gauge_dec(struct ignis_gauge *g)
{
    ignis_gauge_add(g, -1);
}

void ignis_gauge_set_to_current_time(struct ignis_gauge *g)
{
    ignis_gauge_set(g, now_realtime());
}

double ignis_gauge_value(const struct ignis_gauge *g)
{
    return g ? bits2d(atomic_load_explicit(&CHILD(g)->u.gauge.bits, memory_order_relaxed)) : 0;
}

void ignis_histogram_observe(struct ignis_histogram *h, double v)
{
    if (!h || isnan(v))
        return;
    struct ig_child *c = CHILD(h);
    const struct ig_family *f = c->fam;
    /* first bucket whose upper bound is >= v (bounds[nbounds] is +Inf) */
    size_t lo = 0, hi = f->nbounds;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->bounds[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&c->u.hist.counts[lo], 1, memory_order_relaxed);
    atomic_add_double(&c->u.hist.sumbits, v);
}

uint64_t ignis_histogram_bucket_count(const struct ignis_histogram *h, size_t i)
{
    if (!h)
        return 0;
    struct ig_child *c = CHILD(h);
    if (i > c->fam->nbounds)
        i = c->fam->nbounds;
    uint64_t n = 0;
    for (size_t k = 0; k <= i; k++)
        n += atomic_load_explicit(&c->u.hist.counts[k], memory_order_relaxed);
    return n;
}

uint64_t ignis_histogram_count(const struct ignis_histogram *h)
{
    return h ? ignis_histogram_bucket_count(h, CHILD(h)->fam->nbounds) : 0;
}

double ignis_histogram_sum(const struct ignis_histogram *h)
{
    return h ? bits2d(atomic_load_explicit(&CHILD(h)->u.hist.sumbits, memory_order_relaxed)) : 0;
}

double ignis_histogram_created(const struct ignis_histogram *h)
{
    return h ? CHILD(h)->created : 0;
}

void ignis_summary_observe(struct ignis_summary *s, double v)
{
    if (!s || isnan(v))
        return;
    struct ig_child *c = CHILD(s);
    int64_t now = c->fam->nobj ? fam_now_ms(c->fam) : 0;
    pthread_mutex_lock(&c->u.sum.lock);
    c->u.sum.sum += v;
    c->u.sum.count++;
    if (c->fam->nobj)
        ig_sw_observe(c->u.sum.win, v, now);
    pthread_mutex_unlock(&c->u.sum.lock);
}

double ignis_summary_quantile(struct ignis_summary *s, double q)
{
    if (!s)
        return NAN;
    struct ig_child *c = CHILD(s);
    const struct ig_family *f = c->fam;
    double out[IG_MAX_QUANTILES];
    size_t k;
    for (k = 0; k < f->nobj; k++)
        if (f->obj[k].q == q)
            break;
    if (k == f->nobj)
        return NAN;
    int64_t now = fam_now_ms(f);
    pthread_mutex_lock(&c->u.sum.lock);
    ig_sw_query(c->u.sum.win, now, out);
    pthread_mutex_unlock(&c->u.sum.lock);
    return out[k];
}

double ignis_summary_sum(struct ignis_summary *s)
{
    if (!s)
        return 0;
    struct ig_child *c = CHILD(s);
    pthread_mutex_lock(&c->u.sum.lock);
    double v = c->u.sum.sum;
    pthread_mutex_unlock(&c->u.sum.lock);
    return v;
}

uint64_t ignis_summary_count(struct ignis_summary *s)
{
    if (!s)
        return 0;
    struct ig_child *c = CHILD(s);
    pthread_mutex_lock(&c->u.sum.lock);
    uint64_t v = c->u.sum.count;
    pthread_mutex_unlock(&c->u.sum.lock);
    return v;
}

double ignis_summary_created(const struct ignis_summary *s)
{
    return s ? CHILD(s)->created : 0;
}

/* ---- writing -------------------------------------------------------------------- */

#define NO_TS IGNIS_NO_TIMESTAMP

static int write_child(struct ignis_sink *s, struct ig_child *c)
{
    struct ig_family *f = c->fam;
    size_t n = f->nconst + f->nlabels;
    struct ignis_label *ls = c->labels;
    int rc = 0;
    switch (f->type) {
    case IGNIS_METRIC_COUNTER:
        rc |= ignis_sink_sample(s, "_total", ls, n, ignis_counter_value((void *)c), NO_TS);
        rc |= ignis_sink_sample(s, "_created", ls, n, c->created, NO_TS);
        break;
    case IGNIS_METRIC_GAUGE:
        rc |= ignis_sink_sample(s, "", ls, n, ignis_gauge_value((void *)c), NO_TS);
        break;
    case IGNIS_METRIC_INFO:
        rc |= ignis_sink_sample(s, "_info", ls, n, 1, NO_TS);
        break;
    case IGNIS_METRIC_HISTOGRAM: {
        /* _count is the +Inf bucket by construction, so the two always agree */
        uint64_t cum = 0;
        double sum = ignis_histogram_sum((void *)c);
        for (size_t i = 0; i <= f->nbounds; i++) {
            cum += atomic_load_explicit(&c->u.hist.counts[i], memory_order_relaxed);
            ls[n] = (struct ignis_label){"le", 2, f->le[i], strlen(f->le[i])};
            rc |= ignis_sink_sample(s, "_bucket", ls, n + 1, (double)cum, NO_TS);
        }
        rc |= ignis_sink_sample(s, "_count", ls, n, (double)cum, NO_TS);
        rc |= ignis_sink_sample(s, "_sum", ls, n, sum, NO_TS);
        rc |= ignis_sink_sample(s, "_created", ls, n, c->created, NO_TS);
        break;
    }
    case IGNIS_METRIC_SUMMARY: {
        double q[IG_MAX_QUANTILES];
        int64_t now = f->nobj ? fam_now_ms(f) : 0;
        pthread_mutex_lock(&c->u.sum.lock);
        if (f->nobj)
            ig_sw_query(c->u.sum.win, now, q);
        double sum = c->u.sum.sum;
        uint64_t count = c->u.sum.count;
        pthread_mutex_unlock(&c->u.sum.lock);
        for (size_t i = 0; i < f->nobj; i++) {
            ls[n] = (struct ignis_label){"quantile", 8, f->qstr[i], strlen(f->qstr[i])};
            rc |= ignis_sink_sample(s, "", ls, n + 1, q[i], NO_TS);
        }
        rc |= ignis_sink_sample(s, "_count", ls, n, (double)count, NO_TS);
        rc |= ignis_sink_sample(s, "_sum", ls, n, sum, NO_TS);
        rc |= ignis_sink_sample(s, "_created", ls, n, c->created, NO_TS);
        break;
    }
    default:
        break;
    }
    return rc ? -1 : 0;
}

static int write_family(struct ignis_sink *s, struct ig_family *f)
{
    int rc = 0;
    if (ignis_sink_family(s, f->name, f->type, f->help, f->unit) < 0)
        return -1;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nchildren; i++)
        rc |= write_child(s, f->children[i]);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int ignis_registry_write(struct ignis_registry *reg, struct ignis_sink *sink)
{
    if (!reg || !sink)
        return -1;
    int rc = 0;
    bool refusals = false;
    pthread_mutex_lock(&reg->lock);
    for (size_t i = 0; i < reg->nfams; i++) {
        rc |= write_family(sink, reg->fams[i]);
        if (atomic_load_explicit(&reg->fams[i]->refused, memory_order_relaxed))
            refusals = true;
    }
    /* The bound on vectors is counted where it is hit; shown once it has been. */
    if (refusals) {
        rc |= ignis_sink_family(sink, "ignis_metric_vec_refused", IGNIS_METRIC_COUNTER,
                                "Label sets a metric vector refused because it held its "
                                "maximum number of children or the values were invalid.", "");
        for (size_t i = 0; i < reg->nfams; i++) {
            struct ig_family *f = reg->fams[i];
            uint64_t n = atomic_load_explicit(&f->refused, memory_order_relaxed);
            if (!n)
                continue;
            struct ignis_label l = {"metric", 6, f->name, strlen(f->name)};
            rc |= ignis_sink_sample(sink, "_total", &l, 1, (double)n, NO_TS);
        }
    }
    for (size_t i = 0; i < reg->ncols; i++)
        if (reg->cols[i].fn(reg->cols[i].arg, sink) != 0)
            rc = -1;
    pthread_mutex_unlock(&reg->lock);
    return rc ? -1 : 0;
}
