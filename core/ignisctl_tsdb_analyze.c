/* core/ignisctl_tsdb_analyze.c — `ignisctl tsdb analyze`: the report `promtool tsdb analyze`
 * prints for one block (the last by min time unless named): series and label counts, the
 * label pairs and names most involved in churn (the share of the block's range their
 * series do not cover), the most common pairs, label names by cumulative value length and
 * by cardinality, metric names by series count, and with --extended how full the chunks
 * are. Ties are listed by key (promtool's own order on ties depends on Go's map order). */
#include <config.h>
#include "core/ignisctl_tsdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/storage/tsdb/block.h"
#include "plugins/storage/tsdb/enc.h"

/* A key (label pair "name=value" or label name) and its figure. */
struct info {
    char *key;
    size_t len;
    uint64_t a, b; /* a: uncovered ms or count; b: second counter */
};

/* An open-addressing map from key text to an info. */
struct infomap {
    struct info *v;
    size_t n, cap;
    size_t *slots; /* index + 1, 0 empty */
    size_t nslots;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

/* The info of key (name, or name=value when value), created at zero. NULL: no memory. */
static struct info *infomap_get(struct infomap *m, const char *name, size_t nlen,
                                const char *value, size_t vlen, bool pair)
{
    char stackbuf[512];
    size_t len = nlen + (pair ? 1 + vlen : 0);
    char *k = len < sizeof stackbuf ? stackbuf : malloc(len + 1);
    if (!k)
        return NULL;
    memcpy(k, name, nlen);
    if (pair) {
        k[nlen] = '=';
        memcpy(k + nlen + 1, value, vlen);
    }
    if ((m->n + 1) * 2 > m->nslots) {
        size_t ns = m->nslots ? m->nslots * 2 : 1024;
        size_t *nsl = calloc(ns, sizeof *nsl);
        if (!nsl)
            goto oom;
        for (size_t i = 0; i < m->n; i++) {
            size_t j = hash_bytes(m->v[i].key, m->v[i].len) & (ns - 1);
            while (nsl[j])
                j = (j + 1) & (ns - 1);
            nsl[j] = i + 1;
        }
        free(m->slots);
        m->slots = nsl;
        m->nslots = ns;
    }
    size_t j = hash_bytes(k, len) & (m->nslots - 1);
    for (; m->slots[j]; j = (j + 1) & (m->nslots - 1)) {
        struct info *in = &m->v[m->slots[j] - 1];
        if (in->len == len && memcmp(in->key, k, len) == 0) {
            if (k != stackbuf)
                free(k);
            return in;
        }
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 256;
        struct info *nv = realloc(m->v, nc * sizeof *nv);
        if (!nv)
            goto oom;
        m->v = nv;
        m->cap = nc;
    }
    struct info *in = &m->v[m->n];
    in->key = k == stackbuf ? malloc(len + 1) : k;
    if (!in->key)
        return NULL;
    if (k == stackbuf)
        memcpy(in->key, k, len);
    in->key[len] = '\0'; /* the allocation has room: see below */
    in->len = len;
    in->a = in->b = 0;
    m->slots[j] = ++m->n;
    return in;
oom:
    if (k != stackbuf)
        free(k);
    return NULL;
}

static void infomap_free(struct infomap *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].key);
    free(m->v);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static int cmp_info(const void *a, const void *b)
{
    const struct info *x = a, *y = b;
    if (x->a != y->a)
        return x->a > y->a ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sorts by figure, largest first, and prints up to limit "figure key" lines. */
static void print_infos(const char *title, struct info *v, size_t n, long limit)
{
    printf("\n%s:\n", title);
    if (n)
        qsort(v, n, sizeof *v, cmp_info);
    for (size_t i = 0; i < n && (long)i < limit; i++) {
        printf("%" PRIu64 " ", v[i].a);
        fwrite(v[i].key, 1, v[i].len, stdout);
        putchar('\n');
    }
}

static void help_analyze(FILE *f)
{
    fprintf(f,
            "usage: ignisctl tsdb analyze [--limit=N] [--extended] DIR [BLOCK_ID]\n"
            "\n"
            "Analyzes one block of the data directory DIR (the last one by min time unless\n"
            "BLOCK_ID names it) as `promtool tsdb analyze` does: churn, label pair and label\n"
            "name cardinality, metric names by series count. Read-only.\n"
            "\n"
            "  --limit=N     how many items to show in each list (default 20)\n"
            "  --extended    also how full the block's chunks are (of 120 samples)\n"
            "\n"
            "Exit status: 0 analyzed, 1 no such block or unreadable, 2 usage error.\n");
}

/* The chunk fullness histogram of --extended: ten buckets of 12 samples each. */
static int chunk_fullness(struct block *b, char *err, size_t errlen)
{
    enum { NBUCKETS = 10, FULL = 120 }; /* Prometheus' target samples per chunk */
    uint64_t hist[NBUCKETS] = {0}, total = 0;
    const uint8_t *ids;
    uint32_t n;
    if (indexr_postings(&b->ix, "", 0, "", 0, &ids, &n) < 0) {
        snprintf(err, errlen, "%s: corrupt postings", b->dir);
        return -1;
    }
    struct index_series s = {0};
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (indexr_series(&b->ix, be32_get(ids + 4 * i), &s, err, errlen) < 0) {
            rc = -1;
            break;
        }
        for (size_t c = 0; c < s.nchks; c++) {
            uint8_t enc;
            const uint8_t *data;
            size_t len;
            if (chunkr_get(&b->cr, s.chks[c].ref, &enc, &data, &len, err, errlen) < 0) {
                rc = -1;
                break;
            }
            /* Every chunk encoding starts with its sample count (big-endian 16 bits). */
            unsigned ns = len >= 2 ? be16_get(data) : 0;
            if (ns > FULL)
                ns = FULL;
            int bucket = (int)((NBUCKETS * ns + FULL - 1) / FULL) - 1;
            if (bucket < 0)
                bucket = 0;
            hist[bucket]++;
            total++;
        }
    }
    index_series_free(&s);
    if (rc < 0)
        return -1;
    printf("\nCompaction analysis:\n");
    printf("Fullness: Amount of samples in chunks (100%% is 120 samples)\n");
    for (int i = 0; i < NBUCKETS; i++) {
        uint64_t pct = total ? 100 * hist[i] / total : 0;
        printf("%7d%%: ", (i + 1) * 10);
        for (uint64_t k = 0; k < pct; k++)
            putchar('#');
        putchar('\n');
    }
    return 0;
}

static int analyze(struct block *b, long limit, bool extended, char *err, size_t errlen)
{
    const struct block_meta *m = &b->meta;
    char dur[64];
    ig_ctl_go_duration(m->max_time - m->min_time, dur, sizeof dur);
    printf("Block ID: %s\n", m->ulid.s);
    printf("Duration: %s\n", dur);
    printf("Series: %" PRIu64 "\n", m->num_series);

    /* Label names and their values, from the postings offset table (sorted by name, then
     * value; the first entry is the all-series key). */
    const struct indexr *ix = &b->ix;
    size_t nnames = 0;
    for (size_t i = 0; i < ix->npe; i++)
        if (ix->pe[i].name.len &&
            (i == 0 || tsdb_str_cmp(ix->pe[i].name.p, ix->pe[i].name.len, ix->pe[i - 1].name.p,
                                    ix->pe[i - 1].name.len) != 0))
            nnames++;
    printf("Label names: %zu\n", nnames);

    struct infomap pairs = {0}, names = {0};
    uint64_t entries = 0;
    uint64_t range = (uint64_t)(m->max_time - m->min_time);
    const uint8_t *ids;
    uint32_t n;
    if (indexr_postings(ix, "", 0, "", 0, &ids, &n) < 0) {
        snprintf(err, errlen, "%s: corrupt postings", b->dir);
        return -1;
    }
    struct index_series s = {0};
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (indexr_series(ix, be32_get(ids + 4 * i), &s, err, errlen) < 0) {
            rc = -1;
            break;
        }
        if (!s.nchks)
            continue;
        /* The part of the block's range this series does not cover. */
        uint64_t uncovered =
            range - (uint64_t)(s.chks[s.nchks - 1].maxt - s.chks[0].mint);
        for (size_t k = 0; k < s.nls; k++) {
            const struct ignis_label *l = &s.ls[k];
            struct info *p = infomap_get(&pairs, l->name, l->name_len, l->value, l->value_len,
                                         true);
            struct info *q = infomap_get(&names, l->name, l->name_len, NULL, 0, false);
            if (!p || !q) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            p->a += uncovered;
            p->b++;
            q->a += uncovered;
            entries++;
        }
    }
    index_series_free(&s);
    if (rc == 0) {
        printf("Postings (unique label pairs): %zu\n", pairs.n);
        printf("Postings entries (total label pairs): %" PRIu64 "\n", entries);
    }
    struct info *list = NULL;
    size_t cap = (pairs.n > nnames ? pairs.n : nnames) + 1;
    if (rc == 0 && !(list = malloc(cap * sizeof *list))) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    double drange = (double)(m->max_time - m->min_time);
    if (rc == 0) {
        for (size_t i = 0; i < pairs.n; i++) {
            list[i] = pairs.v[i];
            list[i].a = (uint64_t)((double)pairs.v[i].a / drange);
        }
        print_infos("Label pairs most involved in churning", list, pairs.n, limit);
        for (size_t i = 0; i < names.n; i++) {
            list[i] = names.v[i];
            list[i].a = (uint64_t)((double)names.v[i].a / drange);
        }
        print_infos("Label names most involved in churning", list, names.n, limit);
        for (size_t i = 0; i < pairs.n; i++) {
            list[i] = pairs.v[i];
            list[i].a = pairs.v[i].b;
        }
        print_infos("Most common label pairs", list, pairs.n, limit);

        /* Per label name: cumulative value length, then cardinality. */
        size_t k = 0;
        for (size_t i = 0; i < ix->npe;) {
            const struct tsdb_str *nm = &ix->pe[i].name;
            size_t lo, hi;
            indexr_name_range(ix, nm->p, nm->len, &lo, &hi);
            if (hi <= i)
                hi = i + 1;
            if (nm->len) {
                uint64_t cum = 0;
                for (size_t j = lo; j < hi; j++)
                    cum += ix->pe[j].value.len;
                list[k++] = (struct info){(char *)nm->p, nm->len, cum, hi - lo};
            }
            i = hi;
        }
        print_infos("Label names with highest cumulative label value length", list, k, limit);
        for (size_t i = 0; i < k; i++)
            list[i].a = list[i].b;
        print_infos("Highest cardinality labels", list, k, limit);

        size_t lo, hi;
        indexr_name_range(ix, "__name__", 8, &lo, &hi);
        k = 0;
        for (size_t j = lo; j < hi && rc == 0; j++) {
            const uint8_t *pids;
            uint32_t pn;
            if (indexr_postings_at(ix, j, &pids, &pn) < 0) {
                snprintf(err, errlen, "%s: corrupt postings", b->dir);
                rc = -1;
                break;
            }
            list[k++] = (struct info){(char *)ix->pe[j].value.p, ix->pe[j].value.len, pn, 0};
        }
        if (rc == 0)
            print_infos("Highest cardinality metric names", list, k, limit);
    }
    free(list);
    infomap_free(&pairs);
    infomap_free(&names);
    if (rc == 0 && extended)
        rc = chunk_fullness(b, err, errlen);
    return rc;
}

int ig_ctl_tsdb_analyze(int argc, char **argv)
{
    long limit = 20;
    bool extended = false;
    const char *dir = NULL, *id = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if (ig_ctl_is_help(argv[i])) {
            help_analyze(stdout);
            return 0;
        } else if (ig_ctl_flag(argc, argv, &i, "--limit", &v)) {
            char *end;
            errno = 0;
            limit = v ? strtol(v, &end, 10) : 0;
            if (!v || !*v || *end || errno) {
                fprintf(stderr, "ignisctl tsdb analyze: --limit needs a number\n");
                help_analyze(stderr);
                return 2;
            }
        } else if (strcmp(argv[i], "--extended") == 0) {
            extended = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ignisctl tsdb analyze: unknown flag %s\n", argv[i]);
            help_analyze(stderr);
            return 2;
        } else if (!dir) {
            dir = argv[i];
        } else if (!id) {
            id = argv[i];
        } else {
            fprintf(stderr, "ignisctl tsdb analyze: unexpected argument %s\n", argv[i]);
            help_analyze(stderr);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "ignisctl tsdb analyze: no data directory given\n");
        help_analyze(stderr);
        return 2;
    }
    char err[512];
    struct block *blocks;
    size_t nblocks;
    if (ig_ctl_open_blocks(dir, &blocks, &nblocks, err, sizeof err) < 0) {
        fprintf(stderr, "ignisctl tsdb analyze: %s\n", err);
        return 1;
    }
    struct block *b = NULL;
    if (id) {
        for (size_t i = 0; i < nblocks; i++)
            if (strcmp(blocks[i].meta.ulid.s, id) == 0)
                b = &blocks[i];
    } else if (nblocks) {
        b = &blocks[nblocks - 1];
    }
    int rc = 0;
    if (!b) {
        fprintf(stderr, "ignisctl tsdb analyze: block %s not found in %s\n",
                id ? id : "(any)", dir);
        rc = 1;
    } else if (analyze(b, limit, extended, err, sizeof err) < 0) {
        fprintf(stderr, "ignisctl tsdb analyze: %s\n", err);
        rc = 1;
    }
    if (fflush(stdout) != 0)
        rc = 1;
    ig_ctl_close_blocks(blocks, nblocks);
    return rc;
}
