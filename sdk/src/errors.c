/* sdk/src/errors.c — names for the ABI's enumerations: error codes, plugin kinds,
 * metric types. */
#include <ignis/plugin.h>


const char *ignis_strerror(int err)
{
    switch (err) {
    case IGNIS_OK: return "success";
    case IGNIS_E_INVALID: return "invalid argument";
    case IGNIS_E_NOMEM: return "out of memory";
    case IGNIS_E_NOTSUP: return "not supported";
    case IGNIS_E_NOTFOUND: return "not found";
    case IGNIS_E_REF_GONE: return "series ref no longer exists";
    case IGNIS_E_OUT_OF_ORDER: return "out of order sample";
    case IGNIS_E_DUP_TS: return "duplicate sample for timestamp";
    case IGNIS_E_OUT_OF_BOUNDS: return "out of bounds";
    case IGNIS_E_IO: return "i/o error";
    case IGNIS_E_LIMIT: return "limit exceeded";
    case IGNIS_E_TIMEOUT: return "timeout";
    case IGNIS_E_CANCELED: return "canceled";
    case IGNIS_E_EXEC: return "execution error";
    }
    return "unknown error";
}

const char *ignis_plugin_kind_name(int kind)
{
    switch (kind) {
    case IGNIS_PLUGIN_DISCOVERY: return "discovery";
    case IGNIS_PLUGIN_EXPORTER: return "exporter";
    case IGNIS_PLUGIN_STORAGE: return "storage";
    case IGNIS_PLUGIN_QUERY: return "query";
    case IGNIS_PLUGIN_NOTIFIER: return "notifier";
    case IGNIS_PLUGIN_SERVICE: return "service";
    }
    return NULL;
}

const char *ignis_metric_type_name(enum ignis_metric_type t)
{
    switch (t) {
    case IGNIS_METRIC_COUNTER: return "counter";
    case IGNIS_METRIC_GAUGE: return "gauge";
    case IGNIS_METRIC_HISTOGRAM: return "histogram";
    case IGNIS_METRIC_GAUGEHISTOGRAM: return "gaugehistogram";
    case IGNIS_METRIC_SUMMARY: return "summary";
    case IGNIS_METRIC_INFO: return "info";
    case IGNIS_METRIC_STATESET: return "stateset";
    case IGNIS_METRIC_UNKNOWN: break;
    }
    return "unknown";
}
