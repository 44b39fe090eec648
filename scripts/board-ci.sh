#!/usr/bin/env bash
# The boards workflow (.github/workflows/boards.yml) run on this machine, with this host and the
# emulated arm64 board (scripts/board.sh) as its two boards: the same commands, job by job.
#
#   scripts/board-ci.sh [--recipe R] [--out DIR] [--keep-baseline]
#
#   build          edge-bench run --target host --recipe R    into a build cache (the GitHub-hosted job)
#   measure        per board: the build cache's artifacts/, analytic/, evaluation/ copied into the board's
#                  own cache (download-artifact), doctor, run --prebuilt (with its last baseline's artifacts
#                  --alongside, where it has one), the board's baseline history added
#   report         edge-bench report over every board's results, then the gate per board: side by side
#                  where a baseline was measured alongside, otherwise against its history
#   keep-baseline  (with --keep-baseline, as on main) each board's trustworthy records join its baseline history
#
# Output in DIR (default reports/board-ci): build-host/, results/results-<board>/, boards/ (the
# cross-device report). Caches and baselines live in $EDGE_BENCH_CACHE/board-ci. Needs root (the board).
# EDGE_BENCH sets the command (default: the repository's .venv/bin/edge-bench).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
RECIPE=smoke; OUT="$REPO/reports/board-ci"; KEEP=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --recipe) RECIPE="${2:?--recipe needs a name}"; shift 2 ;;
        --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
        --keep-baseline) KEEP=1; shift ;;
        *) echo "board-ci: unknown option '$1' (see the usage at the top of $0)" >&2; exit 2 ;;
    esac
done
read -r -a EB <<< "${EDGE_BENCH:-$REPO/.venv/bin/edge-bench}"
CACHE="${EDGE_BENCH_CACHE:-$HOME/.cache/edge-bench}"
CI="$CACHE/board-ci"
step() { echo; echo "== $*"; }

step "build (GitHub-hosted job): run --target host --recipe $RECIPE"
rm -rf "$OUT" && mkdir -p "$OUT/results"
EDGE_BENCH_CACHE="$CI/build" "${EB[@]}" run --target host --recipe "$RECIPE" --out "$OUT/build-host" | grep -E "ok, |report:" || true

step "the boards: this host, and the emulated arm64 board"
declare -A TARGETS=([host]="host" [emulated-arm64]="$(bash "$REPO/scripts/board.sh" up)")

status=0
for board in "${!TARGETS[@]}"; do
    step "measure on $board (self-hosted job)"
    mkdir -p "$CI/$board/cache"
    for part in artifacts analytic evaluation; do  # actions/download-artifact of the build's upload
        [[ -d "$CI/build/$part" ]] && cp -a "$CI/build/$part" "$CI/$board/cache/"
    done
    # The workflow stops a board whose doctor fails; here its findings are shown and the run goes on.
    EDGE_BENCH_CACHE="$CI/$board/cache" "${EB[@]}" doctor --target "${TARGETS[$board]}" || echo "(doctor: exit $?)"
    results="$OUT/results/results-$board"
    history="$CI/baselines/$RECIPE/$board"
    alongside=(); if [[ -d "$history" ]]; then alongside=(--alongside "$history"); fi
    EDGE_BENCH_CACHE="$CI/$board/cache" "${EB[@]}" run --prebuilt --target "${TARGETS[$board]}" --recipe "$RECIPE" \
        --out "$results" "${alongside[@]}" | grep -E "ok, |failed: |report:|not measured alongside" || true
    if [[ -d "$history" ]]; then cp -r "$history" "$results/baseline-history"; fi
done

step "report (GitHub-hosted job): the cross-device report"
"${EB[@]}" report "$OUT"/results/results-*/ --out "$OUT/boards"
step "regression gate per board"
for dir in "$OUT"/results/results-*/; do
    board="$(basename "$dir")"; board="${board#results-}"
    if [[ -d "$dir/alongside" ]]; then
        echo "-- $board: side by side with its last baseline's artifacts (the gate)"
        "${EB[@]}" compare "$dir/alongside" "$dir" || status=1
        echo "-- $board: against its last 3 baselines (drift between runs counted; for information)"
        "${EB[@]}" compare "$dir/baseline-history" "$dir" --last 3 || echo "(slower than its history)"
    elif [[ -d "$dir/baseline-history" ]]; then
        echo "-- $board"
        "${EB[@]}" compare "$dir/baseline-history" "$dir" --last 3 || status=1
    else
        echo "-- $board: no baseline for $RECIPE yet; this run becomes it"
    fi
done

if [[ "$KEEP" -eq 1 && "$status" -eq 0 ]]; then
    step "keep-baseline (main only): each board's trustworthy records join its baseline history"
    for board in "${!TARGETS[@]}"; do
        "${EB[@]}" baseline accept "$OUT/results/results-$board" --history "$CI/baselines/$RECIPE/$board" --keep 20 || true
    done
fi
exit "$status"
