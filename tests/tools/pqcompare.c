/* tests/tools/pqcompare.c — compares two Prometheus HTTP API answers of /api/v1/query or
 * /api/v1/query_range (the side-by-side PromQL test): status, error type, result type,
 * label sets as sets, timestamps exactly and values within 1e-9 relative (NaN equals NaN,
 * ±Inf exactly). Error messages, warnings and infos are not compared.
 *   pqcompare A.json B.json   prints "equal empty" or "equal N" (N: samples compared) and
 *                             exits 0; prints each difference and exits 1; exits 2 on
 *                             input that is not an API answer. */
#include <config.h>

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define REL_TOL 1e-9
#define MAX_REPORTED 8

static int ndiff;
static bool both_errors;

static void differ(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void differ(const char *fmt, ...)
{
    va_list ap;
    if (++ndiff > MAX_REPORTED)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* {"k":"v",...} → {k="v",...} with keys sorted; caller frees. NULL when not an object. */
static char *labels(json_t *obj)
{
    if (!json_is_object(obj))
        return NULL;
    size_t n = json_object_size(obj), len = 3, i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!json_is_string(v)) {
            free(keys);
            return NULL;
        }
        keys[i++] = k;
        len += strlen(k) + json_string_length(v) + 4;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    char *out = malloc(len), *p = out;
    *p++ = '{';
    for (i = 0; i < n; i++)
        p += sprintf(p, "%s%s=\"%s\"", i ? "," : "", keys[i],
                     json_string_value(json_object_get(obj, keys[i])));
    *p++ = '}';
    *p = '\0';
    free(keys);
    return out;
}

/* A sample value as the API writes it: a string holding a float, NaN or ±Inf. */
static bool parse_value(json_t *s, double *out)
{
    if (!json_is_string(s))
        return false;
    const char *t = json_string_value(s);
    char *end;
    if (!strcmp(t, "NaN"))
        *out = NAN;
    else if (!strcmp(t, "+Inf"))
        *out = INFINITY;
    else if (!strcmp(t, "-Inf"))
        *out = -INFINITY;
    else {
        *out = strtod(t, &end);
        if (end == t || *end)
            return false;
    }
    return true;
}

static bool values_equal(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b))
        return a == b;
    double m = fmax(fabs(a), fabs(b));
    return fabs(a - b) <= REL_TOL * m;
}

/* Compares two [t, "v"] pairs; where names the series. false on malformed input. */
static bool cmp_point(json_t *a, json_t *b, const char *where, size_t *n)
{
    if (!json_is_array(a) || json_array_size(a) != 2 || !json_is_array(b) ||
        json_array_size(b) != 2)
        return false;
    json_t *ta = json_array_get(a, 0), *tb = json_array_get(b, 0);
    double va, vb;
    if (!json_is_number(ta) || !json_is_number(tb) ||
        !parse_value(json_array_get(a, 1), &va) || !parse_value(json_array_get(b, 1), &vb))
        return false;
    (*n)++;
    if (json_number_value(ta) != json_number_value(tb))
        differ("%s: timestamp %.3f vs %.3f", where, json_number_value(ta),
               json_number_value(tb));
    else if (!values_equal(va, vb))
        differ("%s @%.3f: value %s vs %s", where, json_number_value(ta),
               json_string_value(json_array_get(a, 1)), json_string_value(json_array_get(b, 1)));
    return true;
}

struct entry {
    char *key;
    json_t *item;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

/* The vector or matrix as entries sorted by label set; NULL on malformed input. */
static struct entry *entries(json_t *res, size_t *n)
{
    *n = json_array_size(res);
    struct entry *e = calloc(*n ? *n : 1, sizeof *e);
    for (size_t i = 0; i < *n; i++) {
        e[i].item = json_array_get(res, i);
        e[i].key = labels(json_object_get(e[i].item, "metric"));
        if (!e[i].key) {
            for (size_t j = 0; j < i; j++)
                free(e[j].key);
            free(e);
            return NULL;
        }
    }
    qsort(e, *n, sizeof *e, cmp_entry);
    return e;
}

static void free_entries(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].key);
    free(e);
}

/* Compares two series of a matrix point by point. */
static bool cmp_series(json_t *a, json_t *b, const char *key, size_t *n)
{
    json_t *va = json_object_get(a, "values"), *vb = json_object_get(b, "values");
    if (!va && !vb)
        return true; /* histogram-only series: not compared here */
    if (!json_is_array(va) || !json_is_array(vb))
        return false;
    size_t na = json_array_size(va), nb = json_array_size(vb), i = 0, j = 0;
    while (i < na && j < nb) {
        double ta = json_number_value(json_array_get(json_array_get(va, i), 0));
        double tb = json_number_value(json_array_get(json_array_get(vb, j), 0));
        if (ta < tb) {
            differ("%s: point @%.3f only in A", key, ta);
            i++;
        } else if (tb < ta) {
            differ("%s: point @%.3f only in B", key, tb);
            j++;
        } else if (!cmp_point(json_array_get(va, i++), json_array_get(vb, j++), key, n))
            return false;
    }
    for (; i < na; i++)
        differ("%s: point @%.3f only in A", key,
               json_number_value(json_array_get(json_array_get(va, i), 0)));
    for (; j < nb; j++)
        differ("%s: point @%.3f only in B", key,
               json_number_value(json_array_get(json_array_get(vb, j), 0)));
    return true;
}

static bool cmp_result(json_t *ra, json_t *rb, bool matrix, size_t *n)
{
    size_t na, nb;
    if (!json_is_array(ra) || !json_is_array(rb))
        return false;
    struct entry *ea = entries(ra, &na), *eb = entries(rb, &nb);
    bool ok = ea && eb;
    size_t i = 0, j = 0;
    for (size_t k = 1; ok && k < na; k++)
        if (!strcmp(ea[k - 1].key, ea[k].key))
            differ("label set %s twice in A", ea[k].key);
    for (size_t k = 1; ok && k < nb; k++)
        if (!strcmp(eb[k - 1].key, eb[k].key))
            differ("label set %s twice in B", eb[k].key);
    while (ok && i < na && j < nb) {
        int c = strcmp(ea[i].key, eb[j].key);
        if (c < 0) {
            differ("series %s only in A", ea[i++].key);
        } else if (c > 0) {
            differ("series %s only in B", eb[j++].key);
        } else {
            if (matrix)
                ok = cmp_series(ea[i].item, eb[j].item, ea[i].key, n);
            else {
                json_t *va = json_object_get(ea[i].item, "value");
                json_t *vb = json_object_get(eb[j].item, "value");
                if (va || vb)
                    ok = cmp_point(va, vb, ea[i].key, n);
            }
            i++;
            j++;
        }
    }
    for (; ok && i < na; i++)
        differ("series %s only in A", ea[i].key);
    for (; ok && j < nb; j++)
        differ("series %s only in B", eb[j].key);
    if (ea)
        free_entries(ea, na);
    if (eb)
        free_entries(eb, nb);
    return ok;
}

/* 0 equal, 1 different, 2 malformed. */
static int compare(json_t *a, json_t *b, size_t *n)
{
    const char *sa = json_string_value(json_object_get(a, "status"));
    const char *sb = json_string_value(json_object_get(b, "status"));
    if (!sa || !sb)
        return 2;
    if (strcmp(sa, sb)) {
        const char *ea = json_string_value(json_object_get(a, "error"));
        const char *eb = json_string_value(json_object_get(b, "error"));
        differ("status %s vs %s (%s | %s)", sa, sb, ea ? ea : "-", eb ? eb : "-");
        return 1;
    }
    if (!strcmp(sa, "error")) {
        const char *ta = json_string_value(json_object_get(a, "errorType"));
        const char *tb = json_string_value(json_object_get(b, "errorType"));
        if (!ta || !tb)
            return 2;
        if (strcmp(ta, tb))
            differ("errorType %s vs %s (%s | %s)", ta, tb,
                   json_string_value(json_object_get(a, "error")),
                   json_string_value(json_object_get(b, "error")));
        both_errors = true;
        return ndiff ? 1 : 0;
    }
    json_t *da = json_object_get(a, "data"), *db = json_object_get(b, "data");
    const char *ta = json_string_value(json_object_get(da, "resultType"));
    const char *tb = json_string_value(json_object_get(db, "resultType"));
    if (!ta || !tb)
        return 2;
    if (strcmp(ta, tb)) {
        differ("resultType %s vs %s", ta, tb);
        return 1;
    }
    json_t *ra = json_object_get(da, "result"), *rb = json_object_get(db, "result");
    bool ok;
    if (!strcmp(ta, "scalar") || !strcmp(ta, "string")) {
        if (!strcmp(ta, "string")) {
            ok = json_is_array(ra) && json_is_array(rb);
            if (ok && !json_equal(ra, rb))
                differ("string %s vs %s", json_string_value(json_array_get(ra, 1)),
                       json_string_value(json_array_get(rb, 1)));
            (*n)++;
        } else
            ok = cmp_point(ra, rb, "scalar", n);
    } else if (!strcmp(ta, "vector") || !strcmp(ta, "matrix"))
        ok = cmp_result(ra, rb, !strcmp(ta, "matrix"), n);
    else
        return 2;
    if (!ok)
        return 2;
    return ndiff ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pqcompare A.json B.json\n");
        return 2;
    }
    json_error_t err;
    json_t *a = json_load_file(argv[1], 0, &err);
    if (!a) {
        fprintf(stderr, "pqcompare: %s: %s\n", argv[1], err.text);
        return 2;
    }
    json_t *b = json_load_file(argv[2], 0, &err);
    if (!b) {
        fprintf(stderr, "pqcompare: %s: %s\n", argv[2], err.text);
        json_decref(a);
        return 2;
    }
    size_t n = 0;
    int rc = compare(a, b, &n);
    if (rc == 2)
        fprintf(stderr, "pqcompare: not a query answer\n");
    else if (rc == 1 && ndiff > MAX_REPORTED)
        printf("... %d differences in all\n", ndiff);
    else if (rc == 0) {
        if (both_errors)
            printf("equal error\n");
        else if (n)
            printf("equal %zu\n", n);
        else
            printf("equal empty\n");
    }
    json_decref(a);
    json_decref(b);
    return rc;
}
