/* core/relabel.c — compiling and applying Prometheus relabel rules (core/relabel.h).
 * The working label set is kept sorted in the caller's buffer and edited in place
 * (binary search, memmove: label sets are tens of pairs); new strings go to an arena of
 * blocks in the same buffer that is rewound, not freed, between calls. Behaviour follows
 * Prometheus' documentation of <relabel_config>, and where that is silent what
 * Prometheus 2.42 was observed to do (the cases are in tests/unit/core/test_relabel.c). */
#include <config.h>

#include "core/relabel.h"

#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include <openssl/evp.h>

#include <ignis/plugin.h>
#include <ignis/selector.h>

#define DEFAULT_SEPARATOR   ";"
#define DEFAULT_REGEX       "(.*)"
#define DEFAULT_REPLACEMENT "$1"

/* The arena's first block; later ones double. Big enough for a typical target's new
 * strings (instance, job, a few rewritten values) in one block. */
#define ARENA_FIRST_BLOCK 4096
/* Initial label capacity of the working arrays. */
#define LS_FIRST_CAP 32
/* A hashmod value printed in decimal: at most 20 digits. */
#define U64_DEC_MAX 21
/* Longest UTF-8 encoding of one code point, and of U+FFFD, which replaces a byte that
 * is not valid UTF-8 when lower/uppercasing, as Go's strings.Map does. */
#define UTF8_MAX             4
#define REPLACEMENT_CHAR_LEN 3

static const char *const action_names[] = {
    [IG_RELABEL_REPLACE] = "replace",     [IG_RELABEL_KEEP] = "keep",
    [IG_RELABEL_DROP] = "drop",           [IG_RELABEL_KEEPEQUAL] = "keepequal",
    [IG_RELABEL_DROPEQUAL] = "dropequal", [IG_RELABEL_HASHMOD] = "hashmod",
    [IG_RELABEL_LABELMAP] = "labelmap",   [IG_RELABEL_LABELDROP] = "labeldrop",
    [IG_RELABEL_LABELKEEP] = "labelkeep", [IG_RELABEL_LOWERCASE] = "lowercase",
    [IG_RELABEL_UPPERCASE] = "uppercase",
};
#define NACTIONS (sizeof action_names / sizeof action_names[0])

const char *ig_relabel_action_name(enum ig_relabel_action a)
{
    return (unsigned)a < NACTIONS ? action_names[a] : NULL;
}

int ig_relabel_action_parse(const char *s, enum ig_relabel_action *out)
{
    for (size_t i = 0; s && i < NACTIONS; i++) {
        if (strcmp(s, action_names[i]) == 0) {
            *out = (enum ig_relabel_action)i;
            return 0;
        }
    }
    return -1;
}

/* ---- compiled rules ------------------------------------------------------------------- */

struct str {
    char *p;
    size_t len;
};

struct rule {
    enum ig_relabel_action action;
    struct str *src;
    size_t nsrc;
    struct str sep;
    struct ignis_regex *re;
    uint64_t modulus;
    struct str target;
    struct str repl;
    size_t target_refs; /* '$' in target (replace only): 0 means a literal name */
    size_t repl_refs;   /* '$' in replacement: 0 means a literal value */
    bool identity;      /* regex (.*) and replacement $1: the value is the input */
};

struct ig_relabel {
    struct rule *rules;
    size_t n;
    enum ig_relabel_names names;
    EVP_MD *md; /* MD5, fetched once when a hashmod rule exists */
};

size_t ig_relabel_len(const struct ig_relabel *r)
{
    return r ? r->n : 0;
}

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

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Prometheus' check for a templated label name (replace's target_label, labelmap's
 * replacement): a run of letters, '_' and references $name / ${name}, then word
 * characters, repeated; so it starts with a letter, '_' or a reference, and every '$'
 * is followed by a name. */
static bool valid_name_template(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (size_t i = 0; s[i];) {
        if (s[i] == '$') {
            size_t j = i + 1;
            if (s[j] == '{') {
                size_t k = j + 1;
                while (is_word(s[k]))
                    k++;
                if (k == j + 1 || s[k] != '}')
                    return false;
                i = k + 1;
            } else {
                while (is_word(s[j]))
                    j++;
                if (j == i + 1)
                    return false;
                i = j;
            }
        } else if (is_word(s[i])) {
            i++;
        } else {
            return false;
        }
    }
    return true;
}

static bool name_valid(enum ig_relabel_names names, const char *s, size_t len)
{
    if (names == IG_RELABEL_NAMES_UTF8)
        return len > 0 && ignis_utf8_valid(s, len);
    return ignis_is_legacy_label_name(s, len);
}

static size_t count_dollars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '$';
    return n;
}

static int str_dup(struct str *d, const char *s)
{
    d->len = strlen(s);
    d->p = malloc(d->len + 1);
    if (!d->p)
        return -1;
    memcpy(d->p, s, d->len + 1);
    return 0;
}

static void rule_clear(struct rule *ru)
{
    for (size_t i = 0; i < ru->nsrc; i++)
        free(ru->src[i].p);
    free(ru->src);
    free(ru->sep.p);
    free(ru->target.p);
    free(ru->repl.p);
    ignis_regex_free(ru->re);
    memset(ru, 0, sizeof *ru);
}

/* Checks one spec as Prometheus' loader does and compiles it into ru. Messages are
 * Prometheus' own where it has one. */
static int rule_compile(struct rule *ru, const struct ig_relabel_spec *s,
                        enum ig_relabel_names names, char *err, size_t errlen)
{
    memset(ru, 0, sizeof *ru);
    const char *aname = ig_relabel_action_name(s->action);
    if (!aname) {
        set_err(err, errlen, "unknown relabel action %d", (int)s->action);
        return -1;
    }
    const char *sep = s->separator ? s->separator : DEFAULT_SEPARATOR;
    const char *rx = s->regex ? s->regex : DEFAULT_REGEX;
    const char *target = s->target_label ? s->target_label : "";
    const char *repl = s->replacement ? s->replacement : DEFAULT_REPLACEMENT;
    enum ig_relabel_action a = s->action;

    for (size_t i = 0; i < s->nsource_labels; i++) {
        const char *n = s->source_labels[i] ? s->source_labels[i] : "";
        if (!name_valid(names, n, strlen(n))) {
            set_err(err, errlen, "%s is not a valid label name in source_labels", n);
            return -1;
        }
    }
    if (a == IG_RELABEL_HASHMOD && s->modulus == 0) {
        set_err(err, errlen, "relabel configuration for hashmod requires non-zero modulus");
        return -1;
    }
    bool need_target = a == IG_RELABEL_REPLACE || a == IG_RELABEL_HASHMOD ||
                       a == IG_RELABEL_LOWERCASE || a == IG_RELABEL_UPPERCASE ||
                       a == IG_RELABEL_KEEPEQUAL || a == IG_RELABEL_DROPEQUAL;
    if (need_target && !*target) {
        set_err(err, errlen, "relabel configuration for %s action requires 'target_label' value",
                aname);
        return -1;
    }
    if (a == IG_RELABEL_REPLACE) {
        bool ok = names == IG_RELABEL_NAMES_UTF8
                      ? strchr(target, '$') || name_valid(names, target, strlen(target))
                      : valid_name_template(target);
        if (!ok) {
            set_err(err, errlen, "\"%s\" is invalid 'target_label' for %s action", target, aname);
            return -1;
        }
    } else if (need_target && !name_valid(names, target, strlen(target))) {
        set_err(err, errlen, "\"%s\" is invalid 'target_label' for %s action", target, aname);
        return -1;
    }
    if (a == IG_RELABEL_LABELMAP && names == IG_RELABEL_NAMES_LEGACY &&
        !valid_name_template(repl)) {
        set_err(err, errlen, "\"%s\" is invalid 'replacement' for %s action", repl, aname);
        return -1;
    }
    if ((a == IG_RELABEL_LABELDROP || a == IG_RELABEL_LABELKEEP) &&
        (s->nsource_labels || *target || s->modulus || strcmp(sep, DEFAULT_SEPARATOR) != 0 ||
         strcmp(repl, DEFAULT_REPLACEMENT) != 0)) {
        set_err(err, errlen, "%s action requires only 'regex', and no other fields", aname);
        return -1;
    }
    if ((a == IG_RELABEL_KEEPEQUAL || a == IG_RELABEL_DROPEQUAL) &&
        (strcmp(rx, DEFAULT_REGEX) != 0 || s->modulus || strcmp(sep, DEFAULT_SEPARATOR) != 0 ||
         strcmp(repl, DEFAULT_REPLACEMENT) != 0)) {
        set_err(err, errlen,
                "%s action requires only 'source_labels' and `target_label`, and no other "
                "fields",
                aname);
        return -1;
    }

    ru->action = a;
    ru->modulus = s->modulus;
    char rerr[256];
    ru->re = ignis_regex_compile(rx, strlen(rx), rerr, sizeof rerr);
    if (!ru->re) {
        set_err(err, errlen, "invalid regex \"%s\": %s", rx, rerr);
        return -1;
    }
    if (s->nsource_labels) {
        ru->src = calloc(s->nsource_labels, sizeof *ru->src);
        if (!ru->src)
            goto oom;
    }
    for (size_t i = 0; i < s->nsource_labels; i++) {
        if (str_dup(&ru->src[i], s->source_labels[i] ? s->source_labels[i] : "") < 0)
            goto oom;
        ru->nsrc++;
    }
    if (str_dup(&ru->sep, sep) < 0 || str_dup(&ru->target, target) < 0 ||
        str_dup(&ru->repl, repl) < 0)
        goto oom;
    ru->target_refs = a == IG_RELABEL_REPLACE ? count_dollars(target) : 0;
    ru->repl_refs = count_dollars(repl);
    ru->identity =
        strcmp(rx, DEFAULT_REGEX) == 0 && (strcmp(repl, "$1") == 0 || strcmp(repl, "${1}") == 0);
    return 0;
oom:
    set_err(err, errlen, "out of memory");
    rule_clear(ru);
    return -1;
}

static struct ig_relabel *relabel_alloc(size_t n, enum ig_relabel_names names)
{
    struct ig_relabel *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->names = names;
    if (n) {
        r->rules = calloc(n, sizeof *r->rules);
        if (!r->rules) {
            free(r);
            return NULL;
        }
    }
    return r;
}

/* Fetches MD5 once per compiled list (an implicit fetch on every digest would take a
 * lock and a lookup per hashmod). */
static int relabel_finish(struct ig_relabel *r, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->rules[i].action != IG_RELABEL_HASHMOD)
            continue;
        r->md = EVP_MD_fetch(NULL, "MD5", NULL);
        if (!r->md) {
            set_err(err, errlen, "hashmod: MD5 is not available from OpenSSL");
            return -1;
        }
        break;
    }
    return 0;
}

void ig_relabel_free(struct ig_relabel *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        rule_clear(&r->rules[i]);
    free(r->rules);
    EVP_MD_free(r->md);
    free(r);
}

struct ig_relabel *ig_relabel_new(const struct ig_relabel_spec *rules, size_t n,
                                  enum ig_relabel_names names, char *err, size_t errlen)
{
    struct ig_relabel *r = relabel_alloc(n, names);
    if (!r) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char e[512];
        if (rule_compile(&r->rules[i], &rules[i], names, e, sizeof e) < 0) {
            set_err(err, errlen, "rule %zu: %s", i + 1, e);
            ig_relabel_free(r);
            return NULL;
        }
        r->n++;
    }
    if (relabel_finish(r, err, errlen) < 0) {
        ig_relabel_free(r);
        return NULL;
    }
    return r;
}

/* Fills a spec from one element of a relabel list. Strings are borrowed from the view;
 * *srcs is a malloc'd array the caller frees. */
static int spec_from_view(const struct ignis_config *e, struct ig_relabel_spec *s,
                          const char ***srcs, const char **where, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    *srcs = NULL;
    *where = ignis_config_where(e, NULL);
    const char *action = ignis_config_string(e, "action");
    if (!action)
        action = "replace";
    if (ig_relabel_action_parse(action, &s->action) < 0) {
        *where = ignis_config_where(e, "action");
        set_err(err, errlen, "unknown relabel action \"%s\"", action);
        return -1;
    }
    int64_t mod = ignis_config_int(e, "modulus");
    if (mod < 0) {
        *where = ignis_config_where(e, "modulus");
        set_err(err, errlen, "modulus must not be negative");
        return -1;
    }
    s->modulus = (uint64_t)mod;
    size_t nsrc = ignis_config_count(e, "source_labels");
    if (nsrc) {
        *srcs = calloc(nsrc, sizeof **srcs);
        if (!*srcs) {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < nsrc; i++)
            (*srcs)[i] = ignis_config_string_at(e, "source_labels", i);
    }
    s->source_labels = *srcs;
    s->nsource_labels = nsrc;
    s->separator = ignis_config_string(e, "separator");
    const struct ignis_regex *re = ignis_config_regex(e, "regex");
    s->regex = re ? ignis_regex_source(re) : NULL;
    s->target_label = ignis_config_string(e, "target_label");
    s->replacement = ignis_config_string(e, "replacement");
    return 0;
}

struct ig_relabel *ig_relabel_from_config(const struct ignis_config *c, const char *key,
                                          enum ig_relabel_names names, char *err, size_t errlen)
{
    size_t n = c ? ignis_config_count(c, key) : 0;
    struct ig_relabel *r = relabel_alloc(n, names);
    if (!r) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ignis_config *e = ignis_config_at(c, key, i);
        struct ig_relabel_spec s;
        const char **srcs;
        const char *where;
        char e1[512];
        int rc = spec_from_view(e, &s, &srcs, &where, e1, sizeof e1);
        if (rc == 0)
            rc = rule_compile(&r->rules[i], &s, names, e1, sizeof e1);
        free(srcs);
        if (rc < 0) {
            if (where && *where)
                set_err(err, errlen, "%s: %s", where, e1);
            else
                set_err(err, errlen, "%s[%zu]: %s", key, i, e1);
            ig_relabel_free(r);
            return NULL;
        }
        r->n++;
    }
    if (relabel_finish(r, err, errlen) < 0) {
        ig_relabel_free(r);
        return NULL;
    }
    return r;
}

/* ---- the buffer ------------------------------------------------------------------------ */

struct ig_relabel_block {
    struct ig_relabel_block *next;
    size_t cap, used;
    char data[];
};

void ig_relabel_buf_init(struct ig_relabel_buf *b, size_t max_bytes)
{
    memset(b, 0, sizeof *b);
    b->max_bytes = max_bytes ? max_bytes : IG_RELABEL_BUF_MAX_DEFAULT;
}

void ig_relabel_buf_clear(struct ig_relabel_buf *b)
{
    free(b->ls);
    free(b->snap);
    free(b->join);
    for (struct ig_relabel_block *k = b->blocks, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    EVP_MD_CTX_free(b->md_ctx);
    ig_relabel_buf_init(b, b->max_bytes);
}

/* Grows a buffer-owned array to at least want elements of size sz (doubling). */
static int buf_grow(struct ig_relabel_buf *b, void **p, size_t *cap, size_t want, size_t sz,
                    size_t first)
{
    if (*cap >= want)
        return 0;
    size_t ncap = *cap ? *cap : first;
    while (ncap < want) {
        if (ncap > SIZE_MAX / 2 / sz)
            return IGNIS_E_LIMIT;
        ncap *= 2;
    }
    size_t add = (ncap - *cap) * sz;
    if (b->bytes + add > b->max_bytes || b->bytes + add < b->bytes)
        return IGNIS_E_LIMIT;
    void *np = realloc(*p, ncap * sz);
    if (!np)
        return IGNIS_E_NOMEM;
    *p = np;
    b->bytes += add;
    *cap = ncap;
    return 0;
}

/* Returns space for at least need bytes at the arena's end (not yet taken: arena_take
 * takes what was used). Strings already handed out never move. */
static char *arena_reserve(struct ig_relabel_buf *b, size_t need, int *rc)
{
    struct ig_relabel_block *k = b->cur;
    while (k && k->cap - k->used < need) {
        k = k->next;
        if (k)
            k->used = 0;
    }
    if (!k) {
        size_t cap = ARENA_FIRST_BLOCK;
        struct ig_relabel_block *last = b->blocks;
        while (last && last->next)
            last = last->next;
        if (last && last->cap <= SIZE_MAX / 4)
            cap = last->cap * 2;
        if (cap < need)
            cap = need;
        if (need > b->max_bytes || b->bytes + cap + sizeof *k > b->max_bytes) {
            *rc = IGNIS_E_LIMIT;
            return NULL;
        }
        k = malloc(sizeof *k + cap);
        if (!k) {
            *rc = IGNIS_E_NOMEM;
            return NULL;
        }
        k->next = NULL;
        k->cap = cap;
        k->used = 0;
        b->bytes += sizeof *k + cap;
        if (last)
            last->next = k;
        else
            b->blocks = k;
    }
    b->cur = k;
    return k->data + k->used;
}

static void arena_take(struct ig_relabel_buf *b, size_t n)
{
    b->cur->used += n;
}

static void arena_rewind(struct ig_relabel_buf *b)
{
    b->cur = b->blocks;
    if (b->cur)
        b->cur->used = 0;
}

/* Copies s into the arena. */
static const char *arena_copy(struct ig_relabel_buf *b, const char *s, size_t len, int *rc)
{
    char *p = arena_reserve(b, len + 1, rc);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    arena_take(b, len + 1);
    return p;
}

/* ---- the working label set ------------------------------------------------------------- */

static int name_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return na < nb ? -1 : (na > nb ? 1 : 0);
}

/* Index of name in the working set, or where it would go (*found false). */
static size_t ls_find(const struct ignis_label *ls, size_t n, const char *name, size_t len,
                      bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(ls[mid].name, ls[mid].name_len, name, len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Sets name to value in the working set; an empty value removes the label (Prometheus:
 * an empty label is the same as a missing one). Strings must outlive the call's result. */
static int ls_set(struct ig_relabel_buf *b, size_t *n, const char *name, size_t nlen,
                  const char *val, size_t vlen)
{
    bool found;
    size_t i = ls_find(b->ls, *n, name, nlen, &found);
    if (found) {
        if (vlen == 0) {
            memmove(&b->ls[i], &b->ls[i + 1], (*n - i - 1) * sizeof *b->ls);
            (*n)--;
        } else {
            b->ls[i].value = val;
            b->ls[i].value_len = vlen;
        }
        return 0;
    }
    if (vlen == 0)
        return 0;
    int rc = buf_grow(b, (void **)&b->ls, &b->ls_cap, *n + 1, sizeof *b->ls, LS_FIRST_CAP);
    if (rc < 0)
        return rc;
    memmove(&b->ls[i + 1], &b->ls[i], (*n - i) * sizeof *b->ls);
    b->ls[i] = (struct ignis_label){name, nlen, val, vlen};
    (*n)++;
    return 0;
}

static const char *ls_value(const struct ignis_label *ls, size_t n, const char *name, size_t len,
                            size_t *vlen)
{
    bool found;
    size_t i = ls_find(ls, n, name, len, &found);
    if (!found) {
        *vlen = 0;
        return "";
    }
    *vlen = ls[i].value_len;
    return ls[i].value ? ls[i].value : "";
}

/* The source labels' values joined by the separator (a missing label counts as the
 * empty string). With one source the value itself is returned, nothing copied; *in_join
 * tells whether the result lives in b->join (and must be copied before it is kept). */
static const char *join_sources(const struct rule *ru, struct ig_relabel_buf *b, size_t n,
                                size_t *len, bool *in_join, int *rc)
{
    *in_join = false;
    if (ru->nsrc == 0) {
        *len = 0;
        return "";
    }
    if (ru->nsrc == 1)
        return ls_value(b->ls, n, ru->src[0].p, ru->src[0].len, len);
    size_t total = ru->sep.len * (ru->nsrc - 1);
    for (size_t i = 0; i < ru->nsrc; i++) {
        size_t vl;
        ls_value(b->ls, n, ru->src[i].p, ru->src[i].len, &vl);
        total += vl;
    }
    if ((*rc = buf_grow(b, (void **)&b->join, &b->join_cap, total + 1, 1, 256)) < 0)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < ru->nsrc; i++) {
        if (i) {
            memcpy(b->join + o, ru->sep.p, ru->sep.len);
            o += ru->sep.len;
        }
        size_t vl;
        const char *v = ls_value(b->ls, n, ru->src[i].p, ru->src[i].len, &vl);
        if (vl)
            memcpy(b->join + o, v, vl);
        o += vl;
    }
    b->join[o] = '\0';
    *len = o;
    *in_join = true;
    return b->join;
}

/* Expands tmpl with the regex's groups on s into the arena. Returns the string (length
 * in *olen), or NULL: *rc 0 when the regex does not match, negative on error. The bound
 * is exact enough to need one pass: a reference expands to at most the subject, which
 * the regex layer may have widened by U+FFFD for bytes that are not UTF-8 (×3). */
static const char *expand(struct ig_relabel_buf *b, const struct ignis_regex *re, const char *s,
                          size_t len, const struct str *tmpl, size_t refs, size_t *olen, int *rc)
{
    *rc = 0;
    if (len > (SIZE_MAX / 4 - tmpl->len) / (refs ? refs : 1)) {
        *rc = IGNIS_E_LIMIT;
        return NULL;
    }
    size_t need = tmpl->len + refs * len * 3 + 1;
    char *p = arena_reserve(b, need, rc);
    if (!p)
        return NULL;
    long got = ignis_regex_replace(re, s, len, tmpl->p, p, need);
    if (got == -1)
        return NULL;
    if (got < 0) {
        *rc = IGNIS_E_LIMIT; /* cannot happen with the bound above */
        return NULL;
    }
    arena_take(b, (size_t)got + 1);
    *olen = (size_t)got;
    return p;
}

/* ---- case mapping ---------------------------------------------------------------------- */

/* Lower/upper-casing follows Go's strings.ToLower/ToUpper, which Prometheus uses: Unicode
 * simple case mappings, one code point to one. glibc's C.UTF-8 locale carries the same
 * mappings (towlower_l), so no table of our own is needed. Without that locale only
 * ASCII is mapped. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!utf8_locale)
        utf8_locale = newlocale(LC_CTYPE_MASK, "C.utf8", (locale_t)0);
}

/* Decodes one UTF-8 sequence (strict: no overlongs, surrogates or values past U+10FFFF).
 * Returns its length, or 0 when s does not start a valid one. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t k;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return k;
}

static size_t utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Writes the mapped string into the arena. */
static const char *map_case(struct ig_relabel_buf *b, const char *s, size_t len, bool upper,
                            size_t *olen, int *rc)
{
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = (unsigned char)s[i] < 0x80;
    if (!ascii && len > SIZE_MAX / REPLACEMENT_CHAR_LEN - 1) {
        *rc = IGNIS_E_LIMIT;
        return NULL;
    }
    /* A code point's partner is at most one byte longer (2 → 3 bytes); a bad byte
     * becomes U+FFFD (1 → 3 bytes). */
    size_t need = (ascii ? len : len * REPLACEMENT_CHAR_LEN) + 1;
    char *o = arena_reserve(b, need, rc);
    if (!o)
        return NULL;
    size_t n = 0;
    if (ascii) {
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            if (upper && c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            else if (!upper && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            o[n++] = c;
        }
    } else {
        pthread_once(&utf8_once, utf8_locale_init);
        const unsigned char *u = (const unsigned char *)s;
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t k = utf8_decode(u + i, len - i, &cp);
            if (!k) {
                cp = 0xfffd;
                k = 1;
            }
            i += k;
            uint32_t m = cp;
            if (utf8_locale)
                m = upper ? (uint32_t)towupper_l((wint_t)cp, utf8_locale)
                          : (uint32_t)towlower_l((wint_t)cp, utf8_locale);
            else if (upper && cp >= 'a' && cp <= 'z')
                m = cp - 'a' + 'A';
            else if (!upper && cp >= 'A' && cp <= 'Z')
                m = cp - 'A' + 'a';
            if (m > 0x10ffff || (m >= 0xd800 && m <= 0xdfff))
                m = cp;
            char tmp[UTF8_MAX];
            size_t el = utf8_encode(m, tmp);
            if (n + el + 1 > need) { /* cannot happen for Unicode's simple mappings */
                *rc = IGNIS_E_LIMIT;
                return NULL;
            }
            memcpy(o + n, tmp, el);
            n += el;
        }
    }
    o[n] = '\0';
    arena_take(b, n + 1);
    *olen = n;
    return o;
}

/* ---- hashmod --------------------------------------------------------------------------- */

/* Prometheus' hashmod: the MD5 of the joined value, its last 8 bytes read big-endian as
 * an unsigned 64-bit integer, modulo the modulus, written in decimal. */
static int hashmod(const struct ig_relabel *r, struct ig_relabel_buf *b, const char *s, size_t len,
                   uint64_t modulus, uint64_t *out)
{
    if (!b->md_ctx) {
        if (b->bytes + sizeof(void *) * 64 > b->max_bytes)
            return IGNIS_E_LIMIT;
        b->md_ctx = EVP_MD_CTX_new();
        if (!b->md_ctx)
            return IGNIS_E_NOMEM;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (!EVP_DigestInit_ex(b->md_ctx, r->md, NULL) || !EVP_DigestUpdate(b->md_ctx, s, len) ||
        !EVP_DigestFinal_ex(b->md_ctx, d, &dl) || dl != 16)
        return IGNIS_E_INVALID;
    uint64_t h = 0;
    for (unsigned i = 8; i < 16; i++)
        h = (h << 8) | d[i];
    *out = h % modulus;
    return 0;
}

/* ---- applying -------------------------------------------------------------------------- */

/* Keeps a value the rule computed: a joined value lives in b->join, which the next rule
 * overwrites, so it is copied; anything else already lives long enough. */
static const char *keep_value(struct ig_relabel_buf *b, const char *v, size_t len, bool in_join,
                              int *rc)
{
    return in_join ? arena_copy(b, v, len, rc) : v;
}

static int apply_replace(const struct ig_relabel *r, const struct rule *ru,
                         struct ig_relabel_buf *b, size_t *n, const char *val, size_t vlen,
                         bool in_join)
{
    int rc = 0;
    const char *tname = ru->target.p;
    size_t tlen = ru->target.len;
    if (ru->target_refs == 0 && ru->identity) {
        /* (.*) always matches and $1 is the whole value. */
        const char *v = keep_value(b, val, vlen, in_join, &rc);
        return v ? ls_set(b, n, tname, tlen, v, vlen) : rc;
    }
    if (ru->target_refs == 0 && ru->repl_refs == 0) {
        if (!ignis_regex_match(ru->re, val, vlen))
            return 0;
        return ls_set(b, n, tname, tlen, ru->repl.p, ru->repl.len);
    }
    if (ru->target_refs) {
        tname = expand(b, ru->re, val, vlen, &ru->target, ru->target_refs, &tlen, &rc);
        if (!tname)
            return rc; /* no match: nothing to do */
        if (!name_valid(r->names, tname, tlen))
            return 0;
    }
    size_t olen;
    const char *v;
    if (ru->repl_refs == 0) {
        if (!ru->target_refs && !ignis_regex_match(ru->re, val, vlen))
            return 0;
        v = ru->repl.p;
        olen = ru->repl.len;
    } else {
        v = expand(b, ru->re, val, vlen, &ru->repl, ru->repl_refs, &olen, &rc);
        if (!v)
            return rc;
    }
    return ls_set(b, n, tname, tlen, v, olen);
}

static int apply_labelmap(const struct ig_relabel *r, const struct rule *ru,
                          struct ig_relabel_buf *b, size_t *n)
{
    /* Every label is matched as the set stood before the rule: later writes of this
     * rule do not feed it. */
    int rc = buf_grow(b, (void **)&b->snap, &b->snap_cap, *n, sizeof *b->snap, LS_FIRST_CAP);
    if (rc < 0)
        return rc;
    size_t ns = *n;
    if (ns)
        memcpy(b->snap, b->ls, ns * sizeof *b->snap);
    for (size_t i = 0; i < ns; i++) {
        const struct ignis_label *l = &b->snap[i];
        if (!ignis_regex_match(ru->re, l->name, l->name_len))
            continue;
        size_t nl;
        const char *name;
        if (ru->repl_refs) {
            name = expand(b, ru->re, l->name, l->name_len, &ru->repl, ru->repl_refs, &nl, &rc);
            if (!name) {
                if (rc < 0)
                    return rc;
                continue;
            }
        } else {
            name = ru->repl.p;
            nl = ru->repl.len;
        }
        if (!name_valid(r->names, name, nl))
            continue;
        if ((rc = ls_set(b, n, name, nl, l->value, l->value_len)) < 0)
            return rc;
    }
    return 0;
}

static void apply_labelfilter(const struct rule *ru, struct ig_relabel_buf *b, size_t *n,
                              bool keep_matching)
{
    size_t o = 0;
    for (size_t i = 0; i < *n; i++) {
        bool m = ignis_regex_match(ru->re, b->ls[i].name, b->ls[i].name_len);
        if (m == keep_matching)
            b->ls[o++] = b->ls[i];
    }
    *n = o;
}

int ig_relabel_apply(const struct ig_relabel *r, const struct ignis_label *in, size_t n,
                     struct ig_relabel_buf *b, const struct ignis_label **out, size_t *nout)
{
    if (!r || r->n == 0) {
        *out = in;
        *nout = n;
        return IG_RELABEL_KEPT;
    }
    int rc = buf_grow(b, (void **)&b->ls, &b->ls_cap, n, sizeof *b->ls, LS_FIRST_CAP);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->ls, in, n * sizeof *b->ls);
    arena_rewind(b);

    for (size_t k = 0; k < r->n; k++) {
        const struct rule *ru = &r->rules[k];
        size_t vlen = 0;
        bool in_join = false;
        const char *val = "";
        if (ru->action != IG_RELABEL_LABELMAP && ru->action != IG_RELABEL_LABELDROP &&
            ru->action != IG_RELABEL_LABELKEEP) {
            rc = 0;
            val = join_sources(ru, b, n, &vlen, &in_join, &rc);
            if (!val)
                return rc;
        }
        switch (ru->action) {
        case IG_RELABEL_REPLACE:
            rc = apply_replace(r, ru, b, &n, val, vlen, in_join);
            break;
        case IG_RELABEL_KEEP:
            if (!ignis_regex_match(ru->re, val, vlen))
                return IG_RELABEL_DROPPED;
            break;
        case IG_RELABEL_DROP:
            if (ignis_regex_match(ru->re, val, vlen))
                return IG_RELABEL_DROPPED;
            break;
        case IG_RELABEL_KEEPEQUAL:
        case IG_RELABEL_DROPEQUAL: {
            size_t tl;
            const char *t = ls_value(b->ls, n, ru->target.p, ru->target.len, &tl);
            bool eq = tl == vlen && (vlen == 0 || memcmp(t, val, vlen) == 0);
            if (eq != (ru->action == IG_RELABEL_KEEPEQUAL))
                return IG_RELABEL_DROPPED;
            break;
        }
        case IG_RELABEL_HASHMOD: {
            uint64_t h;
            if ((rc = hashmod(r, b, val, vlen, ru->modulus, &h)) < 0)
                return rc;
            char *p = arena_reserve(b, U64_DEC_MAX, &rc);
            if (!p)
                return rc;
            int len = snprintf(p, U64_DEC_MAX, "%llu", (unsigned long long)h);
            arena_take(b, (size_t)len + 1);
            rc = ls_set(b, &n, ru->target.p, ru->target.len, p, (size_t)len);
            break;
        }
        case IG_RELABEL_LABELMAP:
            rc = apply_labelmap(r, ru, b, &n);
            break;
        case IG_RELABEL_LABELDROP:
            apply_labelfilter(ru, b, &n, false);
            break;
        case IG_RELABEL_LABELKEEP:
            apply_labelfilter(ru, b, &n, true);
            break;
        case IG_RELABEL_LOWERCASE:
        case IG_RELABEL_UPPERCASE: {
            size_t ol;
            const char *v = map_case(b, val, vlen, ru->action == IG_RELABEL_UPPERCASE, &ol, &rc);
            if (!v)
                return rc;
            rc = ls_set(b, &n, ru->target.p, ru->target.len, v, ol);
            break;
        }
        }
        if (rc < 0)
            return rc;
    }
    *out = b->ls;
    *nout = n;
    return IG_RELABEL_KEPT;
}
