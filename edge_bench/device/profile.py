"""Per-operator times from the runtimes' own profilers, in a pass of its own after the measurement.

The pass runs in a separate process (never the one whose samples make the latency estimate):

- ExecuTorch: the native runner started again with ExecuTorch's ETDump event tracer
  (`--etdump PATH --profile-runs N`); the dump goes back to the host as it is (base64), where
  `measure/operators.py` reads it with ExecuTorch's Inspector. The XNNPACK delegate reports each of its
  operators there.
- LiteRT: a child Python process drives libLiteRt.so's C API through ctypes (the Python bindings
  expose no profiler): a CompiledModel compiled with profiling on (the `runtime_options_string`
  option), one inference per profiler read, and the events kept as (tag, kind, microseconds).

Whatever goes wrong becomes `{"status": "failed", "reason": one line}`; the measurement stays ok.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROFILE_MARKER = "EDGE_BENCH_PROFILE "
DEFAULT_RUNS = 10
WARMUP_RUNS = 3
TIMEOUT_SECS = 600.0
# tflite::Profiler::EventType values that are one operator's run.
OPERATOR_EVENTS = {2: "operator", 4: "delegate operator", 8: "delegate profiled operator"}
DEFAULT_EVENT = 1
EVENT_STRIDE = 104  # sizeof(ProfiledEventData) on LP64: litert/c/litert_profiler_event.h


def failed(reason: str) -> dict[str, Any]:
    return {"status": "failed", "reason": reason}


def profile_pass(spec: dict[str, Any], native=None) -> dict[str, Any]:
    """The operator profile of `spec["artifact"]`, or a failed one saying why."""
    runs = int((spec.get("profile_ops") or {}).get("runs") or DEFAULT_RUNS)
    try:
        if spec["runtime"] == "executorch":
            if native is None:
                return failed(
                    "ExecuTorch's per-operator profile needs the native runner "
                    '([runtimes] executorch = "native" and a compiler on the device)'
                )
            return _executorch(native, spec, runs)
        if spec["runtime"] == "litert":
            return _litert_child(spec, runs)
        return failed(f"no operator profiler for runtime {spec['runtime']!r}")
    except Exception as e:  # noqa: BLE001 - a profile that cannot be had is a reason, never a crash
        return failed(f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}".rstrip(": "))


# ---------------------------------------------------------------- ExecuTorch


def _executorch(native, spec: dict[str, Any], runs: int) -> dict[str, Any]:
    from .native.measure import NativeProcess, RunnerFailed

    if not native.wheel.has_etdump:
        return failed("the executorch wheel on the device ships no ETDump library (lib/libexecutorch_etdump.so)")
    folder = Path(tempfile.mkdtemp(prefix="edge-bench-profile-"))
    dump = folder / "profile.etdp"
    wanted = {**spec, "etdump": str(dump), "profile_runs": runs, "warmup_runs": WARMUP_RUNS, "warmup_secs": 0.0}
    process = NativeProcess(native, wanted, folder)
    try:
        message = process.measure(int(spec.get("seed", 0)))
    except RunnerFailed as e:
        return failed(str(e))
    finally:
        process.close()
    if message.get("event") != "profile":
        return failed("the native runner did not profile (a runner built without ETDump?)")
    if not dump.is_file() or dump.stat().st_size == 0:
        return failed(f"the native runner wrote no ETDump at {dump}")
    data = dump.read_bytes()
    return {
        "status": "ok",
        "source": "etdump",
        "runs": int(message.get("profile_runs") or 0),
        "runs_before": int(message.get("runs_before") or 0),  # first inference and warm-up, also in the dump
        "wall_ms": (message.get("latency_ms") or {}).get("samples"),
        "etdump_b64": base64.b64encode(data).decode(),
    }


# ---------------------------------------------------------------- LiteRT


def _litert_child(spec: dict[str, Any], runs: int) -> dict[str, Any]:
    """The LiteRT pass in a fresh Python process: a crash there costs the profile, not the measurement."""
    root = str(Path(__file__).parents[2])  # the folder (or the agent's zipapp) holding edge_bench
    code = f"import sys; sys.path.insert(0, {root!r}); from edge_bench.device.profile import main; main()"
    args = json.dumps({"artifact": spec["artifact"], "threads": int(spec["threads"]), "runs": runs})
    try:
        done = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, timeout=TIMEOUT_SECS)
    except subprocess.TimeoutExpired:
        return failed(f"the LiteRT profiling pass took longer than {TIMEOUT_SECS:.0f} s")
    lines = [line for line in done.stdout.splitlines() if line.startswith(PROFILE_MARKER)]
    if not lines:
        tail = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        return failed(f"the LiteRT profiling process ended without a result (exit {done.returncode})"
                      + (f": {tail[-1][:300]}" if tail else ""))  # fmt: skip
    return json.loads(lines[-1][len(PROFILE_MARKER) :])


class LiteRtError(Exception):
    pass


def _litert_library():
    import ctypes
    import importlib.util

    spec = importlib.util.find_spec("ai_edge_litert")
    if spec is None or not spec.submodule_search_locations:
        raise LiteRtError("ai-edge-litert is not installed on the device")
    path = Path(list(spec.submodule_search_locations)[0]) / "libLiteRt.so"
    if not path.is_file():
        raise LiteRtError(f"{path} is missing: this ai-edge-litert has no LiteRT C library")
    return ctypes.CDLL(str(path))


def litert_profile(artifact: str, threads: int, runs: int) -> dict[str, Any]:
    """Run `artifact` through LiteRT's CompiledModel C API with its profiler on; per run, the events."""
    import ctypes as C

    import numpy as np

    lib = _litert_library()
    libc = C.CDLL(None)
    libc.strdup.restype, libc.strdup.argtypes = C.c_void_p, [C.c_char_p]
    P = C.c_void_p

    def call(name: str, *args) -> None:
        function = getattr(lib, name)
        function.restype = C.c_int
        status = function(*args)
        if status != 0:
            raise LiteRtError(f"{name} returned LiteRtStatus {status}")

    env, model, options, compiled = P(), P(), P(), P()
    call("LiteRtCreateEnvironment", C.c_int(0), None, C.byref(env))
    call("LiteRtCreateModelFromFile", env, str(artifact).encode(), C.byref(model))
    call("LiteRtCreateOptions", C.byref(options))
    call("LiteRtSetOptionsHardwareAccelerators", options, C.c_int(1))  # kLiteRtHwAcceleratorCpu
    # Options are TOML payloads under an identifier, owned (and freed with libc's free) by LiteRT.
    for identifier, toml in (
        ("runtime_options_string", "enable_profiling = true\n"),
        ("xnnpack", f"num_threads = {threads}\n"),
    ):
        opaque = P()
        call(
            "LiteRtCreateOpaqueOptions",
            identifier.encode(),
            P(libc.strdup(toml.encode())),
            C.cast(libc.free, P),
            C.byref(opaque),
        )
        call("LiteRtAddOpaqueOptions", options, opaque)
    call("LiteRtCreateCompiledModel", env, model, options, C.byref(compiled))
    profiler = P()
    call("LiteRtCompiledModelGetProfiler", compiled, C.byref(profiler))
    if not profiler.value:
        raise LiteRtError("LiteRT compiled the model without a profiler (profiling option not taken)")
    signature, counts = P(), {"Input": C.c_size_t(), "Output": C.c_size_t()}
    call("LiteRtGetModelSignature", model, C.c_size_t(0), C.byref(signature))
    rng = np.random.default_rng(0)
    buffers: dict[str, list] = {}
    for side, count in counts.items():
        call(f"LiteRtGetNumSignature{side}s", signature, C.byref(count))
        buffers[side] = []
        for i in range(count.value):
            tensor, requirements, buffer = P(), P(), P()
            call(f"LiteRtGetSignature{side}TensorByIndex", signature, C.c_size_t(i), C.byref(tensor))
            ranked = (C.c_uint8 * 512)()  # LiteRtRankedTensorType, passed back untouched
            call("LiteRtGetRankedTensorType", tensor, ranked)
            call(
                f"LiteRtGetCompiledModel{side}BufferRequirements",
                compiled,
                C.c_size_t(0),
                C.c_size_t(i),
                C.byref(requirements),
            )
            call("LiteRtCreateManagedTensorBufferFromRequirements", env, ranked, requirements, C.byref(buffer))
            buffers[side].append(buffer)
            if side == "Input":
                _fill(call, buffer, C.c_int32.from_buffer(ranked).value, rng)
    inputs = (P * len(buffers["Input"]))(*buffers["Input"])
    outputs = (P * len(buffers["Output"]))(*buffers["Output"])

    def run() -> None:
        call(
            "LiteRtRunCompiledModel",
            compiled,
            C.c_size_t(0),
            C.c_size_t(len(inputs)),
            inputs,
            C.c_size_t(len(outputs)),
            outputs,
        )

    for _ in range(1 + WARMUP_RUNS):
        run()
    per_run, wall = [], []
    for _ in range(runs):
        call("LiteRtResetProfiler", profiler)
        call("LiteRtStartProfiler", profiler)
        t0 = time.perf_counter_ns()
        run()
        wall.append((time.perf_counter_ns() - t0) / 1e6)
        call("LiteRtStopProfiler", profiler)
        per_run.append(_events(call, profiler))
    return {"status": "ok", "source": "litert-profiler", "runs": runs, "runs_before": 1 + WARMUP_RUNS,
            "wall_ms": wall, "events": per_run}  # fmt: skip


def _fill(call, buffer, element_type: int, rng) -> None:
    """Standard-normal float32 inputs, as the adapters draw them; an integer input gets small random
    integers (its quantization is not read here; INT8 kernels' times hardly depend on the values)."""
    import ctypes as C

    import numpy as np

    size, address = C.c_size_t(), C.c_void_p()
    call("LiteRtGetTensorBufferPackedSize", buffer, C.byref(size))
    call("LiteRtLockTensorBuffer", buffer, C.byref(address), C.c_int(1))  # kLiteRtTensorBufferLockModeWrite
    try:
        if element_type == 1:  # kLiteRtElementTypeFloat32
            values = rng.standard_normal(size.value // 4).astype(np.float32)
        else:
            values = rng.integers(-8, 8, size.value, dtype=np.int8)
        C.memmove(address, values.tobytes(), min(size.value, values.nbytes))
    finally:
        call("LiteRtUnlockTensorBuffer", buffer)


def _events(call, profiler) -> list[list[Any]]:
    """This run's events as [tag, event type, microseconds], read with the struct's layout checked."""
    import ctypes as C

    count = C.c_int()
    call("LiteRtGetNumProfilerEvents", profiler, C.byref(count))
    n = count.value
    if n <= 0:
        return []
    raw = (C.c_uint8 * (n * EVENT_STRIDE * 2))()  # room to spare should the struct be larger than expected
    call("LiteRtGetProfilerEvents", profiler, C.c_int(n), raw)
    base, events = C.addressof(raw), []
    for i in range(n):
        at = base + i * EVENT_STRIDE
        kind, source = C.c_int.from_address(at + 8).value, C.c_int.from_address(at + 96).value
        if kind <= 0 or kind & (kind - 1) or kind > 1 << 10 or source not in (0, 1, 2):
            raise LiteRtError(f"LiteRT's profiler events do not have the layout this reader knows (event {i})")
        pointer = C.c_void_p.from_address(at).value
        tag = C.string_at(pointer) if pointer else b""
        events.append([tag.decode(errors="replace"), kind, C.c_uint64.from_address(at + 24).value])
    return events


def main() -> None:
    """The LiteRT pass's child process: one marked JSON line."""
    args = json.loads(sys.argv[1])
    try:
        out = litert_profile(args["artifact"], int(args["threads"]), int(args["runs"]))
    except LiteRtError as e:
        out = failed(str(e))
    except Exception as e:  # noqa: BLE001
        out = failed(f"{type(e).__name__}: {e}")
    sys.stdout.write(PROFILE_MARKER + json.dumps(out) + "\n")
    sys.stdout.flush()


def summary(profile: dict[str, Any]) -> dict[str, Any]:
    """What the record keeps of a profile (the events stay in rounds.jsonl): status, reason, source, runs."""
    return {k: profile[k] for k in ("status", "reason", "source", "runs") if k in profile}
