#!/bin/sh
# tests/conformance/openmetrics.sh — the OpenMetrics/textformat conformance runner under
# `make check`: exit 77 (skip, loudly) when the corpus is missing, failure under CI=true.
exec "${top_builddir:-.}/tests/conformance/openmetrics_runner" "$@"
