/* core/ignisctl_tsdb.c — `ignisctl tsdb list DIR`: the blocks of a data directory as
 * `promtool tsdb list` prints them, read from each block's meta.json (Prometheus' block
 * format, public) and the sizes of its files. */
#include <config.h>
#include "core/ignisctl_tsdb.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

struct block_row {
    char ulid[64];
    int64_t mint, maxt;
    uint64_t samples, chunks, series, size;
};

static uint64_t dir_size(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        n += S_ISDIR(st.st_mode) ? dir_size(p) : (uint64_t)st.st_size;
    }
    closedir(d);
    return n;
}

/* A duration as Go's time.Duration prints it ("15.001s", "2h0m0s", "1ms"). */
static void go_duration(int64_t ms, char *buf, size_t len)
{
    if (ms == 0) {
        snprintf(buf, len, "0s");
        return;
    }
    const char *sign = ms < 0 ? "-" : "";
    uint64_t u = ms < 0 ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
    if (u < 1000) {
        snprintf(buf, len, "%s%" PRIu64 "ms", sign, u);
        return;
    }
    uint64_t h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60, f = u % 1000;
    char sec[32];
    if (f) {
        snprintf(sec, sizeof sec, "%" PRIu64 ".%03" PRIu64, s, f);
        size_t k = strlen(sec);
        while (sec[k - 1] == '0')
            sec[--k] = '\0';
    } else {
        snprintf(sec, sizeof sec, "%" PRIu64, s);
    }
    if (h)
        snprintf(buf, len, "%s%" PRIu64 "h%" PRIu64 "m%ss", sign, h, m, sec);
    else if (m)
        snprintf(buf, len, "%s%" PRIu64 "m%ss", sign, m, sec);
    else
        snprintf(buf, len, "%s%ss", sign, sec);
}

static int cmp_rows(const void *a, const void *b)
{
    const struct block_row *x = a, *y = b;
    if (x->mint != y->mint)
        return x->mint < y->mint ? -1 : 1;
    return strcmp(x->ulid, y->ulid);
}

static void help_list(FILE *f)
{
    fprintf(f, "usage: ignisctl tsdb list DIR\n"
               "\n"
               "Lists the blocks of a data directory (Prometheus' or ignisd's) as\n"
               "`promtool tsdb list` does: ULID, time range, duration, samples, chunks, series,\n"
               "size in bytes. Exit status: 0 listed, 1 unreadable, 2 usage error.\n");
}

static int run_list(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') {
        bool help = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0);
        help_list(help ? stdout : stderr);
        return help ? 0 : 2;
    }
    const char *dir = argv[0];
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ignisctl tsdb list: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    size_t n = 0, cap = 16;
    struct block_row *rows = malloc(cap * sizeof *rows);
    struct dirent *e;
    int rc = 0;
    while (rows && (e = readdir(d)) != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/meta.json", dir, e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' || stat(path, &st) != 0)
            continue;
        json_error_t je;
        json_t *m = json_load_file(path, 0, &je);
        if (!m) {
            fprintf(stderr, "ignisctl tsdb list: %s: %s (line %d)\n", path, je.text, je.line);
            rc = 1;
            continue;
        }
        if (n == cap) {
            struct block_row *nr = realloc(rows, cap * 2 * sizeof *nr);
            if (!nr) {
                json_decref(m);
                break;
            }
            rows = nr;
            cap *= 2;
        }
        struct block_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        const char *ulid = json_string_value(json_object_get(m, "ulid"));
        snprintf(r->ulid, sizeof r->ulid, "%.40s", ulid ? ulid : e->d_name);
        r->mint = (int64_t)json_integer_value(json_object_get(m, "minTime"));
        r->maxt = (int64_t)json_integer_value(json_object_get(m, "maxTime"));
        json_t *s = json_object_get(m, "stats");
        r->samples = (uint64_t)json_integer_value(json_object_get(s, "numSamples"));
        r->chunks = (uint64_t)json_integer_value(json_object_get(s, "numChunks"));
        r->series = (uint64_t)json_integer_value(json_object_get(s, "numSeries"));
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        r->size = dir_size(path);
        json_decref(m);
    }
    closedir(d);
    if (!rows)
        return 1;
    qsort(rows, n, sizeof *rows, cmp_rows);
    /* Columns as promtool's tabwriter pads them: the widest cell plus two spaces, and at
     * least 13 columns. */
    static const char *const head[] = {"BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION",
                                       "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES", "SIZE"};
    char (*cells)[8][64] = calloc(n + 1, sizeof *cells);
    if (!cells) {
        free(rows);
        return 1;
    }
    size_t width[8] = {0};
    for (int c = 0; c < 8; c++)
        snprintf(cells[0][c], 64, "%s", head[c]);
    for (size_t i = 0; i < n; i++) {
        struct block_row *r = &rows[i];
        snprintf(cells[i + 1][0], 64, "%s", r->ulid);
        snprintf(cells[i + 1][1], 64, "%" PRId64, r->mint);
        snprintf(cells[i + 1][2], 64, "%" PRId64, r->maxt);
        go_duration(r->maxt - r->mint, cells[i + 1][3], 64);
        snprintf(cells[i + 1][4], 64, "%" PRIu64, r->samples);
        snprintf(cells[i + 1][5], 64, "%" PRIu64, r->chunks);
        snprintf(cells[i + 1][6], 64, "%" PRIu64, r->series);
        snprintf(cells[i + 1][7], 64, "%" PRIu64, r->size);
    }
    for (size_t i = 0; i <= n; i++)
        for (int c = 0; c < 8; c++)
            if (strlen(cells[i][c]) > width[c])
                width[c] = strlen(cells[i][c]);
    for (size_t i = 0; i <= n; i++) {
        for (int c = 0; c < 7; c++)
            printf("%-*s", (int)(width[c] + 2 > 13 ? width[c] + 2 : 13), cells[i][c]);
        printf("%s\n", cells[i][7]);
    }
    free(cells);
    free(rows);
    return rc;
}

static void help_tsdb(FILE *f)
{
    fprintf(f, "usage: ignisctl tsdb COMMAND [args]\n\nCommands:\n"
               "  list       list the blocks of a data directory\n"
               "\n'ignisctl tsdb COMMAND --help' tells more.\n");
}

int ig_ctl_tsdb(int argc, char **argv)
{
    if (argc < 1) {
        help_tsdb(stderr);
        return 2;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        help_tsdb(stdout);
        return 0;
    }
    if (strcmp(argv[0], "list") == 0)
        return run_list(argc - 1, argv + 1);
    fprintf(stderr, "ignisctl tsdb: unknown command \"%s\"\n", argv[0]);
    help_tsdb(stderr);
    return 2;
}
