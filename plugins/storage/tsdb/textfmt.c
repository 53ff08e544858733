/* plugins/storage/tsdb/textfmt.c — series text as Prometheus' tools print it (see
 * textfmt.h). Written from Go's documented quoting rules (strconv.Quote, unicode.IsPrint),
 * not from its source. */
#include "textfmt.h"

#include <stdbool.h>
#include <stdint.h>

/* The rune at s[0..n) when it starts a valid UTF-8 sequence (libignis validates): its
 * length, or 0. */
static size_t utf8_rune(const unsigned char *s, size_t n, uint32_t *r)
{
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
    if (len > n || !ignis_utf8_valid((const char *)s, len))
        return 0;
    uint32_t v = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++)
        v = v << 6 | (s[i] & 0x3f);
    *r = v;
    return len;
}

/* Runes outside ASCII that Go's unicode.IsPrint refuses and that label values plausibly
 * hold: C1 controls, the space separators, format characters, private use and
 * noncharacters. (Unassigned code points are printed as they are.) */
static bool rune_unprintable(uint32_t r)
{
    return (r >= 0x80 && r <= 0xa0) || r == 0xad || r == 0x1680 || (r >= 0x2000 && r <= 0x200f) ||
           (r >= 0x2028 && r <= 0x202f) || (r >= 0x205f && r <= 0x206f) || r == 0x3000 ||
           r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) || r == 0xfffe || r == 0xffff ||
           (r >= 0xe000 && r <= 0xf8ff) || r >= 0xf0000 || (r & 0xfffe) == 0xfffe;
}

void tsdb_fquote(FILE *f, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f) {
            if (c == '"' || c == '\\')
                fputc('\\', f);
            fputc(c, f);
            i++;
            continue;
        }
        static const char esc[] = "abtnvfr"; /* \a (7) through \r (13) */
        if (c >= 7 && c <= 13) {
            fputc('\\', f);
            fputc(esc[c - 7], f);
            i++;
            continue;
        }
        uint32_t r;
        size_t len = c < 0x80 ? 0 : utf8_rune(s + i, n - i, &r);
        if (len == 0) {
            fprintf(f, "\\x%02x", c);
            i++;
        } else if (rune_unprintable(r)) {
            fprintf(f, r > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)r);
            i += len;
        } else {
            fwrite(s + i, 1, len, f);
            i += len;
        }
    }
    fputc('"', f);
}

void tsdb_fprint_labels(FILE *f, const struct ignis_label *ls, size_t n)
{
    fputc('{', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        fwrite(ls[i].name, 1, ls[i].name_len, f);
        fputc('=', f);
        tsdb_fquote(f, ls[i].value, ls[i].value_len);
    }
    fputc('}', f);
}
