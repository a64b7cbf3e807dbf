#!/usr/bin/env bash
# The guide's perf_latency_test: starts what it needs, prints the guide's lines (measured), cleans up.
# Executor toggles come from the environment (e.g. HTTP_KEEPALIVE=false runtime/perf_latency_test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/harness/cli.js ] || npm run build >/dev/null
exec node dist/harness/cli.js guide latency "$@"
