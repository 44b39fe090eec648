"""ResNet-50 before and after edge-bench's INT8 annotation, on both runtimes: what the graph is, and latency.

    python benchmarks/int8_coverage.py [--resolution 224] [--rounds 9] [--runs 20] [--threads 1] [--out DIR] [--quick]

"Before" is each runtime's own PT2E quantizer (`complete_int8=False`: litert-torch leaves the 16
residual additions in float), "after" is edge-bench's (`export/annotate.py`). The same FP32 model
(random weights, batch norms re-estimated as edge-bench does), calibration images and settings build
all four artifacts. Each artifact's INT8 coverage, quantize/dequantize count, the paper's activation
metric on its graph and the arena LiteRT allocates are read from its bytes.

Latency: each round times every artifact in a fresh process (the device agent's runtime adapters:
load, prepare, warm-up, then `--runs` timed calls: their median and their fastest), in an order that
alternates between rounds (before/after, then after/before), so that load changes on a shared machine
hit both sides alike. The figure is the median over rounds of the after/before ratio of the same
round, with its spread; on a loaded machine the fastest call of a process is the steadier statistic.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import REPO, load, machine, median, spread

TIMER = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from edge_bench.device.runtimes import ADAPTERS
path, runtime, threads, warmup, runs = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
adapter = ADAPTERS[runtime](threads)
adapter.load(path)
adapter.prepare(np.random.default_rng(0))
for _ in range(warmup):
    adapter.run()
samples = []
for _ in range(runs):
    t0 = time.perf_counter_ns()
    adapter.run()
    samples.append((time.perf_counter_ns() - t0) / 1e6)
print(json.dumps({"median_ms": float(np.median(samples)), "min_ms": float(np.min(samples))}))
"""


def build(out: Path, resolution: int, quick: bool) -> dict[str, Path]:
    """The four artifacts (kept in `out`, reused when present)."""
    paths = {f"{runtime}/{side}": out / f"{side}{'.pte' if runtime == 'executorch' else '.tflite'}"
             for runtime in ("litert", "executorch") for side in ("before", "after")}
    if all(p.exists() for p in paths.values()):
        return paths
    import torch

    from edge_bench.build.builder import one_torch_thread
    from edge_bench.build.random_init import prepare_random_network
    from edge_bench.config import EvalConfig, QuantizeConfig
    from edge_bench.export.executorch import export_pte
    from edge_bench.export.litert import export_tflite
    from edge_bench.export.quantize import calibration_inputs
    from edge_bench.models import ARCHS, input_shape

    if quick:
        sys.path.insert(0, str(REPO))
        from tests.tinymodels import register

        register()
        fields = ARCHS["tinycnn"].normalize({"resolution": resolution, "num_classes": 10}, "benchmark")
    else:
        fields = ARCHS["resnet50"].normalize({"resolution": resolution}, "benchmark")
    quantize = QuantizeConfig()
    with one_torch_thread():
        model = ARCHS[fields["arch"]].build(fields)
        shape = input_shape(fields)
        if not quick:
            prepare_random_network(model, shape)
        calibration = calibration_inputs(quantize, shape, EvalConfig())
        example = torch.randn(*shape, generator=torch.Generator().manual_seed(quantize.seed))
        for key, path in paths.items():
            if path.exists():
                continue
            runtime, side = key.split("/")
            export = export_pte if runtime == "executorch" else export_tflite
            print(f"converting {key} ...", flush=True)
            path.write_bytes(export(model, example, calibration, quantize.per_channel, complete_int8=side == "after"))
    return paths


def describe(path: Path, runtime: str) -> dict:
    from edge_bench.artifacts.deployed import deployed_activation, deployed_graph
    from edge_bench.artifacts.precision import precision_summary

    graph = deployed_graph(path, runtime)
    precision = precision_summary(graph, runtime)
    row = {"float ops": precision["float_op_histogram"] or "none", "quantize/dequantize": precision["convert_ops"],
           "INT8 MACs %": precision["int8_macs_pct"], "INT8 ops %": precision["int8_ops_pct"],
           "deployed activation bytes": deployed_activation(graph)["bytes"]}
    if runtime == "litert":
        from edge_bench.artifacts.allocated import tflite_arena_allocated

        row["arena bytes (builtin kernels)"] = tflite_arena_allocated(path)["arena_bytes"]
        row["arena bytes (XNNPACK delegate)"] = tflite_arena_allocated(path, delegate=True)["arena_bytes"]
    return row


def time_once(path: Path, runtime: str, threads: int, warmup: int, runs: int) -> dict[str, float]:
    """The median and the fastest of `runs` timed calls in a fresh process."""
    done = subprocess.run([sys.executable, "-c", TIMER, str(REPO), str(path), runtime, str(threads), str(warmup), str(runs)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp/edge-bench-int8-coverage"))
    parser.add_argument("--quick", action="store_true", help="the tests' tiny CNN at 16 px: a smoke check, not figures")
    args = parser.parse_args(argv)
    resolution = 16 if args.quick else args.resolution
    args.out.mkdir(parents=True, exist_ok=True)
    print(machine())
    paths = build(args.out, resolution, args.quick)
    for key, path in paths.items():
        print(f"{key}: {json.dumps(describe(path, key.split('/')[0]))}")
    print(f"timing: {args.rounds} rounds, {args.threads} thread(s), {args.warmup} warm-up + {args.runs} timed calls "
          f"per process; load before {load()}")
    times: dict[str, list[dict[str, float]]] = {key: [] for key in paths}
    for round_ in range(args.rounds):
        for runtime in ("litert", "executorch"):
            sides = ("before", "after") if round_ % 2 == 0 else ("after", "before")
            for side in sides:
                key = f"{runtime}/{side}"
                times[key].append(time_once(paths[key], runtime, args.threads, args.warmup, args.runs))
        print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]['median_ms']:.2f} ms (min {v[-1]['min_ms']:.2f})"
                                                  for k, v in times.items()) + f"; load {load()}", flush=True)
    print(f"load after {load()}")
    for runtime in ("litert", "executorch") if args.rounds else ():
        for stat in ("median_ms", "min_ms"):
            before = [t[stat] for t in times[f"{runtime}/before"]]
            after = [t[stat] for t in times[f"{runtime}/after"]]
            ratios = [a / b for a, b in zip(after, before)]
            print(f"{runtime} {stat.removesuffix('_ms')} per process: before {median(before):.2f} ms, after "
                  f"{median(after):.2f} ms; after/before median {median(ratios):.3f} ({spread(ratios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
