/* tests/fuzz/fuzz_relabel.c — fuzz target of relabeling (core/relabel.c): rules and a
 * label set from the input, compiled and applied in both name schemes. Input: rule lines,
 * a blank line, then label lines. A rule line is tab-separated fields
 *   action  source,labels  separator  regex  modulus  target  replacement
 * where an empty (or missing) field takes Prometheus' default; a label line is
 * "name<TAB>value". It aborts when a result is not a proper label set (sorted, unique
 * names, no empty value), when applying twice differs, or when a tight buffer gives
 * another answer than IGNIS_E_LIMIT or the same one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ignis/plugin.h>

#include "core/relabel.h"
#include "fuzz.h"

#define MAX_RULES 16
#define MAX_SOURCES 8
#define MAX_LABELS 64
#define NFIELDS 7

struct text {
    const char *p;
    size_t n;
};

/* Splits s at the first c; returns the head, leaves the rest in *s. */
static struct text cut(struct text *s, char c)
{
    const char *e = memchr(s->p, c, s->n);
    struct text h = {s->p, e ? (size_t)(e - s->p) : s->n};
    s->p += e ? h.n + 1 : h.n;
    s->n -= e ? h.n + 1 : h.n;
    return h;
}

static char *dup0(struct text t)
{
    char *s = malloc(t.n + 1);
    if (!s)
        abort();
    memcpy(s, t.p, t.n);
    s[t.n] = '\0';
    return s;
}

static int name_cmp(const struct ignis_label *a, const struct ignis_label *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = n ? memcmp(a->name, b->name, n) : 0;
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static void check_set(const struct ignis_label *ls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ls[i].value_len == 0)
            abort();
        if (i && name_cmp(&ls[i - 1], &ls[i]) >= 0)
            abort();
        /* every byte must be readable */
        volatile unsigned char sink = 0;
        for (size_t k = 0; k < ls[i].name_len; k++)
            sink ^= (unsigned char)ls[i].name[k];
        for (size_t k = 0; k < ls[i].value_len; k++)
            sink ^= (unsigned char)ls[i].value[k];
        (void)sink;
    }
}

static void run(const struct ig_relabel_spec *specs, size_t nspecs, enum ig_relabel_names nm,
                const struct ignis_label *ls, size_t n)
{
    char err[256];
    struct ig_relabel *r = ig_relabel_new(specs, nspecs, nm, err, sizeof err);
    if (!r) {
        if (!err[0])
            abort(); /* a refusal says why */
        return;
    }
    struct ig_relabel_buf b, tight;
    ig_relabel_buf_init(&b, 0);
    ig_relabel_buf_init(&tight, 512);
    const struct ignis_label *out, *out2;
    size_t nout, nout2;
    int rc = ig_relabel_apply(r, ls, n, &b, &out, &nout);
    if (rc == IG_RELABEL_KEPT) {
        check_set(out, nout);
        /* copy: the next apply on b reuses its memory */
        struct ignis_label *keep = malloc((nout ? nout : 1) * sizeof *keep);
        if (!keep)
            abort();
        if (nout)
            memcpy(keep, out, nout * sizeof *keep);
        char **vals = calloc(nout ? nout : 1, sizeof *vals);
        char **names = calloc(nout ? nout : 1, sizeof *names);
        if (!vals || !names)
            abort();
        for (size_t i = 0; i < nout; i++) {
            names[i] = dup0((struct text){keep[i].name, keep[i].name_len});
            vals[i] = dup0((struct text){keep[i].value, keep[i].value_len});
            keep[i].name = names[i];
            keep[i].value = vals[i];
        }
        if (ig_relabel_apply(r, ls, n, &b, &out2, &nout2) != rc ||
            ignis_labels_cmp(keep, nout, out2, nout2) != 0)
            abort();
        int trc = ig_relabel_apply(r, ls, n, &tight, &out2, &nout2);
        if (trc != IGNIS_E_LIMIT &&
            (trc != rc || ignis_labels_cmp(keep, nout, out2, nout2) != 0))
            abort();
        for (size_t i = 0; i < nout; i++) {
            free(names[i]);
            free(vals[i]);
        }
        free(names);
        free(vals);
        free(keep);
    } else if (rc == IG_RELABEL_DROPPED) {
        if (ig_relabel_apply(r, ls, n, &b, &out2, &nout2) != rc)
            abort();
        int trc = ig_relabel_apply(r, ls, n, &tight, &out2, &nout2);
        if (trc != IGNIS_E_LIMIT && trc != rc)
            abort();
    } else if (rc != IGNIS_E_LIMIT && rc != IGNIS_E_NOMEM) {
        abort();
    }
    ig_relabel_buf_clear(&tight);
    ig_relabel_buf_clear(&b);
    ig_relabel_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct text in = {(const char *)data, size};
    struct ig_relabel_spec specs[MAX_RULES];
    const char *srcs[MAX_RULES][MAX_SOURCES];
    char *owned[MAX_RULES * (NFIELDS + MAX_SOURCES)];
    size_t nowned = 0, nspecs = 0;

    /* rules, up to the first empty line */
    while (in.n && nspecs < MAX_RULES) {
        struct text line = cut(&in, '\n');
        if (line.n == 0)
            break;
        struct text f[NFIELDS] = {{0}};
        for (size_t k = 0; k < NFIELDS; k++)
            f[k] = cut(&line, '\t');
        struct ig_relabel_spec *s = &specs[nspecs];
        memset(s, 0, sizeof *s);
        char *a = owned[nowned++] = dup0(f[0]);
        if (ig_relabel_action_parse(a, &s->action) < 0)
            s->action = (enum ig_relabel_action)(f[0].n ? (unsigned char)a[0] % 12 : 0);
        struct text sl = f[1];
        while (sl.n && s->nsource_labels < MAX_SOURCES)
            srcs[nspecs][s->nsource_labels++] = owned[nowned++] = dup0(cut(&sl, ','));
        s->source_labels = srcs[nspecs];
        const char **dst[] = {&s->separator, &s->regex, NULL, &s->target_label,
                              &s->replacement};
        for (size_t k = 2; k < NFIELDS; k++) {
            if (!f[k].n || k == 4)
                continue;
            *dst[k - 2] = owned[nowned++] = dup0(f[k]);
        }
        if (f[4].n) {
            char *m = dup0(f[4]);
            s->modulus = strtoull(m, NULL, 10);
            free(m);
        }
        nspecs++;
    }
    /* labels */
    struct ignis_label ls[MAX_LABELS];
    size_t n = 0;
    while (in.n && n < MAX_LABELS) {
        struct text line = cut(&in, '\n');
        struct text name = cut(&line, '\t');
        if (line.n) /* a label set has no empty values */
            ls[n++] = (struct ignis_label){name.p, name.n, line.p, line.n};
    }
    /* a label set has unique names: sort, then keep the first of each */
    if (ignis_labels_sort(ls, n) != 0) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!m || name_cmp(&ls[m - 1], &ls[i]) != 0)
                ls[m++] = ls[i];
        n = m;
    }
    run(specs, nspecs, IG_RELABEL_NAMES_LEGACY, ls, n);
    run(specs, nspecs, IG_RELABEL_NAMES_UTF8, ls, n);
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    return 0;
}
