"""ExecuTorch's `executor_runner` on a phone: its command line, and its text output as the agent's result.

executor_runner (examples/portable/executor_runner/executor_runner.cpp; ET_LOG through the posix
PAL, runtime/platform/default/posix.cpp, on stderr as "I 00:00:00.001234 executorch:file.cpp:123] msg"):
    Model loaded in 12.345000 ms.                     (v1.3; older print "Method loaded.")
    Iteration 3 of 20: 41.234000 ms                   (v1.3)
    Model executed successfully 20 time(s) in 834.567000 ms.   (v0.6 to v1.3)
    Model executed successfully.                      (v0.5 and older: no count, no time)
Qualcomm's qnn_executor_runner prints "100 inference took 1096.626000 ms, avg 10.966260 ms". The
output tensors go to stdout as "Output 0: tensor(..." (v1.0 and later: "OutputX 0: ..."). The runner
has no warm-up and no time-based loop: it executes --num_executions times. Built with the android
PAL (the android-arm64-v8a preset) it logs to logcat (tag ExecuTorch) instead, and its stdout shows
only the output tensors: read `logcat -s ExecuTorch` then; the messages are the same.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..device.timing import summarize
from .tool_output import number


def executor_runner_argv(
    binary: str, model: str, threads: int, warmup_runs: int, min_runs: int, extra: Sequence[str] = ()
) -> list[str]:
    """Command line for ExecuTorch's executor_runner / xnn_executor_runner (gflags in executor_runner.cpp:
    --model_path, --num_executions, --cpu_threads).

    The runner has no warm-up phase: it runs 1 + warmup_runs + min_runs executions, and
    parse_executor_runner(text, warmup_runs) splits the per-iteration times into the first
    inference, the warm-up and the timed runs. --cpu_threads takes effect in builds with the
    threadpool (XNNPACK builds); -1 lets the runner pick the number of performance cores.
    """
    return [
        binary,
        f"--model_path={model}",
        f"--num_executions={1 + int(warmup_runs) + int(min_runs)}",
        f"--cpu_threads={int(threads)}",
        *extra,
    ]


_ET_PREFIX = re.compile(r"^(?P<level>[A-Z]) (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d\.\d+) executorch:[^\]]*\] ")
_ET_ITER = re.compile(r"Iteration (?P<i>\d+) of (?P<n>\d+): (?P<ms>\S+) ms")
_ET_DONE = re.compile(r"Model executed successfully(?: (?P<n>\d+) time\(s\)(?: in (?P<ms>\S+) ms)?)?")
_ET_QNN_DONE = re.compile(r"(?P<n>\d+) inference took (?P<ms>\S+) ms, avg (?P<avg>\S+) ms")
_ET_PREPARED = re.compile(r"^Inputs prepared\.")
_ET_LOADED = re.compile(r"Model loaded in (?P<ms>\S+) ms")
_ET_BUFFER = re.compile(r"Setting up (?:CPU )?planned buffer (?P<id>\d+), size (?P<size>\d+)")
_ET_THREADS = re.compile(r"Resetting threadpool with num threads = (?P<n>-?\d+)")
_ET_OUTPUT = re.compile(r"^OutputX? \d+: ")
_ET_FAIL = re.compile(r"(failed|error|Check failed|Aborted)", re.IGNORECASE)


def _pal_seconds(match: re.Match) -> float:
    """The posix PAL's timestamp (time since the runtime started, µs resolution) in seconds."""
    return int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])


def parse_executor_runner(text: str, warmup_runs: int = 0) -> dict:
    """executor_runner's output -> the agent's result shape.

    With per-iteration lines (v1.3): iteration 1 is the first inference, the next `warmup_runs` are
    warm-up, the rest are summarized as the timed runs. Without them (v0.6 to v1.0, and Qualcomm's
    runner) only the mean over all executions, first included, is known. A runner older than v0.6
    prints no time at all: the measurement fails, and where the log has timestamps the time between
    "Inputs prepared." and "Model executed successfully." (its one execution) is the first inference.
    """
    iterations: dict[int, float] = {}
    done_n = done_ms = load_ms = threads = None
    executed = False
    prepared_at = done_at = None
    outputs = 0
    buffers: dict[int, int] = {}
    errors: list[str] = []
    for raw in text.splitlines():
        prefix = _ET_PREFIX.match(raw)
        level = prefix["level"] if prefix else None
        msg = raw[prefix.end() :].strip() if prefix else raw.strip()
        if m := _ET_ITER.search(msg):
            iterations[int(m["i"])] = float(m["ms"])
        elif m := _ET_DONE.search(msg):
            executed = True
            done_n = int(m["n"]) if m["n"] else done_n
            done_ms = number(m["ms"]) if m["ms"] else done_ms
            done_at = _pal_seconds(prefix) if prefix else None
        elif m := _ET_QNN_DONE.search(msg):
            executed = True
            done_n, done_ms = int(m["n"]), number(m["ms"])
        elif _ET_PREPARED.match(msg):
            prepared_at = _pal_seconds(prefix) if prefix else None
        elif m := _ET_LOADED.search(msg):
            load_ms = number(m["ms"])
        elif m := _ET_BUFFER.search(msg):
            buffers[int(m["id"])] = int(m["size"])
        elif m := _ET_THREADS.search(msg):
            threads = int(m["n"])
        elif _ET_OUTPUT.match(msg):
            outputs += 1
        elif level in ("E", "F") or (level is None and _ET_FAIL.search(msg)):
            errors.append(msg)

    ordered = [iterations[i] for i in sorted(iterations)]
    skip = 1 + max(0, int(warmup_runs))
    latency: dict | None = None
    first_ms = None
    note = ""
    first_note = "iteration 1's time (v1.3 runners only)"
    if ordered:
        first_ms = ordered[0]
        timed = ordered[skip:]
        if timed:
            latency = summarize(timed)
            note = (
                f"per-iteration times ('Iteration i of n: t ms'); iteration 1 is the first inference, "
                f"the next {skip - 1} warm-up, the remaining {len(timed)} summarized (std with n-1)"
            )
        else:
            note = f"only {len(ordered)} iterations printed, none left after the first and {skip - 1} warm-up"
    elif done_n and done_ms is not None:
        latency = {
            "median": None,
            "mean": done_ms / done_n,
            "p90": None,
            "p99": None,
            "std": None,
            "min": None,
            "max": None,
            "n": done_n,
        }
        note = (
            "this runner prints only the total time of all executions: mean = total / n, "
            "including the first execution and without warm-up"
        )
    elif executed and done_n is None and prepared_at is not None and done_at is not None:
        first_ms = (done_at - prepared_at) * 1e3
        first_note = (
            "the one execution of a runner that prints no time, from its log timestamps "
            "('Inputs prepared.' to 'Model executed successfully.', µs resolution)"
        )
    ok = executed and latency is not None
    if not ok and not errors:
        errors.append(_no_timing_reason(executed, outputs))
    return {
        "tool": "executor_runner",
        "status": "ok" if ok else "failed",
        "error": None if ok else errors[0],
        "latency_ms": latency,
        "first_inference_ms": first_ms,
        "load_ms": load_ms,
        "warmup_runs": min(max(0, int(warmup_runs)), max(0, len(ordered) - 1)) if ordered else None,
        "executions": done_n,
        "total_execute_ms": done_ms,
        "outputs_printed": outputs,
        "memory": {
            "peak_rss_bytes": None,
            "baseline_rss_bytes": None,
            "model_rss_bytes": None,
            "planned_bytes": sum(buffers.values()) if buffers else None,
        },
        "env": {"threads": threads},
        "notes": {
            "latency_ms": note or "no timings printed",
            "first_inference_ms": first_note,
            "load_ms": "'Model loaded in': Program::load + load_method, delegate init included (v1.3 runners only)",
            "memory": "planned_bytes: sum of the memory-planned buffers the runner allocates "
            "('Setting up planned buffer'); the runner reports no RSS",
        },
    }


def _no_timing_reason(executed: bool, outputs: int) -> str:
    if executed:
        return (
            "the runner printed 'Model executed successfully.' without a time (executor_runner before "
            "ExecuTorch v0.6, or a vendor runner): use executor_runner v0.6 or newer"
        )
    if outputs:
        return (
            "executor_runner printed its outputs but none of its log lines: a build with the android PAL "
            "logs to logcat (tag ExecuTorch), where no success line was found either"
        )
    return "executor_runner printed no 'Model executed successfully' line"
