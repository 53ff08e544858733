/* plugins/storage/tsdb/checkpoint.c — WAL checkpoints (see checkpoint.h). Built in
 * "checkpoint.N.tmp" and renamed into place, so a crash leaves the old one in force. */
#define _GNU_SOURCE
#include "checkpoint.h"
#include "fileutil.h"
#include "record.h"
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKPOINT_PREFIX "checkpoint."

/* Parses "checkpoint.NNNNNNNN" (no suffix); -1 for other names. */
static int parse_name(const char *name)
{
    size_t pl = strlen(CHECKPOINT_PREFIX);
    if (strncmp(name, CHECKPOINT_PREFIX, pl))
        return -1;
    const char *d = name + pl;
    size_t l = strlen(d);
    if (l == 0 || l > 9 || strspn(d, "0123456789") != l)
        return -1;
    return atoi(d);
}

int checkpoint_last(const char *waldir, char *path, size_t pathlen)
{
    DIR *d = opendir(waldir);
    if (!d)
        return -1;
    int best = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        int n = parse_name(de->d_name);
        if (n > best)
            best = n;
    }
    closedir(d);
    if (best >= 0 && path)
        snprintf(path, pathlen, "%s/" CHECKPOINT_PREFIX "%08d", waldir, best);
    return best;
}

int checkpoint_delete_before(const char *waldir, int n)
{
    DIR *d = opendir(waldir);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        int k = parse_name(de->d_name);
        bool tmp = !strncmp(de->d_name, CHECKPOINT_PREFIX, strlen(CHECKPOINT_PREFIX)) &&
                   strstr(de->d_name, ".tmp");
        if ((k >= 0 && k < n) || tmp) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", waldir, de->d_name);
            if (rm_rf(path) < 0)
                rc = -1;
        }
    }
    closedir(d);
    return rc;
}

struct ckpt {
    struct wal *out;
    bool (*keep)(void *, uint64_t);
    void *arg;
    int64_t mint;
    struct checkpoint_stats *st;
    struct rec_decoded d;
    struct ebuf b;
    struct rec_sample *ss;
    size_t ss_cap;
};

/* Filters one record into the checkpoint. */
static int filter(struct ckpt *c, const uint8_t *rec, size_t len, char *err, size_t errlen)
{
    ebuf_reset(&c->b);
    switch (rec_type(rec, len)) {
    case REC_SERIES:
        if (rec_decode_series(rec, len, &c->d) < 0)
            return tsdb_errf(err, errlen, -1, "malformed series record");
        rec_encode_series_begin(&c->b);
        for (size_t i = 0; i < c->d.nseries; i++) {
            const struct rec_series *s = &c->d.series[i];
            if (!c->keep(c->arg, s->ref)) {
                c->st->series_dropped++;
                continue;
            }
            c->st->series_kept++;
            rec_encode_series(&c->b, s->ref, c->d.labels + s->first, s->n);
        }
        if (c->b.len <= 1)
            return 0;
        break;
    case REC_SAMPLES: {
        if (rec_decode_samples(rec, len, &c->d) < 0)
            return tsdb_errf(err, errlen, -1, "malformed samples record");
        size_t n = 0;
        for (size_t i = 0; i < c->d.nsamples; i++) {
            const struct rec_sample *s = &c->d.samples[i];
            if (s->t < c->mint || !c->keep(c->arg, s->ref)) {
                c->st->samples_dropped++;
                continue;
            }
            c->d.samples[n++] = *s; /* compact in place */
        }
        c->st->samples_kept += n;
        if (!n)
            return 0;
        rec_encode_samples(&c->b, c->d.samples, n);
        break;
    }
    case REC_TOMBSTONES: {
        if (rec_decode_tombstones(rec, len, &c->d) < 0)
            return tsdb_errf(err, errlen, -1, "malformed tombstones record");
        size_t n = 0;
        for (size_t i = 0; i < c->d.nstones; i++) {
            const struct rec_stone *s = &c->d.stones[i];
            if (s->maxt >= c->mint && c->keep(c->arg, s->ref))
                c->d.stones[n++] = *s;
        }
        c->st->stones_kept += n;
        if (!n)
            return 0;
        rec_encode_tombstones(&c->b, c->d.stones, n);
        break;
    }
    case REC_EXEMPLARS: {
        if (rec_decode_exemplars(rec, len, &c->d) < 0)
            return tsdb_errf(err, errlen, -1, "malformed exemplars record");
        size_t n = 0;
        for (size_t i = 0; i < c->d.nexemplars; i++) {
            const struct rec_exemplar *e = &c->d.exemplars[i];
            if (e->t >= c->mint && c->keep(c->arg, e->ref))
                c->d.exemplars[n++] = *e;
        }
        c->st->exemplars_kept += n;
        if (!n)
            return 0;
        rec_encode_exemplars(&c->b, c->d.exemplars, n, c->d.labels);
        break;
    }
    default:
        /* Markers point into head chunk files that a checkpoint does not carry; other
         * kinds (metadata, histograms) are not kept by this head yet. */
        return 0;
    }
    if (c->b.err)
        return tsdb_errf(err, errlen, -1, "out of memory");
    return wal_log(c->out, c->b.p, c->b.len, err, errlen);
}

static int copy_from(struct ckpt *c, const char *dir, int first, int last, char *err,
                     size_t errlen)
{
    struct wal_reader *r;
    if (wal_reader_open(&r, dir, first, last, err, errlen) < 0)
        return -1;
    const uint8_t *rec;
    size_t len;
    int k, rc = 0;
    while (rc == 0 && (k = wal_reader_next(r, &rec, &len)) == 1)
        rc = filter(c, rec, len, err, errlen);
    if (rc == 0 && k < 0) {
        int seg;
        uint64_t off;
        const char *why;
        bool lastseg;
        wal_reader_corruption(r, &seg, &off, &why, &lastseg);
        rc = tsdb_errf(err, errlen, -1, "%s: segment %d offset %" PRIu64 ": %s", dir, seg, off,
                       why);
    }
    wal_reader_close(r);
    return rc;
}

int checkpoint_create(const char *waldir, int first, int last,
                      bool (*keep)(void *arg, uint64_t ref), void *arg, int64_t mint,
                      struct checkpoint_stats *st, char *err, size_t errlen)
{
    struct checkpoint_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    char prev[4096], tmp[4096], final[4096];
    int prev_n = checkpoint_last(waldir, prev, sizeof prev);
    if (prev_n >= last)
        return tsdb_errf(err, errlen, -1, "checkpoint %d exists already", prev_n);
    if (first < 0)
        first = prev_n + 1;
    snprintf(tmp, sizeof tmp, "%s/" CHECKPOINT_PREFIX "%08d.tmp", waldir, last);
    snprintf(final, sizeof final, "%s/" CHECKPOINT_PREFIX "%08d", waldir, last);
    rm_rf(tmp);
    struct ckpt c = {.keep = keep, .arg = arg, .mint = mint, .st = st};
    ebuf_init(&c.b, 0);
    int rc = wal_open(&c.out, tmp, 0, WAL_COMPRESS_SNAPPY, err, errlen);
    if (rc == 0 && prev_n >= 0)
        rc = copy_from(&c, prev, -1, -1, err, errlen);
    if (rc == 0)
        rc = copy_from(&c, waldir, first, last, err, errlen);
    if (c.out && wal_close(c.out, rc ? NULL : err, rc ? 0 : errlen) < 0)
        rc = -1;
    if (rc == 0 && (rename(tmp, final) < 0 || fsync_dir(waldir) < 0))
        rc = tsdb_errf(err, errlen, -1, "rename %s: %s", final, strerror(errno));
    if (rc < 0)
        rm_rf(tmp);
    else
        checkpoint_delete_before(waldir, last);
    ebuf_free(&c.b);
    rec_decoded_free(&c.d);
    return rc;
}
