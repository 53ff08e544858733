/* sdk/src/labels.c — label pairs and sorted label sets: ordering, lookup, hashing and
 * name/UTF-8 validation. Pure functions over borrowed strings: nothing here allocates
 * except the hash's streaming state for very large sets (kept on the stack). */
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>
#include <ignis/labels.h>
#include "base_internal.h"

struct ignis_label ignis_label_make(const char *name, const char *value)
{
    struct ignis_label l = {
        .name = name,
        .name_len = name ? strlen(name) : 0,
        .value = value,
        .value_len = value ? strlen(value) : 0,
    };
    return l;
}

/* Bytewise comparison of two (pointer, length) strings; a prefix sorts first. */
static int str_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return na < nb ? -1 : (na > nb ? 1 : 0);
}

int ignis_labels_cmp(const struct ignis_label *a, size_t na, const struct ignis_label *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        int c = str_cmp(a[i].name, a[i].name_len, b[i].name, b[i].name_len);
        if (c)
            return c;
        c = str_cmp(a[i].value, a[i].value_len, b[i].value, b[i].value_len);
        if (c)
            return c;
    }
    return na < nb ? -1 : (na > nb ? 1 : 0);
}

static int label_name_cmp(const void *pa, const void *pb)
{
    const struct ignis_label *a = pa, *b = pb;
    return str_cmp(a->name, a->name_len, b->name, b->name_len);
}

int ignis_labels_sort(struct ignis_label *ls, size_t n)
{
    if (n < 2)
        return 0;
    /* Label sets are short (tens of pairs): insertion sort beats qsort's call overhead
     * there; qsort keeps the rare long set from going quadratic. */
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            struct ignis_label t = ls[i];
            size_t j = i;
            while (j > 0 && label_name_cmp(&ls[j - 1], &t) > 0) {
                ls[j] = ls[j - 1];
                j--;
            }
            ls[j] = t;
        }
    } else {
        qsort(ls, n, sizeof *ls, label_name_cmp);
    }
    for (size_t i = 1; i < n; i++)
        if (label_name_cmp(&ls[i - 1], &ls[i]) == 0)
            return -1;
    return 0;
}

const struct ignis_label *ignis_labels_get(const struct ignis_label *ls, size_t n, const char *name,
                                           size_t name_len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = str_cmp(ls[mid].name, ls[mid].name_len, name, name_len);
        if (c == 0)
            return &ls[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The hash covers name 0xff value 0xff for every pair, as Prometheus separates them
 * (0xff never occurs in valid UTF-8, so ("a","bc") and ("ab","c") differ). Small sets
 * are copied into one buffer and hashed in one call; larger ones are streamed. Both
 * give the same XXH3 value. */
#define LABELS_HASH_SEP 0xff
#define LABELS_HASH_BUF 1024

uint64_t ignis_labels_hash(const struct ignis_label *ls, size_t n)
{
    unsigned char buf[LABELS_HASH_BUF];
    size_t used = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        size_t need = ls[i].name_len + ls[i].value_len + 2;
        if (need > sizeof buf - used)
            break;
        if (ls[i].name_len)
            memcpy(buf + used, ls[i].name, ls[i].name_len);
        used += ls[i].name_len;
        buf[used++] = LABELS_HASH_SEP;
        if (ls[i].value_len)
            memcpy(buf + used, ls[i].value, ls[i].value_len);
        used += ls[i].value_len;
        buf[used++] = LABELS_HASH_SEP;
    }
    if (i == n)
        return XXH3_64bits(buf, used);

    static const unsigned char sep = LABELS_HASH_SEP;
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, buf, used);
    for (; i < n; i++) {
        XXH3_64bits_update(&st, ls[i].name, ls[i].name_len);
        XXH3_64bits_update(&st, &sep, 1);
        XXH3_64bits_update(&st, ls[i].value, ls[i].value_len);
        XXH3_64bits_update(&st, &sep, 1);
    }
    return XXH3_64bits_digest(&st);
}

static bool is_alpha_(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

bool ignis_is_legacy_metric_name(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_alpha_(c) || c == ':' || (i > 0 && is_digit(c))))
            return false;
    }
    return true;
}

bool ignis_is_legacy_label_name(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_alpha_(c) || (i > 0 && is_digit(c))))
            return false;
    }
    return true;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF.
 * This is what Go's utf8.ValidString accepts, so names Prometheus accepts pass. */
bool ignis_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs are the common case: skip 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* past U+10FFFF */
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return false;
        i += n + 1;
    }
    return true;
}

size_t ig_utf8_decode(const char *str, size_t len, unsigned *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (len < n || !ignis_utf8_valid(str, n))
        return 0;
    unsigned v = c & (0x7f >> n);
    for (size_t k = 1; k < n; k++)
        v = (v << 6) | (s[k] & 0x3f);
    *cp = v;
    return n;
}

size_t ig_utf8_encode(unsigned cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}
