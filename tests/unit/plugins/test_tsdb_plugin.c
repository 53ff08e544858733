/* tests/unit/plugins/test_tsdb_plugin.c — the `tsdb` storage plugin loaded as ignisd loads
 * it (dlopen of the built module) and driven only through its ops table: appends by labels
 * and refs with every error kind, commit and rollback visibility, selection, sample
 * batches and whole chunks, label queries with limits, metadata, stats, bad options, and
 * a data directory that comes back after the instance is destroyed and created again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ignis/plugin.h>
#include "../testhost.h"
#include "block.h"
#include "fileutil.h"

static const struct ignis_plugin *plug;
static const struct ignis_storage_ops *ops;

struct fx {
    struct testhost *th;
    void *inst;
    char *dir;
};

static void fx_open_dir(struct fx *f, const char *dir)
{
    char err[256] = "";
    f->th = testhost_new("tsdb-test");
    assert_non_null(f->th);
    struct ignis_config *cfg = ignis_config_new(plug->options, "test.conf");
    assert_int_equal(ignis_config_set(cfg, "path", dir, "t:1", err, sizeof err), 0);
    if (ops->create(testhost_host(f->th), cfg, &f->inst, err, sizeof err) != 0)
        fail_msg("create: %s", err);
    ignis_config_free(cfg);
    assert_true(testhost_ready(f->th));
}

static void fx_open(struct fx *f)
{
    f->dir = strdup("/tmp/test_tsdb_plugin.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fx_open_dir(f, f->dir);
}

static void fx_destroy(struct fx *f)
{
    ops->destroy(f->inst);
    testhost_free(f->th);
}

static void fx_close(struct fx *f)
{
    fx_destroy(f);
    rm_rf(f->dir);
    free(f->dir);
}

/* Three series per job, 300 samples each 1s apart from t0. */
static void load(struct fx *f, int64_t t0, uint64_t refs[6])
{
    static const char *jobs[2] = {"api", "db"};
    static const char *insts[3] = {"a", "b", "c"};
    struct ignis_appender *a = ops->appender(f->inst);
    assert_non_null(a);
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 3; i++) {
            struct ignis_label ls[3] = {ignis_label_make("__name__", "up"),
                                        ignis_label_make("instance", insts[i]),
                                        ignis_label_make("job", jobs[j])};
            assert_int_equal(ops->append(a, ls, 3, t0, j * 10 + i, &refs[j * 3 + i]), 0);
        }
    for (int k = 1; k < 300; k++) {
        struct ignis_ref_sample s[6];
        int errs[6];
        for (int i = 0; i < 6; i++)
            s[i] = (struct ignis_ref_sample){refs[i], t0 + k * 1000, i * 1000.0 + k};
        assert_int_equal(ops->append_refs(a, s, 6, errs), 6);
    }
    assert_int_equal(ops->commit(a), 0);
}

static size_t count_series(struct fx *f, const char *sel, int64_t mint, int64_t maxt)
{
    struct ignis_selector s;
    char err[256];
    if (ignis_selector_parse(sel, strlen(sel), &s, err, sizeof err) < 0)
        fail_msg("%s: %s", sel, err);
    struct ignis_querier *q = ops->querier(f->inst, mint, maxt);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, s.matchers, s.n, NULL, &set), 0);
    struct ignis_series ser;
    size_t n = 0;
    while (ops->set_next(set, &ser) == 1)
        n++;
    ops->set_close(set);
    ops->querier_close(q);
    ignis_selector_free(&s);
    return n;
}

static void test_append_select_and_read(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    uint64_t refs[6];
    load(&f, 1000000, refs);
    assert_int_equal(count_series(&f, "up", INT64_MIN, INT64_MAX), 6);
    assert_int_equal(count_series(&f, "up{job=\"db\"}", INT64_MIN, INT64_MAX), 3);
    assert_int_equal(count_series(&f, "up{instance=~\"a|c\",job!=\"db\"}", INT64_MIN, INT64_MAX),
                     2);
    assert_int_equal(count_series(&f, "up", 0, 999999), 0); /* before the data */

    /* Batches of 7 across chunk boundaries, within [mint, maxt]. */
    struct ignis_selector s;
    char err[256];
    assert_int_equal(ignis_selector_parse("up{job=\"api\"}", 13, &s, err, sizeof err), 0);
    struct ignis_querier *q = ops->querier(f.inst, 1010000, 1250000);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, s.matchers, s.n, NULL, &set), 0);
    struct ignis_series ser;
    int nser = 0;
    while (ops->set_next(set, &ser) == 1) {
        const struct ignis_label *inst = ignis_labels_get(ser.labels, ser.nlabels, "instance", 8);
        assert_non_null(inst);
        assert_int_equal(inst->value[0], "abc"[nser]); /* sorted by labels */
        int64_t t[7];
        double v[7];
        struct ignis_sample_batch b = {t, v, 7};
        long k;
        int64_t want = 1010000;
        while ((k = ops->set_samples(set, 1010000, 1250000, &b)) > 0)
            for (long i = 0; i < k; i++) {
                assert_int_equal(t[i], want);
                assert_true(v[i] == nser * 1000.0 + (double)(want - 1000000) / 1000);
                want += 1000;
            }
        assert_int_equal(k, 0);
        assert_int_equal(want, 1251000);
        /* Whole chunks: 300 samples = 120 + 120 + 60, each overlapping the range. */
        struct ignis_chunk c;
        int nc = 0;
        uint32_t total = 0;
        while (ops->set_chunk(set, INT64_MIN, INT64_MAX, &c) == 1) {
            assert_int_equal(c.encoding, IGNIS_CHUNK_XOR);
            total += c.nsamples;
            nc++;
        }
        assert_int_equal(nc, 3);
        assert_int_equal(total, 300);
        nser++;
    }
    assert_int_equal(nser, 3);
    ops->set_close(set);
    ops->querier_close(q);
    ignis_selector_free(&s);
    fx_close(&f);
}

/* Reads every series of sel through q: counts series, samples (by batches) and samples
 * in the chunks handed out; *last gets the newest sample time seen. */
static void read_all(struct ignis_querier *q, const char *sel, size_t *nser, size_t *nsmp,
                     size_t *nchk_smp, int64_t *last)
{
    struct ignis_selector s;
    char err[256];
    if (ignis_selector_parse(sel, strlen(sel), &s, err, sizeof err) < 0)
        fail_msg("%s: %s", sel, err);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, s.matchers, s.n, NULL, &set), 0);
    struct ignis_series ser;
    *nser = *nsmp = *nchk_smp = 0;
    *last = INT64_MIN;
    while (ops->set_next(set, &ser) == 1) {
        (*nser)++;
        int64_t t[64];
        double v[64];
        struct ignis_sample_batch b = {.t = t, .v = v, .cap = 64};
        long got;
        while ((got = ops->set_samples(set, INT64_MIN, INT64_MAX, &b)) > 0) {
            *nsmp += (size_t)got;
            if (t[got - 1] > *last)
                *last = t[got - 1];
        }
        assert_true(got == 0);
        struct ignis_chunk c;
        int k;
        while ((k = ops->set_chunk(set, INT64_MIN, INT64_MAX, &c)) == 1)
            *nchk_smp += c.nsamples;
        assert_int_equal(k, 0);
    }
    ops->set_close(set);
    ignis_selector_free(&s);
}

static void count_values(void *arg, const char *s, size_t len)
{
    (void)s;
    (void)len;
    (*(size_t *)arg)++;
}

/* plugin.h: a querier sees the data as of its creation. Samples committed later into the
 * same series, and series first committed later, stay out of it; a new querier sees them. */
static void test_querier_sees_data_as_of_creation(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    uint64_t refs[6];
    const int64_t t0 = 1000000;
    load(&f, t0, refs);
    struct ignis_querier *before = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    assert_non_null(before);

    /* Two more commits: more samples for every series (the first chunk fills up and a
     * new one starts), then a new series. */
    for (int c = 0; c < 2; c++) {
        struct ignis_appender *a = ops->appender(f.inst);
        for (int k = 0; k < 50; k++) {
            struct ignis_ref_sample rs[6];
            int errs[6];
            for (int i = 0; i < 6; i++)
                rs[i] = (struct ignis_ref_sample){refs[i], t0 + (300 + c * 50 + k) * 1000, 1.0};
            assert_int_equal(ops->append_refs(a, rs, 6, errs), 6);
        }
        assert_int_equal(ops->commit(a), 0);
    }
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_label ls[3] = {ignis_label_make("__name__", "up"),
                                ignis_label_make("instance", "d"), ignis_label_make("job", "api")};
    uint64_t ref;
    assert_int_equal(ops->append(a, ls, 3, t0 + 500000, 7, &ref), 0);
    assert_int_equal(ops->commit(a), 0);

    size_t nser, nsmp, nchk;
    int64_t last;
    read_all(before, "up", &nser, &nsmp, &nchk, &last);
    assert_int_equal(nser, 6);
    assert_int_equal(nsmp, 6 * 300);
    assert_int_equal(nchk, 6 * 300);
    assert_int_equal(last, t0 + 299000);
    read_all(before, "up{instance=\"d\"}", &nser, &nsmp, &nchk, &last);
    assert_int_equal(nser, 0);
    struct ignis_matcher up = {.type = IGNIS_MATCH_EQ, .name = "__name__", .name_len = 8,
                               .value = "up", .value_len = 2};
    size_t nvals = 0;
    assert_int_equal(ops->label_values(before, "instance", 8, &up, 1, 0, count_values, &nvals),
                     0);
    assert_int_equal(nvals, 3); /* a, b, c: not d */
    ops->querier_close(before);

    struct ignis_querier *after = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    read_all(after, "up", &nser, &nsmp, &nchk, &last);
    assert_int_equal(nser, 7);
    assert_int_equal(nsmp, 6 * 400 + 1);
    assert_int_equal(nchk, 6 * 400 + 1);
    assert_int_equal(last, t0 + 500000);
    nvals = 0;
    assert_int_equal(ops->label_values(after, "instance", 8, &up, 1, 0, count_values, &nvals),
                     0);
    assert_int_equal(nvals, 4);
    ops->querier_close(after);
    fx_close(&f);
}

static void test_append_errors_and_rollback(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    uint64_t refs[6];
    load(&f, 1000000, refs);
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_ref_sample s[4] = {{refs[0], 1000000, 1},      /* older than newest */
                                    {refs[0], 1299000, 99},     /* same time, new value */
                                    {refs[0], 1299000, 299},    /* identical: accepted */
                                    {999999, 2000000, 1}};      /* unknown ref */
    int errs[4];
    assert_int_equal(ops->append_refs(a, s, 4, errs), 1);
    assert_int_equal(errs[0], IGNIS_E_OUT_OF_ORDER);
    assert_int_equal(errs[1], IGNIS_E_DUP_TS);
    assert_int_equal(errs[2], 0);
    assert_int_equal(errs[3], IGNIS_E_REF_GONE);
    struct ignis_histogram h = {0};
    uint64_t r;
    assert_int_equal(ops->append_histogram(a, refs[0], NULL, 0, 1, &h, &r), IGNIS_E_NOTSUP);
    assert_int_equal(ops->append_start_ts(a, refs[0], 1300000, 0), 0);
    assert_int_equal(ops->append_start_ts(a, 999999, 1300000, 0), IGNIS_E_REF_GONE);
    /* A new series and a sample, rolled back: neither sample is visible. */
    struct ignis_label ls[2] = {ignis_label_make("__name__", "gone"), ignis_label_make("x", "1")};
    assert_int_equal(ops->append(a, ls, 2, 1300000, 1, &r), 0);
    struct ignis_ref_sample s2 = {refs[1], 1300000, 5};
    assert_int_equal(ops->append_refs(a, &s2, 1, NULL), 1);
    ops->rollback(a);
    assert_int_equal(count_series(&f, "gone", INT64_MIN, INT64_MAX), 0);
    assert_int_equal(count_series(&f, "up", 1300000, INT64_MAX), 0);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_samples, 6 * 300);
    assert_int_equal(st.min_time, 1000000);
    assert_int_equal(st.max_time, 1299000);
    fx_close(&f);
}

struct strs {
    char v[16][32];
    size_t n;
};
static void collect(void *arg, const char *s, size_t len)
{
    struct strs *x = arg;
    assert_true(x->n < 16 && len < 32);
    memcpy(x->v[x->n], s, len);
    x->v[x->n++][len] = 0;
}

struct metas {
    char name[32], help[64];
    enum ignis_metric_type type;
    size_t n;
};
static void collect_meta(void *arg, const char *metric, const struct ignis_metadata *m)
{
    struct metas *x = arg;
    snprintf(x->name, sizeof x->name, "%s", metric);
    snprintf(x->help, sizeof x->help, "%s", m->help ? m->help : "");
    x->type = m->type;
    x->n++;
}

static void test_labels_and_metadata(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    uint64_t refs[6];
    load(&f, 1000000, refs);
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct strs s = {0};
    assert_int_equal(ops->label_names(q, NULL, 0, 0, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[1], "instance");
    memset(&s, 0, sizeof s);
    assert_int_equal(ops->label_values(q, "instance", 8, NULL, 0, 2, collect, &s), 0);
    assert_int_equal(s.n, 2); /* limit */
    assert_string_equal(s.v[0], "a");
    assert_string_equal(s.v[1], "b");
    ops->querier_close(q);

    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_metadata m = {IGNIS_METRIC_GAUGE, "whether the target is up", ""};
    assert_int_equal(ops->update_metadata(a, refs[0], &m), 0);
    assert_int_equal(ops->update_metadata(a, 999999, &m), IGNIS_E_REF_GONE);
    assert_int_equal(ops->commit(a), 0);
    struct metas got = {0};
    assert_int_equal(ops->metadata(f.inst, NULL, 0, collect_meta, &got), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.name, "up");
    assert_string_equal(got.help, "whether the target is up");
    assert_int_equal(got.type, IGNIS_METRIC_GAUGE);
    memset(&got, 0, sizeof got);
    assert_int_equal(ops->metadata(f.inst, "down", 0, collect_meta, &got), 0);
    assert_int_equal(got.n, 0);
    fx_close(&f);
}

static void test_data_survives_recreate(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    uint64_t refs[6];
    load(&f, 1000000, refs);
    fx_destroy(&f);
    fx_open_dir(&f, f.dir);
    assert_int_equal(count_series(&f, "up", INT64_MIN, INT64_MAX), 6);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_series, 6);
    assert_int_equal(st.max_time, 1299000);
    /* Refs from before still append. */
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_ref_sample s = {refs[5], 1300000, 7};
    int e;
    assert_int_equal(ops->append_refs(a, &s, 1, &e), 1);
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(count_series(&f, "up", 1300000, 1300000), 1);
    fx_close(&f);
}

/* Writes a block under dir with up{instance="a",job="api"} at t = a..b-1 (s), value t/1000,
 * and, when with_old, old{x="1"} at the same times. */
static void write_block(const char *dir, int64_t a, int64_t b, bool with_old)
{
    char err[256];
    struct block_writer w;
    assert_int_equal(blockw_open(&w, dir, INT64_MAX, INT64_MIN, err, sizeof err), 0);
    struct ignis_label old[2] = {ignis_label_make("__name__", "old"), ignis_label_make("x", "1")};
    struct ignis_label up[3] = {ignis_label_make("__name__", "up"),
                                ignis_label_make("instance", "a"), ignis_label_make("job", "api")};
    struct symset sy = {0};
    if (with_old)
        symset_add_labels(&sy, old, 2);
    symset_add_labels(&sy, up, 3);
    symset_finish(&sy);
    assert_int_equal(blockw_symbols(&w, sy.v, sy.n, err, sizeof err), 0);
    symset_free(&sy);
    size_t n = (size_t)(b - a);
    int64_t *t = malloc(n * sizeof *t);
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        t[i] = (a + (int64_t)i) * 1000;
        v[i] = (double)(a + (int64_t)i);
    }
    if (with_old)
        assert_int_equal(blockw_add_samples(&w, old, 2, t, v, n, err, sizeof err), 0);
    assert_int_equal(blockw_add_samples(&w, up, 3, t, v, n, err, sizeof err), 0);
    assert_int_equal(blockw_finish(&w, NULL, err, sizeof err), 0);
    free(t);
    free(v);
}

static void test_blocks_and_head_merged(void **state)
{
    (void)state;
    struct fx f;
    f.dir = strdup("/tmp/test_tsdb_plugin.XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    write_block(f.dir, 0, 200, true);
    write_block(f.dir, 100, 300, false); /* overlaps the first */
    fx_open_dir(&f, f.dir);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_blocks, 2);
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_label up[3] = {ignis_label_make("__name__", "up"),
                                ignis_label_make("instance", "a"), ignis_label_make("job", "api")};
    uint64_t ref;
    for (int64_t t = 300; t < 400; t++)
        assert_int_equal(ops->append(a, up, 3, t * 1000, (double)t, &ref), 0);
    assert_int_equal(ops->commit(a), 0);

    struct ignis_selector sel;
    char err[256];
    assert_int_equal(ignis_selector_parse("up", 2, &sel, err, sizeof err), 0);
    struct ignis_querier *q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, sel.matchers, sel.n, NULL, &set), 0);
    struct ignis_series ser;
    assert_int_equal(ops->set_next(set, &ser), 1);
    assert_int_equal(ser.nlabels, 3);
    int64_t t[64];
    double v[64];
    struct ignis_sample_batch b = {t, v, 64};
    long k;
    int64_t want = 0;
    while ((k = ops->set_samples(set, INT64_MIN, INT64_MAX, &b)) > 0)
        for (long i = 0; i < k; i++) {
            assert_int_equal(t[i], want * 1000);
            assert_true(v[i] == (double)want);
            want++;
        }
    assert_int_equal(want, 400); /* each sample once, overlap merged */
    /* Whole chunks of the merged series: re-encoded, still 400 samples in time order. */
    struct ignis_chunk c;
    uint32_t total = 0;
    int64_t last = INT64_MIN;
    while (ops->set_chunk(set, INT64_MIN, INT64_MAX, &c) == 1) {
        assert_true(c.mint > last);
        last = c.maxt;
        total += c.nsamples;
    }
    assert_int_equal(total, 400);
    assert_int_equal(ops->set_next(set, &ser), 0);
    ops->set_close(set);
    ops->querier_close(q);
    ignis_selector_free(&sel);

    /* A querier over the second half only reads the second block and the head. */
    q = ops->querier(f.inst, 250000, 450000);
    struct strs s = {0};
    assert_int_equal(ops->label_values(q, "__name__", 8, NULL, 0, 0, collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.v[0], "up");
    ops->querier_close(q);
    q = ops->querier(f.inst, INT64_MIN, INT64_MAX);
    memset(&s, 0, sizeof s);
    assert_int_equal(ops->label_values(q, "__name__", 8, NULL, 0, 0, collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.v[0], "old");
    memset(&s, 0, sizeof s);
    assert_int_equal(ops->label_names(q, NULL, 0, 0, collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.v[3], "x");
    ops->querier_close(q);
    fx_close(&f);
}

/* An instance over dir with a 10 s chunk range, compaction only when timers fire, and
 * retention as given (NULL: default). */
static void open_small(struct fx *f, const char *retention, const char *max_block)
{
    char err[256] = "";
    f->th = testhost_new("tsdb-compact");
    struct ignis_config *cfg = ignis_config_new(plug->options, "test.conf");
    assert_int_equal(ignis_config_set(cfg, "path", f->dir, "t:1", err, sizeof err), 0);
    assert_int_equal(ignis_config_set(cfg, "min_block_duration", "10s", "t:2", err, sizeof err),
                     0);
    assert_int_equal(ignis_config_set(cfg, "compaction_interval", "1h", "t:3", err, sizeof err),
                     0);
    if (retention)
        assert_int_equal(ignis_config_set(cfg, "retention_time", retention, "t:4", err,
                                          sizeof err),
                         0);
    if (max_block)
        assert_int_equal(ignis_config_set(cfg, "max_block_duration", max_block, "t:5", err,
                                          sizeof err),
                         0);
    if (ops->create(testhost_host(f->th), cfg, &f->inst, err, sizeof err) != 0)
        fail_msg("create: %s", err);
    ignis_config_free(cfg);
}

/* Samples of up{i="0".."3"} every 500 ms over [0, 60 s). */
static void load_minute(struct fx *f)
{
    struct ignis_appender *a = ops->appender(f->inst);
    uint64_t refs[4];
    for (int i = 0; i < 4; i++) {
        char v[2] = {(char)('0' + i), 0};
        struct ignis_label ls[2] = {ignis_label_make("__name__", "up"), ignis_label_make("i", v)};
        assert_int_equal(ops->append(a, ls, 2, 0, i, &refs[i]), 0);
    }
    for (int64_t t = 500; t < 60000; t += 500)
        for (int i = 0; i < 4; i++) {
            struct ignis_ref_sample s = {refs[i], t, (double)(t + i)};
            assert_int_equal(ops->append_refs(a, &s, 1, NULL), 1);
        }
    assert_int_equal(ops->commit(a), 0);
}

/* Counts samples of all series in [mint, maxt], checking values and order. */
static size_t count_samples(struct fx *f, int64_t mint, int64_t maxt, int64_t *first)
{
    struct ignis_querier *q = ops->querier(f->inst, mint, maxt);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, NULL, 0, NULL, &set), 0);
    struct ignis_series ser;
    size_t n = 0;
    *first = INT64_MAX;
    int i = 0;
    while (ops->set_next(set, &ser) == 1) {
        int64_t t[100];
        double v[100];
        struct ignis_sample_batch b = {t, v, 100};
        long k;
        int64_t prev = INT64_MIN;
        while ((k = ops->set_samples(set, mint, maxt, &b)) > 0)
            for (long j = 0; j < k; j++) {
                assert_true(t[j] > prev);
                prev = t[j];
                assert_true(v[j] == (double)(t[j] ? t[j] + i : i));
                if (t[j] < *first)
                    *first = t[j];
                n++;
            }
        i++;
    }
    ops->set_close(set);
    ops->querier_close(q);
    return n;
}

static void test_compaction_persists_head_and_keeps_every_sample(void **state)
{
    (void)state;
    struct fx f;
    f.dir = strdup("/tmp/test_tsdb_plugin.XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    open_small(&f, "0s", "90s");
    load_minute(&f);
    int64_t first;
    assert_int_equal(count_samples(&f, INT64_MIN, INT64_MAX, &first), 4 * 120);
    /* Compaction: the head spans 60 s > 15 s, so [0,10), [10,20), ... [40,50) go to blocks
     * until what is left spans at most 15 s; then the blocks of [0,30) fill a 30 s range
     * and merge; [30,40) waits (the newest, [40,50), is never planned). */
    assert_true(testhost_fire_timers(f.th) >= 1);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    assert_int_equal(st.num_blocks, 3);
    DIR *d = opendir(f.dir);
    struct dirent *de;
    int levels = 0;
    while ((de = readdir(d)))
        if (ulid_valid(de->d_name)) {
            char bd[4300];
            snprintf(bd, sizeof bd, "%s/%s", f.dir, de->d_name);
            struct block_meta m;
            char merr[256];
            assert_int_equal(meta_read(bd, &m, merr, sizeof merr), 0);
            if (m.level == 2) {
                assert_int_equal(m.min_time, 0);
                assert_int_equal(m.max_time, 30000);
                assert_int_equal(m.nsources, 3);
                assert_int_equal(m.nparents, 3);
            }
            levels += m.level;
            meta_free(&m);
        }
    closedir(d);
    assert_int_equal(levels, 2 + 1 + 1); /* and the sources are gone */
    assert_true(st.min_time >= 50000);
    assert_int_equal(count_samples(&f, INT64_MIN, INT64_MAX, &first), 4 * 120);
    assert_int_equal(first, 0);
    /* Older than the head now holds: out of bounds. */
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_label ls[2] = {ignis_label_make("__name__", "up"), ignis_label_make("i", "0")};
    uint64_t ref;
    assert_int_equal(ops->append(a, ls, 2, 49999, 1, &ref), IGNIS_E_OUT_OF_BOUNDS);
    ops->rollback(a);
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/wal", f.dir);
    fx_destroy(&f);
    /* Reopened: blocks plus replayed head, every sample once. */
    open_small(&f, "0s", "90s");
    assert_int_equal(count_samples(&f, INT64_MIN, INT64_MAX, &first), 4 * 120);
    /* A second instance on the same directory is refused while this one runs. */
    struct testhost *th2 = testhost_new("second");
    struct ignis_config *cfg = ignis_config_new(plug->options, "second.conf");
    char err[256];
    assert_int_equal(ignis_config_set(cfg, "path", f.dir, "t:1", err, sizeof err), 0);
    void *inst2;
    assert_int_not_equal(ops->create(testhost_host(th2), cfg, &inst2, err, sizeof err), 0);
    assert_non_null(strstr(err, "in use"));
    ignis_config_free(cfg);
    testhost_free(th2);
    fx_close(&f);
}

static void test_time_retention_deletes_old_blocks(void **state)
{
    (void)state;
    struct fx f;
    f.dir = strdup("/tmp/test_tsdb_plugin.XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    open_small(&f, "20s", "10s"); /* no merging: blocks of 10 s */
    load_minute(&f);
    /* Querier opened before: it pins the blocks it reads. */
    testhost_fire_timers(f.th);
    struct ignis_storage_stats st;
    assert_int_equal(ops->stats(f.inst, &st), 0);
    /* Blocks end at 10..50 s; those ending more than 20 s before 50 s are gone. */
    assert_int_equal(st.num_blocks, 3);
    int64_t first;
    size_t n = count_samples(&f, INT64_MIN, INT64_MAX, &first);
    assert_int_equal(first, 20000);
    assert_int_equal(n, 4 * 80);
    fx_close(&f);
}

/* Samples of the series matching sel, in all of time. */
static size_t count_of(void *inst, const char *sel)
{
    struct ignis_selector s;
    char err[256];
    if (ignis_selector_parse(sel, strlen(sel), &s, err, sizeof err) < 0)
        fail_msg("%s: %s", sel, err);
    struct ignis_querier *q = ops->querier(inst, INT64_MIN, INT64_MAX);
    struct ignis_series_set *set;
    assert_int_equal(ops->select(q, s.matchers, s.n, NULL, &set), 0);
    struct ignis_series ser;
    size_t n = 0;
    while (ops->set_next(set, &ser) == 1) {
        int64_t t[64];
        double v[64];
        struct ignis_sample_batch b = {t, v, 64};
        long k;
        while ((k = ops->set_samples(set, INT64_MIN, INT64_MAX, &b)) > 0)
            n += (size_t)k;
    }
    ops->set_close(set);
    ops->querier_close(q);
    ignis_selector_free(&s);
    return n;
}

static void test_delete_clean_and_snapshot(void **state)
{
    (void)state;
    struct fx f;
    f.dir = strdup("/tmp/test_tsdb_plugin.XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    write_block(f.dir, 0, 200, true);
    fx_open_dir(&f, f.dir);
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_label up[3] = {ignis_label_make("__name__", "up"),
                                ignis_label_make("instance", "a"), ignis_label_make("job", "api")};
    uint64_t ref;
    for (int64_t t = 300; t < 400; t++)
        assert_int_equal(ops->append(a, up, 3, t * 1000, (double)t, &ref), 0);
    assert_int_equal(ops->commit(a), 0);
    assert_int_equal(count_of(f.inst, "up"), 300);
    assert_int_equal(count_of(f.inst, "old"), 200);

    /* Delete [150 s, 350 s] of up: in the block and in the head. */
    struct ignis_selector sel;
    char err[256];
    assert_int_equal(ignis_selector_parse("up", 2, &sel, err, sizeof err), 0);
    assert_int_equal(ops->delete_series(f.inst, sel.matchers, sel.n, 150000, 350000), 0);
    assert_int_equal(count_of(f.inst, "up"), 150 + 49);
    assert_int_equal(count_of(f.inst, "old"), 200);
    /* Survives a restart: the block's tombstones file and the head's WAL record. */
    fx_destroy(&f);
    fx_open_dir(&f, f.dir);
    assert_int_equal(count_of(f.inst, "up"), 150 + 49);
    assert_int_equal(count_of(f.inst, "old"), 200);

    /* Cleaning rewrites the block without the deleted samples. */
    assert_int_equal(ops->clean_tombstones(f.inst), 0);
    assert_int_equal(count_of(f.inst, "up"), 150 + 49);
    assert_int_equal(count_of(f.inst, "old"), 200);
    DIR *d = opendir(f.dir);
    struct dirent *de;
    int nblocks = 0;
    while ((de = readdir(d)))
        if (ulid_valid(de->d_name)) {
            char bd[4300];
            snprintf(bd, sizeof bd, "%s/%s", f.dir, de->d_name);
            struct tombstones t;
            assert_int_equal(tombstones_read(bd, &t, err, sizeof err), 0);
            assert_int_equal(t.n, 0);
            tombstones_free(&t);
            nblocks++;
        }
    closedir(d);
    assert_int_equal(nblocks, 1); /* the old one is gone */

    /* A snapshot holds the blocks and the head; opened on its own it reads the same. */
    char snaps[4300], name[128];
    snprintf(snaps, sizeof snaps, "%s/snapshots", f.dir);
    assert_int_equal(ops->snapshot(f.inst, snaps, false, name, sizeof name), 0);
    assert_int_equal(strlen(name), 16 + 1 + 16);
    struct fx g;
    g.dir = malloc(4500);
    snprintf(g.dir, 4500, "%s/%s", snaps, name);
    fx_open_dir(&g, g.dir);
    assert_int_equal(count_of(g.inst, "up"), 150 + 49);
    assert_int_equal(count_of(g.inst, "old"), 200);
    fx_destroy(&g);
    free(g.dir);
    ignis_selector_free(&sel);
    fx_close(&f);
}

static void open_ex(struct fx *f, const char *max)
{
    char err[256] = "";
    f->th = testhost_new("tsdb-ex");
    struct ignis_config *cfg = ignis_config_new(plug->options, "test.conf");
    assert_int_equal(ignis_config_set(cfg, "path", f->dir, "t:1", err, sizeof err), 0);
    if (max)
        assert_int_equal(ignis_config_set(cfg, "max_exemplars", max, "t:2", err, sizeof err),
                         0);
    if (ops->create(testhost_host(f->th), cfg, &f->inst, err, sizeof err) != 0)
        fail_msg("create: %s", err);
    ignis_config_free(cfg);
}

struct exs {
    char got[8][64];
    size_t n;
};
static void collect_ex(void *arg, const struct ignis_label *ls, size_t nls,
                       const struct ignis_exemplar *e)
{
    struct exs *x = arg;
    assert_true(x->n < 8);
    const struct ignis_label *job = ignis_labels_get(ls, nls, "job", 3);
    assert_non_null(job);
    snprintf(x->got[x->n++], 64, "%.*s@%lld=%g/%.*s", (int)job->value_len, job->value,
             (long long)e->t, e->value, e->nlabels ? (int)e->labels[0].value_len : 0,
             e->nlabels ? e->labels[0].value : "");
}

static void test_exemplars(void **state)
{
    (void)state;
    struct fx f;
    f.dir = strdup("/tmp/test_tsdb_plugin.XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    open_ex(&f, NULL); /* off by default */
    struct ignis_appender *a = ops->appender(f.inst);
    struct ignis_label la[2] = {ignis_label_make("__name__", "req"), ignis_label_make("job", "a")};
    struct ignis_label lb[2] = {ignis_label_make("__name__", "req"), ignis_label_make("job", "b")};
    uint64_t ra, rb;
    assert_int_equal(ops->append(a, la, 2, 1000, 1, &ra), 0);
    assert_int_equal(ops->append(a, lb, 2, 1000, 1, &rb), 0);
    struct ignis_label tid[1] = {ignis_label_make("trace_id", "t1")};
    struct ignis_exemplar e = {tid, 1, 0.5, 1000};
    assert_int_equal(ops->append_exemplar(a, ra, &e), IGNIS_E_NOTSUP);
    assert_int_equal(ops->commit(a), 0);
    struct exs got = {0};
    assert_int_equal(ops->exemplars(f.inst, NULL, 0, INT64_MIN, INT64_MAX, collect_ex, &got),
                     IGNIS_E_NOTSUP);
    fx_destroy(&f);

    open_ex(&f, "3");
    a = ops->appender(f.inst);
    struct ignis_label t2[1] = {ignis_label_make("trace_id", "t2")};
    struct ignis_label t3[1] = {ignis_label_make("trace_id", "t3")};
    struct ignis_exemplar e1 = {tid, 1, 0.5, 1000}, e2 = {t2, 1, 0.7, 2000},
                          e3 = {t3, 1, 0.9, 1500};
    assert_int_equal(ops->append_exemplar(a, ra, &e1), 0);
    assert_int_equal(ops->append_exemplar(a, rb, &e3), 0);
    assert_int_equal(ops->append_exemplar(a, 999999, &e1), IGNIS_E_REF_GONE);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    struct ignis_label bl[1] = {ignis_label_make("trace_id", big)};
    struct ignis_exemplar eb = {bl, 1, 1, 3000};
    assert_int_equal(ops->append_exemplar(a, ra, &eb), IGNIS_E_INVALID); /* > 128 runes */
    assert_int_equal(ops->commit(a), 0);
    a = ops->appender(f.inst);
    assert_int_equal(ops->append_exemplar(a, ra, &e1), 0);  /* the same again: kept once */
    struct ignis_exemplar old = {t2, 1, 0.1, 500};
    assert_int_equal(ops->append_exemplar(a, ra, &old), IGNIS_E_OUT_OF_ORDER);
    assert_int_equal(ops->append_exemplar(a, ra, &e2), 0);
    assert_int_equal(ops->commit(a), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(ops->exemplars(f.inst, NULL, 0, INT64_MIN, INT64_MAX, collect_ex, &got), 0);
    assert_int_equal(got.n, 3);
    assert_string_equal(got.got[0], "a@1000=0.5/t1");
    assert_string_equal(got.got[1], "a@2000=0.7/t2");
    assert_string_equal(got.got[2], "b@1500=0.9/t3");
    /* A time range and a matcher. */
    struct ignis_selector sel;
    char err[256];
    assert_int_equal(ignis_selector_parse("req{job=\"a\"}", 12, &sel, err, sizeof err), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(ops->exemplars(f.inst, sel.matchers, sel.n, 1500, 3000, collect_ex, &got), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.got[0], "a@2000=0.7/t2");
    ignis_selector_free(&sel);
    /* A fourth pushes the oldest out of the ring of 3. */
    a = ops->appender(f.inst);
    struct ignis_exemplar e4 = {t3, 1, 1.5, 2500};
    assert_int_equal(ops->append_exemplar(a, rb, &e4), 0);
    assert_int_equal(ops->commit(a), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(ops->exemplars(f.inst, NULL, 0, INT64_MIN, INT64_MAX, collect_ex, &got), 0);
    assert_int_equal(got.n, 3);
    assert_string_equal(got.got[0], "a@2000=0.7/t2");
    fx_destroy(&f);
    /* The WAL brings them back (bounded by the ring again). */
    open_ex(&f, "3");
    memset(&got, 0, sizeof got);
    assert_int_equal(ops->exemplars(f.inst, NULL, 0, INT64_MIN, INT64_MAX, collect_ex, &got), 0);
    assert_int_equal(got.n, 3);
    assert_string_equal(got.got[0], "a@2000=0.7/t2");
    assert_string_equal(got.got[1], "b@1500=0.9/t3");
    assert_string_equal(got.got[2], "b@2500=1.5/t3");
    fx_close(&f);
}

struct cap {
    char fam[128];
    double appended, series, blocks;
    int seen;
};
static int cap_family(void *impl, const char *name, enum ignis_metric_type type,
                      const char *help, const char *unit)
{
    struct cap *c = impl;
    snprintf(c->fam, sizeof c->fam, "%s", name);
    return 0;
}
static int cap_sample(void *impl, const char *suffix, const struct ignis_label *ls, size_t n,
                      double value, int64_t ts_ms)
{
    struct cap *c = impl;
    if (!strcmp(c->fam, "prometheus_tsdb_head_samples_appended")) {
        assert_int_equal(n, 1);
        assert_memory_equal(ls[0].value, "float", 5);
        c->appended = value;
        c->seen++;
    } else if (!strcmp(c->fam, "prometheus_tsdb_head_series")) {
        c->series = value;
        c->seen++;
    } else if (!strcmp(c->fam, "prometheus_tsdb_blocks_loaded")) {
        c->blocks = value;
        c->seen++;
    }
    return 0;
}

static void test_self_metrics(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    uint64_t refs[6];
    load(&f, 1000000, refs);
    static const struct ignis_sink_ops sops = {sizeof sops, cap_family, cap_sample};
    struct cap c = {0};
    struct ignis_sink *sink = ignis_sink_new(&sops, &c);
    const struct ignis_host *host = testhost_host(f.th);
    assert_int_equal(ignis_registry_write(host->registry(host), sink), 0);
    ignis_sink_free(sink);
    assert_int_equal(c.seen, 3);
    assert_true(c.appended == 6 * 300);
    assert_true(c.series == 6);
    assert_true(c.blocks == 0);
    fx_close(&f);
    /* Destroyed: the collector is gone from the registry. */
    struct cap d = {0};
    sink = ignis_sink_new(&sops, &d);
    assert_int_equal(ignis_registry_write(ignis_registry_default(), sink), 0);
    ignis_sink_free(sink);
    assert_int_equal(d.seen, 0);
}

static void test_bad_options_refused(void **state)
{
    (void)state;
    char err[256] = "";
    struct testhost *th = testhost_new("bad");
    struct ignis_config *cfg = ignis_config_new(plug->options, "bad.conf");
    assert_int_equal(ignis_config_set(cfg, "path", "", "bad.conf:3", err, sizeof err), 0);
    void *inst;
    assert_int_not_equal(ops->create(testhost_host(th), cfg, &inst, err, sizeof err), 0);
    assert_non_null(strstr(err, "bad.conf:3"));
    ignis_config_free(cfg);
    cfg = ignis_config_new(plug->options, "bad.conf");
    assert_int_equal(ignis_config_set(cfg, "path", "/tmp", "bad.conf:1", err, sizeof err), 0);
    assert_int_equal(ignis_config_set(cfg, "wal_segment_size", "1000", "bad.conf:4", err,
                                      sizeof err),
                     0);
    assert_int_not_equal(ops->create(testhost_host(th), cfg, &inst, err, sizeof err), 0);
    assert_non_null(strstr(err, "wal_segment_size"));
    ignis_config_free(cfg);
    /* A path that cannot be a directory. */
    cfg = ignis_config_new(plug->options, "bad.conf");
    assert_int_equal(ignis_config_set(cfg, "path", "/dev/null/x", "bad.conf:1", err,
                                      sizeof err),
                     0);
    assert_int_not_equal(ops->create(testhost_host(th), cfg, &inst, err, sizeof err), 0);
    ignis_config_free(cfg);
    testhost_free(th);
}

int main(void)
{
    const char *top = getenv("top_builddir");
    char path[4096];
    snprintf(path, sizeof path, "%s/plugins/storage/tsdb/.libs/tsdb.so", top ? top : ".");
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return 1;
    }
    plug = dlsym(handle, IGNIS_PLUGIN_SYMBOL);
    if (!plug || plug->kind != IGNIS_PLUGIN_STORAGE) {
        fprintf(stderr, "%s: no storage plugin descriptor\n", path);
        return 1;
    }
    ops = plug->ops;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_select_and_read),
        cmocka_unit_test(test_append_errors_and_rollback),
        cmocka_unit_test(test_querier_sees_data_as_of_creation),
        cmocka_unit_test(test_labels_and_metadata),
        cmocka_unit_test(test_data_survives_recreate),
        cmocka_unit_test(test_blocks_and_head_merged),
        cmocka_unit_test(test_compaction_persists_head_and_keeps_every_sample),
        cmocka_unit_test(test_time_retention_deletes_old_blocks),
        cmocka_unit_test(test_self_metrics),
        cmocka_unit_test(test_exemplars),
        cmocka_unit_test(test_delete_clean_and_snapshot),
        cmocka_unit_test(test_bad_options_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    /* The module is never closed, as ignisd never closes one. */
    return rc;
}
