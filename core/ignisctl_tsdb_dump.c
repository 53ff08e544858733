/* core/ignisctl_tsdb_dump.c — `ignisctl tsdb dump`: every sample of a data directory's
 * blocks and head, one `{labels} value timestamp` line each, as `promtool tsdb dump` prints
 * them. Read-only: blocks are mapped, the head comes from rohead (no lock, no repair, no
 * replay into a writable head). Series come sorted by labels, as promtool prints them; a
 * series in several sources (blocks, head) is merged and a timestamp counts once. */
#include <config.h>
#include "core/ignisctl_tsdb.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ignis/expose.h>
#include <ignis/selector.h>

#include "plugins/storage/tsdb/block.h"
#include "plugins/storage/tsdb/db.h"
#include "plugins/storage/tsdb/enc.h"
#include "plugins/storage/tsdb/rohead.h"
#include "plugins/storage/tsdb/textfmt.h"

static int cmp_blocks(const void *a, const void *b)
{
    const struct block *x = a, *y = b;
    if (x->meta.min_time != y->meta.min_time)
        return x->meta.min_time < y->meta.min_time ? -1 : 1;
    return strcmp(x->meta.ulid.s, y->meta.ulid.s);
}

int ig_ctl_open_blocks(const char *dir, struct block **out, size_t *nout, char *err,
                       size_t errlen)
{
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    struct block *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!ulid_valid(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct block *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            v = nv;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (block_open(&v[n], path, err, errlen) < 0)
            rc = -1;
        else
            n++;
    }
    closedir(d);
    if (rc < 0) {
        ig_ctl_close_blocks(v, n);
        return -1;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_blocks);
    *out = v;
    *nout = n;
    return 0;
}

void ig_ctl_close_blocks(struct block *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        block_close(&b[i]);
    free(b);
}

/* ---- sources --------------------------------------------------------------------- */

/* One querier's series in order: a block's matching postings, or the head's matching
 * series. cur holds the current series' labels, NULL at the end. */
struct source {
    struct block *b;           /* NULL: the head */
    struct plist ids;          /* block: matching series ids */
    struct index_series is;
    const struct rohead *h;
    struct rohead_series **hs; /* head: matching series, in output order */
    size_t nhs;
    size_t pos;
    const struct ignis_label *ls;
    size_t nls;
    bool done;
};

struct dumpq {
    int64_t mint, maxt;
    struct ignis_selector *sels;
    size_t nsels;
    char err[512];
};

static bool overlaps(const struct index_series *s, int64_t mint, int64_t maxt)
{
    for (size_t c = 0; c < s->nchks; c++)
        if (s->chks[c].maxt >= mint && s->chks[c].mint <= maxt)
            return true;
    return false;
}

/* Moves src to its next series with data in range: 1, 0 at the end, -1 on error. */
static int source_next(struct dumpq *q, struct source *src)
{
    if (src->b) {
        while (src->pos < src->ids.n) {
            uint32_t id = src->ids.v[src->pos++];
            if (indexr_series(&src->b->ix, id, &src->is, q->err, sizeof q->err) < 0)
                return -1;
            if (!overlaps(&src->is, q->mint, q->maxt))
                continue;
            src->ls = src->is.ls;
            src->nls = src->is.nls;
            return 1;
        }
    } else if (src->pos < src->nhs) {
        struct rohead_series *s = src->hs[src->pos++];
        src->ls = s->ls;
        src->nls = s->nls;
        return 1;
    }
    src->done = true;
    return 0;
}

/* Appends the current series' samples in [mint, maxt] that no tombstone deletes. */
static int source_samples(struct dumpq *q, struct source *src, struct tsdb_tv *out)
{
    if (!src->b) {
        const struct rohead_series *s = src->hs[src->pos - 1];
        const struct tsdb_tv *x = &s->tv;
        for (size_t i = 0; i < x->n; i++)
            if (x->t[i] >= q->mint && x->t[i] <= q->maxt &&
                !tombstones_covers(&src->h->stones, s->ref, x->t[i]) &&
                tsdb_tv_push(out, x->t[i], x->v[i]) < 0)
                return -1;
        return 0;
    }
    uint32_t id = src->ids.v[src->pos - 1];
    for (size_t c = 0; c < src->is.nchks; c++) {
        const struct chunk_meta *m = &src->is.chks[c];
        if (m->maxt < q->mint || m->mint > q->maxt)
            continue;
        uint8_t enc;
        const uint8_t *data;
        size_t len;
        if (chunkr_get(&src->b->cr, m->ref, &enc, &data, &len, q->err, sizeof q->err) < 0)
            return -1;
        if (enc != TSDB_ENC_XOR)
            continue; /* histogram chunks: promtool 2.42's dump prints floats only */
        struct xor_it it;
        xor_it_init(&it, data, len);
        int64_t t;
        double v;
        int k;
        while ((k = xor_it_next(&it, &t, &v)) == 1)
            if (t >= q->mint && t <= q->maxt && !tombstones_covers(&src->b->stones, id, t) &&
                tsdb_tv_push(out, t, v) < 0)
                return -1;
        if (k < 0) {
            snprintf(q->err, sizeof q->err, "%s: corrupt chunk %#" PRIx64, src->b->dir, m->ref);
            return -1;
        }
    }
    return 0;
}

static bool head_matches(const struct dumpq *q, const struct rohead_series *s)
{
    if (q->nsels == 0)
        return true;
    for (size_t i = 0; i < q->nsels; i++)
        if (ignis_selector_matches(&q->sels[i], s->ls, s->nls))
            return true;
    return false;
}

static int block_select(struct dumpq *q, struct block *b, struct plist *out)
{
    memset(out, 0, sizeof *out);
    if (q->nsels == 0) {
        const uint8_t *ids;
        uint32_t n;
        if (indexr_postings(&b->ix, "", 0, "", 0, &ids, &n) < 0) {
            snprintf(q->err, sizeof q->err, "%s: corrupt postings", b->dir);
            return -1;
        }
        for (uint32_t i = 0; i < n; i++)
            if (plist_push(out, be32_get(ids + 4 * i)) < 0)
                return -1;
        return 0;
    }
    struct plist *each = calloc(q->nsels, sizeof *each);
    if (!each)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < q->nsels && rc == 0; i++)
        if (index_select(&b->ix, q->sels[i].matchers, q->sels[i].n, &each[i]) != 0) {
            snprintf(q->err, sizeof q->err, "%s: selecting series failed", b->dir);
            rc = -1;
        }
    if (rc == 0 && plist_union(out, each, q->nsels) != 0)
        rc = -1;
    for (size_t i = 0; i < q->nsels; i++)
        plist_free(&each[i]);
    free(each);
    return rc;
}

static int cmp_head_labels(const void *a, const void *b)
{
    const struct rohead_series *x = *(struct rohead_series *const *)a;
    const struct rohead_series *y = *(struct rohead_series *const *)b;
    return tsdb_labels_cmp(x->ls, x->nls, y->ls, y->nls);
}

/* ---- output ---------------------------------------------------------------------- */

/* Go's %g of a float64 (the value column of promtool's dump). */
static void print_value(FILE *f, double v)
{
    char buf[40];
    if (v == 0 && signbit(v))
        fputs("-0", f);
    else
        fwrite(buf, 1, ignis_format_double(buf, v, 0), f);
}

static void print_series(FILE *f, const struct ignis_label *ls, size_t nls,
                         const struct tsdb_tv *s, char **lbuf, size_t *lcap)
{
    FILE *m = fmemopen(*lbuf, *lcap, "w");
    size_t len = 0;
    if (m) {
        tsdb_fprint_labels(m, ls, nls);
        len = (size_t)ftell(m);
        fclose(m);
    }
    if (!m || len + 1 >= *lcap) { /* rare: labels longer than the buffer */
        for (size_t i = 0; i < s->n; i++) {
            tsdb_fprint_labels(f, ls, nls);
            fputc(' ', f);
            print_value(f, s->v[i]);
            fprintf(f, " %" PRId64 "\n", s->t[i]);
        }
        if (*lcap < (1u << 20)) {
            char *nb = realloc(*lbuf, *lcap * 4);
            if (nb) {
                *lbuf = nb;
                *lcap *= 4;
            }
        }
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        fwrite(*lbuf, 1, len, f);
        fputc(' ', f);
        print_value(f, s->v[i]);
        fprintf(f, " %" PRId64 "\n", s->t[i]);
    }
}

/* Sorts the merged samples of one label set by time (stable: earlier sources first) and
 * keeps the first sample of each timestamp. */
static void dedup_samples(struct tsdb_tv *s, size_t ncuts)
{
    if (ncuts <= 1)
        return;
    /* insertion sort: each part is sorted and parts rarely overlap */
    for (size_t i = 1; i < s->n; i++) {
        int64_t t = s->t[i];
        double v = s->v[i];
        size_t j = i;
        while (j > 0 && s->t[j - 1] > t) {
            s->t[j] = s->t[j - 1];
            s->v[j] = s->v[j - 1];
            j--;
        }
        s->t[j] = t;
        s->v[j] = v;
    }
    size_t o = 0;
    for (size_t i = 0; i < s->n; i++)
        if (o == 0 || s->t[o - 1] != s->t[i]) {
            s->t[o] = s->t[i];
            s->v[o++] = s->v[i];
        }
    s->n = o;
}

static int run_dump(struct dumpq *q, struct source *srcs, size_t nsrc)
{
    struct tsdb_tv s = {0};
    size_t lcap = 4096;
    char *lbuf = malloc(lcap);
    size_t *cuts = calloc(nsrc + 1, sizeof *cuts);
    int rc = lbuf && cuts ? 0 : -1;
    for (size_t i = 0; i < nsrc && rc == 0; i++)
        if (source_next(q, &srcs[i]) < 0)
            rc = -1;
    while (rc == 0) {
        const struct ignis_label *ls = NULL;
        size_t nls = 0;
        for (size_t i = 0; i < nsrc; i++)
            if (!srcs[i].done &&
                (!ls || tsdb_labels_cmp(srcs[i].ls, srcs[i].nls, ls, nls) < 0)) {
                ls = srcs[i].ls;
                nls = srcs[i].nls;
            }
        if (!ls)
            break;
        s.n = 0;
        size_t ncuts = 0;
        size_t *taken = cuts; /* sources holding this label set, in source order */
        for (size_t i = 0; i < nsrc && rc == 0; i++)
            if (!srcs[i].done && tsdb_labels_cmp(srcs[i].ls, srcs[i].nls, ls, nls) == 0) {
                taken[ncuts++] = i;
                if (source_samples(q, &srcs[i], &s) < 0)
                    rc = -1;
            }
        if (rc < 0)
            break;
        dedup_samples(&s, ncuts);
        print_series(stdout, ls, nls, &s, &lbuf, &lcap);
        for (size_t k = 0; k < ncuts && rc == 0; k++)
            if (source_next(q, &srcs[taken[k]]) < 0)
                rc = -1;
    }
    if (rc < 0 && !q->err[0])
        snprintf(q->err, sizeof q->err, "out of memory");
    free(cuts);
    free(lbuf);
    tsdb_tv_free(&s);
    return rc;
}

/* ---- the verb -------------------------------------------------------------------- */

static void help_dump(FILE *f)
{
    fprintf(f,
            "usage: ignisctl tsdb dump [--min-time=MS] [--max-time=MS] [--match=SELECTOR]... DIR\n"
            "\n"
            "Prints every sample of the blocks and the head (WAL, chunks_head) of the data\n"
            "directory DIR as `promtool tsdb dump` does, one line per sample:\n"
            "  {__name__=\"up\", job=\"node\"} 1 1700000000000\n"
            "The directory is only read: no lock is taken and nothing is repaired, replayed\n"
            "into a writable head, truncated or created.\n"
            "\n"
            "  --min-time=MS       oldest timestamp to print (default: all)\n"
            "  --max-time=MS       newest timestamp to print (default: all)\n"
            "  --match=SELECTOR    only series matching the selector (e.g. 'up{job=\"x\"}');\n"
            "                      repeat it for the series any of them matches\n"
            "\n"
            "Exit status: 0 printed, 1 unreadable directory or data, 2 usage error.\n");
}

static int parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Parses a selector as promtool's --match takes it: `{...}` alone may hold only matchers
 * that match the empty string (the default selects every series). */
static int parse_selector(const char *s, struct ignis_selector *sel, char *err, size_t errlen)
{
    size_t len = strlen(s), pos = 0;
    while (pos < len && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n'))
        pos++;
    if (pos < len && s[pos] == '{') {
        memset(sel, 0, sizeof *sel);
        if (ignis_selector_parse_braces(s, len, &pos, sel, err, errlen) < 0) {
            ignis_selector_free(sel);
            return -1;
        }
        while (pos < len && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n'))
            pos++;
        if (pos != len) {
            snprintf(err, errlen, "unexpected text after the selector at %zu", pos);
            ignis_selector_free(sel);
            return -1;
        }
        return 0;
    }
    return ignis_selector_parse(s, len, sel, err, errlen);
}

#define MAX_SELECTORS 64

int ig_ctl_tsdb_dump(int argc, char **argv)
{
    struct dumpq q = {.mint = INT64_MIN, .maxt = INT64_MAX};
    struct ignis_selector sels[MAX_SELECTORS];
    const char *dir = NULL;
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        const char *v;
        if (ig_ctl_is_help(argv[i])) {
            help_dump(stdout);
            rc = -1;
        } else if (ig_ctl_flag(argc, argv, &i, "--min-time", &v)) {
            if (parse_i64(v, &q.mint) < 0) {
                fprintf(stderr, "ignisctl tsdb dump: --min-time needs a timestamp in ms\n");
                rc = 2;
            }
        } else if (ig_ctl_flag(argc, argv, &i, "--max-time", &v)) {
            if (parse_i64(v, &q.maxt) < 0) {
                fprintf(stderr, "ignisctl tsdb dump: --max-time needs a timestamp in ms\n");
                rc = 2;
            }
        } else if (ig_ctl_flag(argc, argv, &i, "--match", &v)) {
            char err[512];
            if (!v || q.nsels == MAX_SELECTORS) {
                fprintf(stderr, "ignisctl tsdb dump: --match needs a selector (at most %d)\n",
                        MAX_SELECTORS);
                rc = 2;
            } else if (parse_selector(v, &sels[q.nsels], err, sizeof err) < 0) {
                fprintf(stderr, "ignisctl tsdb dump: --match %s: %s\n", v, err);
                rc = 2;
            } else {
                q.nsels++;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ignisctl tsdb dump: unknown flag %s\n", argv[i]);
            rc = 2;
        } else if (dir) {
            fprintf(stderr, "ignisctl tsdb dump: unexpected argument %s\n", argv[i]);
            rc = 2;
        } else {
            dir = argv[i];
        }
    }
    if (rc == 0 && !dir) {
        fprintf(stderr, "ignisctl tsdb dump: no data directory given\n");
        rc = 2;
    }
    q.sels = sels;
    if (rc != 0) {
        if (rc == 2)
            help_dump(stderr);
        for (size_t i = 0; i < q.nsels; i++)
            ignis_selector_free(&sels[i]);
        return rc < 0 ? 0 : rc;
    }

    struct block *blocks;
    size_t nblocks;
    if (ig_ctl_open_blocks(dir, &blocks, &nblocks, q.err, sizeof q.err) < 0) {
        fprintf(stderr, "ignisctl tsdb dump: %s\n", q.err);
        for (size_t i = 0; i < q.nsels; i++)
            ignis_selector_free(&sels[i]);
        return 1;
    }
    /* As Prometheus' read-only DB: the head starts where the last block (by min time)
     * ends, and is read only when the asked range reaches that far. */
    int64_t max_block = nblocks ? blocks[nblocks - 1].meta.max_time : INT64_MIN;
    struct rohead h = {0};
    bool have_head = false;
    if (max_block <= q.maxt) {
        if (rohead_load(&h, dir, max_block, q.err, sizeof q.err) < 0) {
            fprintf(stderr, "ignisctl tsdb dump: reading the head: %s\n", q.err);
            ig_ctl_close_blocks(blocks, nblocks);
            for (size_t i = 0; i < q.nsels; i++)
                ignis_selector_free(&sels[i]);
            return 1;
        }
        have_head = true;
        if (h.warning[0])
            fprintf(stderr, "ignisctl tsdb dump: warning: %s\n", h.warning);
    }
    struct source *srcs = calloc(nblocks + 1, sizeof *srcs);
    size_t nsrc = 0;
    rc = srcs ? 0 : -1;
    for (size_t i = 0; i < nblocks && rc == 0; i++) {
        struct block *b = &blocks[i];
        if (b->meta.min_time > q.maxt || q.mint >= b->meta.max_time)
            continue;
        srcs[nsrc].b = b;
        if (block_select(&q, b, &srcs[nsrc].ids) < 0)
            rc = -1;
        nsrc++;
    }
    if (rc == 0 && have_head && h.samples && q.maxt >= h.mint) {
        struct source *s = &srcs[nsrc++];
        s->h = &h;
        s->hs = malloc((h.n ? h.n : 1) * sizeof *s->hs);
        if (!s->hs)
            rc = -1;
        for (size_t i = 0; rc == 0 && i < h.n; i++)
            if (head_matches(&q, h.s[i]))
                s->hs[s->nhs++] = h.s[i];
        if (rc == 0 && s->nhs)
            qsort(s->hs, s->nhs, sizeof *s->hs, cmp_head_labels);
    }
    if (rc == 0) {
        static char obuf[1 << 16];
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
        rc = run_dump(&q, srcs, nsrc);
    }
    if (rc < 0)
        fprintf(stderr, "ignisctl tsdb dump: %s\n", q.err[0] ? q.err : "out of memory");
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "ignisctl tsdb dump: writing the output: %s\n", strerror(errno));
        rc = -1;
    }
    for (size_t i = 0; srcs && i < nsrc; i++) {
        plist_free(&srcs[i].ids);
        index_series_free(&srcs[i].is);
        free(srcs[i].hs);
    }
    free(srcs);
    if (have_head)
        rohead_free(&h);
    ig_ctl_close_blocks(blocks, nblocks);
    for (size_t i = 0; i < q.nsels; i++)
        ignis_selector_free(&sels[i]);
    return rc < 0 ? 1 : 0;
}
