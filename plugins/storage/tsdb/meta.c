/* plugins/storage/tsdb/meta.c — meta.json, tombstones and ULIDs (see meta.h). */
#define _GNU_SOURCE
#include "meta.h"
#include "crc32c.h"
#include "enc.h"
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int ulid_new(struct ulid *u, int64_t ms)
{
    uint8_t b[16];
    uint64_t t = (uint64_t)ms & 0xffffffffffffull;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(t >> (40 - 8 * i));
    if (getrandom(b + 6, 10, 0) != 10)
        return -1;
    /* 128 bits as 26 base32 digits, most significant first (the top digit holds 3). */
    for (int i = 0; i < ULID_LEN; i++) {
        int bit = 5 * (ULID_LEN - 1 - i); /* position of this digit's low bit */
        unsigned v = 0;
        for (int k = 4; k >= 0; k--) {
            int pos = bit + k; /* 0 = least significant of the 128 */
            if (pos >= 128 || pos < 0)
                continue;
            int byte = 15 - pos / 8;
            v |= (unsigned)((b[byte] >> (pos % 8)) & 1) << k;
        }
        u->s[i] = crockford[v];
    }
    u->s[ULID_LEN] = 0;
    return 0;
}

bool ulid_valid(const char *s)
{
    if (strlen(s) != ULID_LEN || s[0] > '7')
        return false;
    for (int i = 0; i < ULID_LEN; i++)
        if (!strchr(crockford, s[i]) || !s[i])
            return false;
    return true;
}

static json_t *ulid_array(const struct ulid *u, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(u[i].s));
    return a;
}

int meta_write(const char *dir, const struct block_meta *m, char *err, size_t errlen)
{
    json_t *stats = json_object(), *comp = json_object(), *root = json_object();
    if (!stats || !comp || !root) {
        json_decref(stats);
        json_decref(comp);
        json_decref(root);
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    json_object_set_new(stats, "numSamples", json_integer((json_int_t)m->num_samples));
    json_object_set_new(stats, "numSeries", json_integer((json_int_t)m->num_series));
    json_object_set_new(stats, "numChunks", json_integer((json_int_t)m->num_chunks));
    if (m->num_tombstones)
        json_object_set_new(stats, "numTombstones", json_integer((json_int_t)m->num_tombstones));
    json_object_set_new(comp, "level", json_integer(m->level));
    if (m->deletable)
        json_object_set_new(comp, "deletable", json_true());
    json_object_set_new(comp, "sources", ulid_array(m->sources, m->nsources));
    if (m->nparents) {
        json_t *ps = json_array();
        for (size_t i = 0; ps && i < m->nparents; i++)
            json_array_append_new(ps, json_pack("{s:s}", "ulid", m->parents[i].s));
        json_object_set_new(comp, "parents", ps);
    }
    json_object_set_new(root, "ulid", json_string(m->ulid.s));
    json_object_set_new(root, "minTime", json_integer(m->min_time));
    json_object_set_new(root, "maxTime", json_integer(m->max_time));
    json_object_set_new(root, "stats", stats);
    json_object_set_new(root, "compaction", comp);
    json_object_set_new(root, "version", json_integer(1));
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return tsdb_errf(err, errlen, -1, "out of memory");
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/meta.json.tmp", dir);
    snprintf(path, sizeof path, "%s/meta.json", dir);
    struct fwriter f;
    int rc = fwriter_open(&f, tmp, err, errlen);
    if (rc == 0) {
        if (fwriter_write(&f, text, strlen(text)) < 0 || fwriter_close(&f, true) < 0 ||
            rename(tmp, path) < 0)
            rc = tsdb_errf(err, errlen, -1, "write %s: %s", path, strerror(errno));
        if (f.fd >= 0)
            fwriter_close(&f, false);
    }
    free(text);
    return rc;
}

static int read_ulids(json_t *a, struct ulid **out, size_t *n, bool objects)
{
    *out = NULL;
    *n = 0;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > META_MAX_SOURCES)
        return -1;
    size_t cnt = json_array_size(a);
    if (!cnt)
        return 0;
    struct ulid *u = calloc(cnt, sizeof *u);
    if (!u)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(a, i);
        if (objects)
            e = json_object_get(e, "ulid");
        const char *s = json_string_value(e);
        if (!s || !ulid_valid(s)) {
            free(u);
            return -1;
        }
        memcpy(u[i].s, s, ULID_LEN + 1);
    }
    *out = u;
    *n = cnt;
    return 0;
}

int meta_read(const char *dir, struct block_meta *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tsdb_errf(err, errlen, -1, "%s:%d: %s", path, je.line, je.text);
    int rc = -1;
    const char *ulid = json_string_value(json_object_get(root, "ulid"));
    json_t *mint = json_object_get(root, "minTime"), *maxt = json_object_get(root, "maxTime");
    json_t *ver = json_object_get(root, "version");
    json_t *stats = json_object_get(root, "stats"), *comp = json_object_get(root, "compaction");
    if (!ulid || !ulid_valid(ulid)) {
        tsdb_errf(err, errlen, -1, "%s: missing or bad ulid", path);
        goto out;
    }
    if (!json_is_integer(mint) || !json_is_integer(maxt)) {
        tsdb_errf(err, errlen, -1, "%s: missing minTime or maxTime", path);
        goto out;
    }
    if (json_integer_value(ver) != 1) {
        tsdb_errf(err, errlen, -1, "%s: unsupported version", path);
        goto out;
    }
    memcpy(m->ulid.s, ulid, ULID_LEN + 1);
    m->min_time = json_integer_value(mint);
    m->max_time = json_integer_value(maxt);
    m->num_samples = (uint64_t)json_integer_value(json_object_get(stats, "numSamples"));
    m->num_series = (uint64_t)json_integer_value(json_object_get(stats, "numSeries"));
    m->num_chunks = (uint64_t)json_integer_value(json_object_get(stats, "numChunks"));
    m->num_tombstones = (uint64_t)json_integer_value(json_object_get(stats, "numTombstones"));
    m->level = (int)json_integer_value(json_object_get(comp, "level"));
    m->deletable = json_is_true(json_object_get(comp, "deletable"));
    if (read_ulids(json_object_get(comp, "sources"), &m->sources, &m->nsources, false) < 0 ||
        read_ulids(json_object_get(comp, "parents"), &m->parents, &m->nparents, true) < 0) {
        tsdb_errf(err, errlen, -1, "%s: bad compaction sources or parents", path);
        meta_free(m);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

void meta_free(struct block_meta *m)
{
    free(m->sources);
    free(m->parents);
    m->sources = m->parents = NULL;
    m->nsources = m->nparents = 0;
}

int tombstones_add(struct tombstones *t, uint64_t ref, int64_t mint, int64_t maxt)
{
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        struct tombstone *nv = realloc(t->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        t->v = nv;
        t->cap = ncap;
    }
    t->v[t->n++] = (struct tombstone){ref, mint, maxt};
    return 0;
}

static int cmp_stone(const void *a, const void *b)
{
    const struct tombstone *x = a, *y = b;
    if (x->ref != y->ref)
        return x->ref < y->ref ? -1 : 1;
    return x->mint < y->mint ? -1 : x->mint > y->mint;
}

void tombstones_normalize(struct tombstones *t)
{
    if (t->n < 2)
        return;
    qsort(t->v, t->n, sizeof *t->v, cmp_stone);
    size_t o = 0;
    for (size_t i = 1; i < t->n; i++) {
        struct tombstone *last = &t->v[o];
        if (t->v[i].ref == last->ref &&
            (last->maxt == INT64_MAX || t->v[i].mint <= last->maxt + 1)) {
            if (t->v[i].maxt > last->maxt)
                last->maxt = t->v[i].maxt;
        } else {
            t->v[++o] = t->v[i];
        }
    }
    t->n = o + 1;
}

const struct tombstone *tombstones_of(const struct tombstones *t, uint64_t ref, size_t *n)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].ref < ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t e = lo;
    while (e < t->n && t->v[e].ref == ref)
        e++;
    *n = e - lo;
    return *n ? &t->v[lo] : NULL;
}

bool tombstones_covers(const struct tombstones *t, uint64_t ref, int64_t ts)
{
    size_t n;
    const struct tombstone *v = tombstones_of(t, ref, &n);
    for (size_t i = 0; i < n; i++)
        if (v[i].mint <= ts && ts <= v[i].maxt)
            return true;
    return false;
}

void tombstones_free(struct tombstones *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

int tombstones_write(const char *dir, const struct tombstones *t, char *err, size_t errlen)
{
    struct ebuf b;
    ebuf_init(&b, 0);
    ebuf_be32(&b, TOMBSTONES_MAGIC);
    ebuf_byte(&b, TOMBSTONES_VERSION);
    for (size_t i = 0; i < t->n; i++) {
        ebuf_uvarint(&b, t->v[i].ref);
        ebuf_varint(&b, t->v[i].mint);
        ebuf_varint(&b, t->v[i].maxt);
    }
    ebuf_be32(&b, b.err ? 0 : crc32c(0, b.p + 5, b.len - 5));
    if (b.err) {
        ebuf_free(&b);
        return tsdb_errf(err, errlen, -1, "out of memory");
    }
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/tombstones.tmp", dir);
    snprintf(path, sizeof path, "%s/tombstones", dir);
    struct fwriter f;
    int rc = fwriter_open(&f, tmp, err, errlen);
    if (rc == 0) {
        if (fwriter_write(&f, b.p, b.len) < 0 || fwriter_close(&f, true) < 0 ||
            rename(tmp, path) < 0)
            rc = tsdb_errf(err, errlen, -1, "write %s: %s", path, strerror(errno));
        if (f.fd >= 0)
            fwriter_close(&f, false);
    }
    ebuf_free(&b);
    return rc;
}

int tombstones_read(const char *dir, struct tombstones *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    char path[4096];
    snprintf(path, sizeof path, "%s/tombstones", dir);
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    struct mmap_file m;
    if (mmap_open(&m, path, err, errlen) < 0)
        return -1;
    int rc = 0;
    if (m.size < 9 || be32_get(m.p) != TOMBSTONES_MAGIC) {
        rc = tsdb_errf(err, errlen, -1, "%s: bad magic", path);
    } else if (m.p[4] != TOMBSTONES_VERSION) {
        rc = tsdb_errf(err, errlen, -1, "%s: unknown version %u", path, m.p[4]);
    } else if (crc32c(0, m.p + 5, m.size - 9) != be32_get(m.p + m.size - 4)) {
        rc = tsdb_errf(err, errlen, -1, "%s: checksum mismatch", path);
    } else {
        struct dec d;
        dec_init(&d, m.p + 5, m.size - 9);
        while (dec_left(&d) && rc == 0) {
            uint64_t ref = dec_uvarint(&d);
            int64_t a = dec_varint(&d), b = dec_varint(&d);
            if (d.err)
                rc = tsdb_errf(err, errlen, -1, "%s: truncated entry", path);
            else if (tombstones_add(t, ref, a, b) < 0)
                rc = tsdb_errf(err, errlen, -1, "out of memory");
        }
        tombstones_normalize(t);
    }
    mmap_close(&m);
    if (rc < 0)
        tombstones_free(t);
    return rc;
}
