/* tests/fuzz/fuzz_config.c — fuzz target of the config reader (core/config.c): any
 * bytes as ignis.conf, validated against the core's schema and fake plugins whose
 * schemas use every option type. It must never crash, leak or hang; a load that
 * fails must say why. Built with -fsanitize=fuzzer, or with tests/fuzz/replay.c.
 * libconfig 1.5 itself leaks a string buffer on some syntax errors (strbuf_append):
 * run the fuzzer with LSAN_OPTIONS=suppressions=<file with "leak:libconfig.so">. */
#define _GNU_SOURCE 1 /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/config.h"
#include "fuzz.h"

static const struct ignis_option sub_rows[] = {
    {"d", IGNIS_OPT_DURATION, "1m", "a duration", NULL, 0},
    {"req", IGNIS_OPT_STRING, NULL, "required", NULL, IGNIS_OPT_REQUIRED},
    {0},
};
static const struct ignis_option all_rows[] = {
    {"s", IGNIS_OPT_STRING, "x", "a string", NULL, 0},
    {"i", IGNIS_OPT_INT, "1", "an int", NULL, 0},
    {"f", IGNIS_OPT_FLOAT, "0.5", "a float", NULL, 0},
    {"b", IGNIS_OPT_BOOL, "true", "a bool", NULL, 0},
    {"d", IGNIS_OPT_DURATION, "1m", "a duration", NULL, 0},
    {"z", IGNIS_OPT_SIZE, "1MB", "a size", NULL, 0},
    {"r", IGNIS_OPT_REGEX, "a.*", "a regex", NULL, 0},
    {"k", IGNIS_OPT_SECRET, NULL, "a secret", NULL, 0},
    {"ss", IGNIS_OPT_STRINGS, NULL, "strings", NULL, 0},
    {"ls", IGNIS_OPT_LABELS, NULL, "labels", NULL, 0},
    {"g", IGNIS_OPT_GROUP, NULL, "a group", sub_rows, 0},
    {"l", IGNIS_OPT_LIST, NULL, "a list", sub_rows, 0},
    {"a", IGNIS_OPT_ANY, NULL, "raw", NULL, 0},
    {0},
};

static bool fake_plugin(void *arg, const char *name, enum ignis_plugin_kind *kind,
                        const struct ignis_option **schema)
{
    (void)arg;
    static const struct {
        const char *name;
        enum ignis_plugin_kind kind;
    } known[] = {
        {"mem", IGNIS_PLUGIN_STORAGE},   {"promql", IGNIS_PLUGIN_QUERY},
        {"node", IGNIS_PLUGIN_EXPORTER}, {"file", IGNIS_PLUGIN_DISCOVERY},
        {"am", IGNIS_PLUGIN_SERVICE},    {"webhook", IGNIS_PLUGIN_NOTIFIER},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(name, known[i].name) == 0) {
            *kind = known[i].kind;
            *schema = all_rows;
            return true;
        }
    }
    return false;
}

static char dir[64], path[96];

static void remove_dir(void)
{
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An @include could name a device (/dev/zero) and read forever; what @include
     * does is libconfig's, and our part of it is covered by the unit tests. */
    if (memmem(data, size, "@include", 8) || memmem(data, size, "@INCLUDE", 8))
        return 0;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/ig-fuzz-config-%ld", (long)getpid());
        mkdir(dir, 0700);
        atexit(remove_dir);
        snprintf(path, sizeof path, "%s/ignis.conf", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);

    static char err[8192];
    struct ig_config c;
    if (ig_config_load(path, fake_plugin, NULL, &c, err, sizeof err) == 0) {
        ig_config_clear(&c);
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    struct ig_config_plugins p;
    if (ig_config_read_plugins(path, &p, err, sizeof err) == 0)
        ig_config_plugins_clear(&p);
    unlink(path);
    return 0;
}
