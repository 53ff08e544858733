/* plugins/discovery/file/file_sd.h — the file SD plugin's private interface between its
 * parsers (parse.c: JSON and YAML target files in Prometheus' file_sd_config format) and
 * its life cycle (file.c: globbing, inotify, refresh, emitting). Also compiled into the
 * fuzz targets, so nothing here touches the host. */
#ifndef FILE_SD_H
#define FILE_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ignis/labels.h>

/* The label every target of a file gets, holding the file's path as globbed. */
#define FSD_FILEPATH_LABEL "__meta_filepath"
#define FSD_ADDRESS_LABEL  "__address__"

enum fsd_format {
    FSD_JSON = 1,
    FSD_YAML,
};

/* One target group of a file, ready to hand to emit: `labels` sorted (with
 * __meta_filepath), each target a one-label set {__address__="..."}. */
struct fsd_group {
    char *source; /* "<path>:<index>", as Prometheus names file SD sources */
    struct ignis_label *labels;
    size_t nlabels;
    struct ignis_label *tlabels;      /* ntargets pairs, one per target */
    const struct ignis_label **tptrs; /* &tlabels[i] */
    size_t *tcounts;                  /* all 1 */
    size_t ntargets;
};

struct fsd_chunk;

/* A parsed file: its groups; every string lives in the file's own chunks. */
struct fsd_file {
    struct fsd_group *groups;
    size_t ngroups;
    size_t ntargets; /* over all groups */
    struct fsd_chunk *chunks;
};

/* The format a path's extension names (.json; .yml, .yaml; case-insensitive, as
 * Prometheus lower-cases the extension). Returns 0, or -1 for any other extension. */
int fsd_format_of(const char *path, enum fsd_format *fmt);

/* True when a `files` pattern is one Prometheus accepts: a path ending in .json, .yml
 * or .yaml (also upper-case) whose last segment may hold one `*`. */
bool fsd_pattern_valid(const char *pattern);

/* Parses data[0..len) as a file SD document of the given format. path names the file
 * (it becomes __meta_filepath and the sources' prefix). Labels are checked as Prometheus
 * 3 checks them: names non-empty UTF-8, values UTF-8; targets are strings. At most
 * max_targets targets over all groups (0: no limit). Returns 0 and fills out (free with
 * fsd_file_free), or -1 with a message in err that starts with "line L: " (or "line L
 * column C: ") when the parser knows where. */
int fsd_parse(enum fsd_format fmt, const char *data, size_t len, const char *path,
              size_t max_targets, struct fsd_file *out, char *err, size_t errlen);
void fsd_file_free(struct fsd_file *f);

#endif
