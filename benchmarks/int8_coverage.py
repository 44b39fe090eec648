"""ResNet-50 (or ViT-S, or CIFAR NASNet-A) before and after edge-bench's INT8 annotation, on both
runtimes: what the graph is, how faithful it is to the FP32 model, and latency.

    python benchmarks/int8_coverage.py [--arch resnet50|vit|nasnet_a] [--size N] [--rounds 10] [--runs 20]
                                       [--threads 1] [--out DIR] [--quick]

"Before" is each runtime's own PT2E quantizer (`complete_int8=False`: litert-torch leaves the 16
residual additions in float), "after" is edge-bench's (`export/annotate.py`). The same FP32 model
(random weights, batch norms re-estimated as edge-bench does), calibration images and settings build
all four artifacts. Each artifact's INT8 coverage, quantize/dequantize count, the paper's activation
metric on its graph and the arena LiteRT allocates are read from its bytes; its fidelity (SQNR and
top-1 agreement against the FP32 model on 16 seeded images) is computed on this host.

Latency: each round times every artifact in a fresh process (the device agent's runtime adapters:
load, prepare, warm-up, then `--runs` timed calls: their median and their fastest), in an order that
alternates between rounds (before/after, then after/before), so that load changes on a shared machine
hit both sides alike. The figure is the median over rounds of the after/before ratio of the same
round, with its spread; on a loaded machine the fastest call of a process is the steadier statistic.
Use an even number of rounds, so that each side goes first equally often. On ExecuTorch the two
artifacts may be the same bytes (XNNPACK's own quantizer already covers ResNet-50): that pair is then
an A/A comparison, the noise floor of the figures.
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


DEFAULT_SIZE = {"resnet50": 224, "vit": 8, "nasnet_a": 32}


def variant_fields(arch: str, size: int, quick: bool) -> dict:
    from edge_bench.models import ARCHS

    if quick:
        sys.path.insert(0, str(REPO))
        from tests.tinymodels import register

        register()
        return ARCHS["tinycnn"].normalize({"resolution": 16, "num_classes": 10}, "benchmark")
    point = {"tokens": size} if arch == "vit" else {"resolution": size}
    return ARCHS[arch].normalize(point, "benchmark")


def build(out: Path, fields: dict):
    """The FP32 model and the four artifacts (kept in `out`, reused when present)."""
    import torch

    from edge_bench.build.builder import one_torch_thread
    from edge_bench.build.random_init import prepare_random_network
    from edge_bench.config import EvalConfig, QuantizeConfig
    from edge_bench.export.executorch import export_pte
    from edge_bench.export.litert import export_tflite
    from edge_bench.export.quantize import calibration_inputs
    from edge_bench.models import ARCHS, input_shape

    paths = {
        f"{runtime}/{side}": out / f"{side}{'.pte' if runtime == 'executorch' else '.tflite'}"
        for runtime in ("litert", "executorch")
        for side in ("before", "after")
    }
    quantize = QuantizeConfig()
    shape = input_shape(fields)
    with one_torch_thread():
        model = ARCHS[fields["arch"]].build(fields)
        if fields["arch"] != "tinycnn":
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
    return model, shape, paths


def fidelity(model, shape, path: Path, runtime: str, images: int = 16) -> dict:
    """SQNR and top-1 agreement of the artifact against its FP32 model, on seeded standard-normal images
    (the calibration distribution): a conversion check, not an accuracy."""
    import numpy as np
    import torch

    from edge_bench.accuracy.metrics import sqnr_db, top1_agreement
    from edge_bench.device.runtimes import ADAPTERS

    generator = torch.Generator().manual_seed(1234)
    inputs = [torch.randn(*shape, generator=generator) for _ in range(images)]
    with torch.no_grad():
        reference = np.concatenate([model(x).numpy() for x in inputs])
    adapter = ADAPTERS[runtime](1)
    adapter.load(str(path))
    adapter.prepare(np.random.default_rng(0))
    outputs = []
    for x in inputs:
        adapter.set_inputs([x.numpy()])
        adapter.run()
        outputs.append(adapter.outputs()[0].reshape(reference.shape[1:])[None])
    test = np.concatenate(outputs)
    return {
        "SQNR dB": round(float(sqnr_db(reference, test)), 2),
        "top-1 agreement %": round(top1_agreement(reference, test), 1),
    }


def describe(path: Path, runtime: str) -> dict:
    from edge_bench.artifacts.deployed import deployed_activation, deployed_graph
    from edge_bench.artifacts.int8 import int8_summary

    graph = deployed_graph(path, runtime)
    precision = int8_summary(graph, runtime)
    row = {
        "float ops": precision["float_op_histogram"] or "none",
        "quantize/dequantize": precision["convert_ops"],
        "INT8 MACs %": precision["int8_macs_pct"],
        "INT8 ops %": precision["int8_ops_pct"],
        "deployed activation bytes": deployed_activation(graph)["bytes"],
    }
    if runtime == "litert":
        from edge_bench.artifacts.allocated import tflite_arena_allocated
        from edge_bench.artifacts.delegation import tflite_delegation

        row["arena bytes (builtin kernels)"] = tflite_arena_allocated(path)["arena_bytes"]
        row["arena bytes (XNNPACK delegate)"] = tflite_arena_allocated(path, delegate=True)["arena_bytes"]
        delegation = tflite_delegation(path)
        row["delegate partitions"] = delegation["delegate_partitions"]
        row["left to the interpreter"] = delegation["non_delegated_ops"]
    return row


def time_once(path: Path, runtime: str, threads: int, warmup: int, runs: int) -> dict[str, float]:
    """The median and the fastest of `runs` timed calls in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", TIMER, str(REPO), str(path), runtime, str(threads), str(warmup), str(runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=tuple(DEFAULT_SIZE), default="resnet50")
    parser.add_argument(
        "--size", type=int, help="resolution (resnet50 224, nasnet_a 32 by default) or tokens per side (vit, 8)"
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--out",
        type=Path,
        help="where the artifacts are kept (default: /tmp/edge-bench-int8-<arch>-<size>-<hash of the export code>)",
    )
    parser.add_argument("--quick", action="store_true", help="the tests' tiny CNN at 16 px: a smoke check, not figures")
    args = parser.parse_args(argv)
    size = args.size or DEFAULT_SIZE[args.arch]
    # Keyed on the export code, so an edited converter never times the artifacts of the one before.
    from edge_bench.build.identity import builder_hash

    code = builder_hash()[:12]
    args.out = args.out or Path(f"/tmp/edge-bench-int8-{'quick' if args.quick else args.arch}-{size}-{code}")
    args.out.mkdir(parents=True, exist_ok=True)
    print(machine())
    model, shape, paths = build(args.out, variant_fields(args.arch, size, args.quick))
    for key, path in paths.items():
        runtime = key.split("/")[0]
        print(f"{key}: {json.dumps({**describe(path, runtime), **fidelity(model, shape, path, runtime)})}", flush=True)
    for runtime in ("litert", "executorch"):
        same = paths[f"{runtime}/before"].read_bytes() == paths[f"{runtime}/after"].read_bytes()
        print(f"{runtime}: before and after are {'the same bytes (an A/A pair)' if same else 'different artifacts'}")
    print(
        f"timing: {args.rounds} rounds, {args.threads} thread(s), {args.warmup} warm-up + {args.runs} timed calls "
        f"per process; load before {load()}"
    )
    times: dict[str, list[dict[str, float]]] = {key: [] for key in paths}
    for round_ in range(args.rounds):
        for runtime in ("litert", "executorch"):
            sides = ("before", "after") if round_ % 2 == 0 else ("after", "before")
            for side in sides:
                key = f"{runtime}/{side}"
                times[key].append(time_once(paths[key], runtime, args.threads, args.warmup, args.runs))
        print(
            f"round {round_ + 1}: "
            + ", ".join(f"{k} {v[-1]['median_ms']:.2f} ms (min {v[-1]['min_ms']:.2f})" for k, v in times.items())
            + f"; load {load()}",
            flush=True,
        )
    print(f"load after {load()}")
    for runtime in ("litert", "executorch") if args.rounds else ():
        for stat in ("median_ms", "min_ms"):
            before = [t[stat] for t in times[f"{runtime}/before"]]
            after = [t[stat] for t in times[f"{runtime}/after"]]
            ratios = [a / b for a, b in zip(after, before)]
            print(
                f"{runtime} {stat.removesuffix('_ms')} per process: before {median(before):.2f} ms, after "
                f"{median(after):.2f} ms; after/before median {median(ratios):.3f} ({spread(ratios)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
