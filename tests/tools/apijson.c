/* tests/tools/apijson.c — turns Prometheus HTTP API answers into sorted, canonical text
 * lines so that shell tests can compare two servers' answers with diff:
 *   apijson series  < /api/v1/series answer    one line per label set: {a="b",c="d"}
 *   apijson target-labels < ...                 the same without health
 *   apijson target-final < ...                  active: pool, URL, labels; dropped: job and
 *                                               address (Prometheus 2.42 shows partly
 *                                               relabeled discoveredLabels, a bug)
 *   apijson targets < /api/v1/targets answer   one line per active target (pool, URL,
 *                                               health, labels, discovered labels) and
 *                                               per dropped target (discovered labels)
 *   apijson strings < /api/v1/labels answer     one line per string
 * Exits 1 on input that is not a success answer. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* {"k":"v",...} → {k="v",...} with keys sorted; caller frees. */
static char *labels(json_t *obj)
{
    size_t n = json_object_size(obj);
    char **kv = calloc(n + 1, sizeof *kv);
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        const char *s = json_string_value(v);
        size_t len = strlen(k) + (s ? strlen(s) : 0) + 4;
        kv[i] = malloc(len);
        snprintf(kv[i], len, "%s=\"%s\"", k, s ? s : "");
        i++;
    }
    qsort(kv, n, sizeof *kv, cmp_str);
    size_t total = 3;
    for (i = 0; i < n; i++)
        total += strlen(kv[i]) + 1;
    char *out = malloc(total);
    strcpy(out, "{");
    for (i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, kv[i]);
        free(kv[i]);
    }
    strcat(out, "}");
    free(kv);
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: apijson series|targets|strings < answer.json\n");
        return 2;
    }
    json_error_t e;
    json_t *root = json_loadf(stdin, 0, &e);
    if (!root || strcmp(json_string_value(json_object_get(root, "status")) ?: "", "success") != 0) {
        fprintf(stderr, "apijson: not a success answer (%s)\n", root ? "status" : e.text);
        return 1;
    }
    json_t *data = json_object_get(root, "data");
    size_t cap = 1024, n = 0;
    char **lines = malloc(cap * sizeof *lines);
#define ADD(s)                                                                             \
    do {                                                                                   \
        if (n == cap)                                                                      \
            lines = realloc(lines, (cap *= 2) * sizeof *lines);                            \
        lines[n++] = (s);                                                                  \
    } while (0)
    size_t i;
    json_t *it;
    if (strcmp(argv[1], "series") == 0) {
        json_array_foreach(data, i, it) ADD(labels(it));
    } else if (strcmp(argv[1], "strings") == 0) {
        json_array_foreach(data, i, it) ADD(strdup(json_string_value(it) ?: ""));
    } else if (strcmp(argv[1], "targets") == 0 || strcmp(argv[1], "target-labels") == 0 ||
               strcmp(argv[1], "target-final") == 0) {
        bool health = strcmp(argv[1], "targets") == 0;
        bool final_only = strcmp(argv[1], "target-final") == 0;
        json_array_foreach(json_object_get(data, "activeTargets"), i, it)
        {
            char *l = labels(json_object_get(it, "labels"));
            char *d = labels(json_object_get(it, "discoveredLabels"));
            const char *pool = json_string_value(json_object_get(it, "scrapePool"));
            const char *url = json_string_value(json_object_get(it, "scrapeUrl"));
            const char *hl = json_string_value(json_object_get(it, "health"));
            size_t len = strlen(l) + strlen(d) + 64 + (pool ? strlen(pool) : 0) +
                         (url ? strlen(url) : 0);
            char *line = malloc(len);
            if (final_only)
                snprintf(line, len, "active pool=%s url=%s labels=%s", pool ?: "", url ?: "", l);
            else
                snprintf(line, len, "active pool=%s url=%s health=%s labels=%s discovered=%s",
                         pool ?: "", url ?: "", health ? (hl ?: "") : "-", l, d);
            free(l);
            free(d);
            ADD(line);
        }
        json_array_foreach(json_object_get(data, "droppedTargets"), i, it)
        {
            json_t *dl = json_object_get(it, "discoveredLabels");
            char *d = labels(dl);
            size_t len = strlen(d) + 600;
            char *line = malloc(len);
            if (final_only)
                snprintf(line, len, "dropped job=%.200s address=%.200s",
                         json_string_value(json_object_get(dl, "job")) ?: "",
                         json_string_value(json_object_get(dl, "__address__")) ?: "");
            else
                snprintf(line, len, "dropped discovered=%s", d);
            free(d);
            ADD(line);
        }
    } else {
        fprintf(stderr, "apijson: unknown mode %s\n", argv[1]);
        return 2;
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    for (i = 0; i < n; i++) {
        puts(lines[i]);
        free(lines[i]);
    }
    free(lines);
    json_decref(root);
    return 0;
}
