"""The artifact cache: a second build reconverts nothing and is fast; a changed variant field rebuilds
that variant only; a changed tool version rebuilds everything.

    python benchmarks/cache.py [--arch mobilenet_v2|resnet50] [--quick]

Uses its own empty EDGE_BENCH_CACHE (a temporary folder) and a recipe of 4 explicit [[variants]], so one
variant's field can be edited. Every step is a fresh `edge-bench build` process; what it rebuilt is read
from its output (`built` / `cached` lines). The tool-version change is made by launching edge-bench with
`edge_bench.build.builder.tool_versions` reporting a different executorch version, as an upgrade would.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

BUMP_VERSION = (
    "import edge_bench.build.builder as _b; _v = _b.tool_versions; "
    "_b.tool_versions = lambda: {**_v(), 'executorch': str(_v()['executorch']) + '+upgraded'}"
)


def build(recipe: Path, cache: Path, quick: bool, prelude: str = "") -> common.Run:
    return common.run_sampled(
        common.edge_bench_argv(["build", "--recipe", str(recipe)], quick, prelude), env={"EDGE_BENCH_CACHE": str(cache)}
    ).check()


def report(step: str, run: common.Run, expect_built: int, expect_cached: int) -> bool:
    states = common.build_states(run.stdout)
    ok = states["built"] == expect_built and states["cached"] == expect_cached and not states["FAILED"]
    print(
        f"{step:44s} {run.seconds:7.2f} s  built {states['built']}, cached {states['cached']}, failed {states['FAILED']}"
        f"  (expected built {expect_built}, cached {expect_cached}: {'yes' if ok else 'NO'})"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="mobilenet_v2", choices=sorted(common.ARCH_SWEEPS))
    parser.add_argument("--quick", action="store_true", help="the tests' tiny CNN")
    args = parser.parse_args()
    arch, points, extra = common.sweep(args.quick, args.arch)
    n = 2 * len(points)  # executorch + litert per variant
    print(f"# {common.machine()}")
    print(f"sweep: {arch} at {[p['resolution'] for p in points]} px, executorch + litert ({n} artifacts)")
    with tempfile.TemporaryDirectory(prefix="cache-bench-") as tmp:
        folder = Path(tmp)
        recipe, cache = folder / "sweep.toml", folder / "cache"
        recipe.write_text(common.recipe_text(arch, points, extra))
        report("cold build (empty cache)", build(recipe, cache, args.quick), n, 0)

        second = build(recipe, cache, args.quick)
        report("second build, nothing changed", second, 0, n)
        hashed = sum(p.stat().st_size for p in cache.rglob("model.*"))
        print(
            f"  second build: {second.seconds:.2f} s for {n} cached artifacts ({hashed / 2**20:.1f} MiB re-hashed "
            f"to verify them): {'within' if second.seconds <= 2.0 else 'ABOVE'} the 2 s target"
        )

        changed = dict(points[-1])
        changed["resolution"] += 16
        recipe.write_text(common.recipe_text(arch, points[:-1] + [changed], extra))
        report(
            f"last variant's resolution {points[-1]['resolution']} -> {changed['resolution']}",
            build(recipe, cache, args.quick),
            2,
            n - 2,
        )

        report("executorch version changed", build(recipe, cache, args.quick, BUMP_VERSION), n, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
