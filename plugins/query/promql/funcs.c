/* plugins/query/promql/funcs.c — the table of PromQL functions the parser knows: name,
 * argument types, how many optional or repeated arguments, result type, and whether
 * Prometheus marks it experimental (enabled by the plugin's experimental_functions
 * switch). Facts from Prometheus' functions documentation; evaluation is in eval.c. */
#include "ast.h"

#include <string.h>

#define S   PQ_T_SCALAR
#define V   PQ_T_VECTOR
#define M   PQ_T_MATRIX
#define STR PQ_T_STRING

/* Sorted by name (looked up by binary search). */
static const struct pq_func funcs[] = {
    {"abs", F_ABS, {V}, 1, 0, V, false},
    {"absent", F_ABSENT, {V}, 1, 0, V, false},
    {"absent_over_time", F_ABSENT_OVER_TIME, {M}, 1, 0, V, false},
    {"acos", F_ACOS, {V}, 1, 0, V, false},
    {"acosh", F_ACOSH, {V}, 1, 0, V, false},
    {"asin", F_ASIN, {V}, 1, 0, V, false},
    {"asinh", F_ASINH, {V}, 1, 0, V, false},
    {"atan", F_ATAN, {V}, 1, 0, V, false},
    {"atanh", F_ATANH, {V}, 1, 0, V, false},
    {"avg_over_time", F_AVG_OVER_TIME, {M}, 1, 0, V, false},
    {"ceil", F_CEIL, {V}, 1, 0, V, false},
    {"changes", F_CHANGES, {M}, 1, 0, V, false},
    {"clamp", F_CLAMP, {V, S, S}, 3, 0, V, false},
    {"clamp_max", F_CLAMP_MAX, {V, S}, 2, 0, V, false},
    {"clamp_min", F_CLAMP_MIN, {V, S}, 2, 0, V, false},
    {"cos", F_COS, {V}, 1, 0, V, false},
    {"cosh", F_COSH, {V}, 1, 0, V, false},
    {"count_over_time", F_COUNT_OVER_TIME, {M}, 1, 0, V, false},
    {"day_of_month", F_DAY_OF_MONTH, {V}, 1, 1, V, false},
    {"day_of_week", F_DAY_OF_WEEK, {V}, 1, 1, V, false},
    {"day_of_year", F_DAY_OF_YEAR, {V}, 1, 1, V, false},
    {"days_in_month", F_DAYS_IN_MONTH, {V}, 1, 1, V, false},
    {"deg", F_DEG, {V}, 1, 0, V, false},
    {"delta", F_DELTA, {M}, 1, 0, V, false},
    {"deriv", F_DERIV, {M}, 1, 0, V, false},
    {"double_exponential_smoothing", F_DOUBLE_EXPONENTIAL_SMOOTHING, {M, S, S}, 3, 0, V, true},
    {"end", F_END, {0}, 0, 0, S, false},
    {"exp", F_EXP, {V}, 1, 0, V, false},
    {"first_over_time", F_FIRST_OVER_TIME, {M}, 1, 0, V, true},
    {"floor", F_FLOOR, {V}, 1, 0, V, false},
    {"histogram_avg", F_HISTOGRAM_AVG, {V}, 1, 0, V, false},
    {"histogram_count", F_HISTOGRAM_COUNT, {V}, 1, 0, V, false},
    {"histogram_fraction", F_HISTOGRAM_FRACTION, {S, S, V}, 3, 0, V, false},
    {"histogram_quantile", F_HISTOGRAM_QUANTILE, {S, V}, 2, 0, V, false},
    {"histogram_quantiles", F_HISTOGRAM_QUANTILES, {V, STR, S, S}, 4, -1, V, true},
    {"histogram_stddev", F_HISTOGRAM_STDDEV, {V}, 1, 0, V, false},
    {"histogram_stdvar", F_HISTOGRAM_STDVAR, {V}, 1, 0, V, false},
    {"histogram_sum", F_HISTOGRAM_SUM, {V}, 1, 0, V, false},
    {"hour", F_HOUR, {V}, 1, 1, V, false},
    {"idelta", F_IDELTA, {M}, 1, 0, V, false},
    {"increase", F_INCREASE, {M}, 1, 0, V, false},
    {"info", F_INFO, {V, V}, 2, 1, V, true},
    {"irate", F_IRATE, {M}, 1, 0, V, false},
    {"label_join", F_LABEL_JOIN, {V, STR, STR, STR}, 4, -1, V, false},
    {"label_replace", F_LABEL_REPLACE, {V, STR, STR, STR, STR}, 5, 0, V, false},
    {"last_over_time", F_LAST_OVER_TIME, {M}, 1, 0, V, false},
    {"ln", F_LN, {V}, 1, 0, V, false},
    {"log10", F_LOG10, {V}, 1, 0, V, false},
    {"log2", F_LOG2, {V}, 1, 0, V, false},
    {"mad_over_time", F_MAD_OVER_TIME, {M}, 1, 0, V, true},
    {"max_of", F_MAX_OF, {S, S}, 2, 0, S, true},
    {"max_over_time", F_MAX_OVER_TIME, {M}, 1, 0, V, false},
    {"min_of", F_MIN_OF, {S, S}, 2, 0, S, true},
    {"min_over_time", F_MIN_OVER_TIME, {M}, 1, 0, V, false},
    {"minute", F_MINUTE, {V}, 1, 1, V, false},
    {"month", F_MONTH, {V}, 1, 1, V, false},
    {"pi", F_PI, {0}, 0, 0, S, false},
    {"predict_linear", F_PREDICT_LINEAR, {M, S}, 2, 0, V, false},
    {"present_over_time", F_PRESENT_OVER_TIME, {M}, 1, 0, V, false},
    {"quantile_over_time", F_QUANTILE_OVER_TIME, {S, M}, 2, 0, V, false},
    {"rad", F_RAD, {V}, 1, 0, V, false},
    {"range", F_RANGE, {0}, 0, 0, S, true},
    {"rate", F_RATE, {M}, 1, 0, V, false},
    {"resets", F_RESETS, {M}, 1, 0, V, false},
    {"round", F_ROUND, {V, S}, 2, 1, V, false},
    {"scalar", F_SCALAR, {V}, 1, 0, S, false},
    {"sgn", F_SGN, {V}, 1, 0, V, false},
    {"sin", F_SIN, {V}, 1, 0, V, false},
    {"sinh", F_SINH, {V}, 1, 0, V, false},
    {"sort", F_SORT, {V}, 1, 0, V, false},
    {"sort_by_label", F_SORT_BY_LABEL, {V, STR}, 2, -1, V, true},
    {"sort_by_label_desc", F_SORT_BY_LABEL_DESC, {V, STR}, 2, -1, V, true},
    {"sort_desc", F_SORT_DESC, {V}, 1, 0, V, false},
    {"sqrt", F_SQRT, {V}, 1, 0, V, false},
    {"start", F_START, {0}, 0, 0, S, false},
    {"start_timestamp", F_START_TIMESTAMP, {V}, 1, 0, V, true},
    {"stddev_over_time", F_STDDEV_OVER_TIME, {M}, 1, 0, V, false},
    {"stdvar_over_time", F_STDVAR_OVER_TIME, {M}, 1, 0, V, false},
    {"step", F_STEP, {0}, 0, 0, S, true},
    {"sum_over_time", F_SUM_OVER_TIME, {M}, 1, 0, V, false},
    {"tan", F_TAN, {V}, 1, 0, V, false},
    {"tanh", F_TANH, {V}, 1, 0, V, false},
    {"time", F_TIME, {0}, 0, 0, S, false},
    {"timestamp", F_TIMESTAMP, {V}, 1, 0, V, false},
    {"ts_of_first_over_time", F_TS_OF_FIRST_OVER_TIME, {M}, 1, 0, V, true},
    {"ts_of_last_over_time", F_TS_OF_LAST_OVER_TIME, {M}, 1, 0, V, true},
    {"ts_of_max_over_time", F_TS_OF_MAX_OVER_TIME, {M}, 1, 0, V, true},
    {"ts_of_min_over_time", F_TS_OF_MIN_OVER_TIME, {M}, 1, 0, V, true},
    {"vector", F_VECTOR, {S}, 1, 0, V, false},
    {"year", F_YEAR, {V}, 1, 1, V, false},
};

const struct pq_func *pq_func_lookup(const char *name, size_t len)
{
    size_t lo = 0, hi = sizeof funcs / sizeof funcs[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *fn = funcs[mid].name;
        size_t fl = strlen(fn);
        int c = memcmp(fn, name, fl < len ? fl : len);
        if (c == 0)
            c = fl < len ? -1 : fl > len ? 1 : 0;
        if (c == 0)
            return &funcs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
