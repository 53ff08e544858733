/* sdk/src/textparse_gzip.c — a streaming gunzip (zlib) into one growing buffer, bounded by
 * a body size limit, so a scrape can inflate a compressed body as it arrives and parse the
 * result in place. A zip bomb stops at the limit, not at the end of memory. */
#include <ignis/textparse.h>
#include <ignis/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* First allocation; the buffer doubles from here up to the limit. */
#define IG_GUNZIP_INITIAL 16384
/* zlib: 15 window bits plus 16 selects the gzip wrapper. */
#define IG_GUNZIP_WBITS (15 + 16)

struct ignis_gunzip {
    z_stream z;
    bool z_ready;   /* inflateInit2 done */
    bool in_member; /* inside a gzip member (between header and trailer) */
    int error;      /* sticky error code, 0 when fine */
    char *buf;
    size_t len, cap, limit;
    char msg[128];
};

static int fail(struct ignis_gunzip *g, int code, char *err, size_t errlen, const char *what)
{
    if (!g->error) {
        g->error = code;
        snprintf(g->msg, sizeof g->msg, "%s", what);
    }
    if (err && errlen) {
        snprintf(err, errlen, "%s", g->msg);
    }
    return g->error;
}

struct ignis_gunzip *ignis_gunzip_new(size_t limit)
{
    struct ignis_gunzip *g = calloc(1, sizeof *g);
    if (!g) {
        return NULL;
    }
    g->limit = limit;
    if (inflateInit2(&g->z, IG_GUNZIP_WBITS) != Z_OK) {
        free(g);
        return NULL;
    }
    g->z_ready = true;
    return g;
}

void ignis_gunzip_free(struct ignis_gunzip *g)
{
    if (!g) {
        return;
    }
    if (g->z_ready) {
        inflateEnd(&g->z);
    }
    free(g->buf);
    free(g);
}

void ignis_gunzip_reset(struct ignis_gunzip *g, size_t limit)
{
    inflateReset(&g->z);
    g->in_member = false;
    g->error = 0;
    g->msg[0] = 0;
    g->len = 0;
    g->limit = limit;
}

/* Makes room for at least one more output byte plus the NUL, unless the limit forbids. */
static int grow(struct ignis_gunzip *g, char *err, size_t errlen)
{
    size_t max = g->limit && g->limit < SIZE_MAX - 1 ? g->limit + 1 : SIZE_MAX;
    if (g->len + 1 < g->cap) {
        return 0;
    }
    if (g->cap >= max) {
        return 0; /* at the limit: feed() probes whether more output follows */
    }
    size_t nc = g->cap ? g->cap * 2 : IG_GUNZIP_INITIAL;
    if (nc > max) {
        nc = max;
    }
    char *nb = realloc(g->buf, nc);
    if (!nb) {
        return fail(g, IGNIS_E_NOMEM, err, errlen, "out of memory inflating the body");
    }
    g->buf = nb;
    g->cap = nc;
    return 0;
}

int ignis_gunzip_feed(struct ignis_gunzip *g, const void *in, size_t len, char *err, size_t errlen)
{
    if (g->error) {
        return fail(g, g->error, err, errlen, g->msg);
    }
    const unsigned char *src = in;
    while (len > 0) {
        /* zlib counts in uInt: feed at most 1 GiB at a time. */
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        g->z.next_in = (unsigned char *)(uintptr_t)src;
        g->z.avail_in = chunk;
        while (g->z.avail_in > 0) {
            if (grow(g, err, errlen) < 0) {
                return g->error;
            }
            /* Leave one byte for the NUL; never let the output pass the limit. */
            size_t room = g->cap - g->len - 1;
            if (g->limit && g->len + room > g->limit) {
                room = g->limit - g->len;
            }
            if (room == 0) {
                /* At the limit: any further output byte is over it. Probe with one byte. */
                unsigned char probe;
                g->z.next_out = &probe;
                g->z.avail_out = 1;
                int rc = inflate(&g->z, Z_NO_FLUSH);
                if (g->z.avail_out == 0) {
                    return fail(g, IGNIS_E_LIMIT, err, errlen,
                                "decompressed body exceeds the size limit");
                }
                if (rc == Z_STREAM_END) {
                    g->in_member = false;
                    inflateReset(&g->z);
                    continue;
                }
                if (rc != Z_OK && rc != Z_BUF_ERROR) {
                    return fail(g, IGNIS_E_INVALID, err, errlen, "corrupt gzip data");
                }
                g->in_member = true;
                continue;
            }
            g->z.next_out = (unsigned char *)g->buf + g->len;
            g->z.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
            uInt before = g->z.avail_out;
            int rc = inflate(&g->z, Z_NO_FLUSH);
            g->len += before - g->z.avail_out;
            g->buf[g->len] = 0;
            if (rc == Z_STREAM_END) {
                /* A member ended; another may follow (gzip -c a b > c). */
                g->in_member = false;
                inflateReset(&g->z);
                continue;
            }
            if (rc == Z_BUF_ERROR && g->z.avail_out == 0) {
                continue;
            }
            if (rc != Z_OK) {
                return fail(g, IGNIS_E_INVALID, err, errlen,
                            g->z.msg ? g->z.msg : "corrupt gzip data");
            }
            g->in_member = true;
        }
        src += chunk;
        len -= chunk;
    }
    return 0;
}

int ignis_gunzip_finish(struct ignis_gunzip *g, char *err, size_t errlen)
{
    if (g->error) {
        return fail(g, g->error, err, errlen, g->msg);
    }
    if (g->in_member) {
        return fail(g, IGNIS_E_INVALID, err, errlen, "truncated gzip data");
    }
    if (!g->buf && grow(g, err, errlen) < 0) {
        return g->error;
    }
    g->buf[g->len] = 0;
    return 0;
}

const char *ignis_gunzip_data(const struct ignis_gunzip *g, size_t *len)
{
    *len = g->len;
    return g->buf ? g->buf : "";
}

int ignis_gunzip_all(const void *in, size_t len, size_t limit, char **out, size_t *out_len,
                     char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    struct ignis_gunzip *g = ignis_gunzip_new(limit);
    if (!g) {
        if (err && errlen) {
            snprintf(err, errlen, "out of memory");
        }
        return IGNIS_E_NOMEM;
    }
    int rc = ignis_gunzip_feed(g, in, len, err, errlen);
    if (rc == 0) {
        rc = ignis_gunzip_finish(g, err, errlen);
    }
    if (rc == 0) {
        *out = g->buf;
        *out_len = g->len;
        g->buf = NULL;
    }
    ignis_gunzip_free(g);
    return rc;
}
