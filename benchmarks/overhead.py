"""Measurement overhead: edge-bench's median latency against a bare timing loop, same artifact, same threads.

    python benchmarks/overhead.py [--rounds 5] [--threads 2] [--quick]

A (edge-bench): the device agent pushed and run through the local transport, exactly as
`edge-bench run --target host` does (zipapp, spec, fresh process, JSON result line).
B (bare): a plain script that loads the same file with the runtime's Python API, warms up, and times
`invoke()` / `execute()` with perf_counter_ns in a loop, nothing else.
Both follow the same protocol (warm-up >= 3 runs and >= 0.5 s, then >= 20 runs and >= `--secs` s) in
a fresh process each, and run interleaved (A B, then B A, ...) `--rounds` times per runtime, so drift
on a shared machine hits both. The figure is the median over rounds of median(A) / median(B), with
the spread of the per-round ratios.

The artifacts are ResNet-50 at 160 px (recipe resnet50-rs, --only resolution=160) built through
edge-bench's Builder (reused from the artifact cache when there); --quick uses the tests' tiny CNN.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# The bare loop. Standard library + the runtime only; no edge_bench import.
BARE = r"""
import json, sys, time
import numpy as np

path, runtime, threads, min_secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rng = np.random.default_rng(0)
if runtime == "litert":
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = rng.standard_normal(tuple(d["shape"])).astype(np.float32)
    if np.issubdtype(d["dtype"], np.integer):
        scale, zero = d["quantization"]
        info = np.iinfo(d["dtype"])
        x = np.clip(np.round(x / scale) + zero, info.min, info.max)
    it.set_tensor(d["index"], x.astype(d["dtype"]))
    call = it.invoke
else:
    import torch
    from executorch.extension.pybindings import portable_lib
    from executorch.runtime import Runtime
    portable_lib._unsafe_reset_threadpool(threads)  # the same pool size the agent sets
    method = Runtime.get().load_program(path).load_method("forward")
    shape = method.metadata.input_tensor_meta(0).sizes()
    inputs = [torch.from_numpy(rng.standard_normal(tuple(shape)).astype(np.float32))]
    call = lambda: method.execute(inputs)

def loop(min_runs, secs):
    out = []
    start = time.perf_counter_ns()
    while True:
        t0 = time.perf_counter_ns()
        call()
        t1 = time.perf_counter_ns()
        out.append((t1 - t0) / 1e6)
        if len(out) >= min_runs and t1 - start >= secs * 1e9:
            return out

call()  # first inference
loop(3, 0.5)  # warm-up
samples = sorted(loop(20, min_secs))
print("BARE " + json.dumps({"median": samples[len(samples) // 2] if len(samples) % 2 else
                            (samples[len(samples) // 2 - 1] + samples[len(samples) // 2]) / 2,
                            "min": samples[0], "n": len(samples)}))
"""


def build_artifacts(quick: bool) -> tuple[str, dict[str, Path]]:
    from edge_bench.build import Builder
    from edge_bench.config import load_recipe
    from edge_bench.recipes import Only, expand

    if quick:
        exec(common.QUICK_REGISTER)
        folder = Path(tempfile.mkdtemp(prefix="overhead-"))
        (folder / "tiny.toml").write_text(common.recipe_text("tinycnn", [{"resolution": 16}], "num_classes = 10", 2))
        recipe = load_recipe(str(folder / "tiny.toml"))
        variant = expand(recipe)[0]
    else:
        recipe = load_recipe("resnet50-rs")
        variant = expand(recipe, [Only.parse("resolution=160")])[0]
    builder, memo, paths = Builder(recipe), {}, {}
    for runtime in ("executorch", "litert"):
        outcome = builder.artifact(variant, runtime, memo)
        if outcome.artifact is None:
            raise SystemExit(f"cannot build {variant.name} for {runtime}: {outcome.error}")
        paths[runtime] = outcome.artifact.path
    return variant.name, paths


def agent_median(session, agent: str, device_path: str, runtime: str, threads: int, secs: float) -> dict:
    from edge_bench.config import MeasureConfig, Target
    from edge_bench.measure.spec import measurement_spec
    from edge_bench.transport import device_python
    from edge_bench.transport.agent import run_agent

    target = Target(
        name="host",
        path=Path("host.toml"),
        description="",
        kind="local",
        threads=threads,
        measure=MeasureConfig(warmup_runs=3, warmup_secs=0.5, min_runs=20, min_secs=secs, max_secs=120.0),
    )
    spec = measurement_spec(target, device_path, runtime)
    result = run_agent(session, device_python(target), agent, spec, timeout=600)
    if result.get("status") != "ok":
        raise SystemExit(f"agent failed on {runtime}: {result.get('error')}")
    latency = result["latency_ms"]
    return {"median": latency["median"], "min": latency["min"], "n": latency["n"]}


def bare_median(script: Path, path: str, runtime: str, threads: int, secs: float) -> dict:
    done = subprocess.run(
        [sys.executable, str(script), path, runtime, str(threads), str(secs)],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BARE "):
            return json.loads(line[5:])
    raise SystemExit(f"bare loop failed on {runtime}: {done.stderr[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="A/B pairs per runtime (at least 5 for the figure)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--secs", type=float, default=2.0, help="timed seconds per measurement (at least 20 runs)")
    parser.add_argument("--quick", action="store_true", help="the tests' tiny CNN, 2 rounds, short loops")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.secs = min(args.rounds, 2), 0.2

    from edge_bench.transport.bundle import build_agent_zipapp
    from edge_bench.transport.local import LocalTransport

    print(f"# {common.machine()}")
    name, paths = build_artifacts(args.quick)
    print(f"artifacts: {name}: " + ", ".join(f"{r} {p}" for r, p in paths.items()))
    with tempfile.TemporaryDirectory() as tmp, LocalTransport() as session:
        script = Path(tmp) / "bare_loop.py"
        script.write_text(BARE)
        agent = session.push(build_agent_zipapp(Path(tmp) / "agent"), "agent.pyz")
        device = {r: session.push(p, f"model{p.suffix}") for r, p in paths.items()}
        for runtime in ("litert", "executorch"):
            ratios, min_ratios, a_medians, b_medians = [], [], [], []

            def measure(round_: int, side: str) -> dict:
                if side == "A":
                    return agent_median(session, agent, device[runtime], runtime, args.threads, args.secs)
                return bare_median(script, device[runtime], runtime, args.threads, args.secs)

            for round_, order, got in common.interleaved(["A", "B"], args.rounds, measure):
                a, b = got["A"]["median"], got["B"]["median"]
                ratios.append(a / b)
                min_ratios.append(got["A"]["min"] / got["B"]["min"])
                a_medians.append(a)
                b_medians.append(b)
                print(
                    f"  {runtime} round {round_ + 1} ({''.join(order)}): edge-bench {a:.3f} ms (n={got['A']['n']}), "
                    f"bare {b:.3f} ms (n={got['B']['n']}), ratio {a / b:.4f}; "
                    f"minimums {got['A']['min']:.3f} / {got['B']['min']:.3f} ms"
                )
            ratio = common.median(ratios)
            within = abs(ratio - 1) <= 0.01
            print(
                f"{runtime}: edge-bench median {common.median(a_medians):.3f} ms, bare loop {common.median(b_medians):.3f} ms; "
                f"ratio {ratio:.4f} (per-round {common.spread(ratios)}) over {args.rounds} rounds, "
                f"{args.threads} threads: {'within' if within else 'OUTSIDE'} the +-1% target"
            )
            # The fastest run is what the machine gives when no other process takes a core away:
            # its ratio shows the harness's own cost with the contention of a shared machine mostly removed.
            print(
                f"{runtime}: ratio of the minimum latencies {common.median(min_ratios):.4f} "
                f"(per-round {common.spread(min_ratios)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
