/* plugins/query/promql/func.c — PromQL functions on float samples, written from
 * Prometheus' functions documentation: range functions (one pass over each series'
 * samples for all steps, windows left-open), element-wise math, label functions, sorting,
 * classic-bucket histogram_quantile and histogram_fraction, absent, and the scalar
 * functions. Native-histogram samples never reach this code (the storage gives floats). */
#include "evalint.h"

#include <pthread.h>

#include <stdio.h>
#include <time.h>

double pq_quantile(double q, double *vals, size_t n);

/* Go's math.Max and math.Min: an infinity wins over NaN, otherwise NaN wins. */
static double go_max(double a, double b)
{
    if (isinf(a) && a > 0)
        return a;
    if (isinf(b) && b > 0)
        return b;
    if (isnan(a) || isnan(b))
        return NAN;
    if (a == 0 && b == 0)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

static double go_min(double a, double b)
{
    if (isinf(a) && a < 0)
        return a;
    if (isinf(b) && b < 0)
        return b;
    if (isnan(a) || isnan(b))
        return NAN;
    if (a == 0 && b == 0)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}

static void fmt_float(char *buf, size_t n, double v)
{
    struct pq_buf b = {0};
    pq_buf_float(&b, v);
    snprintf(buf, n, "%s", b.p ? b.p : "");
    free(b.p);
}

/* ---- range functions -------------------------------------------------------------------- */

/* rate, increase and delta: the difference between the first and last samples (with
 * counter resets added back for counters), extrapolated towards the window's edges when
 * the samples come close to them (within 1.1 average intervals), but never below zero
 * for counters. */
/* The parts of the extrapolation that depend only on where the samples sit in the window
 * (and repeat from step to step and series to series when scrapes are regular): kept for
 * the last placement seen, computed by the same operations, so the results are the same
 * to the bit. */
struct rate_memo {
    bool set;
    int64_t d_start, d_end, d_sampled; /* ms */
    size_t n;
    double sampled, to_start, to_end; /* seconds, to_start and to_end capped */
    double factor;                    /* with to_start as is, divided by the range if rate */
};

static bool extrapolated_rate(const int64_t *t, const double *v, size_t n, int64_t wstart,
                              int64_t wend, int64_t range, bool counter, bool is_rate,
                              bool resets, struct rate_memo *m, double *out)
{
    if (n < 2)
        return false;
    double result = v[n - 1] - v[0];
    if (counter && resets) {
        double prev = v[0];
        for (size_t i = 1; i < n; i++) {
            if (v[i] < prev)
                result += prev;
            prev = v[i];
        }
    }
    int64_t d_start = t[0] - wstart, d_end = wend - t[n - 1], d_sampled = t[n - 1] - t[0];
    if (!m->set || m->d_start != d_start || m->d_end != d_end || m->d_sampled != d_sampled ||
        m->n != n) {
        double to_start = (double)d_start / 1000.0;
        double to_end = (double)d_end / 1000.0;
        double sampled = (double)d_sampled / 1000.0;
        double avg_gap = sampled / (double)(n - 1);
        double threshold = avg_gap * 1.1;
        if (to_start >= threshold)
            to_start = avg_gap / 2;
        if (to_end >= threshold)
            to_end = avg_gap / 2;
        double factor = (sampled + to_start + to_end) / sampled;
        if (is_rate)
            factor /= (double)range / 1000.0;
        *m = (struct rate_memo){true, d_start, d_end, d_sampled, n, sampled, to_start, to_end,
                                factor};
    }
    double factor = m->factor;
    if (counter && result > 0 && v[0] >= 0) {
        double to_zero = m->sampled * (v[0] / result);
        if (to_zero < m->to_start) {
            factor = (m->sampled + to_zero + m->to_end) / m->sampled;
            if (is_rate)
                factor /= (double)range / 1000.0;
        }
    }
    *out = result * factor;
    return true;
}

/* Least squares fit of v over (t - intercept_t) in seconds, with compensated sums. */
static bool linear_regression(const int64_t *t, const double *v, size_t n, int64_t icept_t,
                              double *slope, double *intercept)
{
    double cnt = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    bool const_y = true;
    for (size_t i = 0; i < n; i++) {
        if (const_y && i > 0 && v[i] != v[0])
            const_y = false;
        cnt += 1;
        double x = (double)(t[i] - icept_t) / 1000.0;
        sx = kahan_inc(x, sx, &cx);
        sy = kahan_inc(v[i], sy, &cy);
        sxy = kahan_inc(x * v[i], sxy, &cxy);
        sx2 = kahan_inc(x * x, sx2, &cx2);
    }
    if (const_y) {
        if (isinf(v[0])) {
            *slope = *intercept = NAN;
            return true;
        }
        *slope = 0;
        *intercept = v[0];
        return true;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double cov = sxy - sx * sy / cnt;
    double var = sx2 - sx * sx / cnt;
    *slope = cov / var;
    *intercept = sy / cnt - *slope * sx / cnt;
    return true;
}

/* Welford's mean and variance with compensated running sums. */
static double variance(const double *v, size_t n)
{
    double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
    for (size_t i = 0; i < n; i++) {
        count += 1;
        double delta = v[i] - (mean + cmean);
        mean = kahan_inc(delta / count, mean, &cmean);
        aux = kahan_inc(delta * (v[i] - (mean + cmean)), aux, &caux);
    }
    return (aux + caux) / count;
}

static double avg_values(const double *v, size_t n)
{
    double sum = 0, c = 0;
    bool anyinf = false;
    for (size_t i = 0; i < n; i++) {
        sum = kahan_inc(v[i], sum, &c);
        if (isinf(v[i]))
            anyinf = true;
    }
    double s = isinf(sum) ? sum : sum + c;
    if (isinf(s) && !anyinf) {
        double m = 0, cc = 0;
        for (size_t i = 0; i < n; i++)
            m = kahan_inc(v[i] / (double)n, m, &cc);
        return m + cc;
    }
    return s / (double)n;
}

static double holt(const double *v, size_t n, double sf, double tf)
{
    double s0 = 0, s1 = v[0], b = v[1] - v[0];
    for (size_t i = 1; i < n; i++) {
        double x = sf * v[i];
        if (i > 1)
            b = tf * (s1 - s0) + (1 - tf) * b;
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    return s1;
}

static bool is_counter_name(const struct ignis_label *ls, size_t n, const char **name, size_t *nlen)
{
    const struct ignis_label *l = lbl_get(ls, n, "__name__");
    *name = l ? l->value : "";
    *nlen = l ? l->value_len : 0;
    if (!l)
        return true;
    static const char *const sfx[] = {"_total", "_sum", "_count", "_bucket"};
    for (size_t i = 0; i < 4; i++) {
        size_t k = strlen(sfx[i]);
        if (l->value_len >= k && memcmp(l->value + l->value_len - k, sfx[i], k) == 0)
            return true;
    }
    return false;
}

/* anchored and smoothed windows (promql-extended-range-selectors). lo..hi are the samples
 * inside (wstart, wend]. anchored: the newest sample at or before wstart (within the
 * lookback) stands in for the start, else the first sample inside; no extrapolation.
 * smoothed: the (reset-corrected, for counters) values are interpolated linearly at both
 * edges from the samples around them (within the lookback), or held flat where one side
 * has none. Returns false when there is no result. For rate the caller divides. */
static bool extended_window(const struct rawser *r, size_t lo, size_t hi, int64_t wstart,
                            int64_t wend, int64_t lb, enum pq_fid id, bool anchored, double *out)
{
    size_t cnt = hi - lo;
    bool counter = id != F_DELTA;
    if (anchored) {
        if (cnt == 0)
            return false;
        size_t first = lo;
        if (lo > 0 && r->t[lo - 1] > wstart - lb)
            first = lo - 1;
        double c = 0;
        if (id == F_CHANGES || id == F_RESETS) {
            for (size_t j = first + 1; j < hi; j++) {
                if (id == F_CHANGES && r->v[j] != r->v[j - 1] &&
                    !(isnan(r->v[j]) && isnan(r->v[j - 1])))
                    c++;
                if (id == F_RESETS && r->v[j] < r->v[j - 1])
                    c++;
            }
            *out = c;
            return true;
        }
        double res = r->v[hi - 1] - r->v[first];
        if (counter)
            for (size_t j = first + 1; j < hi; j++)
                if (r->v[j] < r->v[j - 1])
                    res += r->v[j - 1];
        *out = res;
        return true;
    }
    bool hasa = lo > 0 && r->t[lo - 1] > wstart - lb;
    bool hasb = hi < r->n && r->t[hi] < wend + lb;
    if (cnt == 0 && !(hasa && hasb))
        return false;
    size_t first = hasa ? lo - 1 : lo;
    size_t last = hasb ? hi : hi - 1;
    /* reset-corrected values from first to last */
    double corr = 0;
    double vstart = 0, vend = 0;
    double prev_raw = r->v[first];
    double *cv = malloc((last - first + 1) * sizeof *cv);
    if (!cv)
        return false;
    cv[0] = r->v[first];
    for (size_t j = first + 1; j <= last; j++) {
        if (counter && r->v[j] < prev_raw)
            corr += prev_raw;
        prev_raw = r->v[j];
        cv[j - first] = r->v[j] + corr;
    }
    /* start */
    if (hasa && r->t[first] == wstart) {
        vstart = cv[0];
    } else if (hasa) {
        double f = (double)(wstart - r->t[first]) / (double)(r->t[first + 1] - r->t[first]);
        vstart = cv[0] + (cv[1] - cv[0]) * f;
    } else {
        vstart = cv[0];
    }
    /* end: the last sample at or before wend, and the one after it */
    if (cnt > 0 || hasa) {
        size_t c = hi > 0 ? hi - 1 : 0; /* last sample <= wend */
        if (hasb && c + 1 == hi) {
            double f = (double)(wend - r->t[c]) / (double)(r->t[hi] - r->t[c]);
            vend = cv[c - first] + (cv[hi - first] - cv[c - first]) * f;
        } else {
            vend = cv[c - first];
        }
    } else {
        vend = cv[0];
    }
    free(cv);
    *out = vend - vstart;
    return true;
}

/* rate and increase of a series with samples whose name is not a counter's: an info. */
static void note_counter(struct ev *ev, const struct pq_node *marg, const struct rawser *r)
{
    const char *nm;
    size_t nl;
    if (r->n > 0 && !is_counter_name(r->ls, r->nls, &nm, &nl))
        ev_info(ev, marg,
                "metric might not be a counter, name does not end in "
                "_total/_sum/_count/_bucket: \"%.*s\"",
                (int)nl, nm);
}

/* The function of a range vector at every step, for each series of ra; the output's
 * series keep ra's order. annotate: the infos about the series are added (the second
 * thread's caller adds them later, in order). */
static int range_fn_series(struct ev *ev, const struct pq_node *n, const struct pq_node *marg,
                           const struct rangearg *ra, const struct pq_value *p1,
                           const struct pq_value *p2, bool annotate, struct pq_value *out)
{
    enum pq_fid id = n->call.fn->id;
    bool keep_name = id == F_LAST_OVER_TIME || id == F_FIRST_OVER_TIME;
    int rc = -1;
    double *tmp = NULL;
    size_t tmpcap = 0;
    /* rate and increase: resets[i], how many counter resets samples 1..i hold, so a window
     * without one skips the scan (the sum is the same: nothing is added) */
    uint32_t *resets = NULL;
    size_t rescap = 0;
    struct rate_memo memo = {0}; /* ra->range and the function are fixed for the call */
    out->type = PQ_T_VECTOR;
    for (size_t i = 0; i < ra->n; i++) {
        struct rawser *r = &ra->s[i];
        struct pq_series *s = NULL;
        size_t lo = 0, hi = 0;
        if (r->n == 0)
            continue; /* no samples in any window */
        if (annotate && (id == F_RATE || id == F_INCREASE) && !ra->anchored && !ra->smoothed)
            note_counter(ev, marg, r);
        bool counter_fn = (id == F_RATE || id == F_INCREASE) && !ra->anchored && !ra->smoothed;
        if (counter_fn) {
            if (r->n > rescap) {
                rescap = r->n * 2;
                uint32_t *nr = realloc(resets, rescap * sizeof *nr);
                if (!nr) {
                    ev_oom(ev);
                    goto out;
                }
                resets = nr;
            }
            resets[0] = 0;
            for (size_t j = 1; j < r->n; j++)
                resets[j] = resets[j - 1] + (r->v[j] < r->v[j - 1]);
        }
        for (size_t k = 0; k < ev->nsteps; k++) {
            if ((k & 63) == 0 && ev_check(ev) < 0)
                goto out;
            int64_t ts = ev_step_ts(ev, k);
            int64_t wend =
                (ra->at == PQ_AT_NONE ? ts : ev_at_time(ev, ra->at, ra->at_ms, ts)) - ra->offset;
            int64_t wstart = wend - ra->range;
            if (ra->at != PQ_AT_NONE) {
                lo = 0;
                hi = 0;
            }
            while (lo < r->n && r->t[lo] <= wstart)
                lo++;
            if (hi < lo)
                hi = lo;
            while (hi < r->n && r->t[hi] <= wend)
                hi++;
            size_t cnt = hi - lo;
            const int64_t *wt = r->t + lo;
            const double *wv = r->v + lo;
            double val = 0;
            bool ok = true;
            if (ra->anchored || ra->smoothed) {
                if (!extended_window(r, lo, hi, wstart, wend, ev->o->lookback_ms, id, ra->anchored,
                                     &val))
                    continue;
                if (id == F_RATE)
                    val /= (double)ra->range / 1000.0;
                goto emit;
            }
            switch (id) {
            case F_RATE:
            case F_INCREASE:
            case F_DELTA:
                ok = extrapolated_rate(wt, wv, cnt, wstart, wend, ra->range, id != F_DELTA,
                                       id == F_RATE,
                                       !counter_fn || (cnt > 1 && resets[hi - 1] != resets[lo]),
                                       &memo, &val);
                break;
            case F_IRATE:
            case F_IDELTA:
                if (cnt < 2) {
                    ok = false;
                    break;
                }
                if (id == F_IDELTA) {
                    val = wv[cnt - 1] - wv[cnt - 2];
                } else {
                    double d = wv[cnt - 1] < wv[cnt - 2] ? wv[cnt - 1] : wv[cnt - 1] - wv[cnt - 2];
                    int64_t dt = wt[cnt - 1] - wt[cnt - 2];
                    if (dt == 0) {
                        ok = false;
                        break;
                    }
                    val = d / ((double)dt / 1000.0);
                }
                break;
            case F_DERIV: {
                if (cnt < 2) {
                    ok = false;
                    break;
                }
                double sl, ic;
                linear_regression(wt, wv, cnt, wt[0], &sl, &ic);
                val = sl;
                break;
            }
            case F_PREDICT_LINEAR: {
                if (cnt < 2) {
                    ok = false;
                    break;
                }
                double sl, ic;
                linear_regression(wt, wv, cnt, ts, &sl, &ic);
                val = sl * p1->scalar[k] + ic;
                break;
            }
            case F_CHANGES:
            case F_RESETS: {
                if (cnt < 1) {
                    ok = false;
                    break;
                }
                double c = 0;
                for (size_t j = 1; j < cnt; j++) {
                    if (id == F_CHANGES) {
                        if (wv[j] != wv[j - 1] && !(isnan(wv[j]) && isnan(wv[j - 1])))
                            c++;
                    } else if (wv[j] < wv[j - 1]) {
                        c++;
                    }
                }
                val = c;
                break;
            }
            case F_AVG_OVER_TIME:
                if (cnt < 1) {
                    ok = false;
                    break;
                }
                val = avg_values(wv, cnt);
                break;
            case F_SUM_OVER_TIME: {
                if (cnt < 1) {
                    ok = false;
                    break;
                }
                double sum = 0, c = 0;
                for (size_t j = 0; j < cnt; j++)
                    sum = kahan_inc(wv[j], sum, &c);
                val = isinf(sum) ? sum : sum + c;
                break;
            }
            case F_COUNT_OVER_TIME:
                ok = cnt > 0;
                val = (double)cnt;
                break;
            case F_PRESENT_OVER_TIME:
                ok = cnt > 0;
                val = 1;
                break;
            case F_MIN_OVER_TIME:
            case F_MAX_OVER_TIME: {
                if (cnt < 1) {
                    ok = false;
                    break;
                }
                double m = wv[0];
                for (size_t j = 1; j < cnt; j++) {
                    if (id == F_MAX_OVER_TIME ? (wv[j] > m || isnan(m)) : (wv[j] < m || isnan(m)))
                        m = wv[j];
                }
                val = m;
                break;
            }
            case F_TS_OF_MIN_OVER_TIME:
            case F_TS_OF_MAX_OVER_TIME: {
                if (cnt < 1) {
                    ok = false;
                    break;
                }
                double m = wv[0];
                int64_t mt = wt[0];
                for (size_t j = 1; j < cnt; j++) {
                    bool better = id == F_TS_OF_MAX_OVER_TIME ? (wv[j] >= m || isnan(m))
                                                              : (wv[j] <= m || isnan(m));
                    if (better) {
                        m = wv[j];
                        mt = wt[j];
                    }
                }
                val = (double)mt / 1000.0;
                break;
            }
            case F_LAST_OVER_TIME:
                ok = cnt > 0;
                if (ok)
                    val = wv[cnt - 1];
                break;
            case F_FIRST_OVER_TIME:
                ok = cnt > 0;
                if (ok)
                    val = wv[0];
                break;
            case F_TS_OF_LAST_OVER_TIME:
                ok = cnt > 0;
                if (ok)
                    val = (double)wt[cnt - 1] / 1000.0;
                break;
            case F_TS_OF_FIRST_OVER_TIME:
                ok = cnt > 0;
                if (ok)
                    val = (double)wt[0] / 1000.0;
                break;
            case F_STDDEV_OVER_TIME:
            case F_STDVAR_OVER_TIME:
                if (cnt < 1) {
                    ok = false;
                    break;
                }
                val = variance(wv, cnt);
                if (id == F_STDDEV_OVER_TIME)
                    val = sqrt(val);
                break;
            case F_QUANTILE_OVER_TIME:
            case F_MAD_OVER_TIME: {
                if (cnt < 1) {
                    ok = false;
                    break;
                }
                if (cnt > tmpcap) {
                    tmpcap = cnt * 2;
                    double *nt = realloc(tmp, tmpcap * 2 * sizeof(double));
                    if (!nt) {
                        ev_oom(ev);
                        goto out;
                    }
                    tmp = nt;
                }
                memcpy(tmp, wv, cnt * sizeof(double));
                if (id == F_QUANTILE_OVER_TIME) {
                    val = pq_quantile(p1->scalar[k], tmp, cnt);
                } else {
                    bool nan = false;
                    for (size_t j = 0; j < cnt; j++)
                        nan = nan || isnan(wv[j]);
                    if (nan) {
                        val = NAN;
                        break;
                    }
                    double med = pq_quantile(0.5, tmp, cnt);
                    for (size_t j = 0; j < cnt; j++)
                        tmp[j] = fabs(wv[j] - med);
                    val = pq_quantile(0.5, tmp, cnt);
                }
                break;
            }
            case F_DOUBLE_EXPONENTIAL_SMOOTHING:
                if (cnt < 2) {
                    ok = false;
                    break;
                }
                val = holt(wv, cnt, p1->scalar[k], p2->scalar[k]);
                break;
            default:
                ok = false;
                break;
            }
            if (!ok)
                continue;
        emit:
            if (!s) {
                s = val_add_series(ev, out, r->ls, r->nls, keep_name ? r->drop_name : true);
                size_t room = ev->nsteps - k;
                if (ra->at == PQ_AT_NONE && ev->step > 0) {
                    /* windows that can still hold a sample of the series */
                    int64_t span = r->t[r->n - 1] - r->t[0] + ra->range;
                    if (span >= 0 && (uint64_t)span / (uint64_t)ev->step + 2 < room)
                        room = (size_t)((uint64_t)span / (uint64_t)ev->step + 2);
                }
                if (!s || series_reserve(ev, s, room) < 0)
                    goto out;
            }
            if (series_push1(ev, s, ts, val) < 0)
                goto out;
        }
        if (ev->held && ev_held_flush(ev) < 0)
            goto out;
    }
    rc = 0;
out:
    free(tmp);
    free(resets);
    return rc;
}

/* ---- a big range function on two threads -------------------------------------------------- */

/* A range function runs on two threads when it has at least this many steps and once the
 * first thread has read series for at least this many points (steps x series): below,
 * starting a thread and a querier costs about as much as the second thread would save. */
#define PQ_SHARD_MIN_STEPS 16
#define PQ_SHARD_MIN_WORK  32768

/* One of the two threads: its own copy of the evaluation state (arena, counters, error),
 * its own querier, and its share of the series. */
struct shard {
    struct ev sub;
    struct pq_engine_opts o;
    struct pq_arena arena;
    struct rangearg ra;
    struct pq_value out;
    const struct pq_node *n, *marg;
};

/* The first thread's plan for the second. */
struct pq_split {
    struct shard *second;
    struct ignis_querier *q2;
    pthread_t tid;
    bool tried, started;
};

/* A series just read: its steps computed while its samples are at hand. */
static int shard_series(struct ev *ev, struct rangearg *ra, struct rawser *r)
{
    struct shard *sh = (struct shard *)ev; /* sub is the first member */
    struct rangearg one = *ra;
    one.s = r;
    one.n = 1;
    return range_fn_series(ev, sh->n, sh->marg, &one, NULL, NULL, false, &sh->out);
}

static void *shard_run(void *arg)
{
    struct shard *sh = arg;
    struct ev *ev = &sh->sub;
    sh->out.type = PQ_T_VECTOR;
    ev->each_series = shard_series;
    ev_rangearg(ev, sh->marg, &sh->ra);
    ev->split = NULL;
    ev->each_series = NULL;
    free(ev->spare_t);
    free(ev->spare_v);
    ev->spare_t = NULL;
    ev->spare_v = NULL;
    ev_held_flush(ev);
    return NULL;
}

/* The first thread has read nseries series, last the latest: when that is enough work,
 * the second thread starts on its own querier, taking the series after last whose label
 * hash is in shard 2; the first keeps shard 1 of the rest. The two queriers may differ by
 * series committed between their openings: a series either is in the label order before
 * last (the first's), or falls to one thread by its labels alone. */
void ev_split(struct ev *ev, const struct rawser *last, size_t nseries)
{
    struct pq_split *sp = ev->split;
    if (sp->tried || (uint64_t)nseries * ev->nsteps < PQ_SHARD_MIN_WORK)
        return;
    sp->tried = true;
    sp->q2 = ev->in->ops->querier(ev->in->storage, ev->qmint, ev->qmaxt);
    if (!sp->q2)
        return; /* one thread then */
    struct ev *b = &sp->second->sub;
    b->q = sp->q2;
    b->after_ls = last->ls; /* the first thread's arena: not changed once written */
    b->after_n = last->nls;
    if (pthread_create(&sp->tid, NULL, shard_run, sp->second) != 0) {
        ev->in->ops->querier_close(sp->q2);
        sp->q2 = NULL;
        return;
    }
    sp->started = true;
    ev->shard = 1;
}

static void shard_init(struct shard *sh, struct ev *ev, const struct pq_node *n,
                       const struct pq_node *marg, int which, _Atomic uint64_t *held)
{
    memset(sh, 0, sizeof *sh);
    sh->o = *ev->o;
    sh->o.max_samples = 0; /* checked on the shared count instead */
    sh->sub = *ev;
    sh->sub.o = &sh->o;
    sh->sub.arena = &sh->arena;
    sh->sub.shard = which;
    sh->sub.split = NULL;
    sh->sub.after_ls = NULL;
    sh->sub.each_series = NULL;
    sh->sub.spare_t = NULL;
    sh->sub.spare_v = NULL;
    sh->sub.spare_cap = 0;
    sh->sub.cur_samples = sh->sub.peak_samples = sh->sub.total_samples = 0;
    sh->sub.held = held;
    sh->sub.held_added = 0;
    sh->sub.held_max = ev->o->max_samples;
    sh->sub.tick = 0;
    sh->sub.err = IGNIS_QERR_NONE;
    sh->sub.errmsg[0] = 0;
    memset(&sh->sub.warns, 0, sizeof sh->sub.warns);
    memset(&sh->sub.infos, 0, sizeof sh->sub.infos);
    sh->n = n;
    sh->marg = marg;
}

static void anno_drop(struct pq_anno *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->msgs[i]);
    free(a->msgs);
    memset(a, 0, sizeof *a);
}

/* Evaluates the range function n over the matrix selector marg, on two threads when it
 * turns out big enough (ev_split): each thread selects with its own querier, keeps its
 * share of the series (skipping the others before their samples are read) and computes
 * every step of them; the two outputs, each in the storage's label order, are merged into
 * that order, so the result, the annotations and the sample accounting are those of one
 * thread. Returns 1 when done, -1 on error, 0 when the call is not one for two threads. */
static int range_fn_sharded(struct ev *ev, const struct pq_node *n, const struct pq_node *marg,
                            struct pq_value *out)
{
    enum pq_fid id = n->call.fn->id;
    const struct pq_node *m = ev_unparen(marg);
    if (ev->o->one_thread || ev->shard || !ev->q || !ev->in->ops->querier ||
        ev->nsteps < PQ_SHARD_MIN_STEPS || m->kind != N_MATRIX || m->ms.vs->vs.anchored ||
        m->ms.vs->vs.smoothed || id == F_QUANTILE_OVER_TIME || id == F_PREDICT_LINEAR ||
        id == F_DOUBLE_EXPONENTIAL_SMOOTHING)
        return 0;
    uint64_t base = ev->cur_samples;
    _Atomic uint64_t held;
    atomic_init(&held, base);
    struct shard *sh = malloc(2 * sizeof *sh);
    if (!sh)
        return ev_oom(ev);
    shard_init(&sh[0], ev, n, marg, 0, &held); /* every series until the split */
    shard_init(&sh[1], ev, n, marg, 2, &held);
    struct pq_split sp = {.second = &sh[1]};
    sh[0].sub.split = &sp;
    shard_run(&sh[0]);
    if (sp.started) {
        pthread_join(sp.tid, NULL);
        ev->in->ops->querier_close(sp.q2);
    }

    /* the state of one evaluation again */
    ev->cur_samples = base + sh[0].sub.cur_samples + sh[1].sub.cur_samples;
    if (ev->cur_samples > ev->peak_samples)
        ev->peak_samples = ev->cur_samples;
    ev->total_samples += sh[0].sub.total_samples + sh[1].sub.total_samples;
    for (int i = 0; i < 2; i++) {
        if (sh[i].sub.err != IGNIS_QERR_NONE)
            ev_error(ev, sh[i].sub.err, "%s", sh[i].sub.errmsg);
        pq_arena_splice(ev->arena, &sh[i].arena);
        anno_drop(&sh[i].sub.warns);
        anno_drop(&sh[i].sub.infos);
    }
    if (ev->err == IGNIS_QERR_NONE && ev->o->max_samples && ev->cur_samples > ev->o->max_samples)
        ev_too_many(ev);
    const struct rangearg *ra0 = &sh[0].ra, *ra1 = &sh[1].ra;
    struct pq_value *o0 = &sh[0].out, *o1 = &sh[1].out;
    int rc = -1;
    if (ev->err == IGNIS_QERR_NONE) {
        /* the infos of the series in order */
        if (id == F_RATE || id == F_INCREASE) {
            size_t i = 0, j = 0;
            while (i < ra0->n || j < ra1->n) {
                bool first = j == ra1->n ||
                             (i < ra0->n && ignis_labels_cmp(ra0->s[i].ls, ra0->s[i].nls,
                                                             ra1->s[j].ls, ra1->s[j].nls) < 0);
                note_counter(ev, marg, first ? &ra0->s[i++] : &ra1->s[j++]);
            }
        }
        out->type = PQ_T_VECTOR;
        size_t cap = o0->n + o1->n;
        out->s = malloc((cap ? cap : 1) * sizeof *out->s);
        if (!out->s) {
            ev_oom(ev);
        } else {
            out->cap = cap;
            size_t i = 0, j = 0;
            while (i < o0->n || j < o1->n) {
                bool first =
                    j == o1->n || (i < o0->n && ignis_labels_cmp(o0->s[i].ls, o0->s[i].nls,
                                                                 o1->s[j].ls, o1->s[j].nls) < 0);
                out->s[out->n++] = first ? o0->s[i++] : o1->s[j++];
            }
            free(o0->s);
            free(o1->s);
            memset(o0, 0, sizeof *o0);
            memset(o1, 0, sizeof *o1);
            rc = 1;
        }
    }
    for (int i = 0; i < 2; i++) {
        val_free(ev, &sh[i].out);
        rangearg_free(ev, &sh[i].ra);
    }
    free(sh);
    return rc;
}

static int eval_range_fn(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    enum pq_fid id = n->call.fn->id;
    size_t mi = (id == F_QUANTILE_OVER_TIME) ? 1 : 0;
    struct pq_value p1 = {0}, p2 = {0};
    struct rangearg ra;
    int rc = -1;
    memset(&ra, 0, sizeof ra);
    if (id == F_QUANTILE_OVER_TIME && ev_eval(ev, n->call.args[0], &p1) < 0)
        return -1;
    if (id == F_PREDICT_LINEAR && ev_eval(ev, n->call.args[1], &p1) < 0)
        return -1;
    if (id == F_DOUBLE_EXPONENTIAL_SMOOTHING) {
        if (ev_eval(ev, n->call.args[1], &p1) < 0)
            return -1;
        if (ev_eval(ev, n->call.args[2], &p2) < 0) {
            val_free(ev, &p1);
            return -1;
        }
    }
    const struct pq_node *marg = n->call.args[mi];
    int par = range_fn_sharded(ev, n, marg, out);
    if (par != 0) {
        rc = par > 0 ? 0 : -1;
        goto done;
    }
    if (ev_rangearg(ev, marg, &ra) < 0)
        goto done;
    if (ra.anchored || ra.smoothed) {
        static const enum pq_fid anchored_ok[] = {F_CHANGES, F_DELTA, F_INCREASE, F_RATE, F_RESETS};
        static const enum pq_fid smoothed_ok[] = {F_DELTA, F_INCREASE, F_RATE};
        bool ok = false;
        const enum pq_fid *list = ra.anchored ? anchored_ok : smoothed_ok;
        size_t nl = ra.anchored ? 5 : 3;
        for (size_t i = 0; i < nl; i++)
            if (list[i] == id)
                ok = true;
        if (!ok) {
            ev_error(ev, IGNIS_QERR_BAD_DATA, "%s modifier can only be used with: %s - not with %s",
                     ra.anchored ? "anchored" : "smoothed",
                     ra.anchored ? "changes, delta, increase, rate, resets"
                                 : "delta, increase, rate",
                     n->call.fn->name);
            goto done;
        }
    }
    out->type = PQ_T_VECTOR;
    if (id == F_DOUBLE_EXPONENTIAL_SMOOTHING) {
        for (size_t k = 0; k < ev->nsteps; k++) {
            double sf = p1.scalar[k], tf = p2.scalar[k];
            char b[64];
            if (!(sf > 0 && sf < 1)) {
                fmt_float(b, sizeof b, sf);
                ev_error(ev, IGNIS_QERR_EXECUTION,
                         "invalid smoothing factor. Expected: 0 < sf < 1, got: %s", b);
                goto done;
            }
            if (!(tf > 0 && tf < 1)) {
                fmt_float(b, sizeof b, tf);
                ev_error(ev, IGNIS_QERR_EXECUTION,
                         "invalid trend factor. Expected: 0 < tf < 1, got: %s", b);
                goto done;
            }
        }
    }
    if (id == F_QUANTILE_OVER_TIME) {
        for (size_t k = 0; k < ev->nsteps; k++) {
            double q = p1.scalar[k];
            if (!(q >= 0 && q <= 1)) {
                char b[64];
                fmt_float(b, sizeof b, q);
                ev_warn(ev, n->call.args[0], "quantile value should be between 0 and 1, got %s", b);
            }
        }
    }
    if (range_fn_series(ev, n, marg, &ra, &p1, &p2, true, out) < 0)
        goto done;
    rc = 0;
done:
    rangearg_free(ev, &ra);
    val_free(ev, &p1);
    val_free(ev, &p2);
    if (rc < 0)
        val_free(ev, out);
    return rc;
}

/* ---- absent ------------------------------------------------------------------------------- */

/* Labels for absent()'s output: the equality matchers of the selector (not __name__),
 * except names matched more than once. */
static struct ignis_label *absent_labels(struct ev *ev, const struct pq_node *arg, size_t *n)
{
    arg = ev_unparen(arg);
    *n = 0;
    const struct pq_node *vs = arg->kind == N_VECTOR   ? arg
                               : arg->kind == N_MATRIX ? arg->ms.vs
                                                       : NULL;
    struct ignis_label *ls = pq_alloc(ev->arena, sizeof *ls);
    if (!ls) {
        ev_oom(ev);
        return NULL;
    }
    if (!vs)
        return ls;
    size_t k = 0;
    const struct ignis_selector *sel = &vs->vs.sel;
    char **seen = pq_alloc(ev->arena, (sel->n + 1) * sizeof *seen);
    size_t nseen = 0;
    if (!seen) {
        ev_oom(ev);
        return NULL;
    }
    for (size_t i = 0; i < sel->n; i++) {
        const struct ignis_matcher *m = &sel->matchers[i];
        if (m->name_len == 8 && memcmp(m->name, "__name__", 8) == 0)
            continue;
        bool has = false;
        for (size_t j = 0; j < nseen; j++)
            if (strlen(seen[j]) == m->name_len && memcmp(seen[j], m->name, m->name_len) == 0)
                has = true;
        if (m->type == IGNIS_MATCH_EQ && !has) {
            ls = lbl_set(ev, ls, k, m->name, m->name_len, m->value, m->value_len, &k);
            seen[nseen++] = ev_strdup(ev, m->name, m->name_len);
        } else {
            ls = lbl_set(ev, ls, k, m->name, m->name_len, "", 0, &k);
        }
        if (!ls)
            return NULL;
    }
    *n = k;
    return ls;
}

static int eval_absent(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    const struct pq_node *arg = n->call.args[0];
    bool *present = calloc(ev->nsteps ? ev->nsteps : 1, sizeof *present);
    if (!present)
        return ev_oom(ev);
    if (n->call.fn->id == F_ABSENT) {
        struct pq_value v;
        if (ev_eval(ev, arg, &v) < 0) {
            free(present);
            return -1;
        }
        for (size_t i = 0; i < v.n; i++)
            for (size_t j = 0; j < v.s[i].n; j++)
                present[(v.s[i].t[j] - ev->start) / (ev->step ? ev->step : 1)] = true;
        val_free(ev, &v);
    } else {
        struct rangearg ra;
        if (ev_rangearg(ev, arg, &ra) < 0) {
            rangearg_free(ev, &ra);
            free(present);
            return -1;
        }
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t wend = ev_at_time(ev, ra.at, ra.at_ms, ev_step_ts(ev, k)) - ra.offset;
            int64_t wstart = wend - ra.range;
            for (size_t i = 0; i < ra.n && !present[k]; i++) {
                long j = 0;
                size_t lo = 0, hi = ra.s[i].n;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (ra.s[i].t[mid] <= wstart)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                j = (long)lo;
                if ((size_t)j < ra.s[i].n && ra.s[i].t[j] <= wend)
                    present[k] = true;
            }
        }
        rangearg_free(ev, &ra);
    }
    size_t nls;
    struct ignis_label *ls = absent_labels(ev, arg, &nls);
    out->type = PQ_T_VECTOR;
    struct pq_series *s = NULL;
    for (size_t k = 0; ls && k < ev->nsteps; k++) {
        if (present[k])
            continue;
        if (!s && !(s = val_add_series(ev, out, ls, nls, false)))
            break;
        if (series_push(ev, s, ev_step_ts(ev, k), 1) < 0)
            break;
    }
    free(present);
    return ev->err == IGNIS_QERR_NONE ? 0 : -1;
}

/* ---- label functions ------------------------------------------------------------------------ */

/* Fails when two series of v have a point at the same step with the same labels. */
static int check_duplicates(struct ev *ev, struct pq_value *v)
{
    if (v->n < 2)
        return 0;
    struct outmap m = {0};
    struct pq_value idx = {0};
    int rc = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        struct pq_series *s = &v->s[i];
        size_t before = idx.n;
        struct pq_series *o = out_series(ev, &idx, &m, s->ls, s->nls, false);
        if (!o) {
            rc = -1;
            break;
        }
        if (idx.n == before) {
            /* same labels as an earlier series: any common step is an error */
            struct pq_series *a = o;
            /* o->t holds the merged steps of earlier series */
            size_t p = 0, q = 0;
            while (p < a->n && q < s->n) {
                if (a->t[p] == s->t[q]) {
                    rc = ev_error(ev, IGNIS_QERR_EXECUTION,
                                  "vector cannot contain metrics with the same labelset");
                    break;
                }
                if (a->t[p] < s->t[q])
                    p++;
                else
                    q++;
            }
        }
        for (size_t j = 0; rc == 0 && j < s->n; j++) {
            /* keep o's steps sorted: merge */
            if (series_push(ev, o, s->t[j], 0) < 0) {
                rc = -1;
                break;
            }
            for (size_t x = o->n - 1; x > 0 && o->t[x] < o->t[x - 1]; x--) {
                int64_t tt = o->t[x];
                o->t[x] = o->t[x - 1];
                o->t[x - 1] = tt;
            }
        }
    }
    outmap_free(&m);
    val_free(ev, &idx);
    return rc;
}

static int eval_label_fn(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    enum pq_fid id = n->call.fn->id;
    if (ev_eval(ev, n->call.args[0], out) < 0)
        return -1;
    const struct pq_node *a1 = n->call.args[1];
    const char *dst = ev_unparen(a1)->str.s;
    size_t dstlen = ev_unparen(a1)->str.len;
    /* string arguments are literals (or parenthesised literals) */
    const char *fname = id == F_LABEL_REPLACE ? "label_replace" : "label_join";
    if (!ignis_utf8_valid(dst, dstlen) || dstlen == 0) {
        struct pq_buf b = {0};
        pq_buf_quote(&b, dst, dstlen);
        ev_error(ev, IGNIS_QERR_EXECUTION, "invalid destination label name in %s(): %s", fname,
                 b.p ? b.p : "");
        free(b.p);
        val_free(ev, out);
        return -1;
    }
    struct ignis_regex *re = NULL;
    const char *repl = NULL, *src = NULL, *sep = NULL;
    size_t srclen = 0, seplen = 0;
    if (id == F_LABEL_REPLACE) {
        repl = ev_unparen(n->call.args[2])->str.s;
        src = ev_unparen(n->call.args[3])->str.s;
        srclen = ev_unparen(n->call.args[3])->str.len;
        const struct pq_node *rx = ev_unparen(n->call.args[4]);
        char err[256];
        re = ignis_regex_compile(rx->str.s, rx->str.len, err, sizeof err);
        if (!re) {
            ev_error(ev, IGNIS_QERR_EXECUTION, "invalid regular expression in label_replace(): %s",
                     rx->str.s);
            val_free(ev, out);
            return -1;
        }
    } else {
        sep = ev_unparen(n->call.args[2])->str.s;
        seplen = ev_unparen(n->call.args[2])->str.len;
    }
    size_t cap = 256;
    char *buf = malloc(cap);
    if (!buf) {
        ignis_regex_free(re);
        val_free(ev, out);
        return ev_oom(ev);
    }
    bool dst_is_name = dstlen == 8 && memcmp(dst, "__name__", 8) == 0;
    for (size_t i = 0; i < out->n && ev->err == IGNIS_QERR_NONE; i++) {
        struct pq_series *s = &out->s[i];
        if (id == F_LABEL_REPLACE) {
            const struct ignis_label *sl = NULL;
            for (size_t j = 0; j < s->nls; j++)
                if (s->ls[j].name_len == srclen && memcmp(s->ls[j].name, src, srclen) == 0)
                    sl = &s->ls[j];
            const char *sv = sl ? sl->value : "";
            size_t svl = sl ? sl->value_len : 0;
            long w;
            for (;;) {
                w = ignis_regex_replace(re, sv, svl, repl, buf, cap);
                if (w != -2)
                    break;
                cap *= 2;
                char *nb = realloc(buf, cap);
                if (!nb) {
                    ev_oom(ev);
                    break;
                }
                buf = nb;
            }
            if (w < 0)
                continue;
            char *val = ev_strdup(ev, buf, (size_t)w);
            size_t k;
            struct ignis_label *ls =
                val ? lbl_set(ev, s->ls, s->nls, dst, dstlen, val, (size_t)w, &k) : NULL;
            if (!ls)
                break;
            s->ls = ls;
            s->nls = k;
        } else {
            struct pq_buf b = {0};
            for (size_t a = 3; a < n->call.nargs; a++) {
                const struct pq_node *an = ev_unparen(n->call.args[a]);
                if (a > 3)
                    pq_buf_add(&b, sep, seplen);
                for (size_t j = 0; j < s->nls; j++)
                    if (s->ls[j].name_len == an->str.len &&
                        memcmp(s->ls[j].name, an->str.s, an->str.len) == 0)
                        pq_buf_add(&b, s->ls[j].value, s->ls[j].value_len);
            }
            char *val = ev_strdup(ev, b.p ? b.p : "", b.len);
            size_t vl = b.len;
            free(b.p);
            size_t k;
            struct ignis_label *ls =
                val ? lbl_set(ev, s->ls, s->nls, dst, dstlen, val, vl, &k) : NULL;
            if (!ls)
                break;
            s->ls = ls;
            s->nls = k;
        }
        if (dst_is_name)
            s->drop_name = false;
        s->hash = lbl_hash(s->ls, s->nls);
    }
    free(buf);
    ignis_regex_free(re);
    if (ev->err == IGNIS_QERR_NONE)
        check_duplicates(ev, out);
    if (ev->err != IGNIS_QERR_NONE) {
        val_free(ev, out);
        return -1;
    }
    return 0;
}

/* ---- sorting ----------------------------------------------------------------------------------
 */

/* One series being sorted; the call node and direction ride along so the comparators
 * need no global state (queries run on several threads at once). */
struct sortctx_ent {
    struct pq_series s;
    double v;
    const struct pq_node *call;
    bool desc;
};

static int cmp_sort_asc(const void *a, const void *b)
{
    const struct sortctx_ent *x = a, *y = b;
    /* NaN sorts last */
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    if (x->v < y->v)
        return -1;
    if (x->v > y->v)
        return 1;
    return 0;
}
static int cmp_sort_desc(const void *a, const void *b)
{
    const struct sortctx_ent *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    if (x->v > y->v)
        return -1;
    if (x->v < y->v)
        return 1;
    return 0;
}

/* Natural order: runs of digits compare by number. */
static int natural_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t i = 0, j = 0;
    while (i < al && j < bl) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[j];
        if (ca >= '0' && ca <= '9' && cb >= '0' && cb <= '9') {
            size_t si = i, sj = j;
            while (si < al && a[si] == '0')
                si++;
            while (sj < bl && b[sj] == '0')
                sj++;
            size_t ei = si, ej = sj;
            while (ei < al && a[ei] >= '0' && a[ei] <= '9')
                ei++;
            while (ej < bl && b[ej] >= '0' && b[ej] <= '9')
                ej++;
            if (ei - si != ej - sj)
                return ei - si < ej - sj ? -1 : 1;
            int c = memcmp(a + si, b + sj, ei - si);
            if (c)
                return c;
            i = ei;
            j = ej;
            continue;
        }
        if (ca != cb)
            return ca < cb ? -1 : 1;
        i++;
        j++;
    }
    if (i < al)
        return 1;
    if (j < bl)
        return -1;
    return 0;
}

static int cmp_sort_label(const void *pa, const void *pb)
{
    const struct sortctx_ent *x = pa, *y = pb;
    const struct pq_node *n = x->call;
    bool desc = x->desc;
    for (size_t a = 1; a < n->call.nargs; a++) {
        const struct pq_node *an = ev_unparen(n->call.args[a]);
        const struct ignis_label *lx = NULL, *ly = NULL;
        for (size_t j = 0; j < x->s.nls; j++)
            if (x->s.ls[j].name_len == an->str.len &&
                memcmp(x->s.ls[j].name, an->str.s, an->str.len) == 0)
                lx = &x->s.ls[j];
        for (size_t j = 0; j < y->s.nls; j++)
            if (y->s.ls[j].name_len == an->str.len &&
                memcmp(y->s.ls[j].name, an->str.s, an->str.len) == 0)
                ly = &y->s.ls[j];
        int c = natural_cmp(lx ? lx->value : "", lx ? lx->value_len : 0, ly ? ly->value : "",
                            ly ? ly->value_len : 0);
        if (c)
            return desc ? -c : c;
    }
    int c = ignis_labels_cmp(x->s.ls, x->s.nls, y->s.ls, y->s.nls);
    return desc ? -c : c;
}

static int eval_sort(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    enum pq_fid id = n->call.fn->id;
    if (ev_eval(ev, n->call.args[0], out) < 0)
        return -1;
    if (ev->nsteps > 1 || ev->in->range) {
        ev_warn(ev, n,
                "sort is ineffective for range queries since results are always ordered "
                "by labels");
        return 0;
    }
    struct sortctx_ent *e = malloc((out->n ? out->n : 1) * sizeof *e);
    if (!e) {
        val_free(ev, out);
        return ev_oom(ev);
    }
    for (size_t i = 0; i < out->n; i++) {
        e[i].s = out->s[i];
        e[i].v = out->s[i].n ? out->s[i].v[0] : NAN;
        e[i].call = n;
        e[i].desc = id == F_SORT_BY_LABEL_DESC;
    }
    if (id == F_SORT || id == F_SORT_DESC)
        qsort(e, out->n, sizeof *e, id == F_SORT ? cmp_sort_asc : cmp_sort_desc);
    else
        qsort(e, out->n, sizeof *e, cmp_sort_label);
    for (size_t i = 0; i < out->n; i++)
        out->s[i] = e[i].s;
    free(e);
    return 0;
}

/* ---- classic histograms -------------------------------------------------------------------------
 */

struct bucket {
    double upper, count;
};

static int cmp_bucket(const void *a, const void *b)
{
    const struct bucket *x = a, *y = b;
    return x->upper < y->upper ? -1 : x->upper > y->upper ? 1 : 0;
}

static bool almost_equal(double a, double b, double eps)
{
    const double min_normal = 2.2250738585072014e-308;
    if (a == b)
        return true;
    double abs_sum = fabs(a) + fabs(b);
    double diff = fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < min_normal)
        return diff < eps * min_normal;
    return diff / fmin(abs_sum, 1.7976931348623157e308) < eps;
}

/* Sorts and merges buckets of equal bounds; returns the new count. */
static size_t coalesce(struct bucket *b, size_t n)
{
    qsort(b, n, sizeof *b, cmp_bucket);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && b[k - 1].upper == b[i].upper)
            b[k - 1].count += b[i].count;
        else
            b[k++] = b[i];
    }
    return k;
}

static double bucket_quantile(double q, struct bucket *b, size_t n, bool *forced)
{
    *forced = false;
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(b, n, sizeof *b, cmp_bucket);
    if (n == 0 || !(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return NAN;
    n = coalesce(b, n);
    double prev = b[0].count;
    for (size_t i = 1; i < n; i++) {
        double cur = b[i].count;
        if (cur == prev)
            continue;
        if (almost_equal(prev, cur, 1e-12)) {
            b[i].count = prev;
            continue;
        }
        if (cur < prev) {
            b[i].count = prev;
            *forced = true;
            continue;
        }
        prev = cur;
    }
    if (n < 2)
        return NAN;
    double obs = b[n - 1].count;
    if (obs == 0)
        return NAN;
    double rank = q * obs;
    size_t i = 0;
    while (i < n - 1 && b[i].count < rank)
        i++;
    if (i == n - 1)
        return b[n - 2].upper;
    if (i == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[i].upper, count = b[i].count;
    if (i > 0) {
        start = b[i - 1].upper;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}

static double bucket_fraction(double lower, double upper, struct bucket *b, size_t n)
{
    qsort(b, n, sizeof *b, cmp_bucket);
    if (n == 0 || !(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return NAN;
    n = coalesce(b, n);
    double count = b[n - 1].count;
    if (count == 0 || isnan(lower) || isnan(upper))
        return NAN;
    if (lower >= upper)
        return 0;
    double rank = 0, lrank = 0, urank = 0;
    bool lset = false, uset = false;
    for (size_t i = 0; i < n; i++) {
        double lb = i > 0 ? b[i - 1].upper : (b[0].upper > 0 ? 0 : -INFINITY);
        double ub = b[i].upper;
        if (i == 0 && b[0].upper <= 0)
            lb = -INFINITY;
        if (!lset && lb >= lower) {
            lrank = rank;
            lset = true;
        }
        if (!uset && lb >= upper) {
            urank = rank;
            uset = true;
        }
        if (lset && uset)
            break;
        if (!lset && lb < lower && ub > lower) {
            lrank = isinf(lb) || isinf(ub) ? (isinf(ub) ? rank : b[i].count)
                                           : rank + (b[i].count - rank) * (lower - lb) / (ub - lb);
            lset = true;
        }
        if (!uset && lb < upper && ub > upper) {
            urank = isinf(lb) || isinf(ub) ? (isinf(ub) ? rank : b[i].count)
                                           : rank + (b[i].count - rank) * (upper - lb) / (ub - lb);
            uset = true;
        }
        if (lset && uset)
            break;
        rank = b[i].count;
    }
    if (!lset || lrank > count)
        lrank = count;
    if (!uset || urank > count)
        urank = count;
    return (urank - lrank) / count;
}

/* Parses an `le` value as Go's ParseFloat would. */
static bool parse_le(const char *s, size_t n, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    if ((tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'X')) || strchr(tmp, ' '))
        return false;
    char *end;
    *out = strtod(tmp, &end);
    return *end == 0;
}

/* histogram_quantile / histogram_fraction / histogram_quantiles over classic buckets. */
static int eval_histogram_fn(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    enum pq_fid id = n->call.fn->id;
    size_t vi = id == F_HISTOGRAM_QUANTILE ? 1 : id == F_HISTOGRAM_FRACTION ? 2 : 0;
    const struct pq_node *varg = n->call.args[vi];
    struct pq_value v = {0};
    struct pq_value *ps = NULL;
    size_t nps = 0;
    const char *qlabel = NULL;
    size_t qlen = 0;
    int rc = -1;
    if (id == F_HISTOGRAM_QUANTILES) {
        nps = n->call.nargs - 2;
        qlabel = ev_unparen(n->call.args[1])->str.s;
        qlen = ev_unparen(n->call.args[1])->str.len;
    } else {
        nps = id == F_HISTOGRAM_QUANTILE ? 1 : 2;
    }
    ps = calloc(nps, sizeof *ps);
    if (!ps)
        return ev_oom(ev);
    for (size_t i = 0; i < nps; i++) {
        size_t ai = id == F_HISTOGRAM_QUANTILES ? i + 2 : i;
        if (ev_eval(ev, n->call.args[ai], &ps[i]) < 0)
            goto out;
    }
    if (ev_eval(ev, varg, &v) < 0)
        goto out;
    out->type = PQ_T_VECTOR;
    /* group the series by their labels without le (and with the name) */
    struct pq_value groups = {0};
    struct outmap gm = {0};
    size_t *gidx = calloc(v.n ? v.n : 1, sizeof *gidx);
    double *les = calloc(v.n ? v.n : 1, sizeof *les);
    bool *valid = calloc(v.n ? v.n : 1, sizeof *valid);
    struct bucket *bk = malloc((v.n ? v.n : 1) * sizeof *bk);
    struct outmap om = {0};
    struct vcur cur = {0};
    struct pq_sample *smp = malloc((v.n ? v.n : 1) * sizeof *smp);
    if (!gidx || !les || !valid || !bk || !smp || vcur_init(ev, &cur, &v) < 0) {
        ev_oom(ev);
        goto out2;
    }
    char *const le_name[] = {"le"};
    for (size_t i = 0; i < v.n; i++) {
        struct pq_series *s = &v.s[i];
        const struct ignis_label *le = lbl_get(s->ls, s->nls, "le");
        if (!le || !parse_le(le->value, le->value_len, &les[i])) {
            const struct ignis_label *nm = lbl_get(s->ls, s->nls, "__name__");
            if (s->n > 0)
                ev_warn(ev, varg,
                        "bucket label \"le\" is missing or has a malformed value of \"%.*s\" for "
                        "metric name \"%.*s\"",
                        le ? (int)le->value_len : 0, le ? le->value : "",
                        nm ? (int)nm->value_len : 0, nm ? nm->value : "");
            continue;
        }
        valid[i] = true;
        size_t k;
        struct ignis_label *gl = lbl_without(ev, s->ls, s->nls, le_name, 1, 0, &k);
        if (!gl)
            goto out2;
        struct pq_series *g = out_series(ev, &groups, &gm, gl, k, false);
        if (!g)
            goto out2;
        gidx[i] = (size_t)(g - groups.s);
    }
    /* per step: collect each group's buckets */
    size_t ng = groups.n;
    size_t *gstart = calloc(ng + 1, sizeof *gstart);
    size_t *gcount = calloc(ng + 1, sizeof *gcount);
    if (!gstart || !gcount) {
        free(gstart);
        free(gcount);
        ev_oom(ev);
        goto out2;
    }
    for (size_t k = 0; k < ev->nsteps && ev_check(ev) == 0; k++) {
        int64_t ts = ev_step_ts(ev, k);
        size_t ns = vcur_at(&cur, &v, ts, smp);
        memset(gcount, 0, (ng + 1) * sizeof *gcount);
        for (size_t i = 0; i < ns; i++) {
            size_t si = (size_t)(smp[i].src - v.s);
            if (valid[si])
                gcount[gidx[si]]++;
        }
        size_t acc = 0;
        for (size_t g = 0; g < ng; g++) {
            gstart[g] = acc;
            acc += gcount[g];
            gcount[g] = 0;
        }
        for (size_t i = 0; i < ns; i++) {
            size_t si = (size_t)(smp[i].src - v.s);
            if (!valid[si])
                continue;
            size_t g = gidx[si];
            bk[gstart[g] + gcount[g]] = (struct bucket){les[si], smp[i].v};
            gcount[g]++;
        }
        for (size_t g = 0; g < ng; g++) {
            if (gcount[g] == 0)
                continue;
            struct pq_series *gs = &groups.s[g];
            for (size_t qi = 0; qi < (id == F_HISTOGRAM_FRACTION ? 1 : nps); qi++) {
                /* bucket_* sort and edit the buckets: work on a copy */
                struct bucket *b = bk + gstart[g];
                struct bucket *copy = malloc(gcount[g] * sizeof *copy);
                if (!copy) {
                    ev_oom(ev);
                    goto out3;
                }
                memcpy(copy, b, gcount[g] * sizeof *copy);
                double val;
                bool forced = false;
                if (id == F_HISTOGRAM_FRACTION)
                    val = bucket_fraction(ps[0].scalar[k], ps[1].scalar[k], copy, gcount[g]);
                else
                    val = bucket_quantile(ps[qi].scalar[k], copy, gcount[g], &forced);
                free(copy);
                if (forced) {
                    const struct ignis_label *nm = lbl_get(gs->ls, gs->nls, "__name__");
                    ev_info(ev, varg,
                            "input to histogram_quantile needed to be fixed for monotonicity (see "
                            "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                            "#histogram_quantile) for metric name \"%.*s\"",
                            nm ? (int)nm->value_len : 0, nm ? nm->value : "");
                }
                struct ignis_label *ls = gs->ls;
                size_t nls = gs->nls;
                if (id == F_HISTOGRAM_QUANTILES) {
                    if (lbl_get(ls, nls, qlabel) || (qlen == 2 && memcmp(qlabel, "le", 2) == 0)) {
                        ev_error(ev, IGNIS_QERR_EXECUTION,
                                 "label name \"%s\" already exists in the input series", qlabel);
                        goto out3;
                    }
                    char qb[64];
                    fmt_float(qb, sizeof qb, ps[qi].scalar[k]);
                    if (!strchr(qb, '.') && !strchr(qb, 'e') && !strchr(qb, 'I') &&
                        !strchr(qb, 'N'))
                        strcat(qb, ".0");
                    char *qv = ev_strdup(ev, qb, strlen(qb));
                    if (!qv)
                        goto out3;
                    ls = lbl_set(ev, ls, nls, qlabel, qlen, qv, strlen(qv), &nls);
                    if (!ls)
                        goto out3;
                }
                struct pq_series *o = out_series(ev, out, &om, ls, nls, true);
                if (!o)
                    goto out3;
                if (o->n > 0 && o->t[o->n - 1] == ts) {
                    ev_error(ev, IGNIS_QERR_EXECUTION,
                             "vector cannot contain metrics with the same labelset");
                    goto out3;
                }
                if (series_push(ev, o, ts, val) < 0)
                    goto out3;
            }
        }
    }
    for (size_t qi = 0; qi < nps && id != F_HISTOGRAM_FRACTION; qi++) {
        for (size_t k = 0; k < ev->nsteps; k++) {
            double q = ps[qi].scalar[k];
            if (!(q >= 0 && q <= 1)) {
                char b[64];
                fmt_float(b, sizeof b, q);
                ev_warn(ev, n->call.args[id == F_HISTOGRAM_QUANTILES ? qi + 2 : 0],
                        "quantile value should be between 0 and 1, got %s", b);
                break;
            }
        }
    }
    rc = ev->err == IGNIS_QERR_NONE ? 0 : -1;
out3:
    free(gstart);
    free(gcount);
out2:
    vcur_free(&cur);
    free(smp);
    free(gidx);
    free(les);
    free(valid);
    free(bk);
    outmap_free(&om);
    outmap_free(&gm);
    val_free(ev, &groups);
out:
    for (size_t i = 0; i < nps; i++)
        val_free(ev, &ps[i]);
    free(ps);
    val_free(ev, &v);
    if (rc < 0)
        val_free(ev, out);
    return rc;
}

/* ---- element-wise functions ---------------------------------------------------------------- */

static double date_part(enum pq_fid id, double v)
{
    if (isnan(v) || isinf(v) || v >= 9.2e18 || v <= -9.2e18)
        return NAN;
    time_t tt = (time_t)(int64_t)v;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return NAN;
    switch (id) {
    case F_DAY_OF_MONTH:
        return tm.tm_mday;
    case F_DAY_OF_WEEK:
        return tm.tm_wday;
    case F_DAY_OF_YEAR:
        return tm.tm_yday + 1;
    case F_HOUR:
        return tm.tm_hour;
    case F_MINUTE:
        return tm.tm_min;
    case F_MONTH:
        return tm.tm_mon + 1;
    case F_YEAR:
        return tm.tm_year + 1900;
    case F_DAYS_IN_MONTH: {
        static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y = tm.tm_year + 1900;
        int d = dm[tm.tm_mon];
        if (tm.tm_mon == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
            d = 29;
        return d;
    }
    default:
        return NAN;
    }
}

static double apply_simple(enum pq_fid id, double v)
{
    switch (id) {
    case F_ABS:
        return fabs(v);
    case F_CEIL:
        return ceil(v);
    case F_FLOOR:
        return floor(v);
    case F_EXP:
        return exp(v);
    case F_SQRT:
        return sqrt(v);
    case F_LN:
        return log(v);
    case F_LOG2:
        return log2(v);
    case F_LOG10:
        return log10(v);
    case F_SIN:
        return sin(v);
    case F_COS:
        return cos(v);
    case F_TAN:
        return tan(v);
    case F_ASIN:
        return asin(v);
    case F_ACOS:
        return acos(v);
    case F_ATAN:
        return atan(v);
    case F_SINH:
        return sinh(v);
    case F_COSH:
        return cosh(v);
    case F_TANH:
        return tanh(v);
    case F_ASINH:
        return asinh(v);
    case F_ACOSH:
        return acosh(v);
    case F_ATANH:
        return atanh(v);
    case F_DEG:
        return v * 180 / M_PI;
    case F_RAD:
        return v * M_PI / 180;
    case F_SGN:
        return v > 0 ? 1 : v < 0 ? -1 : v;
    default:
        return date_part(id, v);
    }
}

static int eval_elementwise(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    enum pq_fid id = n->call.fn->id;
    struct pq_value a1 = {0}, a2 = {0};
    bool date = id == F_DAY_OF_MONTH || id == F_DAY_OF_WEEK || id == F_DAY_OF_YEAR ||
                id == F_DAYS_IN_MONTH || id == F_HOUR || id == F_MINUTE || id == F_MONTH ||
                id == F_YEAR;
    if (date && n->call.nargs == 0) {
        /* default argument: vector(time()) */
        out->type = PQ_T_VECTOR;
        struct pq_series *s = val_add_series(ev, out, NULL, 0, false);
        for (size_t k = 0; s && k < ev->nsteps; k++) {
            int64_t ts = ev_step_ts(ev, k);
            if (series_push(ev, s, ts, date_part(id, (double)ts / 1000.0)) < 0)
                break;
        }
        return ev->err == IGNIS_QERR_NONE ? 0 : -1;
    }
    if (id == F_TIMESTAMP) {
        const struct pq_node *a = ev_unparen(n->call.args[0]);
        if (a->kind == N_VECTOR) {
            if (ev_selector_points(ev, a, true, out) < 0)
                return -1;
        } else {
            if (ev_eval(ev, n->call.args[0], out) < 0)
                return -1;
            for (size_t i = 0; i < out->n; i++)
                for (size_t j = 0; j < out->s[i].n; j++)
                    out->s[i].v[j] = (double)out->s[i].t[j] / 1000.0;
        }
        for (size_t i = 0; i < out->n; i++)
            out->s[i].drop_name = true;
        return 0;
    }
    if (ev_eval(ev, n->call.args[0], out) < 0)
        return -1;
    if (n->call.nargs > 1 && ev_eval(ev, n->call.args[1], &a1) < 0)
        goto fail;
    if (n->call.nargs > 2 && ev_eval(ev, n->call.args[2], &a2) < 0)
        goto fail;
    int64_t step = ev->step ? ev->step : 1;
    for (size_t i = 0; i < out->n; i++) {
        struct pq_series *s = &out->s[i];
        size_t w = 0;
        for (size_t j = 0; j < s->n; j++) {
            size_t k = (size_t)((s->t[j] - ev->start) / step);
            double v = s->v[j];
            switch (id) {
            case F_CLAMP: {
                double lo = a1.scalar[k], hi = a2.scalar[k];
                if (hi < lo)
                    continue;
                v = go_max(lo, go_min(hi, v));
                break;
            }
            case F_CLAMP_MAX:
                v = go_min(a1.scalar[k], v);
                break;
            case F_CLAMP_MIN:
                v = go_max(a1.scalar[k], v);
                break;
            case F_ROUND: {
                double to = n->call.nargs > 1 ? a1.scalar[k] : 1;
                double inv = 1.0 / to;
                v = floor(v * inv + 0.5) / inv;
                break;
            }
            default:
                v = apply_simple(id, v);
                break;
            }
            s->t[w] = s->t[j];
            s->v[w] = v;
            w++;
        }
        s->n = w;
        s->drop_name = true;
    }
    val_free(ev, &a1);
    val_free(ev, &a2);
    return 0;
fail:
    val_free(ev, &a1);
    val_free(ev, &a2);
    val_free(ev, out);
    return -1;
}

/* ---- dispatch ----------------------------------------------------------------------------------
 */

int ev_eval_call(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    enum pq_fid id = n->call.fn->id;
    switch (id) {
    case F_TIME:
    case F_PI:
    case F_START:
    case F_END:
    case F_STEP:
    case F_RANGE:
        if (val_scalar_alloc(ev, out) < 0)
            return -1;
        for (size_t k = 0; k < ev->nsteps; k++) {
            double v = 0;
            switch (id) {
            case F_TIME:
                v = (double)ev_step_ts(ev, k) / 1000.0;
                break;
            case F_PI:
                v = M_PI;
                break;
            case F_START:
                v = (double)ev->qstart / 1000.0;
                break;
            case F_END:
                v = (double)ev->qend / 1000.0;
                break;
            case F_STEP:
                v = (double)ev->qstep / 1000.0;
                break;
            default:
                v = (double)(ev->qend - ev->qstart) / 1000.0;
                break;
            }
            out->scalar[k] = v;
        }
        return 0;
    case F_MIN_OF:
    case F_MAX_OF: {
        struct pq_value b = {0};
        if (ev_eval(ev, n->call.args[0], out) < 0)
            return -1;
        if (ev_eval(ev, n->call.args[1], &b) < 0) {
            val_free(ev, out);
            return -1;
        }
        for (size_t k = 0; k < ev->nsteps; k++)
            out->scalar[k] = id == F_MIN_OF ? go_min(out->scalar[k], b.scalar[k])
                                            : go_max(out->scalar[k], b.scalar[k]);
        val_free(ev, &b);
        return 0;
    }
    case F_VECTOR: {
        struct pq_value s = {0};
        if (ev_eval(ev, n->call.args[0], &s) < 0)
            return -1;
        out->type = PQ_T_VECTOR;
        struct pq_series *o = val_add_series(ev, out, NULL, 0, false);
        for (size_t k = 0; o && k < ev->nsteps; k++)
            if (series_push(ev, o, ev_step_ts(ev, k), s.scalar[k]) < 0)
                break;
        val_free(ev, &s);
        return ev->err == IGNIS_QERR_NONE ? 0 : -1;
    }
    case F_SCALAR: {
        struct pq_value v = {0};
        if (ev_eval(ev, n->call.args[0], &v) < 0)
            return -1;
        if (val_scalar_alloc(ev, out) < 0) {
            val_free(ev, &v);
            return -1;
        }
        size_t *cnt = calloc(ev->nsteps ? ev->nsteps : 1, sizeof *cnt);
        if (!cnt) {
            val_free(ev, &v);
            return ev_oom(ev);
        }
        int64_t step = ev->step ? ev->step : 1;
        for (size_t i = 0; i < v.n; i++) {
            for (size_t j = 0; j < v.s[i].n; j++) {
                size_t k = (size_t)((v.s[i].t[j] - ev->start) / step);
                cnt[k]++;
                out->scalar[k] = v.s[i].v[j];
            }
        }
        for (size_t k = 0; k < ev->nsteps; k++)
            if (cnt[k] != 1)
                out->scalar[k] = NAN;
        free(cnt);
        val_free(ev, &v);
        return 0;
    }
    case F_ABSENT:
    case F_ABSENT_OVER_TIME:
        return eval_absent(ev, n, out);
    case F_LABEL_REPLACE:
    case F_LABEL_JOIN:
        return eval_label_fn(ev, n, out);
    case F_SORT:
    case F_SORT_DESC:
    case F_SORT_BY_LABEL:
    case F_SORT_BY_LABEL_DESC:
        return eval_sort(ev, n, out);
    case F_HISTOGRAM_QUANTILE:
    case F_HISTOGRAM_FRACTION:
    case F_HISTOGRAM_QUANTILES:
        return eval_histogram_fn(ev, n, out);
    case F_HISTOGRAM_AVG:
    case F_HISTOGRAM_COUNT:
    case F_HISTOGRAM_SUM:
    case F_HISTOGRAM_STDDEV:
    case F_HISTOGRAM_STDVAR: {
        /* native histograms only: float samples are ignored */
        struct pq_value v;
        if (ev_eval(ev, n->call.args[0], &v) < 0)
            return -1;
        val_free(ev, &v);
        out->type = PQ_T_VECTOR;
        return 0;
    }
    case F_INFO: {
        int pq_eval_info(struct ev * ev, const struct pq_node *n, struct pq_value *out);
        return pq_eval_info(ev, n, out);
    }
    case F_START_TIMESTAMP:
        return ev_error(ev, IGNIS_QERR_EXECUTION,
                        "start_timestamp() is not supported by this "
                        "storage");
    case F_RATE:
    case F_INCREASE:
    case F_DELTA:
    case F_IRATE:
    case F_IDELTA:
    case F_DERIV:
    case F_PREDICT_LINEAR:
    case F_CHANGES:
    case F_RESETS:
    case F_AVG_OVER_TIME:
    case F_SUM_OVER_TIME:
    case F_COUNT_OVER_TIME:
    case F_MIN_OVER_TIME:
    case F_MAX_OVER_TIME:
    case F_LAST_OVER_TIME:
    case F_FIRST_OVER_TIME:
    case F_PRESENT_OVER_TIME:
    case F_QUANTILE_OVER_TIME:
    case F_STDDEV_OVER_TIME:
    case F_STDVAR_OVER_TIME:
    case F_MAD_OVER_TIME:
    case F_TS_OF_MIN_OVER_TIME:
    case F_TS_OF_MAX_OVER_TIME:
    case F_TS_OF_LAST_OVER_TIME:
    case F_TS_OF_FIRST_OVER_TIME:
    case F_DOUBLE_EXPONENTIAL_SMOOTHING:
        return eval_range_fn(ev, n, out);
    default:
        return eval_elementwise(ev, n, out);
    }
}
