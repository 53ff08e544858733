/* tests/conformance/openmetrics.c — runs libignis' exposition parser over the corpora in
 * $CONFORMANCE_DIR: every OpenMetrics case folder (strict mode must agree with its
 * shouldParse verdict; should-parse cases must also pass scrape mode) and every Prometheus
 * textformat sample (both modes must accept it). Prints one line per failure and ends with
 * "N passed, N failed". */
#include <ignis/textparse.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int passed, failed;
static int verbose;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* What textformat/README.md says each file holds: TYPE lines by type. */
struct expect {
    const char *file;
    int counter, gauge, histogram, summary;
};
static const struct expect textformat_expect[] = {
    {"alltypes.237mfs.prom.txt", 112, 97, 15, 13},
    {"alltypes.237mfs.nometa.prom.txt", 0, 0, 0, 0},
    {"alltypes.5mfs.om.txt", 2, 1, 1, 1},
    {"1histogram.om.txt", 0, 0, 1, 0},
};

/* Counts sample lines independently of the parser: not blank, not starting with '#'. */
static long sample_lines(const char *b, size_t n)
{
    long c = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && (b[j] == ' ' || b[j] == '\t')) {
            j++;
        }
        if (j < n && b[j] != '\n' && b[j] != '#') {
            c++;
        }
        while (i < n && b[i] != '\n') {
            i++;
        }
        i++;
    }
    return c;
}

/* Counts TYPE entries by type and samples; returns 0, or -1 on a parse error. */
static int census(const char *body, size_t len, enum ignis_textparse_format fmt, int types[8],
                  long *samples)
{
    struct ignis_textparse p;
    ignis_textparse_init(&p, body, len, fmt, IGNIS_TEXTPARSE_SCRAPE);
    enum ignis_textparse_entry e;
    memset(types, 0, 8 * sizeof *types);
    *samples = 0;
    while ((e = ignis_textparse_next(&p)) != IGNIS_TP_EOF && e != IGNIS_TP_ERROR) {
        if (e == IGNIS_TP_TYPE) {
            types[ignis_textparse_type(&p) & 7]++;
        }
        *samples += e == IGNIS_TP_SERIES;
    }
    ignis_textparse_fini(&p);
    return e == IGNIS_TP_ERROR ? -1 : 0;
}

/* Parses a whole body; returns 0 when accepted, else copies the error into err. */
static int parse(const char *body, size_t len, enum ignis_textparse_format fmt,
                 enum ignis_textparse_mode mode, char *err, size_t errlen, long *series)
{
    struct ignis_textparse p;
    ignis_textparse_init(&p, body, len, fmt, mode);
    enum ignis_textparse_entry e;
    long n = 0;
    while ((e = ignis_textparse_next(&p)) != IGNIS_TP_EOF && e != IGNIS_TP_ERROR) {
        n += e == IGNIS_TP_SERIES;
    }
    int rc = 0;
    if (e == IGNIS_TP_ERROR) {
        snprintf(err, errlen, "%s", ignis_textparse_error(&p));
        rc = -1;
    }
    ignis_textparse_fini(&p);
    if (series) {
        *series = n;
    }
    return rc;
}

static void verdict(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verdict(int ok, const char *fmt, ...)
{
    va_list ap;
    if (ok) {
        passed++;
        if (!verbose) {
            return;
        }
        printf("ok   ");
    } else {
        failed++;
        printf("FAIL ");
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* The shouldParse verdict of a test.json: 1, 0, or -1 when unreadable. */
static int should_parse(const char *json)
{
    const char *k = strstr(json, "\"shouldParse\"");
    if (!k) {
        return -1;
    }
    k = strchr(k + 13, ':');
    if (!k) {
        return -1;
    }
    k++;
    while (*k == ' ' || *k == '\t' || *k == '\n' || *k == '\r') {
        k++;
    }
    if (strncmp(k, "true", 4) == 0) {
        return 1;
    }
    if (strncmp(k, "false", 5) == 0) {
        return 0;
    }
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of a directory (caller frees). */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        return NULL;
    }
    size_t cap = 256;
    char **v = malloc(cap * sizeof *v);
    *n = 0;
    struct dirent *de;
    while (v && (de = readdir(d))) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (*n == cap) {
            cap *= 2;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                break;
            }
            v = nv;
        }
        v[(*n)++] = strdup(de->d_name);
    }
    closedir(d);
    if (v) {
        qsort(v, *n, sizeof *v, cmp_str);
    }
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static int run_openmetrics(const char *root)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/openmetrics", root);
    size_t n;
    char **names = list_dir(dir, &n);
    if (!names) {
        printf("FAIL cannot read %s: %s\n", dir, strerror(errno));
        failed++;
        return -1;
    }
    int cases = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096 + 512];
        size_t jlen, blen;
        snprintf(path, sizeof path, "%s/%s/test.json", dir, names[i]);
        char *json = slurp(path, &jlen);
        if (!json) {
            continue; /* README.md and other files */
        }
        char *jz = realloc(json, jlen + 1);
        if (!jz) {
            free(json);
            continue;
        }
        jz[jlen] = 0;
        int want = should_parse(jz);
        free(jz);
        cases++;
        if (want < 0) {
            verdict(0, "openmetrics/%s: test.json has no shouldParse verdict", names[i]);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s/metrics", dir, names[i]);
        char *body = slurp(path, &blen);
        if (!body) {
            verdict(0, "openmetrics/%s: cannot read metrics", names[i]);
            continue;
        }
        char err[512];
        int got = parse(body, blen, IGNIS_TEXTPARSE_OPENMETRICS, IGNIS_TEXTPARSE_STRICT, err,
                        sizeof err, NULL) == 0;
        if (want) {
            verdict(got, "openmetrics/%s (strict): should parse%s%s", names[i],
                    got ? "" : ", got: ", got ? "" : err);
            int sgot = parse(body, blen, IGNIS_TEXTPARSE_OPENMETRICS, IGNIS_TEXTPARSE_SCRAPE, err,
                             sizeof err, NULL) == 0;
            verdict(sgot, "openmetrics/%s (scrape): should parse%s%s", names[i],
                    sgot ? "" : ", got: ", sgot ? "" : err);
        } else {
            verdict(!got, "openmetrics/%s (strict): should be rejected%s%s", names[i],
                    got ? ", but it parsed" : ": ", got ? "" : err);
        }
        free(body);
    }
    free_list(names, n);
    if (cases == 0) {
        printf("FAIL no cases under %s\n", dir);
        failed++;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int run_textformat(const char *root)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/textformat", root);
    size_t n;
    char **names = list_dir(dir, &n);
    if (!names) {
        printf("FAIL cannot read %s: %s\n", dir, strerror(errno));
        failed++;
        return -1;
    }
    int files = 0;
    for (size_t i = 0; i < n; i++) {
        enum ignis_textparse_format fmt;
        if (ends_with(names[i], ".om.txt")) {
            fmt = IGNIS_TEXTPARSE_OPENMETRICS;
        } else if (ends_with(names[i], ".prom.txt")) {
            fmt = IGNIS_TEXTPARSE_PROMETHEUS;
        } else {
            continue;
        }
        char path[4096 + 512];
        size_t blen;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *body = slurp(path, &blen);
        files++;
        if (!body) {
            verdict(0, "textformat/%s: cannot read", names[i]);
            continue;
        }
        for (int m = 0; m < 2; m++) {
            enum ignis_textparse_mode mode = m ? IGNIS_TEXTPARSE_SCRAPE : IGNIS_TEXTPARSE_STRICT;
            char err[512];
            long series;
            int ok = parse(body, blen, fmt, mode, err, sizeof err, &series) == 0;
            verdict(ok, "textformat/%s (%s): should parse%s%s", names[i], m ? "scrape" : "strict",
                    ok ? "" : ", got: ", ok ? "" : err);
        }
        /* Samples against an independent line count, types against the README. */
        int types[8];
        long samples, want = sample_lines(body, blen);
        int ok = census(body, blen, fmt, types, &samples) == 0;
        verdict(ok && samples == want, "textformat/%s: %ld samples parsed, %ld sample lines",
                names[i], samples, want);
        for (size_t k = 0; k < sizeof textformat_expect / sizeof textformat_expect[0]; k++) {
            const struct expect *x = &textformat_expect[k];
            if (strcmp(x->file, names[i]) != 0) {
                continue;
            }
            int good = types[IGNIS_METRIC_COUNTER] == x->counter &&
                       types[IGNIS_METRIC_GAUGE] == x->gauge &&
                       types[IGNIS_METRIC_HISTOGRAM] == x->histogram &&
                       types[IGNIS_METRIC_SUMMARY] == x->summary;
            verdict(good,
                    "textformat/%s: TYPE counter/gauge/histogram/summary %d/%d/%d/%d, "
                    "README says %d/%d/%d/%d",
                    names[i], types[IGNIS_METRIC_COUNTER], types[IGNIS_METRIC_GAUGE],
                    types[IGNIS_METRIC_HISTOGRAM], types[IGNIS_METRIC_SUMMARY], x->counter,
                    x->gauge, x->histogram, x->summary);
        }
        free(body);
    }
    free_list(names, n);
    if (files == 0) {
        printf("FAIL no inputs under %s\n", dir);
        failed++;
    }
    return 0;
}

/* --check prom|om FILE...: prints "ok" or the strict-mode error for each file (used by
 * openmetrics_promtool.sh to compare verdicts with promtool). */
static int check_files(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s --check prom|om FILE...\n", argv[0]);
        return 2;
    }
    enum ignis_textparse_format fmt =
        strcmp(argv[2], "om") == 0 ? IGNIS_TEXTPARSE_OPENMETRICS : IGNIS_TEXTPARSE_PROMETHEUS;
    for (int i = 3; i < argc; i++) {
        size_t len;
        char *body = slurp(argv[i], &len);
        char err[512];
        if (!body) {
            printf("%s: cannot read\n", argv[i]);
            continue;
        }
        if (parse(body, len, fmt, IGNIS_TEXTPARSE_STRICT, err, sizeof err, NULL) == 0) {
            printf("%s: ok\n", argv[i]);
        } else {
            printf("%s: %s\n", argv[i], err);
        }
        free(body);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--check") == 0) {
        return check_files(argc, argv);
    }
    const char *root = getenv("CONFORMANCE_DIR");
    verbose = getenv("IGNIS_CONFORMANCE_VERBOSE") != NULL;
    struct stat sb;
    char om[4096];
    snprintf(om, sizeof om, "%s/openmetrics", root ? root : "");
    if (!root || !*root || stat(om, &sb) != 0) {
        const char *ci = getenv("CI");
        fprintf(stderr,
                "*** CONFORMANCE CORPUS MISSING: CONFORMANCE_DIR=%s has no openmetrics/ "
                "folder; the OpenMetrics conformance cases were NOT run ***\n",
                root ? root : "(unset)");
        if (ci && strcmp(ci, "true") == 0) {
            fprintf(stderr, "*** CI=true: a missing corpus is a failure ***\n");
            printf("0 passed, 1 failed\n");
            return 1;
        }
        return 77;
    }
    run_openmetrics(root);
    run_textformat(root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
