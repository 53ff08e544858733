/* core/ignisctl_tsdb.h — the `ignisctl tsdb` verbs (list, dump, analyze,
 * create-blocks-from openmetrics) and the helpers their files share. */
#ifndef IG_IGNISCTL_TSDB_H
#define IG_IGNISCTL_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Runs `ignisctl tsdb ARGS...` (argv[0] is the sub-verb). Returns the exit status. */
int ig_ctl_tsdb(int argc, char **argv);

int ig_ctl_tsdb_dump(int argc, char **argv);
int ig_ctl_tsdb_analyze(int argc, char **argv);
int ig_ctl_tsdb_create_blocks(int argc, char **argv);

/* A duration in ms as Go's time.Duration prints it ("15.001s", "2h0m0s", "1ms"). */
void ig_ctl_go_duration(int64_t ms, char *buf, size_t len);

/* One row of promtool's block table. */
struct ig_ctl_block_row {
    char ulid[64];
    int64_t mint, maxt;
    uint64_t samples, chunks, series, size;
};
/* Prints rows as promtool's tabwriter does (widest cell plus two spaces, at least 13),
 * with the header line first when header. human: times as UTC dates and sizes in binary
 * units, as promtool's --human-readable. Returns 0 or -1 (out of memory). */
int ig_ctl_print_blocks(FILE *f, const struct ig_ctl_block_row *rows, size_t n, bool header,
                        bool human);
/* The bytes of the files under path. */
uint64_t ig_ctl_dir_size(const char *path);

/* Takes the value of a flag given as "--name=V" or "--name V" (advancing *i past V).
 * True when argv[*i] is that flag; *val is NULL when "--name" had no value after it. */
bool ig_ctl_flag(int argc, char **argv, int *i, const char *name, const char **val);
/* True when arg asks for help (-h, --help). */
bool ig_ctl_is_help(const char *arg);



/* The blocks of a data directory (ULID-named directories), opened read-only and sorted by
 * min time then ULID, as Prometheus lists them. Returns 0 or -1 with err; free with
 * ig_ctl_close_blocks. */
struct block;
int ig_ctl_open_blocks(const char *dir, struct block **out, size_t *n, char *err,
                       size_t errlen);
void ig_ctl_close_blocks(struct block *b, size_t n);
#endif
