/* tests/fuzz/file_sd_common.h — what the two file SD fuzz targets check on a parse: the
 * groups it gives are ready to emit (sources "<path>:<i>", labels sorted and unique with
 * __meta_filepath, UTF-8 everywhere, one __address__ per target, the target bound kept),
 * and a refusal says why. Included by fuzz_file_sd_json.c and fuzz_file_sd_yaml.c. */
#ifndef FUZZ_FILE_SD_COMMON_H
#define FUZZ_FILE_SD_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_sd.h"

#define FUZZ_PATH "dir/targets.x"
#define FUZZ_MAX_TARGETS 64

static void check_file(const struct fsd_file *f, size_t max)
{
    size_t total = 0;
    for (size_t g = 0; g < f->ngroups; g++) {
        const struct fsd_group *gr = &f->groups[g];
        char src[64];
        snprintf(src, sizeof src, "%s:%zu", FUZZ_PATH, g);
        if (strcmp(gr->source, src) != 0)
            abort();
        bool fp = false;
        for (size_t i = 0; i < gr->nlabels; i++) {
            const struct ignis_label *l = &gr->labels[i];
            if (!l->name_len || !ignis_utf8_valid(l->name, l->name_len) ||
                !ignis_utf8_valid(l->value, l->value_len))
                abort();
            if (i) {
                const struct ignis_label *p = &gr->labels[i - 1];
                size_t n = p->name_len < l->name_len ? p->name_len : l->name_len;
                int c = memcmp(p->name, l->name, n);
                if (c > 0 || (c == 0 && p->name_len >= l->name_len))
                    abort();
            }
            if (l->name_len == strlen(FSD_FILEPATH_LABEL) &&
                !memcmp(l->name, FSD_FILEPATH_LABEL, l->name_len)) {
                fp = true;
                if (l->value_len != strlen(FUZZ_PATH) ||
                    memcmp(l->value, FUZZ_PATH, l->value_len) != 0)
                    abort();
            }
        }
        if (!fp)
            abort();
        for (size_t i = 0; i < gr->ntargets; i++) {
            const struct ignis_label *t = gr->tptrs[i];
            if (gr->tcounts[i] != 1 || strcmp(t->name, FSD_ADDRESS_LABEL) != 0 ||
                !ignis_utf8_valid(t->value, t->value_len))
                abort();
        }
        total += gr->ntargets;
    }
    if (total != f->ntargets || (max && total > max))
        abort();
}

static void fuzz_file_sd(enum fsd_format fmt, const uint8_t *data, size_t size)
{
    const size_t limits[] = {0, FUZZ_MAX_TARGETS};
    for (size_t k = 0; k < 2; k++) {
        struct fsd_file f;
        char err[512] = "";
        if (fsd_parse(fmt, (const char *)data, size, FUZZ_PATH, limits[k], &f, err,
                      sizeof err) != 0) {
            if (!err[0] || f.ngroups || f.groups || f.chunks)
                abort();
            continue;
        }
        check_file(&f, limits[k]);
        fsd_file_free(&f);
    }
}

#endif
