"""Build time: `edge-bench build` of a 4-variant sweep against the same converter calls made by hand.

    python benchmarks/build_time.py [--arch mobilenet_v2|resnet50] [--rounds 1] [--quick]

A: `edge-bench build --recipe <4 variants>` from an empty artifact cache, in a fresh process.
B: benchmarks/raw_convert.py: the same models, calibration and quantize/export calls, written out by
hand in one script, also in a fresh process. Both build the FP32 model once per variant and convert
it for ExecuTorch and LiteRT. The ratio A/B is from the same run (interleaved when --rounds > 1).

Where A's extra time goes is measured, not guessed: the edge-bench process runs with phase timers
(benchmarks/phases.py wraps the functions of each phase) and the raw script times the same phases.
The analytic model is not part of `build` (it is computed by `run` and `analyze`); its cost for the
same sweep is timed on its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import common  # noqa: E402
import phases  # noqa: E402

ORDER = [
    "interpreter start",
    "imports",
    "tool versions",
    "keys",
    "cache lookup (hash)",
    "model build",
    "calibration data",
    "calibration passes",
    "quantize (capture, prepare, convert)",
    "export (lower, serialize)",
    "store artifact + hash + manifest",
    "write files",
    "Builder._convert, rest",
    "Builder.artifact, rest (manifest, ...)",
    "build_all, rest (between variants)",
    "other (CLI, recipe, printing)",
    "interpreter exit",
]


def breakdown(run: common.Run, totals: dict, nested: bool) -> dict[str, float]:
    """Phase -> seconds, with process start, exit and what no timer covered filled in, summing to the wall time.

    `nested`: the totals are phases.py's (a phase's total includes the phases it calls)."""
    out = {k: v for k, v in totals.items() if k not in ("started_at", "ended_at", GC)}
    out = phases.exclusive(out) if nested else out
    out["interpreter start"] = totals["started_at"] - run.started_at
    out["interpreter exit"] = run.ended_at - totals["ended_at"]
    out["other (CLI, recipe, printing)"] = run.seconds - sum(out.values())
    return out


GC = "garbage collection (within phases)"


def run_edge_bench(recipe: Path, cache: Path, phases_file: Path, quick: bool, expected: int) -> common.Run:
    prelude = f"sys.path.insert(0, {str(BENCH)!r}); import phases; phases.install({str(phases_file)!r})"
    run = common.run_sampled(
        common.edge_bench_argv(["build", "--recipe", str(recipe)], quick, prelude), env={"EDGE_BENCH_CACHE": str(cache)}
    ).check()
    states = common.build_states(run.stdout)
    if states["built"] != expected:
        raise SystemExit(f"edge-bench build did not convert everything from a cold cache: {states}")
    return run


def run_raw(arch: str, resolutions: list[int], out: Path, phases_file: Path, quick: bool) -> common.Run:
    argv = [
        sys.executable,
        str(BENCH / "raw_convert.py"),
        "--arch",
        arch,
        "--resolutions",
        ",".join(map(str, resolutions)),
        "--out",
        str(out),
        "--phases",
        str(phases_file),
    ]
    if quick:
        argv += ["--num-classes", "10"]
    return common.run_sampled(argv).check()


def time_analytic(recipe: Path, cache: Path, quick: bool) -> float:
    code = (
        f"import sys, time; sys.path.insert(0, {str(common.REPO)!r}); {common.QUICK_REGISTER if quick else ''}\n"
        "from edge_bench.build import Builder; from edge_bench.config import load_recipe\n"
        "from edge_bench.export.cache import ArtifactCache; from edge_bench.recipes import expand\n"
        f"r = load_recipe({str(recipe)!r}); b = Builder(r, ArtifactCache({str(cache)!r})); vs = expand(r)\n"
        "import torch, edge_bench.analytic\n"
        "t = time.perf_counter()\n[b.analytic(v) for v in vs]\nprint(time.perf_counter() - t)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="mobilenet_v2", choices=sorted(common.ARCH_SWEEPS))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the tests' tiny CNN at 16..28 px")
    args = parser.parse_args()
    arch, points, extra = common.sweep(args.quick, args.arch)
    resolutions = [p["resolution"] for p in points]
    expected = 2 * len(points)

    print(f"# {common.machine()}")
    print(f"sweep: {arch} at {resolutions} px, executorch + litert ({expected} conversions), 8 calibration images")
    with tempfile.TemporaryDirectory(prefix="build-time-") as tmp:
        folder = Path(tmp)
        recipe = folder / "sweep.toml"
        recipe.write_text(common.recipe_text(arch, points, extra))
        print(f"warm-up import of the converter stack: {common.warm_imports():.1f} s (not counted)")
        walls: dict[str, list[float]] = {"edge-bench": [], "raw": []}
        cpus: dict[str, list[float]] = {"edge-bench": [], "raw": []}
        last: dict[str, dict[str, float]] = {}
        gc_time: dict[str, float] = {}
        for round_ in range(args.rounds):
            order = ("edge-bench", "raw") if round_ % 2 == 0 else ("raw", "edge-bench")
            for side in order:
                phases_file = folder / f"{side}-{round_}.json"
                if side == "edge-bench":
                    run = run_edge_bench(recipe, folder / f"cache-{round_}", phases_file, args.quick, expected)
                else:
                    run = run_raw(arch, resolutions, folder / f"raw-{round_}", phases_file, args.quick)
                walls[side].append(run.seconds)
                cpus[side].append(run.cpu_seconds)
                totals = json.loads(phases_file.read_text())
                last[side] = breakdown(run, totals, nested=side == "edge-bench")
                gc_time[side] = totals.get(GC, 0.0)
                print(
                    f"  round {round_ + 1}: {side:10s} {run.seconds:7.1f} s wall, {run.cpu_seconds:7.1f} s CPU "
                    f"(peak RSS {common.gib(run.peak_tree_rss)}, load average {common.load()})"
                )
        analytic = time_analytic(recipe, folder / "analytic-cache", args.quick)

    a, b = common.median(walls["edge-bench"]), common.median(walls["raw"])
    ratios = [x / y for x, y in zip(walls["edge-bench"], walls["raw"])]
    print(
        f"\nedge-bench build {a:.1f} s, raw converter calls {b:.1f} s: ratio {a / b:.3f} "
        f"({'within' if a / b <= 1.1 else 'ABOVE'} the 1.1x target; per-round {common.spread(ratios)})"
    )
    ca, cb = common.median(cpus["edge-bench"]), common.median(cpus["raw"])
    print(
        f"CPU time (user + system, less sensitive to other processes taking the cores): edge-bench {ca:.1f} s, "
        f"raw {cb:.1f} s: ratio {ca / cb:.3f}"
    )
    print(
        f"\nwhere the time goes (last round), seconds:\n{'phase':42s} {'edge-bench':>11s} {'raw':>9s} {'difference':>11s}"
    )
    for name in ORDER:
        x, y = last["edge-bench"].get(name, 0.0), last["raw"].get(name, 0.0)
        print(f"{name:42s} {x:11.2f} {y:9.2f} {x - y:+11.2f}")
    total_a, total_b = sum(last["edge-bench"].values()), sum(last["raw"].values())
    print(f"{'total (wall)':42s} {total_a:11.2f} {total_b:9.2f} {total_a - total_b:+11.2f}")
    x, y = gc_time["edge-bench"], gc_time["raw"]
    print(f"{'  of which Python garbage collection':42s} {x:11.2f} {y:9.2f} {x - y:+11.2f}")
    print(
        f"\nanalytic model of the same {len(points)} variants (run by `run` and `analyze`, not by `build`): {analytic:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
