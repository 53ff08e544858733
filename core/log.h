/* core/log.h — logfmt logging on stderr: ts=… level=… component=… msg="…" key=value.
 * Any thread may log; one line is written with one write(2). */
#ifndef IG_LOG_H
#define IG_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <ignis/plugin.h>

enum ig_log_format { IG_LOG_LOGFMT = 0, IG_LOG_JSON };

void ig_log_set_level(enum ignis_log_level level);
void ig_log_set_format(enum ig_log_format fmt);
/* Parses "debug", "info", "warn", "error". Returns 0 or -1. */
int ig_log_parse_level(const char *s, enum ignis_log_level *out);
bool ig_log_enabled(enum ignis_log_level level);

/* msg is a printf format. Extra key=value pairs may follow inside the message after
 * the text, separated by a tab: "loaded plugin\tname=%s file=%s" puts them outside
 * the quoted msg. */
void ig_log(enum ignis_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ig_logv(enum ignis_log_level level, const char *component, const char *instance,
             const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

#define ig_debug(c, ...) ig_log(IGNIS_LOG_DEBUG, c, __VA_ARGS__)
#define ig_info(c, ...) ig_log(IGNIS_LOG_INFO, c, __VA_ARGS__)
#define ig_warn(c, ...) ig_log(IGNIS_LOG_WARN, c, __VA_ARGS__)
#define ig_error(c, ...) ig_log(IGNIS_LOG_ERROR, c, __VA_ARGS__)

#endif
