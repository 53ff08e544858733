/* tests/fuzz/fuzz_rohead.c — the read-only head view `ignisctl tsdb dump` loads
 * (plugins/storage/tsdb/rohead.c) over a directory built from the input: a big-endian
 * 32-bit length L, then L bytes of WAL segment 00000000, then the rest as head chunk file
 * 000001. Checks what rohead promises: series in ref order, labels present, samples of a
 * WAL-only series strictly in time order. Any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "fileutil.h"
#include "rohead.h"

static char root[64];

static void remove_root(void)
{
    rm_rf(root);
}

static void write_part(const char *sub, const char *name, const uint8_t *p, size_t n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", root, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n))
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        snprintf(root, sizeof root, "/tmp/fuzz_rohead.%d", (int)getpid());
        atexit(remove_root);
    }
    rm_rf(root);
    mkdir(root, 0755);
    size_t wal = 0;
    if (size >= 4) {
        wal = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
        data += 4;
        size -= 4;
    }
    if (wal > size)
        wal = size;
    write_part("wal", "00000000", data, wal);
    write_part("chunks_head", "000001", data + wal, size - wal);
    struct rohead h;
    char err[256];
    if (rohead_load(&h, root, INT64_MIN, err, sizeof err) < 0)
        return 0;
    for (size_t i = 0; i < h.n; i++) {
        const struct rohead_series *s = h.s[i];
        if (i && h.s[i - 1]->ref >= s->ref)
            abort();
        for (size_t k = 0; k < s->nls; k++)
            if (!s->ls[k].name || !s->ls[k].value)
                abort();
        for (size_t k = 1; s->mm_maxt == INT64_MIN && k < s->tv.n; k++)
            if (s->tv.t[k] <= s->tv.t[k - 1])
                abort();
    }
    rohead_free(&h);
    return 0;
}
