/* plugins/query/promql/util.c — small pieces the parser, printer and engine share: the
 * per-parse arena, a growing text buffer, and Go-compatible quoting and number and
 * duration formatting (Prometheus prints strings with strconv.Quote and floats with
 * FormatFloat, so messages and format_query output must read the same). */
#include "ast.h"

#include <ignis/expose.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---------------------------------------------------------------------- */

struct pq_chunk {
    struct pq_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

#define PQ_CHUNK_MIN 4096

void *pq_alloc(struct pq_arena *a, size_t n)
{
    size_t al = sizeof(max_align_t);
    n = (n + al - 1) / al * al;
    if (n == 0)
        n = al;
    struct pq_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > PQ_CHUNK_MIN ? n : PQ_CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        /* a big allocation gets its own chunk behind the current one, so the current
         * chunk's free space is not wasted */
        if (a->head && n > PQ_CHUNK_MIN) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *pq_strndup(struct pq_arena *a, const char *s, size_t n)
{
    char *p = pq_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void pq_arena_free(struct pq_arena *a)
{
    struct pq_chunk *c = a->head;
    while (c) {
        struct pq_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}

void pq_arena_splice(struct pq_arena *dst, struct pq_arena *src)
{
    struct pq_chunk *c = src->head;
    if (!c)
        return;
    /* behind dst's current chunk, so its free space stays in use */
    while (c->next)
        c = c->next;
    if (dst->head) {
        c->next = dst->head->next;
        dst->head->next = src->head;
    } else {
        dst->head = src->head;
    }
    dst->total += src->total;
    src->head = NULL;
    src->total = 0;
}

/* ---- buffer ---------------------------------------------------------------------- */

static bool buf_grow(struct pq_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void pq_buf_add(struct pq_buf *b, const char *s, size_t n)
{
    if (!buf_grow(b, n))
        return;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void pq_buf_puts(struct pq_buf *b, const char *s)
{
    pq_buf_add(b, s, strlen(s));
}

void pq_buf_printf(struct pq_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        pq_buf_add(b, tmp, (size_t)n);
        return;
    }
    if (!buf_grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Decodes one UTF-8 sequence; returns its length and the rune, or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *r)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *r = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *r = v;
    return len;
}

/* An approximation of Go's unicode.IsPrint for runes above ASCII: everything except
 * the C1 controls, the no-break/format spaces Go treats as non-graphic, and the
 * private and unassigned planes' sentinels. */
static bool rune_printable(uint32_t r)
{
    if (r < 0x20 || r == 0x7f)
        return false;
    if (r >= 0x80 && r < 0xa0)
        return false;
    if (r == 0xad || r == 0x2028 || r == 0x2029 || r == 0xfeff)
        return false;
    if ((r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) ||
        (r >= 0x2060 && r <= 0x206f))
        return false;
    if ((r & 0xfffe) == 0xfffe || (r >= 0xe000 && r <= 0xf8ff) || r >= 0xf0000)
        return false;
    return true;
}

void pq_buf_quote(struct pq_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    pq_buf_add(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t r;
        size_t l = utf8_decode(u + i, n - i, &r);
        if (l == 0) {
            char e[4] = {'\\', 'x', hex[u[i] >> 4], hex[u[i] & 15]};
            pq_buf_add(b, e, 4);
            i++;
            continue;
        }
        if (r == '"' || r == '\\') {
            char e[2] = {'\\', (char)r};
            pq_buf_add(b, e, 2);
        } else if (r >= 0x20 && r < 0x7f) {
            pq_buf_add(b, (const char *)u + i, 1);
        } else if (r >= 0x80 && rune_printable(r)) {
            pq_buf_add(b, (const char *)u + i, l);
        } else {
            const char *esc = NULL;
            switch (r) {
            case '\a':
                esc = "\\a";
                break;
            case '\b':
                esc = "\\b";
                break;
            case '\f':
                esc = "\\f";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            case '\t':
                esc = "\\t";
                break;
            case '\v':
                esc = "\\v";
                break;
            default:
                break;
            }
            if (esc)
                pq_buf_puts(b, esc);
            else if (r < 0x80)
                pq_buf_printf(b, "\\x%02x", r);
            else if (r < 0x10000)
                pq_buf_printf(b, "\\u%04x", r);
            else
                pq_buf_printf(b, "\\U%08x", r);
        }
        i += l;
    }
    pq_buf_add(b, "\"", 1);
}

void pq_buf_float(struct pq_buf *b, double v)
{
    /* Go's 'g' layout with shortest digits, but in exponent form only when the exponent
     * is < -4 or >= 21; "NaN", "+Inf", "-Inf", "-0" as FormatFloat writes them */
    char tmp[32];
    size_t n = ignis_format_float(tmp, v, 'e');
    const char *e = strchr(tmp, 'e');
    if (isfinite(v)) {
        int exp = atoi(e + 1);
        if (v == 0 || (exp >= -4 && exp < 21))
            n = ignis_format_float(tmp, v, 'f'); /* at most 24 characters here */
    }
    pq_buf_add(b, tmp, n);
}

void pq_buf_float_f(struct pq_buf *b, double v)
{
    /* Go's strconv.FormatFloat(v, 'f', -1, 64) */
    char tmp[IGNIS_FORMAT_FLOAT_F_SIZE];
    size_t n = ignis_format_float(tmp, v, 'f');
    pq_buf_add(b, tmp, n);
}

void pq_buf_duration(struct pq_buf *b, int64_t ms)
{
    if (ms == 0) {
        pq_buf_puts(b, "0s");
        return;
    }
    uint64_t u;
    if (ms < 0) {
        pq_buf_puts(b, "-");
        u = (uint64_t)0 - (uint64_t)ms;
    } else {
        u = (uint64_t)ms;
    }
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {
        {"y", 365ull * 24 * 3600 * 1000},
        {"w", 7ull * 24 * 3600 * 1000},
        {"d", 24ull * 3600 * 1000},
        {"h", 3600ull * 1000},
        {"m", 60ull * 1000},
        {"s", 1000},
        {"ms", 1},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        uint64_t q = u / units[i].ms;
        if (q) {
            pq_buf_printf(b, "%llu%s", (unsigned long long)q, units[i].unit);
            u -= q * units[i].ms;
        }
    }
}

const char *pq_type_name(enum pq_type t)
{
    switch (t) {
    case PQ_T_SCALAR:
        return "scalar";
    case PQ_T_VECTOR:
        return "instant vector";
    case PQ_T_MATRIX:
        return "range vector";
    case PQ_T_STRING:
        return "string";
    default:
        return "none";
    }
}

void pq_pos_str(const char *s, size_t len, uint32_t pos, char *buf, size_t buflen)
{
    unsigned line = 1;
    size_t last_nl = 0;
    bool seen = false;
    for (size_t i = 0; i < pos && i < len; i++) {
        if (s[i] == '\n') {
            line++;
            last_nl = i;
            seen = true;
        }
    }
    size_t col = seen ? pos - last_nl : pos + 1;
    snprintf(buf, buflen, "%u:%zu", line, col);
}
