/* tests/fuzz/fuzz_textparse.c — fuzz target for the exposition parser and the bounded
 * gunzip. The first input byte picks the format (bit 0: OpenMetrics), whether the rest is
 * gzip to inflate first (bit 1); the body is parsed in both modes and every accessor is
 * exercised. Aborts when a promise breaks: labels() must succeed with scratch as large as
 * the series bytes, pointers must stay inside the body or the scratch, and whatever
 * strict mode accepts scrape mode must accept with the same samples. */
#include <ignis/textparse.h>

#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

/* Inflated bodies stop here: enough to reach every parser state. */
#define FUZZ_GUNZIP_LIMIT (1u << 20)
#define FUZZ_MAX_LABELS   256

static void check_in(const char *s, size_t n, const char *a, size_t an, const char *b, size_t bn)
{
    if (n == 0) {
        return;
    }
    bool in_a = s >= a && s + n <= a + an;
    bool in_b = b && s >= b && s + n <= b + bn;
    if (!in_a && !in_b) {
        abort();
    }
}

/* Parses body fully; returns the number of series, -1 on a parse error. */
static long run(const char *body, size_t len, enum ignis_textparse_format fmt,
                enum ignis_textparse_mode mode, uint64_t *digest)
{
    struct ignis_textparse p;
    struct ignis_label l[FUZZ_MAX_LABELS];
    ignis_textparse_init(&p, body, len, fmt, mode);
    long n = 0;
    enum ignis_textparse_entry e;
    char *scratch = malloc(len + 1);
    if (!scratch) {
        ignis_textparse_fini(&p);
        return -2;
    }
    while ((e = ignis_textparse_next(&p)) != IGNIS_TP_EOF && e != IGNIS_TP_ERROR) {
        size_t sl, fl, hl, ul;
        const char *f = ignis_textparse_family(&p, scratch, len + 1, &fl);
        if (!f != (e == IGNIS_TP_COMMENT)) {
            abort(); /* every entry but a comment names its family */
        }
        if (f) {
            check_in(f, fl, body, len, scratch, len + 1);
        }
        if (e == IGNIS_TP_COMMENT) {
            const char *c = ignis_textparse_comment(&p, &fl);
            check_in(c, fl, body, len, NULL, 0);
        }
        const char *h = ignis_textparse_help(&p, scratch, len + 1, &hl);
        if (h) {
            check_in(h, hl, body, len, scratch, len + 1);
        }
        const char *u = ignis_textparse_unit(&p, &ul);
        if (u) {
            check_in(u, ul, body, len, NULL, 0);
        }
        (void)ignis_textparse_type(&p);
        if (e != IGNIS_TP_SERIES) {
            continue;
        }
        n++;
        const char *s = ignis_textparse_series(&p, &sl);
        check_in(s, sl, body, len, NULL, 0);
        size_t want = ignis_textparse_label_count(&p) + 1;
        int k = ignis_textparse_labels(&p, l, FUZZ_MAX_LABELS, scratch, sl);
        if (want <= FUZZ_MAX_LABELS && k != (int)want) {
            abort();
        }
        for (int i = 1; i < k; i++) {
            check_in(l[i].name, l[i].name_len, body, len, scratch, sl);
            check_in(l[i].value, l[i].value_len, body, len, scratch, sl);
        }
        if (k > 0) {
            check_in(l[0].value, l[0].value_len, body, len, scratch, sl);
        }
        double v = ignis_textparse_value(&p);
        int64_t ts = 0;
        bool has_ts = ignis_textparse_timestamp(&p, &ts);
        uint64_t vb;
        memcpy(&vb, &v, sizeof vb);
        *digest = *digest * 1099511628211ULL + vb + (has_ts ? (uint64_t)ts : 7) + sl;
        struct ignis_textparse_exemplar ex;
        if (ignis_textparse_exemplar(&p, &ex)) {
            check_in(ex.labels, ex.labels_len, body, len, NULL, 0);
            k = ignis_textparse_exemplar_labels(&p, l, FUZZ_MAX_LABELS, scratch, ex.labels_len);
            if (ex.label_count < FUZZ_MAX_LABELS && k != (int)ex.label_count) {
                abort();
            }
        }
        (void)ignis_textparse_is_created(&p);
        int64_t ct;
        (void)ignis_textparse_created(&p, &ct);
    }
    if (e == IGNIS_TP_ERROR && !ignis_textparse_error(&p)) {
        abort();
    }
    ignis_textparse_fini(&p);
    free(scratch);
    return e == IGNIS_TP_ERROR ? -1 : n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    enum ignis_textparse_format fmt =
        (data[0] & 1) ? IGNIS_TEXTPARSE_OPENMETRICS : IGNIS_TEXTPARSE_PROMETHEUS;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    char *inflated = NULL;
    if (data[0] & 2) {
        char err[128];
        if (ignis_gunzip_all(body, len, FUZZ_GUNZIP_LIMIT, &inflated, &len, err, sizeof err)) {
            return 0;
        }
        body = inflated;
    }
    /* An exact-size copy so a read past the end is caught. */
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        free(inflated);
        return 0;
    }
    memcpy(copy, body, len);
    uint64_t d_strict = 0, d_scrape = 0;
    long strict = run(copy, len, fmt, IGNIS_TEXTPARSE_STRICT, &d_strict);
    long scrape = run(copy, len, fmt, IGNIS_TEXTPARSE_SCRAPE, &d_scrape);
    if (strict >= 0 && (scrape != strict || d_scrape != d_strict)) {
        abort(); /* strict accepted what scrape refused, or read it differently */
    }
    free(copy);
    free(inflated);
    return 0;
}
