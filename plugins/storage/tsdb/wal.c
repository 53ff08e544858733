/* plugins/storage/tsdb/wal.c — the write-ahead log's segments, pages and fragments (see
 * wal.h). The writer keeps one page in memory and writes it out as it fills (and on
 * flush); a record that would not fit the rest of the segment starts the next one. */
#define _GNU_SOURCE
#include "wal.h"
#include "crc32c.h"
#include "enc.h"
#include "fileutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

struct wal {
    char *dir;
    int fd;
    int seg;
    uint64_t seg_size;
    uint32_t done_pages;  /* full pages written to the current segment */
    uint8_t page[WAL_PAGE_SIZE];
    size_t alloc;         /* bytes of page in use */
    size_t flushed;       /* bytes of page already written */
    enum wal_compression comp;
    uint8_t *cbuf;        /* compression scratch */
    size_t ccap;
    /* A record a failed write interrupted (a full disk): its bytes not yet placed in a
     * page, written before anything else, so no record is ever left half in the log. */
    uint8_t *rest;
    size_t rest_len, rest_cap;
    uint8_t rest_flag;
    bool rest_started;    /* some fragments are placed: the rest continues the record */
};

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

int wal_segments(const char *dir, int **nums)
{
    *nums = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l == 0 || l > 9 || strspn(de->d_name, "0123456789") != l)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            int *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                closedir(d);
                return -1;
            }
            v = nv;
        }
        v[n++] = atoi(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_int);
    *nums = v;
    return (int)n;
}

static void seg_path(char *buf, size_t len, const char *dir, int seg)
{
    snprintf(buf, len, "%s/%08d", dir, seg);
}

static int open_segment(struct wal *w, int seg, char *err, size_t errlen)
{
    char path[4096];
    seg_path(path, sizeof path, w->dir, seg);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return tsdb_errf(err, errlen, -1, "create %s: %s", path, strerror(errno));
    w->fd = fd;
    w->seg = seg;
    w->done_pages = 0;
    w->alloc = w->flushed = 0;
    fsync_dir(w->dir);
    return 0;
}

int wal_open(struct wal **out, const char *dir, uint64_t segment_size,
             enum wal_compression comp, char *err, size_t errlen)
{
    if (!segment_size)
        segment_size = WAL_SEGMENT_SIZE;
    if (segment_size % WAL_PAGE_SIZE || segment_size < WAL_PAGE_SIZE)
        return tsdb_errf(err, errlen, -1, "WAL segment size must be a multiple of %d",
                         WAL_PAGE_SIZE);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return tsdb_errf(err, errlen, -1, "mkdir %s: %s", dir, strerror(errno));
    struct wal *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    w->fd = -1;
    w->seg_size = segment_size;
    w->comp = comp;
    int *nums;
    int n = wal_segments(dir, &nums);
    if (n < 0) {
        tsdb_errf(err, errlen, -1, "list %s: %s", dir, strerror(errno));
        free(w->dir);
        free(w);
        return -1;
    }
    int next = n ? nums[n - 1] + 1 : 0;
    free(nums);
    if (open_segment(w, next, err, errlen) < 0) {
        free(w->dir);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

int wal_segment(const struct wal *w)
{
    return w->seg;
}

static int settle(struct wal *w, char *err, size_t errlen);

int wal_flush(struct wal *w, char *err, size_t errlen)
{
    if (w->rest_len && settle(w, err, errlen) < 0)
        return -1;
    /* Written at the page's own offset, and progress kept byte by byte: after a short
     * write (a full disk) a retry continues where the bytes stopped, never repeats them. */
    while (w->alloc > w->flushed) {
        off_t off = (off_t)w->done_pages * WAL_PAGE_SIZE + (off_t)w->flushed;
        ssize_t k = pwrite(w->fd, w->page + w->flushed, w->alloc - w->flushed, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return tsdb_errf(err, errlen, -1, "write WAL segment %d: %s", w->seg,
                             k < 0 ? strerror(errno) : "no progress");
        w->flushed += (size_t)k;
    }
    return 0;
}

/* Pads the current page with zeros to its end, writes it and starts a fresh one. */
static int finish_page(struct wal *w, char *err, size_t errlen)
{
    if (w->alloc == 0)
        return 0;
    memset(w->page + w->alloc, 0, WAL_PAGE_SIZE - w->alloc);
    w->alloc = WAL_PAGE_SIZE;
    if (wal_flush(w, err, errlen) < 0)
        return -1;
    w->alloc = w->flushed = 0;
    w->done_pages++;
    return 0;
}

int wal_sync(struct wal *w, char *err, size_t errlen)
{
    if (wal_flush(w, err, errlen) < 0)
        return -1;
    if (fsync(w->fd) < 0)
        return tsdb_errf(err, errlen, -1, "fsync WAL segment %d: %s", w->seg, strerror(errno));
    return 0;
}

int wal_next_segment(struct wal *w, char *err, size_t errlen)
{
    if (finish_page(w, err, errlen) < 0 || wal_sync(w, err, errlen) < 0)
        return -1;
    close(w->fd);
    w->fd = -1;
    if (open_segment(w, w->seg + 1, err, errlen) < 0)
        return -1;
    return w->seg;
}

static uint8_t *compress_rec(struct wal *w, const uint8_t *rec, size_t *len, uint8_t *flag)
{
    *flag = 0;
    size_t need = w->comp == WAL_COMPRESS_SNAPPY ? snappy_max_compressed_length(*len)
                  : w->comp == WAL_COMPRESS_ZSTD ? ZSTD_compressBound(*len)
                                                 : 0;
    if (!need)
        return (uint8_t *)rec;
    if (need > w->ccap) {
        uint8_t *nb = realloc(w->cbuf, need);
        if (!nb)
            return (uint8_t *)rec; /* store it uncompressed */
        w->cbuf = nb;
        w->ccap = need;
    }
    size_t out = need;
    if (w->comp == WAL_COMPRESS_SNAPPY) {
        if (snappy_compress((const char *)rec, *len, (char *)w->cbuf, &out) != SNAPPY_OK)
            return (uint8_t *)rec;
        *flag = WAL_FLAG_SNAPPY;
    } else {
        size_t r = ZSTD_compress(w->cbuf, need, rec, *len, 1);
        if (ZSTD_isError(r))
            return (uint8_t *)rec;
        out = r;
        *flag = WAL_FLAG_ZSTD;
    }
    *len = out;
    return w->cbuf;
}

/* Keeps p[0..len) as the interrupted record's rest. p may point into rest itself. */
static int keep_rest(struct wal *w, const uint8_t *p, size_t len, uint8_t flag, bool started)
{
    if (len > w->rest_cap) {
        uint8_t *nb = malloc(len);
        if (!nb)
            return -1;
        memcpy(nb, p, len);
        free(w->rest);
        w->rest = nb;
        w->rest_cap = len;
    } else {
        memmove(w->rest, p, len);
    }
    w->rest_len = len;
    w->rest_flag = flag;
    w->rest_started = started;
    return 0;
}

/* Places a record (or, started, the rest of one) in pages. On a write failure the
 * unplaced bytes are kept as the rest, and -1 returned. */
static int put_record(struct wal *w, const uint8_t *p, size_t len, uint8_t flag, bool started,
                      char *err, size_t errlen)
{
    if (!started) {
        /* Room left in this segment, counting a header per page. A record larger than
         * a whole segment goes into a fresh one that grows past the size. */
        uint64_t pages = w->seg_size / WAL_PAGE_SIZE;
        uint64_t left = 0;
        if (WAL_PAGE_SIZE - w->alloc > WAL_FRAG_HEADER)
            left = WAL_PAGE_SIZE - w->alloc - WAL_FRAG_HEADER;
        if (pages > w->done_pages + 1)
            left += (WAL_PAGE_SIZE - WAL_FRAG_HEADER) * (pages - w->done_pages - 1);
        if (len > left && (w->done_pages > 0 || w->alloc > 0) && w->fd >= 0)
            if (wal_next_segment(w, err, errlen) < 0)
                goto keep;
        if (w->fd < 0 && open_segment(w, w->seg + 1, err, errlen) < 0)
            goto keep;
    }
    for (;;) {
        if (WAL_PAGE_SIZE - w->alloc <= WAL_FRAG_HEADER && finish_page(w, err, errlen) < 0)
            goto keep;
        size_t room = WAL_PAGE_SIZE - w->alloc - WAL_FRAG_HEADER;
        size_t part = len < room ? len : room;
        uint8_t type;
        if (!started)
            type = part == len ? WAL_FRAG_FULL : WAL_FRAG_FIRST;
        else
            type = part == len ? WAL_FRAG_LAST : WAL_FRAG_MIDDLE;
        uint8_t *h = w->page + w->alloc;
        h[0] = type | flag;
        be16_put(h + 1, (uint16_t)part);
        be32_put(h + 3, crc32c(0, p, part));
        memcpy(h + WAL_FRAG_HEADER, p, part);
        w->alloc += WAL_FRAG_HEADER + part;
        p += part;
        len -= part;
        started = true;
        if (WAL_PAGE_SIZE - w->alloc < WAL_FRAG_HEADER && finish_page(w, err, errlen) < 0) {
            if (len == 0) {
                w->rest_len = 0; /* all placed: only the page write is owed */
                return -1;
            }
            goto keep;
        }
        if (len == 0)
            break;
    }
    w->rest_len = 0;
    return 0;
keep:
    if (keep_rest(w, p, len, flag, started) < 0)
        return tsdb_errf(err, errlen, -1, "out of memory keeping an interrupted WAL record");
    return -1;
}

/* Writes what an earlier failure left owed: the rest of a record, a full page. */
static int settle(struct wal *w, char *err, size_t errlen)
{
    if (w->rest_len) {
        /* cleared first: the page writes inside must not come back here */
        size_t len = w->rest_len;
        w->rest_len = 0;
        return put_record(w, w->rest, len, w->rest_flag, w->rest_started, err, errlen);
    }
    if (w->alloc == WAL_PAGE_SIZE)
        return finish_page(w, err, errlen);
    return 0;
}

int wal_log(struct wal *w, const uint8_t *rec, size_t len, char *err, size_t errlen)
{
    if (len > WAL_MAX_RECORD)
        return tsdb_errf(err, errlen, -1, "WAL record of %zu bytes is too large", len);
    if (settle(w, err, errlen) < 0)
        return -1; /* this record is not logged at all */
    uint8_t flag;
    const uint8_t *p = compress_rec(w, rec, &len, &flag);
    return put_record(w, p, len, flag, false, err, errlen);
}

int wal_close(struct wal *w, char *err, size_t errlen)
{
    if (!w)
        return 0;
    int rc = 0;
    if (w->fd >= 0) {
        rc = wal_sync(w, err, errlen);
        close(w->fd);
    }
    free(w->cbuf);
    free(w->rest);
    free(w->dir);
    free(w);
    return rc;
}

int wal_truncate_before(const char *dir, int seg, char *err, size_t errlen)
{
    int *nums;
    int n = wal_segments(dir, &nums);
    if (n < 0)
        return tsdb_errf(err, errlen, -1, "list %s: %s", dir, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n && nums[i] < seg; i++) {
        char path[4096];
        seg_path(path, sizeof path, dir, nums[i]);
        if (unlink(path) < 0 && errno != ENOENT)
            rc = tsdb_errf(err, errlen, -1, "remove %s: %s", path, strerror(errno));
    }
    free(nums);
    return rc;
}

/* ---- reader ----------------------------------------------------------------------- */

struct wal_reader {
    char *dir;
    int *segs;
    int nsegs, cur; /* index into segs of the open segment */
    int fd;
    uint8_t page[WAL_PAGE_SIZE];
    size_t page_len, page_off;
    uint64_t page_start; /* file offset of page[0] */
    uint8_t *rec;        /* assembled record */
    size_t rec_len, rec_cap;
    uint8_t *dec;        /* decompressed record */
    size_t dec_cap;
    int rec_seg;
    /* corruption report */
    int bad_seg;
    uint64_t bad_off;
    const char *why;
    /* read-ahead (wal_reader_open_async): a thread reads, checks and decompresses records
     * into RA_SLOTS batches while the caller works on the one before */
    bool async;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ra_slot *slots;
    unsigned filled, taken;   /* batches posted by the thread / released by the caller */
    bool stop;
    struct ra_slot *cur_slot; /* being consumed */
    size_t cur_pos;
    int out_seg, out_idx;     /* of the record last returned */
};

/* A batch of records: entries of be32 length, segment, segment index, data (8-aligned);
 * end is the reader's result after them (1: more batches follow, 0: end, -1: corrupt). */
#define RA_SLOTS 3
#define RA_BATCH (1u << 20)

struct ra_slot {
    uint8_t *buf;
    size_t used, cap;
    int end;
};

static int reader_next(struct wal_reader *r, const uint8_t **rec, size_t *len);
static int corrupt(struct wal_reader *r, uint64_t off, const char *why);

int wal_reader_open(struct wal_reader **out, const char *dir, int first, int last, char *err,
                    size_t errlen)
{
    struct wal_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->dir = strdup(dir))) {
        free(r);
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    r->fd = -1;
    r->cur = -1;
    int *nums;
    int n = wal_segments(dir, &nums);
    if (n < 0) {
        tsdb_errf(err, errlen, -1, "list %s: %s", dir, strerror(errno));
        wal_reader_close(r);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if ((first < 0 || nums[i] >= first) && (last < 0 || nums[i] <= last))
            nums[k++] = nums[i];
    for (int i = 1; i < k; i++)
        if (nums[i] != nums[i - 1] + 1) {
            tsdb_errf(err, errlen, -1, "%s: segments not sequential: %d then %d", dir,
                      nums[i - 1], nums[i]);
            free(nums);
            wal_reader_close(r);
            return -1;
        }
    r->segs = nums;
    r->nsegs = k;
    *out = r;
    return 0;
}

void wal_reader_close(struct wal_reader *r)
{
    if (!r)
        return;
    if (r->async) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->th, NULL);
        for (unsigned i = 0; i < RA_SLOTS; i++)
            free(r->slots[i].buf);
        free(r->slots);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    if (r->fd >= 0)
        close(r->fd);
    free(r->segs);
    free(r->rec);
    free(r->dec);
    free(r->dir);
    free(r);
}

int wal_reader_segment(const struct wal_reader *r)
{
    return r->async ? r->out_seg : r->rec_seg;
}

int wal_reader_nsegments(const struct wal_reader *r, int *index)
{
    if (index)
        *index = r->async ? r->out_idx : r->cur;
    return r->nsegs;
}

/* Appends one record to a batch. */
static int ra_put(struct ra_slot *sl, const uint8_t *rec, size_t len, int seg, int idx)
{
    size_t need = 12 + (len + 7) / 8 * 8;
    if (sl->cap - sl->used < need) {
        size_t ncap = sl->cap ? sl->cap : RA_BATCH;
        while (ncap - sl->used < need)
            ncap *= 2;
        uint8_t *nb = realloc(sl->buf, ncap);
        if (!nb)
            return -1;
        sl->buf = nb;
        sl->cap = ncap;
    }
    uint8_t *p = sl->buf + sl->used;
    be32_put(p, (uint32_t)len);
    be32_put(p + 4, (uint32_t)seg);
    be32_put(p + 8, (uint32_t)idx);
    if (len)
        memcpy(p + 12, rec, len);
    sl->used += need;
    return 0;
}

static void *ra_thread(void *arg)
{
    struct wal_reader *r = arg;
    for (unsigned n = 0;; n++) {
        pthread_mutex_lock(&r->mu);
        while (!r->stop && r->filled - r->taken == RA_SLOTS)
            pthread_cond_wait(&r->cv, &r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return NULL;
        struct ra_slot *sl = &r->slots[n % RA_SLOTS];
        sl->used = 0;
        sl->end = 1;
        while (sl->used < RA_BATCH) {
            const uint8_t *rec;
            size_t len;
            int k = reader_next(r, &rec, &len);
            if (k == 1 && ra_put(sl, rec, len, r->rec_seg, r->cur) < 0)
                k = corrupt(r, r->page_start, "out of memory");
            if (k != 1) {
                sl->end = k;
                break;
            }
        }
        pthread_mutex_lock(&r->mu);
        r->filled++;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (sl->end != 1)
            return NULL;
    }
}

int wal_reader_open_async(struct wal_reader **out, const char *dir, int first, int last,
                          char *err, size_t errlen)
{
    struct wal_reader *r;
    if (wal_reader_open(&r, dir, first, last, err, errlen) < 0)
        return -1;
    r->slots = calloc(RA_SLOTS, sizeof *r->slots);
    if (!r->slots) {
        wal_reader_close(r);
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->th, NULL, ra_thread, r) != 0) {
        /* No thread: read inline. */
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        free(r->slots);
        r->slots = NULL;
        *out = r;
        return 0;
    }
    r->async = true;
    *out = r;
    return 0;
}

/* The next record of the read-ahead batches. */
static int ra_next(struct wal_reader *r, const uint8_t **rec, size_t *len)
{
    for (;;) {
        struct ra_slot *sl = r->cur_slot;
        if (sl && r->cur_pos < sl->used) {
            const uint8_t *p = sl->buf + r->cur_pos;
            size_t l = be32_get(p);
            r->out_seg = (int)be32_get(p + 4);
            r->out_idx = (int)be32_get(p + 8);
            *rec = p + 12;
            *len = l;
            r->cur_pos += 12 + (l + 7) / 8 * 8;
            return 1;
        }
        if (sl && sl->end != 1)
            return sl->end;
        pthread_mutex_lock(&r->mu);
        if (sl) {
            r->taken++;
            pthread_cond_broadcast(&r->cv);
        }
        while (r->filled == r->taken)
            pthread_cond_wait(&r->cv, &r->mu);
        pthread_mutex_unlock(&r->mu);
        r->cur_slot = &r->slots[r->taken % RA_SLOTS];
        r->cur_pos = 0;
    }
}

void wal_reader_corruption(const struct wal_reader *r, int *seg, uint64_t *off,
                           const char **why, bool *last_segment)
{
    *seg = r->bad_seg;
    *off = r->bad_off;
    *why = r->why;
    *last_segment = r->cur == r->nsegs - 1;
}

/* Loads the next page of the open segment: 1, 0 at its end, -1 on a read error. */
static int next_page(struct wal_reader *r)
{
    r->page_start += r->page_len;
    r->page_len = r->page_off = 0;
    size_t got = 0;
    while (got < WAL_PAGE_SIZE) {
        ssize_t k = read(r->fd, r->page + got, WAL_PAGE_SIZE - got);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    r->page_len = got;
    return got > 0;
}

static int open_next_segment(struct wal_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (r->cur + 1 >= r->nsegs)
        return 0;
    r->cur++;
    char path[4096];
    seg_path(path, sizeof path, r->dir, r->segs[r->cur]);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return -1;
    r->page_start = 0;
    r->page_len = r->page_off = 0;
    return 1;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int corrupt(struct wal_reader *r, uint64_t off, const char *why)
{
    r->bad_seg = r->cur >= 0 && r->cur < r->nsegs ? r->segs[r->cur] : -1;
    r->bad_off = off;
    r->why = why;
    return -1;
}

static int decompress(struct wal_reader *r, uint8_t flags, const uint8_t **rec, size_t *len)
{
    if (flags & WAL_FLAG_SNAPPY) {
        size_t out;
        if (snappy_uncompressed_length((const char *)r->rec, r->rec_len, &out) != SNAPPY_OK ||
            out > WAL_MAX_RECORD)
            return -1;
        if (out > r->dec_cap) {
            uint8_t *nb = realloc(r->dec, out ? out : 1);
            if (!nb)
                return -1;
            r->dec = nb;
            r->dec_cap = out;
        }
        if (snappy_uncompress((const char *)r->rec, r->rec_len, (char *)r->dec, &out) !=
            SNAPPY_OK)
            return -1;
        *rec = r->dec;
        *len = out;
        return 0;
    }
    if (flags & WAL_FLAG_ZSTD) {
        unsigned long long out = ZSTD_getFrameContentSize(r->rec, r->rec_len);
        if (out == ZSTD_CONTENTSIZE_ERROR || out > WAL_MAX_RECORD)
            return -1;
        if (out == ZSTD_CONTENTSIZE_UNKNOWN) {
            /* Streamed frames carry no size: decompress into a growing buffer. */
            ZSTD_DCtx *dc = ZSTD_createDCtx();
            if (!dc)
                return -1;
            ZSTD_inBuffer in = {r->rec, r->rec_len, 0};
            size_t used = 0;
            int rc = 0;
            for (;;) {
                if (used == r->dec_cap) {
                    size_t ncap = r->dec_cap ? r->dec_cap * 2 : 65536;
                    uint8_t *nb = ncap <= WAL_MAX_RECORD ? realloc(r->dec, ncap) : NULL;
                    if (!nb) {
                        rc = -1;
                        break;
                    }
                    r->dec = nb;
                    r->dec_cap = ncap;
                }
                ZSTD_outBuffer ob = {r->dec, r->dec_cap, used};
                size_t k = ZSTD_decompressStream(dc, &ob, &in);
                used = ob.pos;
                if (ZSTD_isError(k)) {
                    rc = -1;
                    break;
                }
                if (k == 0 && in.pos == in.size)
                    break;
                if (in.pos == in.size && ob.pos < ob.size) {
                    rc = -1; /* truncated frame */
                    break;
                }
            }
            ZSTD_freeDCtx(dc);
            *rec = r->dec;
            *len = used;
            return rc;
        }
        if (out > r->dec_cap) {
            uint8_t *nb = realloc(r->dec, out ? out : 1);
            if (!nb)
                return -1;
            r->dec = nb;
            r->dec_cap = (size_t)out;
        }
        size_t k = ZSTD_decompress(r->dec, (size_t)out, r->rec, r->rec_len);
        if (ZSTD_isError(k) || k != out)
            return -1;
        *rec = r->dec;
        *len = (size_t)out;
        return 0;
    }
    static const uint8_t empty[1];
    *rec = r->rec ? r->rec : empty;
    *len = r->rec_len;
    return 0;
}

int wal_reader_next(struct wal_reader *r, const uint8_t **rec, size_t *len)
{
    return r->async ? ra_next(r, rec, len) : reader_next(r, rec, len);
}

static int reader_next(struct wal_reader *r, const uint8_t **rec, size_t *len)
{
    if (r->why)
        return -1;
    r->rec_len = 0;
    bool in_record = false;
    uint8_t flags = 0;
    uint64_t rec_start = 0;
    for (;;) {
        if (r->fd < 0 || r->page_off >= r->page_len) {
            int k = r->fd < 0 ? 0 : next_page(r);
            if (k < 0)
                return corrupt(r, r->page_start, "read error");
            if (k == 0) {
                if (in_record)
                    return corrupt(r, rec_start, "last record is torn");
                k = open_next_segment(r);
                if (k < 0)
                    return corrupt(r, 0, "cannot open segment");
                if (k == 0)
                    return 0;
                continue;
            }
        }
        uint8_t *p = r->page + r->page_off;
        size_t avail = r->page_len - r->page_off;
        uint64_t foff = r->page_start + r->page_off;
        uint8_t type = p[0] & WAL_FRAG_MASK;
        if (type == WAL_FRAG_PAD) {
            if (!all_zero(p, avail))
                return corrupt(r, in_record ? rec_start : foff, "non-zero bytes in a padded page");
            r->page_off = r->page_len;
            continue;
        }
        if (avail < WAL_FRAG_HEADER)
            return corrupt(r, in_record ? rec_start : foff, "fragment header cut off");
        size_t flen = be16_get(p + 1);
        uint32_t crc = be32_get(p + 3);
        if (flen > avail - WAL_FRAG_HEADER)
            return corrupt(r, in_record ? rec_start : foff, "fragment cut off");
        if (type > WAL_FRAG_LAST)
            return corrupt(r, in_record ? rec_start : foff, "unknown fragment type");
        const uint8_t *data = p + WAL_FRAG_HEADER;
        if (crc32c(0, data, flen) != crc)
            return corrupt(r, in_record ? rec_start : foff, "fragment checksum mismatch");
        bool starts = type == WAL_FRAG_FULL || type == WAL_FRAG_FIRST;
        if (starts == in_record)
            return corrupt(r, in_record ? rec_start : foff,
                           in_record ? "record not finished before the next"
                                     : "fragment without a start");
        if (starts) {
            in_record = true;
            rec_start = foff;
            flags = p[0] & (WAL_FLAG_SNAPPY | WAL_FLAG_ZSTD);
            r->rec_seg = r->segs[r->cur];
        }
        if (r->rec_len + flen > WAL_MAX_RECORD)
            return corrupt(r, rec_start, "record too large");
        if (r->rec_len + flen > r->rec_cap) {
            size_t ncap = r->rec_cap ? r->rec_cap : 4096;
            while (ncap < r->rec_len + flen)
                ncap *= 2;
            uint8_t *nb = realloc(r->rec, ncap);
            if (!nb)
                return corrupt(r, rec_start, "out of memory");
            r->rec = nb;
            r->rec_cap = ncap;
        }
        if (flen)
            memcpy(r->rec + r->rec_len, data, flen);
        r->rec_len += flen;
        r->page_off += WAL_FRAG_HEADER + flen;
        if (r->page_len - r->page_off < WAL_FRAG_HEADER && r->page_off < r->page_len) {
            /* Too small for another header: must be padding. */
            if (!all_zero(r->page + r->page_off, r->page_len - r->page_off))
                return corrupt(r, rec_start, "non-zero bytes in a padded page");
            r->page_off = r->page_len;
        }
        if (type == WAL_FRAG_FULL || type == WAL_FRAG_LAST) {
            if (decompress(r, flags, rec, len) < 0)
                return corrupt(r, rec_start, "record does not decompress");
            return 1;
        }
    }
}

int wal_repair(const char *dir, int seg, uint64_t off, char *err, size_t errlen)
{
    int *nums;
    int n = wal_segments(dir, &nums);
    if (n < 0)
        return tsdb_errf(err, errlen, -1, "list %s: %s", dir, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (nums[i] <= seg)
            continue;
        char path[4096];
        seg_path(path, sizeof path, dir, nums[i]);
        if (unlink(path) < 0)
            rc = tsdb_errf(err, errlen, -1, "remove %s: %s", path, strerror(errno));
    }
    free(nums);
    char path[4096];
    seg_path(path, sizeof path, dir, seg);
    if (rc == 0 && truncate(path, (off_t)off) < 0)
        rc = tsdb_errf(err, errlen, -1, "truncate %s: %s", path, strerror(errno));
    if (rc == 0)
        fsync_dir(dir);
    return rc;
}
