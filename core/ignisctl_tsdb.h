/* core/ignisctl_tsdb.h — the `ignisctl tsdb` verbs. */
#ifndef IG_IGNISCTL_TSDB_H
#define IG_IGNISCTL_TSDB_H

#include <stdbool.h>

/* Runs `ignisctl tsdb ARGS...` (argv[0] is the sub-verb). Returns the exit status. */
int ig_ctl_tsdb(int argc, char **argv);

#endif
