/* sdk/src/metrics_utf8.c — UTF-8 validation and the legacy name sets, shared by the
 * registry (checking names and label values once) and the writer (checking what
 * exporter plugins hand it). Table-driven so the writer's per-byte cost stays small. */
#include <config.h>

#include <string.h>

#include "metrics_int.h"

size_t ig_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

bool ig_utf8_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* eight ASCII bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = ig_utf8_seq(p + i, len - i, &cp);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

static inline bool alpha_(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

bool ig_legacy_metric_name(const char *s, size_t len)
{
    if (len == 0 || !(alpha_((unsigned char)s[0]) || s[0] == ':'))
        return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(alpha_(c) || digit(c) || c == ':'))
            return false;
    }
    return true;
}

bool ig_legacy_label_name(const char *s, size_t len)
{
    if (len == 0 || !alpha_((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(alpha_(c) || digit(c)))
            return false;
    }
    return true;
}
