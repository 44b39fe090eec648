"""The measurement protocol's precision goals, measured on this host.

    python benchmarks/precision.py retest   [--recipe resnet50-rs] [--threads 2]
    python benchmarks/precision.py time     [--recipe smoke] [--repeats 8] [--threads 2]
    python benchmarks/precision.py coverage [--recipe smoke] [--repeats 20] [--threads 2]
    python benchmarks/precision.py gate     [--recipe smoke] [--pairs 10] [--slowdown 0.10] [--history 1] [--threads 2]
                                            [--alongside [--keep DIR] [--rounds-max 10]]

retest    two back-to-back sweeps of the same cached artifacts: the share of measurements whose medians
          agree within +-5 %, how many were flagged as not precise, and the latency-vs-FLOPs R^2 of each.
time      device time at equal precision: the round protocol, asked for ±`--precision` (95 %) and run
          `--adaptive-repeats` times, gives the precision it reached (it may stop at its round limit short
          of the one asked for), its device time and the spread of its estimates; the fixed protocol of
          before rounds (one process per artifact, warm-up >= 3 runs and 0.5 s, timed >= 20 runs and 2 s)
          run `--repeats` times gives the spread of one process's median, hence how many processes it
          would take to reach that same precision and their device time.
coverage  `--repeats` measurements of each artifact with the round protocol: the share of their 95 %
          intervals that hold the typical median (the median of all the estimates).
gate      `--pairs` times, an unchanged run of the same artifacts, then one with a busy-wait of `--slowdown`
          of the baseline's median added to every inference, each judged against the last `--history`
          unchanged runs (a rolling baseline, as CI keeps it): the share of unchanged measurements the
          gate flags (at most 5 %) and the share of slowed ones (at least 95 %). With `--alongside`, every
          run also measures a first run's artifacts alongside its own (`edge-bench run --alongside`), the
          slowdown on its own side only, and is judged side by side against them; it also counts the
          unchanged measurements whose 95 % interval holds 1 (the paired interval's coverage).

Every run goes through edge-bench's own Runner on the local host target, with the machine's load
average printed before and after; the host is shared, so say what the load was when quoting a figure.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402,F401  (puts the repository on sys.path)

from edge_bench.measure import runner as runner_module  # noqa: E402
from edge_bench.config import MeasureConfig, load_recipe, load_target  # noqa: E402
from edge_bench.measure.gate import compare  # noqa: E402
from edge_bench.recipes import expand  # noqa: E402
from edge_bench.results import ResultStore  # noqa: E402

# The host target's protocol before rounds: one process, warm-up >= 3 runs and 0.5 s, timed >= 20 runs and 2 s.
OLD_PROTOCOL = dict(
    warmup_runs=3,
    warmup_secs=0.5,
    min_runs=20,
    min_secs=2.0,
    max_secs=60.0,
    round_precision=0.0,
    rounds_min=1,
    rounds_max=1,
    retakes=0,
    disturbed_cpu=1e9,
)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def target(threads: int, **measure):
    import dataclasses

    host = load_target("host")
    return dataclasses.replace(host, threads=threads, measure=dataclasses.replace(MeasureConfig(), **measure))


def sweep(recipe_name: str, tgt, out: Path, busy_ms: dict | None = None, alongside: list | None = None):
    """One run of the recipe on the host target; busy_ms (variant, runtime) -> ms injects a slowdown into the
    run's own artifacts; with `alongside` (a baseline's records) also returns the twins' records."""
    recipe = load_recipe(recipe_name)
    extra = (
        (lambda job: {"busy_wait_ms": 0.0 if job.side else busy_ms.get((job.variant.name, job.runtime), 0.0)})
        if busy_ms
        else None
    )
    store = ResultStore(out)
    twins = ResultStore(out / "alongside") if alongside else None
    store.lock("benchmarks/precision.py")
    try:
        runner_module.Runner(
            recipe,
            expand(recipe),
            list(recipe.runtimes),
            [tgt],
            store,
            spec_extra=extra,
            alongside=alongside or (),
            alongside_store=twins,
        ).run()
    finally:
        store.unlock()
    return (store.records(), twins.records()) if twins else store.records()


def fit_r2(records) -> dict[str, float]:
    from edge_bench.report.fit import fit_table
    from edge_bench.results import to_dataframe

    fits = fit_table(to_dataframe(records), metrics=["latency_median_ms"], models=["flops"])
    return {row["runtime"]: row["r2"] for _, row in fits.iterrows() if row.get("fitted")}


def cmd_retest(args) -> None:
    tgt = target(args.threads)
    with tempfile.TemporaryDirectory(prefix="retest-") as tmp:
        print(f"load before: {loadavg()}")
        first = sweep(args.recipe, tgt, Path(tmp) / "a")
        print(f"load between: {loadavg()}")
        second = sweep(args.recipe, tgt, Path(tmp) / "b")
        print(f"load after: {loadavg()}")
    a = {r.key[1:3]: r for r in first if r.ok}
    b = {r.key[1:3]: r for r in second if r.ok}
    rows, within = [], 0
    for key in sorted(a.keys() & b.keys()):
        ratio = b[key].latency.median / a[key].latency.median
        within += abs(ratio - 1) <= 0.05
        flags = "".join("F" if not r.latency.precision.reached else "." for r in (a[key], b[key]))
        rows.append(
            f"| {key[0]} | {key[1]} | {a[key].latency.median:.3f} | {b[key].latency.median:.3f} | {ratio:.3f} "
            f"| ±{a[key].latency.precision.half_width or math.nan:.1%} / ±{b[key].latency.precision.half_width or math.nan:.1%} "
            f"| {flags} |"
        )
    print("| variant | runtime | run 1 ms | run 2 ms | ratio | interval | not precise |\n|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    n = len(a.keys() & b.keys())
    flagged = sum(not r.latency.precision.reached for r in (*a.values(), *b.values()))
    print(f"\nagree within ±5 %: {within} of {n} ({within / n:.0%}); flagged not precise: {flagged} of {2 * n}")
    print(f"latency-vs-FLOPs R² run 1: {fit_r2(first)}, run 2: {fit_r2(second)}")


def cmd_time(args) -> None:
    """Device time to know each median to ±`precision`: rounds against repeating the fixed protocol."""
    old = target(args.threads, **OLD_PROTOCOL)
    rounds = target(args.threads, precision=args.precision)
    with tempfile.TemporaryDirectory(prefix="time-") as tmp:
        print(f"load before: {loadavg()}")
        fixed, adaptive = [], []
        for k in range(args.repeats):  # interleaved, so drift lands on both
            fixed.append(sweep(args.recipe, old, Path(tmp) / f"fixed{k}"))
            if k < args.adaptive_repeats:
                adaptive.append(sweep(args.recipe, rounds, Path(tmp) / f"rounds{k}"))
        print(f"load after: {loadavg()}")

    def by_key(runs):
        out: dict = {}
        for run in runs:
            for r in run:
                if r.ok:
                    out.setdefault(r.key[1:3], []).append(r)
        return out

    fixed_by, adaptive_by = by_key(fixed), by_key(adaptive)
    print(f"\nasked: the median to ±{args.precision:.1%} (95 %), at most the target's rounds")
    print(
        "| variant | runtime | fixed: between-process sd | rounds: precision reached (median) | "
        "rounds: spread of its estimates | rounds: device s (median) | fixed at that precision: processes × s | "
        "rounds / fixed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    totals = [0.0, 0.0]
    for key in sorted(fixed_by.keys() & adaptive_by.keys()):
        logs = [math.log(r.latency.median) for r in fixed_by[key]]
        sd = statistics.stdev(logs)
        per_process = statistics.fmean(r.latency.precision.device_seconds for r in fixed_by[key])
        mine = adaptive_by[key]
        # Equal precision: the half-width the round protocol reached (it may stop at its round limit
        # short of the one asked for); the fixed protocol repeated until its mean of log medians is as precise.
        reached = statistics.median(r.latency.precision.half_width or math.nan for r in mine)
        needed = max(1, math.ceil((1.96 * sd / reached) ** 2))
        fixed_s = needed * per_process
        rounds_s = statistics.median(r.latency.precision.device_seconds for r in mine)
        spread = 1.96 * statistics.stdev(math.log(r.latency.median) for r in mine) if len(mine) > 1 else math.nan
        totals[0] += fixed_s
        totals[1] += rounds_s
        print(
            f"| {key[0]} | {key[1]} | {sd:.1%} | ±{reached:.1%} | ±{spread:.1%} | {rounds_s:.1f} | "
            f"{needed} × {per_process:.1f} = {fixed_s:.1f} | {rounds_s / fixed_s:.2f} |"
        )
    print(
        f"\ndevice time for the sweep, each measurement at the precision the rounds reached: rounds {totals[1]:.0f} s, "
        f"fixed protocol repeated {totals[0]:.0f} s: {totals[1] / totals[0]:.2f}"
    )


def cmd_coverage(args) -> None:
    tgt = target(args.threads)
    with tempfile.TemporaryDirectory(prefix="coverage-") as tmp:
        print(f"load before: {loadavg()}")
        runs = [sweep(args.recipe, tgt, Path(tmp) / f"r{k}") for k in range(args.repeats)]
        print(f"load after: {loadavg()}")
    by_key: dict = {}
    for run in runs:
        for r in run:
            if r.ok and r.latency.precision.low_ms is not None:
                by_key.setdefault(r.key[1:3], []).append(r)
    hits = total = 0
    for key, records in sorted(by_key.items()):
        typical = statistics.median(r.latency.median for r in records)
        inside = sum(r.latency.precision.low_ms <= typical <= r.latency.precision.high_ms for r in records)
        hits, total = hits + inside, total + len(records)
        print(f"{key[0]} {key[1]}: {inside} of {len(records)} intervals hold the typical median {typical:.3f} ms")
    print(f"coverage: {hits} of {total} ({hits / total:.0%}), 95 % intended")


def busy_waits(records, slowdown: float) -> dict:
    """(variant, runtime) -> the busy-wait that slows each measured artifact by `slowdown` of its median."""
    return {(r.variant["name"], r.runtime): slowdown * r.latency.median for r in records if r.ok}


@dataclass
class GateTally:
    """What the gate flagged over the pairs of runs: unchanged measurements and slowed ones."""

    false_alarms: int = 0
    compared: int = 0
    caught: int = 0
    slowed: int = 0
    holding: int = 0  # unchanged measurements whose interval holds 1

    def add(self, no_change, slower, slowdown: float) -> str:
        """Count one pair of runs; its line."""
        self.false_alarms += sum(c.regressed for c in no_change)
        self.compared += len(no_change)
        self.caught += sum(c.regressed for c in slower)
        self.slowed += len(slower)
        self.holding += sum(c.low is not None and c.high is not None and c.low <= 1 <= c.high for c in no_change)
        return (
            f"flagged {sum(c.regressed for c in no_change)} of {len(no_change)} unchanged, "
            f"{sum(c.regressed for c in slower)} of {len(slower)} slowed by {slowdown:.0%}"
        )

    def summary(self, coverage: bool) -> str:
        line = (
            f"\nfalse alarms: {self.false_alarms} of {self.compared} ({self.false_alarms / self.compared:.1%}); "
            f"caught: {self.caught} of {self.slowed} ({self.caught / self.slowed:.1%})"
        )
        if coverage:
            line += (
                f"; intervals of unchanged measurements holding 1: {self.holding} of {self.compared} "
                f"({self.holding / self.compared:.1%})"
            )
        return line


def cmd_gate(args) -> None:
    """Each unchanged run and each slowed run judged against the baseline: the run before (`--history 1`)
    or the last `--history` unchanged runs, kept as a rolling history the way CI keeps its baselines."""
    if args.alongside:
        return gate_alongside(args)
    tgt = target(args.threads)
    tally = GateTally()
    with tempfile.TemporaryDirectory(prefix="gate-") as tmp:
        print(f"load before: {loadavg()}; baseline: the last {args.history} unchanged run(s)")
        history = [sweep(args.recipe, tgt, Path(tmp) / f"base{k}") for k in range(args.history)]
        for k in range(args.pairs):
            baseline = [r for run in history for r in run]
            same = sweep(args.recipe, tgt, Path(tmp) / f"same{k}")
            slow = sweep(args.recipe, tgt, Path(tmp) / f"slow{k}", busy_ms=busy_waits(history[-1], args.slowdown))
            no_change = compare(baseline, same)
            slower = compare(baseline, slow)
            drift = [c.between_runs for c in no_change if c.between_runs is not None]
            print(
                f"pair {k + 1}: {tally.add(no_change, slower, args.slowdown)}"
                + (f"; drift between runs {min(drift):.1%}..{max(drift):.1%}" if drift else "")
                + f"; load {loadavg()}"
            )
            history = history[1:] + [same]  # the unchanged run joins the baseline, the oldest leaves
    print(tally.summary(coverage=False))


def gate_alongside(args) -> None:
    """Each unchanged run and each slowed run measures a first run's artifacts alongside its own and is
    judged side by side against them (rounds paired in time)."""
    tgt = target(args.threads, rounds_max=args.rounds_max)
    tally = GateTally()
    keep = contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="gate-")
    with keep as tmp:
        print(f"load before: {loadavg()}; baseline: a first run's artifacts, measured alongside every run")
        first = sweep(args.recipe, tgt, Path(tmp) / "first")
        busy = busy_waits(first, args.slowdown)
        for k in range(args.pairs):
            same, same_twins = sweep(args.recipe, tgt, Path(tmp) / f"same{k}", alongside=first)
            slow, slow_twins = sweep(args.recipe, tgt, Path(tmp) / f"slow{k}", busy_ms=busy, alongside=first)
            no_change, slower = compare(same_twins, same), compare(slow_twins, slow)
            ratios = " ".join(f"{c.ratio:.3f}" for c in no_change + slower if c.ratio)
            print(
                f"pair {k + 1}: {tally.add(no_change, slower, args.slowdown)}; "
                f"pairs of rounds {sorted({c.pairs for c in no_change + slower})}; ratios {ratios}; load {loadavg()}"
            )
    print(tally.summary(coverage=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, recipe in (("retest", "resnet50-rs"), ("time", "smoke"), ("coverage", "smoke"), ("gate", "smoke")):
        p = sub.add_parser(name)
        p.add_argument("--recipe", default=recipe)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--repeats", type=int, default=20 if name == "coverage" else 8)
        p.add_argument("--pairs", type=int, default=10)
        p.add_argument("--slowdown", type=float, default=0.10)
        p.add_argument("--precision", type=float, default=0.02)
        p.add_argument("--adaptive-repeats", type=int, default=6)
        p.add_argument("--history", type=int, default=1, help="gate: baseline runs judged against (a rolling history)")
        p.add_argument("--alongside", action="store_true", help="gate: the baseline measured alongside every run")
        p.add_argument("--keep", help="gate --alongside: keep every run's results in this folder")
        p.add_argument("--rounds-max", type=int, default=10, help="gate --alongside: the target's rounds_max")
    args = parser.parse_args()
    {"retest": cmd_retest, "time": cmd_time, "coverage": cmd_coverage, "gate": cmd_gate}[args.command](args)


if __name__ == "__main__":
    main()
