"""What an energy meter's own sampling costs an inference loop: forking a tool per sample against one
read from the process, at the meter's rate, against no meter.

    python benchmarks/meter_cost.py [--rounds 15] [--secs 4] [--threads 2] [--period 0.1] [--quick]

A LiteRT model (MobileNetV2 x1.0 at 224 px, INT8, random weights: recipe mobilenetv2-rs, built
through edge-bench's Builder or taken from its cache; --quick: the tests' tiny CNN) runs `invoke()` in
a loop on --threads threads for --secs seconds, three ways:

  none       no meter;
  fork       a stand-in for the vcgencmd path: every --period seconds the sampler thread starts a small
             program and parses what it prints (`cat /proc/loadavg` through `run_command`, the function
             the vcgencmd path calls), as `vcgencmd pmic_read_adc` is started for every sample;
  inprocess  a stand-in for the mailbox path: every --period seconds one read of a kernel interface from
             this process (os.pread of /proc/loadavg) and the same parsing, as the mailbox sends one
             ioctl a sample.

Both meters run in edge-bench's own energy pass (device/power/energy.py: its sampler thread, its
loop), which also records the sampling's CPU time as `meter_cost.share_of_pass`; the "none" loop is the
same loop without a sampler. Each round runs the three in a rotated order (interleaved, so drift on a
shared machine hits all three). Per round and meter: throughput (inferences per second) and the
inference's CPU time per inference (this process's CPU time, less the sampler thread's), each divided
by that round's "none"; the figures are the medians over rounds. The process's CPU time per second of
wall time is printed too: on a machine shared with other work it shows how much CPU the loop got,
which moves throughput far more than a meter does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

from edge_bench.device.power import Meter, energy_pass, run_command  # noqa: E402

LOADAVG = "/proc/loadavg"


def _parse(text: str) -> float:
    return float(text.split()[0]) + 1.0  # a number from the text, kept positive: the pass needs power > 0


class ForkingStandIn(Meter):
    """Starts a process for every reading, as the vcgencmd path does."""

    name, kind = "fork", "power"

    def read(self) -> float:
        return _parse(run_command(["cat", LOADAVG]))


class InProcessStandIn(Meter):
    """One read from an open file descriptor for every reading, as the mailbox path's one ioctl."""

    name, kind = "inprocess", "power"

    def __init__(self):
        self.fd = os.open(LOADAVG, os.O_RDONLY)

    def read(self) -> float:
        return _parse(os.pread(self.fd, 256, 0).decode())

    def close(self) -> None:
        os.close(self.fd)


def build_model(quick: bool) -> Path:
    from edge_bench.build import Builder
    from edge_bench.config import load_recipe
    from edge_bench.recipes import Only, expand

    if quick:
        exec(common.QUICK_REGISTER)
        folder = Path(tempfile.mkdtemp(prefix="meter-cost-"))
        (folder / "tiny.toml").write_text(common.recipe_text("tinycnn", [{"resolution": 16}], "num_classes = 10", 2))
        recipe = load_recipe(str(folder / "tiny.toml"))
        variant = expand(recipe)[0]
    else:
        recipe = load_recipe("mobilenetv2-rs")
        variant = expand(recipe, [Only.parse("resolution=224")])[0]
    outcome = Builder(recipe).artifact(variant, "litert", {})
    if outcome.artifact is None:
        raise SystemExit(f"cannot build {variant.name} for litert: {outcome.error}")
    return outcome.artifact.path


def interpreter(path: Path, threads: int):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=threads)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = (
        np.random.default_rng(0).integers(-128, 127, size=tuple(d["shape"]))
        if np.issubdtype(d["dtype"], np.integer)
        else np.random.default_rng(0).standard_normal(tuple(d["shape"]))
    )
    it.set_tensor(d["index"], x.astype(d["dtype"]))
    return it


def process_cpu_s() -> float:
    """User + system CPU time of this process's threads (not of its children)."""
    times = os.times()
    return times.user + times.system


def loop_without_meter(work, seconds: float) -> dict:
    """energy.py's loop, with no sampler beside it."""
    count = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        work()
        count += 1
    return {"inferences": count, "duration_s": time.monotonic() - t0, "meter_cost": None}


def with_meter(meter: Meter, work, seconds: float, period: float) -> dict:
    result = energy_pass(
        meter.name,
        {},
        period_secs=period,
        idle_secs=0,
        duration_secs=seconds,
        run_once=work,
        registry={meter.name: lambda options, period_secs, source: meter},
    )
    return {
        "inferences": result["inferences"],
        "duration_s": result["duration_s"],
        "meter_cost": result["meter_cost"],
        "samples": result["samples"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--secs", type=float, default=4.0, help="seconds of inference per way and round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--period", type=float, default=0.1, help="seconds between meter readings (0.1: 10 Hz)")
    parser.add_argument("--quick", action="store_true", help="the tests' tiny CNN, 2 rounds of 1 s")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.secs = 2, 1.0

    print(f"# {common.machine()}")
    path = build_model(args.quick)
    it = interpreter(path, args.threads)
    for _ in range(20):
        it.invoke()
    print(
        f"# model {path} ({path.stat().st_size / 1e6:.1f} MB), {args.threads} threads, "
        f"{args.secs:g} s per way, meter every {args.period:g} s"
    )

    def measure(round_: int, way: str) -> dict:
        """One way's loop: its throughput, its inference's CPU time per inference, the meter's share."""
        cpu0 = process_cpu_s()
        if way == "none":
            run = loop_without_meter(it.invoke, args.secs)
        else:
            meter = ForkingStandIn() if way == "fork" else InProcessStandIn()
            run = with_meter(meter, it.invoke, args.secs, args.period)
        cpu = process_cpu_s() - cpu0
        cost = run["meter_cost"]
        inference_cpu = cpu - (cost["sampler_thread_cpu_s"] if cost else 0.0)
        rate = run["inferences"] / run["duration_s"]
        cpu_per_inference = inference_cpu / run["inferences"]
        print(
            f"round {round_ + 1} {way:9s} {rate:8.2f} inferences/s, {cpu_per_inference * 1e3:6.2f} ms "
            f"CPU each, process got {cpu / run['duration_s']:.2f} CPU-s/s"
            + (
                f"; meter CPU {cost['cpu_s'] * 1e3:6.1f} ms in {cost['wall_s']:.2f} s (thread "
                f"{cost['sampler_thread_cpu_s'] * 1e3:.1f} ms, children {cost['child_processes_cpu_s'] * 1e3:.1f} "
                f"ms), {run['samples']} readings"
                if cost
                else ""
            )
            + f"; load {common.load()}",
            flush=True,
        )
        return {"rate": rate, "cpu_per_inference": cpu_per_inference, "share": cost["share_of_pass"] if cost else None}

    ratios: dict[str, list[float]] = {"fork": [], "inprocess": []}
    cpu_ratios: dict[str, list[float]] = {"fork": [], "inprocess": []}
    shares: dict[str, list[float]] = {"fork": [], "inprocess": []}
    for _, _, got in common.interleaved(["none", "fork", "inprocess"], args.rounds, measure):
        for way in ratios:
            ratios[way].append(got[way]["rate"] / got["none"]["rate"])
            cpu_ratios[way].append(got[way]["cpu_per_inference"] / got["none"]["cpu_per_inference"])
            shares[way].append(got[way]["share"])

    print(
        "\n| meter stand-in | throughput vs no meter | inference CPU per inference vs no meter | "
        "meter's own CPU, share of the pass |"
    )
    print("|---|---|---|---|")
    for way in ratios:
        print(
            f"| {way} | **{statistics.median(ratios[way]):.4f}** ({common.spread(ratios[way])}) | "
            f"**{statistics.median(cpu_ratios[way]):.4f}** ({common.spread(cpu_ratios[way])}) | "
            f"**{statistics.median(shares[way]) * 100:.2f}%** of one core ({common.spread(shares[way])}) |"
        )
    print(f"# load average at the end: {common.load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
