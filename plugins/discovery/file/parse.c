/* plugins/discovery/file/parse.c — reading file SD target files: a list of
 * {targets: [...], labels: {...}} in JSON (jansson) or YAML (libyaml), as Prometheus'
 * file_sd_config documents it, into target groups ready to emit. The rules of the
 * format follow what Prometheus accepts: JSON keys match case-insensitively and unknown
 * keys are ignored (Go's encoding/json); YAML is strict (unknown or repeated keys are
 * errors) and scalars of any type read as their text (yaml.v2). Pure: no host, no I/O. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <yaml.h>

#include "file_sd.h"

/* Chunks hold a file's strings and arrays; the first is small (most files are a few
 * groups), later ones double up to a cap that keeps waste bounded on big files. */
#define CHUNK_FIRST 4096
#define CHUNK_MAX   ((size_t)1 << 20)
/* Merge keys (<<) may nest; deeper than this is refused rather than followed. */
#define YAML_MERGE_DEPTH 8
/* Aliases let a small YAML file name a huge tree ("billion laughs"): nodes visited are
 * budgeted at this many per input byte (plus a floor), far above what any real file
 * sharing label maps by alias needs. */
#define YAML_VISITS_PER_BYTE 64
#define YAML_VISITS_MIN      4096
#define YAML_NULL_TAG        "tag:yaml.org,2002:null"

struct fsd_chunk {
    struct fsd_chunk *next;
    size_t cap, used;
    max_align_t data[];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void *falloc(struct fsd_file *f, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n == 0)
        n = sizeof(max_align_t);
    struct fsd_chunk *c = f->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = c ? (c->cap < CHUNK_MAX ? c->cap * 2 : CHUNK_MAX) : CHUNK_FIRST;
        if (cap < n)
            cap = n;
        struct fsd_chunk *nc = malloc(sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->cap = cap;
        nc->used = 0;
        nc->next = c;
        f->chunks = nc;
        c = nc;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static char *fstrdup(struct fsd_file *f, const char *s, size_t n)
{
    char *p = falloc(f, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void fsd_file_free(struct fsd_file *f)
{
    for (struct fsd_chunk *c = f->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(f->groups);
    memset(f, 0, sizeof *f);
}

int fsd_format_of(const char *path, enum fsd_format *fmt)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot)
        return -1;
    if (strcasecmp(dot, ".json") == 0)
        *fmt = FSD_JSON;
    else if (strcasecmp(dot, ".yml") == 0 || strcasecmp(dot, ".yaml") == 0)
        *fmt = FSD_YAML;
    else
        return -1;
    return 0;
}

bool fsd_pattern_valid(const char *p)
{
    static const char *const exts[] = {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"};
    size_t len = strlen(p);
    bool ext = false;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0] && !ext; i++) {
        size_t el = strlen(exts[i]);
        ext = len >= el && strcmp(p + len - el, exts[i]) == 0;
    }
    if (!ext)
        return false;
    const char *star = strchr(p, '*');
    if (!star)
        return true;
    /* one star, in the last path segment, before the extension */
    return !strchr(star + 1, '*') && !strchr(star + 1, '/');
}

/* ---- building groups ------------------------------------------------------------------ */

struct gbuild {
    struct ignis_label *labels; /* names and values already copied into the file */
    size_t nlabels, cap;
    const char **targets;
    size_t *tlens;
    size_t ntargets, tcap;
};

static int gb_label(struct gbuild *g, const char *n, size_t nl, const char *v, size_t vl)
{
    if (g->nlabels == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        struct ignis_label *ls = realloc(g->labels, cap * sizeof *ls);
        if (!ls)
            return -1;
        g->labels = ls;
        g->cap = cap;
    }
    g->labels[g->nlabels++] = (struct ignis_label){n, nl, v, vl};
    return 0;
}

static int gb_target(struct gbuild *g, const char *s, size_t len)
{
    if (g->ntargets == g->tcap) {
        size_t cap = g->tcap ? g->tcap * 2 : 8;
        const char **t = realloc(g->targets, cap * sizeof *t);
        if (!t)
            return -1;
        g->targets = t;
        size_t *tl = realloc(g->tlens, cap * sizeof *tl);
        if (!tl)
            return -1;
        g->tlens = tl;
        g->tcap = cap;
    }
    g->targets[g->ntargets] = s;
    g->tlens[g->ntargets++] = len;
    return 0;
}

static void gb_reset(struct gbuild *g)
{
    g->nlabels = 0;
    g->ntargets = 0;
}

static void gb_free(struct gbuild *g)
{
    free(g->labels);
    free(g->targets);
    free(g->tlens);
}

static int cmp_label_name(const void *pa, const void *pb)
{
    const struct ignis_label *a = pa, *b = pb;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    if (c)
        return c;
    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* Checks the built group's labels and appends it to f as group number idx. */
static int group_finish(struct fsd_file *f, size_t *gcap, struct gbuild *g, const char *path,
                        char *err, size_t errlen)
{
    size_t idx = f->ngroups;
    for (size_t i = 0; i < g->nlabels; i++) {
        const struct ignis_label *l = &g->labels[i];
        if (l->name_len == 0 || !ignis_utf8_valid(l->name, l->name_len)) {
            set_err(err, errlen, "target group %zu: \"%.*s\" is not a valid label name", idx,
                    (int)l->name_len, l->name);
            return -1;
        }
        if (!ignis_utf8_valid(l->value, l->value_len)) {
            set_err(err, errlen, "target group %zu: label %.*s: value is not valid UTF-8", idx,
                    (int)l->name_len, l->name);
            return -1;
        }
    }
    for (size_t i = 0; i < g->ntargets; i++) {
        if (!ignis_utf8_valid(g->targets[i], g->tlens[i])) {
            set_err(err, errlen, "target group %zu: target %zu is not valid UTF-8", idx, i);
            return -1;
        }
    }
    if (f->ngroups == *gcap) {
        size_t cap = *gcap ? *gcap * 2 : 4;
        struct fsd_group *gs = realloc(f->groups, cap * sizeof *gs);
        if (!gs)
            goto oom;
        f->groups = gs;
        *gcap = cap;
    }
    struct fsd_group *out = &f->groups[f->ngroups];
    memset(out, 0, sizeof *out);
    size_t plen = strlen(path);
    char num[24];
    int nn = snprintf(num, sizeof num, ":%zu", idx);
    out->source = falloc(f, plen + (size_t)nn + 1);
    if (!out->source)
        goto oom;
    memcpy(out->source, path, plen);
    memcpy(out->source + plen, num, (size_t)nn + 1);

    /* Labels, sorted, with __meta_filepath set last (it wins over a label of that name
     * in the file, as in Prometheus). A repeated name keeps the later value. */
    out->labels = falloc(f, (g->nlabels + 1) * sizeof *out->labels);
    if (!out->labels)
        goto oom;
    size_t n = 0;
    const size_t fpl = sizeof FSD_FILEPATH_LABEL - 1;
    for (size_t i = 0; i < g->nlabels; i++) {
        const struct ignis_label *l = &g->labels[i];
        if (l->name_len == fpl && memcmp(l->name, FSD_FILEPATH_LABEL, fpl) == 0)
            continue;
        out->labels[n++] = *l;
    }
    char *fp = fstrdup(f, path, plen);
    if (!fp)
        goto oom;
    out->labels[n++] = (struct ignis_label){FSD_FILEPATH_LABEL, fpl, fp, plen};
    qsort(out->labels, n, sizeof *out->labels, cmp_label_name);
    /* names are unique by now (JSON objects and YAML mappings were deduplicated); keep
     * the check so a set with a repeated name can never leave here */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && cmp_label_name(&out->labels[m - 1], &out->labels[i]) == 0)
            m--;
        out->labels[m++] = out->labels[i];
    }
    out->nlabels = m;

    out->ntargets = g->ntargets;
    if (g->ntargets) {
        out->tlabels = falloc(f, g->ntargets * sizeof *out->tlabels);
        out->tptrs = falloc(f, g->ntargets * sizeof *out->tptrs);
        out->tcounts = falloc(f, g->ntargets * sizeof *out->tcounts);
        if (!out->tlabels || !out->tptrs || !out->tcounts)
            goto oom;
        for (size_t i = 0; i < g->ntargets; i++) {
            out->tlabels[i] = (struct ignis_label){FSD_ADDRESS_LABEL, sizeof FSD_ADDRESS_LABEL - 1,
                                                   g->targets[i], g->tlens[i]};
            out->tptrs[i] = &out->tlabels[i];
            out->tcounts[i] = 1;
        }
    }
    f->ngroups++;
    f->ntargets += g->ntargets;
    return 0;
oom:
    set_err(err, errlen, "out of memory");
    return -1;
}

static int too_many(const struct fsd_file *f, const struct gbuild *g, size_t max, char *err,
                    size_t errlen)
{
    if (max && f->ntargets + g->ntargets >= max) {
        set_err(err, errlen, "more than %zu targets in one file", max);
        return -1;
    }
    return 0;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

static int json_group(struct fsd_file *f, size_t idx, json_t *obj, struct gbuild *g,
                      size_t max_targets, char *err, size_t errlen)
{
    if (json_is_null(obj)) {
        set_err(err, errlen, "target group %zu: nil target group item found", idx);
        return -1;
    }
    if (!json_is_object(obj)) {
        set_err(err, errlen, "target group %zu: expected an object, got %s", idx, json_kind(obj));
        return -1;
    }
    /* Go's encoding/json: keys match the fields case-insensitively, the last one wins,
     * and keys that match no field are ignored. */
    json_t *targets = NULL, *labels = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strcasecmp(key, "targets") == 0)
            targets = v;
        else if (strcasecmp(key, "labels") == 0)
            labels = v;
    }
    if (targets && !json_is_null(targets)) {
        if (!json_is_array(targets)) {
            set_err(err, errlen, "target group %zu: targets: expected a list, got %s", idx,
                    json_kind(targets));
            return -1;
        }
        size_t i;
        json_array_foreach(targets, i, v)
        {
            if (!json_is_string(v)) {
                set_err(err, errlen, "target group %zu: targets[%zu]: expected a string, got %s",
                        idx, i, json_kind(v));
                return -1;
            }
            if (too_many(f, g, max_targets, err, errlen) < 0)
                return -1;
            size_t len = json_string_length(v);
            char *s = fstrdup(f, json_string_value(v), len);
            if (!s || gb_target(g, s, len) < 0)
                goto oom;
        }
    }
    if (labels && !json_is_null(labels)) {
        if (!json_is_object(labels)) {
            set_err(err, errlen, "target group %zu: labels: expected an object, got %s", idx,
                    json_kind(labels));
            return -1;
        }
        json_object_foreach(labels, key, v)
        {
            const char *val = "";
            size_t vl = 0;
            if (json_is_string(v)) {
                val = json_string_value(v);
                vl = json_string_length(v);
            } else if (!json_is_null(v)) { /* null reads as "", as Go decodes it */
                set_err(err, errlen, "target group %zu: label %s: expected a string, got %s", idx,
                        key, json_kind(v));
                return -1;
            }
            size_t kl = strlen(key);
            char *k = fstrdup(f, key, kl);
            char *s = fstrdup(f, val, vl);
            if (!k || !s || gb_label(g, k, kl, s, vl) < 0)
                goto oom;
        }
    }
    return 0;
oom:
    set_err(err, errlen, "out of memory");
    return -1;
}

static int parse_json(const char *data, size_t len, const char *path, size_t max_targets,
                      struct fsd_file *f, char *err, size_t errlen)
{
    json_error_t je;
    /* DECODE_ANY: a bare `null` is an empty list, as Go decodes it into a slice */
    json_t *root = json_loadb(data, len, JSON_DECODE_ANY, &je);
    if (!root) {
        set_err(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
        return -1;
    }
    int rc = 0;
    if (json_is_null(root)) {
        json_decref(root);
        return 0;
    }
    if (!json_is_array(root)) {
        set_err(err, errlen, "expected a list of target groups, got %s", json_kind(root));
        json_decref(root);
        return -1;
    }
    struct gbuild g = {0};
    size_t gcap = 0, i;
    json_t *v;
    json_array_foreach(root, i, v)
    {
        gb_reset(&g);
        if ((rc = json_group(f, i, v, &g, max_targets, err, errlen)) < 0)
            break;
        if ((rc = group_finish(f, &gcap, &g, path, err, errlen)) < 0)
            break;
    }
    gb_free(&g);
    json_decref(root);
    return rc;
}

/* ---- YAML ------------------------------------------------------------------------------ */

struct yctx {
    yaml_document_t *doc;
    struct fsd_file *f;
    size_t budget; /* nodes that may still be visited */
    char *err;
    size_t errlen;
};

struct ypair {
    yaml_node_t *key, *value;
    size_t pos;    /* order of appearance, merged pairs after explicit ones */
    bool explicit; /* written in this mapping, not merged into it */
};

static size_t yline(const yaml_node_t *n)
{
    return n->start_mark.line + 1;
}

static bool yvisit(struct yctx *y, const yaml_node_t *n)
{
    if (y->budget == 0) {
        set_err(y->err, y->errlen,
                "line %zu: document too complex: its aliases expand to too many nodes", yline(n));
        return false;
    }
    y->budget--;
    return true;
}

static bool yis_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return false;
    if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
        return true;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    size_t l = n->data.scalar.length;
    return l == 0 || (l == 1 && s[0] == '~') ||
           (l == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static const char *ykind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    case YAML_SCALAR_NODE:
        return yis_null(n) ? "null" : "a scalar";
    default:
        return "nothing";
    }
}

static bool ykey_is(const yaml_node_t *k, const char *s)
{
    size_t l = strlen(s);
    return k->type == YAML_SCALAR_NODE && k->data.scalar.length == l &&
           memcmp(k->data.scalar.value, s, l) == 0;
}

static int ykey_cmp(const yaml_node_t *a, const yaml_node_t *b)
{
    size_t la = a->data.scalar.length, lb = b->data.scalar.length;
    int c = memcmp(a->data.scalar.value, b->data.scalar.value, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int ypair_cmp(const void *pa, const void *pb)
{
    const struct ypair *a = pa, *b = pb;
    int c = ykey_cmp(a->key, b->key);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

static bool yis_merge(const yaml_node_t *k)
{
    return k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ykey_is(k, "<<");
}

static int ypush(struct yctx *y, struct ypair **out, size_t *n, size_t *cap, struct ypair p)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct ypair *np = realloc(*out, nc * sizeof *np);
        if (!np) {
            set_err(y->err, y->errlen, "out of memory");
            return -1;
        }
        *out = np;
        *cap = nc;
    }
    p.pos = *n;
    (*out)[(*n)++] = p;
    return 0;
}

/* Appends a mapping's pairs to out with YAML 1.1 merge keys applied: a merged key
 * counts only when the mapping (or an earlier merge source) does not have it. A key
 * written twice is an error, as in yaml.v2's strict mode. Sorting keeps this
 * O(n log n) for mappings with many keys. */
static int ypairs(struct yctx *y, yaml_node_t *m, struct ypair **out, size_t *n, size_t *cap,
                  int depth)
{
    size_t first = *n;
    yaml_node_pair_t *ps = m->data.mapping.pairs.start, *pe = m->data.mapping.pairs.top;
    for (yaml_node_pair_t *p = ps; p < pe; p++) {
        yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        if (!k || !v) {
            set_err(y->err, y->errlen, "line %zu: broken mapping", yline(m));
            return -1;
        }
        if (!yvisit(y, k) || !yvisit(y, v))
            return -1;
        if (k->type != YAML_SCALAR_NODE) {
            set_err(y->err, y->errlen, "line %zu: a mapping key must be a scalar, got %s", yline(k),
                    ykind(k));
            return -1;
        }
        if (!yis_merge(k) && ypush(y, out, n, cap, (struct ypair){k, v, 0, true}) < 0)
            return -1;
    }
    for (yaml_node_pair_t *p = ps; p < pe; p++) {
        yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
        if (!yis_merge(k))
            continue;
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        if (depth >= YAML_MERGE_DEPTH) {
            set_err(y->err, y->errlen, "line %zu: merge keys nested too deeply", yline(k));
            return -1;
        }
        bool seq = v->type == YAML_SEQUENCE_NODE;
        size_t nsrc = seq ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start) : 1;
        for (size_t s = 0; s < nsrc; s++) {
            yaml_node_t *src =
                seq ? yaml_document_get_node(y->doc, v->data.sequence.items.start[s]) : v;
            if (!src || src->type != YAML_MAPPING_NODE) {
                set_err(y->err, y->errlen,
                        "line %zu: map merge requires map or sequence of maps as the value",
                        yline(v));
                return -1;
            }
            size_t before = *n;
            if (ypairs(y, src, out, n, cap, depth + 1) < 0)
                return -1;
            for (size_t i = before; i < *n; i++) {
                (*out)[i].explicit = false;
                (*out)[i].pos = i;
            }
        }
    }
    /* Sort by key, then by appearance: the first of equal keys is the one that counts. */
    size_t cnt = *n - first;
    if (cnt > 1)
        qsort(*out + first, cnt, sizeof **out, ypair_cmp);
    size_t w = first;
    for (size_t i = first; i < *n; i++) {
        struct ypair *cur = &(*out)[i];
        if (w > first && ykey_cmp((*out)[w - 1].key, cur->key) == 0) {
            if (cur->explicit) {
                const yaml_node_t *a = (*out)[w - 1].key, *b = cur->key;
                if (yline(a) > yline(b)) {
                    const yaml_node_t *t = a;
                    a = b;
                    b = t;
                }
                set_err(y->err, y->errlen,
                        "line %zu: mapping key \"%.*s\" already defined at line %zu", yline(b),
                        (int)b->data.scalar.length, (const char *)b->data.scalar.value, yline(a));
                return -1;
            }
            continue;
        }
        (*out)[w++] = *cur;
    }
    *n = w;
    return 0;
}

static const char *yscalar(struct yctx *y, const yaml_node_t *n, size_t *len)
{
    if (yis_null(n)) {
        *len = 0;
        return fstrdup(y->f, "", 0);
    }
    *len = n->data.scalar.length;
    return fstrdup(y->f, (const char *)n->data.scalar.value, *len);
}

static int yaml_group(struct yctx *y, size_t idx, yaml_node_t *gn, struct gbuild *g,
                      size_t max_targets)
{
    if (yis_null(gn)) {
        set_err(y->err, y->errlen, "line %zu: target group %zu: nil target group item found",
                yline(gn), idx);
        return -1;
    }
    if (gn->type != YAML_MAPPING_NODE) {
        set_err(y->err, y->errlen, "line %zu: target group %zu: expected a mapping, got %s",
                yline(gn), idx, ykind(gn));
        return -1;
    }
    struct ypair *ps = NULL;
    size_t np = 0, cap = 0;
    int rc = ypairs(y, gn, &ps, &np, &cap, 0);
    yaml_node_t *targets = NULL, *labels = NULL;
    for (size_t i = 0; rc == 0 && i < np; i++) {
        if (ykey_is(ps[i].key, "targets")) {
            targets = ps[i].value;
        } else if (ykey_is(ps[i].key, "labels")) {
            labels = ps[i].value;
        } else {
            set_err(y->err, y->errlen,
                    "line %zu: field %.*s not found in target group (it has targets and "
                    "labels)",
                    yline(ps[i].key), (int)ps[i].key->data.scalar.length,
                    (const char *)ps[i].key->data.scalar.value);
            rc = -1;
        }
    }
    if (rc == 0 && targets && !yis_null(targets)) {
        if (targets->type != YAML_SEQUENCE_NODE) {
            set_err(y->err, y->errlen, "line %zu: targets: expected a sequence, got %s",
                    yline(targets), ykind(targets));
            rc = -1;
        }
        for (yaml_node_item_t *it = rc ? NULL : targets->data.sequence.items.start;
             it && it < targets->data.sequence.items.top; it++) {
            yaml_node_t *t = yaml_document_get_node(y->doc, *it);
            if (!t || !yvisit(y, t)) {
                rc = -1;
                break;
            }
            if (t->type != YAML_SCALAR_NODE) {
                set_err(y->err, y->errlen, "line %zu: targets: expected a scalar, got %s", yline(t),
                        ykind(t));
                rc = -1;
                break;
            }
            if ((rc = too_many(y->f, g, max_targets, y->err, y->errlen)) < 0)
                break;
            size_t len;
            const char *s = yscalar(y, t, &len);
            if (!s || gb_target(g, s, len) < 0) {
                set_err(y->err, y->errlen, "out of memory");
                rc = -1;
            }
        }
    }
    free(ps);
    ps = NULL;
    np = cap = 0;
    if (rc == 0 && labels && !yis_null(labels)) {
        if (labels->type != YAML_MAPPING_NODE) {
            set_err(y->err, y->errlen, "line %zu: labels: expected a mapping, got %s",
                    yline(labels), ykind(labels));
            rc = -1;
        } else {
            rc = ypairs(y, labels, &ps, &np, &cap, 0);
        }
        for (size_t i = 0; rc == 0 && i < np; i++) {
            yaml_node_t *k = ps[i].key, *v = ps[i].value;
            if (v->type != YAML_SCALAR_NODE) {
                set_err(y->err, y->errlen, "line %zu: label %.*s: expected a scalar, got %s",
                        yline(v), (int)k->data.scalar.length, (const char *)k->data.scalar.value,
                        ykind(v));
                rc = -1;
                break;
            }
            size_t kl, vl;
            const char *ks = yscalar(y, k, &kl), *vs = yscalar(y, v, &vl);
            if (!ks || !vs || gb_label(g, ks, kl, vs, vl) < 0) {
                set_err(y->err, y->errlen, "out of memory");
                rc = -1;
            }
        }
    }
    free(ps);
    return rc;
}

static int parse_yaml(const char *data, size_t len, const char *path, size_t max_targets,
                      struct fsd_file *f, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    if (!yaml_parser_load(&p, &doc)) {
        if (p.error == YAML_READER_ERROR)
            set_err(err, errlen, "byte %zu: %s", p.problem_offset,
                    p.problem ? p.problem : "cannot read");
        else if (p.error == YAML_MEMORY_ERROR)
            set_err(err, errlen, "out of memory");
        else
            set_err(err, errlen, "line %zu column %zu: %s%s%s", (size_t)p.problem_mark.line + 1,
                    (size_t)p.problem_mark.column + 1, p.problem ? p.problem : "syntax error",
                    p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        return -1;
    }
    yaml_parser_delete(&p);
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || yis_null(root)) {
        yaml_document_delete(&doc);
        return 0;
    }
    if (root->type != YAML_SEQUENCE_NODE) {
        set_err(err, errlen, "line %zu: expected a sequence of target groups, got %s", yline(root),
                ykind(root));
        yaml_document_delete(&doc);
        return -1;
    }
    struct yctx y = {.doc = &doc,
                     .f = f,
                     .budget = len > (SIZE_MAX - YAML_VISITS_MIN) / YAML_VISITS_PER_BYTE
                                   ? SIZE_MAX
                                   : len * YAML_VISITS_PER_BYTE + YAML_VISITS_MIN,
                     .err = err,
                     .errlen = errlen};
    struct gbuild g = {0};
    size_t gcap = 0, idx = 0;
    for (yaml_node_item_t *it = root->data.sequence.items.start; it < root->data.sequence.items.top;
         it++, idx++) {
        yaml_node_t *gn = yaml_document_get_node(&doc, *it);
        if (!gn || !yvisit(&y, gn)) {
            rc = -1;
            break;
        }
        gb_reset(&g);
        if ((rc = yaml_group(&y, idx, gn, &g, max_targets)) < 0)
            break;
        if ((rc = group_finish(f, &gcap, &g, path, err, errlen)) < 0) {
            /* group_finish knows the group, not the line: add it */
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s", err);
            set_err(err, errlen, "line %zu: %s", yline(gn), tmp);
            break;
        }
    }
    gb_free(&g);
    yaml_document_delete(&doc);
    return rc;
}

int fsd_parse(enum fsd_format fmt, const char *data, size_t len, const char *path,
              size_t max_targets, struct fsd_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc;
    if (fmt == FSD_JSON) {
        rc = parse_json(data, len, path, max_targets, out, err, errlen);
    } else if (fmt == FSD_YAML) {
        rc = parse_yaml(data, len, path, max_targets, out, err, errlen);
    } else {
        set_err(err, errlen, "unknown file format");
        rc = -1;
    }
    if (rc < 0)
        fsd_file_free(out);
    return rc;
}
