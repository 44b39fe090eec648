"""A measurement through the native runner: the binary runs the protocol in a child process.

The agent starts the runner, hands it the inputs (drawn here with numpy, seeded, exactly as the
Python runtime's adapter draws them), reads back its JSON (so the peak RSS recorded is the runner's
own, not the agent's) and, for the energy pass, has it loop for the pass's duration while the meter
samples in this process. The line protocol is described at the top of `et_runner.cpp`.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import affinity
from ..load import CpuWatch
from ..runtimes import random_input
from .build import Runner

MARKER = "EDGE_BENCH_NATIVE "
RUNNER_PROTOCOL = 1
# The runner's result keys that the agent's result holds as they are.
MEASURED = ("import_ms", "load_ms", "prepare_ms", "first_inference_ms", "warmup_runs", "latency_ms", "memory")
NO_MEMORY: dict[str, Any] = {"peak_rss_bytes": None, "baseline_rss_bytes": None, "model_rss_bytes": None, "phases": {}}


class RunnerFailed(Exception):
    """The runner reported an error or died: one line, and the memory it had measured until then."""

    def __init__(self, message: str, memory: dict | None = None):
        super().__init__(message)
        self.memory = memory


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def command_line(runner: Runner, spec: dict[str, Any]) -> list[str]:
    return [
        str(runner.path),
        "--model",
        str(spec["artifact"]),
        "--threads",
        str(int(spec["threads"])),
        "--warmup-runs",
        str(int(spec["warmup_runs"])),
        "--warmup-secs",
        repr(float(spec["warmup_secs"])),
        "--min-runs",
        str(int(spec["min_runs"])),
        "--min-secs",
        repr(float(spec["min_secs"])),
        "--max-secs",
        repr(float(spec["max_secs"])),
        "--precision",
        repr(float(spec.get("round_precision") or 0.0)),
        "--busy-wait-ms",
        repr(float(spec.get("busy_wait_ms") or 0.0)),
        "--keep-samples",
        "1" if spec["keep_samples"] else "0",
        # A profiling pass (device/profile.py): the ETDump tracer on, nothing measured.
        *(
            ["--etdump", str(spec["etdump"]), "--profile-runs", str(int(spec["profile_runs"]))]
            if spec.get("etdump")
            else []
        ),
    ]


class NativeProcess:
    """The runner as a child process, and the agent's side of its line protocol."""

    def __init__(
        self, runner: Runner, spec: dict[str, Any], folder: Path, placement: affinity.Placement = affinity.UNPINNED
    ):
        self.folder = folder
        self._stderr = tempfile.TemporaryFile(dir=folder)
        with affinity.starting_measured(placement):  # the runner on the measured cores, the agent off them
            self.proc = subprocess.Popen(
                command_line(runner, spec),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                bufsize=1,
            )

    def allowed_cores(self) -> str | None:
        """The runner's Cpus_allowed_list, read from the kernel while it runs."""
        return affinity.read_allowed_list(self.proc.pid) if self.proc.poll() is None else None

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr.read().decode(errors="replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""

    def _next(self) -> dict[str, Any]:
        """The runner's next message; RunnerFailed when it reports an error or ends without one."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.startswith(MARKER):
                continue
            message = json.loads(line[len(MARKER) :])
            if message.get("event") == "error":
                raise RunnerFailed(
                    f"native runner, {message.get('phase')}: {message.get('error')}", message.get("memory")
                )
            return message
        code = self.proc.wait()
        tail = self._stderr_tail()
        raise RunnerFailed(
            f"native runner ended without a result ({_exit_reason(code)})" + (f": {tail}" if tail else "")
        )

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it has ended: the next read says how

    def measure(self, seed: int) -> dict[str, Any]:
        """Load, prepare (with inputs from this process), first inference, warm-up and timed runs."""
        wanted = self._next()
        if wanted.get("event") != "inputs":
            raise RunnerFailed(f"native runner: expected its inputs request, got {wanted.get('event')!r}")
        rng = np.random.default_rng(seed)
        path = self.folder / "inputs.f32"
        with path.open("wb") as f:
            for spec in wanted["inputs"]:
                f.write(random_input(spec["sizes"], np.float32, None, rng).tobytes())
        self._send(str(path))
        result = self._next()
        if result.get("protocol") != RUNNER_PROTOCOL:
            raise RunnerFailed(
                f"native runner protocol {result.get('protocol')}, {RUNNER_PROTOCOL} expected: "
                "the cached binary is stale; delete ~/.cache/edge-bench/native on the device"
            )
        return result

    def loop(self, seconds: float) -> tuple[int, float]:
        """Inferences back to back for `seconds` in the runner: (count, the loop's own duration in s)."""
        self._send(f"loop {seconds!r}")
        done = self._next()
        return int(done["count"]), float(done["loop_s"])

    def infer(self, inputs_npy: str, outputs_npy: str) -> str:
        """Each image of an .npy batch (N, C, H, W) through the model; the first outputs saved as .npy."""
        images = np.ascontiguousarray(np.load(inputs_npy), dtype=np.float32)
        raw_in, raw_out = self.folder / "images.f32", self.folder / "outputs.f32"
        images.tofile(raw_in)
        self._send(f"infer {len(images)}\n{raw_in}\n{raw_out}")
        done = self._next()
        outputs = np.fromfile(raw_out, dtype=np.float32).reshape(len(images), *done["output_sizes"])
        np.save(outputs_npy, outputs[:, 0])  # batch element 0 of each, as the Python adapter keeps
        return outputs_npy

    def close(self) -> None:
        self._send("quit")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:  # a pipe to a runner that has ended
                pass


def measure_native(
    runner: Runner,
    spec: dict[str, Any],
    result: dict[str, Any],
    energy: Callable[..., None],
    placement: affinity.Placement = affinity.UNPINNED,
) -> None:
    """Measure `spec` through `runner` started on `placement`'s cores, writing the agent's keys into `result`.

    `energy(result, spec, loop=...)` is the agent's energy pass, given the runner's loop.
    """
    result["env"]["runtime"] = {
        "package": "executorch",
        "version": runner.wheel.version,
        "api": "native",
        **runner.describe(),
    }
    result["env"]["threads"] = int(spec["threads"])
    folder = Path(tempfile.mkdtemp(prefix="edge-bench-native-"))
    process = None
    allowed = None
    try:
        process = NativeProcess(runner, spec, folder, placement)
        watch = CpuWatch(children=(process.proc.pid,))  # the runner's CPU is this measurement's own
        measured = process.measure(int(spec["seed"]))
        result["others_cpu"] = watch.others()
        result["env"]["runtime"]["threads"] = measured.get("threads")
        for key in MEASURED:
            result[key] = measured.get(key)
        if spec.get("inputs"):
            result["outputs_file"] = process.infer(spec["inputs"], spec["outputs"])
        energy(result, spec, loop=process.loop)
        result["status"] = "ok"
    except RunnerFailed as e:
        result["error"] = str(e)
        if e.memory:
            result["memory"] = e.memory
    except Exception as e:  # noqa: BLE001 - every failure becomes data
        result["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}".rstrip(": ")
        result["traceback"] = traceback.format_exc(limit=8)
    finally:
        if process is not None:
            allowed = process.allowed_cores()
            process.close()
        shutil.rmtree(folder, ignore_errors=True)
    pid = process.proc.pid if process is not None else "PID"
    result["env"]["cores"] = placement.describe(allowed, f"/proc/{pid}/status (the native runner)")
    if not result.get("memory"):
        result["memory"] = {**NO_MEMORY, "missing_reason": "the native runner failed before it measured memory"}
