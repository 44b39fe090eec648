#!/usr/bin/env bash
# Regenerates reports/example/: the smoke recipe measured on this machine with its operators profiled
# (--profile-ops), and everything a run writes.
#   scripts/example-report.sh                  with .venv/bin/edge-bench (scripts/setup.sh makes it)
#   EDGE_BENCH="edge-bench" scripts/...        with another installation (a command, split on spaces)
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a edge_bench <<< "${EDGE_BENCH:-.venv/bin/edge-bench}"
out=reports/example
rm -rf "$out"
echo "load before: $(uptime)"
"${edge_bench[@]}" run --target host --recipe smoke --profile-ops --out "$out"
echo "load after:  $(uptime)"
