/* plugins/storage/tsdb/fileutil.c — file helpers for the tsdb (see fileutil.h). Writers
 * use write(2), never a writable mapping, so a full disk is an error, not SIGBUS. */
#define _GNU_SOURCE
#include "fileutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int tsdb_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int write_full(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

int pread_full(int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *b = p;
    while (n) {
        ssize_t k = pread(fd, b, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        b += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *sub;
        if (asprintf(&sub, "%s/%s", path, de->d_name) < 0) {
            rc = -1;
            break;
        }
        if (rm_rf(sub) < 0)
            rc = -1;
        free(sub);
    }
    closedir(d);
    if (rmdir(path) < 0)
        rc = -1;
    return rc;
}

int mmap_open(struct mmap_file *m, const char *path, char *err, size_t errlen)
{
    m->p = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tsdb_errf(err, errlen, -1, "open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return tsdb_errf(err, errlen, -1, "stat %s: %s", path, strerror(e));
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return tsdb_errf(err, errlen, -1, "mmap %s: %s", path, strerror(e));
        }
        m->p = p;
        m->size = (size_t)st.st_size;
    }
    close(fd);
    return 0;
}

void mmap_close(struct mmap_file *m)
{
    if (m->p)
        munmap((void *)m->p, m->size);
    m->p = NULL;
    m->size = 0;
}

/* Buffered writes go out in pieces of this size. */
#define FWRITER_BUF (1u << 20)

int fwriter_open(struct fwriter *w, const char *path, char *err, size_t errlen)
{
    w->buf = malloc(FWRITER_BUF);
    w->len = 0;
    w->cap = FWRITER_BUF;
    w->off = 0;
    w->fd = -1;
    if (!w->buf)
        return tsdb_errf(err, errlen, -1, "out of memory");
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        free(w->buf);
        w->buf = NULL;
        return tsdb_errf(err, errlen, -1, "create %s: %s", path, strerror(errno));
    }
    return 0;
}

int fwriter_flush(struct fwriter *w)
{
    if (w->len && write_full(w->fd, w->buf, w->len) < 0)
        return -1;
    w->len = 0;
    return 0;
}

int fwriter_write(struct fwriter *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    if (n == 0)
        return 0;
    w->off += n;
    if (n >= w->cap) {
        if (fwriter_flush(w) < 0)
            return -1;
        return write_full(w->fd, b, n);
    }
    if (w->cap - w->len < n && fwriter_flush(w) < 0)
        return -1;
    memcpy(w->buf + w->len, b, n);
    w->len += n;
    return 0;
}

int fwriter_zeros(struct fwriter *w, size_t n)
{
    static const uint8_t zeros[64];
    while (n) {
        size_t k = n < sizeof zeros ? n : sizeof zeros;
        if (fwriter_write(w, zeros, k) < 0)
            return -1;
        n -= k;
    }
    return 0;
}

int fwriter_close(struct fwriter *w, bool sync)
{
    int rc = 0;
    if (w->fd >= 0) {
        if (fwriter_flush(w) < 0)
            rc = -1;
        if (rc == 0 && sync && fsync(w->fd) < 0)
            rc = -1;
        int e = errno;
        if (close(w->fd) < 0 && rc == 0)
            rc = -1;
        else
            errno = e;
    }
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
    return rc;
}
