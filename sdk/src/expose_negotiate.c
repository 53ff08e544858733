/* sdk/src/expose_negotiate.c — HTTP content negotiation for /metrics: which exposition
 * format and name escaping a scraper's Accept header asks for (Prometheus' scrape
 * content negotiation and escaping schemes), the exact Content-Type to answer with,
 * and whether Accept-Encoding allows gzip. Parses untrusted headers: bounded, no
 * allocation, malformed parts skipped. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ignis/expose.h>

static const char *escaping_name(enum ignis_escaping e)
{
    switch (e) {
    case IGNIS_ESCAPE_ALLOW_UTF8: return "allow-utf-8";
    case IGNIS_ESCAPE_DOTS: return "dots";
    case IGNIS_ESCAPE_VALUES: return "values";
    default: return "underscores";
    }
}

void ignis_expose_format_init(struct ignis_expose_format *fmt, enum ignis_expose_kind kind,
                              enum ignis_escaping escaping)
{
    const char *media;
    switch (kind) {
    case IGNIS_EXPOSE_TEXT_1_0_0: media = "text/plain; version=1.0.0"; break;
    case IGNIS_EXPOSE_OPENMETRICS_1_0_0:
        media = "application/openmetrics-text; version=1.0.0";
        break;
    case IGNIS_EXPOSE_OPENMETRICS_0_0_1:
        media = "application/openmetrics-text; version=0.0.1";
        break;
    default:
        kind = IGNIS_EXPOSE_TEXT_0_0_4;
        media = "text/plain; version=0.0.4";
        break;
    }
    if (escaping > IGNIS_ESCAPE_VALUES)
        escaping = IGNIS_ESCAPE_UNDERSCORES;
    fmt->kind = kind;
    fmt->escaping = escaping;
    snprintf(fmt->content_type, sizeof fmt->content_type, "%s; charset=utf-8; escaping=%s", media,
             escaping_name(escaping));
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* [s, e) with optional whitespace trimmed on both sides. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_ows(**s))
        (*s)++;
    while (*e > *s && is_ows((*e)[-1]))
        (*e)--;
}

static bool eq(const char *s, const char *e, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(e - s) == n && strncasecmp(s, lit, n) == 0;
}

/* A q value: "0", "1", "0.xyz", "1.000"; anything else is invalid (-1). */
static double parse_q(const char *s, const char *e)
{
    if (s >= e || (*s != '0' && *s != '1'))
        return -1;
    double q = *s - '0';
    s++;
    if (s == e)
        return q;
    if (*s != '.')
        return -1;
    s++;
    double scale = 0.1;
    for (int digits = 0; s < e; s++, digits++) {
        if (digits >= 3 || *s < '0' || *s > '9')
            return -1;
        q += (*s - '0') * scale;
        scale /= 10;
    }
    return q > 1 ? -1 : q;
}

/* One media range of an Accept header: what we would write for it (or -1) and q. */
static int parse_range(const char *s, const char *e, double *q, enum ignis_escaping *esc)
{
    const char *semi = memchr(s, ';', (size_t)(e - s));
    const char *ts = s, *te = semi ? semi : e;
    trim(&ts, &te);
    enum { OM, TEXT, ANY, NONE } media;
    if (eq(ts, te, "application/openmetrics-text"))
        media = OM;
    else if (eq(ts, te, "text/plain"))
        media = TEXT;
    else if (eq(ts, te, "*/*") || eq(ts, te, "text/*"))
        media = ANY;
    else
        media = NONE;
    *q = 1;
    *esc = IGNIS_ESCAPE_UNDERSCORES;
    const char *version = NULL, *version_end = NULL;
    const char *p = semi;
    while (p && p < e) {
        const char *ps = p + 1;
        const char *pe = memchr(ps, ';', (size_t)(e - ps));
        p = pe;
        if (!pe)
            pe = e;
        const char *eqs = memchr(ps, '=', (size_t)(pe - ps));
        if (!eqs)
            continue;
        const char *ks = ps, *ke = eqs, *vs = eqs + 1, *ve = pe;
        trim(&ks, &ke);
        trim(&vs, &ve);
        if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
            vs++;
            ve--;
        }
        if (eq(ks, ke, "q")) {
            *q = parse_q(vs, ve);
            if (*q < 0)
                return -1;
        } else if (eq(ks, ke, "version")) {
            version = vs;
            version_end = ve;
        } else if (eq(ks, ke, "escaping")) {
            if (eq(vs, ve, "allow-utf-8") || eq(vs, ve, "allow-utf8"))
                *esc = IGNIS_ESCAPE_ALLOW_UTF8;
            else if (eq(vs, ve, "dots"))
                *esc = IGNIS_ESCAPE_DOTS;
            else if (eq(vs, ve, "values"))
                *esc = IGNIS_ESCAPE_VALUES;
            else
                *esc = IGNIS_ESCAPE_UNDERSCORES;
        }
    }
    switch (media) {
    case OM:
        if (!version || eq(version, version_end, "1.0.0"))
            return IGNIS_EXPOSE_OPENMETRICS_1_0_0;
        if (eq(version, version_end, "0.0.1"))
            return IGNIS_EXPOSE_OPENMETRICS_0_0_1;
        return -1;
    case TEXT:
        if (!version || eq(version, version_end, "0.0.4"))
            return IGNIS_EXPOSE_TEXT_0_0_4;
        if (eq(version, version_end, "1.0.0"))
            return IGNIS_EXPOSE_TEXT_1_0_0;
        return -1;
    case ANY:
        return IGNIS_EXPOSE_TEXT_0_0_4;
    default:
        return -1;
    }
}

static bool is_om(int kind)
{
    return kind == IGNIS_EXPOSE_OPENMETRICS_1_0_0 || kind == IGNIS_EXPOSE_OPENMETRICS_0_0_1;
}

/* Longest Accept header we look at; Prometheus sends about 250 bytes. */
#define ACCEPT_MAX 4096

void ignis_expose_negotiate(const char *accept, struct ignis_expose_format *fmt)
{
    int best = -1;
    double best_q = 0;
    enum ignis_escaping best_esc = IGNIS_ESCAPE_UNDERSCORES;
    if (accept) {
        size_t len = strnlen(accept, ACCEPT_MAX);
        const char *s = accept, *end = accept + len;
        while (s < end) {
            const char *c = memchr(s, ',', (size_t)(end - s));
            const char *e = c ? c : end;
            double q;
            enum ignis_escaping esc;
            int kind = parse_range(s, e, &q, &esc);
            if (kind >= 0 && q > 0 &&
                (best < 0 || q > best_q || (q == best_q && is_om(kind) && !is_om(best)))) {
                best = kind;
                best_q = q;
                best_esc = esc;
            }
            s = c ? c + 1 : end;
        }
    }
    if (best < 0) {
        best = IGNIS_EXPOSE_TEXT_0_0_4;
        best_esc = IGNIS_ESCAPE_UNDERSCORES;
    }
    ignis_expose_format_init(fmt, (enum ignis_expose_kind)best, best_esc);
}

int ignis_expose_accepts_gzip(const char *accept_encoding)
{
    if (!accept_encoding)
        return 0;
    size_t len = strnlen(accept_encoding, ACCEPT_MAX);
    const char *s = accept_encoding, *end = s + len;
    int gzip = -1, star = -1;
    while (s < end) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        const char *e = c ? c : end;
        const char *semi = memchr(s, ';', (size_t)(e - s));
        const char *ts = s, *te = semi ? semi : e;
        trim(&ts, &te);
        double q = 1;
        if (semi) {
            const char *ps = semi + 1, *pe = e;
            trim(&ps, &pe);
            if (pe - ps >= 2 && (ps[0] == 'q' || ps[0] == 'Q') && ps[1] == '=')
                q = parse_q(ps + 2, pe);
        }
        if (q >= 0) {
            if (eq(ts, te, "gzip") || eq(ts, te, "x-gzip"))
                gzip = q > 0;
            else if (eq(ts, te, "*"))
                star = q > 0;
        }
        s = c ? c + 1 : end;
    }
    return gzip >= 0 ? gzip : (star > 0);
}
