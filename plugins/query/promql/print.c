/* plugins/query/promql/print.c — turns a syntax tree back into PromQL text: the canonical
 * one-line form (what Prometheus' String() gives, used in messages and by tests) and the
 * indented form of /api/v1/format_query (lines longer than 100 columns are split). */
#include "ast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PQ_PRETTY_WIDTH 100 /* Prometheus' maxCharactersPerLine */

static void print_node(struct pq_buf *b, const struct pq_node *n);

static void print_label_name(struct pq_buf *b, const char *s, size_t n)
{
    if (ignis_is_legacy_label_name(s, n))
        pq_buf_add(b, s, n);
    else
        pq_buf_quote(b, s, n);
}

static void print_labels(struct pq_buf *b, const struct pq_label_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            pq_buf_puts(b, ", ");
        print_label_name(b, l->names[i], strlen(l->names[i]));
    }
}

static void print_dur(struct pq_buf *b, const struct pq_dur *d)
{
    if (!d->expr || d->expr->kind == N_NUMBER)
        pq_buf_duration(b, d->ms);
    else
        print_node(b, d->expr);
}

static void print_offset_at(struct pq_buf *b, enum pq_at at, int64_t at_ms, bool off_set,
                            const struct pq_dur *off)
{
    switch (at) {
    case PQ_AT_TS:
        pq_buf_printf(b, " @ %.3f", (double)at_ms / 1000.0);
        break;
    case PQ_AT_START:
        pq_buf_puts(b, " @ start()");
        break;
    case PQ_AT_END:
        pq_buf_puts(b, " @ end()");
        break;
    default:
        break;
    }
    if (off_set) {
        if (!off->expr || off->expr->kind == N_NUMBER) {
            if (off->ms != 0) {
                pq_buf_puts(b, " offset ");
                pq_buf_duration(b, off->ms);
            }
        } else {
            pq_buf_puts(b, " offset ");
            print_node(b, off->expr);
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *match_op(enum ignis_match_type t)
{
    switch (t) {
    case IGNIS_MATCH_EQ:
        return "=";
    case IGNIS_MATCH_NE:
        return "!=";
    case IGNIS_MATCH_RE:
        return "=~";
    default:
        return "!~";
    }
}

static void print_selector_core(struct pq_buf *b, const struct pq_node *n)
{
    const struct ignis_selector *sel = &n->vs.sel;
    size_t namelen = n->vs.name ? strlen(n->vs.name) : 0;
    char **parts = calloc(sel->n ? sel->n : 1, sizeof *parts);
    if (!parts) {
        b->oom = true;
        return;
    }
    size_t np = 0;
    bool skipped_name = false;
    for (size_t i = 0; i < sel->n; i++) {
        const struct ignis_matcher *m = &sel->matchers[i];
        if (!skipped_name && n->vs.name && m->type == IGNIS_MATCH_EQ && m->name_len == 8 &&
            memcmp(m->name, "__name__", 8) == 0 && m->value_len == namelen &&
            memcmp(m->value, n->vs.name, namelen) == 0 && namelen > 0) {
            skipped_name = true;
            continue;
        }
        struct pq_buf mb = {0};
        print_label_name(&mb, m->name, m->name_len);
        pq_buf_puts(&mb, match_op(m->type));
        pq_buf_quote(&mb, m->value, m->value_len);
        if (mb.oom) {
            free(mb.p);
            b->oom = true;
            break;
        }
        parts[np++] = mb.p;
    }
    qsort(parts, np, sizeof *parts, cmp_str);
    if (n->vs.name)
        pq_buf_puts(b, n->vs.name);
    if (np) {
        pq_buf_puts(b, "{");
        for (size_t i = 0; i < np; i++) {
            if (i)
                pq_buf_puts(b, ",");
            pq_buf_puts(b, parts[i]);
        }
        pq_buf_puts(b, "}");
    } else if (!n->vs.name) {
        pq_buf_puts(b, "{}");
    }
    for (size_t i = 0; i < np; i++)
        free(parts[i]);
    free(parts);
}

static void print_ext(struct pq_buf *b, const struct pq_node *vs)
{
    if (vs->vs.anchored)
        pq_buf_puts(b, " anchored");
    if (vs->vs.smoothed)
        pq_buf_puts(b, " smoothed");
}

static void print_agg_head(struct pq_buf *b, const struct pq_node *n)
{
    pq_buf_puts(b, pq_tok_text(n->agg.op));
    if (n->agg.without) {
        pq_buf_puts(b, " without (");
        print_labels(b, &n->agg.grouping);
        pq_buf_puts(b, ") ");
    } else if (n->agg.grouping.n > 0) {
        pq_buf_puts(b, " by (");
        print_labels(b, &n->agg.grouping);
        pq_buf_puts(b, ") ");
    }
}

static void print_matching(struct pq_buf *b, const struct pq_node *n)
{
    if (n->bin.ret_bool)
        pq_buf_puts(b, " bool");
    if (n->bin.matching_set && (n->bin.match.n > 0 || n->bin.on)) {
        pq_buf_puts(b, n->bin.on ? " on (" : " ignoring (");
        print_labels(b, &n->bin.match);
        pq_buf_puts(b, ")");
        if (n->bin.card == PQ_CARD_MANY_TO_ONE || n->bin.card == PQ_CARD_ONE_TO_MANY) {
            pq_buf_puts(b, n->bin.card == PQ_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
            print_labels(b, &n->bin.include);
            pq_buf_puts(b, ")");
        }
    }
    if (n->bin.fill_both) {
        pq_buf_puts(b, " fill (");
        pq_buf_float_f(b, n->bin.fill_left_v);
        pq_buf_puts(b, ")");
    } else {
        if (n->bin.fill_left) {
            pq_buf_puts(b, " fill_left (");
            pq_buf_float_f(b, n->bin.fill_left_v);
            pq_buf_puts(b, ")");
        }
        if (n->bin.fill_right) {
            pq_buf_puts(b, " fill_right (");
            pq_buf_float_f(b, n->bin.fill_right_v);
            pq_buf_puts(b, ")");
        }
    }
}

static void print_subquery_suffix(struct pq_buf *b, const struct pq_node *n)
{
    pq_buf_puts(b, "[");
    print_dur(b, &n->sq.range);
    pq_buf_puts(b, ":");
    if (n->sq.step_set)
        print_dur(b, &n->sq.step);
    pq_buf_puts(b, "]");
    print_offset_at(b, n->sq.at, n->sq.at_ms, n->sq.offset_set, &n->sq.offset);
}

static void print_node(struct pq_buf *b, const struct pq_node *n)
{
    switch (n->kind) {
    case N_NUMBER:
        if (n->num.is_dur)
            pq_buf_duration(b, n->num.dur_ms);
        else if (isinf(n->num.v) && n->num.v > 0)
            pq_buf_puts(b, "Inf"); /* "+Inf" would read back as a unary + */
        else
            pq_buf_float_f(b, n->num.v);
        break;
    case N_STRING:
        pq_buf_quote(b, n->str.s, n->str.len);
        break;
    case N_VECTOR:
        print_selector_core(b, n);
        print_offset_at(b, n->vs.at, n->vs.at_ms, n->vs.offset_set, &n->vs.offset);
        print_ext(b, n);
        break;
    case N_MATRIX: {
        const struct pq_node *vs = n->ms.vs;
        print_selector_core(b, vs);
        pq_buf_puts(b, "[");
        print_dur(b, &n->ms.range);
        pq_buf_puts(b, "]");
        print_offset_at(b, vs->vs.at, vs->vs.at_ms, vs->vs.offset_set, &vs->vs.offset);
        print_ext(b, vs);
        break;
    }
    case N_SUBQUERY:
        print_node(b, n->sq.expr);
        print_subquery_suffix(b, n);
        break;
    case N_CALL:
        pq_buf_puts(b, n->call.fn->name);
        pq_buf_puts(b, "(");
        for (size_t i = 0; i < n->call.nargs; i++) {
            if (i)
                pq_buf_puts(b, ", ");
            print_node(b, n->call.args[i]);
        }
        pq_buf_puts(b, ")");
        break;
    case N_AGG:
        print_agg_head(b, n);
        pq_buf_puts(b, "(");
        if (n->agg.param) {
            print_node(b, n->agg.param);
            pq_buf_puts(b, ", ");
        }
        print_node(b, n->agg.expr);
        pq_buf_puts(b, ")");
        break;
    case N_BINARY:
        print_node(b, n->bin.lhs);
        pq_buf_puts(b, " ");
        pq_buf_puts(b, pq_tok_text(n->bin.op));
        print_matching(b, n);
        pq_buf_puts(b, " ");
        print_node(b, n->bin.rhs);
        break;
    case N_UNARY:
        pq_buf_puts(b, n->un.op == TK_SUB ? "-" : "+");
        print_node(b, n->un.expr);
        break;
    case N_PAREN:
        pq_buf_puts(b, "(");
        print_node(b, n->paren.expr);
        pq_buf_puts(b, ")");
        break;
    }
}

char *pq_node_string(const struct pq_node *n)
{
    struct pq_buf b = {0};
    print_node(&b, n);
    pq_buf_add(&b, "", 0);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static size_t one_line_len(const struct pq_node *n)
{
    char *s = pq_node_string(n);
    size_t l = s ? strlen(s) : 0;
    free(s);
    return l;
}

static void indent(struct pq_buf *b, int level)
{
    for (int i = 0; i < level; i++)
        pq_buf_puts(b, "  ");
}

static void pretty(struct pq_buf *b, const struct pq_node *n, int level)
{
    if (one_line_len(n) <= PQ_PRETTY_WIDTH || n->kind == N_NUMBER || n->kind == N_STRING ||
        n->kind == N_VECTOR || n->kind == N_MATRIX) {
        indent(b, level);
        print_node(b, n);
        return;
    }
    switch (n->kind) {
    case N_AGG:
        indent(b, level);
        print_agg_head(b, n);
        pq_buf_puts(b, "(\n");
        if (n->agg.param) {
            pretty(b, n->agg.param, level + 1);
            pq_buf_puts(b, ",\n");
        }
        pretty(b, n->agg.expr, level + 1);
        pq_buf_puts(b, "\n");
        indent(b, level);
        pq_buf_puts(b, ")");
        break;
    case N_BINARY:
        pretty(b, n->bin.lhs, level + 1);
        pq_buf_puts(b, "\n");
        indent(b, level);
        pq_buf_puts(b, pq_tok_text(n->bin.op));
        print_matching(b, n);
        pq_buf_puts(b, "\n");
        pretty(b, n->bin.rhs, level + 1);
        break;
    case N_CALL:
        indent(b, level);
        pq_buf_puts(b, n->call.fn->name);
        pq_buf_puts(b, "(\n");
        for (size_t i = 0; i < n->call.nargs; i++) {
            if (i)
                pq_buf_puts(b, ",\n");
            pretty(b, n->call.args[i], level + 1);
        }
        pq_buf_puts(b, "\n");
        indent(b, level);
        pq_buf_puts(b, ")");
        break;
    case N_PAREN:
        indent(b, level);
        pq_buf_puts(b, "(\n");
        pretty(b, n->paren.expr, level + 1);
        pq_buf_puts(b, "\n");
        indent(b, level);
        pq_buf_puts(b, ")");
        break;
    case N_SUBQUERY:
        pretty(b, n->sq.expr, level);
        print_subquery_suffix(b, n);
        break;
    case N_UNARY: {
        indent(b, level);
        pq_buf_puts(b, n->un.op == TK_SUB ? "-" : "+");
        struct pq_buf c = {0};
        pretty(&c, n->un.expr, level);
        const char *s = c.p ? c.p : "";
        while (*s == ' ')
            s++;
        pq_buf_puts(b, s);
        free(c.p);
        break;
    }
    default:
        indent(b, level);
        print_node(b, n);
        break;
    }
}

char *pq_node_pretty(const struct pq_node *n)
{
    struct pq_buf b = {0};
    pretty(&b, n, 0);
    pq_buf_add(&b, "", 0);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
