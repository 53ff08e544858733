/* tests/fuzz/replay.c — runs a fuzz target's LLVMFuzzerTestOneInput over its saved
 * inputs, so `make check` replays every seed and every crasher found so far under the
 * build's sanitizers. Build with -DIG_FUZZ_TARGET='"name"' and
 * -DIG_TEST_SRCDIR='"$(abs_top_srcdir)"'; inputs are the regular files of
 * tests/fuzz/corpus/<name>/ and tests/fuzz/crashers/<name>/ (either may be absent). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are not fuzz inputs; refuse rather than read them. */
#define IG_FUZZ_MAX_INPUT (4u << 20)

static int run_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    uint8_t *buf = malloc(IG_FUZZ_MAX_INPUT + 1);
    size_t len = buf ? fread(buf, 1, IG_FUZZ_MAX_INPUT + 1, f) : 0;
    fclose(f);
    if (!buf || len > IG_FUZZ_MAX_INPUT) {
        fprintf(stderr, "%s: too large or out of memory\n", path);
        free(buf);
        return -1;
    }
    /* An exactly-sized copy, so reads past the input trip the sanitizers. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*n)++;
    return 0;
}

static int run_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat st;
        int len = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (len < 0 || (size_t)len >= sizeof path)
            continue;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path, n) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            if (run_file(argv[i], &n) != 0)
                rc = 1;
    } else {
        static const char *const kinds[] = {"corpus", "crashers"};
        for (size_t i = 0; i < 2; i++) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", IG_TEST_SRCDIR, kinds[i],
                     IG_FUZZ_TARGET);
            if (run_dir(dir, &n) != 0)
                rc = 1;
        }
        if (n == 0) {
            fprintf(stderr, "no inputs for %s\n", IG_FUZZ_TARGET);
            rc = 1;
        }
    }
    printf("%s: replayed %zu inputs\n", IG_FUZZ_TARGET, n);
    return rc;
}
