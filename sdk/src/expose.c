/* sdk/src/expose.c — the exposition writer: a metric-family sink that renders the
 * Prometheus text format 0.0.4 (also as text 1.0.0) or OpenMetrics 1.0 text into an
 * evbuffer, with each format's escaping, number layout and suffix rules, and the
 * negotiated treatment of UTF-8 names. It stages output in its own buffer and hands
 * it to the evbuffer in large pieces; nothing is allocated per sample. */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <ignis/expose.h>
#include "metrics_int.h"

/* Staging buffer: big enough that evbuffer_add is called rarely. */
#define W_BUFSZ (64 * 1024)
/* Room we make sure of before writing one number or a short token. */
#define W_TOKEN 64

/* Byte classes for escaping: 0 plain ASCII, 1 escaped in label values, quoted names
 * and OpenMetrics HELP (\ " LF), 2 start of a multi-byte UTF-8 sequence or invalid. */
static unsigned char byte_class[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    for (int c = 0x80; c < 256; c++)
        byte_class[c] = 2;
    byte_class['\\'] = 1;
    byte_class['"'] = 1;
    byte_class['\n'] = 1;
}

struct writer {
    struct ignis_sink sink; /* first: the sink pointer is the writer */
    struct evbuffer *out;
    enum ignis_expose_kind kind;
    enum ignis_escaping esc;
    bool om;
    bool failed;

    char *buf;
    size_t len;

    /* the current family */
    bool have_family;
    enum ignis_metric_type type;
    bool quoted;   /* name written in quotes (allow-utf-8, non-legacy name) */
    char *name;    /* escaped base name (inside quotes: with quote escaping) */
    size_t namelen, namecap;

    /* family names written so far, to refuse duplicates: open addressing on offsets
     * into an arena of NUL-terminated names */
    char *arena;
    size_t arenalen, arenacap;
    uint32_t *set; /* offset + 1, 0 = empty */
    uint64_t *sethash;
    size_t setcap, setn;
};

static const struct ignis_sink_ops writer_ops;

/* ---- output ------------------------------------------------------------------- */

static void flush(struct writer *w)
{
    if (w->len && evbuffer_add(w->out, w->buf, w->len) != 0)
        w->failed = true;
    w->len = 0;
}

static inline void need(struct writer *w, size_t n)
{
    if (w->len + n > W_BUFSZ)
        flush(w);
}

static inline void put(struct writer *w, const char *s, size_t n)
{
    if (w->len + n > W_BUFSZ) {
        flush(w);
        if (n > W_BUFSZ) {
            if (evbuffer_add(w->out, s, n) != 0)
                w->failed = true;
            return;
        }
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static inline void putc1(struct writer *w, char c)
{
    if (w->len + 1 > W_BUFSZ)
        flush(w);
    w->buf[w->len++] = c;
}

#define PUTS(w, lit) put((w), (lit), sizeof(lit) - 1)

/* Writes s escaped: backslash and LF always, '"' when quotes is set. Returns -1 when s
 * is not valid UTF-8 (nothing else is wrong with a string). */
static int put_escaped(struct writer *w, const char *s, size_t n, bool quotes)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0, i = 0;
    while (i < n) {
        unsigned char cls = byte_class[p[i]];
        if (cls == 0 || (p[i] == '"' && !quotes)) {
            i++;
            continue;
        }
        if (cls == 2) {
            uint32_t cp;
            size_t k = ig_utf8_seq(p + i, n - i, &cp);
            if (!k)
                return -1;
            i += k;
            continue;
        }
        put(w, s + run, i - run);
        if (p[i] == '\n')
            PUTS(w, "\\n");
        else if (p[i] == '\\')
            PUTS(w, "\\\\");
        else
            PUTS(w, "\\\"");
        i++;
        run = i;
    }
    put(w, s + run, n - run);
    return 0;
}

/* ---- names -------------------------------------------------------------------- */

static inline bool legacy_char(uint32_t cp, size_t pos, bool label)
{
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_')
        return true;
    if (cp == ':' && !label)
        return true;
    return cp >= '0' && cp <= '9' && pos > 0;
}

size_t ignis_escape_name(char *out, size_t outlen, const char *name, size_t len, int is_label,
                         enum ignis_escaping escaping)
{
    size_t o = 0;
#define EMIT(c)                                                                         \
    do {                                                                                \
        if (o + 1 < outlen)                                                             \
            out[o] = (c);                                                               \
        o++;                                                                            \
    } while (0)
    bool legacy = is_label ? ig_legacy_label_name(name, len) : ig_legacy_metric_name(name, len);
    if (escaping == IGNIS_ESCAPE_ALLOW_UTF8 ||
        (legacy && escaping != IGNIS_ESCAPE_DOTS)) {
        for (size_t i = 0; i < len; i++)
            EMIT(name[i]);
    } else {
        const unsigned char *p = (const unsigned char *)name;
        if (escaping == IGNIS_ESCAPE_VALUES) {
            EMIT('U');
            EMIT('_');
            EMIT('_');
        }
        size_t i = 0, pos = 0;
        while (i < len) {
            uint32_t cp;
            size_t k = ig_utf8_seq(p + i, len - i, &cp);
            if (!k) {
                k = 1;
                cp = 0xfffd; /* invalid byte: the replacement character */
            }
            if (escaping == IGNIS_ESCAPE_UNDERSCORES) {
                EMIT(legacy_char(cp, pos, is_label) ? (char)cp : '_');
            } else if (escaping == IGNIS_ESCAPE_DOTS) {
                if (cp == '_') {
                    EMIT('_');
                    EMIT('_');
                } else if (cp == '.') {
                    for (const char *t = "_dot_"; *t; t++)
                        EMIT(*t);
                } else {
                    EMIT(legacy_char(cp, pos, is_label) ? (char)cp : '_');
                }
            } else { /* VALUES */
                if (cp == '_') {
                    EMIT('_');
                    EMIT('_');
                } else if (legacy_char(cp, pos, is_label)) {
                    EMIT((char)cp);
                } else {
                    char hex[16];
                    int hn = snprintf(hex, sizeof hex, "_%X_", (unsigned)cp);
                    for (int h = 0; h < hn; h++)
                        EMIT(hex[h]);
                }
            }
            i += k;
            pos++;
        }
    }
    if (outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
#undef EMIT
    return o;
}

/* Writes a label name: as is when legacy, quoted under allow-utf-8, else escaped. */
static int put_label_name(struct writer *w, const char *s, size_t n)
{
    if (w->esc != IGNIS_ESCAPE_DOTS && ig_legacy_label_name(s, n)) {
        put(w, s, n);
        return 0;
    }
    if (n == 0 || !ig_utf8_ok(s, n))
        return -1;
    if (w->esc == IGNIS_ESCAPE_ALLOW_UTF8) {
        putc1(w, '"');
        put_escaped(w, s, n, true);
        putc1(w, '"');
        return 0;
    }
    char tmp[256];
    size_t need_len = ignis_escape_name(tmp, sizeof tmp, s, n, 1, w->esc);
    if (need_len < sizeof tmp) {
        put(w, tmp, need_len);
        return 0;
    }
    char *big = malloc(need_len + 1); /* names this long are rare */
    if (!big)
        return -1;
    ignis_escape_name(big, need_len + 1, s, n, 1, w->esc);
    put(w, big, need_len);
    free(big);
    return 0;
}

/* ---- numbers ------------------------------------------------------------------ */

static inline void put_double(struct writer *w, double v)
{
    need(w, W_TOKEN);
    w->len += ig_fmt_double(w->buf + w->len, v, w->om);
}

static inline void put_u64(struct writer *w, uint64_t u)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    put(w, tmp + sizeof tmp - n, (size_t)n);
}

static inline void put_i64(struct writer *w, int64_t v)
{
    if (v < 0) {
        putc1(w, '-');
        put_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(w, (uint64_t)v);
    }
}

/* OpenMetrics timestamps are seconds: ms / 1000 written exactly, without trailing
 * fractional zeros. */
static void put_om_ts(struct writer *w, int64_t ms)
{
    uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (ms < 0)
        putc1(w, '-');
    put_u64(w, a / 1000);
    unsigned frac = (unsigned)(a % 1000);
    if (frac) {
        char f[4] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                     (char)('0' + frac % 10)};
        size_t n = 4;
        while (f[n - 1] == '0')
            n--;
        put(w, f, n);
    }
}

/* ---- families ------------------------------------------------------------------- */

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Adds name to the set of written families; 1 when it was there already, -1 on OOM. */
static int family_seen(struct writer *w, const char *name, size_t n)
{
    if ((w->setn + 1) * 2 > w->setcap) {
        size_t cap = w->setcap ? w->setcap * 2 : 64;
        uint32_t *ns = calloc(cap, sizeof *ns);
        uint64_t *nh = calloc(cap, sizeof *nh);
        if (!ns || !nh) {
            free(ns);
            free(nh);
            return -1;
        }
        for (size_t i = 0; i < w->setcap; i++) {
            if (!w->set[i])
                continue;
            size_t j = w->sethash[i] & (cap - 1);
            while (ns[j])
                j = (j + 1) & (cap - 1);
            ns[j] = w->set[i];
            nh[j] = w->sethash[i];
        }
        free(w->set);
        free(w->sethash);
        w->set = ns;
        w->sethash = nh;
        w->setcap = cap;
    }
    uint64_t h = hash_str(name, n);
    size_t j = h & (w->setcap - 1);
    while (w->set[j]) {
        const char *s = w->arena + w->set[j] - 1;
        if (w->sethash[j] == h && strlen(s) == n && memcmp(s, name, n) == 0)
            return 1;
        j = (j + 1) & (w->setcap - 1);
    }
    if (w->arenalen + n + 1 > w->arenacap) {
        size_t cap = (w->arenalen + n + 1) * 2;
        if (cap > UINT32_MAX)
            return -1;
        char *a = realloc(w->arena, cap);
        if (!a)
            return -1;
        w->arena = a;
        w->arenacap = cap;
    }
    memcpy(w->arena + w->arenalen, name, n);
    w->arena[w->arenalen + n] = '\0';
    w->set[j] = (uint32_t)w->arenalen + 1;
    w->sethash[j] = h;
    w->arenalen += n + 1;
    w->setn++;
    return 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool unit_ok(const char *u)
{
    for (const char *p = u; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == ':'))
            return false;
    }
    return true;
}

/* Writes the current family's name followed by suffix, for a metadata line: quoted
 * (allow-utf-8, non-legacy) or plain. */
static void put_meta_name(struct writer *w, const char *suffix)
{
    if (w->quoted)
        putc1(w, '"');
    put(w, w->name, w->namelen);
    put(w, suffix, strlen(suffix));
    if (w->quoted)
        putc1(w, '"');
}

static const char *text_type(enum ignis_metric_type t)
{
    switch (t) {
    case IGNIS_METRIC_COUNTER: return "counter";
    case IGNIS_METRIC_GAUGE: return "gauge";
    case IGNIS_METRIC_HISTOGRAM: return "histogram";
    case IGNIS_METRIC_SUMMARY: return "summary";
    case IGNIS_METRIC_INFO: /* text 0.0.4 has neither infos nor statesets: gauges */
    case IGNIS_METRIC_STATESET: return "gauge";
    /* nor gauge histograms: a histogram, its _gcount and _gsum written as _count, _sum */
    case IGNIS_METRIC_GAUGEHISTOGRAM: return "histogram";
    default: return "untyped";
    }
}

static int w_family(void *impl, const char *name, enum ignis_metric_type type, const char *help,
                    const char *unit)
{
    struct writer *w = impl;
    w->have_family = false;
    if (type < IGNIS_METRIC_UNKNOWN || type > IGNIS_METRIC_STATESET)
        goto refuse;
    size_t n = strlen(name);
    if (type == IGNIS_METRIC_COUNTER && ends_with(name, n, "_total"))
        n -= 6;
    else if (type == IGNIS_METRIC_INFO && ends_with(name, n, "_info"))
        n -= 5;
    size_t hn = strlen(help);
    if (n == 0 || !ig_utf8_ok(name, n) || !ig_utf8_ok(help, hn) || !unit_ok(unit))
        goto refuse;
    if (*unit) {
        size_t un = strlen(unit);
        if (type == IGNIS_METRIC_INFO || type == IGNIS_METRIC_STATESET || n <= un + 1 ||
            name[n - un - 1] != '_' || memcmp(name + n - un, unit, un) != 0)
            goto refuse;
    }

    /* the base name as written */
    bool legacy = ig_legacy_metric_name(name, n);
    w->quoted = !legacy && w->esc == IGNIS_ESCAPE_ALLOW_UTF8;
    size_t want;
    if (w->quoted) {
        want = 0;
        for (size_t i = 0; i < n; i++)
            want += (name[i] == '\\' || name[i] == '"' || name[i] == '\n') ? 2 : 1;
    } else {
        want = ignis_escape_name(NULL, 0, name, n, 0, w->esc);
    }
    if (want + 1 > w->namecap) {
        char *nn = realloc(w->name, want + 1);
        if (!nn)
            goto refuse;
        w->name = nn;
        w->namecap = want + 1;
    }
    if (w->quoted) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            char c = name[i];
            if (c == '\\' || c == '"' || c == '\n') {
                w->name[o++] = '\\';
                c = c == '\n' ? 'n' : c;
            }
            w->name[o++] = c;
        }
        w->namelen = o;
    } else {
        w->namelen = ignis_escape_name(w->name, w->namecap, name, n, 0, w->esc);
    }

    /* the name metadata lines carry */
    const char *meta_suffix = "";
    if (!w->om && type == IGNIS_METRIC_COUNTER)
        meta_suffix = "_total";
    else if (!w->om && type == IGNIS_METRIC_INFO)
        meta_suffix = "_info";
    {
        char stackbuf[256];
        size_t ms = strlen(meta_suffix), total = w->namelen + ms;
        char *key = total <= sizeof stackbuf ? stackbuf : malloc(total);
        if (!key)
            goto refuse;
        memcpy(key, w->name, w->namelen);
        memcpy(key + w->namelen, meta_suffix, ms);
        int seen = family_seen(w, key, total);
        if (key != stackbuf)
            free(key);
        if (seen != 0)
            goto refuse;
    }

    w->type = type;
    w->have_family = true;
    if (w->om) {
        PUTS(w, "# TYPE ");
        put_meta_name(w, "");
        putc1(w, ' ');
        const char *tn = ignis_metric_type_name(type);
        put(w, tn, strlen(tn));
        putc1(w, '\n');
        if (*unit) {
            PUTS(w, "# UNIT ");
            put_meta_name(w, "");
            putc1(w, ' ');
            put(w, unit, strlen(unit));
            putc1(w, '\n');
        }
        if (hn) {
            PUTS(w, "# HELP ");
            put_meta_name(w, "");
            putc1(w, ' ');
            put_escaped(w, help, hn, true);
            putc1(w, '\n');
        }
    } else {
        if (hn) {
            PUTS(w, "# HELP ");
            put_meta_name(w, meta_suffix);
            putc1(w, ' ');
            put_escaped(w, help, hn, false);
            putc1(w, '\n');
        }
        PUTS(w, "# TYPE ");
        put_meta_name(w, meta_suffix);
        putc1(w, ' ');
        const char *tn = text_type(type);
        put(w, tn, strlen(tn));
        putc1(w, '\n');
    }
    return 0;
refuse:
    w->failed = true;
    return -1;
}

/* ---- samples -------------------------------------------------------------------- */

enum vkind { V_FLOAT, V_INT, V_SKIP };

/* Maps a suffix to what is written for the current family's type; NULL when the type
 * has no such sample. *k says how the value is written in OpenMetrics (integers where
 * the spec wants counts), or that text 0.0.4 drops the sample (_created). */
static const char *map_suffix(const struct writer *w, const char *sx, enum vkind *k)
{
    *k = V_FLOAT;
    switch (w->type) {
    case IGNIS_METRIC_COUNTER:
        if (!*sx || strcmp(sx, "_total") == 0)
            return "_total";
        if (strcmp(sx, "_created") == 0) {
            *k = w->om ? V_FLOAT : V_SKIP;
            return sx;
        }
        return NULL;
    case IGNIS_METRIC_INFO:
        if (!*sx || strcmp(sx, "_info") == 0) {
            *k = V_INT;
            return "_info";
        }
        return NULL;
    case IGNIS_METRIC_HISTOGRAM:
        if (strcmp(sx, "_bucket") == 0 || strcmp(sx, "_count") == 0) {
            *k = V_INT;
            return sx;
        }
        if (strcmp(sx, "_sum") == 0)
            return sx;
        if (strcmp(sx, "_created") == 0) {
            *k = w->om ? V_FLOAT : V_SKIP;
            return sx;
        }
        return NULL;
    case IGNIS_METRIC_GAUGEHISTOGRAM:
        if (strcmp(sx, "_bucket") == 0) {
            *k = V_INT;
            return sx;
        }
        if (strcmp(sx, "_gcount") == 0) {
            *k = V_INT;
            return w->om ? sx : "_count";
        }
        if (strcmp(sx, "_gsum") == 0)
            return w->om ? sx : "_sum";
        return NULL;
    case IGNIS_METRIC_SUMMARY:
        if (!*sx || strcmp(sx, "_sum") == 0)
            return sx;
        if (strcmp(sx, "_count") == 0) {
            *k = V_INT;
            return sx;
        }
        if (strcmp(sx, "_created") == 0) {
            *k = w->om ? V_FLOAT : V_SKIP;
            return sx;
        }
        return NULL;
    case IGNIS_METRIC_STATESET:
        if (!*sx) {
            *k = V_INT;
            return sx;
        }
        return NULL;
    default:
        return *sx ? NULL : sx;
    }
}

/* True for the "le"/"quantile" label whose number OpenMetrics writes canonically. */
static inline bool numeric_label(const struct writer *w, const struct ignis_label *l)
{
    if (l->name_len == 2 && memcmp(l->name, "le", 2) == 0)
        return w->type == IGNIS_METRIC_HISTOGRAM || w->type == IGNIS_METRIC_GAUGEHISTOGRAM;
    if (l->name_len == 8 && memcmp(l->name, "quantile", 8) == 0)
        return w->type == IGNIS_METRIC_SUMMARY;
    return false;
}

static int w_sample(void *impl, const char *suffix, const struct ignis_label *ls, size_t n,
                    double value, int64_t ts_ms)
{
    struct writer *w = impl;
    if (!w->have_family)
        goto refuse;
    enum vkind k;
    const char *sx = map_suffix(w, suffix, &k);
    if (!sx)
        goto refuse;
    if (k == V_SKIP)
        return 0;
    if (n && !ls)
        goto refuse;
    /* Make room for the whole line first, so a refused line can be taken back; a line
     * too long for that is checked before anything is written. */
    size_t bound = w->namelen + 2 * W_TOKEN;
    for (size_t i = 0; i < n; i++)
        bound += 8 * ls[i].name_len + 2 * ls[i].value_len + 16;
    bool staged = bound <= W_BUFSZ;
    if (staged) {
        need(w, bound);
    } else {
        for (size_t i = 0; i < n; i++)
            if (!ls[i].name || !ls[i].name_len || (ls[i].value_len && !ls[i].value) ||
                !ig_utf8_ok(ls[i].name, ls[i].name_len) ||
                !ig_utf8_ok(ls[i].value, ls[i].value_len))
                goto refuse;
    }
    size_t mark = w->len;

    if (w->quoted) {
        PUTS(w, "{\"");
        put(w, w->name, w->namelen);
        put(w, sx, strlen(sx));
        putc1(w, '"');
        if (n)
            putc1(w, ',');
    } else {
        put(w, w->name, w->namelen);
        put(w, sx, strlen(sx));
        if (n)
            putc1(w, '{');
    }
    for (size_t i = 0; i < n; i++) {
        const struct ignis_label *l = &ls[i];
        if (!l->name || (l->value_len && !l->value))
            goto undo;
        if (i)
            putc1(w, ',');
        if (put_label_name(w, l->name, l->name_len) < 0)
            goto undo;
        PUTS(w, "=\"");
        if (put_escaped(w, l->value, l->value_len, true) < 0)
            goto undo;
        if (w->om && numeric_label(w, l) && l->value_len &&
            !memchr(l->value, '.', l->value_len) && !memchr(l->value, 'e', l->value_len) &&
            !memchr(l->value, 'E', l->value_len) && !memchr(l->value, 'I', l->value_len) &&
            !memchr(l->value, 'N', l->value_len))
            PUTS(w, ".0");
        putc1(w, '"');
    }
    if (n || w->quoted)
        putc1(w, '}');
    putc1(w, ' ');
    if (w->om && k == V_INT && value == floor(value) && fabs(value) < 9.2e18) {
        put_i64(w, (int64_t)value);
    } else {
        put_double(w, value);
    }
    if (ts_ms != IGNIS_NO_TIMESTAMP) {
        putc1(w, ' ');
        if (w->om)
            put_om_ts(w, ts_ms);
        else
            put_i64(w, ts_ms);
    }
    putc1(w, '\n');
    return 0;
undo:
    if (staged)
        w->len = mark;
    else
        putc1(w, '\n'); /* only when memory ran out: the exposition is marked failed */
refuse:
    w->failed = true;
    return -1;
}

/* ---- life --------------------------------------------------------------------- */

static void writer_destroy(struct ignis_sink *s)
{
    struct writer *w = (struct writer *)s;
    free(w->buf);
    free(w->name);
    free(w->arena);
    free(w->set);
    free(w->sethash);
    free(w);
}

static const struct ignis_sink_ops writer_ops = {
    .size = sizeof(struct ignis_sink_ops),
    .family = w_family,
    .sample = w_sample,
};

struct ignis_sink *ignis_sink_writer_new(struct evbuffer *out,
                                         const struct ignis_expose_format *fmt)
{
    if (!out || !fmt)
        return NULL;
    pthread_once(&tables_once, tables_init);
    struct writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->buf = malloc(W_BUFSZ);
    if (!w->buf) {
        free(w);
        return NULL;
    }
    w->sink.ops = &writer_ops;
    w->sink.impl = w;
    w->sink.destroy = writer_destroy;
    w->out = out;
    w->kind = fmt->kind;
    w->esc = fmt->escaping;
    w->om = fmt->kind == IGNIS_EXPOSE_OPENMETRICS_1_0_0 ||
            fmt->kind == IGNIS_EXPOSE_OPENMETRICS_0_0_1;
    return &w->sink;
}

int ignis_sink_writer_finish(struct ignis_sink *s)
{
    if (!s || s->ops != &writer_ops)
        return -1;
    struct writer *w = (struct writer *)s;
    if (w->om)
        PUTS(w, "# EOF\n");
    flush(w);
    int rc = w->failed ? -1 : 0;
    writer_destroy(s);
    return rc;
}

size_t ignis_format_double(char *buf, double v, int openmetrics)
{
    return ig_fmt_double(buf, v, openmetrics != 0);
}
