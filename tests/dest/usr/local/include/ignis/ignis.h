/* ignis/ignis.h — the whole public SDK in one include. */
#ifndef IGNIS_IGNIS_H
#define IGNIS_IGNIS_H
#include <ignis/labels.h>
#include <ignis/selector.h>
#include <ignis/config.h>
#include <ignis/metrics.h>
#include <ignis/plugin.h>
#endif
