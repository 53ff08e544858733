/* plugins/query/promql/parse.c — PromQL lexer and recursive-descent parser, written from
 * Prometheus' querying documentation (basics.md, operators.md, functions.md,
 * feature_flags.md). Builds the tree of ast.h and type-checks it; errors carry the
 * position and the wording Prometheus uses ("1:5: parse error: ..."). The `{...}` part
 * of selectors is parsed by libignis (ignis_selector_parse_braces), so the API's
 * match[] and PromQL share one grammar. Never evaluates anything. */
#include "ast.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nesting bound, so hostile input cannot exhaust the stack (Prometheus has none; real
 * queries stay far below it). */
#define PQ_MAX_DEPTH 256
/* Upper bound on the tree's memory, so one query cannot take the process' memory. */
#define PQ_MAX_ARENA (64u << 20)

struct parser {
    const char *s;
    size_t len;
    size_t pos;          /* lexer position */
    int brackets;        /* lexer: inside [ ... ]: ':' separates, identifiers have no ':' */
    int parens;          /* lexer: open ( not yet closed */
    bool colon;          /* lexer: a ':' was seen in the current [ ... ] */
    const char *dur_ctx; /* "offset" or "duration": where a duration is being read */
    struct pq_token la[3];
    int nla;
    const struct pq_features *feat;
    struct pq_expr *e;
    bool failed;
    char *err;
    size_t errlen;
    int depth;
};

static void *fail_at(struct parser *p, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void *fail_at(struct parser *p, uint32_t pos, const char *fmt, ...)
{
    if (p->failed)
        return NULL;
    p->failed = true;
    char where[32];
    pq_pos_str(p->s, p->len, pos, where, sizeof where);
    int n = snprintf(p->err, p->errlen, "%s: parse error: ", where);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static void *oom(struct parser *p)
{
    return fail_at(p, 0, "out of memory");
}

static void *alloc(struct parser *p, size_t n)
{
    if (p->e->arena.total + n > PQ_MAX_ARENA)
        return fail_at(p, 0, "query too large");
    void *r = pq_alloc(&p->e->arena, n);
    if (!r)
        return oom(p);
    return r;
}

/* ---- lexer ------------------------------------------------------------------------ */

static const struct {
    const char *word;
    enum pq_tok tok;
} keywords[] = {
    {"and", TK_LAND},
    {"or", TK_LOR},
    {"unless", TK_LUNLESS},
    {"atan2", TK_ATAN2},
    {"bool", TK_BOOL},
    {"by", TK_BY},
    {"group_left", TK_GROUP_LEFT},
    {"group_right", TK_GROUP_RIGHT},
    {"ignoring", TK_IGNORING},
    {"offset", TK_OFFSET},
    {"on", TK_ON},
    {"without", TK_WITHOUT},
    {"start", TK_START},
    {"end", TK_END},
    {"step", TK_STEP},
    {"range", TK_RANGE},
    {"anchored", TK_ANCHORED},
    {"smoothed", TK_SMOOTHED},
    {"fill", TK_FILL},
    {"fill_left", TK_FILL_LEFT},
    {"fill_right", TK_FILL_RIGHT},
    {"sum", TK_SUM},
    {"avg", TK_AVG},
    {"count", TK_COUNT},
    {"min", TK_MIN},
    {"max", TK_MAX},
    {"group", TK_GROUP},
    {"stddev", TK_STDDEV},
    {"stdvar", TK_STDVAR},
    {"topk", TK_TOPK},
    {"bottomk", TK_BOTTOMK},
    {"count_values", TK_COUNT_VALUES},
    {"quantile", TK_QUANTILE},
    {"limitk", TK_LIMITK},
    {"limit_ratio", TK_LIMIT_RATIO},
};

const char *pq_tok_text(enum pq_tok t)
{
    switch (t) {
    case TK_EOF:
        return "end of input";
    case TK_LPAREN:
        return "(";
    case TK_RPAREN:
        return ")";
    case TK_LBRACE:
        return "{";
    case TK_RBRACE:
        return "}";
    case TK_LBRACKET:
        return "[";
    case TK_RBRACKET:
        return "]";
    case TK_COMMA:
        return ",";
    case TK_COLON:
        return ":";
    case TK_AT:
        return "@";
    case TK_EQL:
        return "=";
    case TK_ADD:
        return "+";
    case TK_SUB:
        return "-";
    case TK_MUL:
        return "*";
    case TK_DIV:
        return "/";
    case TK_MOD:
        return "%";
    case TK_POW:
        return "^";
    case TK_EQLC:
        return "==";
    case TK_NEQ:
        return "!=";
    case TK_LTE:
        return "<=";
    case TK_LSS:
        return "<";
    case TK_GTE:
        return ">=";
    case TK_GTR:
        return ">";
    case TK_EQL_REGEX:
        return "=~";
    case TK_NEQ_REGEX:
        return "!~";
    case TK_TRIM_UPPER:
        return "</";
    case TK_TRIM_LOWER:
        return ">/";
    default:
        break;
    }
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (keywords[i].tok == t)
            return keywords[i].word;
    return "?";
}

bool pq_is_comparison(enum pq_tok t)
{
    return t == TK_EQLC || t == TK_NEQ || t == TK_LTE || t == TK_LSS || t == TK_GTE || t == TK_GTR;
}

bool pq_is_set_op(enum pq_tok t)
{
    return t == TK_LAND || t == TK_LOR || t == TK_LUNLESS;
}

bool pq_agg_has_param(enum pq_tok t)
{
    return t == TK_TOPK || t == TK_BOTTOMK || t == TK_COUNT_VALUES || t == TK_QUANTILE ||
           t == TK_LIMITK || t == TK_LIMIT_RATIO;
}

static bool is_keyword(enum pq_tok t)
{
    return t >= TK_BOOL && t <= TK_FILL_RIGHT;
}
static bool is_aggregator(enum pq_tok t)
{
    return t >= TK_AGG_FIRST && t <= TK_AGG_LAST;
}
static bool is_operator(enum pq_tok t)
{
    return t >= TK_ADD && t <= TK_LUNLESS;
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static bool is_alnum(int c)
{
    return is_alpha(c) || is_digit(c);
}

static void tok_error(struct parser *p, struct pq_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tok_error(struct parser *p, struct pq_token *t, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    t->type = TK_ERROR;
    t->str = pq_strndup(&p->e->arena, msg, strlen(msg));
}

/* Prometheus durations: <int><unit> groups, units y w d h m s ms in that order, each
 * at most once. Returns false when s is not one. */
static bool parse_duration_text(const char *s, size_t n, int64_t *out)
{
    static const struct {
        const char *u;
        int64_t ms;
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000},
        {"w", 7LL * 24 * 3600 * 1000},
        {"d", 24LL * 3600 * 1000},
        {"h", 3600LL * 1000},
        {"m", 60LL * 1000},
        {"s", 1000},
        {"ms", 1},
    };
    size_t i = 0;
    int next_unit = 0;
    int64_t total = 0;
    if (n == 0)
        return false;
    while (i < n) {
        if (!is_digit((unsigned char)s[i]))
            return false;
        int64_t v = 0;
        while (i < n && is_digit((unsigned char)s[i])) {
            if (v > (INT64_MAX - 9) / 10)
                return false;
            v = v * 10 + (s[i] - '0');
            i++;
        }
        size_t us = i;
        while (i < n && is_alpha((unsigned char)s[i]))
            i++;
        size_t ul = i - us;
        int u = -1;
        for (int k = next_unit; k < 7; k++) {
            if (strlen(units[k].u) == ul && memcmp(units[k].u, s + us, ul) == 0) {
                u = k;
                break;
            }
        }
        if (u < 0)
            return false;
        next_unit = u + 1;
        if (v > INT64_MAX / units[u].ms || total > INT64_MAX - v * units[u].ms)
            return false;
        total += v * units[u].ms;
    }
    *out = total;
    return true;
}

static void lex_number(struct parser *p, struct pq_token *t)
{
    const char *s = p->s;
    size_t start = p->pos, i = p->pos;
    bool plain_int = true;
    if (s[i] == '0' && i + 2 < p->len && (s[i + 1] == 'x' || s[i + 1] == 'X') &&
        isxdigit((unsigned char)s[i + 2])) {
        i += 2;
        while (i < p->len && isxdigit((unsigned char)s[i]))
            i++;
        plain_int = false;
    } else {
        while (i < p->len && is_digit((unsigned char)s[i]))
            i++;
        if (i < p->len && s[i] == '.') {
            plain_int = false;
            i++;
            while (i < p->len && is_digit((unsigned char)s[i]))
                i++;
        }
        if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
            size_t j = i + 1;
            if (j < p->len && (s[j] == '+' || s[j] == '-'))
                j++;
            if (j < p->len && is_digit((unsigned char)s[j])) {
                plain_int = false;
                i = j;
                while (i < p->len && is_digit((unsigned char)s[i]))
                    i++;
            }
        }
    }
    t->pos = (uint32_t)start;
    if (i < p->len && (is_alnum((unsigned char)s[i]) || s[i] == '.')) {
        /* a duration, or garbage */
        size_t j = start;
        while (j < p->len && (is_alnum((unsigned char)s[j]) || s[j] == '.'))
            j++;
        int64_t ms;
        if (plain_int && parse_duration_text(s + start, j - start, &ms)) {
            t->type = TK_DURATION;
            t->dur_ms = ms;
            t->num = (double)ms / 1000.0;
            p->pos = j;
            t->end = (uint32_t)j;
            return;
        }
        p->pos = j;
        t->end = (uint32_t)j;
        /* "1.5h": a duration with a fraction, which Prometheus reads as a duration token */
        bool durlike = true, unit = false, dot = false;
        for (size_t q = start; q < j; q++) {
            if (strchr("smhdwy", s[q]))
                unit = true;
            else if (s[q] == '.')
                dot = true;
            else if (!is_digit((unsigned char)s[q]))
                durlike = false;
        }
        if (durlike && unit && dot) {
            tok_error(p, t, "unexpected duration \"%.*s\"", (int)(j - start), s + start);
            return;
        }
        /* the text up to and including the first character that cannot continue it */
        size_t k = start;
        while (k < j && (is_digit((unsigned char)s[k]) || strchr("smhdwy", s[k])))
            k++;
        if (k < j)
            k++;
        tok_error(p, t, "bad number or duration syntax: \"%.*s\"", (int)(k - start), s + start);
        return;
    }
    if (i == start || (i == start + 1 && s[start] == '.')) {
        p->pos = i > start ? i : start + 1;
        t->end = (uint32_t)p->pos;
        tok_error(p, t, "bad number or duration syntax: \"%.*s\"", (int)(p->pos - start),
                  s + start);
        return;
    }
    char tmp[128];
    size_t n = i - start;
    if (n >= sizeof tmp) {
        /* a very long literal: strtod needs it NUL-terminated */
        char *big = pq_strndup(&p->e->arena, s + start, n);
        t->num = big ? strtod(big, NULL) : 0;
    } else {
        memcpy(tmp, s + start, n);
        tmp[n] = 0;
        t->num = strtod(tmp, NULL);
    }
    t->type = TK_NUMBER;
    p->pos = i;
    t->end = (uint32_t)i;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t utf8_put(char *o, uint32_t r)
{
    if (r < 0x80) {
        o[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        o[0] = (char)(0xc0 | (r >> 6));
        o[1] = (char)(0x80 | (r & 0x3f));
        return 2;
    }
    if (r < 0x10000) {
        o[0] = (char)(0xe0 | (r >> 12));
        o[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        o[2] = (char)(0x80 | (r & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (r >> 18));
    o[1] = (char)(0x80 | ((r >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((r >> 6) & 0x3f));
    o[3] = (char)(0x80 | (r & 0x3f));
    return 4;
}

/* Go's %#U of a character, as Prometheus' escape errors print it. */
static void fmt_rune(char *buf, size_t n, const char *s, size_t len)
{
    unsigned c = (unsigned char)s[0];
    uint32_t r = c;
    size_t l = 1;
    if (c >= 0x80) {
        /* decode for display */
        if ((c & 0xe0) == 0xc0 && len >= 2)
            r = ((c & 0x1f) << 6) | (s[1] & 0x3f), l = 2;
        else if ((c & 0xf0) == 0xe0 && len >= 3)
            r = ((c & 0x0f) << 12) | ((s[1] & 0x3f) << 6) | (s[2] & 0x3f), l = 3;
        else if ((c & 0xf8) == 0xf0 && len >= 4)
            r = ((c & 0x07) << 18) | ((s[1] & 0x3f) << 12) | ((s[2] & 0x3f) << 6) | (s[3] & 0x3f),
            l = 4;
        else
            r = 0xfffd, l = 1;
    }
    if (r >= 0x20 && r != 0x7f && r != 0xfffd)
        snprintf(buf, n, "U+%04X '%.*s'", r, (int)l, s);
    else
        snprintf(buf, n, "U+%04X", r);
}

static void lex_string(struct parser *p, struct pq_token *t)
{
    const char *s = p->s;
    char q = s[p->pos];
    size_t start = p->pos;
    size_t i = start + 1;
    t->pos = (uint32_t)start;
    /* the unescaped value is never longer than the quoted text */
    size_t cap = 0;
    {
        size_t j = i;
        while (j < p->len && s[j] != q) {
            if (q != '`' && s[j] == '\\' && j + 1 < p->len)
                j++;
            j++;
        }
        cap = j - i;
    }
    char *out = pq_alloc(&p->e->arena, cap + 1);
    if (!out) {
        tok_error(p, t, "out of memory");
        return;
    }
    size_t o = 0;
    for (;;) {
        if (i >= p->len) {
            p->pos = i;
            t->end = (uint32_t)i;
            tok_error(p, t, q == '`' ? "unterminated raw string" : "unterminated quoted string");
            return;
        }
        char c = s[i];
        if (c == q) {
            i++;
            break;
        }
        if (q != '`' && c == '\n') {
            p->pos = i;
            t->end = (uint32_t)i;
            tok_error(p, t, "unterminated quoted string");
            return;
        }
        if (q == '`' || c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        /* an escape */
        i++;
        if (i >= p->len) {
            p->pos = i;
            t->end = (uint32_t)i;
            tok_error(p, t, "escape sequence not terminated");
            return;
        }
        char e = s[i];
        int ndig = 0, base = 0;
        uint32_t max = 0;
        switch (e) {
        case 'a':
            out[o++] = '\a';
            i++;
            continue;
        case 'b':
            out[o++] = '\b';
            i++;
            continue;
        case 'f':
            out[o++] = '\f';
            i++;
            continue;
        case 'n':
            out[o++] = '\n';
            i++;
            continue;
        case 'r':
            out[o++] = '\r';
            i++;
            continue;
        case 't':
            out[o++] = '\t';
            i++;
            continue;
        case 'v':
            out[o++] = '\v';
            i++;
            continue;
        case '\\':
            out[o++] = '\\';
            i++;
            continue;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
            ndig = 3, base = 8, max = 255;
            break;
        case 'x':
            i++, ndig = 2, base = 16, max = 255;
            break;
        case 'u':
            i++, ndig = 4, base = 16, max = 0x10ffff;
            break;
        case 'U':
            i++, ndig = 8, base = 16, max = 0x10ffff;
            break;
        default:
            if (e == q) {
                out[o++] = e;
                i++;
                continue;
            }
            {
                char r[32];
                fmt_rune(r, sizeof r, s + i, p->len - i);
                p->pos = i + 1;
                t->end = (uint32_t)p->pos;
                tok_error(p, t, "unknown escape sequence %s", r);
            }
            return;
        }
        uint32_t v = 0;
        for (int k = 0; k < ndig; k++) {
            if (i >= p->len) {
                p->pos = i;
                t->end = (uint32_t)i;
                tok_error(p, t, "escape sequence not terminated");
                return;
            }
            int d = hexval((unsigned char)s[i]);
            if (d < 0 || d >= base) {
                char r[32];
                fmt_rune(r, sizeof r, s + i, p->len - i);
                p->pos = i + 1;
                t->end = (uint32_t)p->pos;
                tok_error(p, t, "illegal character %s in escape sequence", r);
                return;
            }
            v = v * (uint32_t)base + (uint32_t)d;
            i++;
        }
        if (v > max || (e != 'x' && base == 16 && v >= 0xd800 && v <= 0xdfff)) {
            p->pos = i;
            t->end = (uint32_t)i;
            tok_error(p, t, "escape sequence is an invalid Unicode code point");
            return;
        }
        if (e == 'x' || base == 8)
            out[o++] = (char)v; /* a raw byte */
        else
            o += utf8_put(out + o, v);
    }
    out[o] = 0;
    t->type = TK_STRING;
    t->str = out;
    t->str_len = o;
    p->pos = i;
    t->end = (uint32_t)i;
}

static void lex(struct parser *p, struct pq_token *t)
{
    memset(t, 0, sizeof *t);
    const char *s = p->s;
    for (;;) {
        while (p->pos < p->len &&
               (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r'))
            p->pos++;
        if (p->pos < p->len && s[p->pos] == '#') {
            while (p->pos < p->len && s[p->pos] != '\n')
                p->pos++;
            continue;
        }
        break;
    }
    t->pos = t->end = (uint32_t)p->pos;
    if (p->pos >= p->len) {
        t->type = TK_EOF;
        if (p->brackets > 0)
            tok_error(p, t, "unclosed left bracket");
        else if (p->parens > 0)
            tok_error(p, t, "unclosed left parenthesis");
        return;
    }
    unsigned char c = (unsigned char)s[p->pos];
    unsigned char c1 = p->pos + 1 < p->len ? (unsigned char)s[p->pos + 1] : 0;
    enum pq_tok two = TK_EOF, one = TK_EOF;
    switch (c) {
    case '(':
        one = TK_LPAREN;
        break;
    case ')':
        one = TK_RPAREN;
        break;
    case '{':
        one = TK_LBRACE;
        break;
    case '}':
        one = TK_RBRACE;
        break;
    case '[':
        one = TK_LBRACKET;
        break;
    case ']':
        one = TK_RBRACKET;
        break;
    case ',':
        one = TK_COMMA;
        break;
    case '@':
        one = TK_AT;
        break;
    case '+':
        one = TK_ADD;
        break;
    case '-':
        one = TK_SUB;
        break;
    case '*':
        one = TK_MUL;
        break;
    case '/':
        one = TK_DIV;
        break;
    case '%':
        one = TK_MOD;
        break;
    case '^':
        one = TK_POW;
        break;
    case '=':
        if (c1 == '=')
            two = TK_EQLC;
        else if (c1 == '~')
            two = TK_EQL_REGEX;
        else
            one = TK_EQL;
        break;
    case '!':
        if (c1 == '=')
            two = TK_NEQ;
        else if (c1 == '~')
            two = TK_NEQ_REGEX;
        break;
    case '<':
        if (c1 == '/')
            two = TK_TRIM_UPPER;
        else if (c1 == '=')
            two = TK_LTE;
        else
            one = TK_LSS;
        break;
    case '>':
        if (c1 == '/')
            two = TK_TRIM_LOWER;
        else if (c1 == '=')
            two = TK_GTE;
        else
            one = TK_GTR;
        break;
    case ':':
        if (p->brackets > 0)
            one = TK_COLON;
        break;
    default:
        break;
    }
    if (two != TK_EOF) {
        t->type = two;
        p->pos += 2;
        t->end = (uint32_t)p->pos;
        return;
    }
    if (one != TK_EOF) {
        t->type = one;
        p->pos += 1;
        t->end = (uint32_t)p->pos;
        switch (one) {
        case TK_LPAREN:
            p->parens++;
            break;
        case TK_RPAREN:
            if (p->parens == 0) {
                t->pos = t->end;
                tok_error(p, t, "unexpected right parenthesis ')'");
            } else {
                p->parens--;
            }
            break;
        case TK_LBRACKET:
            if (p->brackets > 0) {
                tok_error(p, t, "unexpected left bracket '['");
            } else {
                p->brackets++;
                p->colon = false;
            }
            break;
        case TK_RBRACKET:
            if (p->brackets == 0) {
                tok_error(p, t, "unexpected right bracket ']'");
            } else {
                p->brackets--;
            }
            break;
        case TK_COLON:
            if (p->colon) {
                tok_error(p, t, "unexpected colon ':'");
            }
            p->colon = true;
            break;
        default:
            break;
        }
        return;
    }
    if (c == '"' || c == '\'' || c == '`') {
        lex_string(p, t);
        return;
    }
    if (is_digit(c) || (c == '.' && is_digit(c1))) {
        lex_number(p, t);
        return;
    }
    if (is_alpha(c) || (c == ':' && p->brackets == 0)) {
        size_t i = p->pos;
        bool colon = false;
        while (i < p->len && (is_alnum((unsigned char)s[i]) || (s[i] == ':' && p->brackets == 0))) {
            if (s[i] == ':')
                colon = true;
            i++;
        }
        size_t n = i - p->pos;
        t->end = (uint32_t)i;
        if (!colon && n <= 16) {
            char low[17];
            for (size_t k = 0; k < n; k++)
                low[k] = (char)tolower((unsigned char)s[p->pos + k]);
            low[n] = 0;
            if (strcmp(low, "inf") == 0 || strcmp(low, "nan") == 0) {
                t->type = TK_NUMBER;
                t->num = low[0] == 'i' ? INFINITY : NAN;
                p->pos = i;
                return;
            }
            for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
                if (strcmp(keywords[k].word, low) == 0) {
                    t->type = keywords[k].tok;
                    p->pos = i;
                    return;
                }
            }
        }
        t->type = colon ? TK_METRIC_IDENT : TK_IDENT;
        p->pos = i;
        return;
    }
    /* anything else is an error; the character as Go's %q prints a rune */
    char r[32];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
        snprintf(r, sizeof r, "'%c'", c);
    else if (c == '\\' || c == '\'')
        snprintf(r, sizeof r, "'\\%c'", c);
    else if (c < 0x80)
        snprintf(r, sizeof r, "'\\x%02x'", c);
    else
        fmt_rune(r, sizeof r, s + p->pos, p->len - p->pos);
    if (c == '!')
        tok_error(p, t, "unexpected character after '!': %s", r);
    else if (c == ':')
        tok_error(p, t, "unexpected colon ':'");
    else
        tok_error(p, t, "unexpected character: %s", r);
    /* skip one UTF-8 sequence */
    p->pos++;
    while (p->pos < p->len && ((unsigned char)s[p->pos] & 0xc0) == 0x80)
        p->pos++;
    t->end = (uint32_t)p->pos;
}

/* Lookahead: la[0] is the current token. */
static struct pq_token *peek_n(struct parser *p, int n)
{
    while (p->nla <= n) {
        lex(p, &p->la[p->nla]);
        p->nla++;
    }
    return &p->la[n];
}
static struct pq_token *peek(struct parser *p)
{
    return peek_n(p, 0);
}
static struct pq_token next(struct parser *p)
{
    struct pq_token t = *peek(p);
    memmove(&p->la[0], &p->la[1], sizeof(p->la[0]) * (size_t)(p->nla - 1));
    p->nla--;
    return t;
}

/* Prometheus' description of a token in "unexpected ..." messages. */
static void tok_desc(struct parser *p, const struct pq_token *t, char *buf, size_t n)
{
    const char *text = p->s + t->pos;
    int tl = (int)(t->end - t->pos);
    switch (t->type) {
    case TK_EOF:
        snprintf(buf, n, "end of input");
        return;
    case TK_IDENT:
        snprintf(buf, n, "identifier \"%.*s\"", tl, text);
        return;
    case TK_METRIC_IDENT:
        snprintf(buf, n, "metric identifier \"%.*s\"", tl, text);
        return;
    case TK_NUMBER:
        snprintf(buf, n, "number \"%.*s\"", tl, text);
        return;
    case TK_DURATION:
        snprintf(buf, n, "duration \"%.*s\"", tl, text);
        return;
    case TK_STRING:
        if (tl > 10)
            snprintf(buf, n, "string \"%.10s\"...", text);
        else
            snprintf(buf, n, "string %.*s", tl, text);
        return;
    case TK_ERROR:
        snprintf(buf, n, "%s", t->str ? t->str : "error");
        return;
    default:
        break;
    }
    if (is_keyword(t->type))
        snprintf(buf, n, "<%.*s>", tl, text);
    else if (is_aggregator(t->type))
        snprintf(buf, n, "<aggr:%.*s>", tl, text);
    else if (is_operator(t->type))
        snprintf(buf, n, "<op:%.*s>", tl, text);
    else
        snprintf(buf, n, "\"%s\"", pq_tok_text(t->type));
}

static void *unexpected(struct parser *p, const struct pq_token *t, const char *context,
                        const char *expected)
{
    if (t->type == TK_ERROR)
        return fail_at(p, t->pos, "%s", t->str ? t->str : "error");
    char d[96];
    tok_desc(p, t, d, sizeof d);
    if (t->type == TK_RPAREN && !context)
        return fail_at(p, t->pos, "unexpected right parenthesis ')'");
    if (context && expected)
        return fail_at(p, t->pos, "unexpected %s in %s, expected %s", d, context, expected);
    if (context)
        return fail_at(p, t->pos, "unexpected %s in %s", d, context);
    if (expected)
        return fail_at(p, t->pos, "unexpected %s, expected %s", d, expected);
    return fail_at(p, t->pos, "unexpected %s", d);
}

static bool expect(struct parser *p, enum pq_tok type, const char *context)
{
    struct pq_token *t = peek(p);
    if (t->type != type) {
        char exp[16];
        snprintf(exp, sizeof exp, "\"%s\"", pq_tok_text(type));
        if (type == TK_RPAREN && t->type == TK_EOF)
            fail_at(p, t->pos, "unclosed left parenthesis");
        else if (type == TK_RBRACKET && t->type == TK_EOF)
            fail_at(p, t->pos, "unclosed left bracket");
        else
            unexpected(p, t, context, exp);
        return false;
    }
    next(p);
    return true;
}

/* ---- tree helpers ------------------------------------------------------------------ */

static struct pq_node *node(struct parser *p, enum pq_kind k, uint32_t pos, uint32_t end)
{
    struct pq_node *n = alloc(p, sizeof *n);
    if (!n)
        return NULL;
    n->kind = k;
    n->pos = pos;
    n->end = end;
    return n;
}

static bool track_selector(struct parser *p, struct pq_node *n)
{
    struct pq_expr *e = p->e;
    if (e->nsels == e->capsels) {
        size_t cap = e->capsels ? e->capsels * 2 : 8;
        struct pq_node **ns = realloc(e->sels, cap * sizeof *ns);
        if (!ns) {
            oom(p);
            return false;
        }
        e->sels = ns;
        e->capsels = cap;
    }
    e->sels[e->nsels++] = n;
    return true;
}

static struct pq_node *parse_expr(struct parser *p, int min_prec);

/* ---- label lists ----------------------------------------------------------------- */

/* ( [label {, label} [,]] ) where a label is an identifier, a keyword, or a string
 * (a quoted UTF-8 name). */
static bool parse_label_list(struct parser *p, struct pq_label_list *out, const char *context,
                             uint32_t *end)
{
    if (!expect(p, TK_LPAREN, context))
        return false;
    size_t cap = 0;
    for (;;) {
        struct pq_token *t = peek(p);
        if (t->type == TK_RPAREN) {
            *end = next(p).end;
            return true;
        }
        const char *name;
        size_t nlen;
        if (t->type == TK_IDENT || is_keyword(t->type) || is_aggregator(t->type) ||
            t->type == TK_LAND || t->type == TK_LOR || t->type == TK_LUNLESS ||
            t->type == TK_ATAN2) {
            name = p->s + t->pos;
            nlen = t->end - t->pos;
        } else if (t->type == TK_STRING) {
            name = t->str;
            nlen = t->str_len;
            if (!ignis_utf8_valid(name, nlen)) {
                struct pq_buf b = {0};
                pq_buf_quote(&b, name, nlen);
                fail_at(p, t->pos, "invalid label name %s", b.p ? b.p : "");
                free(b.p);
                return false;
            }
        } else {
            unexpected(p, t, context, "label");
            return false;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4;
            char **nn = alloc(p, cap * sizeof *nn);
            if (!nn)
                return false;
            if (out->n)
                memcpy(nn, out->names, out->n * sizeof *nn);
            out->names = nn;
        }
        out->names[out->n] = pq_strndup(&p->e->arena, name, nlen);
        if (!out->names[out->n]) {
            oom(p);
            return false;
        }
        out->n++;
        next(p);
        t = peek(p);
        if (t->type == TK_COMMA) {
            next(p);
            continue;
        }
        if (t->type == TK_RPAREN) {
            *end = next(p).end;
            return true;
        }
        unexpected(p, t, context, "\",\" or \")\"");
        return false;
    }
}

/* ---- durations ------------------------------------------------------------------- */

static bool dur_is_const(const struct pq_node *n)
{
    switch (n->kind) {
    case N_NUMBER:
        return true;
    case N_PAREN:
        return dur_is_const(n->paren.expr);
    case N_UNARY:
        return dur_is_const(n->un.expr);
    case N_BINARY:
        return dur_is_const(n->bin.lhs) && dur_is_const(n->bin.rhs);
    case N_CALL:
        if (n->call.fn->id == F_STEP || n->call.fn->id == F_RANGE)
            return false;
        for (size_t i = 0; i < n->call.nargs; i++)
            if (!dur_is_const(n->call.args[i]))
                return false;
        return true;
    default:
        return false;
    }
}

/* Evaluates a duration expression in seconds, with step() and range() given in ms. */
double pq_dur_eval(const struct pq_node *n, int64_t step_ms, int64_t range_ms);
double pq_dur_eval(const struct pq_node *n, int64_t step_ms, int64_t range_ms)
{
    switch (n->kind) {
    case N_NUMBER:
        return n->num.v;
    case N_PAREN:
        return pq_dur_eval(n->paren.expr, step_ms, range_ms);
    case N_UNARY: {
        double v = pq_dur_eval(n->un.expr, step_ms, range_ms);
        return n->un.op == TK_SUB ? -v : v;
    }
    case N_BINARY: {
        double a = pq_dur_eval(n->bin.lhs, step_ms, range_ms);
        double b = pq_dur_eval(n->bin.rhs, step_ms, range_ms);
        switch (n->bin.op) {
        case TK_ADD:
            return a + b;
        case TK_SUB:
            return a - b;
        case TK_MUL:
            return a * b;
        case TK_DIV:
            return a / b;
        case TK_MOD:
            return fmod(a, b);
        case TK_POW:
            return pow(a, b);
        default:
            return NAN;
        }
    }
    case N_CALL:
        switch (n->call.fn->id) {
        case F_STEP:
            return (double)step_ms / 1000.0;
        case F_RANGE:
            return (double)range_ms / 1000.0;
        case F_MIN_OF: {
            double a = pq_dur_eval(n->call.args[0], step_ms, range_ms);
            double b = pq_dur_eval(n->call.args[1], step_ms, range_ms);
            return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
        }
        case F_MAX_OF: {
            double a = pq_dur_eval(n->call.args[0], step_ms, range_ms);
            double b = pq_dur_eval(n->call.args[1], step_ms, range_ms);
            return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
        }
        default:
            return NAN;
        }
    default:
        return NAN;
    }
}

/* Seconds to ms for a duration; false when it is not a finite duration. */
bool pq_dur_to_ms(double secs, int64_t *ms);
bool pq_dur_to_ms(double secs, int64_t *ms)
{
    if (!isfinite(secs))
        return false;
    double v = round(secs * 1000.0);
    if (v > (double)PQ_MAX_DURATION_MS || v < -(double)PQ_MAX_DURATION_MS)
        return false;
    *ms = (int64_t)v;
    return true;
}

static struct pq_node *parse_dur_expr(struct parser *p, int min_prec);

/* A duration atom: number (seconds), duration, ( expr ), step(), range(), min_of(a, b),
 * max_of(a, b), optionally signed. */
static struct pq_node *parse_dur_atom(struct parser *p, bool allow_sign)
{
    struct pq_token *t = peek(p);
    if (++p->depth > PQ_MAX_DEPTH) {
        return fail_at(p, t->pos, "duration expression nested too deeply");
    }
    struct pq_node *r = NULL;
    if (allow_sign && (t->type == TK_ADD || t->type == TK_SUB)) {
        struct pq_token op = next(p);
        struct pq_node *x = parse_dur_atom(p, true);
        if (!x)
            goto out;
        if (x->kind == N_NUMBER && !x->num.is_dur) {
            if (op.type == TK_SUB)
                x->num.v = -x->num.v;
            x->pos = op.pos;
            r = x;
            goto out;
        }
        if (x->kind == N_NUMBER && x->num.is_dur) {
            if (op.type == TK_SUB) {
                x->num.v = -x->num.v;
                x->num.dur_ms = -x->num.dur_ms;
            }
            x->pos = op.pos;
            r = x;
            goto out;
        }
        r = node(p, N_UNARY, op.pos, x->end);
        if (r) {
            r->un.op = op.type;
            r->un.expr = x;
            r->type = PQ_T_SCALAR;
        }
        goto out;
    }
    switch (t->type) {
    case TK_NUMBER:
    case TK_DURATION: {
        struct pq_token nt = next(p);
        r = node(p, N_NUMBER, nt.pos, nt.end);
        if (r) {
            r->type = PQ_T_SCALAR;
            r->num.v = nt.num;
            r->num.is_dur = nt.type == TK_DURATION;
            r->num.dur_ms = nt.dur_ms;
        }
        break;
    }
    case TK_LPAREN: {
        if (!p->feat->duration_expr) {
            unexpected(p, t, p->dur_ctx, "duration");
            break;
        }
        struct pq_token lp = next(p);
        struct pq_node *x = parse_dur_expr(p, 1);
        if (!x)
            break;
        uint32_t end = peek(p)->end;
        if (!expect(p, TK_RPAREN, "duration expression"))
            break;
        r = node(p, N_PAREN, lp.pos, end);
        if (r) {
            r->paren.expr = x;
            r->type = PQ_T_SCALAR;
        }
        break;
    }
    case TK_STEP:
    case TK_RANGE:
    case TK_IDENT: {
        const struct pq_func *fn = NULL;
        if (t->type == TK_STEP)
            fn = pq_func_lookup("step", 4);
        else if (t->type == TK_RANGE)
            fn = pq_func_lookup("range", 5);
        else
            fn = pq_func_lookup(p->s + t->pos, t->end - t->pos);
        if (!fn ||
            (fn->id != F_STEP && fn->id != F_RANGE && fn->id != F_MIN_OF && fn->id != F_MAX_OF)) {
            unexpected(p, t, p->dur_ctx, "duration");
            break;
        }
        if (!p->feat->duration_expr) {
            fail_at(p, t->pos, "experimental duration expression is not enabled");
            break;
        }
        struct pq_token ft = next(p);
        if (!expect(p, TK_LPAREN, "duration expression"))
            break;
        struct pq_node *args[2] = {0};
        int na = fn->nargs;
        for (int i = 0; i < na; i++) {
            if (i > 0 && !expect(p, TK_COMMA, "duration expression"))
                goto out;
            args[i] = parse_dur_expr(p, 1);
            if (!args[i])
                goto out;
        }
        uint32_t end = peek(p)->end;
        if (!expect(p, TK_RPAREN, "duration expression"))
            break;
        r = node(p, N_CALL, ft.pos, end);
        if (!r)
            break;
        r->type = PQ_T_SCALAR;
        r->call.fn = fn;
        r->call.nargs = (size_t)na;
        if (na) {
            r->call.args = alloc(p, (size_t)na * sizeof(struct pq_node *));
            if (!r->call.args) {
                r = NULL;
                break;
            }
            for (int i = 0; i < na; i++)
                r->call.args[i] = args[i];
        }
        break;
    }
    default:
        if (t->type == TK_EOF)
            fail_at(p, t->pos, "unexpected end of input in duration expression");
        else
            unexpected(p, t, p->dur_ctx, "duration");
        break;
    }
out:
    p->depth--;
    return r;
}

static int dur_prec(enum pq_tok t)
{
    switch (t) {
    case TK_ADD:
    case TK_SUB:
        return 1;
    case TK_MUL:
    case TK_DIV:
    case TK_MOD:
        return 2;
    case TK_POW:
        return 3;
    default:
        return 0;
    }
}

static struct pq_node *parse_dur_expr(struct parser *p, int min_prec)
{
    struct pq_node *lhs;
    struct pq_token *t = peek(p);
    if (++p->depth > PQ_MAX_DEPTH)
        return fail_at(p, t->pos, "duration expression nested too deeply");
    if (t->type == TK_ADD || t->type == TK_SUB) {
        /* unary binds like * (so -a^b is -(a^b)) */
        struct pq_token op = next(p);
        struct pq_node *x = parse_dur_expr(p, 3);
        if (!x) {
            p->depth--;
            return NULL;
        }
        if (x->kind == N_NUMBER) {
            if (op.type == TK_SUB) {
                x->num.v = -x->num.v;
                x->num.dur_ms = -x->num.dur_ms;
            }
            x->pos = op.pos;
            lhs = x;
        } else {
            lhs = node(p, N_UNARY, op.pos, x->end);
            if (lhs) {
                lhs->un.op = op.type;
                lhs->un.expr = x;
                lhs->type = PQ_T_SCALAR;
            }
        }
    } else {
        lhs = parse_dur_atom(p, false);
    }
    while (lhs) {
        t = peek(p);
        int prec = dur_prec(t->type);
        if (!prec || prec < min_prec)
            break;
        if (!p->feat->duration_expr) {
            fail_at(p, t->pos, "experimental duration expression is not enabled");
            lhs = NULL;
            break;
        }
        struct pq_token op = next(p);
        struct pq_node *rhs = parse_dur_expr(p, op.type == TK_POW ? prec : prec + 1);
        if (!rhs) {
            lhs = NULL;
            break;
        }
        struct pq_node *b = node(p, N_BINARY, lhs->pos, rhs->end);
        if (!b) {
            lhs = NULL;
            break;
        }
        b->type = PQ_T_SCALAR;
        b->bin.op = op.type;
        b->bin.lhs = lhs;
        b->bin.rhs = rhs;
        lhs = b;
    }
    p->depth--;
    return lhs;
}

/* Fills d from a parsed duration expression. what: "range", "step", "offset". */
static bool make_dur(struct parser *p, struct pq_node *x, struct pq_dur *d, const char *what,
                     bool allow_neg, bool allow_zero)
{
    if (x->kind == N_NUMBER) {
        int64_t ms;
        if (x->num.is_dur) {
            ms = x->num.dur_ms;
            if (ms > PQ_MAX_DURATION_MS || ms < -PQ_MAX_DURATION_MS) {
                fail_at(p, x->pos, "duration out of range");
                return false;
            }
        } else if (!pq_dur_to_ms(x->num.v, &ms)) {
            fail_at(p, x->pos, "invalid %s duration", what);
            return false;
        }
        d->ms = ms;
        d->expr = NULL;
        /* keep number literals written as plain seconds for printing */
        if (!x->num.is_dur)
            d->expr = x;
    } else if (dur_is_const(x)) {
        double v = pq_dur_eval(x, 0, 0);
        if (!pq_dur_to_ms(v, &d->ms)) {
            fail_at(p, x->pos, "%s duration expression evaluates to an invalid duration", what);
            return false;
        }
        d->expr = x;
    } else {
        d->ms = 0;
        d->expr = x; /* resolved when the query runs */
        return true;
    }
    if ((d->ms < 0 && !allow_neg) || (d->ms == 0 && !allow_zero)) {
        (void)what;
        fail_at(p, x->pos, "duration must be greater than 0");
        return false;
    }
    return true;
}

/* ---- postfix modifiers --------------------------------------------------------------- */

static bool is_selector_like(const struct pq_node *n)
{
    return n->kind == N_VECTOR || n->kind == N_MATRIX || n->kind == N_SUBQUERY;
}

static struct pq_node *parse_bracket(struct parser *p, struct pq_node *x)
{
    struct pq_token lb = next(p); /* [ (the lexer is now in bracket mode) */
    struct pq_node *range = parse_dur_expr(p, 1);
    if (!range)
        return NULL;
    struct pq_token *t = peek(p);
    if (t->type == TK_COLON) {
        next(p);
        struct pq_node *step = NULL;
        if (peek(p)->type != TK_RBRACKET) {
            step = parse_dur_expr(p, 1);
            if (!step)
                return NULL;
        }
        uint32_t end = peek(p)->end;
        if (!expect(p, TK_RBRACKET, "subquery selector"))
            return NULL;
        if (x->type != PQ_T_VECTOR)
            return fail_at(p, x->pos, "subquery is only allowed on instant vector, got %s instead",
                           x->type == PQ_T_MATRIX   ? "matrix"
                           : x->type == PQ_T_SCALAR ? "scalar"
                                                    : "string");
        struct pq_node *sq = node(p, N_SUBQUERY, x->pos, end);
        if (!sq)
            return NULL;
        sq->type = PQ_T_MATRIX;
        sq->sq.expr = x;
        if (!make_dur(p, range, &sq->sq.range, "range", false, false))
            return NULL;
        if (step) {
            sq->sq.step_set = true;
            if (!make_dur(p, step, &sq->sq.step, "step", false, false))
                return NULL;
        }
        return sq;
    }
    uint32_t end = peek(p)->end;
    if (peek(p)->type != TK_RBRACKET) {
        if (peek(p)->type == TK_EOF)
            return fail_at(p, peek(p)->pos, "unexpected end of input in duration");
        return unexpected(p, peek(p), "range", "\"]\"");
    }
    next(p);
    if (x->kind != N_VECTOR)
        return fail_at(p, lb.pos, "ranges only allowed for vector selectors");
    if (x->vs.offset_set)
        return fail_at(p, lb.pos, "no offset modifiers allowed before range");
    if (x->vs.at != PQ_AT_NONE)
        return fail_at(p, lb.pos, "no @ modifiers allowed before range");
    if (x->vs.anchored || x->vs.smoothed)
        return fail_at(p, lb.pos, "no %s modifier allowed before range",
                       x->vs.anchored ? "anchored" : "smoothed");
    struct pq_node *m = node(p, N_MATRIX, x->pos, end);
    if (!m)
        return NULL;
    m->type = PQ_T_MATRIX;
    m->ms.vs = x;
    if (!make_dur(p, range, &m->ms.range, "range", false, false))
        return NULL;
    return m;
}

static struct pq_node *parse_offset(struct parser *p, struct pq_node *x)
{
    next(p); /* offset */
    if (!is_selector_like(x))
        return fail_at(p, x->pos,
                       "offset modifier must be preceded by an instant vector selector or range "
                       "vector selector or a subquery");
    p->dur_ctx = "offset";
    struct pq_node *d = parse_dur_atom(p, true);
    p->dur_ctx = "duration";
    if (!d)
        return NULL;
    bool *set;
    struct pq_dur *od;
    if (x->kind == N_VECTOR)
        set = &x->vs.offset_set, od = &x->vs.offset;
    else if (x->kind == N_MATRIX)
        set = &x->ms.vs->vs.offset_set, od = &x->ms.vs->vs.offset;
    else
        set = &x->sq.offset_set, od = &x->sq.offset;
    if (*set)
        return fail_at(p, x->pos, "offset may not be set multiple times");
    if (!make_dur(p, d, od, "offset", true, true))
        return NULL;
    if (!od->expr && od->ms < 0 && !p->feat->negative_offset)
        return fail_at(p, d->pos, "negative offset is disabled");
    *set = true;
    x->end = d->end;
    return x;
}

static struct pq_node *parse_at(struct parser *p, struct pq_node *x)
{
    struct pq_token kw = next(p);
    if (!is_selector_like(x))
        return fail_at(p, x->pos,
                       "@ modifier must be preceded by an instant vector selector or range vector "
                       "selector or a subquery");
    if (!p->feat->at_modifier)
        return fail_at(p, kw.pos, "@ modifier is disabled");
    enum pq_at *at;
    int64_t *at_ms;
    if (x->kind == N_VECTOR)
        at = &x->vs.at, at_ms = &x->vs.at_ms;
    else if (x->kind == N_MATRIX)
        at = &x->ms.vs->vs.at, at_ms = &x->ms.vs->vs.at_ms;
    else
        at = &x->sq.at, at_ms = &x->sq.at_ms;
    if (*at != PQ_AT_NONE)
        return fail_at(p, x->pos, "@ <timestamp> may not be set multiple times");
    struct pq_token *t = peek(p);
    if (t->type == TK_START || t->type == TK_END) {
        struct pq_token w = next(p);
        if (!expect(p, TK_LPAREN, "@ modifier"))
            return NULL;
        uint32_t end = peek(p)->end;
        if (!expect(p, TK_RPAREN, "@ modifier"))
            return NULL;
        *at = w.type == TK_START ? PQ_AT_START : PQ_AT_END;
        x->end = end;
        return x;
    }
    double sign = 1;
    uint32_t pos = t->pos;
    if (t->type == TK_ADD || t->type == TK_SUB) {
        sign = t->type == TK_SUB ? -1 : 1;
        next(p);
        t = peek(p);
    }
    if (t->type != TK_NUMBER && t->type != TK_DURATION)
        return unexpected(p, t, "@", "timestamp");
    struct pq_token nt = next(p);
    double v = sign * nt.num;
    double ms = round(v * 1000.0);
    if (!isfinite(v) || ms > (double)PQ_MAX_TIMESTAMP_MS || ms < -(double)PQ_MAX_TIMESTAMP_MS) {
        char vb[64];
        if (isnan(v))
            snprintf(vb, sizeof vb, "NaN");
        else if (isinf(v))
            snprintf(vb, sizeof vb, "%s", v > 0 ? "+Inf" : "-Inf");
        else
            snprintf(vb, sizeof vb, "%f", v);
        (void)pos;
        return fail_at(p, x->pos, "timestamp out of bounds for @ modifier: %s", vb);
    }
    *at = PQ_AT_TS;
    *at_ms = (int64_t)ms;
    x->end = nt.end;
    return x;
}

static struct pq_node *parse_postfix(struct parser *p, struct pq_node *x)
{
    while (x) {
        struct pq_token *t = peek(p);
        switch (t->type) {
        case TK_LBRACKET:
            x = parse_bracket(p, x);
            break;
        case TK_OFFSET:
            x = parse_offset(p, x);
            break;
        case TK_AT:
            x = parse_at(p, x);
            break;
        case TK_ANCHORED:
        case TK_SMOOTHED: {
            struct pq_token kw = next(p);
            const char *w = kw.type == TK_ANCHORED ? "anchored" : "smoothed";
            if (!p->feat->extended_range)
                return fail_at(p, kw.pos,
                               "the %s modifier requires the promql-extended-range-selectors "
                               "feature",
                               w);
            struct pq_node *vs = x->kind == N_VECTOR ? x : x->kind == N_MATRIX ? x->ms.vs : NULL;
            if (!vs) {
                if (x->kind == N_SUBQUERY)
                    return fail_at(p, kw.pos, "%s modifier is not supported for subqueries", w);
                return fail_at(p, kw.pos,
                               "%s modifier must be preceded by an instant vector selector or "
                               "range vector selector",
                               w);
            }
            if (vs->vs.anchored || vs->vs.smoothed)
                return fail_at(p, kw.pos,
                               "anchored or smoothed modifier may not be set "
                               "multiple times");
            if (kw.type == TK_ANCHORED)
                vs->vs.anchored = true;
            else
                vs->vs.smoothed = true;
            x->end = kw.end;
            break;
        }
        default:
            return x;
        }
    }
    return x;
}

/* ---- primaries ------------------------------------------------------------------------ */

static bool sel_has_nonempty(const struct ignis_selector *sel)
{
    for (size_t i = 0; i < sel->n; i++)
        if (!ignis_matcher_matches_empty(&sel->matchers[i]))
            return true;
    return false;
}

/* Turns libignis' "at N: msg" (N a 0-based offset into the query) into our form. */
static void *selector_error(struct parser *p, size_t at, const char *msg)
{
    unsigned long off;
    int n = 0;
    if (sscanf(msg, "at %lu: %n", &off, &n) == 1 && n > 0) {
        /* Prometheus reports a doubly set name at the selector's start */
        if (strncmp(msg + n, "metric name must not be set twice", 33) == 0)
            off = at;
        return fail_at(p, (uint32_t)off, "%s", msg + n);
    }
    return fail_at(p, (uint32_t)at, "%s", msg);
}

/* name is the metric name token (or NULL) before an optional `{...}`. */
static struct pq_node *parse_vector_selector(struct parser *p, const struct pq_token *name)
{
    struct pq_node *n = node(p, N_VECTOR, name ? name->pos : peek(p)->pos, 0);
    if (!n)
        return NULL;
    n->type = PQ_T_VECTOR;
    if (!track_selector(p, n))
        return NULL;
    if (name) {
        n->vs.name = pq_strndup(&p->e->arena, p->s + name->pos, name->end - name->pos);
        if (!n->vs.name)
            return oom(p);
        n->end = name->end;
        struct ignis_matcher *m = calloc(1, sizeof *m);
        if (!m)
            return oom(p);
        char err[128];
        if (ignis_matcher_init(m, IGNIS_MATCH_EQ, IGNIS_METRIC_NAME, strlen(IGNIS_METRIC_NAME),
                               n->vs.name, strlen(n->vs.name), err, sizeof err) != 0) {
            free(m);
            return fail_at(p, name->pos, "%s", err);
        }
        n->vs.sel.matchers = m;
        n->vs.sel.n = 1;
    }
    struct pq_token *t = peek(p);
    if (t->type == TK_LBRACE) {
        /* hand the braces to libignis; nothing past '{' has been lexed (la holds only
         * this token when the name, if any, was consumed) */
        size_t pos = t->pos;
        if (p->nla != 1)
            return fail_at(p, t->pos, "internal error: lookahead past '{'");
        p->nla = 0;
        char err[256] = "";
        size_t before = n->vs.sel.n;
        if (ignis_selector_parse_braces(p->s, p->len, &pos, &n->vs.sel, err, sizeof err) != 0)
            return selector_error(p, n->pos, err);
        p->pos = pos;
        n->end = (uint32_t)pos;
        if (name) {
            /* a second metric name inside the braces: Prometheus refuses it */
            for (size_t i = before; i < n->vs.sel.n; i++) {
                const struct ignis_matcher *m = &n->vs.sel.matchers[i];
                if (m->name_len == strlen(IGNIS_METRIC_NAME) &&
                    memcmp(m->name, IGNIS_METRIC_NAME, m->name_len) == 0 &&
                    m->type == IGNIS_MATCH_EQ) {
                    return fail_at(p, n->pos,
                                   "metric name must not be set twice: \"%s\" or "
                                   "\"%.*s\"",
                                   n->vs.name, (int)m->value_len, m->value);
                }
            }
        }
    }
    return n;
}

static bool parse_call_args(struct parser *p, struct pq_node ***args, size_t *nargs,
                            const char *context, uint32_t *end)
{
    if (!expect(p, TK_LPAREN, context))
        return false;
    size_t cap = 0;
    *nargs = 0;
    *args = NULL;
    for (;;) {
        struct pq_token *t = peek(p);
        if (t->type == TK_RPAREN) {
            *end = next(p).end;
            return true;
        }
        struct pq_node *a = parse_expr(p, 1);
        if (!a)
            return false;
        if (*nargs == cap) {
            cap = cap ? cap * 2 : 4;
            struct pq_node **na = alloc(p, cap * sizeof *na);
            if (!na)
                return false;
            if (*nargs)
                memcpy(na, *args, *nargs * sizeof *na);
            *args = na;
        }
        (*args)[(*nargs)++] = a;
        t = peek(p);
        if (t->type == TK_COMMA) {
            next(p);
            continue;
        }
        if (t->type == TK_RPAREN) {
            *end = next(p).end;
            return true;
        }
        if (t->type == TK_EOF)
            fail_at(p, t->pos, "unclosed left parenthesis");
        else
            unexpected(p, t, context, "\",\" or \")\"");
        return false;
    }
}

static bool expect_type(struct parser *p, const struct pq_node *n, enum pq_type want,
                        const char *context)
{
    if (n->type == want)
        return true;
    fail_at(p, n->pos, "expected type %s in %s, got %s", pq_type_name(want), context,
            pq_type_name(n->type));
    return false;
}

static struct pq_node *parse_call(struct parser *p, const struct pq_func *fn,
                                  const struct pq_token *nt)
{
    if (fn->experimental && !p->feat->experimental_functions)
        return fail_at(p, nt->pos, "function \"%s\" is not enabled", fn->name);
    struct pq_node **args;
    size_t nargs;
    char ctx[96];
    snprintf(ctx, sizeof ctx, "call to function \"%s\"", fn->name);
    uint32_t endpos;
    if (!parse_call_args(p, &args, &nargs, ctx, &endpos))
        return NULL;
    struct pq_node *n = node(p, N_CALL, nt->pos, endpos);
    if (!n)
        return NULL;
    n->type = fn->ret;
    n->call.fn = fn;
    n->call.args = args;
    n->call.nargs = nargs;
    int na = fn->nargs;
    if (fn->variadic == 0) {
        if ((size_t)na != nargs)
            return fail_at(p, n->pos, "expected %d argument(s) in call to \"%s\", got %zu", na,
                           fn->name, nargs);
    } else {
        size_t min = (size_t)(na - 1);
        if (nargs < min)
            return fail_at(p, n->pos,
                           "expected at least %zu argument(s) in call to \"%s\", got %zu", min,
                           fn->name, nargs);
        if (fn->variadic > 0 && nargs > min + (size_t)fn->variadic)
            return fail_at(p, n->pos, "expected at most %zu argument(s) in call to \"%s\", got %zu",
                           min + (size_t)fn->variadic, fn->name, nargs);
    }
    for (size_t i = 0; i < nargs; i++) {
        size_t k = i < (size_t)na ? i : (size_t)na - 1;
        if (i >= (size_t)na && fn->variadic == 0)
            break;
        if (!expect_type(p, args[i], fn->args[k], ctx))
            return NULL;
    }
    if (fn->id == F_INFO && nargs == 2) {
        if (args[1]->kind != N_VECTOR || args[1]->vs.name)
            return fail_at(p, args[1]->pos, "expected label selectors only, got %s instead",
                           args[1]->kind == N_VECTOR ? "vector selector" : "expression");
    }
    return n;
}

static struct pq_node *parse_aggregation(struct parser *p)
{
    struct pq_token op = next(p);
    struct pq_node *n = node(p, N_AGG, op.pos, 0);
    if (!n)
        return NULL;
    n->type = PQ_T_VECTOR;
    n->agg.op = op.type;
    bool grouped = false;
    uint32_t lend;
    struct pq_token *t = peek(p);
    if (t->type == TK_BY || t->type == TK_WITHOUT) {
        struct pq_token kw = next(p);
        n->agg.without = kw.type == TK_WITHOUT;
        n->agg.by = kw.type == TK_BY;
        if (!parse_label_list(p, &n->agg.grouping, "grouping opts", &lend))
            return NULL;
        grouped = true;
    }
    struct pq_node **args;
    size_t nargs;
    if (peek(p)->type != TK_LPAREN)
        return unexpected(p, peek(p), "aggregation", "\"(\"");
    if (!parse_call_args(p, &args, &nargs, "aggregation", &n->end))
        return NULL;
    t = peek(p);
    if (t->type == TK_BY || t->type == TK_WITHOUT) {
        if (grouped)
            return unexpected(p, t, NULL, NULL);
        struct pq_token kw = next(p);
        n->agg.without = kw.type == TK_WITHOUT;
        n->agg.by = kw.type == TK_BY;
        if (!parse_label_list(p, &n->agg.grouping, "grouping opts", &n->end))
            return NULL;
    }
    if (nargs == 0)
        return fail_at(p, n->pos, "no arguments for aggregate expression provided");
    size_t want = pq_agg_has_param(op.type) ? 2 : 1;
    if (nargs != want)
        return fail_at(p, n->pos,
                       "wrong number of arguments for aggregate expression provided, expected "
                       "%zu, got %zu",
                       want, nargs);
    if (want == 2) {
        n->agg.param = args[0];
        n->agg.expr = args[1];
    } else {
        n->agg.expr = args[0];
    }
    if (!expect_type(p, n->agg.expr, PQ_T_VECTOR, "aggregation expression"))
        return NULL;
    if (n->agg.param) {
        enum pq_type pt = op.type == TK_COUNT_VALUES ? PQ_T_STRING : PQ_T_SCALAR;
        if (!expect_type(p, n->agg.param, pt, "aggregation parameter"))
            return NULL;
    }
    if ((op.type == TK_LIMITK || op.type == TK_LIMIT_RATIO) && !p->feat->experimental_functions)
        return fail_at(p, op.pos,
                       "limitk() and limit_ratio() are experimental and must be "
                       "enabled with --enable-feature=promql-experimental-functions");
    return n;
}

static struct pq_node *parse_primary(struct parser *p)
{
    struct pq_token *t = peek(p);
    switch (t->type) {
    case TK_NUMBER:
    case TK_DURATION: {
        struct pq_token nt = next(p);
        struct pq_node *n = node(p, N_NUMBER, nt.pos, nt.end);
        if (!n)
            return NULL;
        n->type = PQ_T_SCALAR;
        n->num.v = nt.num;
        n->num.is_dur = nt.type == TK_DURATION;
        n->num.dur_ms = nt.dur_ms;
        return n;
    }
    case TK_STRING: {
        struct pq_token st = next(p);
        struct pq_node *n = node(p, N_STRING, st.pos, st.end);
        if (!n)
            return NULL;
        n->type = PQ_T_STRING;
        n->str.s = st.str;
        n->str.len = st.str_len;
        return n;
    }
    case TK_LPAREN: {
        struct pq_token lp = next(p);
        struct pq_node *x = parse_expr(p, 1);
        if (!x)
            return NULL;
        uint32_t end = peek(p)->end;
        if (peek(p)->type != TK_RPAREN) {
            if (peek(p)->type == TK_EOF)
                return fail_at(p, peek(p)->pos, "unclosed left parenthesis");
            return unexpected(p, peek(p), "paren expression", "\")\"");
        }
        next(p);
        struct pq_node *n = node(p, N_PAREN, lp.pos, end);
        if (!n)
            return NULL;
        n->type = x->type;
        n->paren.expr = x;
        return n;
    }
    case TK_LBRACE:
        return parse_vector_selector(p, NULL);
    case TK_EOF:
        return fail_at(p, t->pos, "unexpected end of input");
    case TK_ERROR:
        return fail_at(p, t->pos, "%s", t->str ? t->str : "error");
    case TK_RPAREN:
        return fail_at(p, t->pos, "unexpected right parenthesis ')'");
    case TK_RBRACE:
        return fail_at(p, t->pos, "unexpected right brace '}'");
    case TK_RBRACKET:
        return fail_at(p, t->pos, "unexpected right bracket ']'");
    default:
        break;
    }
    if (is_aggregator(t->type)) {
        struct pq_token *n1 = peek_n(p, 1);
        if (n1->type == TK_LPAREN || n1->type == TK_BY || n1->type == TK_WITHOUT)
            return parse_aggregation(p);
    }
    if (t->type == TK_IDENT || t->type == TK_METRIC_IDENT || is_aggregator(t->type) ||
        t->type == TK_START || t->type == TK_END || t->type == TK_STEP || t->type == TK_RANGE ||
        t->type == TK_OFFSET || t->type == TK_BY || t->type == TK_WITHOUT ||
        t->type == TK_ANCHORED || t->type == TK_SMOOTHED || t->type == TK_FILL ||
        t->type == TK_FILL_LEFT || t->type == TK_FILL_RIGHT || t->type == TK_LAND ||
        t->type == TK_LOR || t->type == TK_LUNLESS || t->type == TK_ATAN2) {
        struct pq_token *n1 = peek_n(p, 1);
        if (n1->type == TK_LPAREN && t->type != TK_METRIC_IDENT) {
            char low[32];
            size_t l = t->end - t->pos;
            const struct pq_func *fn = NULL;
            if (t->type == TK_IDENT) {
                fn = pq_func_lookup(p->s + t->pos, l);
            } else if (l < sizeof low) {
                /* keyword functions (start, end, step, range) are case-insensitive */
                for (size_t k = 0; k < l; k++)
                    low[k] = (char)tolower((unsigned char)p->s[t->pos + k]);
                fn = pq_func_lookup(low, l);
            }
            if (!fn)
                return fail_at(p, t->pos, "unknown function with name \"%.*s\"", (int)l,
                               p->s + t->pos);
            struct pq_token nt = next(p);
            return parse_call(p, fn, &nt);
        }
        if (t->type == TK_LAND || t->type == TK_LOR || t->type == TK_LUNLESS || t->type == TK_ATAN2)
            return unexpected(p, t, NULL, NULL);
        struct pq_token nt = next(p);
        return parse_vector_selector(p, &nt);
    }
    return unexpected(p, t, NULL, NULL);
}

/* ---- binary expressions --------------------------------------------------------------- */

static int bin_prec(enum pq_tok t)
{
    switch (t) {
    case TK_LOR:
        return 1;
    case TK_LAND:
    case TK_LUNLESS:
        return 2;
    case TK_EQLC:
    case TK_NEQ:
    case TK_LTE:
    case TK_LSS:
    case TK_GTE:
    case TK_GTR:
        return 3;
    case TK_ADD:
    case TK_SUB:
        return 4;
    case TK_MUL:
    case TK_DIV:
    case TK_MOD:
    case TK_ATAN2:
    case TK_TRIM_UPPER:
    case TK_TRIM_LOWER:
        return 5;
    case TK_POW:
        return 6;
    default:
        return 0;
    }
}
#define PREC_POW 6

static bool parse_fill_value(struct parser *p, double *v)
{
    if (!expect(p, TK_LPAREN, "fill modifier"))
        return false;
    double sign = 1;
    struct pq_token *t = peek(p);
    if (t->type == TK_ADD || t->type == TK_SUB) {
        sign = t->type == TK_SUB ? -1 : 1;
        next(p);
        t = peek(p);
    }
    if (t->type != TK_NUMBER && t->type != TK_DURATION) {
        unexpected(p, t, "fill modifier", "number");
        return false;
    }
    *v = sign * next(p).num;
    return expect(p, TK_RPAREN, "fill modifier");
}

static struct pq_node *parse_binary_rest(struct parser *p, struct pq_node *lhs, int min_prec)
{
    for (;;) {
        struct pq_token *t = peek(p);
        int prec = bin_prec(t->type);
        if (!prec || prec < min_prec)
            return lhs;
        struct pq_token op = next(p);
        struct pq_node *b = node(p, N_BINARY, lhs->pos, 0);
        if (!b)
            return NULL;
        b->bin.op = op.type;
        b->bin.lhs = lhs;
        uint32_t lend;
        if (pq_is_set_op(op.type))
            b->bin.card = PQ_CARD_MANY_TO_MANY;
        t = peek(p);
        if (t->type == TK_BOOL) {
            next(p);
            if (!pq_is_comparison(op.type))
                return fail_at(p, op.pos,
                               "bool modifier can only be used on comparison "
                               "operators");
            b->bin.ret_bool = true;
            t = peek(p);
        }
        if (t->type == TK_ON || t->type == TK_IGNORING) {
            struct pq_token kw = next(p);
            b->bin.on = kw.type == TK_ON;
            b->bin.matching_set = true;
            if (!parse_label_list(p, &b->bin.match, "grouping opts", &lend))
                return NULL;
            t = peek(p);
            if (t->type == TK_GROUP_LEFT || t->type == TK_GROUP_RIGHT) {
                struct pq_token g = next(p);
                if (pq_is_set_op(op.type))
                    return fail_at(p, b->pos, "no grouping allowed for \"%s\" operation",
                                   pq_tok_text(op.type));
                b->bin.card = g.type == TK_GROUP_LEFT ? PQ_CARD_MANY_TO_ONE : PQ_CARD_ONE_TO_MANY;
                if (peek(p)->type == TK_LPAREN &&
                    !parse_label_list(p, &b->bin.include, "grouping opts", &lend))
                    return NULL;
                for (size_t i = 0; b->bin.on && i < b->bin.include.n; i++)
                    for (size_t j = 0; j < b->bin.match.n; j++)
                        if (strcmp(b->bin.include.names[i], b->bin.match.names[j]) == 0)
                            return fail_at(p, op.pos,
                                           "label \"%s\" must not occur in ON and GROUP clause "
                                           "at once",
                                           b->bin.include.names[i]);
            }
        } else if (t->type == TK_GROUP_LEFT || t->type == TK_GROUP_RIGHT) {
            return unexpected(p, t, NULL, NULL);
        }
        t = peek(p);
        while (t->type == TK_FILL || t->type == TK_FILL_LEFT || t->type == TK_FILL_RIGHT) {
            if (peek_n(p, 1)->type != TK_LPAREN)
                break;
            struct pq_token kw = next(p);
            if (!p->feat->fill_modifiers)
                return fail_at(p, kw.pos,
                               "fill modifiers require the "
                               "promql-binop-fill-modifiers feature");
            if (pq_is_set_op(op.type))
                return fail_at(p, kw.pos, "fill modifiers are not allowed for \"%s\" operation",
                               pq_tok_text(op.type));
            double v;
            if (!parse_fill_value(p, &v))
                return NULL;
            if (kw.type == TK_FILL) {
                if (b->bin.fill_left || b->bin.fill_right)
                    return fail_at(p, kw.pos, "fill modifier may not be set multiple times");
                b->bin.fill_left = b->bin.fill_right = b->bin.fill_both = true;
                b->bin.fill_left_v = b->bin.fill_right_v = v;
            } else if (kw.type == TK_FILL_LEFT) {
                if (b->bin.fill_left)
                    return fail_at(p, kw.pos, "fill_left modifier may not be set multiple times");
                b->bin.fill_left = true;
                b->bin.fill_left_v = v;
            } else {
                if (b->bin.fill_right)
                    return fail_at(p, kw.pos, "fill_right modifier may not be set multiple times");
                b->bin.fill_right = true;
                b->bin.fill_right_v = v;
            }
            t = peek(p);
        }
        struct pq_node *rhs = parse_expr(p, op.type == TK_POW ? prec : prec + 1);
        if (!rhs)
            return NULL;
        b->bin.rhs = rhs;
        b->end = rhs->end;
        /* type checks, in Prometheus' order and wording */
        enum pq_type lt = lhs->type, rt = rhs->type;
        if ((lt != PQ_T_SCALAR && lt != PQ_T_VECTOR) || (rt != PQ_T_SCALAR && rt != PQ_T_VECTOR))
            return fail_at(p, b->pos,
                           "binary expression must contain only scalar and instant vector types");
        if (pq_is_comparison(op.type) && !b->bin.ret_bool && lt == PQ_T_SCALAR && rt == PQ_T_SCALAR)
            return fail_at(p, op.pos, "comparisons between scalars must use BOOL modifier");
        if ((lt != PQ_T_VECTOR || rt != PQ_T_VECTOR) &&
            (b->bin.matching_set || b->bin.card == PQ_CARD_MANY_TO_ONE ||
             b->bin.card == PQ_CARD_ONE_TO_MANY))
            return fail_at(p, b->pos, "vector matching only allowed between instant vectors");
        if (pq_is_set_op(op.type) && (lt == PQ_T_SCALAR || rt == PQ_T_SCALAR))
            return fail_at(p, b->pos,
                           "set operator \"%s\" not allowed in binary scalar "
                           "expression",
                           pq_tok_text(op.type));
        if ((b->bin.fill_left || b->bin.fill_right) && (lt != PQ_T_VECTOR || rt != PQ_T_VECTOR))
            return fail_at(p, b->pos, "fill modifiers only allowed between instant vectors");
        b->type = (lt == PQ_T_SCALAR && rt == PQ_T_SCALAR) ? PQ_T_SCALAR : PQ_T_VECTOR;
        lhs = b;
    }
}

static struct pq_node *parse_unary(struct parser *p)
{
    struct pq_token *t = peek(p);
    if (t->type == TK_ADD || t->type == TK_SUB) {
        struct pq_token op = next(p);
        /* unary minus binds like *, so only ^ binds tighter: -a^b is -(a^b) */
        struct pq_node *x = parse_expr(p, PREC_POW);
        if (!x)
            return NULL;
        if (x->type != PQ_T_SCALAR && x->type != PQ_T_VECTOR)
            return fail_at(p, op.pos,
                           "unary expression only allowed on expressions of type scalar or "
                           "instant vector, got \"%s\"",
                           pq_type_name(x->type));
        if (x->kind == N_NUMBER) {
            if (op.type == TK_SUB) {
                x->num.v = -x->num.v;
                x->num.dur_ms = -x->num.dur_ms;
            }
            x->pos = op.pos;
            return x;
        }
        struct pq_node *n = node(p, N_UNARY, op.pos, x->end);
        if (!n)
            return NULL;
        n->type = x->type;
        n->un.op = op.type;
        n->un.expr = x;
        return n;
    }
    struct pq_node *x = parse_primary(p);
    return parse_postfix(p, x);
}

static struct pq_node *parse_expr(struct parser *p, int min_prec)
{
    if (++p->depth > PQ_MAX_DEPTH) {
        p->depth--;
        return fail_at(p, peek(p)->pos, "expression nested too deeply");
    }
    struct pq_node *lhs = parse_unary(p);
    if (lhs)
        lhs = parse_binary_rest(p, lhs, min_prec);
    p->depth--;
    return lhs;
}

/* ---- whole-tree checks ---------------------------------------------------------------- */

static bool check_tree(struct parser *p, struct pq_node *n, bool info_selector)
{
    if (!n)
        return true;
    switch (n->kind) {
    case N_VECTOR:
        if (!info_selector && !sel_has_nonempty(&n->vs.sel)) {
            fail_at(p, n->pos, "vector selector must contain at least one non-empty matcher");
            return false;
        }
        return true;
    case N_MATRIX:
        return check_tree(p, n->ms.vs, false);
    case N_SUBQUERY:
        return check_tree(p, n->sq.expr, false);
    case N_CALL:
        for (size_t i = 0; i < n->call.nargs; i++)
            if (!check_tree(p, n->call.args[i], n->call.fn->id == F_INFO && i == 1))
                return false;
        return true;
    case N_AGG:
        return check_tree(p, n->agg.param, false) && check_tree(p, n->agg.expr, false);
    case N_BINARY:
        return check_tree(p, n->bin.lhs, false) && check_tree(p, n->bin.rhs, false);
    case N_UNARY:
        return check_tree(p, n->un.expr, false);
    case N_PAREN:
        return check_tree(p, n->paren.expr, false);
    default:
        return true;
    }
}

/* ---- entry points ------------------------------------------------------------------------ */

void pq_expr_free(struct pq_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nsels; i++)
        ignis_selector_free(&e->sels[i]->vs.sel);
    free(e->sels);
    struct pq_arena a = e->arena;
    pq_arena_free(&a);
}

struct pq_expr *pq_parse(const char *s, size_t len, const struct pq_features *feat, char *err,
                         size_t errlen)
{
    static const struct pq_features defaults = {
        .at_modifier = true,
        .negative_offset = true,
    };
    struct pq_arena a = {0};
    struct pq_expr *e = pq_alloc(&a, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->arena = a;
    struct parser p = {
        .s = s,
        .len = len,
        .feat = feat ? feat : &defaults,
        .e = e,
        .err = err,
        .errlen = errlen,
        .dur_ctx = "duration",
    };
    if (errlen)
        err[0] = 0;
    e->text = pq_strndup(&e->arena, s, len);
    e->len = len;
    if (!e->text) {
        oom(&p);
        pq_expr_free(e);
        return NULL;
    }
    p.s = e->text; /* NUL-terminated copy */
    struct pq_token *t = peek(&p);
    if (t->type == TK_EOF) {
        fail_at(&p, t->pos, "no expression found in input");
        pq_expr_free(e);
        return NULL;
    }
    struct pq_node *root = parse_expr(&p, 1);
    if (root) {
        t = peek(&p);
        if (t->type != TK_EOF) {
            if (t->type == TK_RPAREN)
                fail_at(&p, t->pos, "unexpected right parenthesis ')'");
            else
                unexpected(&p, t, NULL, NULL);
            root = NULL;
        }
    }
    if (root && !check_tree(&p, root, false))
        root = NULL;
    if (!root || p.failed) {
        if (!p.failed)
            snprintf(err, errlen, "1:1: parse error: unknown error");
        pq_expr_free(e);
        return NULL;
    }
    e->root = root;
    return e;
}
