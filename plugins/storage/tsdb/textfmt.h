/* plugins/storage/tsdb/textfmt.h — series as Prometheus' tools print them:
 * `{__name__="x", a="b"}` with each value quoted as Go's strconv.Quote does (the form
 * `promtool tsdb dump` prints). Shared by ignisctl and the developer tool. */
#ifndef TSDB_TEXTFMT_H
#define TSDB_TEXTFMT_H

#include <ignis/labels.h>
#include <stddef.h>
#include <stdio.h>

/* Writes s[0..n) double-quoted: \a \b \f \n \r \t \v \\ \" escaped, other control bytes
 * and invalid UTF-8 as \xHH, runes Go does not count as printable (C1 controls, spaces
 * other than U+0020, format characters, private use) as \uHHHH or \UHHHHHHHH. */
void tsdb_fquote(FILE *f, const char *s, size_t n);
/* Writes `{name="value", ...}`. */
void tsdb_fprint_labels(FILE *f, const struct ignis_label *ls, size_t n);

#endif
