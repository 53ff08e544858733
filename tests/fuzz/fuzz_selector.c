/* tests/fuzz/fuzz_selector.c — fuzz target for the series-selector parser and the regex
 * layer under it (sdk/src/selector.c, sdk/src/regex.c). Besides "does not crash", it
 * checks what must hold: a parsed selector has a non-empty matcher and matches the
 * label set it describes; the regex fast paths, literal sets and prefixes agree with
 * PCRE2 itself; parse_braces rolls back on error. A broken promise aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ignis/selector.h>
#include "fuzz.h"

/* Regex work grows with input; longer inputs are cut for the regex checks. */
#define FUZZ_MAX_REGEX 2048

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_selector: check failed: %s (line %d)\n", #cond, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The same pattern behind a leading (?s), which changes nothing in what it matches but
 * keeps the literal analysis out, so it always runs PCRE2. NULL when it does not
 * compile (it then must not have compiled without the prefix either). */
static struct ignis_regex *general_twin(const char *p, size_t n)
{
    char *q = malloc(n + 5);
    if (!q)
        return NULL;
    memcpy(q, "(?s)", 4);
    memcpy(q + 4, p, n);
    struct ignis_regex *re = ignis_regex_compile(q, n + 4, NULL, 0);
    free(q);
    return re;
}

static void check_subject(const struct ignis_regex *re, const struct ignis_regex *twin,
                          const char *s, size_t n)
{
    bool m = ignis_regex_match(re, s, n);
    if (twin && ignis_utf8_valid(s, n))
        CHECK(m == ignis_regex_match(twin, s, n));
    size_t pl;
    const char *p = ignis_regex_prefix(re, &pl);
    if (m)
        CHECK(n >= pl && memcmp(s, p, pl) == 0);
    char out[256];
    long r = ignis_regex_replace(re, s, n, "$1${1}x$$${name}$", out, sizeof out);
    CHECK(r == -2 || (r == -1) == !m);
    if (r >= 0)
        CHECK(strlen(out) <= (size_t)r); /* groups may hold NUL bytes */
}

static void check_regex(const char *p, size_t n, const char *data, size_t size)
{
    struct ignis_regex *re = ignis_regex_compile(p, n, NULL, 0);
    if (!re)
        return;
    CHECK(strlen(ignis_regex_source(re)) <= n);
    struct ignis_regex *twin = general_twin(p, n);
    const char *const *lits;
    const size_t *lens;
    size_t nl = ignis_regex_literals(re, &lits, &lens);
    for (size_t i = 0; i < nl && i < 64; i++) {
        CHECK(ignis_regex_match(re, lits[i], lens[i]));
        check_subject(re, twin, lits[i], lens[i]);
        if (i > 0) /* sorted, no duplicates */
            CHECK(lens[i - 1] != lens[i] || memcmp(lits[i - 1], lits[i], lens[i]) != 0);
    }
    size_t pl;
    const char *pfx = ignis_regex_prefix(re, &pl);
    char buf[64];
    static const char *const fixed[] = {"", "a", "\n", "foo", "foobar", "x.y", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_subject(re, twin, fixed[i], strlen(fixed[i]));
    check_subject(re, twin, p, n);
    check_subject(re, twin, data, size < FUZZ_MAX_REGEX ? size : FUZZ_MAX_REGEX);
    if (pl < sizeof buf - 2) {
        memcpy(buf, pfx, pl);
        check_subject(re, twin, buf, pl);
        buf[pl] = 'z';
        check_subject(re, twin, buf, pl + 1);
    }
    ignis_regex_free(twin);
    ignis_regex_free(re);
}

static void check_selector(const struct ignis_selector *sel)
{
    CHECK(sel->n > 0);
    bool nonempty = false;
    for (size_t i = 0; i < sel->n; i++) {
        const struct ignis_matcher *m = &sel->matchers[i];
        CHECK(m->name[m->name_len] == '\0' && m->value[m->value_len] == '\0');
        CHECK((m->re != NULL) == (m->type == IGNIS_MATCH_RE || m->type == IGNIS_MATCH_NRE));
        if (!ignis_matcher_matches_empty(m))
            nonempty = true;
        /* an equality matcher accepts its own value */
        if (m->type == IGNIS_MATCH_EQ)
            CHECK(ignis_matcher_matches(m, m->value, m->value_len));
        if (m->type == IGNIS_MATCH_NE)
            CHECK(!ignis_matcher_matches(m, m->value, m->value_len));
        if (m->re && m->value_len <= FUZZ_MAX_REGEX)
            check_regex(m->value, m->value_len, m->name, m->name_len);
    }
    CHECK(nonempty);
    /* The label set made of the equality matchers (first value per name) satisfies
     * those matchers. */
    struct ignis_label *ls = calloc(sel->n, sizeof *ls);
    if (!ls)
        return;
    size_t n = 0;
    for (size_t i = 0; i < sel->n; i++) {
        const struct ignis_matcher *m = &sel->matchers[i];
        if (m->type != IGNIS_MATCH_EQ)
            continue;
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= ls[k].name_len == m->name_len && memcmp(ls[k].name, m->name, m->name_len) == 0;
        if (!dup)
            ls[n++] = (struct ignis_label){m->name, m->name_len, m->value, m->value_len};
    }
    CHECK(ignis_labels_sort(ls, n) == 0);
    for (size_t i = 0; i < sel->n; i++) {
        const struct ignis_matcher *m = &sel->matchers[i];
        const struct ignis_label *l = ignis_labels_get(ls, n, m->name, m->name_len);
        if (m->type == IGNIS_MATCH_EQ && l && l->value == m->value)
            CHECK(ignis_matcher_matches(m, l->value, l->value_len));
    }
    (void)ignis_selector_matches(sel, ls, n);
    free(ls);
}

/* Writes s as a double-quoted selector string, every byte that is not plain printable
 * ASCII as \xHH, so any byte string comes back unchanged. Returns the new offset. */
static size_t put_quoted(char *o, size_t at, const char *s, size_t n)
{
    o[at++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            at += (size_t)sprintf(o + at, "\\x%02x", c);
        else
            o[at++] = (char)c;
    }
    o[at++] = '"';
    return at;
}

/* A parsed selector written back as {"name" op "value", ...} parses to the same
 * matchers. */
static void check_round_trip(const struct ignis_selector *sel)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    size_t cap = 8;
    for (size_t i = 0; i < sel->n; i++)
        cap += 4 * (sel->matchers[i].name_len + sel->matchers[i].value_len) + 16;
    char *text = malloc(cap);
    if (!text)
        return;
    size_t n = 0;
    text[n++] = '{';
    for (size_t i = 0; i < sel->n; i++) {
        const struct ignis_matcher *m = &sel->matchers[i];
        if (i)
            text[n++] = ',';
        n = put_quoted(text, n, m->name, m->name_len);
        n += (size_t)sprintf(text + n, "%s", ops[m->type]);
        n = put_quoted(text, n, m->value, m->value_len);
    }
    text[n++] = '}';
    struct ignis_selector back;
    char err[512];
    if (ignis_selector_parse(text, n, &back, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_selector: `%.*s` does not parse back: %s\n", (int)n, text, err);
        abort();
    }
    CHECK(back.n == sel->n);
    for (size_t i = 0; i < sel->n; i++) {
        const struct ignis_matcher *a = &sel->matchers[i], *b = &back.matchers[i];
        CHECK(a->type == b->type);
        CHECK(a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0);
        CHECK(a->value_len == b->value_len && memcmp(a->value, b->value, a->value_len) == 0);
    }
    ignis_selector_free(&back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct ignis_selector sel;
    char err[512];
    if (ignis_selector_parse(s, size, &sel, err, sizeof err) == 0) {
        check_selector(&sel);
        check_round_trip(&sel);
        ignis_selector_free(&sel);
    } else {
        CHECK(sel.n == 0 && sel.matchers == NULL);
        CHECK(strstr(err, ": parse error: ") != NULL);
    }

    /* The braces entry point, at the first few '{', with and without a name before. */
    int tries = 0;
    for (size_t i = 0; i < size && tries < 4; i++) {
        if (s[i] != '{')
            continue;
        tries++;
        for (int named = 0; named < 2; named++) {
            struct ignis_selector b = {0};
            if (named) {
                b.matchers = malloc(sizeof *b.matchers);
                if (!b.matchers || ignis_matcher_init(&b.matchers[0], IGNIS_MATCH_EQ, "__name__", 8,
                                                      "m", 1, NULL, 0) != 0) {
                    free(b.matchers);
                    continue;
                }
                b.n = 1;
            }
            size_t pos = i, before = b.n;
            if (ignis_selector_parse_braces(s, size, &pos, &b, err, sizeof err) == 0) {
                CHECK(pos > i && pos <= size && s[pos - 1] == '}');
            } else {
                CHECK(pos == i && b.n == before);
                CHECK(strncmp(err, "at ", 3) == 0);
            }
            if (named)
                CHECK(b.n >= 1 && strcmp(b.matchers[0].value, "m") == 0);
            ignis_selector_free(&b);
        }
    }

    /* The whole input as a regex pattern. */
    if (size <= FUZZ_MAX_REGEX)
        check_regex(s, size, s, size);
    return 0;
}
