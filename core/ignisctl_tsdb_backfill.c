/* core/ignisctl_tsdb_backfill.c — `ignisctl tsdb create-blocks-from openmetrics`: writes
 * TSDB blocks from an OpenMetrics text file (which must end with "# EOF") as promtool's
 * backfill does: samples grouped into blocks aligned to the block duration (2h, or the
 * largest of Prometheus' ranges 2h·3^k not above --max-block-duration), one block per range
 * that holds samples, each a level-1 block spanning its first to its last sample + 1 ms.
 * The whole input is validated before anything is written; blocks are built in a hidden
 * directory inside OUTPUT_DIR and renamed into place only when all of them are done, so a
 * bad line leaves no block behind. Progress goes to stderr: a redrawn bar on a terminal,
 * plain lines once a second otherwise. */
#define _GNU_SOURCE
#include <config.h>
#include "core/ignisctl_tsdb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ignis/plugin.h>
#include <ignis/textparse.h>

#include "plugins/storage/tsdb/block.h"
#include "plugins/storage/tsdb/db.h"
#include "plugins/storage/tsdb/fileutil.h"
#include "plugins/storage/tsdb/head.h"

#define HOUR_MS (3600 * 1000LL)
/* Prometheus' minimum block duration and the growth of its compaction ranges. */
#define BLOCK_MIN_MS (2 * HOUR_MS)
#define BLOCK_RANGE_STEPS 10
#define BLOCK_RANGE_FACTOR 3
/* Samples per appender commit (promtool commits every 5000 too). */
#define COMMIT_EVERY 5000
/* Bounds: labels per series, and block ranges one input may fill. */
#define MAX_LABELS 256
#define MAX_RANGES (1u << 20)

struct progress {
    bool on, tty;
    double start, last;
    uint64_t done, total; /* bytes parsed over all passes, and the expected sum */
    uint64_t cur;         /* bytes parsed in the current pass */
    unsigned pass, passes;
    uint64_t samples, blocks;
    size_t file_size;
};

/* A bar is on the terminal's last line: errors clear it before they are printed. */
static bool bar_shown;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fmt_mib(char *buf, size_t len, uint64_t bytes)
{
    snprintf(buf, len, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
}

static void progress_show(struct progress *p, bool final)
{
    if (!p->on)
        return;
    double t = now_s();
    if (!final && t - p->last < (p->tty ? 0.1 : 1.0))
        return;
    p->last = t;
    double el = t - p->start;
    double frac = p->total ? (double)p->done / (double)p->total : 1;
    if (frac > 1)
        frac = 1;
    char eta[32] = "?";
    if (frac > 0.001) {
        long left = (long)(el / frac - el + 0.5);
        snprintf(eta, sizeof eta, "%ld:%02ld", left / 60, left % 60);
    }
    char rd[32], tot[32];
    fmt_mib(rd, sizeof rd, final ? p->file_size : p->cur);
    fmt_mib(tot, sizeof tot, p->file_size);
    if (final) {
        if (p->tty)
            fputs("\r\033[K", stderr);
        fprintf(stderr,
                "backfill: done: %s read, %" PRIu64 " samples, %" PRIu64 " blocks written in %.1fs\n",
                tot, p->samples, p->blocks, el);
        return;
    }
    if (p->tty) {
        enum { WIDTH = 30 };
        bar_shown = true;
        char bar[WIDTH + 1];
        int full = (int)(frac * WIDTH);
        for (int i = 0; i < WIDTH; i++)
            bar[i] = i < full ? '=' : i == full ? '>' : ' ';
        bar[WIDTH] = '\0';
        fprintf(stderr, "\r\033[K[%s] %3d%% pass %u/%u %s/%s  %" PRIu64 " samples  %" PRIu64
                        " blocks  ETA %s",
                bar, (int)(frac * 100), p->pass, p->passes, rd, tot, p->samples, p->blocks,
                eta);
    } else {
        fprintf(stderr, "backfill: %d%%: pass %u/%u: %s/%s read, %" PRIu64 " samples, %" PRIu64
                        " blocks written, about %s left\n",
                (int)(frac * 100), p->pass, p->passes, rd, tot, p->samples, p->blocks, eta);
    }
    fflush(stderr);
}

/* ---- input ----------------------------------------------------------------------- */

struct input {
    const char *path;
    const char *body;
    size_t len;
    void *map;
};

static int input_open(struct input *in, const char *path)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "ignisctl tsdb create-blocks-from: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "ignisctl tsdb create-blocks-from: %s: not a regular file\n", path);
        close(fd);
        return -1;
    }
    in->len = (size_t)st.st_size;
    in->body = "";
    if (in->len) {
        in->map = mmap(NULL, in->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (in->map == MAP_FAILED) {
            fprintf(stderr, "ignisctl tsdb create-blocks-from: %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        in->body = in->map;
    }
    close(fd);
    return 0;
}

static void input_close(struct input *in)
{
    if (in->map)
        munmap(in->map, in->len);
}

/* Reports a problem at the parser's current line as FILE:LINE: message. */
static void line_error(const struct input *in, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void line_error(const struct input *in, uint32_t line, const char *fmt, ...)
{
    if (bar_shown)
        fputs("\r\033[K", stderr);
    bar_shown = false;
    fprintf(stderr, "%s:%u: ", in->path, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The parser's error without its "line N " prefix (the line is already named). */
static const char *parser_message(const struct ignis_textparse *p)
{
    const char *e = ignis_textparse_error(p);
    if (!e)
        return "invalid input";
    if (strncmp(e, "line ", 5) == 0) {
        const char *q = e + 5;
        while (*q >= '0' && *q <= '9')
            q++;
        if (*q == ' ' || *q == ':')
            return q + (*q == ':' ? 2 : 1);
    }
    return e;
}

/* One sample of the input, labels sorted. 1: a sample, 0: the end, -1: an error (reported). */
static int next_sample(const struct input *in, struct ignis_textparse *p, struct ignis_label *ls,
                       size_t *nls, char *scratch, size_t scratch_len, int64_t *t, double *v)
{
    for (;;) {
        enum ignis_textparse_entry e = ignis_textparse_next(p);
        if (e == IGNIS_TP_EOF)
            return 0;
        if (e == IGNIS_TP_ERROR) {
            line_error(in, ignis_textparse_line(p), "%s", parser_message(p));
            return -1;
        }
        if (e != IGNIS_TP_SERIES)
            continue;
        size_t slen;
        const char *series = ignis_textparse_series(p, &slen);
        int n = ignis_textparse_labels(p, ls, MAX_LABELS, scratch, scratch_len);
        if (n < 0) {
            line_error(in, ignis_textparse_line(p), "more than %d labels", MAX_LABELS);
            return -1;
        }
        if (ignis_labels_sort(ls, (size_t)n) < 0) {
            line_error(in, ignis_textparse_line(p), "%s", "a label name is repeated");
            return -1;
        }
        if (!ignis_textparse_timestamp(p, t)) {
            char what[256];
            snprintf(what, sizeof what, "%.*s", (int)(slen > 200 ? 200 : slen), series);
            line_error(in, ignis_textparse_line(p),
                       "expected a timestamp for series %s (backfilling needs one on every "
                       "sample)", what);
            return -1;
        }
        *nls = (size_t)n;
        *v = ignis_textparse_value(p);
        return 1;
    }
}

static int64_t floor_div(int64_t t, int64_t d)
{
    int64_t q = t / d;
    if (t % d < 0)
        q--;
    return q;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Pass 1: the whole input parsed and checked; the block ranges that hold samples. */
static int validate(const struct input *in, int64_t dur, int64_t **ranges, size_t *nranges,
                    struct progress *pr, char *scratch, size_t scratch_len)
{
    struct ignis_textparse p;
    ignis_textparse_init(&p, in->body, in->len, IGNIS_TEXTPARSE_OPENMETRICS,
                         IGNIS_TEXTPARSE_SCRAPE);
    struct ignis_label ls[MAX_LABELS];
    size_t nls, n = 0, cap = 0;
    int64_t *v = NULL, t, last = INT64_MIN;
    double val;
    int k, rc = 0;
    uint64_t count = 0;
    while ((k = next_sample(in, &p, ls, &nls, scratch, scratch_len, &t, &val)) == 1) {
        int64_t r = floor_div(t, dur);
        if (r != last) {
            last = r;
            bool seen = false;
            for (size_t i = n; i-- > 0 && i + 8 >= n;) /* recent ranges first: inputs run on */
                if (v[i] == r)
                    seen = true;
            if (!seen) {
                if (n == MAX_RANGES) {
                    line_error(in, ignis_textparse_line(&p), "%s",
                               "the samples span too many block ranges");
                    rc = -1;
                    break;
                }
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    int64_t *nv = realloc(v, cap * sizeof *nv);
                    if (!nv) {
                        fprintf(stderr, "ignisctl tsdb create-blocks-from: out of memory\n");
                        rc = -1;
                        break;
                    }
                    v = nv;
                }
                v[n++] = r;
                if (n % 4096 == 0) { /* keep the list short when inputs jump around */
                    qsort(v, n, sizeof *v, cmp_i64);
                    size_t o = 0;
                    for (size_t i = 0; i < n; i++)
                        if (o == 0 || v[o - 1] != v[i])
                            v[o++] = v[i];
                    n = o;
                }
            }
        }
        if (++count % 4096 == 0) {
            size_t slen;
            pr->cur = pr->done = (uint64_t)(ignis_textparse_series(&p, &slen) - in->body);
            progress_show(pr, false);
        }
    }
    if (k < 0)
        rc = -1;
    ignis_textparse_fini(&p);
    if (rc < 0) {
        free(v);
        return -1;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_i64);
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (o == 0 || v[o - 1] != v[i])
            v[o++] = v[i];
    *ranges = v;
    *nranges = o;
    return 0;
}

static void tool_log(void *arg, int level, const char *msg)
{
    (void)arg;
    if (level)
        fprintf(stderr, "ignisctl tsdb create-blocks-from: %s\n", msg);
}

/* Pass 2 for one range [lo, lo + dur): its samples through an in-memory head (which cuts
 * chunks as the storage does), then written as one block under tmpdir. */
static int write_range(const struct input *in, int64_t lo, int64_t dur, const char *tmpdir,
                       struct ulid *out, bool *written, struct progress *pr, char *scratch,
                       size_t scratch_len)
{
    char err[512];
    struct db db = {.log = tool_log};
    pthread_mutex_init(&db.mu, NULL);
    pthread_mutex_init(&db.admin_mu, NULL);
    struct head_opts o = {.dir = NULL, .chunk_range = dur, .log = tool_log};
    if (head_open(&db.head, &o, err, sizeof err) < 0) {
        fprintf(stderr, "ignisctl tsdb create-blocks-from: %s\n", err);
        return -1;
    }
    struct ignis_textparse p;
    ignis_textparse_init(&p, in->body, in->len, IGNIS_TEXTPARSE_OPENMETRICS,
                         IGNIS_TEXTPARSE_SCRAPE);
    struct ignis_label ls[MAX_LABELS];
    size_t nls;
    int64_t t, mint = INT64_MAX, maxt = INT64_MIN;
    double v;
    int k, rc = 0;
    uint64_t inrange = 0, seen = 0;
    /* newest timestamp per series ref (a fresh head numbers series from 1) */
    int64_t *last = NULL;
    size_t nlast = 0;
    uint64_t base_done = pr->done;
    struct head_app *a = head_appender(db.head);
    while ((k = next_sample(in, &p, ls, &nls, scratch, scratch_len, &t, &v)) == 1) {
        if (++seen % 4096 == 0) {
            size_t slen;
            pr->cur = (uint64_t)(ignis_textparse_series(&p, &slen) - in->body);
            pr->done = base_done + pr->cur;
            progress_show(pr, false);
        }
        if (t < lo || t - lo >= dur)
            continue;
        uint64_t ref = 0;
        int e = head_app_add(a, ls, nls, t, v, &ref);
        if (e == 0 && ref >= nlast) {
            size_t nn = nlast ? nlast : 1024;
            while (nn <= ref)
                nn *= 2;
            int64_t *nv = realloc(last, nn * sizeof *nv);
            if (!nv) {
                e = IGNIS_E_NOMEM;
            } else {
                for (size_t i = nlast; i < nn; i++)
                    nv[i] = INT64_MIN;
                last = nv;
                nlast = nn;
            }
        }
        if (e == 0 && last[ref] != INT64_MIN && t <= last[ref])
            e = t == last[ref] ? IGNIS_E_DUP_TS : IGNIS_E_OUT_OF_ORDER;
        if (e != 0) {
            const char *why = e == IGNIS_E_OUT_OF_ORDER ? "out of order sample (older than the "
                                                          "series' previous one)"
                              : e == IGNIS_E_DUP_TS     ? "duplicate sample for a timestamp"
                              : e == IGNIS_E_NOMEM      ? "out of memory"
                                                        : "sample refused by the head";
            line_error(in, ignis_textparse_line(&p), "%s", why);
            rc = -1;
            break;
        }
        last[ref] = t;
        if (t < mint)
            mint = t;
        if (t > maxt)
            maxt = t;
        if (++inrange % COMMIT_EVERY == 0) {
            if (head_app_commit(a, err, sizeof err) != 0) {
                a = NULL;
                fprintf(stderr, "ignisctl tsdb create-blocks-from: commit: %s\n", err);
                rc = -1;
                break;
            }
            a = head_appender(db.head);
        }
    }
    if (k < 0)
        rc = -1;
    ignis_textparse_fini(&p);
    if (a) {
        if (rc < 0)
            head_app_rollback(a);
        else if (head_app_commit(a, err, sizeof err) != 0) {
            fprintf(stderr, "ignisctl tsdb create-blocks-from: commit: %s\n", err);
            rc = -1;
        }
    }
    *written = false;
    if (rc == 0 && inrange) {
        if (db_persist_head_to(&db, tmpdir, false, mint, maxt + 1, written, out, err,
                               sizeof err) < 0) {
            fprintf(stderr, "ignisctl tsdb create-blocks-from: writing a block: %s\n", err);
            rc = -1;
        }
    }
    pr->samples += inrange;
    pr->done = base_done + in->len;
    free(last);
    head_close(db.head);
    pthread_mutex_destroy(&db.mu);
    pthread_mutex_destroy(&db.admin_mu);
    return rc;
}

/* ---- the verb -------------------------------------------------------------------- */

static void help_create(FILE *f)
{
    fprintf(f,
            "usage: ignisctl tsdb create-blocks-from openmetrics [--max-block-duration=DUR]\n"
            "           [-q|--quiet] [-r|--human-readable] FILE [OUTPUT_DIR]\n"
            "\n"
            "Writes TSDB blocks into OUTPUT_DIR (default data/) from the samples of FILE, an\n"
            "OpenMetrics text exposition that ends with \"# EOF\" and gives every sample a\n"
            "timestamp, as `promtool tsdb create-blocks-from openmetrics` does. Samples are\n"
            "grouped into blocks aligned to 2h, or with --max-block-duration (e.g. 24h, 1w)\n"
            "to the largest of Prometheus' block ranges (2h times a power of 3) within it.\n"
            "Each written block is listed as `promtool tsdb list` prints it.\n"
            "The whole file is checked before any block is written: a bad line is reported\n"
            "as FILE:LINE: message and OUTPUT_DIR gets no block.\n"
            "Progress goes to stderr: a bar on a terminal, else a line a second.\n"
            "\n"
            "  --max-block-duration=DUR  largest block to write (default 2h)\n"
            "  -q, --quiet               print neither the blocks nor progress\n"
            "  -r, --human-readable      block times as dates, sizes in binary units\n"
            "\n"
            "Exit status: 0 written, 1 bad input or a write failed, 2 usage error.\n");
}

/* A Prometheus duration ("2h", "1d12h", "90m", "1w"): ms, or -1. */
static int64_t parse_duration(const char *s)
{
    if (!s || !*s)
        return -1;
    int64_t total = 0;
    while (*s) {
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (end == s || errno || n < 0)
            return -1;
        s = end;
        int64_t unit;
        if (strncmp(s, "ms", 2) == 0) {
            unit = 1;
            s += 2;
        } else {
            switch (*s) {
            case 's': unit = 1000; break;
            case 'm': unit = 60 * 1000; break;
            case 'h': unit = HOUR_MS; break;
            case 'd': unit = 24 * HOUR_MS; break;
            case 'w': unit = 7 * 24 * HOUR_MS; break;
            case 'y': unit = 365 * 24 * HOUR_MS; break;
            default: return -1;
            }
            s++;
        }
        if (n > (INT64_MAX - total) / unit)
            return -1;
        total += n * unit;
    }
    return total;
}

/* Prometheus' ranges 2h·3^k, k < 10: the largest within max (2h when max is smaller). */
static int64_t block_duration(int64_t max)
{
    int64_t d = BLOCK_MIN_MS;
    for (int i = 1; i < BLOCK_RANGE_STEPS; i++) {
        int64_t next = d * BLOCK_RANGE_FACTOR;
        if (next > max)
            break;
        d = next;
    }
    return d;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int ig_ctl_tsdb_create_blocks(int argc, char **argv)
{
    if (argc >= 1 && ig_ctl_is_help(argv[0])) {
        help_create(stdout);
        return 0;
    }
    if (argc < 1 || strcmp(argv[0], "openmetrics") != 0) {
        fprintf(stderr, "ignisctl tsdb create-blocks-from: %s%s (only openmetrics is known)\n",
                argc < 1 ? "which format?" : "unknown format ", argc < 1 ? "" : argv[0]);
        help_create(stderr);
        return 2;
    }
    bool quiet = false, human = false;
    int64_t maxdur = BLOCK_MIN_MS;
    const char *file = NULL, *outdir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (ig_ctl_is_help(argv[i])) {
            help_create(stdout);
            return 0;
        } else if (ig_ctl_flag(argc, argv, &i, "--max-block-duration", &v)) {
            if ((maxdur = parse_duration(v)) <= 0) {
                fprintf(stderr, "ignisctl tsdb create-blocks-from: --max-block-duration needs "
                                "a duration such as 2h or 1d\n");
                help_create(stderr);
                return 2;
            }
        } else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(argv[i], "-r") == 0 || strcmp(argv[i], "--human-readable") == 0) {
            human = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ignisctl tsdb create-blocks-from: unknown flag %s\n", argv[i]);
            help_create(stderr);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else if (!outdir) {
            outdir = argv[i];
        } else {
            fprintf(stderr, "ignisctl tsdb create-blocks-from: unexpected argument %s\n",
                    argv[i]);
            help_create(stderr);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "ignisctl tsdb create-blocks-from: no input file given\n");
        help_create(stderr);
        return 2;
    }
    if (!outdir)
        outdir = "data/";
    int64_t dur = block_duration(maxdur);

    struct input in;
    if (input_open(&in, file) < 0)
        return 1;
    struct progress pr = {.on = !quiet, .tty = isatty(STDERR_FILENO) == 1,
                          .start = now_s(), .file_size = in.len, .pass = 1, .passes = 1};
    pr.total = in.len; /* grows once the number of ranges is known */
    /* Unescaped label text never exceeds the line it comes from. */
    size_t scratch_len = in.len + 1;
    char *scratch = malloc(scratch_len);
    int64_t *ranges = NULL;
    size_t nranges = 0;
    int rc = scratch ? 0 : -1;
    if (rc == 0 && validate(&in, dur, &ranges, &nranges, &pr, scratch, scratch_len) < 0)
        rc = -1;
    pr.done = in.len;
    pr.total = in.len * (1 + (uint64_t)nranges);
    pr.passes = 1 + (unsigned)nranges;

    char tmpdir[4096] = "";
    bool made_out = false;
    struct ulid *ids = NULL;
    size_t nids = 0;
    if (rc == 0) {
        struct stat st;
        made_out = stat(outdir, &st) != 0;
        snprintf(tmpdir, sizeof tmpdir, "%s/.ignisctl-backfill.XXXXXX", outdir);
        if (mkdir_p(outdir) < 0 || !mkdtemp(tmpdir)) {
            fprintf(stderr, "ignisctl tsdb create-blocks-from: %s: %s\n", outdir,
                    strerror(errno));
            tmpdir[0] = '\0';
            rc = -1;
        }
        ids = calloc(nranges ? nranges : 1, sizeof *ids);
        if (!ids)
            rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < nranges; i++) {
        bool written;
        pr.pass = 2 + (unsigned)i;
        if (write_range(&in, ranges[i] * dur, dur, tmpdir, &ids[nids], &written, &pr, scratch,
                        scratch_len) < 0)
            rc = -1;
        else if (written)
            nids++, pr.blocks++;
    }
    /* All blocks are complete: move them into place. */
    for (size_t i = 0; rc == 0 && i < nids; i++) {
        char from[4096], to[4096];
        snprintf(from, sizeof from, "%s/%s", tmpdir, ids[i].s);
        snprintf(to, sizeof to, "%s/%s", outdir, ids[i].s);
        if (rename(from, to) < 0) {
            fprintf(stderr, "ignisctl tsdb create-blocks-from: rename %s: %s\n", from,
                    strerror(errno));
            /* take back the ones already moved: all or nothing */
            for (size_t j = 0; j < i; j++) {
                snprintf(to, sizeof to, "%s/%s", outdir, ids[j].s);
                rm_rf(to);
            }
            rc = -1;
        }
    }
    if (tmpdir[0])
        rm_rf(tmpdir);
    if (rc < 0 && made_out)
        rmdir(outdir);
    if (rc == 0)
        fsync_dir(outdir);
    if (rc == 0)
        progress_show(&pr, true);
    else if (pr.on && pr.tty)
        fputs("\r\033[K", stderr);
    for (size_t i = 0; rc == 0 && !quiet && i < nids; i++) {
        char path[4096], err[512];
        snprintf(path, sizeof path, "%s/%s", outdir, ids[i].s);
        struct block_meta m;
        if (meta_read(path, &m, err, sizeof err) < 0) {
            fprintf(stderr, "ignisctl tsdb create-blocks-from: %s\n", err);
            rc = -1;
            break;
        }
        struct ig_ctl_block_row row = {.mint = m.min_time, .maxt = m.max_time,
                                       .samples = m.num_samples, .chunks = m.num_chunks,
                                       .series = m.num_series, .size = ig_ctl_dir_size(path)};
        snprintf(row.ulid, sizeof row.ulid, "%s", m.ulid.s);
        meta_free(&m);
        ig_ctl_print_blocks(stdout, &row, 1, i == 0, human);
    }
    if (fflush(stdout) != 0)
        rc = -1;
    free(ids);
    free(ranges);
    free(scratch);
    input_close(&in);
    return rc < 0 ? 1 : 0;
}
