/* tests/unit/plugins/test_file_sd.c — the `file` discovery plugin. The module is loaded as
 * ignisd loads it (dlopen, its `ignis_plugin` descriptor) and driven through its ops
 * table on the shared test host, with real files in a temporary directory and the event
 * loop run against a deadline; the parsers (parse.c) are also tested directly, table by
 * table, for the format rules Prometheus' file_sd_config has. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <ignis/config.h>
#include <ignis/plugin.h>

#include "file_sd.h"
#include "testhost.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* How long a test waits for the plugin to notice a change (inotify, then a short
 * debounce): generous, since the machine is shared; a pass takes milliseconds. */
#define DEADLINE_MS 5000
#define MAX_SOURCES 64

static void *handle;
static const struct ignis_plugin *plug;
static const struct ignis_discovery_ops *ops;

/* ---- what the plugin emitted, by source --------------------------------------------- */

struct seen {
    char *source[MAX_SOURCES];
    char *group[MAX_SOURCES]; /* canonical text; "" for an empty (clearing) group */
    size_t n;
    size_t emits;  /* emit calls */
    size_t groups; /* groups over all calls */
};

static void canon(char *buf, size_t len, const struct ignis_target_group *g)
{
    size_t o = 0;
    buf[0] = '\0';
    if (g->nlabels == 0 && g->ntargets == 0)
        return;
    o += (size_t)snprintf(buf + o, len - o, "{");
    for (size_t i = 0; i < g->nlabels && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%.*s=\"%.*s\"", i ? "," : "",
                              (int)g->labels[i].name_len, g->labels[i].name,
                              (int)g->labels[i].value_len, g->labels[i].value);
    o += (size_t)snprintf(buf + o, len - o, "} [");
    for (size_t i = 0; i < g->ntargets && o < len; i++) {
        assert_int_equal(g->ntarget_labels[i], 1);
        const struct ignis_label *t = g->targets[i];
        assert_int_equal(t->name_len, strlen("__address__"));
        assert_memory_equal(t->name, "__address__", t->name_len);
        o +=
            (size_t)snprintf(buf + o, len - o, "%s%.*s", i ? "," : "", (int)t->value_len, t->value);
    }
    if (o < len)
        snprintf(buf + o, len - o, "]");
}

static void on_emit(void *arg, const struct ignis_target_group *groups, size_t n)
{
    struct seen *s = arg;
    s->emits++;
    for (size_t i = 0; i < n; i++) {
        char buf[4096];
        canon(buf, sizeof buf, &groups[i]);
        /* labels arrive sorted */
        for (size_t k = 1; k < groups[i].nlabels; k++) {
            const struct ignis_label *a = &groups[i].labels[k - 1], *b = &groups[i].labels[k];
            size_t m = a->name_len < b->name_len ? a->name_len : b->name_len;
            int c = memcmp(a->name, b->name, m);
            assert_true(c < 0 || (c == 0 && a->name_len < b->name_len));
        }
        s->groups++;
        size_t k = 0;
        while (k < s->n && strcmp(s->source[k], groups[i].source) != 0)
            k++;
        if (k == s->n) {
            assert_true(s->n < MAX_SOURCES);
            s->source[k] = strdup(groups[i].source);
            s->n++;
        } else {
            free(s->group[k]);
        }
        s->group[k] = strdup(buf);
    }
}

/* The canonical group for a source, "" when cleared, NULL when never emitted. */
static const char *group_of(const struct seen *s, const char *source)
{
    for (size_t k = 0; k < s->n; k++)
        if (strcmp(s->source[k], source) == 0)
            return s->group[k];
    return NULL;
}

/* Sources that currently have a non-empty group. */
static size_t live_sources(const struct seen *s)
{
    size_t n = 0;
    for (size_t k = 0; k < s->n; k++)
        n += s->group[k][0] != '\0';
    return n;
}

static void seen_clear(struct seen *s)
{
    for (size_t k = 0; k < s->n; k++) {
        free(s->source[k]);
        free(s->group[k]);
    }
    memset(s, 0, sizeof *s);
}

/* ---- files ------------------------------------------------------------------------- */

static char tmpdir[256];

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* Replaces a file atomically (write aside, rename), as tools that write SD files do. */
static void put_file(const char *name, const char *content)
{
    char path[512], tmp[512];
    path_in(path, sizeof path, name);
    snprintf(tmp, sizeof tmp, "%s/.write-tmp", tmpdir);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ignis-filesd-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- driving the plugin -------------------------------------------------------------- */

struct inst {
    struct testhost *th;
    struct ignis_config *cfg;
    void *fs;
    struct seen seen;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until pred holds or the deadline passes; returns pred's last value. */
static bool run_until(struct inst *in, bool (*pred)(struct inst *, const void *), const void *arg)
{
    int64_t end = now_ms() + DEADLINE_MS;
    while (!pred(in, arg)) {
        if (now_ms() > end)
            return false;
        testhost_run(in->th, 10);
    }
    return true;
}

struct want {
    const char *source;
    const char *group; /* NULL: never emitted; "" cleared */
};

static bool has_group(struct inst *in, const void *arg)
{
    const struct want *w = arg;
    const char *g = group_of(&in->seen, w->source);
    return g && strcmp(g, w->group) == 0;
}

static bool has_errors(struct inst *in, const void *arg)
{
    return testhost_log_count(in->th, IGNIS_LOG_ERROR) >= *(const size_t *)arg;
}

static void expect_group(struct inst *in, const char *source, const char *group)
{
    struct want w = {source, group};
    if (!run_until(in, has_group, &w))
        fail_msg("source %s: got %s, want %s", source,
                 group_of(&in->seen, source) ? group_of(&in->seen, source) : "(nothing)", group);
}

/* Creates and starts an instance over the given patterns (and optional settings). */
static void inst_start(struct inst *in, const char *const *patterns, size_t n, const char *max_size,
                       int64_t max_targets)
{
    memset(in, 0, sizeof *in);
    in->th = testhost_new("job/file/0");
    assert_non_null(in->th);
    in->cfg = ignis_config_new(plug->options, "test.conf:1");
    assert_non_null(in->cfg);
    char err[512];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ignis_config_add_string(in->cfg, "files", patterns[i], "test.conf:2"), 0);
    if (max_size)
        assert_int_equal(
            ignis_config_set(in->cfg, "max_file_size", max_size, "test.conf:3", err, sizeof err),
            0);
    if (max_targets >= 0)
        assert_int_equal(ignis_config_set_int(in->cfg, "max_targets", max_targets, "test.conf:4"),
                         0);
    err[0] = '\0';
    int rc = ops->create(testhost_host(in->th), in->cfg, &in->fs, err, sizeof err);
    if (rc != 0)
        fail_msg("create: %s", err);
    assert_int_equal(ops->start(in->fs, on_emit, &in->seen), 0);
}

static void inst_stop(struct inst *in)
{
    ops->stop(in->fs);
    ops->destroy(in->fs);
    ignis_config_free(in->cfg);
    testhost_free(in->th);
    seen_clear(&in->seen);
}

static const char *P(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    path_in(buf[k], sizeof buf[k], name);
    return buf[k];
}

/* The canonical text of a group with the file's __meta_filepath. */
static const char *G(const char *file, const char *labels_before, const char *labels_after,
                     const char *targets)
{
    static char buf[8][2048];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "{%s%s__meta_filepath=\"%s\"%s%s} [%s]", labels_before,
             *labels_before ? "," : "", P(file), *labels_after ? "," : "", labels_after, targets);
    return buf[k];
}

static const char *S(const char *file, int i)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s:%d", P(file), i);
    return buf[k];
}

/* ---- the module ------------------------------------------------------------------------ */

static void test_descriptor(void **state)
{
    (void)state;
    assert_int_equal(plug->abi.major, IGNIS_ABI_MAJOR);
    assert_int_equal(plug->kind, IGNIS_PLUGIN_DISCOVERY);
    assert_string_equal(plug->name, "file");
    assert_true(ops->size >= sizeof *ops);
    const struct ignis_option *files = NULL, *ri = NULL;
    for (const struct ignis_option *o = plug->options; o->name; o++) {
        if (strcmp(o->name, "files") == 0)
            files = o;
        if (strcmp(o->name, "refresh_interval") == 0)
            ri = o;
    }
    assert_non_null(files);
    assert_int_equal(files->type, IGNIS_OPT_STRINGS);
    assert_true(files->flags & IGNIS_OPT_REQUIRED);
    assert_non_null(ri);
    assert_int_equal(ri->type, IGNIS_OPT_DURATION);
    assert_string_equal(ri->def, "5m");
}

static void test_create_rejects_bad_patterns(void **state)
{
    (void)state;
    const char *bad[] = {"targets.txt", "a/*/b.json", "a/**.json",
                         "a/x*y*.yml",  "noext",      "a.json/b"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        struct testhost *th = testhost_new("bad");
        struct ignis_config *cfg = ignis_config_new(plug->options, "bad.conf:7");
        assert_int_equal(ignis_config_add_string(cfg, "files", bad[i], "bad.conf:8"), 0);
        char err[512] = "";
        void *fs = NULL;
        if (ops->create(testhost_host(th), cfg, &fs, err, sizeof err) == 0)
            fail_msg("%s: accepted", bad[i]);
        assert_non_null(strstr(err, "is not valid for file discovery"));
        assert_non_null(strstr(err, bad[i]));
        ignis_config_free(cfg);
        testhost_free(th);
    }
    const char *good[] = {"t.json", "dir/tg_*.json", "/abs/*.yaml", "x.YML", "a/b/*", "a/b/*.JSON"};
    for (size_t i = 0; i < COUNT(good); i++) {
        if (strcmp(good[i], "a/b/*") == 0) {
            assert_false(fsd_pattern_valid(good[i]));
            continue;
        }
        assert_true(fsd_pattern_valid(good[i]));
    }
    /* no files at all */
    struct testhost *th = testhost_new("none");
    struct ignis_config *cfg = ignis_config_new(plug->options, "bad.conf:9");
    char err[512] = "";
    void *fs = NULL;
    assert_int_not_equal(ops->create(testhost_host(th), cfg, &fs, err, sizeof err), 0);
    assert_non_null(strstr(err, "files"));
    ignis_config_free(cfg);
    testhost_free(th);
}

static void test_json_and_yaml_groups(void **state)
{
    (void)state;
    put_file("a.json", "[\n"
                       "  {\"targets\": [\"10.0.10.2:9100\", \"10.0.10.3:9100\"],\n"
                       "   \"labels\": {\"__meta_datacenter\": \"london\", \"job\": \"node\"}},\n"
                       "  {\"targets\": [\"10.0.40.2:9093\"]}\n"
                       "]\n");
    put_file("b.yml", "- targets: ['h1:80', h2:80]\n"
                      "  labels:\n"
                      "    env: prod\n"
                      "    n: 42\n"
                      "    yes: true\n"
                      "- targets:\n"
                      "  labels: {only: labels}\n");
    struct inst in;
    const char *pats[] = {P("*.json"), P("*.yml")};
    inst_start(&in, pats, 2, NULL, -1);
    expect_group(&in, S("a.json", 0),
                 G("a.json", "__meta_datacenter=\"london\"", "job=\"node\"",
                   "10.0.10.2:9100,10.0.10.3:9100"));
    expect_group(&in, S("a.json", 1), G("a.json", "", "", "10.0.40.2:9093"));
    expect_group(&in, S("b.yml", 0),
                 G("b.yml", "", "env=\"prod\",n=\"42\",yes=\"true\"", "h1:80,h2:80"));
    expect_group(&in, S("b.yml", 1), G("b.yml", "", "only=\"labels\"", ""));
    assert_int_equal(in.seen.n, 4);
    assert_int_equal(testhost_log_count(in.th, IGNIS_LOG_ERROR), 0);
    inst_stop(&in);
    unlink(P("a.json"));
    unlink(P("b.yml"));
}

static void test_glob_matching(void **state)
{
    (void)state;
    mkdir(P("sub"), 0755);
    put_file("sub/tg_1.json", "[{\"targets\": [\"one:1\"]}]");
    put_file("sub/tg_2.json", "[{\"targets\": [\"two:2\"]}]");
    put_file("sub/.tg_hidden.json", "[{\"targets\": [\"hidden:3\"]}]"); /* Go's * matches dots */
    put_file("sub/other.json", "[{\"targets\": [\"other:4\"]}]");
    put_file("sub/tg_3.yaml", "[{targets: [three:5]}]");
    struct inst in;
    const char *pats[] = {P("sub/tg_*.json"), P("sub/*.yaml"), P("sub/tg_1.json")};
    inst_start(&in, pats, 3, NULL, -1);
    expect_group(&in, S("sub/tg_1.json", 0), G("sub/tg_1.json", "", "", "one:1"));
    expect_group(&in, S("sub/tg_2.json", 0), G("sub/tg_2.json", "", "", "two:2"));
    expect_group(&in, S("sub/tg_3.yaml", 0), G("sub/tg_3.yaml", "", "", "three:5"));
    testhost_run(in.th, 50);
    assert_null(group_of(&in.seen, S("sub/other.json", 0)));
    assert_null(group_of(&in.seen, S("sub/.tg_hidden.json", 0)));
    assert_int_equal(in.seen.n, 3);
    /* a file matched by two patterns is emitted once */
    assert_int_equal(in.seen.groups, 3);
    inst_stop(&in);

    struct inst in2;
    const char *pats2[] = {P("sub/*.json")};
    inst_start(&in2, pats2, 1, NULL, -1);
    expect_group(&in2, S("sub/.tg_hidden.json", 0), G("sub/.tg_hidden.json", "", "", "hidden:3"));
    expect_group(&in2, S("sub/other.json", 0), G("sub/other.json", "", "", "other:4"));
    assert_int_equal(in2.seen.n, 4);
    inst_stop(&in2);
}

static void test_change_reemitted_and_shrink_cleared(void **state)
{
    (void)state;
    put_file("c.json", "[{\"targets\": [\"a:1\"]}, {\"targets\": [\"b:1\"]}]");
    struct inst in;
    const char *pats[] = {P("c.json")};
    inst_start(&in, pats, 1, NULL, -1);
    expect_group(&in, S("c.json", 1), G("c.json", "", "", "b:1"));
    size_t emits = in.seen.emits;
    /* one group now, with a new target: group 0 changes, group 1 is cleared */
    put_file("c.json", "[{\"targets\": [\"a:1\", \"a:2\"], \"labels\": {\"x\": \"y\"}}]");
    expect_group(&in, S("c.json", 0), G("c.json", "", "x=\"y\"", "a:1,a:2"));
    expect_group(&in, S("c.json", 1), "");
    assert_true(in.seen.emits > emits);
    /* rewriting the same content emits nothing */
    emits = in.seen.emits;
    put_file("c.json", "[{\"targets\": [\"a:1\", \"a:2\"], \"labels\": {\"x\": \"y\"}}]");
    testhost_run(in.th, 200);
    assert_int_equal(testhost_fire_timers(in.th), 1);
    assert_int_equal(in.seen.emits, emits);
    inst_stop(&in);
    unlink(P("c.json"));
}

static void test_refresh_interval_fallback(void **state)
{
    (void)state;
    put_file("d.json", "[{\"targets\": [\"old:1\"]}]");
    struct inst in;
    const char *pats[] = {P("d.json")};
    inst_start(&in, pats, 1, NULL, -1);
    expect_group(&in, S("d.json", 0), G("d.json", "", "", "old:1"));
    /* the loop is not run, so inotify's news wait: the refresh timer alone re-reads */
    put_file("d.json", "[{\"targets\": [\"new:1\"]}]");
    assert_int_equal(testhost_ntimers(in.th), 1);
    assert_int_equal(testhost_fire_timers(in.th), 1);
    const char *g = group_of(&in.seen, S("d.json", 0));
    assert_non_null(g);
    assert_string_equal(g, G("d.json", "", "", "new:1"));
    inst_stop(&in);
    unlink(P("d.json"));
}

static void test_broken_file_keeps_targets(void **state)
{
    (void)state;
    put_file("e.json", "[{\"targets\": [\"keep:1\"]}]");
    put_file("f.yml", "- targets: [keep:2]\n");
    struct inst in;
    const char *pats[] = {P("e.json"), P("f.yml")};
    inst_start(&in, pats, 2, NULL, -1);
    expect_group(&in, S("e.json", 0), G("e.json", "", "", "keep:1"));
    expect_group(&in, S("f.yml", 0), G("f.yml", "", "", "keep:2"));
    size_t groups = in.seen.groups;
    size_t errs = testhost_log_count(in.th, IGNIS_LOG_ERROR);
    put_file("e.json", "[{\"targets\": [\"half");
    size_t want = errs + 1;
    assert_true(run_until(&in, has_errors, &want));
    put_file("f.yml", "- targets: [keep:2]\n  labels: {a: b}\n  bogus: 1\n");
    want = errs + 2;
    assert_true(run_until(&in, has_errors, &want));
    testhost_run(in.th, 50);
    assert_int_equal(in.seen.groups, groups); /* nothing emitted, nothing cleared */
    assert_string_equal(group_of(&in.seen, S("e.json", 0)), G("e.json", "", "", "keep:1"));
    assert_string_equal(group_of(&in.seen, S("f.yml", 0)), G("f.yml", "", "", "keep:2"));
    /* fixed again: the new content goes out */
    put_file("e.json", "[{\"targets\": [\"fixed:1\"]}]");
    expect_group(&in, S("e.json", 0), G("e.json", "", "", "fixed:1"));
    inst_stop(&in);
    unlink(P("e.json"));
    unlink(P("f.yml"));
}

static void test_deleted_file_cleared(void **state)
{
    (void)state;
    put_file("g.json", "[{\"targets\": [\"x:1\"]}, {\"targets\": [\"x:2\"]}]");
    put_file("h.json", "[{\"targets\": [\"y:1\"]}]");
    struct inst in;
    const char *pats[] = {P("*.json")};
    inst_start(&in, pats, 1, NULL, -1);
    expect_group(&in, S("g.json", 1), G("g.json", "", "", "x:2"));
    expect_group(&in, S("h.json", 0), G("h.json", "", "", "y:1"));
    assert_int_equal(unlink(P("g.json")), 0);
    expect_group(&in, S("g.json", 0), "");
    expect_group(&in, S("g.json", 1), "");
    assert_string_equal(group_of(&in.seen, S("h.json", 0)), G("h.json", "", "", "y:1"));
    assert_int_equal(live_sources(&in.seen), 1);
    /* a new file that matches appears */
    put_file("i.json", "[{\"targets\": [\"z:1\"]}]");
    expect_group(&in, S("i.json", 0), G("i.json", "", "", "z:1"));
    inst_stop(&in);
    unlink(P("h.json"));
    unlink(P("i.json"));
}

static void test_bad_labels_rejected(void **state)
{
    (void)state;
    put_file("j.json", "[{\"targets\": [\"ok:1\"], \"labels\": {\"good\": \"v\"}}]");
    struct inst in;
    const char *pats[] = {P("j.json")};
    inst_start(&in, pats, 1, NULL, -1);
    expect_group(&in, S("j.json", 0), G("j.json", "", "good=\"v\"", "ok:1"));
    const char *bad[] = {
        "[{\"targets\": [\"ok:1\"], \"labels\": {\"\": \"v\"}}]",     /* empty name */
        "[{\"targets\": [\"ok:1\"], \"labels\": {\"n\": 1}}]",        /* number value */
        "[{\"targets\": [\"ok:1\"], \"labels\": {\"n\": \"\xff\"}}]", /* not UTF-8 */
        "[{\"targets\": [1]}]",                                       /* target not a string */
        "[{\"targets\": \"ok:1\"}]",                                  /* not a list */
        "[null]",                                                     /* nil group */
        "{\"targets\": [\"ok:1\"]}",                                  /* not a list of groups */
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        size_t want = testhost_log_count(in.th, IGNIS_LOG_ERROR) + 1;
        put_file("j.json", bad[i]);
        if (!run_until(&in, has_errors, &want))
            fail_msg("bad file %zu was not reported", i);
    }
    testhost_run(in.th, 50);
    assert_string_equal(group_of(&in.seen, S("j.json", 0)), G("j.json", "", "good=\"v\"", "ok:1"));
    inst_stop(&in);
    unlink(P("j.json"));
}

static void test_bounds(void **state)
{
    (void)state;
    put_file("k.json", "[{\"targets\": [\"a:1\", \"a:2\", \"a:3\"]}]");
    put_file(
        "l.json",
        "[{\"targets\": [\"b:1\"], \"labels\": {\"pad\": \"..............................\"}}]");
    struct inst in;
    const char *pats[] = {P("k.json"), P("l.json")};
    inst_start(&in, pats, 2, "60B", 2); /* l.json is over 60 bytes, k.json over 2 targets */
    size_t want = 2;
    assert_true(run_until(&in, has_errors, &want));
    testhost_run(in.th, 50);
    assert_int_equal(in.seen.n, 0);
    inst_stop(&in);
    unlink(P("k.json"));
    unlink(P("l.json"));
}

static void test_reconfigure_and_missing_dir(void **state)
{
    (void)state;
    put_file("m.json", "[{\"targets\": [\"m:1\"]}]");
    struct inst in;
    /* a directory that does not exist yet: watched once it appears and is refreshed */
    const char *pats[] = {P("m.json"), P("later/*.yml")};
    inst_start(&in, pats, 2, NULL, -1);
    expect_group(&in, S("m.json", 0), G("m.json", "", "", "m:1"));
    assert_int_equal(mkdir(P("later"), 0755), 0);
    put_file("later/n.yml", "- targets: [n:1]\n");
    testhost_fire_timers(in.th);
    expect_group(&in, S("later/n.yml", 0), G("later/n.yml", "", "", "n:1"));
    put_file("later/n.yml", "- targets: [n:2]\n"); /* now seen by inotify */
    expect_group(&in, S("later/n.yml", 0), G("later/n.yml", "", "", "n:2"));

    /* reconfigure to only the yml pattern: m.json's source is cleared */
    struct ignis_config *cfg = ignis_config_new(plug->options, "test.conf:9");
    assert_int_equal(ignis_config_add_string(cfg, "files", P("later/*.yml"), "test.conf:10"), 0);
    char err[256];
    assert_int_equal(ops->reconfigure(in.fs, cfg, err, sizeof err), 0);
    expect_group(&in, S("m.json", 0), "");
    assert_string_equal(group_of(&in.seen, S("later/n.yml", 0)), G("later/n.yml", "", "", "n:2"));
    /* a bad reconfigure keeps the old settings */
    struct ignis_config *bad = ignis_config_new(plug->options, "test.conf:11");
    assert_int_equal(ignis_config_add_string(bad, "files", "x.txt", "test.conf:12"), 0);
    assert_int_not_equal(ops->reconfigure(in.fs, bad, err, sizeof err), 0);
    assert_non_null(strstr(err, "x.txt"));
    put_file("later/n.yml", "- targets: [n:3]\n");
    expect_group(&in, S("later/n.yml", 0), G("later/n.yml", "", "", "n:3"));
    ignis_config_free(bad);
    ignis_config_free(cfg);
    inst_stop(&in);
    unlink(P("m.json"));
    unlink(P("later/n.yml"));
    rmdir(P("later"));
}

/* ---- the parsers, directly ----------------------------------------------------------- */

struct pcase {
    enum fsd_format fmt;
    const char *in;
    const char *want; /* groups joined by " | "; NULL: an error containing err */
    const char *err;
};

static void run_parse_cases(const struct pcase *cs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct fsd_file f;
        char err[512] = "";
        int rc = fsd_parse(cs[i].fmt, cs[i].in, strlen(cs[i].in), "p.x", 0, &f, err, sizeof err);
        if (!cs[i].want) {
            if (rc == 0)
                fail_msg("case %zu (%s): parsed, want error \"%s\"", i, cs[i].in, cs[i].err);
            if (!strstr(err, cs[i].err))
                fail_msg("case %zu (%s): error \"%s\", want \"%s\"", i, cs[i].in, err, cs[i].err);
            continue;
        }
        if (rc != 0)
            fail_msg("case %zu (%s): %s", i, cs[i].in, err);
        char got[4096];
        size_t o = 0;
        got[0] = '\0';
        for (size_t g = 0; g < f.ngroups; g++) {
            struct ignis_target_group tg = {f.groups[g].source,  f.groups[g].labels,
                                            f.groups[g].nlabels, f.groups[g].tptrs,
                                            f.groups[g].tcounts, f.groups[g].ntargets};
            char one[2048];
            canon(one, sizeof one, &tg);
            char src[32];
            snprintf(src, sizeof src, "p.x:%zu", g);
            assert_string_equal(f.groups[g].source, src);
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", g ? " | " : "", one);
        }
        if (strcmp(got, cs[i].want) != 0)
            fail_msg("case %zu (%s):\n got  %s\n want %s", i, cs[i].in, got, cs[i].want);
        fsd_file_free(&f);
    }
}

#define FP "__meta_filepath=\"p.x\""

static void test_parse_json(void **state)
{
    (void)state;
    const struct pcase cs[] = {
        {FSD_JSON, "[]", "", NULL},
        {FSD_JSON, "null", "", NULL},
        {FSD_JSON, "[{}]", "{" FP "} []", NULL},
        {FSD_JSON, "[{\"targets\": null, \"labels\": null}]", "{" FP "} []", NULL},
        {FSD_JSON, "[{\"Targets\": [\"a:1\"], \"LABELS\": {\"b\": \"c\"}}]",
         "{" FP ",b=\"c\"} [a:1]", NULL}, /* Go matches keys case-insensitively */
        {FSD_JSON, "[{\"targets\": [\"a:1\"], \"other\": {\"x\": [1, 2]}}]", "{" FP "} [a:1]",
         NULL}, /* unknown keys are ignored */
        {FSD_JSON, "[{\"labels\": {\"__meta_filepath\": \"mine\", \"a\": null}}]",
         "{" FP ",a=\"\"} []", NULL}, /* the file's path wins; null reads as "" */
        {FSD_JSON, "[{\"labels\": {\"b\": \"1\", \"b\": \"2\"}}]", "{" FP ",b=\"2\"} []", NULL},
        {FSD_JSON, "[{\"labels\": {\"k8s.io/app\": \"\xc3\xa9\", \"z\": \"\\u00e9\"}}]",
         "{" FP ",k8s.io/app=\"\xc3\xa9\",z=\"\xc3\xa9\"} []", NULL},
        {FSD_JSON, "[{\"targets\": [\"a:1\"]}, {\"targets\": [\"b:1\", \"\"]}]",
         "{" FP "} [a:1] | {" FP "} [b:1,]", NULL},
        {FSD_JSON, "", NULL, "line 1"},
        {FSD_JSON, "[\n{\"targets\": [\"a\",]}]", NULL, "line 2"},
        {FSD_JSON, "[{\"targets\": [\"a\\u0000b\"]}]", NULL, "line 1"},
        {FSD_JSON, "\"x\"", NULL, "expected a list of target groups, got a string"},
        {FSD_JSON, "[3]", NULL, "target group 0: expected an object, got a number"},
        {FSD_JSON, "[{}, null]", NULL, "target group 1: nil target group item found"},
        {FSD_JSON, "[{\"targets\": {}}]", NULL, "targets: expected a list, got an object"},
        {FSD_JSON, "[{\"targets\": [true]}]", NULL, "targets[0]: expected a string"},
        {FSD_JSON, "[{\"labels\": []}]", NULL, "labels: expected an object, got an array"},
        {FSD_JSON, "[{\"labels\": {\"a\": {}}}]", NULL, "label a: expected a string"},
        {FSD_JSON, "[{\"labels\": {\"\": \"x\"}}]", NULL, "\"\" is not a valid label name"},
        {FSD_JSON, "[\"\xff\"]", NULL, "line 1"},
    };
    run_parse_cases(cs, COUNT(cs));
}

static void test_parse_yaml(void **state)
{
    (void)state;
    const struct pcase cs[] = {
        {FSD_YAML, "", "", NULL},
        {FSD_YAML, "~\n", "", NULL},
        {FSD_YAML, "[]", "", NULL},
        {FSD_YAML, "- targets: [a:1]\n  labels: {x: '1', y: \"2\", z: 3.0, n: null}\n",
         "{" FP ",n=\"\",x=\"1\",y=\"2\",z=\"3.0\"} [a:1]", NULL},
        {FSD_YAML, "- targets:\n  - 'a:1'\n  - 8080\n  - ~\n", "{" FP "} [a:1,8080,]", NULL},
        {FSD_YAML, "- {}\n- targets: []\n", "{" FP "} [] | {" FP "} []", NULL},
        {FSD_YAML,
         "- labels: &common {dc: lon, env: prod}\n  targets: [a:1]\n"
         "- labels: *common\n  targets: [b:1]\n",
         "{" FP ",dc=\"lon\",env=\"prod\"} [a:1] | {" FP ",dc=\"lon\",env=\"prod\"} [b:1]", NULL},
        {FSD_YAML, "- labels:\n    <<: {dc: lon, env: prod}\n    env: dev\n",
         "{" FP ",dc=\"lon\",env=\"dev\"} []", NULL}, /* explicit keys win over merged */
        {FSD_YAML, "- labels:\n    <<: [{a: 1}, {a: 2, b: 2}]\n", "{" FP ",a=\"1\",b=\"2\"} []",
         NULL}, /* earlier merge sources win */
        {FSD_YAML, "- labels: {__meta_filepath: x}\n", "{" FP "} []", NULL},
        {FSD_YAML, "- labels: {\"a.b\": \"\\xe9\"}\n", "{" FP ",a.b=\"\xc3\xa9\"} []", NULL},
        {FSD_YAML, "- targets: [a:1]\n---\n- targets: [b:1]\n", "{" FP "} [a:1]", NULL},
        {FSD_YAML, "- targets: [a:1\n", NULL, "line 2"},
        {FSD_YAML, "- targets: [a]\n  bogus: 1\n", NULL, "line 2: field bogus not found"},
        {FSD_YAML, "- targets: [a]\n  targets: [b]\n", NULL,
         "line 2: mapping key \"targets\" already defined at line 1"},
        {FSD_YAML, "- labels:\n    a: 1\n    b: 2\n    a: 3\n", NULL,
         "line 4: mapping key \"a\" already defined at line 2"},
        {FSD_YAML, "targets: [a]\n", NULL, "expected a sequence of target groups, got a mapping"},
        {FSD_YAML, "- targets: [a]\n- \n", NULL, "target group 1: nil target group item found"},
        {FSD_YAML, "- [a]\n", NULL, "target group 0: expected a mapping, got a sequence"},
        {FSD_YAML, "- targets: a\n", NULL, "targets: expected a sequence, got a scalar"},
        {FSD_YAML, "- targets: [[a]]\n", NULL, "targets: expected a scalar, got a sequence"},
        {FSD_YAML, "- labels: [a]\n", NULL, "labels: expected a mapping, got a sequence"},
        {FSD_YAML, "- labels: {a: [1]}\n", NULL, "line 1: label a: expected a scalar"},
        {FSD_YAML, "- labels: {? [x] : 1}\n", NULL, "a mapping key must be a scalar"},
        {FSD_YAML, "- labels: {'': 1}\n", NULL, "line 1: target group 0: \"\" is not a valid"},
        {FSD_YAML, "- targets: [*nope]\n", NULL, "line 1"},
        {FSD_YAML, "- targets: [\"\xff\"]\n", NULL, "byte"},
        {FSD_YAML, "- labels:\n    <<: 3\n", NULL, "map merge requires map"},
    };
    run_parse_cases(cs, COUNT(cs));
}

static void test_parse_limits(void **state)
{
    (void)state;
    struct fsd_file f;
    char err[256];
    const char *j = "[{\"targets\": [\"a\", \"b\"]}, {\"targets\": [\"c\"]}]";
    assert_int_equal(fsd_parse(FSD_JSON, j, strlen(j), "p", 3, &f, err, sizeof err), 0);
    assert_int_equal(f.ntargets, 3);
    fsd_file_free(&f);
    assert_int_equal(fsd_parse(FSD_JSON, j, strlen(j), "p", 2, &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 2 targets"));
    const char *y = "- targets: [a, b]\n- targets: [c]\n";
    assert_int_equal(fsd_parse(FSD_YAML, y, strlen(y), "p", 2, &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 2 targets"));
    /* an alias bomb: each level merges ten of the one before */
    const char *bomb = "- labels: &a {x: y, z: w}\n"
                       "- labels: &b {<<: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}\n"
                       "- labels: &c {<<: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\n"
                       "- labels: &d {<<: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}\n"
                       "- labels: &e {<<: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}\n"
                       "- labels: &f {<<: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]}\n"
                       "- labels: {<<: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]}\n";
    assert_int_equal(fsd_parse(FSD_YAML, bomb, strlen(bomb), "p", 0, &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "too many nodes"));
    /* the same shape, shallow, is fine */
    const char *shared = "- labels: &a {x: y, z: w}\n"
                         "- labels: &b {<<: [*a, *a]}\n"
                         "- labels: {<<: [*b, *b]}\n";
    assert_int_equal(fsd_parse(FSD_YAML, shared, strlen(shared), "p", 0, &f, err, sizeof err), 0);
    assert_int_equal(f.ngroups, 3);
    assert_int_equal(f.groups[2].nlabels, 3);
    fsd_file_free(&f);
    /* self-referencing merges end too */
    const char *loop = "- labels: &m\n    a: 1\n    <<: *m\n";
    assert_int_equal(fsd_parse(FSD_YAML, loop, strlen(loop), "p", 0, &f, err, sizeof err), -1);
    enum fsd_format fmt;
    assert_int_equal(fsd_format_of("a/b.JSON", &fmt), 0);
    assert_int_equal(fmt, FSD_JSON);
    assert_int_equal(fsd_format_of("a.yaml", &fmt), 0);
    assert_int_equal(fmt, FSD_YAML);
    assert_int_equal(fsd_format_of("a.Yml", &fmt), 0);
    assert_int_equal(fmt, FSD_YAML);
    assert_int_equal(fsd_format_of("a.json.txt", &fmt), -1);
    assert_int_equal(fsd_format_of("x.d/file", &fmt), -1);
}

static int load_plugin(void **state)
{
    (void)state;
    const char *top = getenv("top_builddir");
    char path[4096];
    snprintf(path, sizeof path, "%s/plugins/discovery/file/.libs/file.so", top ? top : ".");
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return -1;
    }
    plug = dlsym(handle, IGNIS_PLUGIN_SYMBOL);
    if (!plug || plug->kind != IGNIS_PLUGIN_DISCOVERY || !plug->ops)
        return -1;
    ops = plug->ops;
    return setup_dir(state);
}

static int unload_plugin(void **state)
{
    int rc = teardown_dir(state);
    if (handle)
        dlclose(handle);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_create_rejects_bad_patterns),
        cmocka_unit_test(test_json_and_yaml_groups),
        cmocka_unit_test(test_glob_matching),
        cmocka_unit_test(test_change_reemitted_and_shrink_cleared),
        cmocka_unit_test(test_refresh_interval_fallback),
        cmocka_unit_test(test_broken_file_keeps_targets),
        cmocka_unit_test(test_deleted_file_cleared),
        cmocka_unit_test(test_bad_labels_rejected),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_reconfigure_and_missing_dir),
        cmocka_unit_test(test_parse_json),
        cmocka_unit_test(test_parse_yaml),
        cmocka_unit_test(test_parse_limits),
    };
    return cmocka_run_group_tests(tests, load_plugin, unload_plugin);
}
