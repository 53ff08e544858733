#!/bin/sh
# tests/conformance/promql.sh — the PromQL conformance runner under `make check`: every
# .test file of $CONFORMANCE_DIR/promql through the mem and promql plugins; it prints
# "N passed, N failed, N skipped" and fails on any failure. A missing corpus is said
# loudly and skipped (exit 77), or fails the run when CI=true.
: "${top_builddir:?}"
if [ ! -d "${CONFORMANCE_DIR:-}/promql" ]; then
    echo "!!! PromQL conformance corpus not found at ${CONFORMANCE_DIR:-<unset>}/promql" >&2
    echo "!!! (configure --with-conformance-dir=DIR points at it)" >&2
    [ "${CI:-}" = "true" ] && exit 1
    exit 77
fi
exec "$top_builddir/tests/conformance/promql" "$@"
