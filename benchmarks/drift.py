"""How the machine's speed moves while one process measures: is the drift between runs the process's or
the machine's?

    python benchmarks/drift.py [--recipe benchmarks/resnet50-224.toml] [--blocks 60] [--secs 1.0] [--threads 2]

One process loads every LiteRT artifact of the recipe (built or taken from the cache) and a fixed
numpy workload (twenty 256x256 float matrix products), then times them in turn, `--secs` each, for
`--blocks` blocks: one median per workload per block. It prints, per workload, the spread of the block
medians (log sd) and of the step from one block to the next (the successive differences' sd over
sqrt 2: what pairing neighbours leaves), the correlation of the workloads' block medians, and the
share of CPU time the hypervisor stole. Workloads that slow down together in the same blocks point at
the machine, not at one process's memory layout or thread placement.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402,F401  (puts the repository on sys.path)


def cpu_times() -> list[int]:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def artifacts(recipe_name: str) -> dict[str, Path]:
    from edge_bench.build import Builder
    from edge_bench.config import load_recipe
    from edge_bench.recipes import expand

    recipe = load_recipe(recipe_name)
    builder = Builder(recipe)
    out = {}
    for variant in expand(recipe):
        built = builder.artifact(variant, "litert", {})
        if built.artifact is None:
            raise SystemExit(f"{variant.name}: {built.error}")
        out[variant.name] = built.artifact.path
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="benchmarks/resnet50-224.toml")
    parser.add_argument("--blocks", type=int, default=60)
    parser.add_argument("--secs", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    workloads = {}
    for name, path in artifacts(args.recipe).items():
        interpreter = Interpreter(model_path=str(path), num_threads=args.threads)
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
        workloads[name] = interpreter.invoke
    matrix = np.random.default_rng(0).random((256, 256), dtype=np.float32)
    workloads["numpy matmul x20"] = lambda: [matrix @ matrix for _ in range(20)]
    for run in workloads.values():
        for _ in range(5):
            run()

    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {len(workloads)} workloads, "
          f"{args.blocks} blocks of {args.secs} s each")  # fmt: skip
    medians: dict[str, list[float]] = {name: [] for name in workloads}
    stolen = []
    for _ in range(args.blocks):
        before = cpu_times()
        for name, run in workloads.items():
            samples, end = [], time.perf_counter() + args.secs
            while time.perf_counter() < end:
                start = time.perf_counter_ns()
                run()
                samples.append((time.perf_counter_ns() - start) / 1e6)
            medians[name].append(statistics.median(samples))
        after = cpu_times()
        stolen.append((after[7] - before[7]) / max(1, sum(after) - sum(before)))
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; CPU time stolen by the hypervisor: "
          f"at most {max(stolen):.2%} of a block")  # fmt: skip

    logs = {name: np.log(values) for name, values in medians.items()}
    for name, values in logs.items():
        steps = np.diff(values)
        print(
            f"{name:32s} median {math.exp(float(np.median(values))):8.3f} ms  block log sd {np.std(values, ddof=1):.3f}  "
            f"neighbour-to-neighbour {np.std(steps, ddof=1) / math.sqrt(2):.3f}  "
            f"slowest/fastest block {math.exp(float(values.max() - values.min())):.2f}"
        )
    names = list(logs)
    correlation = np.corrcoef([logs[n] for n in names])
    print("correlation of the block medians (log):")
    for i, name in enumerate(names):
        print(f"  {name:32s} " + " ".join(f"{correlation[i, j]:5.2f}" for j in range(len(names))))
    print(json.dumps({name: [round(v, 4) for v in values] for name, values in medians.items()}))


if __name__ == "__main__":
    main()
