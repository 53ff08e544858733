/* tests/unit/sdk/test_metrics_summary.c — summaries: quantile estimates within their
 * error bounds on a known distribution, the sliding window, sum and count. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ignis/metrics.h>

static int64_t fake_now;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now;
}

static const struct ignis_quantile objectives[] = {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};

static struct ignis_summary *make(struct ignis_registry *r, int64_t max_age)
{
    return ignis_summary_new(r, &(struct ignis_metric_opts){
        .name = "rpc_duration_seconds", .help = "RPC.", .quantiles = objectives, .nquantiles = 3,
        .max_age_ms = max_age, .clock_ms = fake_clock}, NULL, 0);
}

/* A permutation of 1..n (fixed seed), so the true quantile q is q * n. */
static void shuffled(int *v, int n)
{
    for (int i = 0; i < n; i++)
        v[i] = i + 1;
    uint32_t x = 12345;
    for (int i = n - 1; i > 0; i--) {
        x = x * 1664525u + 1013904223u;
        int j = (int)(x % (uint32_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static void quantiles_within_error_bounds(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    fake_now = 1000;
    struct ignis_summary *s = make(r, 0);
    assert_non_null(s);
    assert_true(isnan(ignis_summary_quantile(s, 0.5))); /* empty window */
    enum { N = 100000 };
    int *v = malloc(N * sizeof *v);
    shuffled(v, N);
    double sum = 0;
    for (int i = 0; i < N; i++) {
        ignis_summary_observe(s, v[i]);
        sum += v[i];
    }
    free(v);
    for (int k = 0; k < 3; k++) {
        double q = objectives[k].q, e = objectives[k].err;
        double got = ignis_summary_quantile(s, q);
        /* rank error at most e * N: the value (= its rank here) within that */
        if (!(got >= (q - e) * N && got <= (q + e) * N))
            fail_msg("q%.2f = %g, want within [%g, %g]", q, got, (q - e) * N, (q + e) * N);
    }
    assert_true(isnan(ignis_summary_quantile(s, 0.75))); /* not an objective */
    assert_int_equal(ignis_summary_count(s), N);
    assert_true(ignis_summary_sum(s) == sum);
    ignis_registry_free(r);
}

static void window_forgets_old_observations(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    fake_now = 0;
    struct ignis_summary *s = make(r, 10000); /* 10 s in 5 buckets of 2 s */
    for (int i = 0; i < 1000; i++)
        ignis_summary_observe(s, 1000 + i % 10);
    fake_now = 5000;
    assert_true(ignis_summary_quantile(s, 0.5) >= 1000);
    /* after max_age, only what came since counts */
    fake_now = 11000;
    for (int i = 0; i < 1000; i++)
        ignis_summary_observe(s, i % 10);
    double q = ignis_summary_quantile(s, 0.99);
    assert_true(q < 10);
    /* and with nothing new for longer than max_age the window is empty */
    fake_now = 30000;
    assert_true(isnan(ignis_summary_quantile(s, 0.5)));
    /* sum and count are for all time */
    assert_int_equal(ignis_summary_count(s), 2000);
    ignis_registry_free(r);
}

static void summary_without_objectives(void **state)
{
    (void)state;
    struct ignis_registry *r = ignis_registry_new();
    struct ignis_summary_vec *v = ignis_summary_vec_new(r, &(struct ignis_metric_opts){
        .name = "sz", .help = "S.", .label_names = (const char *[]){"k"}, .nlabels = 1}, NULL, 0);
    assert_non_null(v);
    struct ignis_summary *s = ignis_summary_vec_with(v, "a");
    ignis_summary_observe(s, 2);
    ignis_summary_observe(s, 3.5);
    ignis_summary_observe(s, NAN);
    assert_int_equal(ignis_summary_count(s), 2);
    assert_true(ignis_summary_sum(s) == 5.5);
    assert_true(isnan(ignis_summary_quantile(s, 0.5)));
    assert_true(ignis_summary_created(s) > 1e9);
    ignis_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantiles_within_error_bounds),
        cmocka_unit_test(window_forgets_old_observations),
        cmocka_unit_test(summary_without_objectives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
