"""Parallel builds: `edge-bench build --jobs 2` against `--jobs 1`, wall time and peak memory.

    python benchmarks/parallel.py [--arch mobilenet_v2|resnet50] [--jobs 2] [--rounds 1] [--quick]

Each build starts from its own empty artifact cache, in a fresh process, on the same 4-variant sweep.
Peak memory is the most the whole process tree (edge-bench and its workers) held at once, sampled
every 0.2 s from /proc; the workers' own per-variant peaks (VmHWM) come from edge-bench's log. Both
builds must produce the same artifacts (sha256). With --rounds > 1 the order alternates.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# The per-variant peaks are logged at INFO by edge_bench.build.parallel.
SHOW_SUMMARY = "import logging; logging.getLogger('edge_bench.build.parallel').setLevel(logging.INFO)"


def build(recipe: Path, cache: Path, jobs: int, quick: bool) -> common.Run:
    argv = common.edge_bench_argv(["build", "--recipe", str(recipe), "--jobs", str(jobs)], quick, SHOW_SUMMARY)
    run = common.run_sampled(argv, env={"EDGE_BENCH_CACHE": str(cache)}).check()
    states = common.build_states(run.stdout)
    if states["built"] == 0 or states["FAILED"] or states["cached"]:
        raise SystemExit(f"--jobs {jobs}: expected a full cold build, got {states}\n{run.stdout}")
    return run


def hashes(stdout: str) -> dict[str, str]:
    """'variant runtime' -> sha256 of the artifact, from the paths `edge-bench build` prints."""
    out = {}
    for line in stdout.splitlines():
        state, _, rest = line.partition(" ")
        if state == "built":
            what, _, path = rest.strip().rpartition(": ")
            out[what] = json.loads((Path(path).parent / "manifest.json").read_text())["sha256"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="mobilenet_v2", choices=sorted(common.ARCH_SWEEPS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the tests' tiny CNN")
    args = parser.parse_args()
    arch, points, extra = common.sweep(args.quick, args.arch)

    from edge_bench.build import memory

    print(f"# {common.machine()}")
    print(
        f"sweep: {arch} at {[p['resolution'] for p in points]} px, executorch + litert, --jobs 1 vs --jobs {args.jobs}"
    )
    available = memory.mem_available_bytes()
    estimate = memory.conversion_peak_bytes(memory.DEFAULT_WEIGHT_COUNT)
    plan = memory.plan_workers(args.jobs, len(points), available, estimate)
    print(
        f"memory bound: {common.gib(available or 0)} available, ~{common.gib(estimate)} per conversion "
        f"(estimate, when a variant's size is unknown) -> {plan.workers} worker(s) of one torch thread each"
        + (f"; {plan.limited_by_memory}" if plan.limited_by_memory else "")
    )
    with tempfile.TemporaryDirectory(prefix="parallel-bench-") as tmp:
        folder = Path(tmp)
        recipe = folder / "sweep.toml"
        recipe.write_text(common.recipe_text(arch, points, extra))
        print(f"warm-up import of the converter stack: {common.warm_imports():.1f} s (not counted)")
        runs: dict[int, list[common.Run]] = {1: [], args.jobs: []}
        for round_ in range(args.rounds):
            for jobs in (1, args.jobs) if round_ % 2 == 0 else (args.jobs, 1):
                run = build(recipe, folder / f"cache-{round_}-{jobs}", jobs, args.quick)
                runs[jobs].append(run)
                print(
                    f"  round {round_ + 1}: --jobs {jobs}: {run.seconds:7.1f} s wall, {run.cpu_seconds:7.1f} s CPU, "
                    f"peak RSS of the process tree {common.gib(run.peak_tree_rss)}, lowest MemAvailable "
                    f"{common.gib(run.min_mem_available)}, load average after {common.load()}"
                )
                for line in run.stderr.splitlines():
                    if "edge_bench.build.parallel" in line:
                        print(f"    {line}")
        same = all(hashes(a.stdout) == hashes(b.stdout) for a, b in zip(runs[1], runs[args.jobs]))

    one = common.median([r.seconds for r in runs[1]])
    many = common.median([r.seconds for r in runs[args.jobs]])
    speedup = one / many
    print(
        f"\n--jobs 1 {one:.1f} s, --jobs {args.jobs} {many:.1f} s: {speedup:.2f}x faster "
        f"({'meets' if speedup >= 1.6 else 'BELOW'} the 1.6x target); peak memory "
        f"{common.gib(max(r.peak_tree_rss for r in runs[1]))} vs {common.gib(max(r.peak_tree_rss for r in runs[args.jobs]))}; "
        f"same artifacts (sha256): {'yes' if same else 'NO'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
