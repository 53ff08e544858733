/* plugins/storage/tsdb/index.h — a block's index file, format v2 (index.md): symbol
 * table, series (16-byte aligned, id = offset / 16), label indices, postings (4-byte
 * aligned), label offset table, postings offset table and TOC, each section's CRC-32C
 * checked. The writer takes sorted symbols, then series in label order; the reader maps
 * the file and answers symbols, postings, label values and series. */
#ifndef TSDB_INDEX_H
#define TSDB_INDEX_H

#include "chunks.h"
#include "fileutil.h"

#include <ignis/labels.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INDEX_MAGIC 0xBAAAD700u
#define INDEX_V1 1
#define INDEX_V2 2
#define INDEX_TOC_LEN (6 * 8 + 4)

struct tsdb_str {
    const char *p;
    size_t len;
};

int tsdb_str_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* Compares label sets as Prometheus orders them (pair by pair, name then value). */
int tsdb_labels_cmp(const struct ignis_label *a, size_t na, const struct ignis_label *b,
                    size_t nb);

struct indexw;

int indexw_open(struct indexw **w, const char *path, char *err, size_t errlen);
/* All symbols (every label name and value), sorted bytewise, unique; copied. Call once,
 * before the first series. */
int indexw_add_symbols(struct indexw *w, const struct tsdb_str *syms, size_t n, char *err,
                       size_t errlen);
/* Adds a series: labels sorted (all in the symbol table), series in ascending label
 * order, chunk metas in time order. */
int indexw_add_series(struct indexw *w, const struct ignis_label *ls, size_t nls,
                      const struct chunk_meta *chks, size_t nchks, char *err, size_t errlen);
/* Writes the remaining sections, fsyncs when sync, frees w (also on failure). */
int indexw_close(struct indexw *w, bool sync, char *err, size_t errlen);
/* Frees an unfinished writer. */
void indexw_abort(struct indexw *w);

/* One postings offset table entry. */
struct index_pentry {
    struct tsdb_str name, value;
    uint64_t off;
};

struct indexr {
    struct mmap_file m;
    int version;
    uint64_t toc[6];
    uint32_t nsyms;
    uint32_t *sym_off; /* offset of each symbol's uvarint length */
    struct index_pentry *pe;
    size_t npe;
};

int indexr_open(struct indexr *r, const char *path, char *err, size_t errlen);
void indexr_close(struct indexr *r);
/* Symbol idx (borrowed from the mapping); -1 when out of range. */
int indexr_symbol(const struct indexr *r, uint32_t idx, struct tsdb_str *s);
/* Postings of (name, value): stores a pointer to n big-endian uint32 series ids.
 * Returns 0, 1 when the pair is absent (n = 0), -1 when the section is corrupt.
 * ("", "") gives every series. */
int indexr_postings(const struct indexr *r, const char *name, size_t nlen, const char *value,
                    size_t vlen, const uint8_t **ids, uint32_t *n);
/* The postings of the table entry at i (for iterating a name's values). */
int indexr_postings_at(const struct indexr *r, size_t i, const uint8_t **ids, uint32_t *n);
/* The range [*lo, *hi) of postings table entries with that label name. */
void indexr_name_range(const struct indexr *r, const char *name, size_t nlen, size_t *lo,
                       size_t *hi);

/* A decoded series entry: labels (strings borrowed from the mapping) and chunk metas,
 * in buffers the struct owns and reuses across calls. */
struct index_series {
    struct ignis_label *ls;
    size_t nls, ls_cap;
    struct chunk_meta *chks;
    size_t nchks, chks_cap;
};
int indexr_series(const struct indexr *r, uint32_t id, struct index_series *s, char *err,
                  size_t errlen);
void index_series_free(struct index_series *s);

#endif
