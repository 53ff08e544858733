/* plugins/storage/tsdb/chunks.c — block chunk segment files (see chunks.h). */
#define _GNU_SOURCE
#include "chunks.h"
#include "crc32c.h"
#include "enc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int seg_start(struct chunkw *w, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%06u", w->dir, w->seq + 1);
    if (fwriter_open(&w->f, path, err, errlen) < 0)
        return -1;
    w->open = true;
    uint8_t hdr[CHUNKS_HEADER] = {0};
    be32_put(hdr, CHUNKS_MAGIC);
    hdr[4] = CHUNKS_VERSION;
    if (fwriter_write(&w->f, hdr, sizeof hdr) < 0)
        return tsdb_errf(err, errlen, -1, "write %s: %s", path, strerror(errno));
    return 0;
}

int chunkw_open(struct chunkw *w, const char *dir, uint64_t seg_max, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->f.fd = -1;
    w->seg_max = seg_max ? seg_max : CHUNKS_SEGMENT_MAX;
    if (w->seg_max > UINT32_MAX) /* offsets are 32 bits */
        w->seg_max = UINT32_MAX;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return tsdb_errf(err, errlen, -1, "mkdir %s: %s", dir, strerror(errno));
    w->dir = strdup(dir);
    if (!w->dir)
        return tsdb_errf(err, errlen, -1, "out of memory");
    return 0;
}

int chunkw_write(struct chunkw *w, uint8_t enc, const uint8_t *data, size_t len, uint64_t *ref,
                 char *err, size_t errlen)
{
    uint8_t hdr[UVARINT_MAX + 1];
    size_t hl = uvarint_put(hdr, len);
    hdr[hl++] = enc;
    uint64_t need = hl + len + 4;
    if (need + CHUNKS_HEADER > w->seg_max)
        return tsdb_errf(err, errlen, -1, "chunk of %zu bytes exceeds the segment size", len);
    if (w->open && w->f.off + need > w->seg_max) {
        if (fwriter_close(&w->f, true) < 0) {
            w->open = false;
            return tsdb_errf(err, errlen, -1, "finish chunk segment: %s", strerror(errno));
        }
        w->open = false;
        w->seq++;
    }
    if (!w->open && seg_start(w, err, errlen) < 0)
        return -1;
    *ref = (uint64_t)w->seq << 32 | w->f.off;
    uint8_t crc[4];
    be32_put(crc, crc32c(crc32c(0, &enc, 1), data, len));
    if (fwriter_write(&w->f, hdr, hl) < 0 || fwriter_write(&w->f, data, len) < 0 ||
        fwriter_write(&w->f, crc, 4) < 0)
        return tsdb_errf(err, errlen, -1, "write chunk: %s", strerror(errno));
    return 0;
}

int chunkw_close(struct chunkw *w, bool sync, char *err, size_t errlen)
{
    int rc = 0;
    if (w->open && fwriter_close(&w->f, sync) < 0)
        rc = tsdb_errf(err, errlen, -1, "finish chunk segment: %s", strerror(errno));
    w->open = false;
    if (rc == 0 && sync && fsync_dir(w->dir) < 0)
        rc = tsdb_errf(err, errlen, -1, "fsync %s: %s", w->dir, strerror(errno));
    free(w->dir);
    w->dir = NULL;
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

long list_numbered(const char *dir, char ***names, unsigned digits)
{
    *names = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t n = 0, cap = 0;
    char **v = NULL;
    struct dirent *de;
    long rc = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < digits || strspn(de->d_name, "0123456789") != l)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                rc = -1;
                break;
            }
            v = nv;
        }
        if (!(v[n] = strdup(de->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return -1;
    }
    /* Equal-length digit strings sort numerically; longer ones come later. */
    if (n)
        qsort(v, n, sizeof *v, cmp_names);
    for (size_t i = 1; i < n; i++)
        if (strlen(v[i]) != strlen(v[0])) {
            /* Mixed widths: order numerically. */
            for (size_t a = 1; a < n; a++)
                for (size_t b = a; b > 0 && strtoull(v[b - 1], NULL, 10) >
                                                strtoull(v[b], NULL, 10);
                     b--) {
                    char *t = v[b];
                    v[b] = v[b - 1];
                    v[b - 1] = t;
                }
            break;
        }
    *names = v;
    return (long)n;
}

int chunkr_open(struct chunkr *r, const char *dir, char *err, size_t errlen)
{
    r->segs = NULL;
    r->nsegs = 0;
    char **names;
    long n = list_numbered(dir, &names, 1);
    if (n < 0)
        return tsdb_errf(err, errlen, -1, "list %s: %s", dir, strerror(errno));
    int rc = 0;
    r->segs = calloc(n ? (size_t)n : 1, sizeof *r->segs);
    if (!r->segs)
        rc = tsdb_errf(err, errlen, -1, "out of memory");
    for (long i = 0; rc == 0 && i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (mmap_open(&r->segs[i], path, err, errlen) < 0) {
            rc = -1;
            break;
        }
        r->nsegs++;
        const struct mmap_file *m = &r->segs[i];
        if (m->size < CHUNKS_HEADER || be32_get(m->p) != CHUNKS_MAGIC)
            rc = tsdb_errf(err, errlen, -1, "%s: not a chunk segment (bad magic)", path);
        else if (m->p[4] != CHUNKS_VERSION)
            rc = tsdb_errf(err, errlen, -1, "%s: unknown chunk format version %u", path,
                           m->p[4]);
    }
    for (long i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc < 0)
        chunkr_close(r);
    return rc;
}

void chunkr_close(struct chunkr *r)
{
    for (size_t i = 0; i < r->nsegs; i++)
        mmap_close(&r->segs[i]);
    free(r->segs);
    r->segs = NULL;
    r->nsegs = 0;
}

int chunkr_get(const struct chunkr *r, uint64_t ref, uint8_t *enc, const uint8_t **data,
               size_t *len, char *err, size_t errlen)
{
    uint64_t seq = ref >> 32, off = ref & 0xffffffffu;
    if (seq >= r->nsegs)
        return tsdb_errf(err, errlen, -1, "chunk ref %#llx: no segment %llu",
                         (unsigned long long)ref, (unsigned long long)seq);
    const struct mmap_file *m = &r->segs[seq];
    if (off < CHUNKS_HEADER || off >= m->size)
        return tsdb_errf(err, errlen, -1, "chunk ref %#llx: offset out of range",
                         (unsigned long long)ref);
    struct dec d;
    dec_init(&d, m->p + off, m->size - off);
    uint64_t l = dec_uvarint(&d);
    uint8_t e = dec_byte(&d);
    const uint8_t *p = d.err || l > dec_left(&d) ? NULL : dec_bytes(&d, (size_t)l);
    uint32_t crc = dec_be32(&d);
    if (!p || d.err)
        return tsdb_errf(err, errlen, -1, "chunk ref %#llx: truncated",
                         (unsigned long long)ref);
    if (crc32c(crc32c(0, &e, 1), p, (size_t)l) != crc)
        return tsdb_errf(err, errlen, -1, "chunk ref %#llx: checksum mismatch",
                         (unsigned long long)ref);
    *enc = e;
    *data = p;
    *len = (size_t)l;
    return 0;
}
