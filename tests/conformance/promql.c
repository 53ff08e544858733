/* tests/conformance/promql.c — runs the promqltest corpus (every .test file in
 * $CONFORMANCE_DIR/promql, format in FORMAT.md there) against the `promql` query plugin over the
 * `mem` storage plugin, both loaded as modules and driven only through their ops tables. Prints per
 * file and in total `N passed, N failed, N skipped`. An eval is skipped only when its file is
 * start_timestamps.test or when histogram data is in a series the eval can select or in
 * its expected result; a file without histogram data must skip nothing. */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ignis/plugin.h>

#include "ast.h"
#include "testhost.h"

#define MAX_LINE 65536

/* ---- small helpers ----------------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) {
        perror("strdup");
        exit(2);
    }
    return p;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) {
        perror("calloc");
        exit(2);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        perror("realloc");
        exit(2);
    }
    return p;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* A Prometheus duration ("5m", "10s53ms", "0"); signed when allow_sign. */
static bool parse_dur(const char *s, size_t n, int64_t *ms)
{
    if (n == 1 && s[0] == '0') {
        *ms = 0;
        return true;
    }
    return ignis_parse_duration(s, n, ms) == 0;
}

/* ---- label sets --------------------------------------------------------------------- */

struct lset {
    struct ignis_label *l;
    size_t n;
};

static void lset_free(struct lset *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free((char *)ls->l[i].name);
        free((char *)ls->l[i].value);
    }
    free(ls->l);
    ls->l = NULL;
    ls->n = 0;
}

static void lset_add(struct lset *ls, const char *name, size_t nl, const char *value, size_t vl)
{
    /* a label given twice: the last one counts */
    for (size_t i = 0; i < ls->n; i++) {
        if (ls->l[i].name_len == nl && memcmp(ls->l[i].name, name, nl) == 0) {
            free((char *)ls->l[i].value);
            char *v = xcalloc(vl + 1, 1);
            memcpy(v, value, vl);
            ls->l[i].value = v;
            ls->l[i].value_len = vl;
            return;
        }
    }
    ls->l = xrealloc(ls->l, (ls->n + 1) * sizeof *ls->l);
    char *nn = xcalloc(nl + 1, 1), *vv = xcalloc(vl + 1, 1);
    memcpy(nn, name, nl);
    memcpy(vv, value, vl);
    ls->l[ls->n++] = (struct ignis_label){nn, nl, vv, vl};
}

static void lset_sort(struct lset *ls)
{
    ignis_labels_sort(ls->l, ls->n);
}

static bool lset_eq(const struct ignis_label *a, size_t na, const struct ignis_label *b, size_t nb)
{
    return ignis_labels_cmp(a, na, b, nb) == 0;
}

static void lset_print(FILE *f, const struct ignis_label *l, size_t n)
{
    fputc('{', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%.*s=\"%.*s\"", i ? ", " : "", (int)l[i].name_len, l[i].name,
                (int)l[i].value_len, l[i].value);
    fputc('}', f);
}

/* Go-style unquoting of a "..", '..' or `..` literal at s; returns the length consumed or
 * 0 on error. */
static size_t unquote(const char *s, char **out, size_t *outlen)
{
    char q = s[0];
    size_t i = 1, o = 0;
    size_t cap = strlen(s) + 1;
    char *b = xcalloc(cap, 1);
    while (s[i] && s[i] != q) {
        if (q != '`' && s[i] == '\\') {
            i++;
            char c = s[i];
            int base = 0, nd = 0;
            switch (c) {
            case 'a':
                b[o++] = '\a';
                i++;
                continue;
            case 'b':
                b[o++] = '\b';
                i++;
                continue;
            case 'f':
                b[o++] = '\f';
                i++;
                continue;
            case 'n':
                b[o++] = '\n';
                i++;
                continue;
            case 'r':
                b[o++] = '\r';
                i++;
                continue;
            case 't':
                b[o++] = '\t';
                i++;
                continue;
            case 'v':
                b[o++] = '\v';
                i++;
                continue;
            case 'x':
                base = 16, nd = 2, i++;
                break;
            case 'u':
                base = 16, nd = 4, i++;
                break;
            case 'U':
                base = 16, nd = 8, i++;
                break;
            default:
                if (c >= '0' && c <= '7') {
                    base = 8, nd = 3;
                    break;
                }
                if (!c) {
                    free(b);
                    return 0;
                }
                b[o++] = c;
                i++;
                continue;
            }
            unsigned long v = 0;
            for (int k = 0; k < nd; k++) {
                char d = s[i++];
                int x = isdigit((unsigned char)d) ? d - '0'
                        : (d >= 'a' && d <= 'f')  ? d - 'a' + 10
                        : (d >= 'A' && d <= 'F')  ? d - 'A' + 10
                                                  : 99;
                if (x >= base) {
                    free(b);
                    return 0;
                }
                v = v * (unsigned long)base + (unsigned long)x;
            }
            if (c == 'x' || base == 8) {
                b[o++] = (char)v;
            } else if (v < 0x80) {
                b[o++] = (char)v;
            } else if (v < 0x800) {
                b[o++] = (char)(0xc0 | (v >> 6));
                b[o++] = (char)(0x80 | (v & 0x3f));
            } else if (v < 0x10000) {
                b[o++] = (char)(0xe0 | (v >> 12));
                b[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
                b[o++] = (char)(0x80 | (v & 0x3f));
            } else {
                b[o++] = (char)(0xf0 | (v >> 18));
                b[o++] = (char)(0x80 | ((v >> 12) & 0x3f));
                b[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
                b[o++] = (char)(0x80 | (v & 0x3f));
            }
            continue;
        }
        b[o++] = s[i++];
    }
    if (s[i] != q) {
        free(b);
        return 0;
    }
    *out = b;
    *outlen = o;
    return i + 1;
}

static bool is_name_char(int c, bool first)
{
    return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/* Series notation: name, name{...}, {...}. Returns chars consumed, 0 on error. */
static size_t parse_series(const char *s, struct lset *ls)
{
    size_t i = 0;
    memset(ls, 0, sizeof *ls);
    if (is_name_char((unsigned char)s[0], true)) {
        while (is_name_char((unsigned char)s[i], false))
            i++;
        lset_add(ls, "__name__", 8, s, i);
    }
    if (s[i] != '{') {
        if (i == 0)
            return 0;
        lset_sort(ls);
        return i;
    }
    i++;
    for (;;) {
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        if (s[i] == '}') {
            i++;
            break;
        }
        char *name = NULL;
        size_t nl = 0;
        if (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
            size_t k = unquote(s + i, &name, &nl);
            if (!k)
                goto bad;
            i += k;
        } else {
            size_t st = i;
            while (is_name_char((unsigned char)s[i], i == st))
                i++;
            if (i == st)
                goto bad;
            name = xcalloc(i - st + 1, 1);
            memcpy(name, s + st, i - st);
            nl = i - st;
        }
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        if (s[i] == ',' || s[i] == '}') {
            /* a quoted name alone is the metric name */
            lset_add(ls, "__name__", 8, name, nl);
            free(name);
            if (s[i] == ',')
                i++;
            continue;
        }
        if (s[i] != '=') {
            free(name);
            goto bad;
        }
        i++;
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        char *val;
        size_t vl;
        size_t k = (s[i] == '"' || s[i] == '\'' || s[i] == '`') ? unquote(s + i, &val, &vl) : 0;
        if (!k) {
            free(name);
            goto bad;
        }
        i += k;
        lset_add(ls, name, nl, val, vl);
        free(name);
        free(val);
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        if (s[i] == ',')
            i++;
    }
    lset_sort(ls);
    return i;
bad:
    lset_free(ls);
    return 0;
}

/* ---- value items ---------------------------------------------------------------------- */

struct item {
    bool omitted;
    bool hist;
    double v;
};

struct items {
    struct item *it;
    size_t n, cap;
    bool any_hist;
};

static void items_add(struct items *x, struct item it)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        x->it = xrealloc(x->it, x->cap * sizeof *x->it);
    }
    x->it[x->n++] = it;
}

/* Parses a number as the corpus writes them: sign, decimal digits with optional point
 * and exponent, or Inf/NaN in any case; never hex (in "0x8" the x is a repetition).
 * Returns chars consumed, 0 when there is no number. */
static size_t parse_num(const char *s, double *v)
{
    const char *p = s;
    int sign = 1;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (strncasecmp(p, "inf", 3) == 0) {
        *v = sign * INFINITY;
        return (size_t)(p + 3 - s);
    }
    if (strncasecmp(p, "nan", 3) == 0) {
        *v = NAN;
        return (size_t)(p + 3 - s);
    }
    const char *q = p;
    size_t digits = 0;
    while (isdigit((unsigned char)*q))
        q++, digits++;
    if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q))
            q++, digits++;
    }
    if (!digits)
        return 0;
    if (*q == 'e' || *q == 'E') {
        const char *e = q + 1;
        if (*e == '+' || *e == '-')
            e++;
        if (isdigit((unsigned char)*e)) {
            while (isdigit((unsigned char)*e))
                e++;
            q = e;
        }
    }
    char tmp[128];
    size_t n = (size_t)(q - p);
    if (n >= sizeof tmp)
        return 0;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    *v = sign * strtod(tmp, NULL);
    return (size_t)(q - s);
}

/* Skips a {{...}} literal; returns its length or 0. */
static size_t skip_hist(const char *s)
{
    if (strncmp(s, "{{", 2) != 0)
        return 0;
    const char *e = strstr(s + 2, "}}");
    return e ? (size_t)(e + 2 - s) : 0;
}

/* Expands the value items of a line. Returns false on a syntax error. */
static bool parse_items(const char *s, struct items *x)
{
    size_t i = 0;
    for (;;) {
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        if (!s[i])
            return true;
        size_t h = skip_hist(s + i);
        if (h) {
            /* {{a}}, {{a}}xN, {{a}}+{{b}}xN, {{a}}-{{b}}xN */
            x->any_hist = true;
            i += h;
            long reps = 0;
            if ((s[i] == '+' || s[i] == '-') && skip_hist(s + i + 1)) {
                i += 1 + skip_hist(s + i + 1);
                if (s[i] != 'x')
                    return false;
            }
            if (s[i] == 'x') {
                char *end;
                reps = strtol(s + i + 1, &end, 10);
                i = (size_t)(end - s);
            }
            for (long k = 0; k <= reps; k++)
                items_add(x, (struct item){.hist = true});
            continue;
        }
        size_t st = i;
        while (s[i] && s[i] != ' ' && s[i] != '\t')
            i++;
        char tok[256];
        size_t tl = i - st;
        if (tl >= sizeof tok)
            return false;
        memcpy(tok, s + st, tl);
        tok[tl] = 0;
        if (strcmp(tok, "_") == 0) {
            items_add(x, (struct item){.omitted = true});
            continue;
        }
        if (tok[0] == '_' && tok[1] == 'x') {
            long n = strtol(tok + 2, NULL, 10);
            for (long k = 0; k < n; k++)
                items_add(x, (struct item){.omitted = true});
            continue;
        }
        if (strcmp(tok, "stale") == 0) {
            uint64_t b = 0x7ff0000000000002ULL;
            double v;
            memcpy(&v, &b, sizeof v);
            items_add(x, (struct item){.v = v});
            continue;
        }
        double a, d = 0;
        size_t k = parse_num(tok, &a);
        if (!k)
            return false;
        long reps = 0;
        if (tok[k] == '+' || tok[k] == '-') {
            size_t k2 = parse_num(tok + k + 1, &d);
            if (!k2)
                return false;
            if (tok[k] == '-')
                d = -d;
            k += 1 + k2;
            if (tok[k] != 'x')
                return false;
        }
        if (tok[k] == 'x') {
            char *end;
            reps = strtol(tok + k + 1, &end, 10);
            if (*end)
                return false;
        } else if (tok[k]) {
            return false;
        }
        for (long r = 0; r <= reps; r++)
            items_add(x, (struct item){.v = a + d * (double)r});
    }
}

/* ---- the plugins ---------------------------------------------------------------------------- */

static const struct ignis_plugin *load_plugin(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        exit(2);
    }
    const struct ignis_plugin *p = dlsym(h, IGNIS_PLUGIN_SYMBOL);
    if (!p) {
        fprintf(stderr, "%s: no ignis_plugin symbol\n", path);
        exit(2);
    }
    return p;
}

struct runner {
    const struct ignis_plugin *mem_pl, *pq_pl;
    const struct ignis_storage_ops *mem;
    const struct ignis_query_ops *pq;
    struct testhost *mem_host, *pq_host;
    void *store;
    void *engine;
    /* label sets of series holding histogram samples */
    struct lset *hist;
    size_t nhist;
    /* per file */
    const char *file;
    int passed, failed, skipped;
    int *skip_lines;
    size_t nskip;
    bool file_has_hist;
    bool verbose;
    bool no_extra; /* PROMQL_NO_EXTRA_CHECKS: skip FORMAT.md section 10's checks */
    int range_checks, at_checks;
};

static void store_open(struct runner *r)
{
    struct ignis_config *cfg = ignis_config_new(r->mem_pl->options, "conformance");
    char err[256];
    if (r->mem->create(testhost_host(r->mem_host), cfg, &r->store, err, sizeof err) != 0) {
        fprintf(stderr, "mem create: %s\n", err);
        exit(2);
    }
    ignis_config_free(cfg);
}

static void store_clear(struct runner *r)
{
    r->mem->destroy(r->store);
    store_open(r);
    for (size_t i = 0; i < r->nhist; i++)
        lset_free(&r->hist[i]);
    r->nhist = 0;
}

static void engine_open(struct runner *r)
{
    struct ignis_config *cfg = ignis_config_new(r->pq_pl->options, "conformance");
    char err[256];
    static const char *const on[] = {"experimental_functions", "duration_expressions",
                                     "extended_range_selectors", "binop_fill_modifiers"};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++)
        ignis_config_set_bool(cfg, on[i], true, "conformance");
    /* the corpus' environment (FORMAT.md section 3) */
    if (ignis_config_set(cfg, "lookback_delta", "5m", "conformance", err, sizeof err) != 0 ||
        ignis_config_set(cfg, "default_subquery_step", "1m", "conformance", err, sizeof err) != 0 ||
        ignis_config_set(cfg, "timeout", "100s", "conformance", err, sizeof err) != 0) {
        fprintf(stderr, "promql config: %s\n", err);
        exit(2);
    }
    if (r->pq->create(testhost_host(r->pq_host), cfg, &r->engine, err, sizeof err) != 0) {
        fprintf(stderr, "promql create: %s\n", err);
        exit(2);
    }
    ignis_config_free(cfg);
}

static void hist_add(struct runner *r, const struct lset *ls)
{
    for (size_t i = 0; i < r->nhist; i++)
        if (lset_eq(r->hist[i].l, r->hist[i].n, ls->l, ls->n))
            return;
    r->hist = xrealloc(r->hist, (r->nhist + 1) * sizeof *r->hist);
    struct lset c = {0};
    for (size_t i = 0; i < ls->n; i++)
        lset_add(&c, ls->l[i].name, ls->l[i].name_len, ls->l[i].value, ls->l[i].value_len);
    lset_sort(&c);
    r->hist[r->nhist++] = c;
}

/* ---- load --------------------------------------------------------------------------------- */

struct loadline {
    struct lset ls;
    struct items it;
};

static int do_load(struct runner *r, int64_t step, bool nhcb, char **body, size_t nbody, int lineno)
{
    struct loadline *ll = xcalloc(nbody, sizeof *ll);
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < nbody; i++) {
        const char *s = body[i];
        size_t k = parse_series(s, &ll[n].ls);
        if (!k) {
            fprintf(stderr, "%s:%d: bad series in load: %s\n", r->file, lineno, s);
            rc = -1;
            continue;
        }
        if (s[k] == '@') {
            /* start timestamps (start_timestamps.test): not stored by this runner */
            lset_free(&ll[n].ls);
            continue;
        }
        if (!parse_items(s + k, &ll[n].it)) {
            fprintf(stderr, "%s:%d: bad values in load: %s\n", r->file, lineno, s);
            lset_free(&ll[n].ls);
            rc = -1;
            continue;
        }
        /* the same label set twice: the last line counts */
        for (size_t j = 0; j < n; j++) {
            if (lset_eq(ll[j].ls.l, ll[j].ls.n, ll[n].ls.l, ll[n].ls.n)) {
                lset_free(&ll[j].ls);
                free(ll[j].it.it);
                ll[j] = ll[n];
                memset(&ll[n], 0, sizeof ll[n]);
                n--;
                break;
            }
        }
        n++;
    }
    struct ignis_appender *a = r->mem->appender(r->store);
    for (size_t i = 0; i < n && a; i++) {
        if (ll[i].it.any_hist)
            hist_add(r, &ll[i].ls);
        uint64_t ref = 0;
        for (size_t j = 0; j < ll[i].it.n; j++) {
            struct item *it = &ll[i].it.it[j];
            if (it->omitted || it->hist)
                continue;
            int e = r->mem->append(a, ll[i].ls.l, ll[i].ls.n, (int64_t)j * step, it->v, &ref);
            if (e != 0) {
                fprintf(stderr, "%s:%d: append failed: %s\n", r->file, lineno, ignis_strerror(e));
                rc = -1;
            }
        }
    }
    if (a && r->mem->commit(a) != 0) {
        fprintf(stderr, "%s:%d: commit failed\n", r->file, lineno);
        rc = -1;
    }
    if (nhcb) {
        /* classic histograms also become native histograms with custom buckets: the
         * runner only records the new series (named without the suffix) as histogram
         * series, since this storage keeps float samples */
        static const char *const sfx[] = {"_bucket", "_sum", "_count"};
        for (size_t i = 0; i < n; i++) {
            const struct ignis_label *nm = ignis_labels_get(ll[i].ls.l, ll[i].ls.n, "__name__", 8);
            if (!nm)
                continue;
            for (size_t k = 0; k < 3; k++) {
                size_t sl = strlen(sfx[k]);
                if (nm->value_len <= sl || memcmp(nm->value + nm->value_len - sl, sfx[k], sl))
                    continue;
                struct lset h = {0};
                for (size_t j = 0; j < ll[i].ls.n; j++) {
                    const struct ignis_label *l = &ll[i].ls.l[j];
                    if (l->name_len == 2 && memcmp(l->name, "le", 2) == 0)
                        continue;
                    if (l == nm)
                        lset_add(&h, l->name, l->name_len, l->value, l->value_len - sl);
                    else
                        lset_add(&h, l->name, l->name_len, l->value, l->value_len);
                }
                lset_sort(&h);
                hist_add(r, &h);
                lset_free(&h);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        lset_free(&ll[i].ls);
        free(ll[i].it.it);
    }
    free(ll);
    return rc;
}

/* ---- eval ----------------------------------------------------------------------------------- */

struct expect_anno {
    char *text; /* NULL: any */
    bool regex;
};

struct expected_series {
    struct lset ls;
    struct items it;
    int lineno;
};

struct eval {
    int lineno;
    bool range;
    int64_t start, end, step;
    char *expr;
    bool fail;
    char *fail_text;
    bool fail_regex;
    bool ordered;
    bool has_scalar;
    double scalar;
    bool has_string;
    char *string;
    bool range_vector;
    int64_t rv_start, rv_end, rv_step;
    bool warn_any, no_warn, info_any, no_info;
    struct expect_anno *warns, *infos;
    size_t nwarns, ninfos;
    struct expected_series *ser;
    size_t nser;
    bool hist_in_expected;
    bool bad; /* the file is malformed here */
};

static void eval_free(struct eval *e)
{
    free(e->expr);
    free(e->fail_text);
    free(e->string);
    for (size_t i = 0; i < e->nwarns; i++)
        free(e->warns[i].text);
    for (size_t i = 0; i < e->ninfos; i++)
        free(e->infos[i].text);
    free(e->warns);
    free(e->infos);
    for (size_t i = 0; i < e->nser; i++) {
        lset_free(&e->ser[i].ls);
        free(e->ser[i].it.it);
    }
    free(e->ser);
}

/* "msg: text" or "regex: re" after an expect kind. */
static void parse_expect_text(const char *s, char **text, bool *regex)
{
    s = s + strspn(s, " \t");
    *text = NULL;
    *regex = false;
    if (starts(s, "msg:")) {
        char *t = xstrdup(s + 4);
        *text = xstrdup(trim(t));
        free(t);
    } else if (starts(s, "regex:")) {
        char *t = xstrdup(s + 6);
        *text = xstrdup(trim(t));
        free(t);
        *regex = true;
    }
}

static bool parse_eval_cmd(const char *cmd, struct eval *e)
{
    const char *s = cmd;
    if (starts(s, "eval_fail"))
        e->fail = true, s += 9;
    else if (starts(s, "eval_warn"))
        e->warn_any = true, s += 9;
    else if (starts(s, "eval_info"))
        e->info_any = true, s += 9;
    else if (starts(s, "eval_ordered"))
        e->ordered = true, s += 12;
    else
        s += 4;
    s += strspn(s, " \t");
    char w[64];
    int n = 0;
    if (starts(s, "instant at ")) {
        s += 11;
        n = (int)strcspn(s, " \t");
        if (!parse_dur(s, (size_t)n, &e->start))
            return false;
        e->end = e->start;
        s += n;
    } else if (starts(s, "range from ")) {
        e->range = true;
        s += 11;
        n = (int)strcspn(s, " \t");
        if (!parse_dur(s, (size_t)n, &e->start))
            return false;
        s += n;
        s += strspn(s, " \t");
        if (!starts(s, "to "))
            return false;
        s += 3;
        n = (int)strcspn(s, " \t");
        if (!parse_dur(s, (size_t)n, &e->end))
            return false;
        s += n;
        s += strspn(s, " \t");
        if (!starts(s, "step "))
            return false;
        s += 5;
        n = (int)strcspn(s, " \t");
        if (!parse_dur(s, (size_t)n, &e->step))
            return false;
        s += n;
        if (e->end < e->start)
            return false;
    } else {
        return false;
    }
    (void)w;
    e->expr = xstrdup(s + strspn(s, " \t"));
    return true;
}

static bool parse_eval_body(struct runner *r, char **body, int *linenos, size_t nbody,
                            struct eval *e)
{
    for (size_t i = 0; i < nbody; i++) {
        char *s = body[i];
        if (starts(s, "expect ")) {
            s += 7;
            s += strspn(s, " \t");
            if (starts(s, "fail")) {
                e->fail = true;
                parse_expect_text(s + 4, &e->fail_text, &e->fail_regex);
            } else if (starts(s, "no_warn")) {
                e->no_warn = true;
            } else if (starts(s, "no_info")) {
                e->no_info = true;
            } else if (starts(s, "warn")) {
                e->warns = xrealloc(e->warns, (e->nwarns + 1) * sizeof *e->warns);
                parse_expect_text(s + 4, &e->warns[e->nwarns].text, &e->warns[e->nwarns].regex);
                e->nwarns++;
            } else if (starts(s, "info")) {
                e->infos = xrealloc(e->infos, (e->ninfos + 1) * sizeof *e->infos);
                parse_expect_text(s + 4, &e->infos[e->ninfos].text, &e->infos[e->ninfos].regex);
                e->ninfos++;
            } else if (starts(s, "ordered")) {
                e->ordered = true;
            } else if (starts(s, "string ")) {
                const char *q = s + 7;
                q += strspn(q, " \t");
                char *v;
                size_t vl;
                if (!unquote(q, &v, &vl))
                    return false;
                e->has_string = true;
                e->string = v;
            } else if (starts(s, "range vector from ")) {
                char a[64], b[64], c[64];
                if (sscanf(s + 18, "%63s to %63s step %63s", a, b, c) != 3 ||
                    !parse_dur(a, strlen(a), &e->rv_start) ||
                    !parse_dur(b, strlen(b), &e->rv_end) || !parse_dur(c, strlen(c), &e->rv_step))
                    return false;
                e->range_vector = true;
            } else {
                return false;
            }
            continue;
        }
        if (starts(s, "expected_fail_message ")) {
            e->fail_text = xstrdup(trim(s + 22));
            continue;
        }
        if (starts(s, "expected_fail_regexp ")) {
            e->fail_text = xstrdup(trim(s + 21));
            e->fail_regex = true;
            continue;
        }
        /* a scalar line: a whole number as strtod reads it */
        char *end;
        double v = strtod(s, &end);
        if (end != s && *trim(end) == 0) {
            e->has_scalar = true;
            e->scalar = v;
            continue;
        }
        struct expected_series es = {.lineno = linenos[i]};
        size_t k = parse_series(s, &es.ls);
        if (!k || !parse_items(s + k, &es.it)) {
            lset_free(&es.ls);
            free(es.it.it);
            fprintf(stderr, "%s:%d: bad expected line: %s\n", r->file, linenos[i], s);
            return false;
        }
        if (es.it.any_hist)
            e->hist_in_expected = true;
        e->ser = xrealloc(e->ser, (e->nser + 1) * sizeof *e->ser);
        e->ser[e->nser++] = es;
    }
    return true;
}

/* Can any selector in the tree pick a histogram series? */
static bool selects_hist(struct runner *r, const struct pq_node *n)
{
    if (!n)
        return false;
    switch (n->kind) {
    case N_VECTOR:
        for (size_t i = 0; i < r->nhist; i++)
            if (ignis_selector_matches(&n->vs.sel, r->hist[i].l, r->hist[i].n))
                return true;
        return false;
    case N_MATRIX:
        return selects_hist(r, n->ms.vs);
    case N_SUBQUERY:
        return selects_hist(r, n->sq.expr);
    case N_CALL:
        if (n->call.fn->id == F_INFO) {
            /* info() reads info series by the __name__ matchers of its second argument,
             * or target_info */
            const struct pq_node *a = n->call.nargs > 1 ? n->call.args[1] : NULL;
            for (size_t i = 0; i < r->nhist; i++) {
                const struct ignis_label *nm =
                    ignis_labels_get(r->hist[i].l, r->hist[i].n, "__name__", 8);
                bool named = false, match = true;
                for (size_t j = 0; a && j < a->vs.sel.n; j++) {
                    const struct ignis_matcher *m = &a->vs.sel.matchers[j];
                    if (m->name_len == 8 && memcmp(m->name, "__name__", 8) == 0) {
                        named = true;
                        if (!ignis_matcher_matches(m, nm ? nm->value : "", nm ? nm->value_len : 0))
                            match = false;
                    }
                }
                if (!named)
                    match = nm && nm->value_len == 11 && memcmp(nm->value, "target_info", 11) == 0;
                if (match)
                    return true;
            }
        }
        for (size_t i = 0; i < n->call.nargs; i++)
            if (selects_hist(r, n->call.args[i]))
                return true;
        return false;
    case N_AGG:
        return selects_hist(r, n->agg.param) || selects_hist(r, n->agg.expr);
    case N_BINARY:
        return selects_hist(r, n->bin.lhs) || selects_hist(r, n->bin.rhs);
    case N_UNARY:
        return selects_hist(r, n->un.expr);
    case N_PAREN:
        return selects_hist(r, n->paren.expr);
    default:
        return false;
    }
}

/* The float rule of FORMAT.md section 8. */
static bool float_eq(double a, double b)
{
    uint64_t ba, bb;
    memcpy(&ba, &a, 8);
    memcpy(&bb, &b, 8);
    if (isnan(a) || isnan(b)) {
        if (!isnan(a) || !isnan(b))
            return false;
        bool sa = ba == 0x7ff0000000000002ULL, sb = bb == 0x7ff0000000000002ULL;
        return sa == sb;
    }
    if (a == b)
        return true;
    if (isinf(a) || isinf(b))
        return false;
    double sum = fabs(a) + fabs(b);
    if (a == 0 || b == 0 || sum < 2.2250738585072014e-308)
        return fabs(a - b) < 1e-6 * 2.2250738585072014e-308;
    return fabs(a - b) / fmin(sum, 1.7976931348623157e308) < 1e-6;
}

/* Unanchored search of a Go regex in text. */
static bool regex_search(const char *re, const char *text)
{
    size_t n = strlen(re);
    char *pat = xcalloc(n + 16, 1);
    snprintf(pat, n + 16, ".*(?:%s).*", re);
    char err[256];
    struct ignis_regex *rx = ignis_regex_compile(pat, strlen(pat), err, sizeof err);
    free(pat);
    if (!rx) {
        fprintf(stderr, "bad regex %s: %s\n", re, err);
        return false;
    }
    bool m = ignis_regex_match(rx, text, strlen(text));
    ignis_regex_free(rx);
    return m;
}

static bool anno_match(const struct expect_anno *a, const char *text)
{
    if (!a->text)
        return true;
    if (a->regex)
        return regex_search(a->text, text);
    return strcmp(a->text, text) == 0;
}

static char failbuf[4096];

static bool failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(failbuf, sizeof failbuf, fmt, ap);
    va_end(ap);
    return false;
}

static bool check_annos(const char *kind, bool any, bool none, const struct expect_anno *exp,
                        size_t nexp, const char *const *got, size_t ngot)
{
    if (none && ngot > 0)
        return failf("unexpected %s annotation: %s", kind, got[0]);
    if (!any && nexp == 0)
        return true;
    if (ngot == 0)
        return failf("expected a %s annotation, got none", kind);
    for (size_t i = 0; i < nexp; i++) {
        bool found = false;
        for (size_t j = 0; j < ngot && !found; j++)
            found = anno_match(&exp[i], got[j]);
        if (!found)
            return failf("no %s annotation matches '%s' (got '%s')", kind,
                         exp[i].text ? exp[i].text : "", got[0]);
    }
    for (size_t j = 0; j < ngot && nexp > 0; j++) {
        bool found = false;
        for (size_t i = 0; i < nexp && !found; i++)
            found = anno_match(&exp[i], got[j]);
        if (!found)
            return failf("unexpected %s annotation: %s", kind, got[j]);
    }
    return true;
}

static bool check_result(struct eval *e, const struct ignis_query_result *res)
{
    if (e->fail) {
        if (res->error == IGNIS_QERR_NONE)
            return failf("expected an error, got none");
        if (e->fail_text) {
            const char *m = res->error_msg ? res->error_msg : "";
            if (e->fail_regex ? !regex_search(e->fail_text, m) : strcmp(m, e->fail_text) != 0)
                return failf("error '%s' does not match '%s'", m, e->fail_text);
        }
        return true;
    }
    if (res->error != IGNIS_QERR_NONE)
        return failf("unexpected error: %s", res->error_msg ? res->error_msg : "?");
    if (!check_annos("warn", e->warn_any, e->no_warn, e->warns, e->nwarns, res->warnings,
                     res->nwarnings))
        return false;
    if (!check_annos("info", e->info_any, e->no_info, e->infos, e->ninfos, res->infos, res->ninfos))
        return false;
    if (e->has_string) {
        if (res->type != IGNIS_VALUE_STRING)
            return failf("expected a string result");
        if (strcmp(res->string ? res->string : "", e->string) != 0)
            return failf("string '%s', want '%s'", res->string, e->string);
        return true;
    }
    if (e->has_scalar) {
        if (res->type != IGNIS_VALUE_SCALAR)
            return failf("expected a scalar result, got type %d", res->type);
        if (!float_eq(res->scalar, e->scalar))
            return failf("scalar %.17g, want %.17g", res->scalar, e->scalar);
        return true;
    }
    bool matrix = e->range || e->range_vector;
    if (e->nser == 0) {
        if (res->type != IGNIS_VALUE_VECTOR && res->type != IGNIS_VALUE_MATRIX)
            return failf("expected an empty vector, got type %d", res->type);
        if (res->nseries != 0) {
            fprintf(stderr, "      first: ");
            lset_print(stderr, res->series[0].labels, res->series[0].nlabels);
            fprintf(stderr, " %.17g\n", res->series[0].npoints ? res->series[0].v[0] : NAN);
            return failf("expected no series, got %zu", res->nseries);
        }
        return true;
    }
    if (matrix ? res->type != IGNIS_VALUE_MATRIX : res->type != IGNIS_VALUE_VECTOR)
        return failf("result type %d, want %s", res->type, matrix ? "matrix" : "vector");
    if (matrix) {
        for (size_t i = 1; i < res->nseries; i++)
            if (ignis_labels_cmp(res->series[i - 1].labels, res->series[i - 1].nlabels,
                                 res->series[i].labels, res->series[i].nlabels) >= 0)
                return failf("matrix not sorted by labels");
    }
    bool *used = xcalloc(res->nseries, sizeof *used);
    bool ok = true;
    int64_t t0 = e->range_vector ? e->rv_start : e->start;
    int64_t st = e->range_vector ? e->rv_step : e->step;
    for (size_t i = 0; i < e->nser && ok; i++) {
        struct expected_series *x = &e->ser[i];
        size_t j;
        for (j = 0; j < res->nseries; j++)
            if (!used[j] &&
                lset_eq(res->series[j].labels, res->series[j].nlabels, x->ls.l, x->ls.n))
                break;
        if (j == res->nseries) {
            fprintf(stderr, "      missing: ");
            lset_print(stderr, x->ls.l, x->ls.n);
            fprintf(stderr, "\n");
            ok = failf("expected series (line %d) not in the result", x->lineno);
            break;
        }
        used[j] = true;
        const struct ignis_result_series *rs = &res->series[j];
        if (e->ordered && j != i) {
            ok = failf("series of line %d at position %zu, want %zu", x->lineno, j, i);
            break;
        }
        if (!matrix) {
            if (x->it.n != 1 || x->it.it[0].omitted) {
                ok = failf("line %d: an instant vector needs one value", x->lineno);
                break;
            }
            if (rs->npoints != 1 || !float_eq(rs->v[0], x->it.it[0].v)) {
                ok = failf("line %d: value %.17g, want %.17g", x->lineno,
                           rs->npoints ? rs->v[0] : NAN, x->it.it[0].v);
                break;
            }
            continue;
        }
        size_t p = 0;
        for (size_t k = 0; k < x->it.n; k++) {
            if (x->it.it[k].omitted)
                continue;
            int64_t t = t0 + (int64_t)k * st;
            if (p >= rs->npoints || rs->t[p] != t || !float_eq(rs->v[p], x->it.it[k].v)) {
                ok = failf("line %d: point %zu (t=%lld): got %s%.17g at %lld, want %.17g",
                           x->lineno, k, (long long)t, p >= rs->npoints ? "nothing " : "",
                           p < rs->npoints ? rs->v[p] : 0.0,
                           p < rs->npoints ? (long long)rs->t[p] : 0LL, x->it.it[k].v);
                break;
            }
            p++;
        }
        if (ok && p != rs->npoints)
            ok = failf("line %d: %zu points, want %zu (extra at t=%lld v=%.17g)", x->lineno,
                       rs->npoints, p, (long long)rs->t[p], rs->v[p]);
    }
    if (ok) {
        for (size_t j = 0; j < res->nseries; j++) {
            if (!used[j]) {
                fprintf(stderr, "      unexpected: ");
                lset_print(stderr, res->series[j].labels, res->series[j].nlabels);
                fprintf(stderr, " %.17g\n", res->series[j].npoints ? res->series[j].v[0] : NAN);
                ok = failf("unexpected series in the result");
                break;
            }
        }
    }
    free(used);
    return ok;
}

static bool calls_any(const struct pq_node *n, const enum pq_fid *ids, size_t nids)
{
    if (!n)
        return false;
    switch (n->kind) {
    case N_MATRIX:
        return calls_any(n->ms.range.expr, ids, nids) || calls_any(n->ms.vs, ids, nids);
    case N_VECTOR:
        return calls_any(n->vs.offset.expr, ids, nids);
    case N_SUBQUERY:
        return calls_any(n->sq.expr, ids, nids) || calls_any(n->sq.range.expr, ids, nids) ||
               calls_any(n->sq.step.expr, ids, nids) || calls_any(n->sq.offset.expr, ids, nids);
    case N_CALL:
        for (size_t i = 0; i < nids; i++)
            if (n->call.fn->id == ids[i])
                return true;
        for (size_t i = 0; i < n->call.nargs; i++)
            if (calls_any(n->call.args[i], ids, nids))
                return true;
        return false;
    case N_AGG:
        return calls_any(n->agg.param, ids, nids) || calls_any(n->agg.expr, ids, nids);
    case N_BINARY:
        return calls_any(n->bin.lhs, ids, nids) || calls_any(n->bin.rhs, ids, nids);
    case N_UNARY:
        return calls_any(n->un.expr, ids, nids);
    case N_PAREN:
        return calls_any(n->paren.expr, ids, nids);
    default:
        return false;
    }
}

/* True when a selector or subquery uses @ start() or @ end(). */
static bool uses_start_end(const struct pq_node *n)
{
    if (!n)
        return false;
    switch (n->kind) {
    case N_VECTOR:
        return n->vs.at == PQ_AT_START || n->vs.at == PQ_AT_END;
    case N_MATRIX:
        return uses_start_end(n->ms.vs);
    case N_SUBQUERY:
        return n->sq.at == PQ_AT_START || n->sq.at == PQ_AT_END || uses_start_end(n->sq.expr);
    case N_CALL:
        for (size_t i = 0; i < n->call.nargs; i++)
            if (uses_start_end(n->call.args[i]))
                return true;
        return false;
    case N_AGG:
        return uses_start_end(n->agg.param) || uses_start_end(n->agg.expr);
    case N_BINARY:
        return uses_start_end(n->bin.lhs) || uses_start_end(n->bin.rhs);
    case N_UNARY:
        return uses_start_end(n->un.expr);
    case N_PAREN:
        return uses_start_end(n->paren.expr);
    default:
        return false;
    }
}

/* Adds @ t to every selector and subquery without one, outside subqueries. */
static void pin_at(struct pq_node *n, int64_t t)
{
    if (!n)
        return;
    switch (n->kind) {
    case N_VECTOR:
        if (n->vs.at == PQ_AT_NONE) {
            n->vs.at = PQ_AT_TS;
            n->vs.at_ms = t;
        }
        break;
    case N_MATRIX:
        pin_at(n->ms.vs, t);
        break;
    case N_SUBQUERY:
        if (n->sq.at == PQ_AT_NONE) {
            n->sq.at = PQ_AT_TS;
            n->sq.at_ms = t;
        }
        break; /* the subquery's own @ pins what is inside */
    case N_CALL:
        for (size_t i = 0; i < n->call.nargs; i++)
            pin_at(n->call.args[i], t);
        break;
    case N_AGG:
        pin_at(n->agg.param, t);
        pin_at(n->agg.expr, t);
        break;
    case N_BINARY:
        pin_at(n->bin.lhs, t);
        pin_at(n->bin.rhs, t);
        break;
    case N_UNARY:
        pin_at(n->un.expr, t);
        break;
    case N_PAREN:
        pin_at(n->paren.expr, t);
        break;
    default:
        break;
    }
}

static struct ignis_query *exec_q(struct runner *r, const char *expr, int64_t start, int64_t end,
                                  int64_t step)
{
    struct ignis_query_params p = {
        .size = sizeof p,
        .expr = expr,
        .start = start,
        .end = end,
        .step = step,
        .storage_ops = r->mem,
        .storage = r->store,
    };
    struct ignis_query *q = NULL;
    if (r->pq->exec(r->engine, &p, &q) != 0)
        return NULL;
    return q;
}

/* FORMAT.md 10.1: the expression run as a range query around t gives the instant result
 * at t. */
static bool range_consistent(struct runner *r, struct eval *e,
                             const struct ignis_query_result *inst)
{
    int64_t t = e->start;
    r->range_checks++;
    struct ignis_query *q = exec_q(r, e->expr, t - 60000, t + 60000, 60000);
    if (!q)
        return failf("range check: exec failed");
    const struct ignis_query_result *rr = r->pq->result(q);
    bool ok = true;
    if (rr->error != IGNIS_QERR_NONE) {
        ok = failf("range check: error %s", rr->error_msg ? rr->error_msg : "?");
        goto out;
    }
    size_t matched = 0;
    for (size_t i = 0; i < rr->nseries && ok; i++) {
        const struct ignis_result_series *rs = &rr->series[i];
        size_t p;
        for (p = 0; p < rs->npoints && rs->t[p] != t; p++)
            ;
        if (p == rs->npoints)
            continue;
        matched++;
        if (inst->type == IGNIS_VALUE_SCALAR) {
            if (rs->nlabels != 0 || !float_eq(rs->v[p], inst->scalar))
                ok = failf("range check: scalar %.17g at t, instant gave %.17g", rs->v[p],
                           inst->scalar);
            continue;
        }
        size_t j;
        for (j = 0; j < inst->nseries; j++)
            if (lset_eq(inst->series[j].labels, inst->series[j].nlabels, rs->labels, rs->nlabels))
                break;
        if (j == inst->nseries) {
            fprintf(stderr, "      range-only: ");
            lset_print(stderr, rs->labels, rs->nlabels);
            fprintf(stderr, "\n");
            ok = failf("range check: a series the instant query did not return");
        } else if (!float_eq(inst->series[j].v[0], rs->v[p])) {
            ok = failf("range check: %.17g at t, instant gave %.17g", rs->v[p],
                       inst->series[j].v[0]);
        }
    }
    if (ok && inst->type == IGNIS_VALUE_VECTOR && matched != inst->nseries)
        ok = failf("range check: %zu series at t, the instant query gave %zu", matched,
                   inst->nseries);
    if (ok && inst->type == IGNIS_VALUE_SCALAR && matched != 1)
        ok = failf("range check: no scalar point at t");
out:
    r->pq->query_free(q);
    return ok;
}

/* FORMAT.md 10.2: with every selector pinned at t, the result does not depend on the
 * evaluation time. */
static bool at_invariant(struct runner *r, struct eval *e, int64_t t)
{
    static const struct pq_features all = {true, true, true, true, true, true};
    char err[512];
    struct pq_expr *pe = pq_parse(e->expr, strlen(e->expr), &all, err, sizeof err);
    if (!pe)
        return true; /* the plain eval reports parse failures */
    pin_at(pe->root, t);
    r->at_checks++;
    char *text = pq_node_string(pe->root);
    pq_expr_free(pe);
    if (!text)
        return failf("@ check: printing failed");
    int64_t times[5];
    size_t nt = 0;
    if (t == 0) {
        times[nt++] = -1000;
        times[nt++] = 0;
        times[nt++] = 1000;
    } else {
        times[nt++] = -10 * t;
        times[nt++] = 0;
        times[nt++] = t / 5;
        times[nt++] = t;
        times[nt++] = 10 * t;
    }
    bool ok = true;
    for (size_t i = 0; i < nt && ok; i++) {
        struct ignis_query *q = exec_q(r, text, times[i], times[i], 0);
        if (!q) {
            ok = failf("@ check: exec failed");
            break;
        }
        ok = check_result(e, r->pq->result(q));
        r->pq->query_free(q);
        if (!ok) {
            char *tmp = xstrdup(failbuf);
            snprintf(failbuf, sizeof failbuf, "@ check at %lld (%.1000s): %.2000s",
                     (long long)times[i], text, tmp);
            free(tmp);
        }
    }
    free(text);
    return ok;
}

static void run_eval(struct runner *r, struct eval *e)
{
    static const struct pq_features all = {true, true, true, true, true, true};
    static const enum pq_fid no_range_check[] = {F_START, F_END, F_RANGE, F_STEP};
    static const enum pq_fid no_at_check[] = {F_TIME,         F_TIMESTAMP,   F_PREDICT_LINEAR,
                                              F_MINUTE,       F_HOUR,        F_DAY_OF_WEEK,
                                              F_DAY_OF_MONTH, F_DAY_OF_YEAR, F_DAYS_IN_MONTH,
                                              F_MONTH,        F_YEAR,        F_START,
                                              F_END,          F_RANGE,       F_STEP};
    char err[512];
    bool skip = e->hist_in_expected;
    bool range_check = !e->range && !e->fail && !e->ordered && !e->has_string && !e->range_vector;
    bool at_check = !e->range;
    struct pq_expr *pe = pq_parse(e->expr, strlen(e->expr), &all, err, sizeof err);
    if (!skip && pe && selects_hist(r, pe->root))
        skip = true;
    if (pe) {
        if (calls_any(pe->root, no_range_check, 4) || uses_start_end(pe->root))
            range_check = false;
        if (calls_any(pe->root, no_at_check, sizeof no_at_check / sizeof no_at_check[0]) ||
            uses_start_end(pe->root))
            at_check = false;
    }
    pq_expr_free(pe);
    if (skip) {
        r->skipped++;
        r->skip_lines = xrealloc(r->skip_lines, (r->nskip + 1) * sizeof *r->skip_lines);
        r->skip_lines[r->nskip++] = e->lineno;
        return;
    }
    int64_t t = e->range_vector ? e->rv_end : e->start;
    struct ignis_query *q =
        e->range ? exec_q(r, e->expr, e->start, e->end, e->step) : exec_q(r, e->expr, t, t, 0);
    bool ok;
    if (!q) {
        ok = failf("exec failed");
    } else {
        const struct ignis_query_result *res = r->pq->result(q);
        ok = check_result(e, res);
        if (ok && range_check && !r->no_extra &&
            (res->type == IGNIS_VALUE_VECTOR || res->type == IGNIS_VALUE_SCALAR))
            ok = range_consistent(r, e, res);
    }
    if (q)
        r->pq->query_free(q);
    if (ok && at_check && !r->no_extra)
        ok = at_invariant(r, e, t);
    if (ok) {
        r->passed++;
    } else {
        r->failed++;
        fprintf(stderr, "FAIL %s:%d: %s\n      %s\n", r->file, e->lineno, e->expr, failbuf);
    }
}

/* ---- files ------------------------------------------------------------------------------------
 */

struct fline {
    char *s; /* trimmed; "" for blank and comment lines */
    int no;
};

static int run_file(struct runner *r, const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    struct fline *lines = NULL;
    size_t n = 0, cap = 0;
    char *buf = xcalloc(MAX_LINE, 1);
    int no = 0;
    r->file_has_hist = false;
    while (fgets(buf, MAX_LINE, f)) {
        no++;
        char *t = trim(buf);
        if (t[0] == '#')
            t[0] = 0;
        if (strstr(t, "{{") || starts(t, "load_with_nhcb"))
            r->file_has_hist = true;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            lines = xrealloc(lines, cap * sizeof *lines);
        }
        lines[n].s = xstrdup(t);
        lines[n].no = no;
        n++;
    }
    fclose(f);
    free(buf);
    r->file = name;
    r->passed = r->failed = r->skipped = 0;
    r->nskip = 0;
    int bad = 0;
    for (size_t i = 0; i < n;) {
        char *s = lines[i].s;
        if (!*s) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && lines[j].s[0])
            j++;
        char **body = xcalloc(j - i, sizeof *body);
        int *nos = xcalloc(j - i, sizeof *nos);
        for (size_t k = i + 1; k < j; k++) {
            body[k - i - 1] = lines[k].s;
            nos[k - i - 1] = lines[k].no;
        }
        size_t nbody = j - i - 1;
        if (starts(s, "clear")) {
            store_clear(r);
            /* a clear has no body; anything after it starts a new command */
            j = i + 1;
        } else if (starts(s, "load")) {
            bool nhcb = starts(s, "load_with_nhcb");
            const char *a = s + (nhcb ? 14 : 4);
            a += strspn(a, " \t");
            int64_t step;
            if (!parse_dur(a, strlen(a), &step)) {
                fprintf(stderr, "%s:%d: bad load step\n", name, lines[i].no);
                bad++;
            } else if (do_load(r, step, nhcb, body, nbody, lines[i].no) != 0) {
                bad++;
            }
        } else if (starts(s, "eval")) {
            struct eval e = {.lineno = lines[i].no};
            if (strcmp(name, "start_timestamps.test") == 0) {
                /* needs start timestamps, which this storage does not keep */
                r->skipped++;
                r->skip_lines = xrealloc(r->skip_lines, (r->nskip + 1) * sizeof *r->skip_lines);
                r->skip_lines[r->nskip++] = e.lineno;
            } else if (!parse_eval_cmd(s, &e) || !parse_eval_body(r, body, nos, nbody, &e)) {
                fprintf(stderr, "%s:%d: malformed eval\n", name, lines[i].no);
                r->failed++;
            } else {
                run_eval(r, &e);
            }
            eval_free(&e);
        } else {
            fprintf(stderr, "%s:%d: unknown command: %s\n", name, lines[i].no, s);
            bad++;
            j = i + 1;
        }
        free(body);
        free(nos);
        i = j;
    }
    for (size_t k = 0; k < n; k++)
        free(lines[k].s);
    free(lines);
    store_clear(r);
    return bad;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *cdir = getenv("CONFORMANCE_DIR");
    const char *bdir = getenv("top_builddir");
    if (!cdir || !bdir) {
        fprintf(stderr, "CONFORMANCE_DIR and top_builddir must be set\n");
        return 2;
    }
    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/promql", cdir);
    struct runner r = {0};
    r.verbose = getenv("PROMQL_VERBOSE") != NULL;
    r.no_extra = getenv("PROMQL_NO_EXTRA_CHECKS") != NULL;
    snprintf(path, sizeof path, "%s/plugins/storage/mem/.libs/mem.so", bdir);
    r.mem_pl = load_plugin(getenv("PROMQL_MEM_SO") ? getenv("PROMQL_MEM_SO") : path);
    snprintf(path, sizeof path, "%s/plugins/query/promql/.libs/promql.so", bdir);
    r.pq_pl = load_plugin(path);
    if (r.mem_pl->kind != IGNIS_PLUGIN_STORAGE || r.pq_pl->kind != IGNIS_PLUGIN_QUERY) {
        fprintf(stderr, "unexpected plugin kinds\n");
        return 2;
    }
    r.mem = r.mem_pl->ops;
    r.pq = r.pq_pl->ops;
    r.mem_host = testhost_new("mem");
    r.pq_host = testhost_new("promql");
    if (!r.mem_host || !r.pq_host)
        return 2;
    testhost_set_log_level(r.mem_host, IGNIS_LOG_ERROR);
    store_open(&r);
    engine_open(&r);

    /* the files to run: the arguments, or every .test file */
    char **files = NULL;
    size_t nfiles = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            files = xrealloc(files, (nfiles + 1) * sizeof *files);
            files[nfiles++] = xstrdup(argv[i]);
        }
    } else {
        DIR *d = opendir(dir);
        if (!d) {
            fprintf(stderr, "%s: %s\n", dir, strerror(errno));
            return 2;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t l = strlen(de->d_name);
            if (l > 5 && strcmp(de->d_name + l - 5, ".test") == 0) {
                files = xrealloc(files, (nfiles + 1) * sizeof *files);
                files[nfiles++] = xstrdup(de->d_name);
            }
        }
        closedir(d);
        qsort(files, nfiles, sizeof *files, cmp_str);
    }
    int tp = 0, tf = 0, ts = 0, bad = 0;
    for (size_t i = 0; i < nfiles; i++) {
        int b = run_file(&r, dir, files[i]);
        if (b < 0)
            return 2;
        bad += b;
        printf("%-28s %4d passed, %4d failed, %4d skipped\n", files[i], r.passed, r.failed,
               r.skipped);
        if (r.nskip) {
            printf("    skipped (histogram data%s) at lines:",
                   strcmp(files[i], "start_timestamps.test") == 0 ? " or start timestamps" : "");
            for (size_t k = 0; k < r.nskip; k++)
                printf(" %d", r.skip_lines[k]);
            printf("\n");
            if (!r.file_has_hist && strcmp(files[i], "start_timestamps.test") != 0) {
                printf("    ERROR: a file without histogram data skipped evals\n");
                bad++;
            }
        }
        tp += r.passed;
        tf += r.failed;
        ts += r.skipped;
        free(files[i]);
    }
    free(files);
    printf("%d passed, %d failed, %d skipped\n", tp, tf, ts);
    if (r.verbose)
        fprintf(stderr, "extra checks: %d range-mode, %d @-invariance\n", r.range_checks,
                r.at_checks);
    r.pq->destroy(r.engine);
    r.mem->destroy(r.store);
    for (size_t i = 0; i < r.nhist; i++)
        lset_free(&r.hist[i]);
    free(r.hist);
    free(r.skip_lines);
    testhost_free(r.mem_host);
    testhost_free(r.pq_host);
    if (bad)
        fprintf(stderr, "%d malformed commands or skip-rule violations\n", bad);
    return tf > 0 || bad > 0 ? 1 : 0;
}
