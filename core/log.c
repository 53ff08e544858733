/* core/log.c — logfmt (or JSON) lines on stderr. A line is formatted into a stack
 * buffer and written with one write(2), so lines from threads never interleave. */
#include <config.h>
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>

static _Atomic int log_level = IGNIS_LOG_INFO;
static _Atomic int log_format = IG_LOG_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ig_log_set_level(enum ignis_log_level level)
{
    atomic_store(&log_level, (int)level);
}

void ig_log_set_format(enum ig_log_format fmt)
{
    atomic_store(&log_format, (int)fmt);
}

int ig_log_parse_level(const char *s, enum ignis_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum ignis_log_level)i;
            return 0;
        }
    }
    return -1;
}

bool ig_log_enabled(enum ignis_log_level level)
{
    return (int)level >= atomic_load(&log_level);
}

/* Appends s with quotes escaped ('"' and '\\' and control characters). */
static size_t put_escaped(char *buf, size_t pos, size_t cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n && pos + 2 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c == '\n') {
            buf[pos++] = '\\';
            buf[pos++] = 'n';
        } else if (c < 0x20) {
            buf[pos++] = ' ';
        } else {
            buf[pos++] = (char)c;
        }
    }
    return pos;
}

static size_t put(char *buf, size_t pos, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (pos + n >= cap)
        n = pos < cap ? cap - pos - 1 : 0;
    memcpy(buf + pos, s, n);
    return pos + n;
}

/* Writes the key=value tail "a=b c=\"d e\"" as JSON members. */
static size_t put_json_tail(char *buf, size_t pos, size_t cap, const char *tail)
{
    const char *p = tail;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *eq = strchr(p, '=');
        if (!eq)
            break;
        pos = put(buf, pos, cap, ",\"");
        pos = put_escaped(buf, pos, cap, p, (size_t)(eq - p));
        pos = put(buf, pos, cap, "\":\"");
        p = eq + 1;
        const char *end;
        if (*p == '"') {
            p++;
            end = p;
            while (*end && !(*end == '"' && end[-1] != '\\'))
                end++;
            pos = put(buf, pos, cap, "");
            for (const char *q = p; q < end && pos + 2 < cap; q++)
                buf[pos++] = *q;
            p = *end ? end + 1 : end;
        } else {
            end = strchr(p, ' ');
            if (!end)
                end = p + strlen(p);
            pos = put_escaped(buf, pos, cap, p, (size_t)(end - p));
            p = end;
        }
        pos = put(buf, pos, cap, "\"");
    }
    return pos;
}

void ig_logv(enum ignis_log_level level, const char *component, const char *instance,
             const char *fmt, va_list ap)
{
    if (!ig_log_enabled(level))
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char *tail = strchr(msg, '\t');
    if (tail)
        *tail++ = '\0';

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[64];
    snprintf(tbuf, sizeof tbuf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);

    char line[4096];
    size_t cap = sizeof line - 1, pos = 0;
    const char *lvl = level_names[level < 4 ? level : 3];
    if (atomic_load(&log_format) == IG_LOG_JSON) {
        pos = put(line, pos, cap, "{\"ts\":\"");
        pos = put(line, pos, cap, tbuf);
        pos = put(line, pos, cap, "\",\"level\":\"");
        pos = put(line, pos, cap, lvl);
        pos = put(line, pos, cap, "\",\"component\":\"");
        pos = put_escaped(line, pos, cap, component, strlen(component));
        if (instance) {
            pos = put(line, pos, cap, "\",\"instance\":\"");
            pos = put_escaped(line, pos, cap, instance, strlen(instance));
        }
        pos = put(line, pos, cap, "\",\"msg\":\"");
        pos = put_escaped(line, pos, cap, msg, strlen(msg));
        pos = put(line, pos, cap, "\"");
        if (tail)
            pos = put_json_tail(line, pos, cap, tail);
        pos = put(line, pos, cap, "}");
    } else {
        pos = put(line, pos, cap, "ts=");
        pos = put(line, pos, cap, tbuf);
        pos = put(line, pos, cap, " level=");
        pos = put(line, pos, cap, lvl);
        pos = put(line, pos, cap, " component=");
        pos = put(line, pos, cap, component);
        if (instance) {
            pos = put(line, pos, cap, " instance=");
            pos = put(line, pos, cap, instance);
        }
        pos = put(line, pos, cap, " msg=\"");
        pos = put_escaped(line, pos, cap, msg, strlen(msg));
        pos = put(line, pos, cap, "\"");
        if (tail) {
            pos = put(line, pos, cap, " ");
            pos = put(line, pos, cap, tail);
        }
    }
    line[pos++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

void ig_log(enum ignis_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ig_logv(level, component, NULL, fmt, ap);
    va_end(ap);
}
