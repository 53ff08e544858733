/* tests/unit/plugins/test_tsdb_head.c — the head: appends by labels and by ref, the
 * out-of-order and duplicate rules, matcher selection through postings, label names and
 * values, chunk cutting into chunks_head/, and a reopened directory (WAL replay and
 * mmapped chunks) holding every committed sample, a torn WAL tail included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ignis/plugin.h>

#include "chunkenc.h"
#include "enc.h"
#include "fileutil.h"
#include "head.h"
#include "index.h"
#include "wal.h"

static char *mktmp(void)
{
    char *d = strdup("/tmp/test_tsdb_head.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static struct head *open_head(const char *dir)
{
    struct head *h;
    char err[256];
    struct head_opts o = {.dir = dir};
    if (head_open(&h, &o, err, sizeof err) < 0)
        fail_msg("head_open: %s", err);
    return h;
}

/* Series i: {__name__="m<i%3>", i="<i>", parity="even|odd"}. */
static void labels_of(int i, char *name, char *val, struct ignis_label ls[3])
{
    sprintf(name, "m%d", i % 3);
    sprintf(val, "%03d", i);
    ls[0] = (struct ignis_label){"__name__", 8, name, strlen(name)};
    ls[1] = (struct ignis_label){"i", 1, val, strlen(val)};
    ls[2] = (struct ignis_label){"parity", 6, i % 2 ? "odd" : "even", i % 2 ? 3u : 4u};
}

/* Reads all samples of ref in [mint, maxt]; returns the count. */
static size_t read_samples(struct head *h, uint64_t ref, int64_t mint, int64_t maxt,
                           int64_t *ts, double *vs, size_t cap)
{
    struct head_series_view v = {0};
    assert_int_equal(head_series(h, ref, mint, maxt, &v), 0);
    size_t n = 0;
    int64_t prev = INT64_MIN;
    for (size_t c = 0; c < v.nchks; c++) {
        struct xor_it it;
        assert_int_equal(xor_it_init(&it, v.chks[c].data, v.chks[c].len), 0);
        int64_t t;
        double x;
        int k;
        while ((k = xor_it_next(&it, &t, &x)) == 1) {
            assert_true(t > prev);
            prev = t;
            if (t < mint || t > maxt)
                continue;
            assert_true(n < cap);
            ts[n] = t;
            vs[n] = x;
            n++;
        }
        assert_int_equal(k, 0);
    }
    head_series_view_free(&v);
    return n;
}

#define NS 30
#define NT 500

/* Appends NT samples to NS series in commits of one timestamp each. */
static void fill(struct head *h, uint64_t refs[NS], int64_t t0, int nt)
{
    char err[256];
    for (int k = 0; k < nt; k++) {
        struct head_app *a = head_appender(h);
        for (int i = 0; i < NS; i++) {
            int64_t t = t0 + (int64_t)k * 1000;
            double v = (double)(t / 1000) * 100 + i;
            if (k == 0 && refs[i] == 0) {
                char name[8], val[8];
                struct ignis_label ls[3];
                labels_of(i, name, val, ls);
                assert_int_equal(head_app_add(a, ls, 3, t, v, &refs[i]), 0);
            } else {
                assert_int_equal(head_app_add_ref(a, refs[i], t, v), 0);
            }
        }
        assert_int_equal(head_app_commit(a, err, sizeof err), 0);
    }
}

static void check_all(struct head *h, uint64_t refs[NS], int64_t t0, int nt)
{
    static int64_t ts[NT * 4];
    static double vs[NT * 4];
    for (int i = 0; i < NS; i++) {
        size_t n = read_samples(h, refs[i], INT64_MIN, INT64_MAX, ts, vs, NT * 4);
        assert_int_equal(n, (size_t)nt);
        for (int k = 0; k < nt; k++) {
            assert_int_equal(ts[k], t0 + (int64_t)k * 1000);
            assert_true(vs[k] == (double)(ts[k] / 1000) * 100 + i);
        }
    }
}

static void test_head_append_and_read_in_memory(void **state)
{
    (void)state;
    struct head *h = open_head(NULL);
    uint64_t refs[NS] = {0};
    fill(h, refs, 1700000000000, NT);
    check_all(h, refs, 1700000000000, NT);
    struct head_stats st;
    head_stats(h, &st);
    assert_int_equal(st.series, NS);
    assert_int_equal(st.samples_appended, NS * NT);
    assert_int_equal(st.mint, 1700000000000);
    assert_int_equal(st.maxt, 1700000000000 + (NT - 1) * 1000);
    /* 500 samples: cut at 120 (and at the 2h range boundary, not reached here). */
    assert_int_equal(st.chunks, NS * 5);
    /* A range read returns only the samples inside it. */
    int64_t ts[NT];
    double vs[NT];
    size_t n = read_samples(h, refs[4], 1700000010000, 1700000019999, ts, vs, NT);
    assert_int_equal(n, 10);
    assert_int_equal(ts[0], 1700000010000);
    head_close(h);
}

static void test_head_append_rules(void **state)
{
    (void)state;
    struct head *h = open_head(NULL);
    char err[256];
    struct ignis_label ls[2] = {{"__name__", 8, "up", 2}, {"job", 3, "a", 1}};
    uint64_t ref;
    struct head_app *a = head_appender(h);
    assert_int_equal(head_app_add(a, ls, 2, 1000, 1, &ref), 0);
    assert_int_equal(head_app_commit(a, err, sizeof err), 0);
    a = head_appender(h);
    /* Older: out of order; same time, other value: duplicate; same value: accepted. */
    assert_int_equal(head_app_add_ref(a, ref, 999, 1), IGNIS_E_OUT_OF_ORDER);
    assert_int_equal(head_app_add_ref(a, ref, 1000, 2), IGNIS_E_DUP_TS);
    assert_int_equal(head_app_add_ref(a, ref, 1000, 1), 0);
    assert_int_equal(head_app_add_ref(a, ref + 100, 2000, 1), IGNIS_E_REF_GONE);
    uint64_t ref2;
    assert_int_equal(head_app_add(a, ls, 2, 2000, 5, &ref2), 0);
    assert_int_equal(ref2, ref); /* the same series */
    assert_int_equal(head_app_commit(a, err, sizeof err), 0);
    int64_t ts[4];
    double vs[4];
    assert_int_equal(read_samples(h, ref, INT64_MIN, INT64_MAX, ts, vs, 4), 2);
    assert_int_equal(ts[1], 2000);
    struct head_stats st;
    head_stats(h, &st);
    assert_int_equal(st.out_of_order, 1);
    assert_int_equal(st.duplicates, 1);
    /* Unsorted, duplicate or empty label sets are refused; empty values are dropped. */
    struct ignis_label bad[2] = {{"b", 1, "x", 1}, {"a", 1, "y", 1}};
    a = head_appender(h);
    assert_int_equal(head_app_add(a, bad, 2, 1, 1, &ref2), IGNIS_E_INVALID);
    assert_int_equal(head_app_add(a, bad, 0, 1, 1, &ref2), IGNIS_E_INVALID);
    struct ignis_label with_empty[3] = {
        {"__name__", 8, "up", 2}, {"empty", 5, "", 0}, {"job", 3, "a", 1}};
    assert_int_equal(head_app_add(a, with_empty, 3, 3000, 7, &ref2), 0);
    assert_int_equal(ref2, ref);
    /* Rollback drops the samples. */
    head_app_rollback(a);
    assert_int_equal(read_samples(h, ref, INT64_MIN, INT64_MAX, ts, vs, 4), 2);
    head_close(h);
}

struct strs {
    char v[64][16];
    size_t n;
};
static void collect(void *arg, const char *s, size_t len)
{
    struct strs *x = arg;
    assert_true(x->n < 64 && len < 16);
    memcpy(x->v[x->n], s, len);
    x->v[x->n][len] = 0;
    x->n++;
}

static size_t select_count(struct head *h, const char *sel)
{
    struct ignis_selector s;
    char err[256];
    if (ignis_selector_parse(sel, strlen(sel), &s, err, sizeof err) < 0)
        fail_msg("%s: %s", sel, err);
    struct plist out;
    assert_int_equal(head_select(h, s.matchers, s.n, INT64_MIN, INT64_MAX, &out), 0);
    /* Sorted by labels. */
    struct head_series_view a = {0}, b = {0};
    for (size_t i = 1; i < out.n; i++) {
        assert_int_equal(head_series(h, out.v[i - 1], INT64_MIN, INT64_MAX, &a), 0);
        assert_int_equal(head_series(h, out.v[i], INT64_MIN, INT64_MAX, &b), 0);
        assert_true(tsdb_labels_cmp(a.ls, a.nls, b.ls, b.nls) < 0);
    }
    head_series_view_free(&a);
    head_series_view_free(&b);
    size_t n = out.n;
    plist_free(&out);
    ignis_selector_free(&s);
    return n;
}

static void test_head_select_and_labels(void **state)
{
    (void)state;
    struct head *h = open_head(NULL);
    uint64_t refs[NS] = {0};
    fill(h, refs, 0, 3);
    assert_int_equal(select_count(h, "m0"), 10);
    assert_int_equal(select_count(h, "{__name__=~\"m0|m1\"}"), 20);
    assert_int_equal(select_count(h, "{__name__=~\"m.*\", parity=\"odd\"}"), 15);
    assert_int_equal(select_count(h, "{__name__=~\"m.*\", parity!=\"odd\"}"), 15);
    assert_int_equal(select_count(h, "{__name__!~\"m0\", i=~\"00.\"}"), 6);
    assert_int_equal(select_count(h, "{__name__=~\".+\", nope=\"\"}"), 30);
    assert_int_equal(select_count(h, "{__name__=~\".+\", nope!=\"\"}"), 0);
    assert_int_equal(select_count(h, "{__name__=~\".+\", parity=~\"|odd\"}"), 15);
    assert_int_equal(select_count(h, "{i=~\"01.\", parity=\"even\"}"), 5);
    assert_int_equal(select_count(h, "m9"), 0);
    /* Time range: series without samples in it are left out. */
    struct plist out;
    assert_int_equal(head_select(h, NULL, 0, 5000, 6000, &out), 0);
    assert_int_equal(out.n, 0);
    plist_free(&out);
    assert_int_equal(head_select(h, NULL, 0, 2000, 2000, &out), 0);
    assert_int_equal(out.n, NS);
    plist_free(&out);

    struct strs s = {0};
    assert_int_equal(head_label_names(h, NULL, 0, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[0], "__name__");
    assert_string_equal(s.v[1], "i");
    assert_string_equal(s.v[2], "parity");
    memset(&s, 0, sizeof s);
    assert_int_equal(head_label_values(h, "__name__", 8, NULL, 0, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[2], "m2");
    struct ignis_selector sel;
    char err[256];
    assert_int_equal(ignis_selector_parse("{i=~\"00[0-3]\"}", 14, &sel, err, sizeof err), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(head_label_values(h, "parity", 6, sel.matchers, sel.n, collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.v[0], "even");
    memset(&s, 0, sizeof s);
    assert_int_equal(head_label_values(h, "__name__", 8, sel.matchers, sel.n, collect, &s), 0);
    assert_int_equal(s.n, 3);
    ignis_selector_free(&sel);
    head_close(h);
}

static void test_head_chunks_cut_at_range_boundary(void **state)
{
    (void)state;
    struct head *h = open_head(NULL);
    char err[256];
    struct ignis_label ls[1] = {{"__name__", 8, "x", 1}};
    uint64_t ref;
    /* 10 samples a minute apart straddling a 2h boundary: two chunks. */
    int64_t base = 7200000 - 5 * 60000;
    struct head_app *a = head_appender(h);
    assert_int_equal(head_app_add(a, ls, 1, base, 0, &ref), 0);
    for (int i = 1; i < 10; i++)
        assert_int_equal(head_app_add_ref(a, ref, base + i * 60000, i), 0);
    assert_int_equal(head_app_commit(a, err, sizeof err), 0);
    struct head_series_view v = {0};
    assert_int_equal(head_series(h, ref, INT64_MIN, INT64_MAX, &v), 0);
    assert_int_equal(v.nchks, 2);
    assert_int_equal(v.chks[0].maxt, 7200000 - 60000);
    assert_int_equal(v.chks[1].mint, 7200000);
    head_series_view_free(&v);
    head_close(h);
}

static void test_head_persists_across_reopen(void **state)
{
    (void)state;
    char *dir = mktmp();
    uint64_t refs[NS] = {0};
    struct head *h = open_head(dir);
    fill(h, refs, 1700000000000, NT);
    head_close(h);
    char path[4200];
    snprintf(path, sizeof path, "%s/chunks_head/000001", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 8); /* full chunks went to disk */

    h = open_head(dir);
    struct head_stats hs;
    head_stats(h, &hs);
    assert_int_equal(hs.series, NS);
    check_all(h, refs, 1700000000000, NT);
    /* Refs survive: append more by the same refs, then reopen again. */
    uint64_t refs2[NS];
    memcpy(refs2, refs, sizeof refs);
    fill(h, refs2, 1700000000000 + NT * 1000, NT);
    head_close(h);
    h = open_head(dir);
    head_stats(h, &hs);
    assert_int_equal(hs.series, NS);
    check_all(h, refs, 1700000000000, 2 * NT);
    head_close(h);
    rm_rf(dir);
    free(dir);
}

static void test_head_torn_wal_tail_keeps_earlier_commits(void **state)
{
    (void)state;
    char *dir = mktmp();
    uint64_t refs[NS] = {0};
    struct head *h = open_head(dir);
    fill(h, refs, 0, 20);
    head_close(h);
    /* Cut the newest segment's last 10 bytes: the last commit is torn. */
    char waldir[4200];
    snprintf(waldir, sizeof waldir, "%s/wal", dir);
    int *nums;
    int n = wal_segments(waldir, &nums);
    assert_true(n >= 1);
    char seg[4300];
    snprintf(seg, sizeof seg, "%s/%08d", waldir, nums[0]);
    free(nums);
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    assert_int_equal(truncate(seg, st.st_size - 10), 0);
    h = open_head(dir);
    int64_t ts[32];
    double vs[32];
    for (int i = 0; i < NS; i++)
        assert_int_equal(read_samples(h, refs[i], INT64_MIN, INT64_MAX, ts, vs, 32), 19);
    /* It goes on: a new commit after the repair survives another reopen. */
    char err[256];
    struct head_app *a = head_appender(h);
    assert_int_equal(head_app_add_ref(a, refs[0], 19000, 1), 0);
    assert_int_equal(head_app_commit(a, err, sizeof err), 0);
    head_close(h);
    h = open_head(dir);
    assert_int_equal(read_samples(h, refs[0], INT64_MIN, INT64_MAX, ts, vs, 32), 20);
    assert_int_equal(read_samples(h, refs[1], INT64_MIN, INT64_MAX, ts, vs, 32), 19);
    head_close(h);
    rm_rf(dir);
    free(dir);
}

/* After a restart whose newest sample sits in a mmapped chunk (the WAL's later record
 * torn off), duplicates at that time are still told apart by value. */
static void test_head_duplicate_check_after_replay_of_mmapped_chunk(void **state)
{
    (void)state;
    char *dir = mktmp();
    char err[256];
    struct head *h = open_head(dir);
    struct ignis_label ls[1] = {{"__name__", 8, "x", 1}};
    uint64_t ref;
    struct head_app *a = head_appender(h);
    assert_int_equal(head_app_add(a, ls, 1, 0, 0.5, &ref), 0);
    for (int i = 1; i < 120; i++)
        assert_int_equal(head_app_add_ref(a, ref, i * 1000, i + 0.5), 0);
    assert_int_equal(head_app_commit(a, err, sizeof err), 0);
    a = head_appender(h); /* the 121st cuts the full chunk to chunks_head/ */
    assert_int_equal(head_app_add_ref(a, ref, 120000, 120.5), 0);
    assert_int_equal(head_app_commit(a, err, sizeof err), 0);
    head_close(h);
    char waldir[4200], seg[4300];
    snprintf(waldir, sizeof waldir, "%s/wal", dir);
    int *nums;
    assert_true(wal_segments(waldir, &nums) >= 1);
    snprintf(seg, sizeof seg, "%s/%08d", waldir, nums[0]);
    free(nums);
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    assert_int_equal(truncate(seg, st.st_size - 5), 0); /* the last commit is torn */
    h = open_head(dir);
    int64_t ts[200];
    double vs[200];
    assert_int_equal(read_samples(h, ref, INT64_MIN, INT64_MAX, ts, vs, 200), 120);
    a = head_appender(h);
    assert_int_equal(head_app_add_ref(a, ref, 119000, 119.5), 0);           /* identical */
    assert_int_equal(head_app_add_ref(a, ref, 119000, 7), IGNIS_E_DUP_TS);  /* other value */
    assert_int_equal(head_app_add_ref(a, ref, 118000, 118.5), IGNIS_E_OUT_OF_ORDER);
    assert_int_equal(head_app_add_ref(a, ref, 120000, 1), 0);
    assert_int_equal(head_app_commit(a, err, sizeof err), 0);
    assert_int_equal(read_samples(h, ref, INT64_MIN, INT64_MAX, ts, vs, 200), 121);
    head_close(h);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_append_and_read_in_memory),
        cmocka_unit_test(test_head_append_rules),
        cmocka_unit_test(test_head_select_and_labels),
        cmocka_unit_test(test_head_chunks_cut_at_range_boundary),
        cmocka_unit_test(test_head_persists_across_reopen),
        cmocka_unit_test(test_head_torn_wal_tail_keeps_earlier_commits),
        cmocka_unit_test(test_head_duplicate_check_after_replay_of_mmapped_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
