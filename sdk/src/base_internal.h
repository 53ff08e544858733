/* sdk/src/base_internal.h — helpers the base layer's files share with each other and
 * with their tests and fuzz targets. Not installed; nothing here is exported from
 * libignis (names start with ig_, and the library exports only ignis_*). */
#ifndef IG_BASE_INTERNAL_H
#define IG_BASE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <ignis/selector.h>

/* Matches re against s with PCRE2 alone, skipping the literal fast paths, so tests and
 * fuzz targets can check that both ways agree. */
bool ig_regex_match_slow(const struct ignis_regex *re, const char *s, size_t len);

/* Decodes one UTF-8 sequence at s[0..len) (len > 0). Returns its length and stores
 * the code point, or returns 0 when the bytes there are not valid UTF-8. */
size_t ig_utf8_decode(const char *s, size_t len, unsigned *cp);

/* Encodes cp (<= 0x10FFFF) as UTF-8 into out (4 bytes room). Returns the length. */
size_t ig_utf8_encode(unsigned cp, char *out);

#endif
