/* sdk/src/expose_float.c — numbers as Prometheus clients write them: the shortest
 * decimal that reads back as the same double, laid out like Go's %g (exponent form
 * below 1e-4 and from 1e+06 on, at least two exponent digits), "+Inf", "-Inf", "NaN".
 * The digits and the layout come from ignis_format_float (float_shortest.c); this room
 * only adds the exposition formats' own rules for zero and OpenMetrics' ".0". */
#include <config.h>

#include <string.h>

#include <ignis/expose.h>

#include "metrics_int.h"

size_t ig_fmt_double(char *buf, double v, bool om)
{
    if (v == 0) {
        /* -0 too, as the Prometheus clients write it */
        memcpy(buf, om ? "0.0" : "0", om ? 4 : 2);
        return om ? 3 : 1;
    }
    size_t n = ignis_format_float(buf, v, 'g');
    if (om && buf[n - 1] != 'f' && buf[n - 1] != 'N' && !memchr(buf, '.', n) &&
        !memchr(buf, 'e', n)) {
        /* OpenMetrics writes integral values with ".0" (not in exponent form) */
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}
