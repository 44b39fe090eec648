"""Each runtime through each of its APIs, on the same artifacts: ExecuTorch's native runner against its
Python runtime, LiteRT's CompiledModel API against its Interpreter, and edge-bench's LiteRT figures
against LiteRT's own benchmark tool.

    python benchmarks/runtime_apis.py [--rounds 5] [--threads 2] [--secs 2] [--quick]

Each edge-bench measurement is the device agent run through the local transport as `edge-bench run
--target host` runs it, with the spec's `api` set: a fresh process (for `native`, the agent's child),
its median latency, its peak RSS and its baseline RSS (after the runtime's import; for the native
runner, once the runtime is initialised in `main()`). The sides of a pair run interleaved (A B, then
B A, ...), `--rounds` times per artifact, so drift on a shared machine hits both. LiteRT's own tool
(`ai_edge_litert/tools/benchmark_litert_model.py`: CompiledModel API, CPU, the same threads; as many
runs as edge-bench's CompiledModel measurement of that round took, and as many warm-up runs) runs in
the same rounds, right after the LiteRT pair.

Artifacts: the smoke recipe's MobileNetV2 x0.35 at 96 px and ResNet-50 at 224 px (recipe resnet50-rs),
built through edge-bench's Builder (reused from the artifact cache); --quick uses the tests' tiny CNN.
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

PAIRS = {"executorch": ("native", "python"), "litert": ("compiled_model", "interpreter")}
TOOL = "ai_edge_litert.tools.benchmark_litert_model"


def build_artifacts(quick: bool) -> dict[str, dict[str, Path]]:
    """{variant name: {runtime: artifact path}}."""
    from edge_bench.build import Builder
    from edge_bench.config import load_recipe
    from edge_bench.recipes import Only, expand

    if quick:
        exec(common.QUICK_REGISTER)
        folder = Path(tempfile.mkdtemp(prefix="runtime-apis-"))
        (folder / "tiny.toml").write_text(common.recipe_text("tinycnn", [{"resolution": 16}], "num_classes = 10", 2))
        points = [(load_recipe(str(folder / "tiny.toml")), [])]
    else:
        points = [
            (load_recipe("smoke"), [Only.parse("resolution=96")]),
            (load_recipe("resnet50-rs"), [Only.parse("resolution=224")]),
        ]
    found = {}
    for recipe, only in points:
        variant = expand(recipe, only)[0]
        builder, memo, paths = Builder(recipe), {}, {}
        for runtime in PAIRS:
            outcome = builder.artifact(variant, runtime, memo)
            if outcome.artifact is None:
                raise SystemExit(f"cannot build {variant.name} for {runtime}: {outcome.error}")
            paths[runtime] = outcome.artifact.path
        found[variant.name] = paths
    return found


def agent_run(session, agent: str, device_path: str, runtime: str, api: str, threads: int, secs: float) -> dict:
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
    spec = {**measurement_spec(target, device_path, runtime), "api": api}
    result = run_agent(session, device_python(target), agent, spec, timeout=600)
    if result.get("status") != "ok":
        raise SystemExit(f"agent failed on {runtime} through {api}: {result.get('error')}")
    measured = result["env"]["runtime"]["api"]
    if measured != api:
        raise SystemExit(
            f"{runtime} was measured through {measured}, not {api}: {result['env']['runtime'].get('fallback_reason')}"
        )
    return {
        "median": result["latency_ms"]["median"],
        "min": result["latency_ms"]["min"],
        "n": result["latency_ms"]["n"],
        "warmup": result["warmup_runs"],
        "peak": result["memory"]["peak_rss_bytes"],
        "baseline": result["memory"]["baseline_rss_bytes"],
    }


def tool_run(path: str, threads: int, runs: int, warmup: int, folder: Path) -> dict:
    out = folder / "tool.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            TOOL,
            f"--model={path}",
            f"--num_threads={threads}",
            f"--num_runs={runs}",
            f"--warmup_runs={warmup}",
            f"--result_json={out}",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"LiteRT's benchmark tool failed: {done.stderr[-2000:]}")
    latency = json.loads(out.read_text())["latency"]
    return {"median": latency["median_ms"], "min": latency["min_ms"], "n": latency["num_runs"]}


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def report(name: str, runtime: str, rounds: list[dict]) -> None:
    a_api, b_api = PAIRS[runtime]
    ratios = [r[a_api]["median"] / r[b_api]["median"] for r in rounds]
    line = (
        f"{name} {runtime}: {a_api} / {b_api} median latency ratio {common.median(ratios):.3f} "
        f"(per-round {common.spread(ratios)}); medians {common.median([r[a_api]['median'] for r in rounds]):.3f} vs "
        f"{common.median([r[b_api]['median'] for r in rounds]):.3f} ms"
    )
    for key, what in (("peak", "peak RSS"), ("baseline", "baseline RSS")):
        line += (
            f"; {what} {mib(common.median([r[a_api][key] for r in rounds]))} vs "
            f"{mib(common.median([r[b_api][key] for r in rounds]))}"
        )
    print(line)
    # The fastest run is what the machine gives when no other process takes a core away.
    fastest = [r[a_api]["min"] / r[b_api]["min"] for r in rounds]
    print(
        f"{name} {runtime}: ratio of the minimum latencies {common.median(fastest):.3f} (per-round {common.spread(fastest)})"
    )
    if runtime == "litert":
        for api in (a_api, b_api):
            tool = [r[api]["median"] / r["tool"]["median"] for r in rounds]
            tool_min = [r[api]["min"] / r["tool"]["min"] for r in rounds]
            print(
                f"{name} litert: edge-bench ({api}) / LiteRT's benchmark tool median ratio {common.median(tool):.3f} "
                f"(per-round {common.spread(tool)}), of the minimums {common.median(tool_min):.3f}; "
                f"tool median {common.median([r['tool']['median'] for r in rounds]):.3f} ms"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds per artifact (at least 5 for a figure)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--secs", type=float, default=2.0, help="timed seconds per measurement (at least 20 runs)")
    parser.add_argument("--quick", action="store_true", help="the tests' tiny CNN, 2 rounds, short loops")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.secs = min(args.rounds, 2), 0.2

    from edge_bench.transport.bundle import build_agent_zipapp
    from edge_bench.transport.local import LocalTransport

    print(f"# {common.machine()}")
    artifacts = build_artifacts(args.quick)
    with tempfile.TemporaryDirectory() as tmp, LocalTransport() as session:
        agent = session.push(build_agent_zipapp(Path(tmp) / "agent"), "agent.pyz")
        for name, paths in artifacts.items():
            device = {r: session.push(p, f"{name}{p.suffix}") for r, p in paths.items()}
            print(f"{name}: " + ", ".join(f"{r} {p}" for r, p in paths.items()))
            for runtime in ("executorch", "litert"):
                rounds = []
                for round_ in range(args.rounds):
                    order = PAIRS[runtime] if round_ % 2 == 0 else PAIRS[runtime][::-1]
                    got = {
                        api: agent_run(session, agent, device[runtime], runtime, api, args.threads, args.secs)
                        for api in order
                    }
                    shown = "; ".join(
                        f"{api} {got[api]['median']:.3f} ms (n={got[api]['n']}, peak {mib(got[api]['peak'])})"
                        for api in order
                    )
                    if runtime == "litert":
                        compiled = got["compiled_model"]
                        got["tool"] = tool_run(
                            device[runtime], args.threads, compiled["n"], compiled["warmup"], Path(tmp)
                        )
                        shown += f"; LiteRT's tool {got['tool']['median']:.3f} ms (n={got['tool']['n']})"
                    print(f"  {runtime} round {round_ + 1} (load {common.load()}): {shown}")
                    rounds.append(got)
                report(name, runtime, rounds)
    print(f"# done, load average {common.load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
