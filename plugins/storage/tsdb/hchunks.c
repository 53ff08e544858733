/* plugins/storage/tsdb/hchunks.c — head chunk files (see hchunks.h). */
#define _GNU_SOURCE
#include "hchunks.h"
#include "chunks.h"
#include "crc32c.h"
#include "enc.h"
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fixed part before the data: ref, mint, maxt, encoding. */
#define HC_FIXED (8 + 8 + 8 + 1)

static int add_file(struct hchunks *hc, uint32_t seq, bool create, char *err, size_t errlen)
{
    if (hc->nfiles == hc->cap) {
        size_t ncap = hc->cap ? hc->cap * 2 : 8;
        struct hcfile *nf = realloc(hc->files, ncap * sizeof *nf);
        if (!nf)
            return tsdb_errf(err, errlen, -1, "out of memory");
        hc->files = nf;
        hc->cap = ncap;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%06u", hc->dir, seq);
    int fd = create ? open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                    : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tsdb_errf(err, errlen, -1, "open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return tsdb_errf(err, errlen, -1, "stat %s: %s", path, strerror(errno));
    }
    void *map = mmap(NULL, HCHUNKS_FILE_MAX, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return tsdb_errf(err, errlen, -1, "mmap %s: %s", path, strerror(errno));
    }
    struct hcfile *f = &hc->files[hc->nfiles];
    f->seq = seq;
    f->fd = fd;
    f->map = map;
    f->size = (uint64_t)st.st_size;
    f->maxt = INT64_MIN;
    if (create) {
        uint8_t hdr[HCHUNKS_HEADER] = {0};
        be32_put(hdr, HCHUNKS_MAGIC);
        hdr[4] = 1;
        if (write_full(fd, hdr, sizeof hdr) < 0) {
            munmap(map, HCHUNKS_FILE_MAX);
            close(fd);
            return tsdb_errf(err, errlen, -1, "write %s: %s", path, strerror(errno));
        }
        f->size = HCHUNKS_HEADER;
        fsync_dir(hc->dir);
    }
    hc->nfiles++;
    return 0;
}

/* Walks a loaded file's chunks; returns the offset after the last valid one. */
static uint64_t scan_file(struct hcfile *f, hchunks_found_fn fn, void *arg)
{
    uint64_t size = f->size < HCHUNKS_FILE_MAX ? f->size : HCHUNKS_FILE_MAX;
    if (size < HCHUNKS_HEADER || be32_get(f->map) != HCHUNKS_MAGIC || f->map[4] != 1)
        return 0;
    uint64_t off = HCHUNKS_HEADER;
    while (off + HC_FIXED + 1 + 4 <= size) {
        const uint8_t *p = f->map + off;
        struct dec d;
        dec_init(&d, p, (size_t)(size - off));
        uint64_t sref = dec_be64(&d);
        int64_t mint = (int64_t)dec_be64(&d);
        int64_t maxt = (int64_t)dec_be64(&d);
        uint8_t enc = dec_byte(&d);
        uint64_t len = dec_uvarint(&d);
        if (d.err || len > dec_left(&d) || dec_left(&d) - len < 4)
            break;
        size_t body = (size_t)(d.p - p) + (size_t)len;
        if (sref == 0 && mint == 0 && maxt == 0 && enc == 0 && len == 0)
            break; /* zeroed tail */
        if (crc32c(0, p, body) != be32_get(p + body))
            break;
        if (fn)
            fn(arg, sref, (uint64_t)f->seq << 32 | off, mint, maxt, enc);
        if (maxt > f->maxt)
            f->maxt = maxt;
        off += body + 4;
    }
    return off;
}

/* Maps and scans every numbered file of hc->dir; *last gets the highest number. */
static int load_files(struct hchunks *hc, hchunks_found_fn fn, void *arg, uint32_t *last,
                      char *err, size_t errlen)
{
    char **names;
    long n = list_numbered(hc->dir, &names, 1);
    if (n < 0)
        return tsdb_errf(err, errlen, -1, "list %s: %s", hc->dir, strerror(errno));
    int rc = 0;
    *last = 0;
    for (long i = 0; i < n; i++) {
        uint32_t seq = (uint32_t)strtoul(names[i], NULL, 10);
        if (rc == 0 && (rc = add_file(hc, seq, false, err, errlen)) == 0) {
            struct hcfile *f = &hc->files[hc->nfiles - 1];
            f->size = scan_file(f, fn, arg);
        }
        *last = seq;
        free(names[i]);
    }
    free(names);
    return rc;
}

int hchunks_open(struct hchunks *hc, const char *dir, hchunks_found_fn fn, void *arg,
                 char *err, size_t errlen)
{
    memset(hc, 0, sizeof *hc);
    pthread_mutex_init(&hc->mu, NULL);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return tsdb_errf(err, errlen, -1, "mkdir %s: %s", dir, strerror(errno));
    if (!(hc->dir = strdup(dir)))
        return tsdb_errf(err, errlen, -1, "out of memory");
    uint32_t last;
    if (load_files(hc, fn, arg, &last, err, errlen) < 0 ||
        add_file(hc, last + 1, true, err, errlen) < 0) {
        hchunks_close(hc);
        return -1;
    }
    hc->writable = true;
    return 0;
}

int hchunks_open_ro(struct hchunks *hc, const char *dir, hchunks_found_fn fn, void *arg,
                    char *err, size_t errlen)
{
    memset(hc, 0, sizeof *hc);
    pthread_mutex_init(&hc->mu, NULL);
    if (!(hc->dir = strdup(dir)))
        return tsdb_errf(err, errlen, -1, "out of memory");
    struct stat st;
    if (stat(dir, &st) < 0 && errno == ENOENT)
        return 0; /* no head chunks yet */
    uint32_t last;
    if (load_files(hc, fn, arg, &last, err, errlen) < 0) {
        hchunks_close(hc);
        return -1;
    }
    return 0;
}

void hchunks_close(struct hchunks *hc)
{
    for (size_t i = 0; i < hc->nfiles; i++) {
        if (i == hc->nfiles - 1 && hc->writable)
            fsync(hc->files[i].fd);
        munmap((void *)hc->files[i].map, HCHUNKS_FILE_MAX);
        close(hc->files[i].fd);
    }
    free(hc->files);
    free(hc->dir);
    pthread_mutex_destroy(&hc->mu);
    memset(hc, 0, sizeof *hc);
}

uint32_t hchunks_current(struct hchunks *hc)
{
    pthread_mutex_lock(&hc->mu);
    uint32_t s = hc->nfiles ? hc->files[hc->nfiles - 1].seq : 0;
    pthread_mutex_unlock(&hc->mu);
    return s;
}

int hchunks_write(struct hchunks *hc, uint64_t series_ref, int64_t mint, int64_t maxt,
                  uint8_t enc, const uint8_t *data, size_t len, uint64_t *ref, char *err,
                  size_t errlen)
{
    if (!hc->writable)
        return tsdb_errf(err, errlen, -1, "head chunks opened read-only");
    uint8_t hdr[HC_FIXED + UVARINT_MAX];
    be64_put(hdr, series_ref);
    be64_put(hdr + 8, (uint64_t)mint);
    be64_put(hdr + 16, (uint64_t)maxt);
    hdr[24] = enc;
    size_t hl = HC_FIXED + uvarint_put(hdr + HC_FIXED, len);
    uint64_t need = hl + len + 4;
    if (need + HCHUNKS_HEADER > HCHUNKS_FILE_MAX)
        return tsdb_errf(err, errlen, -1, "chunk too large for a head chunk file");
    uint8_t crc[4];
    be32_put(crc, crc32c(crc32c(0, hdr, hl), data, len));
    pthread_mutex_lock(&hc->mu);
    int rc = 0;
    struct hcfile *f = &hc->files[hc->nfiles - 1];
    if (f->size + need > HCHUNKS_FILE_MAX) {
        fsync(f->fd);
        if ((rc = add_file(hc, f->seq + 1, true, err, errlen)) < 0)
            goto out;
        f = &hc->files[hc->nfiles - 1];
    }
    /* One buffer, one write: a reader never sees half a chunk it was handed. */
    uint8_t stackbuf[512];
    uint8_t *buf = need <= sizeof stackbuf ? stackbuf : malloc(need);
    if (!buf) {
        rc = tsdb_errf(err, errlen, -1, "out of memory");
        goto out;
    }
    memcpy(buf, hdr, hl);
    memcpy(buf + hl, data, len);
    memcpy(buf + hl + len, crc, 4);
    if (pwrite(f->fd, buf, need, (off_t)f->size) != (ssize_t)need) {
        rc = tsdb_errf(err, errlen, -1, "write head chunk file %06u: %s", f->seq,
                       strerror(errno ? errno : EIO));
    } else {
        *ref = (uint64_t)f->seq << 32 | f->size;
        f->size += need;
        if (maxt > f->maxt)
            f->maxt = maxt;
    }
    if (buf != stackbuf)
        free(buf);
out:
    pthread_mutex_unlock(&hc->mu);
    return rc;
}

int hchunks_get(struct hchunks *hc, uint64_t ref, uint8_t *enc, const uint8_t **data,
                size_t *len)
{
    uint32_t seq = (uint32_t)(ref >> 32);
    uint64_t off = ref & 0xffffffffu;
    pthread_mutex_lock(&hc->mu);
    const struct hcfile *f = NULL;
    for (size_t i = hc->nfiles; i-- > 0;)
        if (hc->files[i].seq == seq) {
            f = &hc->files[i];
            break;
        }
    uint64_t size = f ? f->size : 0;
    const uint8_t *map = f ? f->map : NULL;
    pthread_mutex_unlock(&hc->mu);
    if (!f || off < HCHUNKS_HEADER || off + HC_FIXED + 1 > size)
        return -1;
    struct dec d;
    dec_init(&d, map + off + HC_FIXED - 1, (size_t)(size - off - HC_FIXED + 1));
    uint8_t e = dec_byte(&d);
    uint64_t l = dec_uvarint(&d);
    if (d.err || l > dec_left(&d))
        return -1;
    *enc = e;
    *data = d.p;
    *len = (size_t)l;
    return 0;
}

int hchunks_delete_older(struct hchunks *hc, int64_t mint)
{
    pthread_mutex_lock(&hc->mu);
    size_t k = 0;
    int rc = 0, n = 0;
    for (size_t i = 0; i < hc->nfiles; i++) {
        struct hcfile *f = &hc->files[i];
        if (f->maxt < mint && i != hc->nfiles - 1) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%06u", hc->dir, f->seq);
            munmap((void *)f->map, HCHUNKS_FILE_MAX);
            close(f->fd);
            if (unlink(path) < 0)
                rc = -1;
            n++;
        } else {
            hc->files[k++] = *f;
        }
    }
    hc->nfiles = k;
    pthread_mutex_unlock(&hc->mu);
    return rc < 0 ? -1 : n;
}
