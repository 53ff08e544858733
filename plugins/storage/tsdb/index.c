/* plugins/storage/tsdb/index.c — index v2 writer and reader (see index.h). Section
 * starts in the TOC are the offsets before alignment padding, as Prometheus writes them;
 * readers only follow the offsets. */
#define _GNU_SOURCE
#include "index.h"
#include "crc32c.h"
#include "enc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tsdb_str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

int tsdb_labels_cmp(const struct ignis_label *a, size_t na, const struct ignis_label *b,
                    size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        int c = tsdb_str_cmp(a[i].name, a[i].name_len, b[i].name, b[i].name_len);
        if (c)
            return c;
        c = tsdb_str_cmp(a[i].value, a[i].value_len, b[i].value, b[i].value_len);
        if (c)
            return c;
    }
    return na < nb ? -1 : na > nb;
}

/* ---- writer ----------------------------------------------------------------------- */

struct pair {
    uint64_t key; /* name symbol << 32 | value symbol */
    uint32_t id;
};

struct indexw {
    char *path;
    struct fwriter f;
    char *symdata;      /* all symbols, concatenated */
    size_t *symoff;     /* nsyms + 1 offsets into symdata */
    uint32_t nsyms;
    bool have_syms;
    uint64_t toc[6];
    struct pair *pairs;
    size_t npairs, pairs_cap;
    uint32_t nseries;
    uint32_t last_id;
    struct ebuf buf;
};

enum { TOC_SYMBOLS, TOC_SERIES, TOC_LABEL_INDICES, TOC_LABEL_OFFSETS, TOC_POSTINGS,
       TOC_POSTINGS_OFFSETS };

static int werr(struct indexw *w, char *err, size_t errlen)
{
    return tsdb_errf(err, errlen, -1, "write %s: %s", w->path, strerror(errno));
}

int indexw_open(struct indexw **out, const char *path, char *err, size_t errlen)
{
    struct indexw *w = calloc(1, sizeof *w);
    if (!w)
        return tsdb_errf(err, errlen, -1, "out of memory");
    w->f.fd = -1;
    ebuf_init(&w->buf, 0);
    if (!(w->path = strdup(path)) || fwriter_open(&w->f, path, err, errlen) < 0) {
        if (!w->path)
            tsdb_errf(err, errlen, -1, "out of memory");
        indexw_abort(w);
        return -1;
    }
    uint8_t hdr[5];
    be32_put(hdr, INDEX_MAGIC);
    hdr[4] = INDEX_V2;
    if (fwriter_write(&w->f, hdr, sizeof hdr) < 0) {
        werr(w, err, errlen);
        indexw_abort(w);
        return -1;
    }
    *out = w;
    return 0;
}

void indexw_abort(struct indexw *w)
{
    if (!w)
        return;
    if (w->f.fd >= 0)
        fwriter_close(&w->f, false);
    free(w->path);
    free(w->symdata);
    free(w->symoff);
    free(w->pairs);
    ebuf_free(&w->buf);
    free(w);
}

/* Writes buf as a section body: be32 len, the bytes, be32 CRC-32C of the bytes. */
static int write_section(struct indexw *w, const struct ebuf *b)
{
    uint8_t x[4];
    if (b->len > UINT32_MAX)
        return -1;
    be32_put(x, (uint32_t)b->len);
    if (fwriter_write(&w->f, x, 4) < 0 || fwriter_write(&w->f, b->p, b->len) < 0)
        return -1;
    be32_put(x, crc32c(0, b->p, b->len));
    return fwriter_write(&w->f, x, 4);
}

static int align(struct indexw *w, unsigned to)
{
    size_t pad = (size_t)((to - w->f.off % to) % to);
    return fwriter_zeros(&w->f, pad);
}

int indexw_add_symbols(struct indexw *w, const struct tsdb_str *syms, size_t n, char *err,
                       size_t errlen)
{
    if (w->have_syms)
        return tsdb_errf(err, errlen, -1, "symbols already written");
    if (n > UINT32_MAX)
        return tsdb_errf(err, errlen, -1, "too many symbols");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && tsdb_str_cmp(syms[i - 1].p, syms[i - 1].len, syms[i].p, syms[i].len) >= 0)
            return tsdb_errf(err, errlen, -1, "symbols not sorted and unique at %zu", i);
        total += syms[i].len;
    }
    w->symdata = malloc(total ? total : 1);
    w->symoff = malloc((n + 1) * sizeof *w->symoff);
    if (!w->symdata || !w->symoff)
        return tsdb_errf(err, errlen, -1, "out of memory");
    size_t o = 0;
    ebuf_reset(&w->buf);
    ebuf_be32(&w->buf, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        w->symoff[i] = o;
        if (syms[i].len)
            memcpy(w->symdata + o, syms[i].p, syms[i].len);
        o += syms[i].len;
        ebuf_uvarint_bytes(&w->buf, syms[i].p, syms[i].len);
    }
    w->symoff[n] = o;
    w->nsyms = (uint32_t)n;
    w->have_syms = true;
    if (w->buf.err)
        return tsdb_errf(err, errlen, -1, "out of memory");
    w->toc[TOC_SYMBOLS] = w->f.off;
    if (write_section(w, &w->buf) < 0)
        return werr(w, err, errlen);
    w->toc[TOC_SERIES] = w->f.off;
    return 0;
}

/* Symbol index of s, or -1 when it is not in the table. */
static long sym_find(const struct indexw *w, const char *s, size_t len)
{
    size_t lo = 0, hi = w->nsyms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = tsdb_str_cmp(w->symdata + w->symoff[mid], w->symoff[mid + 1] - w->symoff[mid],
                             s, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int indexw_add_series(struct indexw *w, const struct ignis_label *ls, size_t nls,
                      const struct chunk_meta *chks, size_t nchks, char *err, size_t errlen)
{
    if (!w->have_syms)
        return tsdb_errf(err, errlen, -1, "series before symbols");
    if (align(w, 16) < 0)
        return werr(w, err, errlen);
    if (w->f.off / 16 > UINT32_MAX)
        return tsdb_errf(err, errlen, -1, "index series section exceeds 64 GiB");
    uint32_t id = (uint32_t)(w->f.off / 16);
    if (w->nseries && id <= w->last_id)
        return tsdb_errf(err, errlen, -1, "series ids not increasing");
    if (w->npairs + nls + 1 > w->pairs_cap) {
        size_t ncap = w->pairs_cap ? w->pairs_cap * 2 : 1024;
        while (ncap < w->npairs + nls + 1)
            ncap *= 2;
        struct pair *np = realloc(w->pairs, ncap * sizeof *np);
        if (!np)
            return tsdb_errf(err, errlen, -1, "out of memory");
        w->pairs = np;
        w->pairs_cap = ncap;
    }
    ebuf_reset(&w->buf);
    ebuf_uvarint(&w->buf, nls);
    size_t np0 = w->npairs;
    for (size_t i = 0; i < nls; i++) {
        long n = sym_find(w, ls[i].name, ls[i].name_len);
        long v = sym_find(w, ls[i].value, ls[i].value_len);
        if (n < 0 || v < 0) {
            w->npairs = np0;
            return tsdb_errf(err, errlen, -1, "label %.*s=%.*s not in the symbol table",
                             (int)ls[i].name_len, ls[i].name, (int)ls[i].value_len,
                             ls[i].value);
        }
        ebuf_uvarint(&w->buf, (uint64_t)n);
        ebuf_uvarint(&w->buf, (uint64_t)v);
        w->pairs[w->npairs++] = (struct pair){(uint64_t)n << 32 | (uint64_t)v, id};
    }
    ebuf_uvarint(&w->buf, nchks);
    for (size_t i = 0; i < nchks; i++) {
        const struct chunk_meta *c = &chks[i];
        if (i == 0) {
            ebuf_varint(&w->buf, c->mint);
            ebuf_uvarint(&w->buf, (uint64_t)c->maxt - (uint64_t)c->mint);
            ebuf_uvarint(&w->buf, c->ref);
        } else {
            ebuf_uvarint(&w->buf, (uint64_t)c->mint - (uint64_t)chks[i - 1].maxt);
            ebuf_uvarint(&w->buf, (uint64_t)c->maxt - (uint64_t)c->mint);
            ebuf_varint(&w->buf, (int64_t)(c->ref - chks[i - 1].ref));
        }
    }
    if (w->buf.err) {
        w->npairs = np0;
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    uint8_t hdr[UVARINT_MAX], crc[4];
    size_t hl = uvarint_put(hdr, w->buf.len);
    be32_put(crc, crc32c(0, w->buf.p, w->buf.len));
    if (fwriter_write(&w->f, hdr, hl) < 0 || fwriter_write(&w->f, w->buf.p, w->buf.len) < 0 ||
        fwriter_write(&w->f, crc, 4) < 0)
        return werr(w, err, errlen);
    w->last_id = id;
    w->nseries++;
    /* The all-postings list, keyed below every real pair. */
    w->pairs[w->npairs++] = (struct pair){UINT64_MAX, id};
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    /* UINT64_MAX (all postings) sorts first. */
    uint64_t kx = x->key + 1, ky = y->key + 1;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static struct tsdb_str sym(const struct indexw *w, uint32_t i)
{
    return (struct tsdb_str){w->symdata + w->symoff[i], w->symoff[i + 1] - w->symoff[i]};
}

int indexw_close(struct indexw *w, bool sync, char *err, size_t errlen)
{
    int rc = -1;
    uint64_t *name_off = NULL, *post_off = NULL;
    if (!w->have_syms && indexw_add_symbols(w, NULL, 0, err, errlen) < 0)
        goto out;
    if (w->npairs)
        qsort(w->pairs, w->npairs, sizeof *w->pairs, cmp_pair);

    /* Label indices: one per name, its values' symbol refs. */
    w->toc[TOC_LABEL_INDICES] = w->f.off;
    size_t nnames = 0;
    name_off = malloc((w->nsyms + 1) * sizeof *name_off);
    if (!name_off) {
        tsdb_errf(err, errlen, -1, "out of memory");
        goto out;
    }
    size_t i = 0;
    while (i < w->npairs && w->pairs[i].key == UINT64_MAX)
        i++;
    size_t first_real = i;
    while (i < w->npairs) {
        uint32_t name = (uint32_t)(w->pairs[i].key >> 32);
        ebuf_reset(&w->buf);
        ebuf_be32(&w->buf, 1);
        size_t cnt_at = w->buf.len;
        ebuf_be32(&w->buf, 0);
        uint32_t cnt = 0;
        uint64_t prev = UINT64_MAX;
        for (; i < w->npairs && (uint32_t)(w->pairs[i].key >> 32) == name; i++) {
            if (w->pairs[i].key == prev)
                continue;
            prev = w->pairs[i].key;
            ebuf_be32(&w->buf, (uint32_t)prev);
            cnt++;
        }
        if (w->buf.err) {
            tsdb_errf(err, errlen, -1, "out of memory");
            goto out;
        }
        be32_put(w->buf.p + cnt_at, cnt);
        if (align(w, 4) < 0)
            goto werr;
        /* The label offset table below walks the names in this same order. */
        name_off[nnames++] = w->f.off;
        if (write_section(w, &w->buf) < 0)
            goto werr;
    }

    /* Postings: the all-postings list first, then one list per pair. */
    if (align(w, 4) < 0)
        goto werr;
    w->toc[TOC_POSTINGS] = w->f.off;
    size_t nlists = 1;
    for (size_t k = first_real; k < w->npairs; k++)
        if (k == first_real || w->pairs[k].key != w->pairs[k - 1].key)
            nlists++;
    post_off = malloc(nlists * sizeof *post_off);
    if (!post_off) {
        tsdb_errf(err, errlen, -1, "out of memory");
        goto out;
    }
    size_t li = 0;
    for (size_t k = 0; k < w->npairs || li == 0;) {
        uint64_t key = k < w->npairs ? w->pairs[k].key : UINT64_MAX;
        ebuf_reset(&w->buf);
        size_t cnt_at = w->buf.len;
        ebuf_be32(&w->buf, 0);
        uint32_t cnt = 0;
        for (; k < w->npairs && w->pairs[k].key == key; k++) {
            ebuf_be32(&w->buf, w->pairs[k].id);
            cnt++;
        }
        if (w->buf.err) {
            tsdb_errf(err, errlen, -1, "out of memory");
            goto out;
        }
        be32_put(w->buf.p + cnt_at, cnt);
        if (align(w, 4) < 0)
            goto werr;
        post_off[li++] = w->f.off;
        if (write_section(w, &w->buf) < 0)
            goto werr;
        if (k >= w->npairs)
            break;
    }

    /* Label offset table: (name, offset of its label index). */
    w->toc[TOC_LABEL_OFFSETS] = w->f.off;
    ebuf_reset(&w->buf);
    ebuf_be32(&w->buf, (uint32_t)nnames);
    size_t ni = 0;
    for (size_t k = first_real; k < w->npairs; k++) {
        uint32_t name = (uint32_t)(w->pairs[k].key >> 32);
        if (k > first_real && name == (uint32_t)(w->pairs[k - 1].key >> 32))
            continue;
        struct tsdb_str s = sym(w, name);
        ebuf_byte(&w->buf, 1);
        ebuf_uvarint_bytes(&w->buf, s.p, s.len);
        ebuf_uvarint(&w->buf, name_off[ni++]);
    }
    if (w->buf.err) {
        tsdb_errf(err, errlen, -1, "out of memory");
        goto out;
    }
    if (write_section(w, &w->buf) < 0)
        goto werr;

    /* Postings offset table: (name, value, offset of its postings), sorted. */
    w->toc[TOC_POSTINGS_OFFSETS] = w->f.off;
    ebuf_reset(&w->buf);
    ebuf_be32(&w->buf, (uint32_t)li);
    ebuf_byte(&w->buf, 2);
    ebuf_uvarint_bytes(&w->buf, "", 0);
    ebuf_uvarint_bytes(&w->buf, "", 0);
    ebuf_uvarint(&w->buf, post_off[0]);
    li = 1;
    for (size_t k = first_real; k < w->npairs; k++) {
        if (k > first_real && w->pairs[k].key == w->pairs[k - 1].key)
            continue;
        struct tsdb_str n = sym(w, (uint32_t)(w->pairs[k].key >> 32));
        struct tsdb_str v = sym(w, (uint32_t)w->pairs[k].key);
        ebuf_byte(&w->buf, 2);
        ebuf_uvarint_bytes(&w->buf, n.p, n.len);
        ebuf_uvarint_bytes(&w->buf, v.p, v.len);
        ebuf_uvarint(&w->buf, post_off[li++]);
    }
    if (w->buf.err) {
        tsdb_errf(err, errlen, -1, "out of memory");
        goto out;
    }
    if (write_section(w, &w->buf) < 0)
        goto werr;

    uint8_t toc[INDEX_TOC_LEN];
    for (int t = 0; t < 6; t++)
        be64_put(toc + 8 * t, w->toc[t]);
    be32_put(toc + 48, crc32c(0, toc, 48));
    if (fwriter_write(&w->f, toc, sizeof toc) < 0)
        goto werr;
    if (fwriter_close(&w->f, sync) < 0)
        goto werr;
    rc = 0;
    goto out;
werr:
    werr(w, err, errlen);
out:
    free(name_off);
    free(post_off);
    indexw_abort(w);
    return rc;
}

/* ---- reader ----------------------------------------------------------------------- */

/* Reads the section at off: be32 len, len bytes, be32 CRC. Sets *body. */
static int read_section(const struct indexr *r, uint64_t off, struct dec *body, bool check_crc)
{
    if (off > r->m.size || r->m.size - off < 8)
        return -1;
    uint32_t len = be32_get(r->m.p + off);
    if (r->m.size - off - 4 < (uint64_t)len + 4)
        return -1;
    const uint8_t *p = r->m.p + off + 4;
    if (check_crc && crc32c(0, p, len) != be32_get(p + len))
        return -2;
    dec_init(body, p, len);
    return 0;
}

int indexr_open(struct indexr *r, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (mmap_open(&r->m, path, err, errlen) < 0)
        return -1;
    const uint8_t *p = r->m.p;
    size_t size = r->m.size;
    if (size < 5 + INDEX_TOC_LEN || be32_get(p) != INDEX_MAGIC) {
        tsdb_errf(err, errlen, -1, "%s: not an index file (bad magic)", path);
        goto fail;
    }
    r->version = p[4];
    if (r->version != INDEX_V2) {
        tsdb_errf(err, errlen, -1, "%s: unsupported index version %d", path, r->version);
        goto fail;
    }
    const uint8_t *toc = p + size - INDEX_TOC_LEN;
    if (crc32c(0, toc, 48) != be32_get(toc + 48)) {
        tsdb_errf(err, errlen, -1, "%s: TOC checksum mismatch", path);
        goto fail;
    }
    for (int t = 0; t < 6; t++) {
        r->toc[t] = be64_get(toc + 8 * t);
        if (r->toc[t] > size - INDEX_TOC_LEN) {
            tsdb_errf(err, errlen, -1, "%s: TOC entry %d out of range", path, t);
            goto fail;
        }
    }
    struct dec d;
    if (r->toc[TOC_SYMBOLS]) {
        int rc = read_section(r, r->toc[TOC_SYMBOLS], &d, true);
        if (rc < 0) {
            tsdb_errf(err, errlen, -1, "%s: symbol table %s", path,
                      rc == -2 ? "checksum mismatch" : "truncated");
            goto fail;
        }
        uint32_t n = dec_be32(&d);
        if (n > dec_left(&d)) {
            tsdb_errf(err, errlen, -1, "%s: symbol table count too large", path);
            goto fail;
        }
        r->sym_off = malloc((n ? n : 1) * sizeof *r->sym_off);
        if (!r->sym_off) {
            tsdb_errf(err, errlen, -1, "out of memory");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++) {
            r->sym_off[i] = (uint32_t)(d.p - p);
            size_t l;
            dec_uvarint_bytes(&d, &l);
            if (d.err) {
                tsdb_errf(err, errlen, -1, "%s: symbol table corrupt at %u", path, i);
                goto fail;
            }
        }
        r->nsyms = n;
    }
    if (r->toc[TOC_POSTINGS_OFFSETS]) {
        int rc = read_section(r, r->toc[TOC_POSTINGS_OFFSETS], &d, true);
        if (rc < 0) {
            tsdb_errf(err, errlen, -1, "%s: postings offset table %s", path,
                      rc == -2 ? "checksum mismatch" : "truncated");
            goto fail;
        }
        uint32_t n = dec_be32(&d);
        if (n > dec_left(&d)) {
            tsdb_errf(err, errlen, -1, "%s: postings offset table count too large", path);
            goto fail;
        }
        r->pe = malloc((n ? n : 1) * sizeof *r->pe);
        if (!r->pe) {
            tsdb_errf(err, errlen, -1, "out of memory");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++) {
            struct index_pentry *e = &r->pe[i];
            if (dec_byte(&d) != 2)
                d.err = true;
            e->name.p = (const char *)dec_uvarint_bytes(&d, &e->name.len);
            e->value.p = (const char *)dec_uvarint_bytes(&d, &e->value.len);
            e->off = dec_uvarint(&d);
            if (d.err || e->off >= size) {
                tsdb_errf(err, errlen, -1, "%s: postings offset table corrupt at %u", path, i);
                goto fail;
            }
            if (i && tsdb_str_cmp(r->pe[i - 1].name.p, r->pe[i - 1].name.len, e->name.p,
                                  e->name.len) > 0) {
                tsdb_errf(err, errlen, -1, "%s: postings offset table not sorted", path);
                goto fail;
            }
        }
        r->npe = n;
    }
    return 0;
fail:
    indexr_close(r);
    return -1;
}

void indexr_close(struct indexr *r)
{
    mmap_close(&r->m);
    free(r->sym_off);
    free(r->pe);
    r->sym_off = NULL;
    r->pe = NULL;
    r->nsyms = 0;
    r->npe = 0;
}

int indexr_symbol(const struct indexr *r, uint32_t idx, struct tsdb_str *s)
{
    if (idx >= r->nsyms)
        return -1;
    struct dec d;
    dec_init(&d, r->m.p + r->sym_off[idx], r->m.size - r->sym_off[idx]);
    s->p = (const char *)dec_uvarint_bytes(&d, &s->len);
    return d.err ? -1 : 0;
}

void indexr_name_range(const struct indexr *r, const char *name, size_t nlen, size_t *lo_out,
                       size_t *hi_out)
{
    size_t lo = 0, hi = r->npe;
    while (lo < hi) { /* first entry with entry.name >= name */
        size_t mid = lo + (hi - lo) / 2;
        if (tsdb_str_cmp(r->pe[mid].name.p, r->pe[mid].name.len, name, nlen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t a = lo;
    hi = r->npe;
    while (lo < hi) { /* first entry with entry.name > name */
        size_t mid = lo + (hi - lo) / 2;
        if (tsdb_str_cmp(r->pe[mid].name.p, r->pe[mid].name.len, name, nlen) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *lo_out = a;
    *hi_out = lo;
}

int indexr_postings_at(const struct indexr *r, size_t i, const uint8_t **ids, uint32_t *n)
{
    struct dec d;
    *ids = NULL;
    *n = 0;
    if (i >= r->npe || read_section(r, r->pe[i].off, &d, true) < 0)
        return -1;
    uint32_t cnt = dec_be32(&d);
    if (d.err || (uint64_t)cnt * 4 != dec_left(&d))
        return -1;
    *ids = d.p;
    *n = cnt;
    return 0;
}

int indexr_postings(const struct indexr *r, const char *name, size_t nlen, const char *value,
                    size_t vlen, const uint8_t **ids, uint32_t *n)
{
    size_t lo, hi;
    indexr_name_range(r, name, nlen, &lo, &hi);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = tsdb_str_cmp(r->pe[mid].value.p, r->pe[mid].value.len, value, vlen);
        if (c == 0)
            return indexr_postings_at(r, mid, ids, n);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *ids = NULL;
    *n = 0;
    return 1;
}

int indexr_series(const struct indexr *r, uint32_t id, struct index_series *s, char *err,
                  size_t errlen)
{
    uint64_t off = (uint64_t)id * 16;
    if (off < r->toc[TOC_SERIES] || off >= r->m.size)
        return tsdb_errf(err, errlen, -1, "series %u: out of range", id);
    struct dec d;
    dec_init(&d, r->m.p + off, r->m.size - off);
    uint64_t len = dec_uvarint(&d);
    if (d.err || len + 4 > dec_left(&d))
        return tsdb_errf(err, errlen, -1, "series %u: truncated", id);
    const uint8_t *body = d.p;
    if (crc32c(0, body, (size_t)len) != be32_get(body + len))
        return tsdb_errf(err, errlen, -1, "series %u: checksum mismatch", id);
    dec_init(&d, body, (size_t)len);
    uint64_t nls = dec_uvarint(&d);
    if (nls > dec_left(&d) / 2)
        return tsdb_errf(err, errlen, -1, "series %u: corrupt label count", id);
    if (nls > s->ls_cap) {
        struct ignis_label *nl = realloc(s->ls, nls * sizeof *nl);
        if (!nl)
            return tsdb_errf(err, errlen, -1, "out of memory");
        s->ls = nl;
        s->ls_cap = nls;
    }
    for (uint64_t i = 0; i < nls; i++) {
        struct tsdb_str n, v;
        if (indexr_symbol(r, dec_uvarint32(&d), &n) < 0 ||
            indexr_symbol(r, dec_uvarint32(&d), &v) < 0 || d.err)
            return tsdb_errf(err, errlen, -1, "series %u: bad symbol reference", id);
        s->ls[i] = (struct ignis_label){n.p, n.len, v.p, v.len};
    }
    s->nls = nls;
    uint64_t nchks = dec_uvarint(&d);
    if (nchks > dec_left(&d) / 3)
        return tsdb_errf(err, errlen, -1, "series %u: corrupt chunk count", id);
    if (nchks > s->chks_cap) {
        struct chunk_meta *nc = realloc(s->chks, nchks * sizeof *nc);
        if (!nc)
            return tsdb_errf(err, errlen, -1, "out of memory");
        s->chks = nc;
        s->chks_cap = nchks;
    }
    for (uint64_t i = 0; i < nchks; i++) {
        struct chunk_meta *c = &s->chks[i];
        if (i == 0) {
            c->mint = dec_varint(&d);
            c->maxt = (int64_t)((uint64_t)c->mint + dec_uvarint(&d));
            c->ref = dec_uvarint(&d);
        } else {
            c->mint = (int64_t)((uint64_t)s->chks[i - 1].maxt + dec_uvarint(&d));
            c->maxt = (int64_t)((uint64_t)c->mint + dec_uvarint(&d));
            c->ref = s->chks[i - 1].ref + (uint64_t)dec_varint(&d);
        }
    }
    if (d.err)
        return tsdb_errf(err, errlen, -1, "series %u: truncated chunk metas", id);
    s->nchks = nchks;
    return 0;
}

void index_series_free(struct index_series *s)
{
    free(s->ls);
    free(s->chks);
    memset(s, 0, sizeof *s);
}
