"""Measuring on Android over adb with the native benchmark tools, where the device has no Python.

The target file points at host copies of LiteRT's `benchmark_model` and ExecuTorch's
`executor_runner` built for android-arm64. Per measurement: push the tool into the work dir, make it
executable, pin it with `taskset` to the target's `[measure] cores` or else to the big cores (read from the
cpufreq policies), wait for the phone to cool below `cooldown_below_c` and read the governors of those
cores (android/thermal.py), run it, and parse its output (benchmark_model.py, executor_runner.py) into the same dict
the agent returns. Where a Python with numpy
and the runtime exists on the device (Termux, a rooted image), the agent itself can run instead:
`has_python` says whether it can.

A tool that fails on the phone, or runs past its time, is a failed result of that measurement. A
lost connection is not: it is raised as the transport's TransportError, so the runner stops that
target's sweep with the reason instead of failing every remaining job one timeout at a time.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Mapping

from ..config import Target
from . import cores
from .benchmark_model import benchmark_model_argv, parse_benchmark_model
from .executor_runner import executor_runner_argv, parse_executor_runner
from .thermal import cooldown, governor_state, thermal_snapshot
from ..device import cpu_parts
from ..device.agent import AGENT_PROTOCOL, DEFAULTS
from ..transport.base import Transport, TransportError, TransportTimeout
from ..transport.shell import last_line

TOOLS = {"litert": "benchmark_model", "executorch": "executor_runner"}
BUILD_HINT = {
    "litert": "build LiteRT's //tflite/tools/benchmark:benchmark_model with --config=android_arm64",
    "executorch": "build ExecuTorch's executor_runner with the android-arm64-v8a preset (XNNPACK on)",
}
ENERGY_MISSING = (
    "the native benchmark tools time inference only: no energy pass runs on a device without "
    "Python (run the agent there for energy)"
)


class NativeFailure(Exception):
    """A measurement that cannot start: the reason is its `error`."""


def has_python(transport: Transport, python: str, timeout: float = 30) -> bool:
    """Whether `python` on the device is one the agent can use (3.10 or newer)."""
    try:
        done = transport.exec([python, "-c", "import sys; print(sys.version_info >= (3, 10))"], timeout)
    except TransportError:
        return False
    return done.returncode == 0 and done.stdout.strip() == "True"


def _tool_binary(target: Target, runtime: str) -> Path:
    if runtime not in TOOLS:
        raise NativeFailure(f"runtime '{runtime}' has no native tool (known: {', '.join(TOOLS)})")
    key = TOOLS[runtime]
    configured = getattr(target.adb, key, "") if target.adb else ""
    if not configured:
        raise NativeFailure(f"{target.path}: [adb] {key} is not set: {BUILD_HINT[runtime]} and give its host path")
    path = Path(configured).expanduser()
    if not path.is_file():
        raise NativeFailure(f"{target.path}: [adb] {key} = '{configured}' does not exist on this host")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shell(transport: Transport, script: str, timeout: float = 30) -> str:
    """Stdout of a fixed script of ours, run by the device's sh (failures read as empty output)."""
    done = transport.exec(["sh", "-c", script], timeout)
    return done.stdout


def big_core_pinning(transport: Transport, threads: int) -> dict[str, Any]:
    """The taskset mask of the fastest cluster(s) covering `threads` cores, from the cpufreq policies."""
    policies = cores.parse_policies_dump(_shell(transport, cores.policies_shell_command() + " 2>/dev/null"))
    big = cores.big_cores(policies, min_cores=threads)
    if big is None:
        return {"applied": False, "reason": f"no readable cpufreq policies under {cores.CPUFREQ}"}
    pinning = {"applied": True, "mask": big.mask, "cores": list(big.cores), "clusters": big.as_dict()["clusters"]}
    if threads > len(big.cores):
        pinning["warning"] = f"{threads} threads on {len(big.cores)} pinned cores"
    return pinning


def _pinning(transport: Transport, target: Target, threads: int) -> dict[str, Any]:
    """The target's [measure] cores when it names them, else the big cores unless [adb] pin_big_cores = false."""
    if target.measure.cores:
        chosen = list(target.measure.cores)
        return {"applied": True, "mask": cores.cpu_mask(chosen), "cores": chosen, "source": "measure.cores"}
    if target.adb is not None and not target.adb.pin_big_cores:
        return {"applied": False, "reason": "pin_big_cores = false"}
    return big_core_pinning(transport, threads)


_ENV_SCRIPT = "; ".join(
    f'echo "{key}=$({command} 2>/dev/null)"'
    for key, command in (
        ("model", "getprop ro.product.model"),
        ("manufacturer", "getprop ro.product.manufacturer"),
        ("android", "getprop ro.build.version.release"),
        ("soc", "getprop ro.soc.model"),
        ("platform", "getprop ro.board.platform"),
        ("kernel", "uname -r"),
        ("machine", "uname -m"),
        ("cores", "nproc"),
    )
)


def device_env(transport: Transport) -> dict[str, Any]:
    """What the device says about itself (getprop, uname): None where it says nothing."""
    values = {}
    for line in _shell(transport, _ENV_SCRIPT).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip() or None
    cores = values.get("cores")
    parts = cpu_parts.cpu_parts(_shell(transport, "cat /proc/cpuinfo 2>/dev/null"))
    return {
        "cpu_model": values.get("soc") or values.get("platform") or cpu_parts.describe(parts),
        "cpu_parts": parts or None,
        "device": " ".join(v for v in (values.get("manufacturer"), values.get("model")) if v) or None,
        "machine": values.get("machine"),
        "cores_online": int(cores) if cores and cores.isdigit() else None,
        "os": f"Android {values['android']}" if values.get("android") else None,
        "kernel": values.get("kernel"),
    }


def _device_clock(transport: Transport) -> str | None:
    """The device's time in logcat's -T format, to read only the log lines of the coming run."""
    try:
        done = transport.exec(["date", "+%m-%d %H:%M:%S.000"], 30)
    except TransportError:
        return None
    text = done.stdout.strip()
    return text if done.returncode == 0 and re.fullmatch(r"\d\d-\d\d \d\d:\d\d:\d\d\.000", text) else None


def measure_native(
    transport: Transport, target: Target, artifact_path_on_device: str, runtime: str, spec: Mapping[str, Any]
) -> dict[str, Any]:
    """One measurement with the native tool of `runtime`, shaped like the agent's result. A device-side
    failure or a timeout is a result (status "failed", a one-line error); a lost connection (or a file
    that cannot be moved) raises TransportError."""
    spec = {**DEFAULTS, "threads": target.threads, **spec}
    threads = int(spec["threads"])
    timeout = float(spec.get("timeout_secs", target.measure.timeout_secs))
    result: dict[str, Any] = {
        "protocol": AGENT_PROTOCOL,
        "runtime": runtime,
        "status": "failed",
        "error": None,
        "tool": TOOLS.get(runtime),
        "latency_ms": None,
        "first_inference_ms": None,
        "load_ms": None,
        "memory": None,
        "env": {},
        "energy": None,
        "energy_missing_reason": ENERGY_MISSING,
    }
    try:
        binary = _tool_binary(target, runtime)
        result["env"] = device_env(transport)
        result["env"]["runtime"] = {"package": TOOLS[runtime], "binary": str(binary), "sha256": _sha256(binary)}
        result["env"]["threads"] = threads

        on_device = transport.push(binary, TOOLS[runtime])
        chmod = transport.exec(["chmod", "755", on_device], 30)
        if chmod.returncode != 0:
            raise NativeFailure(f"chmod of {on_device} failed: {last_line(chmod.stderr)}")

        if runtime == "litert":
            argv = benchmark_model_argv(
                on_device,
                artifact_path_on_device,
                threads,
                spec["warmup_runs"],
                spec["warmup_secs"],
                spec["min_runs"],
                spec["min_secs"],
                spec["max_secs"],
            )
        else:
            argv = executor_runner_argv(
                on_device, artifact_path_on_device, threads, spec["warmup_runs"], spec["min_runs"]
            )
        pinning = _pinning(transport, target, threads)
        result["env"]["pinning"] = pinning
        if pinning["applied"]:
            argv = ["taskset", pinning["mask"], *argv]
        result["command"] = argv

        if spec.get("cooldown_below_c") is not None:
            result["cooldown"] = cooldown(transport, spec["cooldown_below_c"], spec["cooldown_max_secs"])
        result["governor"] = governor_state(transport, pinning.get("cores"))
        result["thermal_before"] = thermal_snapshot(transport)
        since = _device_clock(transport) if runtime == "executorch" else None
        done = transport.exec(argv, timeout)
        text = f"{done.stdout}\n{done.stderr}"
        if runtime == "executorch" and "Model executed successfully" not in text and since:
            # Built with the android PAL, the runner logs to logcat instead of stderr.
            log = transport.exec(["logcat", "-d", "-v", "raw", "-T", since, "-s", "ExecuTorch:V"], 60)
            text += "\n" + log.stdout
        parsed = (
            parse_benchmark_model(text)
            if runtime == "litert"
            else parse_executor_runner(text, int(spec["warmup_runs"]))
        )
        result["thermal_after"] = thermal_snapshot(transport)

        tool_env = parsed.pop("env", {}) or {}
        result.update(parsed)
        result["env"]["tool"] = tool_env
        if parsed["status"] != "ok" and done.returncode != 0:
            detail = parsed.get("error") or last_line(done.stderr) or last_line(done.stdout)
            result["error"] = f"{TOOLS[runtime]} exited {done.returncode}: {detail}"
    except TransportTimeout as e:
        result["error"] = f"timeout: {e}"
    except NativeFailure as e:
        result["error"] = str(e)
    if result["status"] != "ok":
        result["status"] = "failed"
        result["error"] = result["error"] or "the native tool printed no result"
    return result
