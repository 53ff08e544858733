/* tests/fuzz/fuzz_expose_negotiate.c — fuzz target for what /metrics takes from outside:
 * the Accept and Accept-Encoding headers (negotiation), and arbitrary bytes handed to the
 * exposition writer as names, help and label values (as an exporter plugin might).
 * Input: Accept, LF, Accept-Encoding, LF, the rest. make check replays the seeds and
 * crashers through tests/fuzz/replay.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <ignis/expose.h>
#include <ignis/metrics.h>

#include "fuzz.h"

static char *part(const uint8_t **p, size_t *n)
{
    const uint8_t *nl = memchr(*p, '\n', *n);
    size_t len = nl ? (size_t)(nl - *p) : *n;
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, *p, len);
    s[len] = '\0';
    *p += nl ? len + 1 : len;
    *n -= nl ? len + 1 : len;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t n = size;
    char *accept = part(&p, &n);
    char *enc = part(&p, &n);
    struct ignis_expose_format fmt;
    ignis_expose_negotiate(accept, &fmt);
    if (strncmp(fmt.content_type, "text/plain; version=", 20) != 0 &&
        strncmp(fmt.content_type, "application/openmetrics-text; version=", 38) != 0)
        abort();
    (void)ignis_expose_accepts_gzip(enc);

    /* the rest through the writer, as a family name, help, label name and value */
    struct evbuffer *b = evbuffer_new();
    struct ignis_sink *s = ignis_sink_writer_new(b, &fmt);
    char *rest = malloc(n + 1);
    memcpy(rest, p, n);
    rest[n] = '\0';
    ignis_sink_family(s, rest, (enum ignis_metric_type)(size % 8), rest, "");
    struct ignis_label ls[2] = {{rest, strlen(rest), (const char *)p, n}, {"le", 2, rest, strlen(rest)}};
    ignis_sink_sample(s, "", ls, 2, (double)size, (int64_t)size - 5000);
    ignis_sink_sample(s, "_bucket", ls + 1, 1, 1, IGNIS_NO_TIMESTAMP);
    ignis_sink_writer_finish(s);
    char esc[64];
    ignis_escape_name(esc, sizeof esc, (const char *)p, n, (int)(size & 1),
                      (enum ignis_escaping)(size % 4));
    evbuffer_free(b);
    free(rest);
    free(accept);
    free(enc);
    return 0;
}
