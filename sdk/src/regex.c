/* sdk/src/regex.c — RE2-syntax regular expressions, fully anchored, on PCRE2 (JIT when
 * the machine has it). The pattern is checked and rewritten where the two dialects
 * differ (\s, \v, octal escapes; Perl-only constructs refused), literal shapes are
 * recognised so the common `a|b|c`, `foo.*` and `.*foo.*` never reach PCRE2, and
 * Prometheus' replacement templates are expanded here. A compiled regex is immutable. */
#define _GNU_SOURCE           /* memmem */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ignis/selector.h>
#include "base_internal.h"
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define IG_HAVE_VALGRIND_H 1
#endif
#endif

/* Go's regexp refuses repeat counts above this (regexp/syntax: maximum repeat count). */
#define RE2_MAX_REPEAT 1000
/* Subjects up to this size are made valid UTF-8 on the stack, longer ones on the heap. */
#define SANITIZE_STACK 512
/* Longest group name looked up by a ${name} template reference (PCRE2 allows 32). */
#define MAX_GROUP_NAME 64

enum fast_kind {
    FAST_NONE = 0,    /* run PCRE2 */
    FAST_LITERALS,    /* one of lits[] */
    FAST_ALL,         /* .* */
    FAST_NONEMPTY,    /* .+ */
    FAST_PREFIX_ALL,  /* lit.* */
    FAST_PREFIX_PLUS, /* lit.+ */
    FAST_SUFFIX,      /* .*lit */
    FAST_CONTAINS,    /* .*lit.* */
};

struct ignis_regex {
    pcre2_code *code;
    uint32_t pairs; /* capture groups + 1 */
    char *src;
    size_t src_len;

    enum fast_kind fast;
    char *fast_lit; /* FAST_PREFIX_*, FAST_SUFFIX, FAST_CONTAINS */
    size_t fast_lit_len;

    /* Literal set, sorted bytewise (shorter prefix first), no duplicates. */
    const char **lits;
    size_t *lit_lens;
    size_t nlits;
    char *lit_bytes;

    char *prefix;
    size_t prefix_len;
};

/* ---- errors ---------------------------------------------------------------------- */

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

/* ---- translating RE2 syntax to PCRE2 ---------------------------------------------- */

/* Output pattern, with the source offset of every output byte so PCRE2's error
 * offsets can be reported in terms of what the user wrote. */
struct xbuf {
    char *p;
    size_t *map;
    size_t n, cap;
    bool oom;
};

static void xput(struct xbuf *b, const char *s, size_t n, size_t src_off)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        size_t *nm = realloc(b->map, cap * sizeof *nm);
        if (!nm) {
            b->oom = true;
            return;
        }
        b->map = nm;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    for (size_t k = 0; k < n; k++)
        b->map[b->n + k] = src_off;
    b->n += n;
    b->p[b->n] = '\0';
}

#define XPUT_LIT(b, lit, at) xput(b, lit, sizeof lit - 1, at)

static void xputf(struct xbuf *b, size_t src_off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xputf(struct xbuf *b, size_t src_off, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        xput(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1, src_off);
}

static bool is_octal(char c)
{
    return c >= '0' && c <= '7';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Length of the UTF-8 sequence starting at p[i] (1 for anything odd). */
static size_t seq_len(const char *p, size_t len, size_t i)
{
    unsigned cp;
    size_t n = ig_utf8_decode(p + i, len - i, &cp);
    return n ? n : 1;
}

/* Parses a repeat {n}, {n,}, {n,m} at p[i] == '{'. Returns its length, 0 when the text
 * is not a repeat (then `{` is a literal, in RE2 and PCRE2 alike). */
static size_t repeat_len(const char *p, size_t len, size_t i, long *lo, long *hi)
{
    size_t j = i + 1;
    long a = 0, b;
    size_t d = 0;
    while (j < len && p[j] >= '0' && p[j] <= '9') {
        if (a <= 100000)
            a = a * 10 + (p[j] - '0');
        j++;
        d++;
    }
    if (d == 0 || j >= len)
        return 0;
    if (p[j] == '}') {
        *lo = *hi = a;
        return j + 1 - i;
    }
    if (p[j] != ',')
        return 0;
    j++;
    if (j < len && p[j] == '}') {
        *lo = a;
        *hi = -1;
        return j + 1 - i;
    }
    b = 0;
    d = 0;
    while (j < len && p[j] >= '0' && p[j] <= '9') {
        if (b <= 100000)
            b = b * 10 + (p[j] - '0');
        j++;
        d++;
    }
    if (d == 0 || j >= len || p[j] != '}')
        return 0;
    *lo = a;
    *hi = b;
    return j + 1 - i;
}

/* After a repetition operator ending just before p[j] (and its optional lazy `?`),
 * another operator is an error in RE2 (PCRE2 would read `*+` as possessive). */
static int check_nested_repeat(const char *p, size_t len, size_t op_start, size_t j, char *err,
                               size_t errlen)
{
    long lo, hi;
    size_t rl = 0;
    if (j < len && (p[j] == '*' || p[j] == '+' || p[j] == '?' ||
                    (p[j] == '{' && (rl = repeat_len(p, len, j, &lo, &hi)) > 0))) {
        size_t end = j + (rl ? rl : 1);
        set_err(err, errlen,
                "error parsing regexp: invalid nested repetition operator: `%.*s` (at offset %zu)",
                (int)(end - op_start), p + op_start, op_start);
        return -1;
    }
    return 0;
}

/* Translates one escape at p[*i] == '\\'. */
static int translate_escape(const char *p, size_t len, size_t *i, bool in_class, struct xbuf *b,
                            char *err, size_t errlen)
{
    size_t at = *i;
    if (at + 1 >= len) {
        set_err(err, errlen,
                "error parsing regexp: trailing backslash at end of expression (at offset %zu)",
                at);
        return -1;
    }
    char c = p[at + 1];
    if (c >= '0' && c <= '7') {
        /* Octal, up to three digits; a lone \1..\7 is a backreference, which RE2
         * does not have. */
        size_t j = at + 1;
        unsigned v = 0;
        while (j < len && j < at + 4 && is_octal(p[j]))
            v = v * 8 + (unsigned)(p[j++] - '0');
        if (c != '0' && j == at + 2)
            goto bad;
        xputf(b, at, "\\x{%x}", v);
        *i = j;
        return 0;
    }
    switch (c) {
    case 'a':
    case 'f':
    case 't':
    case 'n':
    case 'r':
    case 'd':
    case 'D':
    case 'w':
    case 'W':
        xput(b, p + at, 2, at);
        *i = at + 2;
        return 0;
    case 'b':
    case 'B':
    case 'A':
    case 'z':
        if (in_class)
            goto bad;
        xput(b, p + at, 2, at);
        *i = at + 2;
        return 0;
    case 'v': /* RE2: vertical tab only; PCRE2: any vertical space */
        XPUT_LIT(b, "\\x{0b}", at);
        *i = at + 2;
        return 0;
    case 's': /* RE2's \s is [\t\n\f\r ]; PCRE2's also takes \v */
        if (in_class)
            XPUT_LIT(b, "\\t\\n\\f\\r ", at);
        else
            XPUT_LIT(b, "[\\t\\n\\f\\r ]", at);
        *i = at + 2;
        return 0;
    case 'S':
        if (in_class)
            XPUT_LIT(b, "\\x{0}-\\x{8}\\x{b}\\x{e}-\\x{1f}\\x{21}-\\x{10ffff}", at);
        else
            XPUT_LIT(b, "[^\\t\\n\\f\\r ]", at);
        *i = at + 2;
        return 0;
    case 'x': {
        size_t j = at + 2;
        unsigned long v = 0;
        if (j < len && p[j] == '{') {
            j++;
            size_t d = 0;
            while (j < len && hexval(p[j]) >= 0) {
                v = v * 16 + (unsigned long)hexval(p[j]);
                if (v > 0x10ffff)
                    goto bad;
                j++;
                d++;
            }
            if (d == 0 || j >= len || p[j] != '}')
                goto bad;
            j++;
        } else {
            if (j + 2 > len || hexval(p[j]) < 0 || hexval(p[j + 1]) < 0)
                goto bad;
            v = (unsigned long)(hexval(p[j]) * 16 + hexval(p[j + 1]));
            j += 2;
        }
        xputf(b, at, "\\x{%lx}", v);
        *i = j;
        return 0;
    }
    case 'p':
    case 'P': {
        size_t j = at + 2;
        if (j >= len)
            goto bad;
        if (p[j] == '{') {
            while (j < len && p[j] != '}')
                j++;
            if (j >= len)
                goto bad;
            j++;
        } else {
            j += seq_len(p, len, j);
        }
        xput(b, p + at, j - at, at);
        *i = j;
        return 0;
    }
    case 'Q': {
        /* Literal text up to \E (or the end); PCRE2 reads \Q...\E the same way. */
        size_t j = at + 2;
        while (j < len && !(p[j] == '\\' && j + 1 < len && p[j + 1] == 'E'))
            j++;
        xput(b, p + at, j - at, at);
        if (j < len) {
            xput(b, "\\E", 2, j);
            j += 2;
        }
        *i = j;
        return 0;
    }
    default:
        if ((unsigned char)c < 0x80 && !is_word(c)) {
            xput(b, p + at, 2, at); /* escaped punctuation */
            *i = at + 2;
            return 0;
        }
        break;
    }
bad:;
    size_t n = 1 + seq_len(p, len, at + 1);
    if (c == 'x' || c == 'p' || c == 'P') {
        /* show what was there, as Go does, up to a sensible length */
        n = 2;
        while (at + n < len && n < 12 && p[at + n] != '\\')
            n++;
    }
    set_err(err, errlen, "error parsing regexp: invalid escape sequence: `%.*s` (at offset %zu)",
            (int)n, p + at, at);
    return -1;
}

/* Checks the text after "(?" at p[i] (i points at '?'). Accepts what RE2 accepts:
 * (?:, (?P<name>, (?<name>, flags (?imsU-imsU) and (?flags:. */
static int check_group(const char *p, size_t len, size_t open, char *err, size_t errlen)
{
    size_t j = open + 2;
    if (j < len && p[j] == ':')
        return 0;
    if (j < len && p[j] == 'P' && j + 1 < len && p[j + 1] == '<')
        return 0;
    if (j < len && p[j] == '<' && j + 1 < len && p[j + 1] != '=' && p[j + 1] != '!')
        return 0;
    bool neg = false, any = false, after_neg = false;
    while (j < len) {
        char c = p[j];
        if (c == 'i' || c == 'm' || c == 's' || c == 'U') {
            any = true;
            if (neg)
                after_neg = true;
        } else if (c == '-' && !neg) {
            neg = true;
        } else if ((c == ')' || c == ':') && any && (!neg || after_neg)) {
            return 0;
        } else {
            break;
        }
        j++;
    }
    size_t n = (j < len ? j + seq_len(p, len, j) : len) - open;
    if (n > 16)
        n = 16;
    if (j < len && (p[j] == ')' || p[j] == ':'))
        set_err(err, errlen,
                "error parsing regexp: missing argument to flags: `%.*s` (at offset %zu)", (int)n,
                p + open, open);
    else
        set_err(err, errlen,
                "error parsing regexp: invalid or unsupported Perl syntax: `%.*s` (at offset %zu)",
                (int)n, p + open, open);
    return -1;
}

static int translate(const char *p, size_t len, struct xbuf *b, char *err, size_t errlen)
{
    size_t i = 0;
    bool in_class = false;
    while (i < len) {
        char c = p[i];
        if (c == '\\') {
            if (translate_escape(p, len, &i, in_class, b, err, errlen) < 0)
                return -1;
            continue;
        }
        if (in_class) {
            if (c == '[' && i + 1 < len && p[i + 1] == ':') {
                /* [:alpha:] inside a class: copy through its closing ":]" */
                const char *e = NULL;
                for (size_t j = i + 2; j + 1 < len; j++)
                    if (p[j] == ':' && p[j + 1] == ']') {
                        e = p + j;
                        break;
                    }
                if (e) {
                    size_t n = (size_t)(e - (p + i)) + 2;
                    xput(b, p + i, n, i);
                    i += n;
                    continue;
                }
            }
            if (c == '[') {
                /* any other '[' in a class is literal in RE2; PCRE2 would read "[." and
                 * "[=" as POSIX collating syntax */
                XPUT_LIT(b, "\\[", i);
                i++;
                continue;
            }
            if (c == ']')
                in_class = false;
            xput(b, p + i, 1, i);
            i++;
            continue;
        }
        switch (c) {
        case '[':
            in_class = true;
            xput(b, p + i, 1, i);
            i++;
            if (i < len && p[i] == '^') {
                xput(b, p + i, 1, i);
                i++;
            }
            if (i < len && p[i] == ']') { /* a leading ] is literal */
                xput(b, p + i, 1, i);
                i++;
            } else if (i < len && (p[i] == ':' || p[i] == '.' || p[i] == '=')) {
                /* "[:alpha:]" outside brackets is a plain class in RE2, POSIX syntax
                 * (an error) to PCRE2 */
                xput(b, "\\", 1, i);
                xput(b, p + i, 1, i);
                i++;
            }
            continue;
        case '(':
            if (i + 1 < len && p[i + 1] == '*') {
                set_err(err, errlen,
                        "error parsing regexp: missing argument to repetition operator: `*` "
                        "(at offset %zu)",
                        i + 1);
                return -1;
            }
            if (i + 1 < len && p[i + 1] == '?' && check_group(p, len, i, err, errlen) < 0)
                return -1;
            xput(b, p + i, 1, i);
            i++;
            continue;
        case '*':
        case '+':
        case '?': {
            size_t op = i;
            xput(b, p + i, 1, i);
            i++;
            if (i < len && p[i] == '?') {
                xput(b, p + i, 1, i);
                i++;
            }
            if (check_nested_repeat(p, len, op, i, err, errlen) < 0)
                return -1;
            continue;
        }
        case '{': {
            long lo, hi;
            size_t rl = repeat_len(p, len, i, &lo, &hi);
            if (rl == 0) {
                xput(b, "\\{", 2, i); /* a literal brace, said plainly to PCRE2 */
                i++;
                continue;
            }
            if (lo > RE2_MAX_REPEAT || hi > RE2_MAX_REPEAT || (hi >= 0 && hi < lo)) {
                set_err(err, errlen,
                        "error parsing regexp: invalid repeat count: `%.*s` (at offset %zu)",
                        (int)rl, p + i, i);
                return -1;
            }
            size_t op = i;
            xput(b, p + i, rl, i);
            i += rl;
            if (i < len && p[i] == '?') {
                xput(b, p + i, 1, i);
                i++;
            }
            if (check_nested_repeat(p, len, op, i, err, errlen) < 0)
                return -1;
            continue;
        }
        default:
            xput(b, p + i, 1, i);
            i++;
        }
    }
    return 0;
}

/* ---- literal analysis -------------------------------------------------------------- */

/* Skips one syntactic element that cannot contain a top-level '|' or ')': an escape
 * (\Q...\E whole), a character class, or one byte. Returns the index after it. */
static size_t skip_element(const char *p, size_t len, size_t i)
{
    if (p[i] == '\\') {
        if (i + 1 < len && p[i + 1] == 'Q') {
            size_t j = i + 2;
            while (j < len && !(p[j] == '\\' && j + 1 < len && p[j + 1] == 'E'))
                j++;
            return j < len ? j + 2 : len;
        }
        return i + 2 <= len ? i + 2 : len;
    }
    if (p[i] == '[') {
        size_t j = i + 1;
        if (j < len && p[j] == '^')
            j++;
        if (j < len && p[j] == ']')
            j++;
        while (j < len && p[j] != ']') {
            if (p[j] == '\\')
                j += 2;
            else if (p[j] == '[' && j + 1 < len && p[j + 1] == ':') {
                size_t k = j + 2;
                while (k + 1 < len && !(p[k] == ':' && p[k + 1] == ']'))
                    k++;
                j = (k + 1 < len) ? k + 2 : j + 1;
            } else
                j++;
        }
        return j < len ? j + 1 : len;
    }
    return i + 1;
}

/* Index of the ')' closing the '(' at p[open], or len when there is none. */
static size_t matching_paren(const char *p, size_t len, size_t open)
{
    int depth = 0;
    size_t i = open;
    while (i < len) {
        if (p[i] == '(')
            depth++;
        else if (p[i] == ')' && --depth == 0)
            return i;
        i = skip_element(p, len, i);
    }
    return len;
}

enum item_kind { IT_LIT, IT_STAR, IT_PLUS, IT_OTHER };

/* What one alternative looks like: its literal runs and `.*`/`.+` items, in order,
 * up to the first item that is neither; and the literal bytes every match of it
 * starts with. */
struct branch {
    enum item_kind items[4];
    size_t nitems;
    bool other; /* something beyond the shapes we recognise */
    char *lit;  /* the concatenated literal run(s) (only one run is kept: see shape) */
    size_t lit_len;
    size_t nlitruns;
    char *pfx;
    size_t pfx_len;
    bool pfx_done;
};

static int buf_append(char **buf, size_t *n, const char *s, size_t k)
{
    char *nb = realloc(*buf, *n + k + 1);
    if (!nb)
        return -1;
    memcpy(nb + *n, s, k);
    *n += k;
    nb[*n] = '\0';
    *buf = nb;
    return 0;
}

/* Decodes one literal character at p[*i] into out (up to 4 bytes). Returns its length,
 * or 0 when the element there is not a plain literal. U+FFFD is refused: invalid
 * bytes in a subject read as U+FFFD, which a bytewise comparison would not see. */
static size_t literal_char(const char *p, size_t len, size_t *i, char *out)
{
    size_t at = *i;
    unsigned cp;
    char c = p[at];
    if (c == '\\') {
        if (at + 1 >= len)
            return 0;
        char e = p[at + 1];
        switch (e) {
        case 'a':
            out[0] = '\a';
            *i = at + 2;
            return 1;
        case 'f':
            out[0] = '\f';
            *i = at + 2;
            return 1;
        case 't':
            out[0] = '\t';
            *i = at + 2;
            return 1;
        case 'n':
            out[0] = '\n';
            *i = at + 2;
            return 1;
        case 'r':
            out[0] = '\r';
            *i = at + 2;
            return 1;
        case 'v':
            out[0] = '\v';
            *i = at + 2;
            return 1;
        default:
            if ((unsigned char)e < 0x80 && !is_word(e)) {
                out[0] = e;
                *i = at + 2;
                return 1;
            }
            return 0;
        }
    }
    if (strchr(".+*?()|[]{}^$", c) && c != '\0')
        return 0;
    size_t n = ig_utf8_decode(p + at, len - at, &cp);
    if (n == 0 || cp == 0xfffd)
        return 0;
    memcpy(out, p + at, n);
    *i = at + n;
    return n;
}

static int analyze_branch(const char *p, size_t len, struct branch *br)
{
    size_t i = 0;
    while (i < len) {
        enum item_kind kind;
        char ch[4];
        size_t chn = 0;
        size_t j = i;
        bool dot = false;
        if (p[i] == '.') {
            dot = true;
            j = i + 1;
        } else {
            chn = literal_char(p, len, &j, ch);
            if (chn == 0) {
                br->other = true;
                br->pfx_done = true;
                return 0;
            }
        }
        char q = 0;
        if (j < len && (p[j] == '*' || p[j] == '+' || p[j] == '?' || p[j] == '{')) {
            q = p[j];
            if (q == '{') {
                br->other = true; /* a counted repeat: not worth the trouble */
                br->pfx_done = true;
                return 0;
            }
            j++;
            if (j < len && p[j] == '?')
                j++; /* laziness does not change what an anchored match accepts */
        }
        if (dot) {
            if (q == '*')
                kind = IT_STAR;
            else if (q == '+')
                kind = IT_PLUS;
            else
                kind = IT_OTHER;
        } else {
            kind = q ? IT_OTHER : IT_LIT;
        }
        /* the prefix every match starts with */
        if (!br->pfx_done) {
            if (!dot && (q == 0 || q == '+')) {
                if (buf_append(&br->pfx, &br->pfx_len, ch, chn) < 0)
                    return -1;
                if (q == '+')
                    br->pfx_done = true;
            } else {
                br->pfx_done = true;
            }
        }
        if (kind == IT_OTHER) {
            br->other = true;
            br->pfx_done = true;
            return 0;
        }
        if (kind == IT_LIT) {
            if (br->nitems == 0 || br->items[br->nitems - 1] != IT_LIT) {
                if (br->nitems == 4) {
                    br->other = true;
                    return 0;
                }
                br->items[br->nitems++] = IT_LIT;
                br->nlitruns++;
            }
            if (br->nlitruns == 1 && buf_append(&br->lit, &br->lit_len, ch, chn) < 0)
                return -1;
        } else {
            if (br->nitems == 4) {
                br->other = true;
                return 0;
            }
            br->items[br->nitems++] = kind;
        }
        i = j;
    }
    if (br->lit == NULL && buf_append(&br->lit, &br->lit_len, "", 0) < 0)
        return -1;
    if (br->pfx == NULL && buf_append(&br->pfx, &br->pfx_len, "", 0) < 0)
        return -1;
    return 0;
}

static int lit_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return na < nb ? -1 : (na > nb ? 1 : 0);
}

struct litref {
    const char *s;
    size_t n;
};

static int litref_cmp(const void *pa, const void *pb)
{
    const struct litref *a = pa, *b = pb;
    return lit_cmp(a->s, a->n, b->s, b->n);
}

static bool items_are(const struct branch *br, size_t n, ...)
{
    if (br->nitems != n || br->other)
        return false;
    va_list ap;
    va_start(ap, n);
    bool ok = true;
    for (size_t k = 0; k < n; k++)
        if (br->items[k] != (enum item_kind)va_arg(ap, int))
            ok = false;
    va_end(ap);
    return ok;
}

/* Fills re's literal set, prefix and fast path from its source. Only called on a
 * pattern that compiled, so the syntax is known to be good. */
static int analyze(struct ignis_regex *re)
{
    const char *p = re->src;
    size_t len = re->src_len;
    int rc = -1;

    /* A group around the whole pattern does not change what it matches. */
    for (int k = 0; k < 8 && len >= 2 && p[0] == '('; k++) {
        if (matching_paren(p, len, 0) != len - 1)
            break;
        size_t skip = 1;
        if (len >= 3 && p[1] == '?') {
            if (p[2] != ':')
                break;
            skip = 3;
        }
        p += skip;
        len -= skip + 1;
    }

    /* Inline flags ((?i) and friends) can reach across alternatives: leave those
     * patterns to PCRE2 entirely. */
    for (size_t i = 0; i < len; i = skip_element(p, len, i)) {
        if (p[i] == '(' && i + 2 < len && p[i + 1] == '?' && p[i + 2] != ':' && p[i + 2] != 'P' &&
            p[i + 2] != '<') {
            re->prefix = calloc(1, 1);
            return re->prefix ? 0 : -1;
        }
    }

    /* Split at top-level bars. */
    size_t nb = 1;
    for (size_t i = 0; i < len;) {
        if (p[i] == '(') {
            size_t c = matching_paren(p, len, i);
            i = c < len ? c + 1 : len;
            continue;
        }
        if (p[i] == '|')
            nb++;
        i = skip_element(p, len, i);
    }
    struct branch *brs = calloc(nb, sizeof *brs);
    if (!brs)
        return -1;
    size_t start = 0, k = 0;
    for (size_t i = 0; i <= len;) {
        if (i < len && p[i] == '(') {
            size_t c = matching_paren(p, len, i);
            i = c < len ? c + 1 : len;
            continue;
        }
        if (i == len || p[i] == '|') {
            if (analyze_branch(p + start, i - start, &brs[k++]) < 0)
                goto out;
            if (i == len)
                break;
            start = i + 1;
            i++;
            continue;
        }
        i = skip_element(p, len, i);
    }
    nb = k;

    /* Prefix: the longest common prefix of every branch's prefix. */
    size_t pl = brs[0].pfx_len;
    for (size_t b = 1; b < nb; b++) {
        size_t m = 0;
        while (m < pl && m < brs[b].pfx_len && brs[b].pfx[m] == brs[0].pfx[m])
            m++;
        pl = m;
    }
    re->prefix = malloc(pl + 1);
    if (!re->prefix)
        goto out;
    if (pl)
        memcpy(re->prefix, brs[0].pfx, pl);
    re->prefix[pl] = '\0';
    re->prefix_len = pl;

    /* Literal set: every branch a plain literal. */
    bool all_lit = true;
    for (size_t b = 0; b < nb; b++)
        if (brs[b].other || !(brs[b].nitems == 0 || items_are(&brs[b], 1, IT_LIT)))
            all_lit = false;
    if (all_lit) {
        struct litref *refs = malloc(nb * sizeof *refs);
        size_t total = 0;
        if (!refs)
            goto out;
        for (size_t b = 0; b < nb; b++) {
            refs[b].s = brs[b].lit;
            refs[b].n = brs[b].lit_len;
            total += brs[b].lit_len;
        }
        qsort(refs, nb, sizeof *refs, litref_cmp);
        re->lits = malloc(nb * sizeof *re->lits);
        re->lit_lens = malloc(nb * sizeof *re->lit_lens);
        re->lit_bytes = malloc(total + 1);
        if (!re->lits || !re->lit_lens || !re->lit_bytes) {
            free(refs);
            goto out;
        }
        size_t off = 0, n = 0;
        for (size_t b = 0; b < nb; b++) {
            if (n > 0 && litref_cmp(&refs[b], &refs[b - 1]) == 0)
                continue;
            if (refs[b].n)
                memcpy(re->lit_bytes + off, refs[b].s, refs[b].n);
            re->lits[n] = re->lit_bytes + off;
            re->lit_lens[n] = refs[b].n;
            off += refs[b].n;
            n++;
        }
        free(refs);
        re->nlits = n;
        re->fast = FAST_LITERALS;
    } else if (nb == 1) {
        struct branch *br = &brs[0];
        if (items_are(br, 1, IT_STAR))
            re->fast = FAST_ALL;
        else if (items_are(br, 1, IT_PLUS))
            re->fast = FAST_NONEMPTY;
        else if (items_are(br, 2, IT_LIT, IT_STAR))
            re->fast = FAST_PREFIX_ALL;
        else if (items_are(br, 2, IT_LIT, IT_PLUS))
            re->fast = FAST_PREFIX_PLUS;
        else if (items_are(br, 2, IT_STAR, IT_LIT))
            re->fast = FAST_SUFFIX;
        else if (items_are(br, 3, IT_STAR, IT_LIT, IT_STAR))
            re->fast = FAST_CONTAINS;
        if (re->fast >= FAST_PREFIX_ALL) {
            re->fast_lit = br->lit;
            re->fast_lit_len = br->lit_len;
            br->lit = NULL;
        }
    }
    rc = 0;
out:
    for (size_t b = 0; b < nb; b++) {
        free(brs[b].lit);
        free(brs[b].pfx);
    }
    free(brs);
    return rc;
}

/* ---- compile / free ------------------------------------------------------------------ */

struct ignis_regex *ignis_regex_compile(const char *pattern, size_t pattern_len, char *err,
                                        size_t errlen)
{
    if (!pattern)
        pattern = "";
    if (!ignis_utf8_valid(pattern, pattern_len)) {
        set_err(err, errlen, "error parsing regexp: invalid UTF-8");
        return NULL;
    }
    struct xbuf b = {0};
    if (translate(pattern, pattern_len, &b, err, errlen) < 0) {
        free(b.p);
        free(b.map);
        return NULL;
    }
    xput(&b, "", 0, pattern_len); /* make sure p exists even for "" */
    struct ignis_regex *re = calloc(1, sizeof *re);
    if (b.oom || !re) {
        set_err(err, errlen, "out of memory compiling regexp");
        free(b.p);
        free(b.map);
        free(re);
        return NULL;
    }

    int ec;
    PCRE2_SIZE eo;
    uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY |
                    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C;
    re->code = pcre2_compile((PCRE2_SPTR)b.p, b.n, opts, &ec, &eo, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        size_t off = eo < b.n ? b.map[eo] : pattern_len;
        set_err(err, errlen, "error parsing regexp: %s (at offset %zu)", (char *)msg, off);
        free(b.p);
        free(b.map);
        free(re);
        return NULL;
    }
    free(b.p);
    free(b.map);
    /* JIT is an optimisation only: when it is missing or fails, the interpreter runs.
     * Under valgrind the interpreter runs too: valgrind cannot follow JIT-generated code
     * and reports its stack reads as uninitialised. */
#ifdef IG_HAVE_VALGRIND_H
    if (!RUNNING_ON_VALGRIND)
#endif
        (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);

    uint32_t caps = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &caps);
    re->pairs = caps + 1;
    re->src = malloc(pattern_len + 1);
    if (!re->src)
        goto oom;
    memcpy(re->src, pattern, pattern_len);
    re->src[pattern_len] = '\0';
    re->src_len = pattern_len;
    if (analyze(re) < 0)
        goto oom;
    return re;
oom:
    set_err(err, errlen, "out of memory compiling regexp");
    ignis_regex_free(re);
    return NULL;
}

void ignis_regex_free(struct ignis_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re->src);
    free(re->fast_lit);
    free(re->lits);
    free(re->lit_lens);
    free(re->lit_bytes);
    free(re->prefix);
    free(re);
}

const char *ignis_regex_source(const struct ignis_regex *re)
{
    return re ? re->src : "";
}

size_t ignis_regex_literals(const struct ignis_regex *re, const char *const **lits,
                            const size_t **lens)
{
    if (!re || re->nlits == 0)
        return 0;
    if (lits)
        *lits = (const char *const *)re->lits;
    if (lens)
        *lens = re->lit_lens;
    return re->nlits;
}

const char *ignis_regex_prefix(const struct ignis_regex *re, size_t *len)
{
    if (len)
        *len = re && re->prefix ? re->prefix_len : 0;
    return re && re->prefix ? re->prefix : "";
}

/* ---- matching ---------------------------------------------------------------------- */

/* One match-data block per thread, grown to the largest capture count seen, freed when
 * the thread exits. Matching takes no lock. */
struct md_cache {
    pcre2_match_data *md;
    uint32_t pairs;
};

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static bool md_key_ok;

static void md_destroy(void *p)
{
    struct md_cache *c = p;
    pcre2_match_data_free(c->md);
    free(c);
}

static void md_init(void)
{
    md_key_ok = pthread_key_create(&md_key, md_destroy) == 0;
}

/* Returns a match-data block with at least `pairs` pairs; *own is set when the caller
 * must free it (no thread cache available). */
static pcre2_match_data *md_get(uint32_t pairs, bool *own)
{
    *own = false;
    pthread_once(&md_once, md_init);
    if (!md_key_ok) {
        *own = true;
        return pcre2_match_data_create(pairs, NULL);
    }
    struct md_cache *c = pthread_getspecific(md_key);
    if (c && c->pairs >= pairs)
        return c->md;
    uint32_t want = pairs < 16 ? 16 : pairs;
    pcre2_match_data *md = pcre2_match_data_create(want, NULL);
    if (!md)
        return NULL;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c || pthread_setspecific(md_key, c) != 0) {
            free(c);
            *own = true;
            return md;
        }
    }
    pcre2_match_data_free(c->md);
    c->md = md;
    c->pairs = want;
    return md;
}

/* A subject PCRE2 can take in UTF mode: s itself when valid, otherwise a copy where
 * every byte that does not start a valid sequence reads as U+FFFD, as Go's regexp
 * decodes it. The copy lives in stack (when small) or in *heap (caller frees). */
static const char *sanitize(const char *s, size_t len, char *stack, char **heap, size_t *out_len)
{
    *heap = NULL;
    *out_len = len;
    if (ignis_utf8_valid(s, len))
        return s;
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *o = len * 3 <= SANITIZE_STACK ? stack : (*heap = malloc(len * 3));
    if (!o)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t k = ig_utf8_decode(s + i, len - i, &cp);
        if (k) {
            memcpy(o + n, s + i, k);
            n += k;
            i += k;
        } else {
            memcpy(o + n, "\xef\xbf\xbd", 3);
            n += 3;
            i++;
        }
    }
    *out_len = n;
    return o;
}

/* Runs PCRE2 on an already valid subject. Returns pcre2_match's result. */
static int run(const struct ignis_regex *re, const char *s, size_t len, pcre2_match_data *md)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)(s ? s : ""), len, 0, PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re->code, (PCRE2_SPTR)(s ? s : ""), len, 0,
                         PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
    return rc;
}

bool ig_regex_match_slow(const struct ignis_regex *re, const char *s, size_t len)
{
    char stack[SANITIZE_STACK];
    char *heap;
    size_t n;
    const char *subj = sanitize(s, len, stack, &heap, &n);
    if (!subj)
        return false;
    bool own;
    pcre2_match_data *md = md_get(1, &own);
    bool ok = false;
    if (md) {
        ok = run(re, subj, n, md) >= 0;
        if (own)
            pcre2_match_data_free(md);
    }
    free(heap);
    return ok;
}

static bool lits_contain(const struct ignis_regex *re, const char *s, size_t len)
{
    size_t lo = 0, hi = re->nlits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = lit_cmp(re->lits[mid], re->lit_lens[mid], s, len);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool ignis_regex_match(const struct ignis_regex *re, const char *s, size_t len)
{
    const char *l = re->fast_lit;
    size_t ll = re->fast_lit_len;
    switch (re->fast) {
    case FAST_LITERALS:
        return lits_contain(re, s, len);
    case FAST_ALL:
        return true;
    case FAST_NONEMPTY:
        return len > 0;
    case FAST_PREFIX_ALL:
        return len >= ll && memcmp(s, l, ll) == 0;
    case FAST_PREFIX_PLUS:
        return len > ll && memcmp(s, l, ll) == 0;
    case FAST_SUFFIX:
        return len >= ll && memcmp(s + len - ll, l, ll) == 0;
    case FAST_CONTAINS:
        return ll == 0 || (len >= ll && memmem(s, len, l, ll) != NULL);
    case FAST_NONE:
        break;
    }
    return ig_regex_match_slow(re, s, len);
}

/* ---- replacement templates ------------------------------------------------------------ */

struct out {
    char *p;
    size_t cap, n;
    bool full;
};

static void out_put(struct out *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (n >= o->cap - o->n) { /* keep a byte for the NUL */
        o->full = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

/* Expands a template as Prometheus' relabeling does (Go's regexp Expand): $$ is a
 * dollar; $name and ${name} take the longest run of [A-Za-z0-9_] as the name; a name
 * of digits is a group number; an unknown or unset group expands to nothing; a `$`
 * not followed by a name is copied as is. So "$1x" is the (absent) group "1x". */
long ignis_regex_replace(const struct ignis_regex *re, const char *s, size_t len, const char *tmpl,
                         char *out, size_t outlen)
{
    char stack[SANITIZE_STACK];
    char *heap;
    size_t n;
    const char *subj = sanitize(s, len, stack, &heap, &n);
    if (!subj)
        return -1;
    bool own;
    pcre2_match_data *md = md_get(re->pairs, &own);
    if (!md) {
        free(heap);
        return -1;
    }
    int rc = run(re, subj, n, md);
    if (rc < 0) {
        if (own)
            pcre2_match_data_free(md);
        free(heap);
        return -1;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t set = rc == 0 ? pcre2_get_ovector_count(md) : (uint32_t)rc;
    struct out o = {.p = out, .cap = outlen, .n = 0, .full = outlen == 0};
    if (!tmpl)
        tmpl = "";
    for (size_t i = 0; tmpl[i];) {
        if (tmpl[i] != '$') {
            size_t j = i;
            while (tmpl[j] && tmpl[j] != '$')
                j++;
            out_put(&o, tmpl + i, j - i);
            i = j;
            continue;
        }
        if (tmpl[i + 1] == '$') {
            out_put(&o, "$", 1);
            i += 2;
            continue;
        }
        size_t ns, ne, next;
        if (tmpl[i + 1] == '{') {
            ns = i + 2;
            ne = ns;
            while (is_word(tmpl[ne]))
                ne++;
            if (ne == ns || tmpl[ne] != '}') {
                out_put(&o, "$", 1);
                i++;
                continue;
            }
            next = ne + 1;
        } else {
            ns = i + 1;
            ne = ns;
            while (is_word(tmpl[ne]))
                ne++;
            if (ne == ns) {
                out_put(&o, "$", 1);
                i++;
                continue;
            }
            next = ne;
        }
        long grp = -1;
        bool digits = true;
        for (size_t k = ns; k < ne; k++)
            if (tmpl[k] < '0' || tmpl[k] > '9')
                digits = false;
        if (digits) {
            if (ne - ns <= 9) {
                grp = 0;
                for (size_t k = ns; k < ne; k++)
                    grp = grp * 10 + (tmpl[k] - '0');
            }
        } else if (ne - ns < MAX_GROUP_NAME) {
            char name[MAX_GROUP_NAME];
            memcpy(name, tmpl + ns, ne - ns);
            name[ne - ns] = '\0';
            int g = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);
            if (g > 0)
                grp = g;
        }
        if (grp >= 0 && (uint32_t)grp < set && ov[2 * grp] != PCRE2_UNSET)
            out_put(&o, subj + ov[2 * grp], ov[2 * grp + 1] - ov[2 * grp]);
        i = next;
    }
    if (own)
        pcre2_match_data_free(md);
    free(heap);
    if (o.full)
        return -2;
    o.p[o.n] = '\0';
    return (long)o.n;
}
