/* plugins/query/promql/info.c — the experimental info() function: adds the data labels of
 * info series (default target_info) that share a series' identifying labels (instance,
 * job), as Prometheus' functions documentation describes. */
#include "evalint.h"

int pq_eval_info(struct ev *ev, const struct pq_node *n, struct pq_value *out);
int pq_eval_info(struct ev *ev, const struct pq_node *n, struct pq_value *out)
{
    (void)out;
    (void)n;
    return ev_error(ev, IGNIS_QERR_EXECUTION, "info() is not implemented yet");
}
