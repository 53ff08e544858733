/* plugins/storage/tsdb/enc.c — the bounded output buffer of enc.h. */
#include "enc.h"

#include <stdlib.h>

void ebuf_init(struct ebuf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : SIZE_MAX;
    b->err = false;
}

void ebuf_free(struct ebuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

bool ebuf_reserve(struct ebuf *b, size_t n)
{
    if (b->err)
        return false;
    if (b->cap - b->len >= n)
        return true;
    if (n > b->max - b->len) {
        b->err = true;
        return false;
    }
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap - b->len < n)
        ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    uint8_t *np = realloc(b->p, ncap);
    if (!np) {
        b->err = true;
        return false;
    }
    b->p = np;
    b->cap = ncap;
    return true;
}
