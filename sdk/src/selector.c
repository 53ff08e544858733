/* sdk/src/selector.c — label matchers and the series-selector grammar shared by the HTTP
 * API (match[]), federation and the PromQL parser: `name{l="v", l2=~"re"}`, quoted
 * UTF-8 names (`{"my.metric", "a-b"="x"}`), Go-style string escapes. Error messages
 * follow Prometheus' wording and carry positions; nothing here keeps global state. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ignis/selector.h>
#include "base_internal.h"

/* ---- matchers ------------------------------------------------------------------------ */

bool ignis_matcher_matches(const struct ignis_matcher *m, const char *value, size_t len)
{
    if (!value)
        len = 0;
    switch (m->type) {
    case IGNIS_MATCH_EQ:
        return len == m->value_len && (len == 0 || memcmp(value, m->value, len) == 0);
    case IGNIS_MATCH_NE:
        return !(len == m->value_len && (len == 0 || memcmp(value, m->value, len) == 0));
    case IGNIS_MATCH_RE:
        return m->re && ignis_regex_match(m->re, value ? value : "", len);
    case IGNIS_MATCH_NRE:
        return m->re && !ignis_regex_match(m->re, value ? value : "", len);
    }
    return false;
}

bool ignis_matcher_matches_empty(const struct ignis_matcher *m)
{
    return ignis_matcher_matches(m, "", 0);
}

static char *copy_n(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    if (n)
        memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

int ignis_matcher_init(struct ignis_matcher *m, enum ignis_match_type type, const char *name,
                       size_t name_len, const char *value, size_t value_len, char *err,
                       size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (type > IGNIS_MATCH_NRE) {
        if (err && errlen)
            snprintf(err, errlen, "invalid match type %d", (int)type);
        return -1;
    }
    char *n = copy_n(name ? name : "", name ? name_len : 0);
    char *v = copy_n(value ? value : "", value ? value_len : 0);
    if (!n || !v) {
        free(n);
        free(v);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct ignis_regex *re = NULL;
    if (type == IGNIS_MATCH_RE || type == IGNIS_MATCH_NRE) {
        re = ignis_regex_compile(v, value ? value_len : 0, err, errlen);
        if (!re) {
            free(n);
            free(v);
            return -1;
        }
    }
    m->type = type;
    m->name = n;
    m->name_len = name ? name_len : 0;
    m->value = v;
    m->value_len = value ? value_len : 0;
    m->re = re;
    return 0;
}

void ignis_matcher_clear(struct ignis_matcher *m)
{
    if (!m)
        return;
    free((char *)m->name);
    free((char *)m->value);
    ignis_regex_free((struct ignis_regex *)m->re);
    memset(m, 0, sizeof *m);
}

bool ignis_selector_matches(const struct ignis_selector *sel, const struct ignis_label *ls,
                            size_t n)
{
    for (size_t i = 0; i < sel->n; i++) {
        const struct ignis_matcher *m = &sel->matchers[i];
        const struct ignis_label *l = ignis_labels_get(ls, n, m->name, m->name_len);
        if (!ignis_matcher_matches(m, l ? l->value : "", l ? l->value_len : 0))
            return false;
    }
    return true;
}

void ignis_selector_free(struct ignis_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++)
        ignis_matcher_clear(&sel->matchers[i]);
    free(sel->matchers);
    sel->matchers = NULL;
    sel->n = 0;
}

/* ---- the parser ---------------------------------------------------------------------- */

struct parser {
    const char *s;
    size_t len;
    size_t pos;
    size_t err_pos; /* offset of the first error */
    char msg[384];
    bool failed;
};

static int fail_at(struct parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    p->err_pos = at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_alnum_(char c)
{
    return is_alpha_(c) || (c >= '0' && c <= '9');
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && is_space(p->s[p->pos]))
        p->pos++;
}

/* Appends a code point as Go's %q writes it inside quotes (without the quotes). */
static size_t quote_cp(unsigned cp, char quote, char *o)
{
    switch (cp) {
    case '\a':
        return (size_t)sprintf(o, "\\a");
    case '\b':
        return (size_t)sprintf(o, "\\b");
    case '\f':
        return (size_t)sprintf(o, "\\f");
    case '\n':
        return (size_t)sprintf(o, "\\n");
    case '\r':
        return (size_t)sprintf(o, "\\r");
    case '\t':
        return (size_t)sprintf(o, "\\t");
    case '\v':
        return (size_t)sprintf(o, "\\v");
    case '\\':
        return (size_t)sprintf(o, "\\\\");
    default:
        break;
    }
    if (cp == (unsigned char)quote)
        return (size_t)sprintf(o, "\\%c", quote);
    if (cp < 0x20 || cp == 0x7f)
        return (size_t)sprintf(o, "\\x%02x", cp);
    if ((cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
        return (size_t)sprintf(o, cp > 0xffff ? "\\U%08x" : "\\u%04x", cp);
    return ig_utf8_encode(cp, o);
}

/* The code point at s[at] (U+FFFD for a byte that does not start valid UTF-8). */
static unsigned cp_at(const struct parser *p, size_t at, size_t *n)
{
    unsigned cp;
    size_t k = at < p->len ? ig_utf8_decode(p->s + at, p->len - at, &cp) : 0;
    if (k == 0) {
        cp = 0xfffd;
        k = 1;
    }
    if (n)
        *n = k;
    return cp;
}

/* Go's %q of one rune: 'x'. */
static const char *rune_q(const struct parser *p, size_t at, char *buf)
{
    size_t n = 0;
    buf[n++] = '\'';
    n += quote_cp(cp_at(p, at, NULL), '\'', buf + n);
    buf[n++] = '\'';
    buf[n] = '\0';
    return buf;
}

/* Go's %q of a string (invalid bytes as \xNN), cut with "..." when buf is too short. */
static const char *str_q(const char *s, size_t len, char *buf, size_t buflen)
{
    size_t n = 0, i = 0;
    buf[n++] = '"';
    /* one code point writes at most 10 bytes; keep room for `..."` and the NUL */
    while (i < len && n + 10 + 5 < buflen) {
        unsigned cp;
        size_t k = ig_utf8_decode(s + i, len - i, &cp);
        if (k == 0) {
            n += (size_t)sprintf(buf + n, "\\x%02x", (unsigned char)s[i]);
            i++;
            continue;
        }
        n += quote_cp(cp, '"', buf + n);
        i += k;
    }
    if (i < len)
        n += (size_t)sprintf(buf + n, "...");
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}

/* Describes the token at p->pos the way Prometheus' parser names tokens in "unexpected
 * X" messages: identifier "foo", string "\"x\"", "=", end of input. */
static const char *describe(const struct parser *p, size_t at, char *buf, size_t buflen)
{
    if (at >= p->len)
        return "end of input";
    char c = p->s[at];
    if (is_alpha_(c)) {
        size_t e = at;
        while (e < p->len && (is_alnum_(p->s[e]) || p->s[e] == ':'))
            e++;
        char q[192];
        snprintf(buf, buflen, "identifier %s", str_q(p->s + at, e - at, q, sizeof q));
        return buf;
    }
    if (c == '"' || c == '\'' || c == '`') {
        size_t e = at + 1;
        while (e < p->len && p->s[e] != c) {
            if (p->s[e] == '\\' && c != '`')
                e++;
            e++;
        }
        if (e < p->len)
            e++;
        if (e > p->len)
            e = p->len;
        char q[192];
        snprintf(buf, buflen, "string %s", str_q(p->s + at, e - at, q, sizeof q));
        return buf;
    }
    if ((c == '=' || c == '!') && at + 1 < p->len && (p->s[at + 1] == '~' || p->s[at + 1] == '=')) {
        if (c == '=' && p->s[at + 1] == '=') {
            snprintf(buf, buflen, "\"=\"");
            return buf;
        }
        snprintf(buf, buflen, "\"%c%c\"", c, p->s[at + 1]);
        return buf;
    }
    if (c == '"' || c == '\\') {
        snprintf(buf, buflen, "\"\\%c\"", c);
        return buf;
    }
    char r[16];
    rune_q(p, at, r);
    /* a single-character token, shown double-quoted as Prometheus does */
    r[0] = '"';
    r[strlen(r) - 1] = '"';
    snprintf(buf, buflen, "%s", r);
    return buf;
}

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

/* Go's %#U: U+0071 'q'. */
static const char *rune_U(const struct parser *p, size_t at, char *buf)
{
    char q[16];
    if (at >= p->len) {
        sprintf(buf, "end of input");
        return buf;
    }
    sprintf(buf, "U+%04X %s", cp_at(p, at, NULL), rune_q(p, at, q));
    return buf;
}

/* Reads a string token at p->pos ('"', '\'' or '`') into a malloc'd buffer. Escapes as
 * in Go and PromQL: \a \b \f \n \r \t \v \\, the quote itself, \NNN octal, \xHH,
 * \uHHHH, \UHHHHHHHH; backticks are raw. Double- and single-quoted strings end at the
 * line's end. */
static char *read_string(struct parser *p, size_t *out_len)
{
    size_t start = p->pos;
    char q = p->s[p->pos++];
    char *out = malloc(p->len - start + 1);
    size_t n = 0;
    char buf[48];
    if (!out) {
        fail_at(p, start, "out of memory");
        return NULL;
    }
    for (;;) {
        if (p->pos >= p->len || (q != '`' && p->s[p->pos] == '\n')) {
            fail_at(p, start, q == '`' ? "unterminated raw string" : "unterminated quoted string");
            goto bad;
        }
        char c = p->s[p->pos];
        if (c == q) {
            p->pos++;
            break;
        }
        if (c != '\\' || q == '`') {
            size_t k;
            unsigned cp;
            k = ig_utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
            if (k == 0) {
                fail_at(p, p->pos, "invalid UTF-8 rune");
                goto bad;
            }
            memcpy(out + n, p->s + p->pos, k);
            n += k;
            p->pos += k;
            continue;
        }
        size_t esc = p->pos++;
        if (p->pos >= p->len) {
            fail_at(p, esc, "escape sequence not terminated");
            goto bad;
        }
        char e = p->s[p->pos];
        int digits = 0, base = 0;
        unsigned long max = 0;
        switch (e) {
        case 'a':
            out[n++] = '\a';
            p->pos++;
            continue;
        case 'b':
            out[n++] = '\b';
            p->pos++;
            continue;
        case 'f':
            out[n++] = '\f';
            p->pos++;
            continue;
        case 'n':
            out[n++] = '\n';
            p->pos++;
            continue;
        case 'r':
            out[n++] = '\r';
            p->pos++;
            continue;
        case 't':
            out[n++] = '\t';
            p->pos++;
            continue;
        case 'v':
            out[n++] = '\v';
            p->pos++;
            continue;
        case '\\':
            out[n++] = '\\';
            p->pos++;
            continue;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
            digits = 3;
            base = 8;
            max = 255;
            break;
        case 'x':
            p->pos++;
            digits = 2;
            base = 16;
            max = 255;
            break;
        case 'u':
            p->pos++;
            digits = 4;
            base = 16;
            max = 0x10ffff;
            break;
        case 'U':
            p->pos++;
            digits = 8;
            base = 16;
            max = 0x10ffff;
            break;
        default:
            if (e == q) {
                out[n++] = q;
                p->pos++;
                continue;
            }
            fail_at(p, esc, "unknown escape sequence %s", rune_U(p, p->pos, buf));
            goto bad;
        }
        unsigned long v = 0;
        for (int d = 0; d < digits; d++) {
            if (p->pos >= p->len) {
                fail_at(p, esc, "escape sequence not terminated");
                goto bad;
            }
            int dv = hexdigit(p->s[p->pos]);
            if (dv >= base) {
                fail_at(p, p->pos, "illegal character %s in escape sequence",
                        rune_U(p, p->pos, buf));
                goto bad;
            }
            v = v * (unsigned long)base + (unsigned long)dv;
            p->pos++;
        }
        if (v > max || (v >= 0xd800 && v < 0xe000)) {
            fail_at(p, esc, "escape sequence is an invalid Unicode code point");
            goto bad;
        }
        if (e == 'u' || e == 'U')
            n += ig_utf8_encode((unsigned)v, out + n);
        else
            out[n++] = (char)v; /* a byte, as Go's \x and octal escapes give */
    }
    out[n] = '\0';
    *out_len = n;
    return out;
bad:
    free(out);
    return NULL;
}

/* Appends a matcher to out, taking ownership of nothing (everything is copied). */
static int add_matcher(struct parser *p, struct ignis_selector *out, size_t *cap,
                       enum ignis_match_type type, const char *name, size_t nlen, const char *value,
                       size_t vlen, size_t at, bool first)
{
    if (out->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        struct ignis_matcher *nm = realloc(out->matchers, nc * sizeof *nm);
        if (!nm)
            return fail_at(p, at, "out of memory");
        out->matchers = nm;
        *cap = nc;
    }
    struct ignis_matcher m;
    char err[320];
    if (ignis_matcher_init(&m, type, name, nlen, value, vlen, err, sizeof err) < 0)
        return fail_at(p, at, "%s", err);
    if (first) {
        memmove(out->matchers + 1, out->matchers, out->n * sizeof *out->matchers);
        out->matchers[0] = m;
    } else {
        out->matchers[out->n] = m;
    }
    out->n++;
    return 0;
}

/* Metric-name bookkeeping shared by the outer selector and the braces. */
struct name_state {
    const char *name;   /* the name given, borrowed from the matcher that holds it */
    bool given;         /* outside the braces or quoted inside them */
    size_t explicit_at; /* offset of an explicit __name__ matcher (+1), 0: none */
    char explicit_val[64];
};

static int name_twice(struct parser *p, size_t at, const char *a, size_t alen, const char *b,
                      size_t blen)
{
    char qa[160], qb[160];
    return fail_at(p, at, "metric name must not be set twice: %s or %s",
                   str_q(a, alen, qa, sizeof qa), str_q(b, blen, qb, sizeof qb));
}

static int expect_string_start(struct parser *p, const char *what)
{
    char d[256], r[16];
    skip_ws(p);
    if (p->pos >= p->len)
        return fail_at(p, p->pos, "unexpected end of input inside braces");
    char c = p->s[p->pos];
    if (c == '"' || c == '\'' || c == '`')
        return 0;
    if (!(is_alpha_(c) || c == '=' || c == '!' || c == ',' || c == '}' || c == '{'))
        return fail_at(p, p->pos, "unexpected character inside braces: %s", rune_q(p, p->pos, r));
    if (c == '{')
        return fail_at(p, p->pos, "unexpected left brace '{'");
    if (c == '!' && !(p->pos + 1 < p->len && (p->s[p->pos + 1] == '=' || p->s[p->pos + 1] == '~')))
        return fail_at(p, p->pos, "unexpected character after '!' inside braces: %s",
                       p->pos + 1 < p->len ? rune_q(p, p->pos + 1, r) : "end of input");
    return fail_at(p, p->pos, "unexpected %s in label matching, expected %s",
                   describe(p, p->pos, d, sizeof d), what);
}

/* Parses `{ ... }` at p->pos into out. ns tracks the metric name across the whole
 * selector; pre is how many matchers out held before (a name given outside). */
static int parse_braces(struct parser *p, struct ignis_selector *out, size_t *cap,
                        struct name_state *ns)
{
    char d[256], r[16];
    p->pos++; /* '{' */
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len)
            return fail_at(p, p->pos, "unexpected end of input inside braces");
        char c = p->s[p->pos];
        if (c == '}') {
            p->pos++;
            return 0;
        }
        size_t item = p->pos;
        char *lname = NULL;
        size_t llen = 0;
        bool quoted = false;
        if (is_alpha_(c)) {
            size_t e = p->pos;
            while (e < p->len && is_alnum_(p->s[e]))
                e++;
            lname = copy_n(p->s + p->pos, e - p->pos);
            if (!lname)
                return fail_at(p, item, "out of memory");
            llen = e - p->pos;
            p->pos = e;
        } else if (c == '"' || c == '\'' || c == '`') {
            lname = read_string(p, &llen);
            if (!lname)
                return -1;
            quoted = true;
        } else {
            expect_string_start(p, "identifier or \"}\""); /* says what is wrong here */
            return -1;
        }

        skip_ws(p);
        enum ignis_match_type type;
        if (p->pos < p->len && p->s[p->pos] == '=') {
            type = IGNIS_MATCH_EQ;
            p->pos++;
            if (p->pos < p->len && p->s[p->pos] == '~') {
                type = IGNIS_MATCH_RE;
                p->pos++;
            }
        } else if (p->pos + 1 < p->len && p->s[p->pos] == '!' &&
                   (p->s[p->pos + 1] == '=' || p->s[p->pos + 1] == '~')) {
            type = p->s[p->pos + 1] == '=' ? IGNIS_MATCH_NE : IGNIS_MATCH_NRE;
            p->pos += 2;
        } else if (quoted && p->pos < p->len && (p->s[p->pos] == ',' || p->s[p->pos] == '}')) {
            /* a quoted string alone: the metric name */
            int rc = 0;
            if (!ignis_utf8_valid(lname, llen)) {
                char q[160];
                rc = fail_at(p, item, "invalid metric name %s", str_q(lname, llen, q, sizeof q));
            } else if (ns->given) {
                rc = name_twice(p, item, ns->name, strlen(ns->name), lname, llen);
            } else if (ns->explicit_at) {
                rc = name_twice(p, item, lname, llen, ns->explicit_val, strlen(ns->explicit_val));
            } else {
                rc = add_matcher(p, out, cap, IGNIS_MATCH_EQ, IGNIS_METRIC_NAME,
                                 sizeof IGNIS_METRIC_NAME - 1, lname, llen, item, true);
                if (rc == 0) {
                    ns->given = true;
                    ns->name = out->matchers[0].value;
                }
            }
            free(lname);
            if (rc < 0)
                return -1;
            if (p->s[p->pos] == ',')
                p->pos++;
            continue;
        } else {
            free(lname);
            if (p->pos >= p->len)
                return fail_at(p, p->pos, "unexpected end of input inside braces");
            char cc = p->s[p->pos];
            if (cc == '!')
                return fail_at(p, p->pos, "unexpected character after '!' inside braces: %s",
                               p->pos + 1 < p->len ? rune_q(p, p->pos + 1, r) : "end of input");
            if (cc == '{')
                return fail_at(p, p->pos, "unexpected left brace '{'");
            if (!(is_alpha_(cc) || cc == '"' || cc == '\'' || cc == '`' || cc == ',' || cc == '}'))
                return fail_at(p, p->pos, "unexpected character inside braces: %s",
                               rune_q(p, p->pos, r));
            return fail_at(p, p->pos, "unexpected %s in label matching, expected %s",
                           describe(p, p->pos, d, sizeof d),
                           quoted ? "label matching operator, \",\" or \"}\""
                                  : "label matching operator");
        }

        if (expect_string_start(p, "string") < 0) {
            free(lname);
            return -1;
        }
        size_t vat = p->pos;
        size_t vlen;
        char *val = read_string(p, &vlen);
        if (!val) {
            free(lname);
            return -1;
        }
        int rc = 0;
        if (llen == 0 || !ignis_utf8_valid(lname, llen)) {
            char q[160];
            rc = fail_at(p, item, "invalid label name %s", str_q(lname, llen, q, sizeof q));
        } else if (llen == sizeof IGNIS_METRIC_NAME - 1 &&
                   memcmp(lname, IGNIS_METRIC_NAME, llen) == 0) {
            if (ns->given) {
                rc = name_twice(p, item, ns->name, strlen(ns->name), val, vlen);
            } else if (!ns->explicit_at) {
                ns->explicit_at = item + 1;
                size_t k = vlen < sizeof ns->explicit_val - 1 ? vlen : sizeof ns->explicit_val - 1;
                memcpy(ns->explicit_val, val, k);
                ns->explicit_val[k] = '\0';
            }
        }
        if (rc == 0)
            rc = add_matcher(p, out, cap, type, lname, llen, val, vlen, vat, false);
        free(lname);
        free(val);
        if (rc < 0)
            return -1;

        skip_ws(p);
        if (p->pos >= p->len)
            return fail_at(p, p->pos, "unexpected end of input inside braces");
        c = p->s[p->pos];
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == '}') {
            p->pos++;
            return 0;
        }
        if (!(is_alpha_(c) || c == '"' || c == '\'' || c == '`' || c == '=' || c == '!' ||
              c == '{'))
            return fail_at(p, p->pos, "unexpected character inside braces: %s",
                           rune_q(p, p->pos, r));
        if (c == '{')
            return fail_at(p, p->pos, "unexpected left brace '{'");
        return fail_at(p, p->pos, "unexpected %s in label matching, expected \",\" or \"}\"",
                       describe(p, p->pos, d, sizeof d));
    }
}

/* Removes the matchers a failed parse added. New matchers are the ones whose pointer
 * values are not among the saved ones (a quoted name may have been inserted first). */
static void rollback(struct ignis_selector *out, const struct ignis_matcher *saved, size_t n0)
{
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++) {
        bool old = false;
        for (size_t j = 0; j < n0 && !old; j++)
            old = out->matchers[i].name == saved[j].name;
        if (old)
            out->matchers[k++] = out->matchers[i];
        else
            ignis_matcher_clear(&out->matchers[i]);
    }
    out->n = k;
}

static void format_err(const struct parser *p, bool line_col, char *err, size_t errlen)
{
    if (!err || !errlen)
        return;
    if (!line_col) {
        snprintf(err, errlen, "at %zu: %s", p->err_pos, p->msg);
        return;
    }
    size_t line = 1, last_nl = 0;
    bool nl = false;
    for (size_t i = 0; i < p->err_pos && i < p->len; i++)
        if (p->s[i] == '\n') {
            line++;
            last_nl = i;
            nl = true;
        }
    size_t col = nl ? p->err_pos - last_nl : p->err_pos + 1;
    snprintf(err, errlen, "%zu:%zu: parse error: %s", line, col, p->msg);
}

int ignis_selector_parse_braces(const char *s, size_t len, size_t *pos, struct ignis_selector *out,
                                char *err, size_t errlen)
{
    struct parser p = {.s = s, .len = len, .pos = *pos};
    if (!s || p.pos >= len || s[p.pos] != '{') {
        fail_at(&p, p.pos, "expected \"{\"");
        format_err(&p, false, err, errlen);
        return -1;
    }
    size_t n0 = out->n, cap = out->n;
    struct ignis_matcher *saved = NULL;
    if (n0) {
        saved = malloc(n0 * sizeof *saved);
        if (!saved) {
            fail_at(&p, p.pos, "out of memory");
            format_err(&p, false, err, errlen);
            return -1;
        }
        memcpy(saved, out->matchers, n0 * sizeof *saved);
    }
    /* Matchers already in out mean the caller read a metric name before the braces. */
    struct name_state ns = {0};
    for (size_t i = 0; i < n0; i++)
        if (out->matchers[i].type == IGNIS_MATCH_EQ &&
            strcmp(out->matchers[i].name, IGNIS_METRIC_NAME) == 0) {
            ns.given = true;
            ns.name = out->matchers[i].value;
            break;
        }
    int rc = parse_braces(&p, out, &cap, &ns);
    if (rc < 0) {
        rollback(out, saved, n0);
        format_err(&p, false, err, errlen);
    } else {
        *pos = p.pos;
    }
    free(saved);
    return rc;
}

int ignis_selector_parse(const char *s, size_t len, struct ignis_selector *out, char *err,
                         size_t errlen)
{
    struct parser p = {.s = s ? s : "", .len = s ? len : 0};
    size_t cap = 0;
    struct name_state ns = {0};
    char d[256], r[16];
    out->matchers = NULL;
    out->n = 0;

    skip_ws(&p);
    size_t start = p.pos;
    if (p.pos >= p.len) {
        fail_at(&p, p.pos, "no expression found in input");
        goto fail;
    }
    char c = p.s[p.pos];
    if (is_alpha_(c) || c == ':') {
        size_t e = p.pos;
        while (e < p.len && (is_alnum_(p.s[e]) || p.s[e] == ':'))
            e++;
        if (add_matcher(&p, out, &cap, IGNIS_MATCH_EQ, IGNIS_METRIC_NAME,
                        sizeof IGNIS_METRIC_NAME - 1, p.s + p.pos, e - p.pos, p.pos, true) < 0)
            goto fail;
        ns.given = true;
        ns.name = out->matchers[0].value;
        p.pos = e;
        skip_ws(&p);
        if (p.pos < p.len && p.s[p.pos] == '{' && parse_braces(&p, out, &cap, &ns) < 0)
            goto fail;
    } else if (c == '{') {
        if (parse_braces(&p, out, &cap, &ns) < 0)
            goto fail;
    } else if (c == '}') {
        fail_at(&p, p.pos, "unexpected right brace '}'");
        goto fail;
    } else if (c == '"' || c == '\'' || c == '`') {
        fail_at(&p, p.pos, "unexpected %s, expected a series selector",
                describe(&p, p.pos, d, sizeof d));
        goto fail;
    } else {
        fail_at(&p, p.pos, "unexpected character: %s", rune_q(&p, p.pos, r));
        goto fail;
    }
    skip_ws(&p);
    if (p.pos < p.len) {
        char t = p.s[p.pos];
        if (is_alpha_(t) || t == '"' || t == '\'' || t == '`' || t == '{')
            fail_at(&p, p.pos, "unexpected %s",
                    t == '{' ? "left brace '{'" : describe(&p, p.pos, d, sizeof d));
        else if (t == '}')
            fail_at(&p, p.pos, "unexpected right brace '}'");
        else
            fail_at(&p, p.pos, "unexpected character: %s", rune_q(&p, p.pos, r));
        goto fail;
    }
    bool nonempty = false;
    for (size_t i = 0; i < out->n && !nonempty; i++)
        nonempty = !ignis_matcher_matches_empty(&out->matchers[i]);
    if (!nonempty) {
        fail_at(&p, start, "vector selector must contain at least one non-empty matcher");
        goto fail;
    }
    return 0;
fail:
    format_err(&p, true, err, errlen);
    ignis_selector_free(out);
    return -1;
}
