"""The device agent: one measurement of one artifact in this fresh process, printed as one JSON line.

    python -m edge_bench.device.agent measure --spec '{"artifact": "m.pte", "runtime": "executorch", ...}'
    python -m edge_bench.device.agent sysinfo

The result line starts with RESULT_MARKER so runtime log lines on stdout cannot be mistaken for it.
Phases follow the measurement protocol (docs/architecture.md): baseline (after imports), load, prepare,
first inference, warm-up + timed runs, then a separate energy pass. A failure is reported in the JSON (status "failed"), exit code 0;
a non-zero exit means the agent itself crashed.

`api` picks how the runtime is reached (device/runtimes.APIS). With ExecuTorch's "native" the agent
builds the native runner (device/native) and that process measures; the agent keeps the cool-down,
thermal readings, system information and the meter. Without a compiler or the wheel's files it falls
back to the Python runtime, and the record says why (env.runtime.fallback_reason).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

from . import affinity, load, sysinfo, thermal
from .memory import PhaseMemory
from .timing import busy_wait, run_for, summarize

RESULT_MARKER = "EDGE_BENCH_RESULT "
AGENT_PROTOCOL = 1

DEFAULTS = {
    "threads": 1,
    "warmup_runs": 3,
    "warmup_secs": 0.5,
    "min_runs": 20,
    "min_secs": 1.0,
    "max_secs": 60.0,
    "round_precision": 0.0,
    "seed": 0,
    "cooldown_below_c": None,
    "cooldown_max_secs": 120.0,
    "energy": None,
    "keep_samples": True,
    "inputs": None,
    "outputs": None,
    "api": None,
    "profile_ops": None,  # {"runs": N}: a per-operator profiling pass after the round (device/profile.py)
    "busy_wait_ms": 0.0,  # a slowdown added to every inference: only the regression gate's benchmark sets it
    "cores": None,  # the cores to pin the measured process to ([measure] cores); None: unpinned
}


def _ms(t0: int, t1: int) -> float:
    return (t1 - t0) / 1e6


def measure(spec: dict) -> dict:
    spec = {**DEFAULTS, **spec}
    result: dict = {"protocol": AGENT_PROTOCOL, "runtime": spec["runtime"], "status": "failed", "error": None}
    memory = PhaseMemory()
    result["env"] = sysinfo.collect()
    try:
        placement = affinity.plan(spec["cores"], int(spec["threads"]))
    except affinity.PlacementError as e:
        result["error"] = str(e)
        return result
    native, fallback = _native_runner(spec)  # before the cool-down: a first build heats the board
    if spec["cooldown_below_c"] is not None:
        result["cooldown"] = thermal.cooldown(spec["cooldown_below_c"], spec["cooldown_max_secs"])
    result["governor"] = thermal.governor_state(placement.measured or affinity.usable_cores() or ())
    result["thermal_before"] = thermal.snapshot()
    result["load_before"] = load.loadavg()
    if native is not None:
        from .native.measure import measure_native

        measure_native(native, spec, result, _energy, placement)
        result["thermal_after"] = thermal.snapshot()
        result["load_after"] = load.loadavg()
        _profile_ops(result, spec, native)
        return result
    try:
        import numpy as np

        from .runtimes import adapter

        affinity.pin_in_process(placement)  # before the runtime starts its threads: they inherit the cores
        memory.start_phase()
        t0 = time.perf_counter_ns()
        runtime = adapter(spec["runtime"], "python" if fallback else spec["api"])(int(spec["threads"]))
        result["import_ms"] = _ms(t0, time.perf_counter_ns())
        memory.end_phase("baseline")
        result["env"]["runtime"] = {**runtime.versions(), **fallback}
        result["env"]["threads"] = int(spec["threads"])

        # Others' CPU use from here to the end of the timed runs: long enough a span to read /proc/stat's ticks.
        watch = load.CpuWatch()
        memory.start_phase()
        t0 = time.perf_counter_ns()
        runtime.load(spec["artifact"])
        result["load_ms"] = _ms(t0, time.perf_counter_ns())
        memory.end_phase("load")

        memory.start_phase()
        t0 = time.perf_counter_ns()
        runtime.prepare(np.random.default_rng(spec["seed"]))
        result["prepare_ms"] = _ms(t0, time.perf_counter_ns())
        memory.end_phase("prepare")

        memory.start_phase()
        t0 = time.perf_counter_ns()
        runtime.run()
        result["first_inference_ms"] = _ms(t0, time.perf_counter_ns())
        memory.end_phase("first_inference")

        infer = runtime.run
        if spec["busy_wait_ms"]:

            def infer():
                runtime.run()
                busy_wait(spec["busy_wait_ms"])

        memory.start_phase()
        warmup = run_for(infer, spec["warmup_runs"], spec["warmup_secs"], max(spec["max_secs"], spec["warmup_secs"]))
        samples = run_for(infer, spec["min_runs"], spec["min_secs"], spec["max_secs"], spec["round_precision"])
        result["others_cpu"] = watch.others()
        memory.end_phase("timed")
        result["warmup_runs"] = len(warmup)
        result["latency_ms"] = summarize(samples)
        if spec["keep_samples"]:
            result["latency_ms"]["samples"] = samples

        if spec["inputs"]:
            result["outputs_file"] = _run_on_inputs(runtime, spec["inputs"], spec["outputs"])

        _energy(result, spec, runtime=runtime)
        result["status"] = "ok"
    except Exception as e:  # noqa: BLE001 - every failure becomes data
        result["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}".rstrip(": ")
        result["traceback"] = traceback.format_exc(limit=8)
        if fallback:
            result["error"] += f" (native runner unavailable: {fallback['fallback_reason']})"
            result["env"].setdefault("runtime", fallback)
    result["env"]["cores"] = placement.describe(affinity.read_allowed_list(), "/proc/self/status")
    result["memory"] = memory.summary()
    result["thermal_after"] = thermal.snapshot()
    result["load_after"] = load.loadavg()
    _profile_ops(result, spec, None)
    return result


def _profile_ops(result: dict, spec: dict, native) -> None:
    """With `profile_ops` in the spec, per-operator times from a separate profiling pass (device/profile.py),
    after everything this round measured (its thermal and load readings included); the record keeps its
    summary in env, rounds.jsonl the events."""
    if not spec.get("profile_ops") or result.get("status") != "ok":
        return
    from .profile import profile_pass, summary

    result["operator_profile"] = profile_pass(spec, native)
    result["env"]["operator_profile"] = summary(result["operator_profile"])


def _run_on_inputs(runtime, inputs_path: str, outputs_path: str) -> str:
    """Run each image of an .npy batch (N, C, H, W) and save the outputs (for fidelity and accuracy)."""
    import numpy as np

    images = np.load(inputs_path)
    outs = []
    for image in images:
        runtime.set_inputs([image[None]])
        runtime.run()
        outs.append(runtime.outputs()[0][0])
    np.save(outputs_path, np.stack(outs))
    return outputs_path


def _native_runner(spec: dict):
    """(the built native runner or None, and the fallback to record when it was asked for and cannot be had)."""
    if spec["runtime"] != "executorch" or spec["api"] != "native":
        return None, {}
    from .native.build import NativeUnavailable, ensure_runner

    try:
        return ensure_runner(), {}
    except NativeUnavailable as e:
        return None, {"requested_api": "native", "fallback_reason": str(e), "fallback_fix": e.fix}
    except Exception as e:  # noqa: BLE001 - a build that breaks unexpectedly is a fallback too, not a crash
        return None, {
            "requested_api": "native",
            "fallback_reason": f"building the native runner failed: {type(e).__name__}: {e}",
        }


def _energy(result: dict, spec: dict, runtime=None, loop=None) -> None:
    """The energy pass into `result`: `runtime.run` called in a loop, or `loop(seconds)` looping itself."""
    if spec["energy"] and spec["energy"].get("meter", "none") != "none":
        result["energy"] = _energy_pass(runtime, spec["energy"], loop)
    else:
        result["energy"] = None
        result["energy_missing_reason"] = 'no power meter configured for this target ([energy] meter = "none")'


def _energy_pass(runtime, energy: dict, loop=None) -> dict:
    from .power import MeterUnavailable, energy_pass

    try:
        return energy_pass(
            meter_name=energy["meter"],
            options=energy.get("options", {}),
            period_secs=energy.get("period_secs", 0.1),
            idle_secs=energy.get("idle_secs", 3.0),
            duration_secs=energy.get("duration_secs", 10.0),
            run_once=runtime.run if runtime is not None else None,
            loop=loop,
        )
    except MeterUnavailable as e:
        return {"missing_reason": str(e), "meter": energy["meter"]}


def serve(runtime_name: str, artifact: str, threads: int) -> int:
    """Run an artifact on inputs the host sends: one line per request on stdin, "IN.npy OUT.npy"; each image
    of IN (N, C, H, W, float32) is run alone and the first outputs saved to OUT; "ok" answers each line.
    A crash here (a broken artifact can abort the runtime) ends this process only, never the host's."""
    import numpy as np

    from .runtimes import ADAPTERS

    runtime = ADAPTERS[runtime_name](threads)
    runtime.load(artifact)
    runtime.prepare(np.random.default_rng(0))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        inputs, outputs = line.split()
        _run_on_inputs(runtime, inputs, outputs)
        sys.stdout.write("ok\n")
        sys.stdout.flush()
    return 0


def runtime_versions() -> dict:
    """The version of each runtime package installed here, read without importing it."""
    from .runtimes import ADAPTERS, package_version

    return {name: package_version(adapter.package_names) for name, adapter in ADAPTERS.items()}


def _exit_when_stdin_closes() -> None:
    """End this process when its host goes away: the host holds our stdin open for as long as it waits
    for us, so EOF means it was killed (or lost the connection) and no one will read the result."""
    import os
    import threading

    def watch() -> None:
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked in a buffered reader's lock
        # makes the interpreter abort at exit.
        while os.read(0, 65536):
            pass
        os._exit(75)

    threading.Thread(target=watch, daemon=True, name="host-watch").start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edge-bench-agent")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--spec", required=True, help="the measurement as JSON")
    sub.add_parser("sysinfo")
    s = sub.add_parser("serve", help="run an artifact on inputs sent over stdin (host-side evaluation)")
    s.add_argument("--runtime", required=True)
    s.add_argument("--artifact", required=True)
    s.add_argument("--threads", type=int, default=1)
    d = sub.add_parser("doctor")
    d.add_argument("--spec", default="{}", help='what to check as JSON: {"runtimes": [...], "energy": {...}}')
    parser.add_argument("--exit-with-host", action="store_true", help="exit when stdin closes (the host is gone)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.runtime, args.artifact, args.threads)
    if args.exit_with_host:
        _exit_when_stdin_closes()
    if args.command == "measure":
        out = measure(json.loads(args.spec))
    elif args.command == "doctor":
        from .checks import run_checks

        out = {"protocol": AGENT_PROTOCOL, "checks": [c.as_dict() for c in run_checks(json.loads(args.spec))]}
    else:
        out = {
            "protocol": AGENT_PROTOCOL,
            "env": sysinfo.collect(),
            "thermal": thermal.snapshot(),
            "runtimes": runtime_versions(),
        }
    sys.stdout.write(RESULT_MARKER + json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
