/* core/ignisctl.c — the command-line tool: checks configs (and, as later rooms add
 * them, metrics, rules, queries, TSDB tools, silences). Exit codes a script can rely
 * on: 0 success, 1 the thing checked is bad or the operation failed, 2 usage error. */
#include <config.h>
#include "core/core.h"
#include "core/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ignis/textparse.h>

#include "core/ignisctl_tsdb.h"

#define EXIT_BAD 1
#define EXIT_USAGE 2

struct verb {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *f);
};

static void help_check_config(FILE *f)
{
    fprintf(f, "usage: ignisctl check config [--plugin-dir DIR]... FILE...\n"
               "\n"
               "Validates each ignis.conf FILE as ignisd would: the core's settings and every\n"
               "plugin's settings against the schema the plugin declares (the plugins named in\n"
               "plugins.load are loaded from plugins.path, or from --plugin-dir when given).\n"
               "Prints SUCCESS or the errors (file:line: message) for each file.\n"
               "Exit status: 0 all valid, 1 some file invalid, 2 usage error.\n");
}

static int run_check_config(int argc, char **argv)
{
    int nchecked = 0, bad = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help_check_config(stdout);
            return 0;
        }
    }
    char *dirs[16];
    size_t ndirs = 0;
    int nfiles = 0;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files)
        return EXIT_BAD;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--plugin-dir") == 0 && i + 1 < argc && ndirs < 16) {
            dirs[ndirs++] = argv[++i];
        } else if (strncmp(argv[i], "--plugin-dir=", 13) == 0 && ndirs < 16) {
            dirs[ndirs++] = argv[i] + 13;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "ignisctl check config: unknown flag %s\n", argv[i]);
            help_check_config(stderr);
            free(files);
            return EXIT_USAGE;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    argc = nfiles;
    argv = files;
    for (int i = 0; i < argc; i++) {
        struct ig_core core;
        memset(&core, 0, sizeof core);
        core.flags.enable_admin_api = core.flags.enable_lifecycle = -1;
        for (size_t d = 0; d < ndirs; d++)
            core.flags.plugin_dirs[d] = dirs[d];
        core.flags.nplugin_dirs = ndirs;
        char err[16384];
        struct ig_config cfg;
        printf("Checking %s\n", argv[i]);
        nchecked++;
        if (ig_core_read_config(&core, argv[i], &cfg, err, sizeof err) != 0) {
            printf("  FAILED:\n");
            for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
                printf("    %s\n", line);
            bad++;
        } else {
            printf("  SUCCESS: %zu plugin instance%s\n", cfg.ninstances,
                   cfg.ninstances == 1 ? "" : "s");
            ig_config_clear(&cfg);
        }
        ig_plugins_clear(&core.plugins);
    }
    free(files);
    if (nchecked == 0) {
        fprintf(stderr, "ignisctl check config: no file given\n");
        help_check_config(stderr);
        return EXIT_USAGE;
    }
    return bad ? EXIT_BAD : 0;
}

static void help_check_metrics(FILE *f)
{
    fprintf(f, "usage: ignisctl check metrics [--openmetrics] [FILE]\n"
               "\n"
               "Checks an exposition (text format 0.0.4, or OpenMetrics 1.0 with --openmetrics or\n"
               "when FILE ends in .om.txt) read from FILE or standard input, strictly against the\n"
               "format's specification. Prints nothing when it is valid, else the first problem as\n"
               "\"line L col C: message\".\n"
               "Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.\n");
}

/* Reads all of f into a malloc'd buffer (bounded: an exposition past 1 GiB is refused). */
static char *slurp(FILE *f, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
        if (n == cap) {
            if (cap >= (1u << 30)) {
                free(buf);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static int run_check_metrics(int argc, char **argv)
{
    bool om = false;
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help_check_metrics(stdout);
            return 0;
        } else if (strcmp(argv[i], "--openmetrics") == 0) {
            om = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ignisctl check metrics: unknown flag %s\n", argv[i]);
            help_check_metrics(stderr);
            return EXIT_USAGE;
        } else if (!file) {
            file = argv[i];
        } else {
            help_check_metrics(stderr);
            return EXIT_USAGE;
        }
    }
    FILE *f = stdin;
    if (file && strcmp(file, "-") != 0) {
        f = fopen(file, "rb");
        if (!f) {
            fprintf(stderr, "ignisctl check metrics: %s: %s\n", file, strerror(errno));
            return EXIT_BAD;
        }
        size_t l = strlen(file);
        if (l > 7 && strcmp(file + l - 7, ".om.txt") == 0)
            om = true;
    }
    size_t len = 0;
    char *body = slurp(f, &len);
    if (f != stdin)
        fclose(f);
    if (!body) {
        fprintf(stderr, "ignisctl check metrics: cannot read the input\n");
        return EXIT_BAD;
    }
    struct ignis_textparse p;
    ignis_textparse_init(&p, body, len, om ? IGNIS_TEXTPARSE_OPENMETRICS : IGNIS_TEXTPARSE_PROMETHEUS,
                         IGNIS_TEXTPARSE_STRICT);
    int rc = 0;
    for (;;) {
        enum ignis_textparse_entry e = ignis_textparse_next(&p);
        if (e == IGNIS_TP_EOF)
            break;
        if (e == IGNIS_TP_ERROR) {
            printf("%s\n", ignis_textparse_error(&p));
            rc = EXIT_BAD;
            break;
        }
    }
    ignis_textparse_fini(&p);
    free(body);
    return rc;
}

static const struct verb check_verbs[] = {
    {"config", "validate ignis.conf files", run_check_config, help_check_config},
    {"metrics", "check an exposition strictly against its format", run_check_metrics,
     help_check_metrics},
};

static void help_check(FILE *f)
{
    fprintf(f, "usage: ignisctl check WHAT [args]\n\nWHAT is one of:\n");
    for (size_t i = 0; i < sizeof check_verbs / sizeof check_verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", check_verbs[i].name, check_verbs[i].summary);
    fprintf(f, "\n'ignisctl check WHAT --help' tells more.\n");
}

static int run_sub(const struct verb *verbs, size_t n, void (*help)(FILE *), int argc,
                   char **argv)
{
    if (argc < 1) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        help(stdout);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[0], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ignisctl: unknown command \"%s\"\n", argv[0]);
    help(stderr);
    return EXIT_USAGE;
}

static int run_check(int argc, char **argv)
{
    return run_sub(check_verbs, sizeof check_verbs / sizeof check_verbs[0], help_check, argc,
                   argv);
}

static void help_tsdb_short(FILE *f)
{
    char *argv[] = {(char *)"--help"};
    (void)f;
    ig_ctl_tsdb(1, argv);
}

static const struct verb top_verbs[] = {
    {"check", "check configs and metrics expositions", run_check, help_check},
    {"tsdb", "inspect data directories (list)", ig_ctl_tsdb, help_tsdb_short},
};

static void help_top(FILE *f)
{
    fprintf(f, "usage: ignisctl [--version] COMMAND [args]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof top_verbs / sizeof top_verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", top_verbs[i].name, top_verbs[i].summary);
    fprintf(f, "\n'ignisctl COMMAND --help' tells more. Exit status: 0 success, 1 failure, "
               "2 usage error.\n");
}

int main(int argc, char **argv)
{
    /* Loader lines would clutter a checker's output. */
    ig_log_set_level(IGNIS_LOG_WARN);
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("ignisctl, version %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, IGNIS_ABI_MAJOR,
               IGNIS_ABI_MINOR);
        return 0;
    }
    return run_sub(top_verbs, sizeof top_verbs / sizeof top_verbs[0], help_top, argc - 1,
                   argv + 1);
}
