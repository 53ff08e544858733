/* sdk/src/textparse.c — the syntax of Prometheus text 0.0.4 and OpenMetrics 1.0 text: one
 * line at a time, in place on the caller's body, no allocation. Labels are only checked
 * and counted while scanning; they are cut into pairs only when a caller asks, so a
 * scrape cache that knows the series' raw bytes never pays for them. Strict mode's
 * semantic rules live in textparse_strict.c. Written from the two specifications. */
#define _GNU_SOURCE
#include "textparse_int.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Prometheus' normal NaN (value.NormalNaN): every scraped NaN becomes this one, so no
 * body can forge the staleness marker 0x7ff0000000000002. */
#define IG_NORMAL_NAN_BITS 0x7ff8000000000001ULL
/* OpenMetrics 1.0, "Exemplars": label names and values together at most 128 code points. */
#define IG_EXEMPLAR_MAX_RUNES 128
/* Number tokens up to this length are converted on the stack; longer ones (only ever
 * seen in tests: 40 leading zeros) take a heap copy. */
#define IG_NUM_STACK 128

static double normal_nan(void)
{
    uint64_t b = IG_NORMAL_NAN_BITS;
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* ---- characters -------------------------------------------------------------------- */

/* Character classes, one table lookup per byte on the hot path. */
enum {
    C_MSTART = 1, /* [a-zA-Z_:] */
    C_MNAME = 2,  /* [a-zA-Z0-9_:] */
    C_LSTART = 4, /* [a-zA-Z_] */
    C_LNAME = 8,  /* [a-zA-Z0-9_] */
    C_QSTOP = 16, /* ends the fast scan of a quoted string: " \ newline, non-ASCII */
    C_TSTOP = 32, /* ends a 0.0.4 value token: blank, tab, newline, { */
    C_OSTOP = 64, /* ends an OpenMetrics token: blank, newline */
};
#define C_LETTER (C_MSTART | C_MNAME | C_LSTART | C_LNAME)
static const uint8_t cclass[256] = {
    ['a' ... 'z'] = C_LETTER,
    ['A' ... 'Z'] = C_LETTER,
    ['_'] = C_LETTER,
    [':'] = C_MSTART | C_MNAME,
    ['0' ... '9'] = C_MNAME | C_LNAME,
    ['"'] = C_QSTOP,
    ['\\'] = C_QSTOP,
    ['\n'] = C_QSTOP | C_TSTOP | C_OSTOP,
    [' '] = C_TSTOP | C_OSTOP,
    ['\t'] = C_TSTOP,
    ['{'] = C_TSTOP,
    [0x80 ... 0xff] = C_QSTOP,
};

static inline bool is_mname_start(unsigned char c)
{
    return cclass[c] & C_MSTART;
}
static inline bool is_mname(unsigned char c)
{
    return cclass[c] & C_MNAME;
}
static inline bool is_lname_start(unsigned char c)
{
    return cclass[c] & C_LSTART;
}
static inline bool is_lname(unsigned char c)
{
    return cclass[c] & C_LNAME;
}
static inline bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Skips bytes of class `want` (all bits set: and-ed lookups) eight at a time, then one
 * by one: names and quoted strings are long enough for the unrolled step to pay. */
static inline const char *skip_all(const char *q, const char *e, uint8_t want)
{
    const unsigned char *u = (const unsigned char *)q;
    while (e - (const char *)u >= 8 &&
           (cclass[u[0]] & cclass[u[1]] & cclass[u[2]] & cclass[u[3]] & cclass[u[4]] &
            cclass[u[5]] & cclass[u[6]] & cclass[u[7]] & want)) {
        u += 8;
    }
    while ((const char *)u < e && (cclass[*u] & want)) {
        u++;
    }
    return (const char *)u;
}

/* Skips bytes of no class in `stop` (or-ed lookups), eight at a time, then one by one. */
static inline const char *skip_none(const char *q, const char *e, uint8_t stop)
{
    const unsigned char *u = (const unsigned char *)q;
    while (e - (const char *)u >= 8 &&
           !((cclass[u[0]] | cclass[u[1]] | cclass[u[2]] | cclass[u[3]] | cclass[u[4]] |
              cclass[u[5]] | cclass[u[6]] | cclass[u[7]]) &
             stop)) {
        u += 8;
    }
    while ((const char *)u < e && !(cclass[*u] & stop)) {
        u++;
    }
    return (const char *)u;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + k >= n) {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += k + 1;
    }
    return true;
}

/* ---- errors ------------------------------------------------------------------------ */

static void describe(const struct ig_tp *p, const char *at, char *buf, size_t n)
{
    if (at >= p->end) {
        snprintf(buf, n, "end of input");
    } else if (*at == '\n') {
        snprintf(buf, n, "end of line");
    } else if ((unsigned char)*at >= 0x20 && (unsigned char)*at < 0x7f) {
        snprintf(buf, n, "'%c'", *at);
    } else {
        snprintf(buf, n, "byte 0x%02x", (unsigned char)*at);
    }
}

int ig_tp_fail(struct ig_tp *p, const char *at, const char *fmt, ...)
{
    if (p->state == IG_TP_FAILED) {
        return -1;
    }
    p->state = IG_TP_FAILED;
    p->entry = IGNIS_TP_ERROR;
    p->err_line = p->lineno ? p->lineno : 1;
    p->err_col = (at && at >= p->line) ? (uint32_t)(at - p->line) + 1 : 1;
    int k = snprintf(p->err, sizeof p->err, "line %u col %u: ", p->err_line, p->err_col);
    if (k < 0 || (size_t)k >= sizeof p->err) {
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + k, sizeof p->err - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

/* "expected X, got Y" at `at`. */
static int expected(struct ig_tp *p, const char *at, const char *what)
{
    char got[32];
    describe(p, at, got, sizeof got);
    return ig_tp_fail(p, at, "expected %s, got %s", what, got);
}

/* ---- numbers ----------------------------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool match_ci(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    return n == w && strncasecmp(s, word, w) == 0;
}

/* Slow path: strtod in the C locale on a NUL-terminated copy. */
static int slow_float(const char *s, size_t n, double *out)
{
    char stackbuf[IG_NUM_STACK];
    char *buf = stackbuf;
    if (n >= sizeof stackbuf) {
        buf = malloc(n + 1);
        if (!buf) {
            return -1;
        }
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    pthread_once(&c_locale_once, c_locale_init);
    char *endp;
    errno = 0;
    double d = c_locale ? strtod_l(buf, &endp, c_locale) : strtod(buf, &endp);
    bool ok = endp == buf + n;
    if (buf != stackbuf) {
        free(buf);
    }
    if (!ok) {
        return -1;
    }
    /* ERANGE: Go returns ±Inf or the nearest value and an error for overflow; a value
     * beyond the double range is refused, underflow to zero/subnormal is accepted. */
    if (errno == ERANGE && isinf(d)) {
        return -1;
    }
    *out = d;
    return 0;
}

/* The number grammar: OpenMetrics' ABNF, [sign] digits [. digits] [e [sign] digits] (also
 * ".5"), [sign] inf / infinity, nan (words case-insensitive). It is also exactly what
 * Prometheus' parsers and promtool take from Go's strconv.ParseFloat once they refuse 'p',
 * 'P' and '_' (Go needs a 'p' for hex), so every flavor reads it; the flavor argument
 * stays for the day the formats part. Returns 0 and *out, or -1. */
int ig_tp_parse_float(const char *s, size_t n, int flavor, double *out)
{
    (void)flavor;
    const char *q = s, *e = s + n;
    bool neg = false;
    if (n == 0) {
        return -1;
    }
    if (*q == '+' || *q == '-') {
        neg = *q == '-';
        q++;
    }
    if (q == e) {
        return -1;
    }
    unsigned char c0 = (unsigned char)*q | 0x20;
    if (c0 == 'i') {
        if (match_ci(q, (size_t)(e - q), "inf") || match_ci(q, (size_t)(e - q), "infinity")) {
            *out = neg ? -INFINITY : INFINITY;
            return 0;
        }
        return -1;
    }
    if (c0 == 'n') {
        if (q == s && match_ci(q, n, "nan")) {
            *out = normal_nan();
            return 0;
        }
        return -1;
    }
    /* Hexadecimal: Go's ParseFloat needs a 'p' exponent for it, and Prometheus and
     * promtool refuse any 'p': no hex number reaches Prometheus, so none is taken. */
    /* Decimal. Up to 19 significant digits are gathered for the exact fast path. */
    uint64_t mant = 0;
    int sig = 0, dropped = 0, frac = 0;
    bool any = false, dot = false;
    for (; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if (c >= '0' && c <= '9') {
            any = true;
            if (mant == 0 && c == '0') {
                if (dot) {
                    frac++;
                }
                continue;
            }
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(c - '0');
                sig++;
                if (dot) {
                    frac++;
                }
            } else {
                if (!dot) {
                    dropped++;
                }
            }
        } else if (c == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (!any) {
        return -1;
    }
    long ex = 0;
    if (q < e) {
        if ((*q | 0x20) != 'e') {
            return -1;
        }
        q++;
        bool eneg = false;
        if (q < e && (*q == '+' || *q == '-')) {
            eneg = *q == '-';
            q++;
        }
        if (q == e) {
            return -1;
        }
        for (; q < e; q++) {
            if (*q < '0' || *q > '9') {
                return -1;
            }
            if (ex < 100000) {
                ex = ex * 10 + (*q - '0');
            }
        }
        if (eneg) {
            ex = -ex;
        }
    }
    long k = ex + dropped - frac;
    if (sig < 19 || (sig == 19 && dropped == 0)) {
        /* Exact when the mantissa fits in 53 bits and the power of ten is exact. */
        if (mant == 0) {
            *out = neg ? -0.0 : 0.0;
            return 0;
        }
        if (mant <= (1ULL << 53) && k >= -22 && k <= 22) {
            double d = (double)mant;
            d = k >= 0 ? d * pow10_exact[k] : d / pow10_exact[-k];
            *out = neg ? -d : d;
            return 0;
        }
    }
    return slow_float(s, n, out);
}

/* 0.0.4 timestamps: a decimal int64 (milliseconds), optional sign. */
static int parse_int64(const char *s, size_t n, int64_t *out)
{
    const char *q = s, *e = s + n;
    bool neg = false;
    if (q < e && (*q == '+' || *q == '-')) {
        neg = *q == '-';
        q++;
    }
    if (q == e) {
        return -1;
    }
    uint64_t v = 0;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; q < e; q++) {
        if (*q < '0' || *q > '9') {
            return -1;
        }
        unsigned d = (unsigned)(*q - '0');
        if (v > (lim - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (neg) {
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        *out = (int64_t)v;
    }
    /* INT64_MIN is IGNIS_NO_TIMESTAMP: keep it out of sample timestamps. */
    if (*out == INT64_MIN) {
        *out = INT64_MIN + 1;
    }
    return 0;
}

/* OpenMetrics timestamps are seconds: convert to milliseconds exactly when the token is
 * plain decimal (truncating below the millisecond), else through the double; the result
 * saturates to the int64 range (OpenMetrics allows seconds beyond it). */
static int64_t om_ts_ms(const char *s, size_t n, double d)
{
    const char *q = s, *e = s + n;
    bool neg = false;
    if (q < e && (*q == '+' || *q == '-')) {
        neg = *q == '-';
        q++;
    }
    bool plain = true;
    for (const char *r = q; r < e; r++) {
        if (*r == 'e' || *r == 'E') {
            plain = false;
            break;
        }
    }
    if (plain) {
        uint64_t v = 0;
        bool over = false;
        for (; q < e && *q != '.'; q++) {
            if (v > (uint64_t)INT64_MAX / 10000) {
                over = true;
                break;
            }
            v = v * 10 + (unsigned)(*q - '0');
        }
        uint64_t ms = 0;
        if (!over) {
            ms = v * 1000;
            if (q < e && *q == '.') {
                q++;
                unsigned mul = 100;
                for (int i = 0; i < 3 && q < e; i++, q++, mul /= 10) {
                    ms += (uint64_t)(*q - '0') * mul;
                }
            }
        }
        if (over || ms > (uint64_t)INT64_MAX) {
            return neg ? INT64_MIN + 1 : INT64_MAX;
        }
        int64_t r = (int64_t)ms;
        return neg ? -r : r;
    }
    double m = d * 1000.0;
    if (m >= 9.2233720368547748e18) {
        return INT64_MAX;
    }
    if (m <= -9.2233720368547748e18) {
        return INT64_MIN + 1;
    }
    return (int64_t)m;
}

/* ---- escapes ----------------------------------------------------------------------- */

size_t ig_tp_unescape(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[i + 1];
            if (c == '\\' || c == '"') {
                out[o++] = c;
                i++;
                continue;
            }
            if (c == 'n') {
                out[o++] = '\n';
                i++;
                continue;
            }
        }
        out[o++] = s[i];
    }
    return o;
}

/* 0.0.4 HELP text: only \\ and \n are escapes. */
static size_t unescape_help004(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '\\' || s[i + 1] == 'n')) {
            out[o++] = s[i + 1] == 'n' ? '\n' : '\\';
            i++;
            continue;
        }
        out[o++] = s[i];
    }
    return o;
}

/* ---- families ---------------------------------------------------------------------- */

static const char *const suffix_text[] = {
    [IG_SFX_NONE] = "",          [IG_SFX_TOTAL] = "_total", [IG_SFX_CREATED] = "_created",
    [IG_SFX_BUCKET] = "_bucket", [IG_SFX_COUNT] = "_count", [IG_SFX_SUM] = "_sum",
    [IG_SFX_GCOUNT] = "_gcount", [IG_SFX_GSUM] = "_gsum",   [IG_SFX_INFO] = "_info",
};

int ig_tp_suffix_of(int format, int type, const char *s, size_t slen, const char *f, size_t flen)
{
    static const uint8_t counter_om[] = {IG_SFX_TOTAL, IG_SFX_CREATED, 0xff};
    static const uint8_t counter_004[] = {IG_SFX_NONE, IG_SFX_TOTAL, IG_SFX_CREATED, 0xff};
    static const uint8_t plain[] = {IG_SFX_NONE, 0xff};
    static const uint8_t info[] = {IG_SFX_INFO, 0xff};
    static const uint8_t hist[] = {IG_SFX_BUCKET, IG_SFX_COUNT, IG_SFX_SUM, IG_SFX_CREATED, 0xff};
    static const uint8_t ghist[] = {IG_SFX_BUCKET, IG_SFX_GCOUNT, IG_SFX_GSUM, 0xff};
    static const uint8_t summary[] = {IG_SFX_NONE, IG_SFX_COUNT, IG_SFX_SUM, IG_SFX_CREATED, 0xff};
    const uint8_t *set;
    switch (type) {
    case IGNIS_METRIC_COUNTER:
        set = format == IGNIS_TEXTPARSE_OPENMETRICS ? counter_om : counter_004;
        break;
    case IGNIS_METRIC_INFO:
        set = info;
        break;
    case IGNIS_METRIC_HISTOGRAM:
        set = hist;
        break;
    case IGNIS_METRIC_GAUGEHISTOGRAM:
        set = ghist;
        break;
    case IGNIS_METRIC_SUMMARY:
        set = summary;
        break;
    default:
        set = plain;
        break;
    }
    if (slen < flen || memcmp(s, f, flen) != 0) {
        return -1;
    }
    static const uint8_t suffix_len[] = {
        [IG_SFX_NONE] = 0,   [IG_SFX_TOTAL] = 6, [IG_SFX_CREATED] = 8,
        [IG_SFX_BUCKET] = 7, [IG_SFX_COUNT] = 6, [IG_SFX_SUM] = 4,
        [IG_SFX_GCOUNT] = 7, [IG_SFX_GSUM] = 5,  [IG_SFX_INFO] = 5,
    };
    for (; *set != 0xff; set++) {
        size_t tl = suffix_len[*set];
        if (slen == flen + tl && memcmp(s + flen, suffix_text[*set], tl) == 0) {
            return *set;
        }
    }
    return -1;
}

static int type_from_text(const char *s, size_t n, int format, int mode)
{
    static const struct {
        const char *name;
        int type;
        uint8_t om, p004; /* allowed in OpenMetrics, in 0.0.4 (strict) */
    } types[] = {
        {"counter", IGNIS_METRIC_COUNTER, 1, 1},
        {"gauge", IGNIS_METRIC_GAUGE, 1, 1},
        {"histogram", IGNIS_METRIC_HISTOGRAM, 1, 1},
        {"summary", IGNIS_METRIC_SUMMARY, 1, 1},
        {"untyped", IGNIS_METRIC_UNKNOWN, 0, 1},
        {"unknown", IGNIS_METRIC_UNKNOWN, 1, 0},
        {"gaugehistogram", IGNIS_METRIC_GAUGEHISTOGRAM, 1, 0},
        {"info", IGNIS_METRIC_INFO, 1, 0},
        {"stateset", IGNIS_METRIC_STATESET, 1, 0},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strlen(types[i].name) == n && memcmp(types[i].name, s, n) == 0) {
            bool ok = format == IGNIS_TEXTPARSE_OPENMETRICS ? types[i].om : types[i].p004;
            /* Scrape mode takes any type name either format's parser in Prometheus
             * knows, so a body never fails on a name Prometheus would accept. */
            if (ok || mode == IGNIS_TEXTPARSE_SCRAPE) {
                return types[i].type;
            }
            return -1;
        }
    }
    return -1;
}

/* ---- lexing pieces ----------------------------------------------------------------- */

struct qstr {
    bool esc; /* holds a backslash */
    bool nonascii;
    uint32_t runes; /* code points after unescaping (for the exemplar limit) */
};

/* Scans a quoted string whose opening quote is at *pos. On success *pos is just past the
 * closing quote. Raw newlines are refused except in 0.0.4 scrape mode (Prometheus' 0.0.4
 * lexer takes them inside quoted strings). */
static int scan_quoted(struct ig_tp *p, const char **pos, struct qstr *qs)
{
    const char *q = *pos + 1, *e = p->end;
    const bool strict = p->mode == IGNIS_TEXTPARSE_STRICT;
    const bool allow_nl = !strict && p->format == IGNIS_TEXTPARSE_PROMETHEUS;
    const char *line0 = p->line;
    const uint32_t lineno0 = p->lineno;
    qs->esc = qs->nonascii = false;
    qs->runes = 0;
    const char *run = q;
    for (;;) {
        /* Fast scan over plain ASCII; the rest of the loop handles the stops. */
        q = skip_none(q, e, C_QSTOP);
        qs->runes += (uint32_t)(q - run);
        if (q >= e) {
            /* Report where the string opened, not where the input ran out. */
            p->line = line0;
            p->lineno = lineno0;
            return ig_tp_fail(p, *pos, "unterminated quoted string");
        }
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            break;
        }
        if (c == '\\') {
            if (q + 1 >= e) {
                p->line = line0;
                p->lineno = lineno0;
                return ig_tp_fail(p, *pos, "unterminated quoted string");
            }
            unsigned char d = (unsigned char)q[1];
            if (d == '\n' && !allow_nl) {
                return ig_tp_fail(p, q + 1, "unterminated quoted string");
            }
            if (strict && p->format == IGNIS_TEXTPARSE_PROMETHEUS && d != '\\' && d != '"' &&
                d != 'n') {
                return ig_tp_fail(p, q, "invalid escape sequence '\\%c'", d >= 0x20 ? d : '?');
            }
            if (d == '\n') {
                p->lineno++;
                p->line = q + 2;
            }
            qs->esc = true;
            qs->runes++;
            q += 2;
            run = q;
            continue;
        }
        if (c == '\n') {
            if (!allow_nl) {
                return ig_tp_fail(p, q, "unterminated quoted string");
            }
            p->lineno++;
            p->line = q + 1;
        } else if (c >= 0x80) {
            qs->nonascii = true;
        }
        if ((c & 0xc0) != 0x80) {
            qs->runes++;
        }
        q++;
        run = q;
    }
    if (qs->nonascii && !utf8_ok((const unsigned char *)*pos + 1, (size_t)(q - *pos - 1))) {
        return ig_tp_fail(p, *pos + 1, "invalid UTF-8 in quoted string");
    }
    *pos = q + 1;
    return 0;
}

/* Skips blanks where the format allows them inside label sets. */
static inline const char *skip_lblank(const struct ig_tp *p, const char *q)
{
    if (p->format == IGNIS_TEXTPARSE_PROMETHEUS) {
        while (q < p->end && is_blank((unsigned char)*q)) {
            q++;
        }
    }
    return q;
}

/* Scans "{...}" at *pos. For a sample (exemplar == false) a quoted string standing alone
 * is the metric name (Prometheus 3's UTF-8 syntax). Counts labels into *count and the
 * exemplar rune total into *runes. */
static int scan_labels(struct ig_tp *p, const char **pos, bool exemplar, uint32_t *count,
                       uint32_t *runes)
{
    const char *q = *pos + 1, *e = p->end;
    const bool om = p->format == IGNIS_TEXTPARSE_OPENMETRICS;
    const bool strict = p->mode == IGNIS_TEXTPARSE_STRICT;
    bool after_comma = false;
    *count = 0;
    *runes = 0;
    for (;;) {
        q = skip_lblank(p, q);
        if (om && after_comma && !strict) {
            /* Prometheus 3 examples write a blank after the comma; take it. */
            while (q < e && *q == ' ') {
                q++;
            }
        }
        if (q >= e) {
            return expected(p, q, "label name or '}'");
        }
        if (*q == '}') {
            if (after_comma && om && strict) {
                return ig_tp_fail(p, q, "trailing comma in label set");
            }
            q++;
            break;
        }
        const char *ln = q;
        size_t lrunes = 0;
        bool quoted = false;
        if (is_lname_start((unsigned char)*q)) {
            q = skip_all(q, e, C_LNAME);
            lrunes = (size_t)(q - ln);
        } else if (*q == '"') {
            struct qstr qs;
            if (scan_quoted(p, &q, &qs) < 0) {
                return -1;
            }
            quoted = true;
            lrunes = qs.runes;
            if (q - ln == 2) {
                return ig_tp_fail(p, ln, "empty quoted name");
            }
        } else {
            return expected(p, q, after_comma || *count ? "label name" : "label name or '}'");
        }
        const char *lne = q;
        q = skip_lblank(p, q);
        if (quoted && q < e && (*q == ',' || *q == '}')) {
            if (exemplar) {
                return expected(p, q, "'=' after exemplar label name");
            }
            if (p->name) {
                return ig_tp_fail(p, ln, "metric name given twice");
            }
            p->name = ln + 1;
            p->name_len = (size_t)(lne - ln - 2);
            p->name_esc = memchr(p->name, '\\', p->name_len) != NULL;
            if (*q == ',') {
                q++;
                after_comma = true;
                continue;
            }
            q++;
            break;
        }
        if (q >= e || *q != '=') {
            return expected(p, q, "'=' after label name");
        }
        q = skip_lblank(p, q + 1);
        if (q >= e || *q != '"') {
            return expected(p, q, "quoted label value");
        }
        struct qstr qs;
        if (scan_quoted(p, &q, &qs) < 0) {
            return -1;
        }
        (*count)++;
        *runes += (uint32_t)lrunes + qs.runes;
        q = skip_lblank(p, q);
        if (q < e && *q == ',') {
            q++;
            after_comma = true;
            continue;
        }
        after_comma = false;
        if (q < e && *q == '}') {
            q++;
            break;
        }
        /* Prometheus' 0.0.4 parser takes pairs without a comma between them. */
        if (!om && !strict && q < e && (is_lname_start((unsigned char)*q) || *q == '"')) {
            continue;
        }
        return expected(p, q, "',' or '}'");
    }
    *pos = q;
    return 0;
}

/* The value token: up to a blank or newline (and '{' in 0.0.4, as Prometheus' lexer). */
static const char *token_end(const struct ig_tp *p, const char *q)
{
    return skip_none(q, p->end, p->format == IGNIS_TEXTPARSE_OPENMETRICS ? C_OSTOP : C_TSTOP);
}

static int num_flavor(const struct ig_tp *p)
{
    if (p->format == IGNIS_TEXTPARSE_PROMETHEUS) {
        return IG_NUM_GO;
    }
    return p->mode == IGNIS_TEXTPARSE_STRICT ? IG_NUM_OM_STRICT : IG_NUM_OM_SCRAPE;
}

/* An OpenMetrics timestamp token: a number that is neither NaN nor infinite. */
static int om_timestamp(struct ig_tp *p, const char *t, const char *te, double *sec, int64_t *ms)
{
    double d;
    if (te == t) {
        return expected(p, t, "timestamp");
    }
    if (ig_tp_parse_float(t, (size_t)(te - t), num_flavor(p), &d) < 0 || isnan(d) || isinf(d)) {
        return ig_tp_fail(p, t, "invalid timestamp \"%.*s\"", (int)(te - t > 40 ? 40 : te - t), t);
    }
    *sec = d;
    *ms = om_ts_ms(t, (size_t)(te - t), d);
    return 0;
}

/* The OpenMetrics exemplar after " # " (q at '{'). Ends at the newline. */
static int om_exemplar(struct ig_tp *p, const char **pos)
{
    const char *q = *pos, *e = p->end;
    if (q >= e || *q != '{') {
        return expected(p, q, "'{' opening the exemplar's labels");
    }
    const char *lb = q;
    uint32_t n, runes;
    if (scan_labels(p, &q, true, &n, &runes) < 0) {
        return -1;
    }
    p->ex_lbl = lb;
    p->ex_lbl_len = (size_t)(q - lb);
    p->ex_n = n;
    if (p->mode == IGNIS_TEXTPARSE_STRICT && runes > IG_EXEMPLAR_MAX_RUNES) {
        return ig_tp_fail(p, lb, "exemplar labels hold %u code points, more than %d", runes,
                          IG_EXEMPLAR_MAX_RUNES);
    }
    if (q >= e || *q != ' ') {
        return expected(p, q, "' ' before the exemplar value");
    }
    q++;
    const char *v = q, *ve = token_end(p, q);
    if (ve == v || ig_tp_parse_float(v, (size_t)(ve - v), num_flavor(p), &p->ex_value) < 0) {
        return ig_tp_fail(p, v, "invalid exemplar value \"%.*s\"", (int)(ve - v > 40 ? 40 : ve - v),
                          v);
    }
    q = ve;
    p->ex_has_ts = 0;
    if (q < e && *q == ' ') {
        q++;
        const char *t = q, *te = token_end(p, q);
        double sec;
        if (om_timestamp(p, t, te, &sec, &p->ex_ts) < 0) {
            return -1;
        }
        p->ex_has_ts = 1;
        q = te;
    }
    if (q >= e) {
        return ig_tp_fail(p, q, "unexpected end of input: the exposition must end with # EOF");
    }
    if (*q != '\n') {
        return expected(p, q, "end of line after the exemplar");
    }
    p->has_ex = 1;
    *pos = q;
    return 0;
}

/* A sample line starting at q. On success p->cur is past its newline. */
static int parse_sample(struct ig_tp *p, const char *q)
{
    const char *e = p->end;
    const bool om = p->format == IGNIS_TEXTPARSE_OPENMETRICS;
    const char *start = q;
    p->name = NULL;
    p->name_len = 0;
    p->name_esc = 0;
    p->lbl = NULL;
    p->lbl_len = 0;
    p->nlabels = 0;
    p->has_ts = p->has_ex = p->ex_has_ts = 0;
    p->ex_lbl = NULL;
    p->ex_lbl_len = 0;
    p->ex_n = 0;

    if (is_mname_start((unsigned char)*q)) {
        q = skip_all(q, e, C_MNAME);
        p->name = start;
        p->name_len = (size_t)(q - start);
        p->series = start;
        p->series_len = p->name_len;
        const char *r = q;
        if (!om) {
            while (r < e && is_blank((unsigned char)*r)) {
                r++;
            }
        }
        if (r < e && *r == '{') {
            q = r;
        }
    } else if (*q != '{') {
        return expected(p, q, "metric name or '{'");
    }
    if (q < e && *q == '{') {
        const char *lb = q;
        uint32_t runes;
        if (scan_labels(p, &q, false, &p->nlabels, &runes) < 0) {
            return -1;
        }
        if (!p->name) {
            return ig_tp_fail(p, start, "no metric name in the label set");
        }
        p->lbl = lb;
        p->lbl_len = (size_t)(q - lb);
        p->series = start;
        p->series_len = (size_t)(q - start);
    }

    /* Value. */
    if (om) {
        if (q >= e || *q != ' ') {
            return expected(p, q, "' ' and a value after the metric");
        }
        q++;
    } else {
        while (q < e && is_blank((unsigned char)*q)) {
            q++;
        }
    }
    const char *v = q, *ve = token_end(p, q);
    if (ve == v) {
        return expected(p, v, "value");
    }
    if (ig_tp_parse_float(v, (size_t)(ve - v), num_flavor(p), &p->value) < 0) {
        return ig_tp_fail(p, v, "invalid value \"%.*s\"", (int)(ve - v > 40 ? 40 : ve - v), v);
    }
    if (isnan(p->value)) {
        p->value = normal_nan();
    }
    q = ve;

    if (om) {
        if (q >= e) {
            return ig_tp_fail(p, q, "unexpected end of input: the exposition must end with # EOF");
        }
        if (*q == ' ') {
            q++;
            if (q < e && *q == '#') {
                if (q + 2 < e && q[1] == ' ' && q[2] == '{') {
                    q += 2;
                    if (om_exemplar(p, &q) < 0) {
                        return -1;
                    }
                } else {
                    return expected(p, q, "\"# {\" opening an exemplar");
                }
            } else {
                const char *t = q, *te = token_end(p, q);
                if (om_timestamp(p, t, te, &p->ts_sec, &p->ts) < 0) {
                    return -1;
                }
                p->has_ts = 1;
                q = te;
                if (q < e && *q == ' ') {
                    q++;
                    if (q + 2 < e && q[0] == '#' && q[1] == ' ' && q[2] == '{') {
                        q += 2;
                        if (om_exemplar(p, &q) < 0) {
                            return -1;
                        }
                    } else {
                        return expected(p, q, "\"# {\" opening an exemplar");
                    }
                }
            }
        }
        if (q >= e) {
            return ig_tp_fail(p, q, "unexpected end of input: the exposition must end with # EOF");
        }
        if (*q != '\n') {
            return expected(p, q, "end of line");
        }
        p->cur = q + 1;
        return 0;
    }

    const bool strict = p->mode == IGNIS_TEXTPARSE_STRICT;
    const char *vend = q;
    while (q < e && is_blank((unsigned char)*q)) {
        q++;
    }
    if (strict && q > vend && (q >= e || *q == '\n')) {
        return ig_tp_fail(p, vend, "trailing whitespace after the value");
    }
    if (q < e && *q != '\n') {
        const char *t = q, *te = q;
        while (te < e && !is_blank((unsigned char)*te) && *te != '\n') {
            te++;
        }
        if (parse_int64(t, (size_t)(te - t), &p->ts) < 0) {
            return ig_tp_fail(p, t, "invalid timestamp \"%.*s\" (want integer milliseconds)",
                              (int)(te - t > 40 ? 40 : te - t), t);
        }
        p->has_ts = 1;
        q = te;
        while (q < e && is_blank((unsigned char)*q)) {
            q++;
        }
        if (q < e && *q != '\n') {
            return expected(p, q, "end of line after the timestamp");
        }
        if (strict && q > te) {
            return ig_tp_fail(p, te, "trailing whitespace after the timestamp");
        }
    }
    if (strict && q >= e) {
        return ig_tp_fail(p, q, "the last line must end with a newline");
    }
    p->cur = q < e ? q + 1 : q;
    return 0;
}

/* Sets the metadata family to name, forgetting the previous family's metadata when the
 * name differs. */
static void meta_family(struct ig_tp *p, const char *name, size_t len, bool esc)
{
    if (p->meta_name && p->meta_len == len && memcmp(p->meta_name, name, len) == 0) {
        return;
    }
    p->meta_name = name;
    p->meta_len = len;
    p->meta_esc = esc;
    p->meta_type = IGNIS_METRIC_UNKNOWN;
    p->meta_has_type = p->meta_has_help = p->meta_has_unit = 0;
    p->meta_help = p->meta_unit = NULL;
    p->meta_help_len = p->meta_unit_len = 0;
}

/* Reads the metric name of a metadata line at *pos: legacy or quoted. */
static int meta_name(struct ig_tp *p, const char **pos, const char **name, size_t *len, bool *esc)
{
    const char *q = *pos, *e = p->end;
    if (q < e && is_mname_start((unsigned char)*q)) {
        const char *s = q;
        while (q < e && is_mname((unsigned char)*q)) {
            q++;
        }
        *name = s;
        *len = (size_t)(q - s);
        *esc = false;
    } else if (q < e && *q == '"') {
        const char *s = q;
        struct qstr qs;
        if (scan_quoted(p, &q, &qs) < 0) {
            return -1;
        }
        if (q - s == 2) {
            return ig_tp_fail(p, s, "empty quoted name");
        }
        *name = s + 1;
        *len = (size_t)(q - s - 2);
        *esc = qs.esc;
    } else {
        return expected(p, q, "metric name");
    }
    *pos = q;
    return 0;
}

/* Applies a TYPE/HELP/UNIT line's content. text is the rest after the separator. */
static int meta_apply(struct ig_tp *p, int kind, const char *name, size_t len, bool esc,
                      const char *text, size_t tlen)
{
    const bool strict = p->mode == IGNIS_TEXTPARSE_STRICT;
    const bool om = p->format == IGNIS_TEXTPARSE_OPENMETRICS;
    meta_family(p, name, len, esc);
    switch (kind) {
    case IGNIS_TP_TYPE: {
        const char *t = text, *te = text + tlen;
        if (!om) {
            /* 0.0.4: blanks before the type separate it (promtool); Prometheus takes no
             * blank after it either, promtool neither: scrape mode forgives both. */
            while (t < te && is_blank((unsigned char)*t)) {
                t++;
            }
            while (!strict && te > t && is_blank((unsigned char)te[-1])) {
                te--;
            }
        }
        int type = type_from_text(t, (size_t)(te - t), p->format, p->mode);
        if (type < 0) {
            return ig_tp_fail(p, t, "invalid metric type \"%.*s\"",
                              (int)(te - t > 40 ? 40 : te - t), t);
        }
        p->meta_type = (uint8_t)type;
        p->meta_has_type = 1;
        break;
    }
    case IGNIS_TP_HELP:
        if (!utf8_ok((const unsigned char *)text, tlen)) {
            return ig_tp_fail(p, text, "HELP text is not valid UTF-8");
        }
        if (strict && !om) {
            for (size_t i = 0; i < tlen; i++) {
                if (text[i] == '\\') {
                    if (i + 1 >= tlen || (text[i + 1] != '\\' && text[i + 1] != 'n')) {
                        return ig_tp_fail(p, text + i, "invalid escape sequence in HELP");
                    }
                    i++;
                }
            }
        }
        p->meta_help = text;
        p->meta_help_len = tlen;
        p->meta_has_help = 1;
        break;
    case IGNIS_TP_UNIT:
        for (size_t i = 0; i < tlen; i++) {
            if (!is_mname((unsigned char)text[i])) {
                return ig_tp_fail(p, text + i, "invalid character in unit");
            }
        }
        if (tlen && (len < tlen + 1 || memcmp(name + len - tlen, text, tlen) != 0 ||
                     name[len - tlen - 1] != '_')) {
            return ig_tp_fail(p, text, "unit \"%.*s\" is not a suffix of the metric name",
                              (int)(tlen > 40 ? 40 : tlen), text);
        }
        p->meta_unit = text;
        p->meta_unit_len = tlen;
        p->meta_has_unit = 1;
        break;
    }
    if (strict && ig_tp_strict_meta(p, kind, name) < 0) {
        return -1;
    }
    return 0;
}

static const char *line_end(const struct ig_tp *p, const char *q)
{
    const char *nl = memchr(q, '\n', (size_t)(p->end - q));
    return nl ? nl : p->end;
}

/* An OpenMetrics '#' line at q: "# TYPE|HELP|UNIT name text" or "# EOF". */
static int om_hash_line(struct ig_tp *p, const char *q)
{
    const char *e = p->end;
    if (q + 1 >= e || q[1] != ' ') {
        return ig_tp_fail(p, q, "expected \"# \" starting TYPE, HELP, UNIT or EOF");
    }
    q += 2;
    int kind;
    if (e - q >= 5 && memcmp(q, "TYPE ", 5) == 0) {
        kind = IGNIS_TP_TYPE;
    } else if (e - q >= 5 && memcmp(q, "HELP ", 5) == 0) {
        kind = IGNIS_TP_HELP;
    } else if (e - q >= 5 && memcmp(q, "UNIT ", 5) == 0) {
        kind = IGNIS_TP_UNIT;
    } else if (e - q >= 3 && memcmp(q, "EOF", 3) == 0) {
        const char *r = q + 3;
        if (r < e && *r == '\n') {
            r++;
        }
        if (r != e) {
            return ig_tp_fail(p, q + 3, "unexpected data after # EOF");
        }
        if (p->mode == IGNIS_TEXTPARSE_STRICT && ig_tp_strict_end(p) < 0) {
            return -1;
        }
        p->cur = e;
        p->state = IG_TP_DONE;
        p->entry = IGNIS_TP_EOF;
        return 0;
    } else {
        return ig_tp_fail(p, q,
                          "comments are not allowed in OpenMetrics: expected TYPE, "
                          "HELP, UNIT or EOF");
    }
    q += 5;
    const char *name;
    size_t len;
    bool esc;
    if (meta_name(p, &q, &name, &len, &esc) < 0) {
        return -1;
    }
    if (q >= e || *q != ' ') {
        return expected(p, q, "' ' after the metric name");
    }
    q++;
    const char *le = line_end(p, q);
    if (le >= e) {
        return ig_tp_fail(p, le, "unexpected end of input: the exposition must end with # EOF");
    }
    p->entry = (uint8_t)kind;
    if (meta_apply(p, kind, name, len, esc, q, (size_t)(le - q)) < 0) {
        return -1;
    }
    p->cur = le + 1;
    return 0;
}

/* A 0.0.4 '#' line at q: HELP, TYPE or a comment. */
static int prom_hash_line(struct ig_tp *p, const char *q)
{
    const char *e = p->end;
    const char *le = line_end(p, q);
    const char *r = q + 1;
    const bool strict = p->mode == IGNIS_TEXTPARSE_STRICT;
    int kind = IGNIS_TP_COMMENT;
    /* Prometheus wants a blank after '#'; promtool (strict) also reads "#HELP". A HELP or
     * TYPE with nothing after it is a plain comment, as promtool has it (Prometheus
     * refuses "# HELP " outright; taking it is harmless). */
    if (r < e && (is_blank((unsigned char)*r) || strict)) {
        while (r < e && is_blank((unsigned char)*r)) {
            r++;
        }
        if (le - r >= 4 && (memcmp(r, "HELP", 4) == 0 || memcmp(r, "TYPE", 4) == 0)) {
            const char *w = r + 4;
            if (w < le && is_blank((unsigned char)*w)) {
                const char *x = w;
                while (x < le && is_blank((unsigned char)*x)) {
                    x++;
                }
                if (x < le) {
                    kind = r[0] == 'H' ? IGNIS_TP_HELP : IGNIS_TP_TYPE;
                    r = x;
                }
            }
        }
    }
    if (kind == IGNIS_TP_COMMENT) {
        if (strict && le >= e) {
            return ig_tp_fail(p, le, "the last line must end with a newline");
        }
        p->entry = IGNIS_TP_COMMENT;
        p->text = q + 1;
        p->text_len = (size_t)(le - q - 1);
        p->cur = le < e ? le + 1 : le;
        return 0;
    }
    const char *name;
    size_t len;
    bool esc;
    if (meta_name(p, &r, &name, &len, &esc) < 0) {
        return -1;
    }
    le = line_end(p, r); /* a quoted name may have spanned lines (scrape mode) */
    const char *rest = r;
    while (rest < le && is_blank((unsigned char)*rest)) {
        rest++;
    }
    if (rest == le && (strict || kind == IGNIS_TP_TYPE)) {
        /* "# TYPE name" or "# HELP name" with nothing after: promtool reads a comment.
         * (Prometheus refuses the TYPE form and reads the HELP form as an empty help;
         * scrape mode keeps that HELP.) */
        if (strict && le >= e) {
            return ig_tp_fail(p, le, "the last line must end with a newline");
        }
        p->entry = IGNIS_TP_COMMENT;
        p->text = q + 1;
        p->text_len = (size_t)(le - q - 1);
        p->cur = le < e ? le + 1 : le;
        return 0;
    }
    const char *text = r;
    if (text < le) {
        if (strict && !is_blank((unsigned char)*text)) {
            return expected(p, text, "blank after the metric name");
        }
        /* One separator byte; further blanks belong to the text. Prometheus drops this
         * byte whatever it is, so scrape mode does too. */
        text++;
    }
    if (strict && p->format == IGNIS_TEXTPARSE_PROMETHEUS && le >= e) {
        return ig_tp_fail(p, le, "the last line must end with a newline");
    }
    p->entry = (uint8_t)kind;
    if (meta_apply(p, kind, name, len, esc, text, (size_t)(le - text)) < 0) {
        return -1;
    }
    p->cur = le < e ? le + 1 : le;
    return 0;
}

/* Ties the current sample to the metadata family, if its name fits. */
static void classify(struct ig_tp *p)
{
    p->in_family = 0;
    p->suffix = IG_SFX_NONE;
    if (!p->meta_name) {
        return;
    }
    int sfx =
        ig_tp_suffix_of(p->format, p->meta_type, p->name, p->name_len, p->meta_name, p->meta_len);
    if (sfx >= 0) {
        p->in_family = 1;
        p->suffix = (uint8_t)sfx;
    }
}

/* ---- the public iterator ----------------------------------------------------------- */

enum ignis_textparse_format ignis_textparse_format_for(const char *ct)
{
    static const char om[] = "application/openmetrics-text";
    if (!ct) {
        return IGNIS_TEXTPARSE_PROMETHEUS;
    }
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    size_t n = strlen(om);
    if (strncasecmp(ct, om, n) == 0) {
        char c = ct[n];
        if (c == 0 || c == ';' || c == ' ' || c == '\t') {
            return IGNIS_TEXTPARSE_OPENMETRICS;
        }
    }
    return IGNIS_TEXTPARSE_PROMETHEUS;
}

void ignis_textparse_init(struct ignis_textparse *pp, const char *body, size_t len,
                          enum ignis_textparse_format format, enum ignis_textparse_mode mode)
{
    struct ig_tp *p = ig_tp_of(pp);
    memset(p, 0, sizeof *p);
    p->body = body ? body : "";
    p->end = p->body + (body ? len : 0);
    p->cur = p->line = p->body;
    p->format = format == IGNIS_TEXTPARSE_OPENMETRICS ? IGNIS_TEXTPARSE_OPENMETRICS
                                                      : IGNIS_TEXTPARSE_PROMETHEUS;
    p->mode = mode == IGNIS_TEXTPARSE_STRICT ? IGNIS_TEXTPARSE_STRICT : IGNIS_TEXTPARSE_SCRAPE;
    p->state = IG_TP_RUNNING;
    p->entry = IGNIS_TP_EOF;
}

void ignis_textparse_fini(struct ignis_textparse *pp)
{
    struct ig_tp *p = ig_tp_of(pp);
    ig_tp_strict_free(p);
}

enum ignis_textparse_entry ignis_textparse_next(struct ignis_textparse *pp)
{
    struct ig_tp *p = ig_tp_of(pp);
    if (p->state != IG_TP_RUNNING) {
        return p->state == IG_TP_DONE ? IGNIS_TP_EOF : IGNIS_TP_ERROR;
    }
    const bool om = p->format == IGNIS_TEXTPARSE_OPENMETRICS;
    for (;;) {
        const char *q = p->cur, *e = p->end;
        if (q >= e) {
            if (om) {
                if (q > p->body && q[-1] == '\n') {
                    p->lineno++; /* the error is on the empty line after the last */
                }
                p->line = q;
                ig_tp_fail(p, q, "unexpected end of input: the exposition must end with # EOF");
                return IGNIS_TP_ERROR;
            }
            if (p->mode == IGNIS_TEXTPARSE_STRICT && ig_tp_strict_end(p) < 0) {
                return IGNIS_TP_ERROR;
            }
            p->state = IG_TP_DONE;
            p->entry = IGNIS_TP_EOF;
            return IGNIS_TP_EOF;
        }
        p->line = q;
        p->lineno++;
        int rc;
        if (om) {
            if (*q == '#') {
                rc = om_hash_line(p, q);
            } else if (*q == '\n') {
                rc = ig_tp_fail(p, q, "blank lines are not allowed in OpenMetrics");
            } else if (*q == ' ' || *q == '\t') {
                rc = ig_tp_fail(p, q, "lines must not start with a blank in OpenMetrics");
            } else {
                p->entry = IGNIS_TP_SERIES;
                rc = parse_sample(p, q);
            }
        } else {
            while (q < e && is_blank((unsigned char)*q)) {
                q++;
            }
            if (q >= e) {
                p->cur = q;
                continue;
            }
            if (*q == '\n') {
                p->cur = q + 1;
                continue;
            }
            if (*q == '#') {
                rc = prom_hash_line(p, q);
            } else if (*q == '\0' && p->mode == IGNIS_TEXTPARSE_SCRAPE) {
                /* Prometheus' 0.0.4 lexer ends the input at a NUL where a line starts. */
                p->cur = e;
                continue;
            } else {
                p->entry = IGNIS_TP_SERIES;
                rc = parse_sample(p, q);
            }
        }
        if (rc < 0) {
            return IGNIS_TP_ERROR;
        }
        if (p->entry == IGNIS_TP_SERIES) {
            classify(p);
            if (p->mode == IGNIS_TEXTPARSE_STRICT && ig_tp_strict_series(p) < 0) {
                return IGNIS_TP_ERROR;
            }
        }
        return (enum ignis_textparse_entry)p->entry;
    }
}

const char *ignis_textparse_error(const struct ignis_textparse *pp)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    return p->state == IG_TP_FAILED ? p->err : NULL;
}

uint32_t ignis_textparse_line(const struct ignis_textparse *pp)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    return p->state == IG_TP_FAILED ? p->err_line : p->lineno;
}

const char *ignis_textparse_series(const struct ignis_textparse *pp, size_t *len)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    if (p->entry != IGNIS_TP_SERIES) {
        *len = 0;
        return NULL;
    }
    *len = p->series_len;
    return p->series;
}

double ignis_textparse_value(const struct ignis_textparse *pp)
{
    return ig_tp_ofc(pp)->value;
}

bool ignis_textparse_timestamp(const struct ignis_textparse *pp, int64_t *ts_ms)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    if (p->entry != IGNIS_TP_SERIES || !p->has_ts) {
        return false;
    }
    *ts_ms = p->ts;
    return true;
}

size_t ignis_textparse_label_count(const struct ignis_textparse *pp)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    return p->entry == IGNIS_TP_SERIES ? p->nlabels : 0;
}

/* Puts one string (escaped when esc) into out: a pointer into the body when it holds no
 * backslash, else unescaped into scratch. */
static int put_str(const char *s, size_t n, char **scr, size_t *left, const char **out,
                   size_t *olen)
{
    if (!memchr(s, '\\', n)) {
        *out = s;
        *olen = n;
        return 0;
    }
    if (*left < n) {
        return -1;
    }
    size_t m = ig_tp_unescape(s, n, *scr);
    *out = *scr;
    *olen = m;
    *scr += m;
    *left -= m;
    return 0;
}

int ig_tp_extract(const struct ig_tp *p, const char *lbl, size_t lbl_len, const char *name,
                  size_t name_len, bool want_name, struct ignis_label *out, size_t max,
                  char *scratch, size_t scratch_len)
{
    size_t n = 0;
    char *scr = scratch;
    size_t left = scratch ? scratch_len : 0;
    if (want_name) {
        if (max < 1) {
            return -1;
        }
        out[0].name = IGNIS_METRIC_NAME;
        out[0].name_len = sizeof IGNIS_METRIC_NAME - 1;
        if (put_str(name, name_len, &scr, &left, &out[0].value, &out[0].value_len) < 0) {
            return -1;
        }
        n = 1;
    }
    if (!lbl) {
        return (int)n;
    }
    /* The block was validated by scan_labels: walk it without re-checking. */
    const char *q = lbl + 1, *e = lbl + lbl_len - 1;
    while (q < e) {
        while (q < e && (is_blank((unsigned char)*q) || *q == ',')) {
            q++;
        }
        if (q >= e) {
            break;
        }
        const char *ln, *lne;
        if (*q == '"') {
            ln = ++q;
            while (*q != '"') {
                q += *q == '\\' ? 2 : 1;
            }
            lne = q++;
        } else {
            ln = q;
            while (is_lname((unsigned char)*q)) {
                q++;
            }
            lne = q;
        }
        while (q < e && is_blank((unsigned char)*q)) {
            q++;
        }
        if (q >= e || *q != '=') {
            continue; /* the quoted metric name */
        }
        q++;
        while (*q != '"') {
            q++;
        }
        const char *v = ++q;
        while (*q != '"') {
            q += *q == '\\' ? 2 : 1;
        }
        const char *ve = q++;
        if (n >= max) {
            return -1;
        }
        if (put_str(ln, (size_t)(lne - ln), &scr, &left, &out[n].name, &out[n].name_len) < 0 ||
            put_str(v, (size_t)(ve - v), &scr, &left, &out[n].value, &out[n].value_len) < 0) {
            return -1;
        }
        n++;
    }
    (void)p;
    return (int)n;
}

int ignis_textparse_labels(const struct ignis_textparse *pp, struct ignis_label *out, size_t max,
                           char *scratch, size_t scratch_len)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    if (p->entry != IGNIS_TP_SERIES) {
        return -1;
    }
    return ig_tp_extract(p, p->lbl, p->lbl_len, p->name, p->name_len, true, out, max, scratch,
                         scratch_len);
}

bool ignis_textparse_exemplar(const struct ignis_textparse *pp, struct ignis_textparse_exemplar *ex)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    if (p->entry != IGNIS_TP_SERIES || !p->has_ex) {
        return false;
    }
    ex->labels = p->ex_lbl;
    ex->labels_len = p->ex_lbl_len;
    ex->label_count = p->ex_n;
    ex->value = p->ex_value;
    ex->has_timestamp = p->ex_has_ts;
    ex->ts_ms = p->ex_has_ts ? p->ex_ts : IGNIS_NO_TIMESTAMP;
    return true;
}

int ignis_textparse_exemplar_labels(const struct ignis_textparse *pp, struct ignis_label *out,
                                    size_t max, char *scratch, size_t scratch_len)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    if (p->entry != IGNIS_TP_SERIES || !p->has_ex) {
        return -1;
    }
    return ig_tp_extract(p, p->ex_lbl, p->ex_lbl_len, NULL, 0, false, out, max, scratch,
                         scratch_len);
}

bool ignis_textparse_is_created(const struct ignis_textparse *pp)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    return p->entry == IGNIS_TP_SERIES && p->in_family && p->suffix == IG_SFX_CREATED;
}

/* Bounds of the _created look-ahead: samples scanned, labels and bytes compared. */
#define IG_CT_MAX_LOOKAHEAD 4096
#define IG_CT_MAX_LABELS    64
#define IG_CT_SCRATCH       4096

/* The sorted labels naming the current sample's metric: all but le on buckets and
 * quantile on a summary's quantile samples. Count, or -1 when the buffers are short. */
static int metric_labels(const struct ig_tp *p, struct ignis_label *out, size_t max, char *scratch,
                         size_t cap)
{
    int n = ig_tp_extract(p, p->lbl, p->lbl_len, NULL, 0, false, out, max, scratch, cap);
    if (n < 0) {
        return -1;
    }
    const char *drop = NULL;
    size_t dl = 0;
    if (p->suffix == IG_SFX_BUCKET) {
        drop = "le";
        dl = 2;
    } else if (p->suffix == IG_SFX_NONE && p->meta_type == IGNIS_METRIC_SUMMARY) {
        drop = "quantile";
        dl = 8;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (drop && out[i].name_len == dl && memcmp(out[i].name, drop, dl) == 0) {
            continue;
        }
        out[k++] = out[i];
    }
    if (ignis_labels_sort(out, (size_t)k) < 0) {
        return -1;
    }
    return k;
}

bool ignis_textparse_created(const struct ignis_textparse *pp, int64_t *ct_ms)
{
    const struct ig_tp *p0 = ig_tp_ofc(pp);
    if (p0->entry != IGNIS_TP_SERIES || !p0->in_family || p0->suffix == IG_SFX_CREATED) {
        return false;
    }
    if (p0->meta_type != IGNIS_METRIC_COUNTER && p0->meta_type != IGNIS_METRIC_HISTOGRAM &&
        p0->meta_type != IGNIS_METRIC_SUMMARY) {
        return false;
    }
    struct ignis_label a[IG_CT_MAX_LABELS], b[IG_CT_MAX_LABELS];
    char sa[IG_CT_SCRATCH], sb[IG_CT_SCRATCH];
    int na = metric_labels(p0, a, IG_CT_MAX_LABELS, sa, sizeof sa);
    if (na < 0) {
        return false;
    }
    /* A private copy walks ahead: scrape mode, no strict bookkeeping shared. */
    struct ignis_textparse copy;
    memcpy(&copy, pp, sizeof copy);
    struct ig_tp *q = ig_tp_of(&copy);
    q->mode = IGNIS_TEXTPARSE_SCRAPE;
    q->strict = NULL;
    for (int i = 0; i < IG_CT_MAX_LOOKAHEAD; i++) {
        if (ignis_textparse_next(&copy) != IGNIS_TP_SERIES || !q->in_family) {
            return false;
        }
        int nb = metric_labels(q, b, IG_CT_MAX_LABELS, sb, sizeof sb);
        if (nb != na || ignis_labels_cmp(a, (size_t)na, b, (size_t)nb) != 0) {
            return false; /* the metric ended without a _created sample */
        }
        if (q->suffix == IG_SFX_CREATED) {
            double ms = q->value * 1000.0;
            if (isnan(ms)) {
                return false;
            }
            *ct_ms = ms >= 9.2233720368547748e18    ? INT64_MAX
                     : ms <= -9.2233720368547748e18 ? INT64_MIN + 1
                                                    : (int64_t)ms;
            return true;
        }
    }
    return false;
}

const char *ignis_textparse_family(const struct ignis_textparse *pp, char *scratch,
                                   size_t scratch_len, size_t *len)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    const char *s;
    size_t n;
    bool esc;
    if (p->entry == IGNIS_TP_SERIES && !p->in_family) {
        s = p->name;
        n = p->name_len;
        esc = p->name_esc;
    } else if (p->entry == IGNIS_TP_SERIES || p->entry == IGNIS_TP_TYPE ||
               p->entry == IGNIS_TP_HELP || p->entry == IGNIS_TP_UNIT) {
        s = p->meta_name;
        n = p->meta_len;
        esc = p->meta_esc;
    } else {
        return NULL;
    }
    if (!esc) {
        *len = n;
        return s;
    }
    if (!scratch || scratch_len < n) {
        return NULL;
    }
    *len = ig_tp_unescape(s, n, scratch);
    return scratch;
}

static bool has_meta(const struct ig_tp *p)
{
    return (p->entry == IGNIS_TP_SERIES && p->in_family) || p->entry == IGNIS_TP_TYPE ||
           p->entry == IGNIS_TP_HELP || p->entry == IGNIS_TP_UNIT;
}

enum ignis_metric_type ignis_textparse_type(const struct ignis_textparse *pp)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    return has_meta(p) ? (enum ignis_metric_type)p->meta_type : IGNIS_METRIC_UNKNOWN;
}

const char *ignis_textparse_help(const struct ignis_textparse *pp, char *scratch,
                                 size_t scratch_len, size_t *len)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    if (!has_meta(p) || !p->meta_has_help) {
        return NULL;
    }
    if (!memchr(p->meta_help, '\\', p->meta_help_len)) {
        *len = p->meta_help_len;
        return p->meta_help;
    }
    if (!scratch || scratch_len < p->meta_help_len) {
        return NULL;
    }
    *len = p->format == IGNIS_TEXTPARSE_OPENMETRICS
               ? ig_tp_unescape(p->meta_help, p->meta_help_len, scratch)
               : unescape_help004(p->meta_help, p->meta_help_len, scratch);
    return scratch;
}

const char *ignis_textparse_unit(const struct ignis_textparse *pp, size_t *len)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    if (!has_meta(p) || !p->meta_has_unit) {
        return NULL;
    }
    *len = p->meta_unit_len;
    return p->meta_unit;
}

const char *ignis_textparse_comment(const struct ignis_textparse *pp, size_t *len)
{
    const struct ig_tp *p = ig_tp_ofc(pp);
    if (p->entry != IGNIS_TP_COMMENT) {
        return NULL;
    }
    *len = p->text_len;
    return p->text;
}
