/* plugins/query/promql/ast.h — the PromQL syntax tree, the lexer's tokens and the parser's
 * entry points. Private to the promql plugin (and its unit tests): nothing outside
 * plugins/query/promql/ includes it. The tree is allocated from one arena per parse and
 * freed whole with pq_expr_free. */
#ifndef PQ_AST_H
#define PQ_AST_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <ignis/selector.h>

/* ---- arena ------------------------------------------------------------------ */

struct pq_chunk;
struct pq_arena {
    struct pq_chunk *head;
    size_t total; /* bytes handed out, for the limit below */
};
/* Zeroed memory that lives until pq_arena_free. NULL when out of memory. */
void *pq_alloc(struct pq_arena *a, size_t n);
char *pq_strndup(struct pq_arena *a, const char *s, size_t n);
void pq_arena_free(struct pq_arena *a);
/* Moves everything src holds into dst (src is left empty). */
void pq_arena_splice(struct pq_arena *dst, struct pq_arena *src);

/* ---- value types ------------------------------------------------------------ */

enum pq_type {
    PQ_T_NONE = 0,
    PQ_T_SCALAR,
    PQ_T_VECTOR,
    PQ_T_MATRIX,
    PQ_T_STRING,
};
/* "scalar", "instant vector", "range vector", "string" (Prometheus' documented names). */
const char *pq_type_name(enum pq_type t);

/* ---- tokens ----------------------------------------------------------------- */

enum pq_tok {
    TK_EOF = 0,
    TK_ERROR,
    TK_IDENT,
    TK_METRIC_IDENT, /* an identifier with a ':' */
    TK_NUMBER,
    TK_DURATION,
    TK_STRING,
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACE,
    TK_RBRACE,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_COMMA,
    TK_COLON,
    TK_AT,
    TK_EQL, /* = (only inside braces; an error elsewhere) */
    /* operators */
    TK_ADD,
    TK_SUB,
    TK_MUL,
    TK_DIV,
    TK_MOD,
    TK_POW,
    TK_ATAN2,
    TK_EQLC, /* == */
    TK_NEQ,
    TK_LTE,
    TK_LSS,
    TK_GTE,
    TK_GTR,
    TK_EQL_REGEX,
    TK_NEQ_REGEX,
    TK_TRIM_UPPER, /* </ : native histogram trim */
    TK_TRIM_LOWER, /* >/ */
    TK_LAND,
    TK_LOR,
    TK_LUNLESS,
    /* keywords */
    TK_BOOL,
    TK_BY,
    TK_GROUP_LEFT,
    TK_GROUP_RIGHT,
    TK_IGNORING,
    TK_OFFSET,
    TK_ON,
    TK_WITHOUT,
    TK_START,
    TK_END,
    TK_STEP,
    TK_RANGE,
    TK_ANCHORED,
    TK_SMOOTHED,
    TK_FILL,
    TK_FILL_LEFT,
    TK_FILL_RIGHT,
    /* aggregators */
    TK_AGG_FIRST,
    TK_SUM = TK_AGG_FIRST,
    TK_AVG,
    TK_COUNT,
    TK_MIN,
    TK_MAX,
    TK_GROUP,
    TK_STDDEV,
    TK_STDVAR,
    TK_TOPK,
    TK_BOTTOMK,
    TK_COUNT_VALUES,
    TK_QUANTILE,
    TK_LIMITK,
    TK_LIMIT_RATIO,
    TK_AGG_LAST = TK_LIMIT_RATIO,
};

struct pq_token {
    enum pq_tok type;
    uint32_t pos, end; /* byte offsets into the query */
    double num;        /* NUMBER (and DURATION in seconds) */
    int64_t dur_ms;    /* DURATION */
    char *str;         /* STRING: the unescaped value (arena); ERROR: the message */
    size_t str_len;
};

/* ---- the tree ----------------------------------------------------------------- */

enum pq_kind {
    N_NUMBER,
    N_STRING,
    N_VECTOR, /* instant vector selector */
    N_MATRIX, /* range vector selector: .vs is the selector, .range the range */
    N_SUBQUERY,
    N_CALL,
    N_AGG,
    N_BINARY,
    N_UNARY,
    N_PAREN,
};

enum pq_at {
    PQ_AT_NONE = 0,
    PQ_AT_TS,
    PQ_AT_START,
    PQ_AT_END,
};

enum pq_card {
    PQ_CARD_ONE_TO_ONE = 0,
    PQ_CARD_MANY_TO_ONE,  /* group_left */
    PQ_CARD_ONE_TO_MANY,  /* group_right */
    PQ_CARD_MANY_TO_MANY, /* set operators */
};

struct pq_node;

/* The longest duration PromQL accepts: what fits in int64 nanoseconds (Go's
 * time.Duration, ~292 years), in ms. Keeps every time sum of the evaluator in range. */
#define PQ_MAX_DURATION_MS 9223372036854LL
/* Timestamps (@, query times) are bounded so that they minus a few durations still fit. */
#define PQ_MAX_TIMESTAMP_MS 9200000000000000000LL

/* A duration as written in `[...]`, after `:` or after `offset`: a constant (expr NULL)
 * or an expression of durations and numbers (seconds) that may use step() and range()
 * and is resolved when a query starts. */
struct pq_dur {
    int64_t ms;
    struct pq_node *expr;
};

struct pq_func; /* funcs.c */

struct pq_label_list {
    char **names; /* arena strings, NUL-terminated */
    size_t n;
};

struct pq_node {
    enum pq_kind kind;
    enum pq_type type;
    uint32_t pos, end;
    union {
        struct {
            double v;
            bool is_dur; /* written as a duration ("5m") */
            int64_t dur_ms;
        } num;
        struct {
            char *s;
            size_t len;
        } str;
        struct {
            char *name;                /* metric name written before the braces, or NULL */
            struct ignis_selector sel; /* every matcher, the name's first */
            bool offset_set;
            struct pq_dur offset;
            enum pq_at at;
            int64_t at_ms;
            bool anchored, smoothed;
        } vs;
        struct {
            struct pq_node *vs; /* an N_VECTOR */
            struct pq_dur range;
        } ms;
        struct {
            struct pq_node *expr;
            struct pq_dur range, step; /* step.ms 0 and no expr: default step */
            bool step_set;
            bool offset_set;
            struct pq_dur offset;
            enum pq_at at;
            int64_t at_ms;
        } sq;
        struct {
            const struct pq_func *fn;
            struct pq_node **args;
            size_t nargs;
        } call;
        struct {
            enum pq_tok op;
            struct pq_node *param, *expr;
            struct pq_label_list grouping;
            bool without, by; /* by: a `by (...)` clause was written */
        } agg;
        struct {
            enum pq_tok op;
            struct pq_node *lhs, *rhs;
            bool ret_bool;
            enum pq_card card;
            bool on;           /* on(...) rather than ignoring(...) */
            bool matching_set; /* on/ignoring written */
            struct pq_label_list match, include;
            bool fill_left, fill_right; /* fill value given for a missing LHS / RHS */
            double fill_left_v, fill_right_v;
            bool fill_both; /* written as fill(v) */
        } bin;
        struct {
            enum pq_tok op;
            struct pq_node *expr;
        } un;
        struct {
            struct pq_node *expr;
        } paren;
    };
};

/* ---- functions ---------------------------------------------------------------- */

enum pq_fid {
    F_ABS,
    F_ABSENT,
    F_ABSENT_OVER_TIME,
    F_ACOS,
    F_ACOSH,
    F_ASIN,
    F_ASINH,
    F_ATAN,
    F_ATANH,
    F_AVG_OVER_TIME,
    F_CEIL,
    F_CHANGES,
    F_CLAMP,
    F_CLAMP_MAX,
    F_CLAMP_MIN,
    F_COS,
    F_COSH,
    F_COUNT_OVER_TIME,
    F_DAYS_IN_MONTH,
    F_DAY_OF_MONTH,
    F_DAY_OF_WEEK,
    F_DAY_OF_YEAR,
    F_DEG,
    F_DELTA,
    F_DERIV,
    F_DOUBLE_EXPONENTIAL_SMOOTHING,
    F_END,
    F_EXP,
    F_FIRST_OVER_TIME,
    F_FLOOR,
    F_HISTOGRAM_AVG,
    F_HISTOGRAM_COUNT,
    F_HISTOGRAM_FRACTION,
    F_HISTOGRAM_QUANTILE,
    F_HISTOGRAM_QUANTILES,
    F_HISTOGRAM_STDDEV,
    F_HISTOGRAM_STDVAR,
    F_HISTOGRAM_SUM,
    F_HOUR,
    F_IDELTA,
    F_INCREASE,
    F_INFO,
    F_IRATE,
    F_LABEL_JOIN,
    F_LABEL_REPLACE,
    F_LAST_OVER_TIME,
    F_LN,
    F_LOG10,
    F_LOG2,
    F_MAD_OVER_TIME,
    F_MAX_OF,
    F_MAX_OVER_TIME,
    F_MIN_OF,
    F_MIN_OVER_TIME,
    F_MINUTE,
    F_MONTH,
    F_PI,
    F_PREDICT_LINEAR,
    F_PRESENT_OVER_TIME,
    F_QUANTILE_OVER_TIME,
    F_RAD,
    F_RANGE,
    F_RATE,
    F_RESETS,
    F_ROUND,
    F_SCALAR,
    F_SGN,
    F_SIN,
    F_SINH,
    F_SORT,
    F_SORT_BY_LABEL,
    F_SORT_BY_LABEL_DESC,
    F_SORT_DESC,
    F_SQRT,
    F_START,
    F_START_TIMESTAMP,
    F_STDDEV_OVER_TIME,
    F_STDVAR_OVER_TIME,
    F_STEP,
    F_SUM_OVER_TIME,
    F_TAN,
    F_TANH,
    F_TIME,
    F_TIMESTAMP,
    F_TS_OF_FIRST_OVER_TIME,
    F_TS_OF_LAST_OVER_TIME,
    F_TS_OF_MAX_OVER_TIME,
    F_TS_OF_MIN_OVER_TIME,
    F_VECTOR,
    F_YEAR,
    F_COUNT_
};

struct pq_func {
    const char *name;
    enum pq_fid id;
    enum pq_type args[6];
    int nargs;    /* entries in args */
    int variadic; /* 0: exactly nargs; >0: the last may be omitted or repeated up to
                     this many times; -1: the last repeats without bound */
    enum pq_type ret;
    bool experimental;
};

/* The function of that name, or NULL. */
const struct pq_func *pq_func_lookup(const char *name, size_t len);

/* ---- parsing ------------------------------------------------------------------ */

/* Parser switches (Prometheus' feature flags and engine options). */
struct pq_features {
    bool experimental_functions; /* promql-experimental-functions */
    bool duration_expr;          /* promql-duration-expr */
    bool extended_range;         /* promql-extended-range-selectors (anchored, smoothed) */
    bool fill_modifiers;         /* promql-binop-fill-modifiers */
    bool at_modifier;            /* @ (on by default in 3.x) */
    bool negative_offset;        /* negative offsets (on by default in 3.x) */
};

/* A parsed expression: the tree and the arena it lives in. */
struct pq_expr {
    struct pq_arena arena;
    struct pq_node *root;
    char *text; /* a copy of the query (arena), for positions in annotations */
    size_t len;
    /* selectors whose matchers must be freed with the tree */
    struct pq_node **sels;
    size_t nsels, capsels;
};

/* Parses s[0..len). Returns the expression (free with pq_expr_free), or NULL with
 * Prometheus' message ("1:5: parse error: unexpected end of input") in err. */
struct pq_expr *pq_parse(const char *s, size_t len, const struct pq_features *feat, char *err,
                         size_t errlen);
void pq_expr_free(struct pq_expr *e);

/* "line:col" (1-based) of a byte offset, as Prometheus prints positions. */
void pq_pos_str(const char *s, size_t len, uint32_t pos, char *buf, size_t buflen);

/* ---- printing ------------------------------------------------------------------- */

/* The canonical one-line form of a node (Prometheus' String()), malloc'd; NULL on OOM. */
char *pq_node_string(const struct pq_node *n);
/* format_query's form: the one-line form when it fits in 100 columns, otherwise
 * indented over several lines. malloc'd. */
char *pq_node_pretty(const struct pq_node *n);

/* The tree as Prometheus' /api/v1/parse_query JSON, malloc'd; NULL with err when it
 * cannot be written (a NaN fill value, out of memory). */
char *pq_node_json(const struct pq_node *n, char *err, size_t errlen);

/* Go's strconv.Quote of s (what Prometheus uses in messages and printing), appended to
 * a growing buffer. */
struct pq_buf {
    char *p;
    size_t len, cap;
    bool oom;
};
void pq_buf_add(struct pq_buf *b, const char *s, size_t n);
void pq_buf_puts(struct pq_buf *b, const char *s);
void pq_buf_printf(struct pq_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pq_buf_quote(struct pq_buf *b, const char *s, size_t n);
/* Go's FormatFloat(v, 'g'-ish, -1): the shortest text that reads back as v
 * ("1", "0.1", "1e+21", "+Inf", "NaN"), as Prometheus prints sample values. */
void pq_buf_float(struct pq_buf *b, double v);
/* Go's FormatFloat(v, 'f', -1, 64) as NumberLiteral.String() uses. */
void pq_buf_float_f(struct pq_buf *b, double v);
/* Prometheus' duration text ("1h30m", "-5m", "0s"). */
void pq_buf_duration(struct pq_buf *b, int64_t ms);

const char *pq_tok_text(enum pq_tok t); /* "+", "and", "sum", ... */
bool pq_is_comparison(enum pq_tok t);
bool pq_is_set_op(enum pq_tok t);
bool pq_agg_has_param(enum pq_tok t);

#endif
