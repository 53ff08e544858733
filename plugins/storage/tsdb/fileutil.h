/* plugins/storage/tsdb/fileutil.h — the file operations every tsdb writer and reader
 * shares: whole writes with EINTR handled, fsync of files and directories, read-only
 * mmap of a whole file, recursive removal, and errors rendered once into a buffer. */
#ifndef TSDB_FILEUTIL_H
#define TSDB_FILEUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Formats into err (errlen may be 0) and returns rc. */
int tsdb_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* write(2) until all n bytes are written. Returns 0 or -1 with errno. */
int write_full(int fd, const void *p, size_t n);
/* pread(2) of exactly n bytes at off. Returns 0, or -1 (errno EIO on a short read). */
int pread_full(int fd, void *p, size_t n, uint64_t off);
int fsync_dir(const char *dir);
/* Removes a file or a directory tree (best effort); 0 when nothing is left. */
int rm_rf(const char *path);

/* A read-only mapping of a whole file. An empty file maps to p == NULL, size 0. */
struct mmap_file {
    const uint8_t *p;
    size_t size;
};
int mmap_open(struct mmap_file *m, const char *path, char *err, size_t errlen);
void mmap_close(struct mmap_file *m);

/* A buffered sequential writer over one file with a hard size bound. */
struct fwriter {
    int fd;
    uint8_t *buf;
    size_t len, cap;
    uint64_t off; /* bytes written so far, buffered ones included */
};
int fwriter_open(struct fwriter *w, const char *path, char *err, size_t errlen);
int fwriter_write(struct fwriter *w, const void *p, size_t n);
int fwriter_zeros(struct fwriter *w, size_t n);
int fwriter_flush(struct fwriter *w);
/* Flushes, fsyncs and closes (also on error, closing the fd). */
int fwriter_close(struct fwriter *w, bool sync);

#endif
