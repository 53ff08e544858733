/* core/ignisctl_tsdb.c — `ignisctl tsdb`: the verb table, `list DIR` (the blocks of a data
 * directory as `promtool tsdb list` prints them, read from each block's meta.json and the
 * sizes of its files) and the helpers the other verbs' files share (ignisctl_tsdb.h). */
#include <config.h>
#include "core/ignisctl_tsdb.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#define block_row ig_ctl_block_row

uint64_t ig_ctl_dir_size(const char *path)
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
        n += S_ISDIR(st.st_mode) ? ig_ctl_dir_size(p) : (uint64_t)st.st_size;
    }
    closedir(d);
    return n;
}

void ig_ctl_go_duration(int64_t ms, char *buf, size_t len)
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

/* Go's units.Base2Bytes text: each binary unit from the largest down with its count,
 * then the bytes left ("34KiB753B", "1MiB", "0B"). */
static void base2_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const unit[] = {"EiB", "PiB", "TiB", "GiB", "MiB", "KiB"};
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < 6; i++) {
        uint64_t u = 1ull << (10 * (6 - i));
        if (n >= u && o < len) {
            o += (size_t)snprintf(buf + o, len - o, "%" PRIu64 "%s", n / u, unit[i]);
            n %= u;
        }
    }
    if ((n || o == 0) && o < len)
        snprintf(buf + o, len - o, "%" PRIu64 "B", n);
}

/* Seconds of a ms timestamp as Go's time.Time.String prints them in UTC. */
static void utc_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, len, "%" PRId64, ms);
        return;
    }
    strftime(buf, len, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
}

int ig_ctl_print_blocks(FILE *f, const struct ig_ctl_block_row *rows, size_t n, bool header,
                        bool human)
{
    static const char *const head[] = {"BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION",
                                       "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES", "SIZE"};
    size_t first = header ? 0 : 1;
    char (*cells)[8][64] = calloc(n + 1, sizeof *cells);
    if (!cells)
        return -1;
    size_t width[8] = {0};
    for (int c = 0; c < 8; c++)
        snprintf(cells[0][c], 64, "%s", head[c]);
    for (size_t i = 0; i < n; i++) {
        const struct block_row *r = &rows[i];
        snprintf(cells[i + 1][0], 64, "%s", r->ulid);
        if (human) {
            utc_time(r->mint, cells[i + 1][1], 64);
            utc_time(r->maxt, cells[i + 1][2], 64);
            base2_bytes(r->size, cells[i + 1][7], 64);
        } else {
            snprintf(cells[i + 1][1], 64, "%" PRId64, r->mint);
            snprintf(cells[i + 1][2], 64, "%" PRId64, r->maxt);
            snprintf(cells[i + 1][7], 64, "%" PRIu64, r->size);
        }
        ig_ctl_go_duration(r->maxt - r->mint, cells[i + 1][3], 64);
        snprintf(cells[i + 1][4], 64, "%" PRIu64, r->samples);
        snprintf(cells[i + 1][5], 64, "%" PRIu64, r->chunks);
        snprintf(cells[i + 1][6], 64, "%" PRIu64, r->series);
    }
    /* Columns as promtool's tabwriter pads them: the widest cell plus two spaces, and at
     * least 13 columns. */
    for (size_t i = first; i <= n; i++)
        for (int c = 0; c < 8; c++)
            if (strlen(cells[i][c]) > width[c])
                width[c] = strlen(cells[i][c]);
    for (size_t i = first; i <= n; i++) {
        for (int c = 0; c < 7; c++)
            fprintf(f, "%-*s", (int)(width[c] + 2 > 13 ? width[c] + 2 : 13), cells[i][c]);
        fprintf(f, "%s\n", cells[i][7]);
    }
    free(cells);
    return 0;
}

bool ig_ctl_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

bool ig_ctl_flag(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *val = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

static void help_list(FILE *f)
{
    fprintf(f, "usage: ignisctl tsdb list [-r|--human-readable] DIR\n"
               "\n"
               "Lists the blocks of a data directory (Prometheus' or ignisd's) as\n"
               "`promtool tsdb list` does: ULID, time range, duration, samples, chunks, series,\n"
               "size in bytes (-r: dates and binary units).\n"
               "Exit status: 0 listed, 1 unreadable, 2 usage error.\n");
}

static int run_list(int argc, char **argv)
{
    const char *dir = NULL;
    bool human = false;
    for (int i = 0; i < argc; i++) {
        if (ig_ctl_is_help(argv[i])) {
            help_list(stdout);
            return 0;
        } else if (strcmp(argv[i], "-r") == 0 || strcmp(argv[i], "--human-readable") == 0) {
            human = true;
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "ignisctl tsdb list: unexpected argument %s\n", argv[i]);
            help_list(stderr);
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        help_list(stderr);
        return 2;
    }
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
        r->size = ig_ctl_dir_size(path);
        json_decref(m);
    }
    closedir(d);
    if (!rows)
        return 1;
    qsort(rows, n, sizeof *rows, cmp_rows);
    if (ig_ctl_print_blocks(stdout, rows, n, true, human) < 0)
        rc = 1;
    free(rows);
    return rc;
}

static const struct {
    const char *name, *summary;
    int (*run)(int argc, char **argv);
} tsdb_verbs[] = {
    {"list", "list the blocks of a data directory", run_list},
    {"analyze", "churn, label cardinality and chunk fullness of a block", ig_ctl_tsdb_analyze},
    {"dump", "print every sample of the blocks and the head (WAL)", ig_ctl_tsdb_dump},
    {"create-blocks-from", "backfill blocks from an OpenMetrics file (openmetrics FILE [DIR])",
     ig_ctl_tsdb_create_blocks},
};
#define NVERBS (sizeof tsdb_verbs / sizeof tsdb_verbs[0])

static void help_tsdb(FILE *f)
{
    fprintf(f, "usage: ignisctl tsdb COMMAND [args]\n\nCommands:\n");
    for (size_t i = 0; i < NVERBS; i++)
        fprintf(f, "  %-19s %s\n", tsdb_verbs[i].name, tsdb_verbs[i].summary);
    fprintf(f, "\nThey read and write Prometheus' on-disk format and print what promtool 2.42's\n"
               "verbs of the same names print. 'ignisctl tsdb COMMAND --help' tells more.\n"
               "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int ig_ctl_tsdb(int argc, char **argv)
{
    if (argc < 1) {
        help_tsdb(stderr);
        return 2;
    }
    if (ig_ctl_is_help(argv[0]) || strcmp(argv[0], "help") == 0) {
        help_tsdb(stdout);
        return 0;
    }
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(argv[0], tsdb_verbs[i].name) == 0)
            return tsdb_verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ignisctl tsdb: unknown command \"%s\"\n", argv[0]);
    help_tsdb(stderr);
    return 2;
}
