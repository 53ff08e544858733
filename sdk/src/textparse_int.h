/* sdk/src/textparse_int.h — the exposition parser's private state, shared by the syntax
 * layer (textparse.c) and strict mode's bookkeeping (textparse_strict.c). Nothing
 * outside sdk/src/textparse*.c includes this. */
#ifndef IG_TEXTPARSE_INT_H
#define IG_TEXTPARSE_INT_H

#include <ignis/textparse.h>

/* Sample-name suffixes that tie a sample to its metric family. */
enum ig_tp_suffix {
    IG_SFX_NONE = 0,
    IG_SFX_TOTAL,
    IG_SFX_CREATED,
    IG_SFX_BUCKET,
    IG_SFX_COUNT,
    IG_SFX_SUM,
    IG_SFX_GCOUNT,
    IG_SFX_GSUM,
    IG_SFX_INFO,
};

enum { IG_TP_RUNNING = 0, IG_TP_DONE, IG_TP_FAILED };

struct ig_tp_strict;

struct ig_tp {
    const char *body, *end;
    const char *cur;  /* where the next line starts */
    const char *line; /* start of the current line */
    uint32_t lineno;
    uint8_t format, mode, state, entry;

    /* The current sample. */
    const char *series; /* name-and-labels bytes */
    size_t series_len;
    const char *name; /* metric name, quotes stripped, maybe escaped */
    size_t name_len;
    const char *lbl; /* "{...}" or NULL */
    size_t lbl_len;
    uint32_t nlabels;
    uint8_t name_esc, has_ts, has_ex, ex_has_ts;
    uint8_t in_family, suffix;
    double value;
    int64_t ts;
    double ts_sec; /* OpenMetrics: the timestamp as written (strict mode compares these) */
    const char *ex_lbl;
    size_t ex_lbl_len;
    uint32_t ex_n;
    double ex_value;
    int64_t ex_ts;

    /* The metric family of the last metadata line. */
    const char *meta_name;
    size_t meta_len;
    const char *meta_help, *meta_unit;
    size_t meta_help_len, meta_unit_len;
    uint8_t meta_esc, meta_type, meta_has_help, meta_has_unit, meta_has_type;

    /* COMMENT text, TYPE text. */
    const char *text;
    size_t text_len;

    struct ig_tp_strict *strict;
    uint32_t err_line, err_col;
    char err[232];
};

_Static_assert(sizeof(struct ig_tp) <= sizeof(struct ignis_textparse),
               "ignis_textparse is too small for the parser state");

static inline struct ig_tp *ig_tp_of(struct ignis_textparse *p)
{
    return (struct ig_tp *)(void *)p;
}
static inline const struct ig_tp *ig_tp_ofc(const struct ignis_textparse *p)
{
    return (const struct ig_tp *)(const void *)p;
}

/* Records an error at byte `at` of the current line; returns -1. */
int ig_tp_fail(struct ig_tp *p, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Which suffix ties sample name s to family name f of type t; -1 when none does. */
int ig_tp_suffix_of(int format, int type, const char *s, size_t slen, const char *f, size_t flen);

/* Extracts labels of a "{...}" block already validated by the parser. With want_name,
 * out[0] is the metric name pair. Returns the count or -1 when a buffer is too small. */
int ig_tp_extract(const struct ig_tp *p, const char *lbl, size_t lbl_len, const char *name,
                  size_t name_len, bool want_name, struct ignis_label *out, size_t max,
                  char *scratch, size_t scratch_len);

/* Unescapes a label value or quoted name (\\ \" \n; others kept); returns new length. */
size_t ig_tp_unescape(const char *s, size_t n, char *out);

/* Number parsing: the grammar in textparse.c (one for now, whatever the flavor). */
enum { IG_NUM_GO = 0, IG_NUM_OM_SCRAPE, IG_NUM_OM_STRICT };
int ig_tp_parse_float(const char *s, size_t n, int flavor, double *out);

/* Strict mode bookkeeping (textparse_strict.c). Each returns 0 or -1 after ig_tp_fail. */
int ig_tp_strict_meta(struct ig_tp *p, enum ignis_textparse_entry kind, const char *at);
int ig_tp_strict_series(struct ig_tp *p);
int ig_tp_strict_end(struct ig_tp *p);
void ig_tp_strict_free(struct ig_tp *p);

#endif
