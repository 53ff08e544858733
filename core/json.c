/* core/json.c — JSON output helpers (see json.h). */
#include <config.h>
#include "core/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include <ignis/expose.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void ig_json_str(struct evbuffer *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char buf[512];
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s;
    buf[k++] = '"';
    for (size_t i = 0; i < len;) {
        if (k > sizeof buf - 16) {
            evbuffer_add(b, buf, k);
            k = 0;
        }
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c < 0x80) {
            buf[k++] = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, len - i);
            if (l == 0) {
                memcpy(buf + k, "\\ufffd", 6);
                k += 6;
                i++;
            } else {
                /* U+2028 and U+2029 are escaped, as Go does. */
                if (l == 3 && p[i] == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] & 0xFE) == 0xA8) {
                    memcpy(buf + k, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                    k += 6;
                } else {
                    memcpy(buf + k, p + i, l);
                    k += l;
                }
                i += l;
            }
            continue;
        }
        buf[k++] = '\\';
        switch (c) {
        case '"': buf[k++] = '"'; break;
        case '\\': buf[k++] = '\\'; break;
        case '\n': buf[k++] = 'n'; break;
        case '\r': buf[k++] = 'r'; break;
        case '\t': buf[k++] = 't'; break;
        default:
            buf[k++] = 'u';
            buf[k++] = '0';
            buf[k++] = '0';
            buf[k++] = hex[c >> 4];
            buf[k++] = hex[c & 15];
        }
        i++;
    }
    buf[k++] = '"';
    evbuffer_add(b, buf, k);
}

void ig_json_cstr(struct evbuffer *b, const char *s)
{
    ig_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

void ig_json_value(struct evbuffer *b, double v)
{
    /* Go's strconv.FormatFloat(v, 'f', -1, 64) in quotes, as Prometheus writes sample
     * values: the shortest decimal that reads back as v, never in exponent form; "NaN",
     * "+Inf" and "-Inf" as they are */
    char out[IGNIS_FORMAT_FLOAT_F_SIZE + 2];
    out[0] = '"';
    size_t n = ignis_format_float(out + 1, v, 'f');
    out[n + 1] = '"';
    evbuffer_add(b, out, n + 2);
}

void ig_json_number(struct evbuffer *b, double v)
{
    if (!isfinite(v)) {
        evbuffer_add(b, "0", 1); /* JSON has no NaN or Inf */
        return;
    }
    /* As Go's encoder writes a float64: plain decimals from 1e-6 up to 1e21, the
     * exponent form outside, its exponent without leading zeros ("1e-7", "1e+21"). */
    char tmp[IGNIS_FORMAT_FLOAT_F_SIZE];
    double a = fabs(v);
    if (a == 0 || (a >= 1e-6 && a < 1e21)) {
        size_t n = ignis_format_float(tmp, v, 'f');
        evbuffer_add(b, tmp, n);
        return;
    }
    size_t n = ignis_format_float(tmp, v, 'e');
    char *e = strchr(tmp, 'e');
    if (e && e[2] == '0' && e[3]) {
        memmove(e + 2, e + 3, strlen(e + 3) + 1);
        n--;
    }
    evbuffer_add(b, tmp, n);
}

void ig_json_labels(struct evbuffer *b, const struct ignis_label *ls, size_t n)
{
    evbuffer_add(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            evbuffer_add(b, ",", 1);
        ig_json_str(b, ls[i].name, ls[i].name_len);
        evbuffer_add(b, ":", 1);
        ig_json_str(b, ls[i].value, ls[i].value_len);
    }
    evbuffer_add(b, "}", 1);
}

void ig_json_time(struct evbuffer *b, int64_t ms)
{
    time_t sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)sec * 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char buf[64];
    int n = snprintf(buf, sizeof buf, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac) {
        char f[8];
        snprintf(f, sizeof f, ".%03d", frac);
        size_t fl = strlen(f);
        while (f[fl - 1] == '0')
            f[--fl] = '\0';
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s", f);
    }
    n += snprintf(buf + n, sizeof buf - (size_t)n, "Z\"");
    evbuffer_add(b, buf, (size_t)n);
}
