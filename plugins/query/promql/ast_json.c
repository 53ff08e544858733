/* plugins/query/promql/ast_json.c — a parsed expression as the JSON tree Prometheus'
 * /api/v1/parse_query answers with (the shape its web UI's tree view reads): one object
 * per node with a "type" ("aggregation", "binaryExpr", "call", "matrixSelector",
 * "subquery", "numberLiteral", "parenExpr", "stringLiteral", "unaryExpr",
 * "vectorSelector"), keys in sorted order as Go's encoder writes a map, durations and
 * offsets in milliseconds, "timestamp" the @ time in ms or null, "startOrEnd" "start",
 * "end" or null. A selector's matchers are listed as written inside the braces, followed
 * by the metric-name matcher when the name was written before them. */
#include "ast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON string as Go's encoder writes it: <, > and & escaped, U+2028/2029 escaped,
 * invalid UTF-8 replaced by U+FFFD. */
static void put_str(struct pq_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    pq_buf_add(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' &&
            c != '&') {
            size_t j = i + 1;
            while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\' &&
                   p[j] != '<' && p[j] != '>' && p[j] != '&')
                j++;
            pq_buf_add(b, s + i, j - i);
            i = j;
            continue;
        }
        if (c >= 0x80) {
            size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            uint32_t cp = len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
            bool ok = len > 0 && i + len <= n;
            for (size_t k = 1; ok && k < len; k++) {
                if ((p[i + k] & 0xC0) != 0x80)
                    ok = false;
                else
                    cp = (cp << 6) | (p[i + k] & 0x3Fu);
            }
            if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                       (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
                       (cp >= 0xD800 && cp <= 0xDFFF)))
                ok = false;
            if (!ok) {
                pq_buf_puts(b, "\\ufffd");
                i++;
            } else {
                if (cp == 0x2028 || cp == 0x2029)
                    pq_buf_puts(b, cp == 0x2028 ? "\\u2028" : "\\u2029");
                else
                    pq_buf_add(b, s + i, len);
                i += len;
            }
            continue;
        }
        switch (c) {
        case '"': pq_buf_puts(b, "\\\""); break;
        case '\\': pq_buf_puts(b, "\\\\"); break;
        case '\n': pq_buf_puts(b, "\\n"); break;
        case '\r': pq_buf_puts(b, "\\r"); break;
        case '\t': pq_buf_puts(b, "\\t"); break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            pq_buf_add(b, u, 6);
        }
        }
        i++;
    }
    pq_buf_add(b, "\"", 1);
}

static void put_cstr(struct pq_buf *b, const char *s)
{
    put_str(b, s ? s : "", s ? strlen(s) : 0);
}

static void put_bool(struct pq_buf *b, bool v)
{
    pq_buf_puts(b, v ? "true" : "false");
}

/* A number as Go's encoder writes a float64: plain decimal from 1e-6 up to 1e21,
 * exponent form outside ("1e+21", "1e-7"). NaN and ±Inf cannot be written: false. */
static bool put_float(struct pq_buf *b, double v)
{
    if (isnan(v) || isinf(v))
        return false;
    double a = fabs(v);
    if (a == 0 || (a >= 1e-6 && a < 1e21)) {
        pq_buf_float_f(b, v);
        return true;
    }
    struct pq_buf t = {0};
    pq_buf_float(&t, v); /* Go's 'g' shortest: exponent form for these magnitudes */
    if (t.oom || !t.p) {
        free(t.p);
        b->oom = true;
        return true;
    }
    /* "e-07" -> "e-7", as the JSON encoder trims the exponent */
    char *e = strchr(t.p, 'e');
    if (e && (e[1] == '-' || e[1] == '+') && e[2] == '0' && e[3]) {
        pq_buf_add(b, t.p, (size_t)(e - t.p) + 2);
        pq_buf_puts(b, e + 3);
    } else {
        pq_buf_puts(b, t.p);
    }
    free(t.p);
    return true;
}

static const char *type_name(enum pq_type t)
{
    switch (t) {
    case PQ_T_SCALAR: return "scalar";
    case PQ_T_VECTOR: return "vector";
    case PQ_T_MATRIX: return "matrix";
    case PQ_T_STRING: return "string";
    default: return "none";
    }
}

static const char *match_op(enum ignis_match_type t)
{
    switch (t) {
    case IGNIS_MATCH_EQ: return "=";
    case IGNIS_MATCH_NE: return "!=";
    case IGNIS_MATCH_RE: return "=~";
    default: return "!~";
    }
}

static void put_labels(struct pq_buf *b, const struct pq_label_list *l)
{
    pq_buf_add(b, "[", 1);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            pq_buf_add(b, ",", 1);
        put_cstr(b, l->names[i]);
    }
    pq_buf_add(b, "]", 1);
}

static void put_matcher(struct pq_buf *b, const struct ignis_matcher *m, bool first)
{
    if (!first)
        pq_buf_add(b, ",", 1);
    pq_buf_puts(b, "{\"name\":");
    put_str(b, m->name, m->name_len);
    pq_buf_puts(b, ",\"type\":");
    put_cstr(b, match_op(m->type));
    pq_buf_puts(b, ",\"value\":");
    put_str(b, m->value, m->value_len);
    pq_buf_add(b, "}", 1);
}

/* The matchers as Prometheus keeps them: those in braces, then the name's. */
static void put_matchers(struct pq_buf *b, const struct pq_node *vs)
{
    const struct ignis_selector *s = &vs->vs.sel;
    size_t from = vs->vs.name && s->n > 0 ? 1 : 0;
    pq_buf_add(b, "[", 1);
    bool first = true;
    for (size_t i = from; i < s->n; i++) {
        put_matcher(b, &s->matchers[i], first);
        first = false;
    }
    if (from)
        put_matcher(b, &s->matchers[0], first);
    pq_buf_add(b, "]", 1);
}

/* A duration in ms: constant, or a duration expression folded to a constant (one that
 * uses step() or range() is only known when a query runs: 0, as an unset duration). */
static int64_t dur_ms(const struct pq_dur *d)
{
    if (!d->expr)
        return d->ms;
    if (d->expr->kind == N_NUMBER)
        return d->expr->num.is_dur ? d->expr->num.dur_ms : (int64_t)(d->expr->num.v * 1000);
    return d->ms;
}

static void put_at(struct pq_buf *b, enum pq_at at)
{
    pq_buf_puts(b, ",\"startOrEnd\":");
    pq_buf_puts(b, at == PQ_AT_START ? "\"start\"" : at == PQ_AT_END ? "\"end\"" : "null");
}

static void put_timestamp(struct pq_buf *b, enum pq_at at, int64_t at_ms)
{
    pq_buf_puts(b, ",\"timestamp\":");
    if (at == PQ_AT_TS)
        pq_buf_printf(b, "%lld", (long long)at_ms);
    else
        pq_buf_puts(b, "null");
}

static bool put_node(struct pq_buf *b, const struct pq_node *n, char *err, size_t errlen);

/* vectorSelector and matrixSelector share their keys, range aside. */
static void put_selector(struct pq_buf *b, const struct pq_node *vs, const char *type,
                         const struct pq_dur *range)
{
    pq_buf_puts(b, "{\"anchored\":");
    put_bool(b, vs->vs.anchored);
    pq_buf_puts(b, ",\"matchers\":");
    put_matchers(b, vs);
    pq_buf_puts(b, ",\"name\":");
    put_cstr(b, vs->vs.name);
    pq_buf_printf(b, ",\"offset\":%lld", (long long)(vs->vs.offset_set ? dur_ms(&vs->vs.offset) : 0));
    if (range)
        pq_buf_printf(b, ",\"range\":%lld", (long long)dur_ms(range));
    pq_buf_puts(b, ",\"smoothed\":");
    put_bool(b, vs->vs.smoothed);
    put_at(b, vs->vs.at);
    put_timestamp(b, vs->vs.at, vs->vs.at_ms);
    pq_buf_puts(b, ",\"type\":");
    put_cstr(b, type);
    pq_buf_add(b, "}", 1);
}

static bool put_binary(struct pq_buf *b, const struct pq_node *n, char *err, size_t errlen)
{
    pq_buf_puts(b, "{\"bool\":");
    put_bool(b, n->bin.ret_bool);
    pq_buf_puts(b, ",\"lhs\":");
    if (!put_node(b, n->bin.lhs, err, errlen))
        return false;
    pq_buf_puts(b, ",\"matching\":");
    if (n->bin.lhs->type == PQ_T_VECTOR && n->bin.rhs->type == PQ_T_VECTOR) {
        static const char *const card[] = {"one-to-one", "many-to-one", "one-to-many",
                                           "many-to-many"};
        pq_buf_puts(b, "{\"card\":");
        put_cstr(b, card[n->bin.card]);
        pq_buf_puts(b, ",\"fillValues\":{\"lhs\":");
        /* fill_left: a value for a series missing on the left-hand side */
        bool ok = true;
        if (n->bin.fill_left)
            ok = put_float(b, n->bin.fill_left_v);
        else
            pq_buf_puts(b, "null");
        pq_buf_puts(b, ",\"rhs\":");
        if (ok && n->bin.fill_right)
            ok = put_float(b, n->bin.fill_right_v);
        else if (ok)
            pq_buf_puts(b, "null");
        if (!ok) {
            snprintf(err, errlen, "json: unsupported value: %s",
                     isnan(n->bin.fill_left ? n->bin.fill_left_v : n->bin.fill_right_v)
                         ? "NaN"
                         : "Inf");
            return false;
        }
        pq_buf_puts(b, "},\"include\":");
        put_labels(b, &n->bin.include);
        pq_buf_puts(b, ",\"labels\":");
        put_labels(b, &n->bin.match);
        pq_buf_puts(b, ",\"on\":");
        put_bool(b, n->bin.on);
        pq_buf_add(b, "}", 1);
    } else {
        pq_buf_puts(b, "null");
    }
    pq_buf_puts(b, ",\"op\":");
    put_cstr(b, pq_tok_text(n->bin.op));
    pq_buf_puts(b, ",\"rhs\":");
    if (!put_node(b, n->bin.rhs, err, errlen))
        return false;
    pq_buf_puts(b, ",\"type\":\"binaryExpr\"}");
    return true;
}

static bool put_node(struct pq_buf *b, const struct pq_node *n, char *err, size_t errlen)
{
    if (!n) {
        pq_buf_puts(b, "null");
        return true;
    }
    switch (n->kind) {
    case N_NUMBER:
        pq_buf_puts(b, "{\"type\":\"numberLiteral\",\"val\":\"");
        pq_buf_float_f(b, n->num.v);
        pq_buf_puts(b, "\"}");
        return true;
    case N_STRING:
        pq_buf_puts(b, "{\"type\":\"stringLiteral\",\"val\":");
        put_str(b, n->str.s, n->str.len);
        pq_buf_add(b, "}", 1);
        return true;
    case N_VECTOR:
        put_selector(b, n, "vectorSelector", NULL);
        return true;
    case N_MATRIX:
        put_selector(b, n->ms.vs, "matrixSelector", &n->ms.range);
        return true;
    case N_SUBQUERY:
        pq_buf_puts(b, "{\"alignEvalTime\":false,\"expr\":");
        if (!put_node(b, n->sq.expr, err, errlen))
            return false;
        pq_buf_printf(b, ",\"offset\":%lld,\"range\":%lld",
                      (long long)(n->sq.offset_set ? dur_ms(&n->sq.offset) : 0),
                      (long long)dur_ms(&n->sq.range));
        put_at(b, n->sq.at);
        pq_buf_printf(b, ",\"step\":%lld", (long long)(n->sq.step_set ? dur_ms(&n->sq.step) : 0));
        put_timestamp(b, n->sq.at, n->sq.at_ms);
        pq_buf_puts(b, ",\"type\":\"subquery\"}");
        return true;
    case N_CALL: {
        const struct pq_func *f = n->call.fn;
        pq_buf_puts(b, "{\"args\":[");
        for (size_t i = 0; i < n->call.nargs; i++) {
            if (i)
                pq_buf_add(b, ",", 1);
            if (!put_node(b, n->call.args[i], err, errlen))
                return false;
        }
        pq_buf_puts(b, "],\"func\":{\"argTypes\":[");
        for (int i = 0; i < f->nargs; i++) {
            if (i)
                pq_buf_add(b, ",", 1);
            put_cstr(b, type_name(f->args[i]));
        }
        pq_buf_puts(b, "],\"name\":");
        put_cstr(b, f->name);
        pq_buf_puts(b, ",\"returnType\":");
        put_cstr(b, type_name(f->ret));
        pq_buf_printf(b, ",\"variadic\":%d},\"type\":\"call\"}", f->variadic);
        return true;
    }
    case N_AGG:
        pq_buf_puts(b, "{\"expr\":");
        if (!put_node(b, n->agg.expr, err, errlen))
            return false;
        pq_buf_puts(b, ",\"grouping\":");
        put_labels(b, &n->agg.grouping);
        pq_buf_puts(b, ",\"op\":");
        put_cstr(b, pq_tok_text(n->agg.op));
        pq_buf_puts(b, ",\"param\":");
        if (!put_node(b, n->agg.param, err, errlen))
            return false;
        pq_buf_puts(b, ",\"type\":\"aggregation\",\"without\":");
        put_bool(b, n->agg.without);
        pq_buf_add(b, "}", 1);
        return true;
    case N_BINARY:
        return put_binary(b, n, err, errlen);
    case N_UNARY:
        pq_buf_puts(b, "{\"expr\":");
        if (!put_node(b, n->un.expr, err, errlen))
            return false;
        pq_buf_puts(b, ",\"op\":");
        put_cstr(b, pq_tok_text(n->un.op));
        pq_buf_puts(b, ",\"type\":\"unaryExpr\"}");
        return true;
    case N_PAREN:
        pq_buf_puts(b, "{\"expr\":");
        if (!put_node(b, n->paren.expr, err, errlen))
            return false;
        pq_buf_puts(b, ",\"type\":\"parenExpr\"}");
        return true;
    }
    snprintf(err, errlen, "unsupported node type");
    return false;
}

char *pq_node_json(const struct pq_node *n, char *err, size_t errlen)
{
    struct pq_buf b = {0};
    if (!put_node(&b, n, err, errlen)) {
        free(b.p);
        return NULL;
    }
    pq_buf_add(&b, "", 0);
    if (b.oom) {
        free(b.p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return b.p;
}
