/* tests/unit/core/test_loader.c — the plugin loader accepts a good plugin and refuses,
 * with a message naming the file and the reason, every bad one the test modules in
 * tests/plugins/ provide. */
#include <config.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugins.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = getenv("IGNIS_TEST_PLUGINS");
    if (!dir) {
        fprintf(stderr, "IGNIS_TEST_PLUGINS is not set (run through make check)\n");
        return -1;
    }
    return 0;
}

/* Loads name from the test plugin directory; returns rc and the message. */
static int load(struct ig_plugins *ps, const char *name, char *err, size_t errlen)
{
    char *dirs[] = {dir};
    err[0] = '\0';
    return ig_plugins_load(ps, name, dirs, 1, err, errlen);
}

static void expect_refusal(const char *name, const char *file, const char *reason)
{
    struct ig_plugins ps = {0};
    char err[1024];
    assert_int_equal(load(&ps, name, err, sizeof err), -1);
    if (!strstr(err, file) || !strstr(err, reason))
        fail_msg("refusal of %s: got \"%s\", want file %s and reason \"%s\"", name, err, file,
                 reason);
    assert_int_equal(ps.n, 0);
    ig_plugins_clear(&ps);
}

static void test_good_plugin_loads(void **state)
{
    (void)state;
    struct ig_plugins ps = {0};
    char err[1024];
    assert_int_equal(load(&ps, "good", err, sizeof err), 0);
    assert_int_equal(ps.n, 1);
    const struct ig_plugin *p = ig_plugins_find(&ps, "good");
    assert_non_null(p);
    assert_int_equal(p->desc->kind, IGNIS_PLUGIN_EXPORTER);
    assert_non_null(strstr(p->file, "/good.so"));
    /* Loading again is a no-op. */
    assert_int_equal(load(&ps, "good", err, sizeof err), 0);
    assert_int_equal(ps.n, 1);
    enum ignis_plugin_kind kind;
    const struct ignis_option *schema;
    assert_true(ig_plugins_schema(&ps, "good", &kind, &schema));
    assert_string_equal(schema[0].name, "greeting");
    assert_false(ig_plugins_schema(&ps, "absent", &kind, &schema));
    ig_plugins_clear(&ps);
}

static void test_refuses_missing_file(void **state)
{
    (void)state;
    expect_refusal("no_such_plugin", "no_such_plugin", "no no_such_plugin.so in");
}

static void test_refuses_missing_symbol(void **state)
{
    (void)state;
    expect_refusal("nosym", "nosym.so", "no symbol ignis_plugin");
}

static void test_refuses_other_major(void **state)
{
    (void)state;
    expect_refusal("bad_major", "bad_major.so", "major versions differ");
}

static void test_refuses_newer_minor(void **state)
{
    (void)state;
    expect_refusal("newer_minor", "newer_minor.so", "newer than this ignisd");
}

static void test_refuses_unknown_kind(void **state)
{
    (void)state;
    expect_refusal("unknown_kind", "unknown_kind.so", "unknown kind 77");
}

static void test_refuses_small_ops(void **state)
{
    (void)state;
    expect_refusal("small_ops", "small_ops.so", "ops table missing or incomplete");
}

static void test_refuses_bad_name(void **state)
{
    (void)state;
    expect_refusal("misnamed", "misnamed.so", "malformed name");
}

static void test_refuses_duplicate_name(void **state)
{
    (void)state;
    struct ig_plugins ps = {0};
    char err[1024], path[4096];
    assert_int_equal(load(&ps, "good", err, sizeof err), 0);
    /* dup_good.so also calls itself "good". */
    snprintf(path, sizeof path, "%s/dup_good.so", dir);
    assert_int_equal(load(&ps, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "dup_good.so"));
    assert_non_null(strstr(err, "duplicate name \"good\""));
    assert_int_equal(ps.n, 1);
    /* By name, the file name and the plugin's own name disagree. */
    assert_int_equal(load(&ps, "dup_good", err, sizeof err), -1);
    assert_non_null(strstr(err, "plugin calls itself good"));
    ig_plugins_clear(&ps);
}

static void test_load_all_reports_each_refusal(void **state)
{
    (void)state;
    struct ig_plugins ps = {0};
    char err[8192];
    char *dirs[] = {dir};
    int refused = ig_plugins_load_all(&ps, dirs, 1, err, sizeof err);
    /* bad_major, dup_good (after good... or good after dup_good), misnamed, newer_minor,
     * nosym, small_ops, unknown_kind: 7 refused; create_fails, fetch and one "good"
     * load. */
    assert_int_equal(refused, 7);
    assert_int_equal(ps.n, 3);
    assert_non_null(ig_plugins_find(&ps, "create_fails"));
    assert_non_null(ig_plugins_find(&ps, "fetch"));
    assert_non_null(ig_plugins_find(&ps, "good"));
    int lines = 0;
    for (char *p = err; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    assert_int_equal(lines, 7);
    ig_plugins_clear(&ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_plugin_loads),
        cmocka_unit_test(test_refuses_missing_file),
        cmocka_unit_test(test_refuses_missing_symbol),
        cmocka_unit_test(test_refuses_other_major),
        cmocka_unit_test(test_refuses_newer_minor),
        cmocka_unit_test(test_refuses_unknown_kind),
        cmocka_unit_test(test_refuses_small_ops),
        cmocka_unit_test(test_refuses_bad_name),
        cmocka_unit_test(test_refuses_duplicate_name),
        cmocka_unit_test(test_load_all_reports_each_refusal),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
