/* tests/fuzz/fuzz_promql.c — fuzz target for the PromQL parser and printer
 * (plugins/query/promql/parse.c, print.c), with every experimental feature on. Besides
 * "does not crash", it checks what must hold: an error names a position; a parsed query's
 * printed forms parse again, and printing that parse gives the same text (the printer is
 * a fixed point after one round). A broken promise aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "fuzz.h"

/* Longer inputs add nothing a grammar fuzzer needs and only slow it down. */
#define FUZZ_MAX_QUERY 4096

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_promql: check failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

static const struct pq_features all = {
    .experimental_functions = true,
    .duration_expr = true,
    .extended_range = true,
    .fill_modifiers = true,
    .at_modifier = true,
    .negative_offset = true,
};

/* Parses a printed form: it must parse and print back to itself. */
static void check_fixed_point(const char *s)
{
    char err[512];
    struct pq_expr *e = pq_parse(s, strlen(s), &all, err, sizeof err);
    if (!e) {
        fprintf(stderr, "fuzz_promql: printed form does not parse: %s\n  %s\n", s, err);
        abort();
    }
    char *again = pq_node_string(e->root);
    CHECK(again != NULL);
    if (strcmp(again, s) != 0) {
        fprintf(stderr, "fuzz_promql: printer not stable:\n  %s\n  %s\n", s, again);
        abort();
    }
    free(again);
    pq_expr_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_QUERY)
        size = FUZZ_MAX_QUERY;
    char err[512];
    struct pq_expr *e = pq_parse((const char *)data, size, &all, err, sizeof err);
    if (!e) {
        /* "L:C: parse error: ..." */
        CHECK(strstr(err, ": parse error: ") != NULL);
        return 0;
    }
    CHECK(e->root != NULL);
    CHECK(e->root->type != PQ_T_NONE);
    char *one = pq_node_string(e->root);
    CHECK(one != NULL);
    pq_expr_free(e);
    /* the one-line form parses; its own print is then the fixed point */
    e = pq_parse(one, strlen(one), &all, err, sizeof err);
    if (!e) {
        fprintf(stderr, "fuzz_promql: printed form does not parse: %s\n  %s\n", one, err);
        abort();
    }
    char *two = pq_node_string(e->root);
    char *pretty = pq_node_pretty(e->root);
    CHECK(two != NULL && pretty != NULL);
    pq_expr_free(e);
    check_fixed_point(two);
    /* the indented form parses to the same tree */
    e = pq_parse(pretty, strlen(pretty), &all, err, sizeof err);
    if (!e) {
        fprintf(stderr, "fuzz_promql: pretty form does not parse: %s\n  %s\n", pretty, err);
        abort();
    }
    char *three = pq_node_string(e->root);
    CHECK(three != NULL);
    if (strcmp(three, two) != 0) {
        fprintf(stderr, "fuzz_promql: pretty form differs:\n  %s\n  %s\n", two, three);
        abort();
    }
    free(three);
    pq_expr_free(e);
    free(one);
    free(two);
    free(pretty);
    return 0;
}
