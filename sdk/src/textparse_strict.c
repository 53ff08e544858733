/* sdk/src/textparse_strict.c — strict mode's rules beyond syntax. OpenMetrics 1.0: one
 * family per name, no clashing sample names, metadata before samples and never twice,
 * metrics and points not interleaved, timestamps not going backwards, the value rules of
 * counters, histograms, gauge histograms, summaries, infos and statesets, and where
 * exemplars may stand. 0.0.4: what `promtool check metrics` refuses (repeated HELP/TYPE,
 * TYPE after samples, repeated label names, non-numeric le/quantile). Only this mode
 * allocates (sets of names and metric groups), bounded by the body's size. */
#include "textparse_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A set of 64-bit hashes (open addressing, 0 marks an empty slot). A collision can only
 * make strict mode refuse a valid body, with odds near 2^-64 per pair. */
struct hset {
    uint64_t *v;
    size_t cap, n;
};

struct hpoint {
    bool open, has_ts, has_count, has_sum, has_gsum, neg_gsum, neg_bucket;
    uint64_t group;
    double ts, last_le, last_val, count, sum;
    int nb;
};

struct ig_tp_strict {
    /* OpenMetrics */
    struct hset fam_names, claimed, groups;
    bool fam_open, fam_has_type, fam_has_help, fam_has_unit, fam_has_samples;
    int fam_type;
    size_t unit_len;
    char *fam;
    size_t fam_len, fam_cap;
    bool has_group, grp_has_ts;
    uint64_t cur_group;
    double grp_ts;
    struct hpoint pt;
    /* 0.0.4 */
    struct hset helped, typed, sampled;
    /* scratch for labels and unescaped names */
    struct ignis_label *lbl;
    size_t lbl_cap;
    char *scr;
    size_t scr_cap;
};

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

static uint64_t fin(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

static bool hset_has(const struct hset *s, uint64_t h)
{
    if (!s->cap) {
        return false;
    }
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->v[i] == h) {
            return true;
        }
        if (!s->v[i]) {
            return false;
        }
    }
}

static int hset_add(struct hset *s, uint64_t h)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        uint64_t *nv = calloc(nc, sizeof *nv);
        if (!nv) {
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (s->v[i]) {
                size_t j = s->v[i] & (nc - 1);
                while (nv[j]) {
                    j = (j + 1) & (nc - 1);
                }
                nv[j] = s->v[i];
            }
        }
        free(s->v);
        s->v = nv;
        s->cap = nc;
    }
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->v[i] == h) {
            return 0;
        }
        if (!s->v[i]) {
            s->v[i] = h;
            s->n++;
            return 0;
        }
    }
}

static void hset_clear(struct hset *s)
{
    if (s->n) {
        memset(s->v, 0, s->cap * sizeof *s->v);
        s->n = 0;
    }
}

static void hset_free(struct hset *s)
{
    free(s->v);
    s->v = NULL;
    s->cap = s->n = 0;
}

void ig_tp_strict_free(struct ig_tp *p)
{
    struct ig_tp_strict *st = p->strict;
    if (!st) {
        return;
    }
    hset_free(&st->fam_names);
    hset_free(&st->claimed);
    hset_free(&st->groups);
    hset_free(&st->helped);
    hset_free(&st->typed);
    hset_free(&st->sampled);
    free(st->fam);
    free(st->lbl);
    free(st->scr);
    free(st);
    p->strict = NULL;
}

static struct ig_tp_strict *get(struct ig_tp *p)
{
    if (!p->strict) {
        p->strict = calloc(1, sizeof *p->strict);
        if (!p->strict) {
            ig_tp_fail(p, NULL, "out of memory");
        }
    }
    return p->strict;
}

static int oom(struct ig_tp *p)
{
    return ig_tp_fail(p, NULL, "out of memory");
}

/* Makes sure the scratch holds n bytes. */
static int scratch(struct ig_tp *p, struct ig_tp_strict *st, size_t n)
{
    if (st->scr_cap < n) {
        size_t nc = n < 256 ? 256 : n;
        char *ns = realloc(st->scr, nc);
        if (!ns) {
            return oom(p);
        }
        st->scr = ns;
        st->scr_cap = nc;
    }
    return 0;
}

/* The unescaped form of a name (into st->scr when it needs unescaping). */
static const char *plain_name(struct ig_tp *p, struct ig_tp_strict *st, const char *s, size_t n,
                              bool esc, size_t *len)
{
    if (!esc) {
        *len = n;
        return s;
    }
    if (scratch(p, st, n) < 0) {
        return NULL;
    }
    *len = ig_tp_unescape(s, n, st->scr);
    return st->scr;
}

/* ---- OpenMetrics families --------------------------------------------------------- */

static const uint8_t *claims_of(int type)
{
    static const uint8_t plain[] = {IG_SFX_NONE, 0xff};
    static const uint8_t counter[] = {IG_SFX_TOTAL, IG_SFX_CREATED, 0xff};
    static const uint8_t info[] = {IG_SFX_INFO, 0xff};
    static const uint8_t hist[] = {IG_SFX_BUCKET, IG_SFX_COUNT, IG_SFX_SUM, IG_SFX_CREATED, 0xff};
    static const uint8_t ghist[] = {IG_SFX_BUCKET, IG_SFX_GCOUNT, IG_SFX_GSUM, 0xff};
    static const uint8_t summary[] = {IG_SFX_NONE, IG_SFX_COUNT, IG_SFX_SUM, IG_SFX_CREATED, 0xff};
    switch (type) {
    case IGNIS_METRIC_COUNTER:
        return counter;
    case IGNIS_METRIC_INFO:
        return info;
    case IGNIS_METRIC_HISTOGRAM:
        return hist;
    case IGNIS_METRIC_GAUGEHISTOGRAM:
        return ghist;
    case IGNIS_METRIC_SUMMARY:
        return summary;
    }
    return plain;
}

static const char *const sfx_text[] = {
    [IG_SFX_NONE] = "",          [IG_SFX_TOTAL] = "_total", [IG_SFX_CREATED] = "_created",
    [IG_SFX_BUCKET] = "_bucket", [IG_SFX_COUNT] = "_count", [IG_SFX_SUM] = "_sum",
    [IG_SFX_GCOUNT] = "_gcount", [IG_SFX_GSUM] = "_gsum",   [IG_SFX_INFO] = "_info",
};

static uint64_t name_hash(const char *s, size_t n, int sfx)
{
    const char *t = sfx_text[sfx];
    return fin(fnv(fnv(FNV_INIT, s, n), t, strlen(t)));
}

/* Refuses a family whose possible sample names another family already used. */
static int check_claims(struct ig_tp *p, struct ig_tp_strict *st, int type)
{
    for (const uint8_t *c = claims_of(type); *c != 0xff; c++) {
        if (hset_has(&st->claimed, name_hash(st->fam, st->fam_len, *c))) {
            return ig_tp_fail(p, NULL,
                              "metric family %.*s clashes with an earlier family over "
                              "the sample name %.*s%s",
                              (int)st->fam_len, st->fam, (int)st->fam_len, st->fam, sfx_text[*c]);
        }
    }
    return 0;
}

static const char *hname(int type)
{
    return type == IGNIS_METRIC_GAUGEHISTOGRAM ? "gauge histogram" : "histogram";
}

static int point_check(struct ig_tp *p, struct ig_tp_strict *st)
{
    struct hpoint *pt = &st->pt;
    if (!pt->open) {
        return 0;
    }
    pt->open = false;
    const char *what = NULL;
    if (st->fam_type == IGNIS_METRIC_SUMMARY) {
        /* OpenMetrics 1.0: quantile values and _sum must not be negative. client_golang
         * writes both negative after negative observations (the textformat corpus); strict
         * mode takes that consistent form and refuses either one alone. */
        if (pt->has_sum && pt->sum < 0 && !pt->neg_bucket) {
            what = "has a negative _sum";
        } else if (pt->neg_bucket && !(pt->has_sum && pt->sum < 0)) {
            what = "has a negative quantile value";
        }
        if (what) {
            return ig_tp_fail(p, NULL, "summary %.*s: a point %s", (int)st->fam_len, st->fam, what);
        }
        return 0;
    }
    if (pt->nb == 0 || !(isinf(pt->last_le) && pt->last_le > 0)) {
        what = "has no +Inf bucket";
    } else if (pt->has_count && pt->count != pt->last_val) {
        what = "has a count that differs from its +Inf bucket";
    } else if ((pt->has_sum || pt->has_gsum) && !pt->has_count) {
        what = "has a sum but no count";
    } else if (pt->has_count && !pt->has_sum && !pt->has_gsum) {
        what = "has a count but no sum";
    } else if (pt->neg_bucket && pt->has_sum && pt->sum >= 0) {
        /* OpenMetrics 1.0 forbids a _sum beside negative buckets. client_golang writes one
         * anyway (the textformat corpus), and it is then negative whenever negative
         * observations dominate: that form is taken, as the spec takes a negative _gsum. */
        what = "has negative buckets and a non-negative _sum";
    } else if (!pt->neg_bucket && pt->has_sum && pt->sum < 0) {
        what = "has a negative _sum without negative buckets";
    } else if (!pt->neg_bucket && pt->neg_gsum) {
        what = "has a negative _gsum without negative buckets";
    }
    if (what) {
        return ig_tp_fail(p, NULL, "%s %.*s: a point %s", hname(st->fam_type), (int)st->fam_len,
                          st->fam, what);
    }
    return 0;
}

static int end_family(struct ig_tp *p, struct ig_tp_strict *st)
{
    if (!st->fam_open) {
        return 0;
    }
    if (point_check(p, st) < 0) {
        return -1;
    }
    if (hset_add(&st->fam_names, name_hash(st->fam, st->fam_len, IG_SFX_NONE)) < 0) {
        return oom(p);
    }
    for (const uint8_t *c = claims_of(st->fam_type); *c != 0xff; c++) {
        if (hset_add(&st->claimed, name_hash(st->fam, st->fam_len, *c)) < 0) {
            return oom(p);
        }
    }
    hset_clear(&st->groups);
    st->has_group = false;
    st->fam_open = false;
    return 0;
}

static int start_family(struct ig_tp *p, struct ig_tp_strict *st, const char *name, size_t n)
{
    if (st->fam_cap < n + 1) {
        char *nf = realloc(st->fam, n + 1);
        if (!nf) {
            return oom(p);
        }
        st->fam = nf;
        st->fam_cap = n + 1;
    }
    memcpy(st->fam, name, n);
    st->fam_len = n;
    st->fam_open = true;
    st->fam_has_type = st->fam_has_help = st->fam_has_unit = st->fam_has_samples = false;
    st->fam_type = IGNIS_METRIC_UNKNOWN;
    st->unit_len = 0;
    memset(&st->pt, 0, sizeof st->pt);
    if (hset_has(&st->fam_names, name_hash(name, n, IG_SFX_NONE))) {
        return ig_tp_fail(p, NULL,
                          "metric family %.*s appears twice (families must not be "
                          "interleaved)",
                          (int)n, name);
    }
    return check_claims(p, st, IGNIS_METRIC_UNKNOWN);
}

static bool unitless(int type)
{
    return type == IGNIS_METRIC_INFO || type == IGNIS_METRIC_STATESET;
}

static int om_meta(struct ig_tp *p, struct ig_tp_strict *st, enum ignis_textparse_entry kind)
{
    size_t n;
    const char *name = plain_name(p, st, p->meta_name, p->meta_len, p->meta_esc, &n);
    if (!name) {
        return -1;
    }
    static const char *const kinds[] = {
        [IGNIS_TP_TYPE] = "TYPE", [IGNIS_TP_HELP] = "HELP", [IGNIS_TP_UNIT] = "UNIT"};
    if (st->fam_open && st->fam_len == n && memcmp(st->fam, name, n) == 0) {
        bool seen = kind == IGNIS_TP_TYPE   ? st->fam_has_type
                    : kind == IGNIS_TP_HELP ? st->fam_has_help
                                            : st->fam_has_unit;
        if (st->fam_has_samples) {
            return ig_tp_fail(p, NULL, "# %s for %.*s after its samples", kinds[kind], (int)n,
                              name);
        }
        if (seen) {
            return ig_tp_fail(p, NULL, "repeated # %s for %.*s", kinds[kind], (int)n, name);
        }
    } else {
        /* name may live in st->scr; start_family copies it before anything reuses it */
        if (end_family(p, st) < 0 || start_family(p, st, name, n) < 0) {
            return -1;
        }
    }
    switch (kind) {
    case IGNIS_TP_TYPE:
        st->fam_has_type = true;
        st->fam_type = p->meta_type;
        if (check_claims(p, st, st->fam_type) < 0) {
            return -1;
        }
        break;
    case IGNIS_TP_HELP:
        st->fam_has_help = true;
        break;
    case IGNIS_TP_UNIT:
        st->fam_has_unit = true;
        st->unit_len = p->meta_unit_len;
        break;
    default:
        break;
    }
    if (st->unit_len && unitless(st->fam_type)) {
        return ig_tp_fail(p, NULL, "%s %.*s must not have a unit",
                          st->fam_type == IGNIS_METRIC_INFO ? "info" : "stateset", (int)st->fam_len,
                          st->fam);
    }
    return 0;
}

static int cmp_label(const void *a, const void *b)
{
    const struct ignis_label *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c) {
        return c;
    }
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* Cuts the sample's labels (sorted, without __name__) into st->lbl; refuses repeats.
 * Returns the count or -1. */
static int sorted_labels(struct ig_tp *p, struct ig_tp_strict *st)
{
    size_t need = (size_t)p->nlabels + 1;
    if (st->lbl_cap < need) {
        struct ignis_label *nl = realloc(st->lbl, need * sizeof *nl);
        if (!nl) {
            return oom(p);
        }
        st->lbl = nl;
        st->lbl_cap = need;
    }
    if (scratch(p, st, p->series_len + 1) < 0) {
        return -1;
    }
    int n = ig_tp_extract(p, p->lbl, p->lbl_len, p->name, p->name_len, true, st->lbl, need, st->scr,
                          st->scr_cap);
    if (n < 1) {
        return ig_tp_fail(p, p->series, "internal error extracting labels");
    }
    qsort(st->lbl + 1, (size_t)n - 1, sizeof *st->lbl, cmp_label);
    for (int i = 2; i < n; i++) {
        if (cmp_label(&st->lbl[i - 1], &st->lbl[i]) == 0) {
            return ig_tp_fail(p, p->series, "label %.*s appears twice", (int)st->lbl[i].name_len,
                              st->lbl[i].name);
        }
    }
    return n;
}

static const struct ignis_label *find(const struct ig_tp_strict *st, int n, const char *name,
                                      size_t len)
{
    for (int i = 1; i < n; i++) {
        if (st->lbl[i].name_len == len && memcmp(st->lbl[i].name, name, len) == 0) {
            return &st->lbl[i];
        }
    }
    return NULL;
}

static bool is_int(double v)
{
    return isfinite(v) && floor(v) == v;
}

/* The number in a le or quantile label, by the OpenMetrics grammar. */
static int label_number(struct ig_tp *p, const struct ignis_label *l, int flavor, double *v)
{
    if (ig_tp_parse_float(l->value, l->value_len, flavor, v) < 0) {
        return ig_tp_fail(p, p->series, "label %.*s=\"%.*s\" is not a number", (int)l->name_len,
                          l->name, (int)l->value_len, l->value);
    }
    return 0;
}

static int om_series(struct ig_tp *p, struct ig_tp_strict *st)
{
    size_t nlen;
    const char *name = plain_name(p, st, p->name, p->name_len, p->name_esc, &nlen);
    if (!name) {
        return -1;
    }
    int sfx = -1;
    if (st->fam_open) {
        sfx = ig_tp_suffix_of(p->format, st->fam_type, name, nlen, st->fam, st->fam_len);
    }
    if (sfx < 0) {
        if (end_family(p, st) < 0 || start_family(p, st, name, nlen) < 0) {
            return -1;
        }
        sfx = IG_SFX_NONE;
    }
    st->fam_has_samples = true;
    const int type = st->fam_type;
    const double v = p->value;
    int n = sorted_labels(p, st);
    if (n < 0) {
        return -1;
    }
    const char *fam = st->fam;
    const int flen = (int)st->fam_len;
    const struct ignis_label *skip = NULL;

    switch (type) {
    case IGNIS_METRIC_COUNTER:
        if (sfx == IG_SFX_TOTAL && (isnan(v) || v < 0)) {
            return ig_tp_fail(p, p->series, "counter %.*s: value must be a non-negative number",
                              flen, fam);
        }
        break;
    case IGNIS_METRIC_HISTOGRAM:
    case IGNIS_METRIC_GAUGEHISTOGRAM:
        if (sfx == IG_SFX_BUCKET) {
            const struct ignis_label *le = find(st, n, "le", 2);
            double b;
            if (!le) {
                return ig_tp_fail(p, p->series, "%s %.*s: bucket without le label",
                                  hname(st->fam_type), flen, fam);
            }
            if (label_number(p, le, IG_NUM_OM_STRICT, &b) < 0) {
                return -1;
            }
            if (isnan(b) || (isinf(b) && !(le->value_len == 4 && !memcmp(le->value, "+Inf", 4)))) {
                return ig_tp_fail(p, p->series,
                                  "%s %.*s: le must be a number, +Inf "
                                  "written as \"+Inf\"",
                                  hname(st->fam_type), flen, fam);
            }
            if (isnan(v) || v < 0 || !is_int(v)) {
                return ig_tp_fail(p, p->series,
                                  "%s %.*s: bucket values must be "
                                  "non-negative integers",
                                  hname(st->fam_type), flen, fam);
            }
            skip = le;
        } else if (sfx == IG_SFX_COUNT || sfx == IG_SFX_GCOUNT) {
            if (isnan(v) || v < 0 || !is_int(v)) {
                return ig_tp_fail(p, p->series,
                                  "%s %.*s: count must be a non-negative "
                                  "integer",
                                  hname(st->fam_type), flen, fam);
            }
        } else if (sfx == IG_SFX_SUM && isnan(v)) {
            return ig_tp_fail(p, p->series, "%s %.*s: _sum must not be NaN", hname(st->fam_type),
                              flen, fam);
        } else if (sfx == IG_SFX_GSUM && isnan(v)) {
            return ig_tp_fail(p, p->series, "gauge histogram %.*s: _gsum must not be NaN", flen,
                              fam);
        }
        break;
    case IGNIS_METRIC_SUMMARY:
        if (sfx == IG_SFX_NONE) {
            const struct ignis_label *q = find(st, n, "quantile", 8);
            double qv;
            if (!q) {
                return ig_tp_fail(p, p->series, "summary %.*s: quantile label missing", flen, fam);
            }
            if (label_number(p, q, IG_NUM_OM_STRICT, &qv) < 0) {
                return -1;
            }
            if (!(qv >= 0 && qv <= 1)) {
                return ig_tp_fail(p, p->series, "summary %.*s: quantile must be within [0, 1]",
                                  flen, fam);
            }
            skip = q;
        } else if (sfx == IG_SFX_SUM && isnan(v)) {
            return ig_tp_fail(p, p->series, "summary %.*s: _sum must not be NaN", flen, fam);
        } else if (sfx == IG_SFX_COUNT && (isnan(v) || v < 0 || !is_int(v))) {
            return ig_tp_fail(p, p->series,
                              "summary %.*s: _count must be a non-negative "
                              "integer",
                              flen, fam);
        }
        break;
    case IGNIS_METRIC_INFO:
        if (v != 1) {
            return ig_tp_fail(p, p->series, "info %.*s: value must be 1", flen, fam);
        }
        break;
    case IGNIS_METRIC_STATESET:
        if (v != 0 && v != 1) {
            return ig_tp_fail(p, p->series, "stateset %.*s: value must be 0 or 1", flen, fam);
        }
        skip = find(st, n, fam, st->fam_len);
        if (!skip) {
            return ig_tp_fail(p, p->series, "stateset %.*s: label %.*s missing", flen, fam, flen,
                              fam);
        }
        break;
    default:
        break;
    }

    if (p->has_ex) {
        bool ok = (type == IGNIS_METRIC_COUNTER && sfx == IG_SFX_TOTAL) ||
                  ((type == IGNIS_METRIC_HISTOGRAM || type == IGNIS_METRIC_GAUGEHISTOGRAM) &&
                   sfx == IG_SFX_BUCKET);
        if (!ok) {
            return ig_tp_fail(p, p->ex_lbl,
                              "exemplars are only allowed on counter _total and "
                              "histogram _bucket samples");
        }
    }

    /* The metric group: labels without the one that tells the points' values apart. */
    uint64_t g = 0x9e3779b97f4a7c15ULL;
    if (type != IGNIS_METRIC_INFO) {
        uint64_t h = FNV_INIT;
        for (int i = 1; i < n; i++) {
            if (&st->lbl[i] == skip) {
                continue;
            }
            h = fnv(h, st->lbl[i].name, st->lbl[i].name_len);
            h = fnv(h, "\xff", 1);
            h = fnv(h, st->lbl[i].value, st->lbl[i].value_len);
            h = fnv(h, "\xfe", 1);
        }
        g = fin(h);
    }
    if (st->has_group && g != st->cur_group && hset_has(&st->groups, g)) {
        return ig_tp_fail(p, p->series,
                          "metric family %.*s: samples of one metric are not "
                          "together (interleaved)",
                          flen, fam);
    }
    if (st->has_group && g == st->cur_group) {
        if (st->grp_has_ts != (p->has_ts != 0)) {
            return ig_tp_fail(p, p->series,
                              "metric family %.*s: some samples of a metric have "
                              "timestamps and some do not",
                              flen, fam);
        }
        if (p->has_ts && st->grp_ts > p->ts_sec && type != IGNIS_METRIC_INFO) {
            return ig_tp_fail(p, p->series, "metric family %.*s: timestamps go backwards", flen,
                              fam);
        }
    }
    if (hset_add(&st->groups, g) < 0) {
        return oom(p);
    }
    st->has_group = true;
    st->cur_group = g;
    st->grp_has_ts = p->has_ts;
    st->grp_ts = p->has_ts ? p->ts_sec : 0;

    if (type == IGNIS_METRIC_HISTOGRAM || type == IGNIS_METRIC_GAUGEHISTOGRAM ||
        type == IGNIS_METRIC_SUMMARY) {
        struct hpoint *pt = &st->pt;
        double ts = p->has_ts ? p->ts_sec : 0;
        if (pt->open && (pt->group != g || pt->has_ts != (p->has_ts != 0) || pt->ts != ts)) {
            if (point_check(p, st) < 0) {
                return -1;
            }
        }
        if (!pt->open) {
            memset(pt, 0, sizeof *pt);
            pt->open = true;
            pt->group = g;
            pt->has_ts = p->has_ts;
            pt->ts = ts;
        }
        if (type == IGNIS_METRIC_SUMMARY) {
            if (sfx == IG_SFX_NONE && v < 0) {
                pt->neg_bucket = true; /* for summaries: a negative quantile value */
            } else if (sfx == IG_SFX_SUM) {
                pt->has_sum = true;
                pt->sum = v;
            }
            return 0;
        }
        switch (sfx) {
        case IG_SFX_BUCKET: {
            double b;
            ig_tp_parse_float(skip->value, skip->value_len, IG_NUM_OM_STRICT, &b);
            if (b < 0) {
                pt->neg_bucket = true;
            }
            if (pt->nb && b <= pt->last_le) {
                return ig_tp_fail(p, p->series,
                                  "%s %.*s: buckets must be in increasing "
                                  "order of le",
                                  hname(st->fam_type), flen, fam);
            }
            if (pt->nb && v < pt->last_val) {
                return ig_tp_fail(p, p->series,
                                  "%s %.*s: bucket values must not "
                                  "decrease (buckets are cumulative)",
                                  hname(st->fam_type), flen, fam);
            }
            pt->nb++;
            pt->last_le = b;
            pt->last_val = v;
            break;
        }
        case IG_SFX_COUNT:
        case IG_SFX_GCOUNT:
            pt->has_count = true;
            pt->count = v;
            break;
        case IG_SFX_SUM:
            pt->has_sum = true;
            pt->sum = v;
            break;
        case IG_SFX_GSUM:
            pt->has_gsum = true;
            if (v < 0) {
                pt->neg_gsum = true;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

/* ---- 0.0.4 --------------------------------------------------------------------------- */

static int p004_meta(struct ig_tp *p, struct ig_tp_strict *st, enum ignis_textparse_entry kind)
{
    uint64_t h = name_hash(p->meta_name, p->meta_len, IG_SFX_NONE);
    const int n = (int)p->meta_len;
    if (kind == IGNIS_TP_HELP) {
        if (hset_has(&st->helped, h)) {
            return ig_tp_fail(p, NULL, "second HELP line for %.*s", n, p->meta_name);
        }
        return hset_add(&st->helped, h) < 0 ? oom(p) : 0;
    }
    if (hset_has(&st->typed, h)) {
        return ig_tp_fail(p, NULL, "second TYPE line for %.*s", n, p->meta_name);
    }
    if (hset_has(&st->sampled, h)) {
        return ig_tp_fail(p, NULL, "TYPE line for %.*s after its samples", n, p->meta_name);
    }
    return hset_add(&st->typed, h) < 0 ? oom(p) : 0;
}

static int p004_series(struct ig_tp *p, struct ig_tp_strict *st)
{
    const char *fam = p->in_family ? p->meta_name : p->name;
    size_t flen = p->in_family ? p->meta_len : p->name_len;
    if (hset_add(&st->sampled, name_hash(fam, flen, IG_SFX_NONE)) < 0) {
        return oom(p);
    }
    int n = sorted_labels(p, st);
    if (n < 0) {
        return -1;
    }
    if (p->in_family) {
        const struct ignis_label *l = NULL;
        if (p->meta_type == IGNIS_METRIC_SUMMARY && p->suffix == IG_SFX_NONE) {
            l = find(st, n, "quantile", 8);
        } else if (p->meta_type == IGNIS_METRIC_HISTOGRAM && p->suffix == IG_SFX_BUCKET) {
            l = find(st, n, "le", 2);
        }
        double v;
        if (l && label_number(p, l, IG_NUM_GO, &v) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- entry points -------------------------------------------------------------------- */

int ig_tp_strict_meta(struct ig_tp *p, enum ignis_textparse_entry kind, const char *at)
{
    (void)at;
    struct ig_tp_strict *st = get(p);
    if (!st) {
        return -1;
    }
    return p->format == IGNIS_TEXTPARSE_OPENMETRICS ? om_meta(p, st, kind) : p004_meta(p, st, kind);
}

int ig_tp_strict_series(struct ig_tp *p)
{
    struct ig_tp_strict *st = get(p);
    if (!st) {
        return -1;
    }
    return p->format == IGNIS_TEXTPARSE_OPENMETRICS ? om_series(p, st) : p004_series(p, st);
}

int ig_tp_strict_end(struct ig_tp *p)
{
    if (p->format != IGNIS_TEXTPARSE_OPENMETRICS) {
        return 0;
    }
    struct ig_tp_strict *st = get(p);
    if (!st) {
        return -1;
    }
    return end_family(p, st);
}
