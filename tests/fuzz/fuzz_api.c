/* tests/fuzz/fuzz_api.c — fuzz target for what the HTTP API parses from clients: form
 * bodies and query strings (keys and values percent-decoded), API times (float seconds,
 * RFC 3339) and match[] selectors. The input's first byte picks the parser. */
#include <config.h>
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <ignis/selector.h>
#include "core/api.h"
#include "core/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0: {
        struct evkeyvalq q;
        TAILQ_INIT(&q);
        ig_http_parse_form(&q, s, size - 1);
        struct evkeyval *kv;
        TAILQ_FOREACH(kv, &q, next)
            if (!kv->key || !kv->value)
                abort();
        evhttp_clear_headers(&q);
        break;
    }
    case 1: {
        int64_t ms;
        ig_api_parse_time(s, &ms);
        break;
    }
    default: {
        struct ignis_selector sel;
        char err[256];
        if (ignis_selector_parse(s, strlen(s), &sel, err, sizeof err) == 0)
            ignis_selector_free(&sel);
        break;
    }
    }
    free(s);
    return 0;
}
