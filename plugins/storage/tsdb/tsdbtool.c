/* plugins/storage/tsdb/tsdbtool.c — a developer and test tool for the tsdb room: generate
 * sample sets (as `promtool tsdb dump` prints them, or as OpenMetrics), write a block from
 * such a set, dump the blocks of a directory in the same text form, and compare two dumps
 * numerically. The integration tests drive promtool against it. Not installed. */
#define _GNU_SOURCE
#include "block.h"
#include "checkpoint.h"
#include "db.h"
#include "chunkenc.h"
#include "enc.h"
#include "head.h"
#include "record.h"
#include "textfmt.h"
#include "wal.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STALE_NAN_BITS 0x7ff0000000000002ull

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static void print_value(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", f);
    else
        fprintf(f, "%.17g", v);
}

/* ---- gen ------------------------------------------------------------------------ */

struct gen_series {
    char name[32], job[32], inst[48];
};

static void gen_labels(struct gen_series *g, size_t i)
{
    snprintf(g->name, sizeof g->name, "metric_%zu", i % 7);
    snprintf(g->job, sizeof g->job, "job \"%zu\"\\x", i % 3);
    snprintf(g->inst, sizeof g->inst, "host-%zu.example:9100", i);
}

static double gen_value(size_t s, size_t k, double *walk)
{
    uint64_t r = rnd();
    switch (r % 50) {
    case 0:
        return f64_from_bits(STALE_NAN_BITS);
    case 1:
        return NAN;
    case 2:
        return INFINITY;
    case 3:
        return -INFINITY;
    default:
        break;
    }
    if (s % 3 == 0)
        return (double)(k * (s + 1)); /* a counter */
    *walk += (double)((int64_t)(r % 2001) - 1000) / 64.0;
    return *walk;
}

/* Samples are sorted by series (in label order), then time. om: OpenMetrics text with
 * seconds (base and step must be whole seconds then). */
static int cmd_gen(int argc, char **argv, bool om)
{
    if (argc != 6) {
        fprintf(stderr, "usage: gen|gen-om SERIES SAMPLES SEED BASE_MS STEP_MS\n");
        return 2;
    }
    size_t ns = strtoull(argv[1], NULL, 10), nk = strtoull(argv[2], NULL, 10);
    rng = strtoull(argv[3], NULL, 10) * 2654435761u + 1;
    int64_t base = strtoll(argv[4], NULL, 10), step = strtoll(argv[5], NULL, 10);
    /* Label order equals generation order within one metric name: emit names in order. */
    const char *last_name = "";
    (void)last_name;
    for (size_t m = 0; m < 7; m++) {
        if (om)
            printf("# TYPE metric_%zu gauge\n", m);
        /* Series of this name sorted by their job then instance label values. */
        size_t *idx = malloc(ns * sizeof *idx);
        size_t cnt = 0;
        for (size_t s = 0; s < ns; s++)
            if (s % 7 == m)
                idx[cnt++] = s;
        for (size_t a = 1; a < cnt; a++)
            for (size_t b = a; b > 0; b--) {
                struct gen_series x, y;
                gen_labels(&x, idx[b - 1]);
                gen_labels(&y, idx[b]);
                int c = strcmp(x.inst, y.inst);
                if (c <= 0)
                    break;
                size_t t = idx[b];
                idx[b] = idx[b - 1];
                idx[b - 1] = t;
            }
        for (size_t q = 0; q < cnt; q++) {
            size_t s = idx[q];
            struct gen_series g;
            gen_labels(&g, s);
            struct ignis_label ls[3] = {
                {"__name__", 8, g.name, strlen(g.name)},
                {"instance", 8, g.inst, strlen(g.inst)},
                {"job", 3, g.job, strlen(g.job)},
            };
            double walk = (double)s;
            int64_t t = base + (int64_t)(s % 5) * step / 5;
            for (size_t k = 0; k < nk; k++) {
                double v = gen_value(s, k, &walk);
                if (om) {
                    printf("%s{instance=", g.name);
                    tsdb_fquote(stdout, g.inst, strlen(g.inst));
                    printf(",job=");
                    tsdb_fquote(stdout, g.job, strlen(g.job));
                    printf("} ");
                    print_value(stdout, v);
                    printf(" %" PRId64 "\n", t / 1000);
                } else {
                    tsdb_fprint_labels(stdout, ls, 3);
                    putchar(' ');
                    print_value(stdout, v);
                    printf(" %" PRId64 "\n", t);
                }
                t += step;
                if (k % 97 == 96)
                    t += step * 1000; /* a gap */
            }
        }
        free(idx);
    }
    if (om)
        puts("# EOF");
    return 0;
}

/* ---- dump files ----------------------------------------------------------------- */

struct line {
    char *labels; /* the {...} text */
    int64_t t;
    double v;
};

struct lines {
    struct line *v;
    size_t n, cap;
};

static int read_dump(const char *path, struct lines *out)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        perror(path);
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t lineno = 0;
    while ((len = getline(&buf, &cap, f)) > 0) {
        lineno++;
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = 0;
        if (!len)
            continue;
        char *sp2 = strrchr(buf, ' ');
        if (!sp2 || sp2 == buf) {
            fprintf(stderr, "%s:%zu: bad line\n", path, lineno);
            return -1;
        }
        *sp2 = 0;
        char *sp1 = strrchr(buf, ' ');
        if (!sp1 || buf[0] != '{') {
            fprintf(stderr, "%s:%zu: bad line\n", path, lineno);
            return -1;
        }
        *sp1 = 0;
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 1024;
            out->v = realloc(out->v, out->cap * sizeof *out->v);
            if (!out->v)
                return -1;
        }
        struct line *l = &out->v[out->n++];
        l->labels = strdup(buf);
        l->v = strtod(sp1 + 1, NULL);
        l->t = strtoll(sp2 + 1, NULL, 10);
    }
    free(buf);
    if (f != stdin)
        fclose(f);
    return 0;
}

static int cmp_line(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    int c = strcmp(x->labels, y->labels);
    if (c)
        return c;
    return x->t < y->t ? -1 : x->t > y->t;
}

static bool same_value(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return f64_bits(a) == f64_bits(b) || a == b;
}

static int cmd_compare(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: compare EXPECTED ACTUAL\n");
        return 2;
    }
    struct lines a = {0}, b = {0};
    if (read_dump(argv[1], &a) < 0 || read_dump(argv[2], &b) < 0)
        return 1;
    if (a.n)
        qsort(a.v, a.n, sizeof *a.v, cmp_line);
    if (b.n)
        qsort(b.v, b.n, sizeof *b.v, cmp_line);
    size_t diffs = 0;
    size_t i = 0, j = 0;
    while (i < a.n || j < b.n) {
        int c = i == a.n ? 1 : j == b.n ? -1 : cmp_line(&a.v[i], &b.v[j]);
        if (c == 0) {
            if (!same_value(a.v[i].v, b.v[j].v) && diffs++ < 10)
                fprintf(stderr, "value differs: %s @%" PRId64 ": %.17g vs %.17g\n",
                        a.v[i].labels, a.v[i].t, a.v[i].v, b.v[j].v);
            i++;
            j++;
        } else if (c < 0) {
            if (diffs++ < 10)
                fprintf(stderr, "missing: %s @%" PRId64 "\n", a.v[i].labels, a.v[i].t);
            i++;
        } else {
            if (diffs++ < 10)
                fprintf(stderr, "extra: %s @%" PRId64 "\n", b.v[j].labels, b.v[j].t);
            j++;
        }
    }
    printf("compared %zu expected and %zu actual samples: %zu differences\n", a.n, b.n, diffs);
    for (size_t k = 0; k < a.n; k++)
        free(a.v[k].labels);
    for (size_t k = 0; k < b.n; k++)
        free(b.v[k].labels);
    free(a.v);
    free(b.v);
    return diffs ? 1 : 0;
}

/* ---- write-block ------------------------------------------------------------------ */

/* Parses `{a="x", b="y"}` (Go-quoted values) into labels whose strings point into a
 * malloc'd buffer stored in *store. Returns the label count or -1. */
static long parse_labels(const char *s, struct ignis_label *ls, size_t max, char **store)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1), *o = out;
    *store = out;
    if (!out || s[0] != '{')
        return -1;
    const char *p = s + 1;
    long cnt = 0;
    while (*p && *p != '}') {
        if ((size_t)cnt == max)
            return -1;
        const char *eq = strchr(p, '=');
        if (!eq || eq[1] != '"')
            return -1;
        ls[cnt].name = o;
        ls[cnt].name_len = (size_t)(eq - p);
        memcpy(o, p, ls[cnt].name_len);
        o += ls[cnt].name_len;
        p = eq + 2;
        ls[cnt].value = o;
        while (*p && *p != '"') {
            if (*p == '\\') {
                p++;
                if (*p == 'n')
                    *o++ = '\n';
                else if (*p == 't')
                    *o++ = '\t';
                else if (*p == 'x') {
                    unsigned c;
                    if (sscanf(p + 1, "%2x", &c) != 1)
                        return -1;
                    *o++ = (char)c;
                    p += 2;
                } else
                    *o++ = *p;
                p++;
            } else {
                *o++ = *p++;
            }
        }
        if (*p != '"')
            return -1;
        ls[cnt].value_len = (size_t)(o - ls[cnt].value);
        p++;
        cnt++;
        if (*p == ',')
            p++;
        while (*p == ' ')
            p++;
    }
    return cnt;
}

static int cmd_write_block(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: write-block DIR DUMPFILE\n");
        return 2;
    }
    struct lines in = {0};
    if (read_dump(argv[2], &in) < 0)
        return 1;
    /* Lines are grouped by series, in time order; sort series by their labels. */
    struct ser {
        struct ignis_label ls[32];
        long nls;
        char *store;
        size_t first, n;
    } *ss = calloc(in.n ? in.n : 1, sizeof *ss);
    size_t nss = 0;
    for (size_t i = 0; i < in.n; i++) {
        if (nss && !strcmp(in.v[ss[nss - 1].first].labels, in.v[i].labels)) {
            ss[nss - 1].n++;
            continue;
        }
        struct ser *s = &ss[nss++];
        s->first = i;
        s->n = 1;
        s->nls = parse_labels(in.v[i].labels, s->ls, 32, &s->store);
        if (s->nls < 0) {
            fprintf(stderr, "bad labels: %s\n", in.v[i].labels);
            return 1;
        }
    }
    for (size_t a = 1; a < nss; a++) /* insertion sort: inputs are nearly sorted */
        for (size_t b = a; b > 0 && tsdb_labels_cmp(ss[b - 1].ls, (size_t)ss[b - 1].nls,
                                                    ss[b].ls, (size_t)ss[b].nls) > 0;
             b--) {
            struct ser t = ss[b];
            ss[b] = ss[b - 1];
            ss[b - 1] = t;
        }
    struct symset sy = {0};
    for (size_t i = 0; i < nss; i++)
        symset_add_labels(&sy, ss[i].ls, (size_t)ss[i].nls);
    symset_finish(&sy);
    char err[512];
    struct block_writer w;
    int rc = blockw_open(&w, argv[1], INT64_MAX, INT64_MIN, err, sizeof err);
    if (rc == 0)
        rc = blockw_symbols(&w, sy.v, sy.n, err, sizeof err);
    int64_t *t = malloc((in.n ? in.n : 1) * sizeof *t);
    double *v = malloc((in.n ? in.n : 1) * sizeof *v);
    for (size_t i = 0; rc == 0 && i < nss; i++) {
        for (size_t k = 0; k < ss[i].n; k++) {
            t[k] = in.v[ss[i].first + k].t;
            v[k] = in.v[ss[i].first + k].v;
        }
        rc = blockw_add_samples(&w, ss[i].ls, (size_t)ss[i].nls, t, v, ss[i].n, err,
                                sizeof err);
    }
    struct ulid u;
    if (rc == 0)
        rc = blockw_finish(&w, &u, err, sizeof err);
    else
        blockw_abort(&w);
    if (rc < 0)
        fprintf(stderr, "write-block: %s\n", err);
    else
        printf("%s\n", u.s);
    free(t);
    free(v);
    for (size_t i = 0; i < nss; i++)
        free(ss[i].store);
    free(ss);
    for (size_t k = 0; k < in.n; k++)
        free(in.v[k].labels);
    free(in.v);
    symset_free(&sy);
    return rc < 0 ? 1 : 0;
}

/* ---- dump ----------------------------------------------------------------------- */

static int dump_block(const char *dir, int64_t mint, int64_t maxt)
{
    char err[512];
    struct block b;
    if (block_open(&b, dir, err, sizeof err) < 0) {
        fprintf(stderr, "open block: %s\n", err);
        return -1;
    }
    const uint8_t *ids;
    uint32_t n;
    int rc = indexr_postings(&b.ix, "", 0, "", 0, &ids, &n);
    if (rc < 0) {
        fprintf(stderr, "%s: corrupt all-postings list\n", dir);
        block_close(&b);
        return -1;
    }
    struct index_series s = {0};
    rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t id = be32_get(ids + 4 * i);
        if (indexr_series(&b.ix, id, &s, err, sizeof err) < 0) {
            fprintf(stderr, "%s: %s\n", dir, err);
            rc = -1;
            break;
        }
        for (size_t c = 0; c < s.nchks && rc == 0; c++) {
            if (s.chks[c].maxt < mint || s.chks[c].mint > maxt)
                continue;
            uint8_t enc;
            const uint8_t *data;
            size_t len;
            if (chunkr_get(&b.cr, s.chks[c].ref, &enc, &data, &len, err, sizeof err) < 0) {
                fprintf(stderr, "%s: %s\n", dir, err);
                rc = -1;
                break;
            }
            if (enc != TSDB_ENC_XOR) {
                fprintf(stderr, "%s: skipping a chunk of encoding %u\n", dir, enc);
                continue;
            }
            struct xor_it it;
            xor_it_init(&it, data, len);
            int64_t t;
            double v;
            int k;
            while ((k = xor_it_next(&it, &t, &v)) == 1) {
                if (t < mint || t > maxt || tombstones_covers(&b.stones, id, t))
                    continue;
                tsdb_fprint_labels(stdout, s.ls, s.nls);
                putchar(' ');
                print_value(stdout, v);
                printf(" %" PRId64 "\n", t);
            }
            if (k < 0) {
                fprintf(stderr, "%s: corrupt chunk %#" PRIx64 "\n", dir, s.chks[c].ref);
                rc = -1;
            }
        }
    }
    index_series_free(&s);
    block_close(&b);
    return rc;
}

static int cmd_dump(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dump DIR [MINT MAXT]\n");
        return 2;
    }
    int64_t mint = argc > 2 ? strtoll(argv[2], NULL, 10) : INT64_MIN;
    int64_t maxt = argc > 3 ? strtoll(argv[3], NULL, 10) : INT64_MAX;
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)))
        if (ulid_valid(de->d_name)) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[1], de->d_name);
            if (dump_block(path, mint, maxt) < 0)
                rc = 1;
        }
    closedir(d);
    return rc;
}

/* ---- WAL ----------------------------------------------------------------------- */

/* ref -> label text, open addressing; the tool's own small map. */
struct refmap {
    uint64_t *refs;
    char **labels;
    size_t cap, n;
};

static char **refmap_slot(struct refmap *m, uint64_t ref)
{
    if (m->n * 2 >= m->cap) {
        struct refmap nm = {0};
        nm.cap = m->cap ? m->cap * 2 : 1024;
        nm.refs = calloc(nm.cap, sizeof *nm.refs);
        nm.labels = calloc(nm.cap, sizeof *nm.labels);
        for (size_t i = 0; i < m->cap; i++)
            if (m->labels[i]) {
                size_t h = (size_t)(m->refs[i] * 0x9E3779B97F4A7C15ull) & (nm.cap - 1);
                while (nm.labels[h])
                    h = (h + 1) & (nm.cap - 1);
                nm.refs[h] = m->refs[i];
                nm.labels[h] = m->labels[i];
                nm.n++;
            }
        free(m->refs);
        free(m->labels);
        *m = nm;
    }
    size_t h = (size_t)(ref * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
    while (m->labels[h] && m->refs[h] != ref)
        h = (h + 1) & (m->cap - 1);
    m->refs[h] = ref;
    return &m->labels[h];
}

static void refmap_free(struct refmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->labels[i]);
    free(m->refs);
    free(m->labels);
}

/* Prints the samples of segments [first, last] of dir into the map's series. */
static int dump_wal_part(const char *dir, int first, int last, struct refmap *m,
                         struct rec_decoded *d)
{
    char err[512];
    struct wal_reader *r;
    if (wal_reader_open(&r, dir, first, last, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const uint8_t *rec;
    size_t len;
    int k, rc = 0;
    size_t unknown = 0, orphans = 0;
    while ((k = wal_reader_next(r, &rec, &len)) == 1) {
        switch (rec_type(rec, len)) {
        case REC_SERIES:
            if (rec_decode_series(rec, len, d) < 0) {
                fprintf(stderr, "bad series record in segment %d\n", wal_reader_segment(r));
                rc = 1;
                break;
            }
            for (size_t i = 0; i < d->nseries; i++) {
                char *text = NULL;
                size_t tl = 0;
                FILE *f = open_memstream(&text, &tl);
                tsdb_fprint_labels(f, d->labels + d->series[i].first, d->series[i].n);
                fclose(f);
                char **slot = refmap_slot(m, d->series[i].ref);
                if (!*slot)
                    m->n++;
                free(*slot);
                *slot = text;
            }
            break;
        case REC_SAMPLES:
            if (rec_decode_samples(rec, len, d) < 0) {
                fprintf(stderr, "bad samples record in segment %d\n", wal_reader_segment(r));
                rc = 1;
                break;
            }
            for (size_t i = 0; i < d->nsamples; i++) {
                char **slot = refmap_slot(m, d->samples[i].ref);
                if (!*slot) {
                    orphans++;
                    continue;
                }
                printf("%s ", *slot);
                print_value(stdout, d->samples[i].v);
                printf(" %" PRId64 "\n", d->samples[i].t);
            }
            break;
        default:
            unknown++;
        }
    }
    if (k < 0) {
        int seg;
        uint64_t off;
        const char *why;
        bool lastseg;
        wal_reader_corruption(r, &seg, &off, &why, &lastseg);
        fprintf(stderr, "WAL corrupt in segment %d at %" PRIu64 ": %s\n", seg, off, why);
        rc = 1;
    }
    if (unknown)
        fprintf(stderr, "%zu records of other types skipped\n", unknown);
    if (orphans) {
        fprintf(stderr, "%zu samples of unknown series\n", orphans);
        rc = 1;
    }
    wal_reader_close(r);
    return rc;
}

/* Prints the samples of a WAL directory: the last checkpoint, then the segments after
 * it (tombstones are not applied). */
static int cmd_wal_dump(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: wal-dump WALDIR\n");
        return 2;
    }
    struct refmap m = {0};
    struct rec_decoded d = {0};
    char ck[4096];
    int n = checkpoint_last(argv[1], ck, sizeof ck);
    int rc = 0;
    if (n >= 0)
        rc = dump_wal_part(ck, -1, -1, &m, &d);
    if (rc == 0)
        rc = dump_wal_part(argv[1], n >= 0 ? n + 1 : -1, -1, &m, &d);
    rec_decoded_free(&d);
    refmap_free(&m);
    return rc;
}

static bool keep_all(void *arg, uint64_t ref)
{
    (void)arg;
    (void)ref;
    return true;
}

static bool keep_odd(void *arg, uint64_t ref)
{
    (void)arg;
    return ref % 2 == 1;
}

/* Checkpoints segments up to LAST keeping samples >= MINT (of all or odd-ref series),
 * then deletes those segments, as the head does when it truncates. */
static int cmd_checkpoint(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: checkpoint WALDIR LAST MINT all|odd\n");
        return 2;
    }
    char err[512];
    struct checkpoint_stats st;
    int last = atoi(argv[2]);
    if (checkpoint_create(argv[1], -1, last, strcmp(argv[4], "odd") ? keep_all : keep_odd,
                          NULL, strtoll(argv[3], NULL, 10), &st, err, sizeof err) < 0 ||
        wal_truncate_before(argv[1], last + 1, err, sizeof err) < 0) {
        fprintf(stderr, "checkpoint: %s\n", err);
        return 1;
    }
    fprintf(stderr, "kept %" PRIu64 " series, %" PRIu64 " samples; dropped %" PRIu64
                    " series, %" PRIu64 " samples\n",
            st.series_kept, st.samples_kept, st.series_dropped, st.samples_dropped);
    return 0;
}

static int cmp_line_time(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return strcmp(x->labels, y->labels);
}

/* Writes a dump file as a WAL: series records, then sample records in time order. */
static int cmd_write_wal(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: write-wal WALDIR DUMPFILE [SEGMENT_BYTES [none|snappy|zstd "
                        "[exemplars]]]\n");
        return 2;
    }
    uint64_t segsize = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    enum wal_compression comp = WAL_COMPRESS_SNAPPY;
    if (argc > 4)
        comp = !strcmp(argv[4], "none")   ? WAL_COMPRESS_NONE
               : !strcmp(argv[4], "zstd") ? WAL_COMPRESS_ZSTD
                                          : WAL_COMPRESS_SNAPPY;
    struct lines in = {0};
    if (read_dump(argv[2], &in) < 0)
        return 1;
    char err[512];
    struct wal *w;
    if (wal_open(&w, argv[1], segsize, comp, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct refmap m = {0}; /* label text -> ref, by hashing the text */
    uint64_t *refs = malloc((in.n ? in.n : 1) * sizeof *refs);
    struct ebuf b;
    ebuf_init(&b, 0);
    int rc = 0;
    uint64_t next = 1;
    size_t first = 0;
    rec_encode_series_begin(&b);
    for (size_t i = 0; i < in.n; i++) {
        if (i && !strcmp(in.v[i].labels, in.v[first].labels)) {
            refs[i] = refs[first];
            continue;
        }
        first = i;
        refs[i] = next++;
        struct ignis_label ls[32];
        char *store;
        long n = parse_labels(in.v[i].labels, ls, 32, &store);
        if (n < 0) {
            fprintf(stderr, "bad labels: %s\n", in.v[i].labels);
            free(store);
            rc = 1;
            break;
        }
        rec_encode_series(&b, refs[i], ls, (size_t)n);
        free(store);
        if (b.len > 64 * 1024) {
            if (wal_log(w, b.p, b.len, err, sizeof err) < 0)
                rc = 1;
            ebuf_reset(&b);
            rec_encode_series_begin(&b);
        }
    }
    if (rc == 0 && b.len > 1 && wal_log(w, b.p, b.len, err, sizeof err) < 0)
        rc = 1;
    /* Samples in time order, in records of up to 1000. */
    struct rec_sample *ss = malloc((in.n ? in.n : 1) * sizeof *ss);
    for (size_t i = 0; i < in.n; i++) {
        ss[i] = (struct rec_sample){refs[i], in.v[i].t, in.v[i].v};
        /* Keep the ref beside the line while sorting: stash it in t order below. */
    }
    struct line *lv = in.v;
    size_t *order = malloc((in.n ? in.n : 1) * sizeof *order);
    for (size_t i = 0; i < in.n; i++)
        order[i] = i;
    for (size_t i = 0; i < in.n; i++)
        lv[i].labels = (char *)((uintptr_t)lv[i].labels); /* unchanged */
    (void)cmp_line_time;
    /* A stable sort of sample indices by time (merge sort keeps each series in order). */
    size_t *tmp = malloc((in.n ? in.n : 1) * sizeof *tmp);
    for (size_t width = 1; width < in.n; width *= 2) {
        for (size_t lo = 0; lo < in.n; lo += 2 * width) {
            size_t mid = lo + width < in.n ? lo + width : in.n;
            size_t hi = lo + 2 * width < in.n ? lo + 2 * width : in.n;
            size_t a = lo, c = mid, o = lo;
            while (a < mid && c < hi)
                tmp[o++] = ss[order[c]].t < ss[order[a]].t ? order[c++] : order[a++];
            while (a < mid)
                tmp[o++] = order[a++];
            while (c < hi)
                tmp[o++] = order[c++];
        }
        size_t *t = order;
        order = tmp;
        tmp = t;
    }
    bool with_ex = argc > 5 && !strcmp(argv[5], "exemplars");
    struct rec_sample batch[1000];
    size_t nb = 0;
    for (size_t i = 0; rc == 0 && i <= in.n; i++) {
        if (i < in.n)
            batch[nb++] = ss[order[i]];
        if (nb == 1000 || (i == in.n && nb)) {
            ebuf_reset(&b);
            rec_encode_samples(&b, batch, nb);
            if (wal_log(w, b.p, b.len, err, sizeof err) < 0)
                rc = 1;
            if (with_ex && rc == 0) {
                /* An exemplar record after each batch: one per 10 samples. */
                struct rec_exemplar ex[100];
                struct ignis_label tl = {"trace_id", 8, "abc123", 6};
                size_t ne = 0;
                for (size_t k = 0; k < nb; k += 10)
                    ex[ne++] = (struct rec_exemplar){batch[k].ref, batch[k].t, 1.5, 0, 1};
                ebuf_reset(&b);
                rec_encode_exemplars(&b, ex, ne, &tl);
                if (wal_log(w, b.p, b.len, err, sizeof err) < 0)
                    rc = 1;
            }
            nb = 0;
        }
    }
    if (wal_close(w, rc ? NULL : err, sizeof err) < 0)
        rc = 1;
    if (rc)
        fprintf(stderr, "write-wal: %s\n", err);
    free(tmp);
    free(order);
    free(ss);
    free(refs);
    ebuf_free(&b);
    refmap_free(&m);
    for (size_t k = 0; k < in.n; k++)
        free(in.v[k].labels);
    free(in.v);
    return rc;
}

/* ---- head --------------------------------------------------------------------------- */

static void tool_log(void *arg, int level, const char *msg)
{
    (void)arg;
    fprintf(stderr, "%s: %s\n", level ? "warn" : "info", msg);
}

/* Appends a dump file through the head (commits of BATCH samples in time order), then
 * closes it: the directory then holds wal/ and chunks_head/. */
static int cmd_head_append(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: head-append DIR DUMPFILE [BATCH]\n");
        return 2;
    }
    size_t batch = argc > 3 ? strtoull(argv[3], NULL, 10) : 500;
    struct lines in = {0};
    if (read_dump(argv[2], &in) < 0)
        return 1;
    char err[512];
    struct head *h;
    struct head_opts o = {.dir = argv[1], .log = tool_log};
    if (head_open(&h, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* Stable sort by time keeps each series' samples in order. */
    size_t *order = malloc((in.n ? in.n : 1) * sizeof *order);
    size_t *tmp = malloc((in.n ? in.n : 1) * sizeof *tmp);
    for (size_t i = 0; i < in.n; i++)
        order[i] = i;
    for (size_t width = 1; width < in.n; width *= 2) {
        for (size_t lo = 0; lo < in.n; lo += 2 * width) {
            size_t mid = lo + width < in.n ? lo + width : in.n;
            size_t hi = lo + 2 * width < in.n ? lo + 2 * width : in.n;
            size_t a = lo, c = mid, o2 = lo;
            while (a < mid && c < hi)
                tmp[o2++] = in.v[order[c]].t < in.v[order[a]].t ? order[c++] : order[a++];
            while (a < mid)
                tmp[o2++] = order[a++];
            while (c < hi)
                tmp[o2++] = order[c++];
        }
        size_t *t = order;
        order = tmp;
        tmp = t;
    }
    int rc = 0;
    struct head_app *a = head_appender(h);
    for (size_t i = 0; i < in.n && rc == 0; i++) {
        struct line *l = &in.v[order[i]];
        struct ignis_label ls[32];
        char *store;
        long n = parse_labels(l->labels, ls, 32, &store);
        uint64_t ref;
        int k = n < 0 ? -1 : head_app_add(a, ls, (size_t)n, l->t, l->v, &ref);
        free(store);
        if (k) {
            fprintf(stderr, "append %s %" PRId64 ": %d\n", l->labels, l->t, k);
            rc = 1;
            break;
        }
        if ((i + 1) % batch == 0) {
            if (head_app_commit(a, err, sizeof err) != 0) {
                fprintf(stderr, "commit: %s\n", err);
                rc = 1;
                a = NULL;
                break;
            }
            a = head_appender(h);
        }
    }
    if (a) {
        if (rc)
            head_app_rollback(a);
        else if (head_app_commit(a, err, sizeof err) != 0) {
            fprintf(stderr, "commit: %s\n", err);
            rc = 1;
        }
    }
    head_close(h);
    free(order);
    free(tmp);
    for (size_t k = 0; k < in.n; k++)
        free(in.v[k].labels);
    free(in.v);
    return rc;
}

/* Opens a data directory's head (replaying chunks_head/ and the WAL) and prints every
 * sample. */
static int cmd_head_dump(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: head-dump DIR\n");
        return 2;
    }
    char err[512];
    struct head *h;
    struct head_opts o = {.dir = argv[1], .log = tool_log};
    if (head_open(&h, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct plist sel;
    int rc = head_select(h, NULL, 0, INT64_MIN, INT64_MAX, &sel) ? 1 : 0;
    struct head_series_view v = {0};
    for (size_t i = 0; rc == 0 && i < sel.n; i++) {
        if (head_series(h, sel.v[i], INT64_MIN, INT64_MAX, &v) != 0) {
            rc = 1;
            break;
        }
        for (size_t c = 0; c < v.nchks; c++) {
            struct xor_it it;
            xor_it_init(&it, v.chks[c].data, v.chks[c].len);
            int64_t t;
            double x;
            int k;
            while ((k = xor_it_next(&it, &t, &x)) == 1) {
                tsdb_fprint_labels(stdout, v.ls, v.nls);
                putchar(' ');
                print_value(stdout, x);
                printf(" %" PRId64 "\n", t);
            }
            if (k < 0) {
                fprintf(stderr, "corrupt chunk\n");
                rc = 1;
            }
        }
    }
    struct head_stats st;
    head_stats(h, &st);
    fprintf(stderr, "head: %" PRIu64 " series, %" PRIu64 " chunks, %" PRIu64
                    " samples replayed, %" PRIu64 " unknown refs\n",
            st.series, st.chunks, st.replayed_samples, st.replay_unknown_refs);
    head_series_view_free(&v);
    plist_free(&sel);
    head_close(h);
    return rc;
}

/* Opens a data directory as the plugin does (head replay plus every block) and prints
 * every sample through a querier: series merged across sources, tombstones applied. */
static int cmd_db_dump(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: db-dump DIR [MINT MAXT]\n");
        return 2;
    }
    int64_t mint = argc > 2 ? strtoll(argv[2], NULL, 10) : INT64_MIN;
    int64_t maxt = argc > 3 ? strtoll(argv[3], NULL, 10) : INT64_MAX;
    char err[512];
    struct db db = {.dir = argv[1], .log = tool_log};
    pthread_mutex_init(&db.mu, NULL);
    pthread_mutex_init(&db.admin_mu, NULL);
    struct head_opts o = {.dir = argv[1], .log = tool_log};
    if (head_open(&db.head, &o, err, sizeof err) < 0 ||
        db_load_blocks(&db, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct dbq *q = dbq_open(&db, mint, maxt);
    struct dbset *set;
    int rc = q && dbq_select(q, NULL, 0, 0, &set) == 0 ? 0 : 1;
    const struct ignis_label *ls;
    size_t nls;
    uint64_t ref;
    int k;
    while (rc == 0 && (k = dbset_next(set, &ls, &nls, &ref)) == 1) {
        int64_t t[512];
        double v[512];
        long n;
        while ((n = dbset_samples(set, mint, maxt, t, v, 512)) > 0)
            for (long i = 0; i < n; i++) {
                tsdb_fprint_labels(stdout, ls, nls);
                putchar(' ');
                print_value(stdout, v[i]);
                printf(" %" PRId64 "\n", t[i]);
            }
        if (n < 0)
            rc = 1;
    }
    if (rc == 0 && k < 0)
        rc = 1;
    if (rc == 0)
        dbset_close(set);
    dbq_close(q);
    db_close_blocks(&db);
    head_close(db.head);
    pthread_mutex_destroy(&db.mu);
    return rc;
}

/* Opens a directory as the plugin does, runs compaction cycles (persisting the head's old
 * ranges as blocks, truncating the head, retention), and closes. */
static int cmd_db_compact(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: db-compact DIR [RANGE_MS [RETENTION_MS]]\n");
        return 2;
    }
    int64_t range = argc > 2 ? strtoll(argv[2], NULL, 10) : 0;
    int64_t retention = argc > 3 ? strtoll(argv[3], NULL, 10) : 0;
    char err[512];
    struct db db = {.dir = argv[1], .log = tool_log};
    pthread_mutex_init(&db.mu, NULL);
    pthread_mutex_init(&db.admin_mu, NULL);
    if (db_load_blocks(&db, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int64_t bmax = db_blocks_maxt(&db);
    struct head_opts o = {.dir = argv[1], .log = tool_log, .chunk_range = range,
                          .min_valid_set = bmax != INT64_MIN, .min_valid_time = bmax};
    if (head_open(&db.head, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct db_compact_stats st;
    int rc = db_compact(&db, retention, 0, &st, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "compact: %s\n", err);
    else
        fprintf(stderr, "%" PRIu64 " blocks written, %" PRIu64 " deleted\n", st.blocks_written,
                st.blocks_deleted);
    db_close_blocks(&db);
    head_close(db.head);
    pthread_mutex_destroy(&db.mu);
    return rc < 0 ? 1 : 0;
}

/* Deletes [MINT, MAXT] of the series a selector matches, as the admin API does: WAL
 * tombstones for the head, tombstones files for blocks. CLEAN: then rewrite the blocks. */
static int cmd_db_delete(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: db-delete DIR SELECTOR MINT MAXT [clean]\n");
        return 2;
    }
    char err[512];
    struct ignis_selector sel;
    if (ignis_selector_parse(argv[2], strlen(argv[2]), &sel, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    struct db db = {.dir = argv[1], .log = tool_log};
    pthread_mutex_init(&db.mu, NULL);
    pthread_mutex_init(&db.admin_mu, NULL);
    if (db_load_blocks(&db, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int64_t bmax = db_blocks_maxt(&db);
    struct head_opts o = {.dir = argv[1], .log = tool_log, .min_valid_set = bmax != INT64_MIN,
                          .min_valid_time = bmax};
    if (head_open(&db.head, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int rc = db_delete(&db, sel.matchers, sel.n, strtoll(argv[3], NULL, 10),
                       strtoll(argv[4], NULL, 10), err, sizeof err);
    if (rc == 0 && argc > 5 && !strcmp(argv[5], "clean"))
        rc = db_clean_tombstones(&db, err, sizeof err);
    if (rc)
        fprintf(stderr, "db-delete: %s\n", err);
    db_close_blocks(&db);
    head_close(db.head);
    ignis_selector_free(&sel);
    return rc ? 1 : 0;
}

/* Tombstones [MINT, MAXT] for every series of a block whose id is odd (or all). */
static int cmd_delete(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: delete BLOCKDIR MINT MAXT odd|all\n");
        return 2;
    }
    char err[512];
    struct block b;
    if (block_open(&b, argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "open block: %s\n", err);
        return 1;
    }
    int64_t mint = strtoll(argv[2], NULL, 10), maxt = strtoll(argv[3], NULL, 10);
    bool odd = !strcmp(argv[4], "odd");
    const uint8_t *ids;
    uint32_t n;
    int rc = indexr_postings(&b.ix, "", 0, "", 0, &ids, &n) < 0 ? -1 : 0;
    size_t k = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++, k++)
        if (!odd || k % 2 == 1)
            rc = tombstones_add(&b.stones, be32_get(ids + 4 * i), mint, maxt);
    tombstones_normalize(&b.stones);
    if (rc == 0)
        rc = tombstones_write(argv[1], &b.stones, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "delete: %s\n", err);
    block_close(&b);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tsdbtool gen|gen-om|write-block|dump|compare ...\n");
        return 2;
    }
    if (!strcmp(argv[1], "gen"))
        return cmd_gen(argc - 1, argv + 1, false);
    if (!strcmp(argv[1], "gen-om"))
        return cmd_gen(argc - 1, argv + 1, true);
    if (!strcmp(argv[1], "compare"))
        return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(argv[1], "write-block"))
        return cmd_write_block(argc - 1, argv + 1);
    if (!strcmp(argv[1], "wal-dump"))
        return cmd_wal_dump(argc - 1, argv + 1);
    if (!strcmp(argv[1], "checkpoint"))
        return cmd_checkpoint(argc - 1, argv + 1);
    if (!strcmp(argv[1], "write-wal"))
        return cmd_write_wal(argc - 1, argv + 1);
    if (!strcmp(argv[1], "head-append"))
        return cmd_head_append(argc - 1, argv + 1);
    if (!strcmp(argv[1], "head-dump"))
        return cmd_head_dump(argc - 1, argv + 1);
    if (!strcmp(argv[1], "db-dump"))
        return cmd_db_dump(argc - 1, argv + 1);
    if (!strcmp(argv[1], "db-delete"))
        return cmd_db_delete(argc - 1, argv + 1);
    if (!strcmp(argv[1], "db-compact"))
        return cmd_db_compact(argc - 1, argv + 1);
    if (!strcmp(argv[1], "delete"))
        return cmd_delete(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dump"))
        return cmd_dump(argc - 1, argv + 1);
    fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
}
