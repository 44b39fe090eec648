"""LiteRT's `benchmark_model` on a phone: its command line, and its text output as the agent's result.

benchmark_model (tflite/tools/benchmark/benchmark_model.cc, benchmark_tflite_model.cc; logging via
tflite/tools/logging.h, "INFO: " prefix on stdout):
    INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
    INFO: count=12 first=52345 curr=41010 min=40877 max=52345 avg=42043.2 std=3101 [p5=... median=... p95=...]
    INFO: Inference timings in us: Init: 123456, First inference: 52345, Warmup (avg): 42043.2, Inference (avg): 41234.6
    INFO: Memory footprint delta from the start of the tool (MB): init=3.76953 overall=12.5
          (older tools: "Peak memory footprint (MB): init=... overall=...", and no "INFO: " prefix)
    INFO: Overall peak memory footprint (MB) via periodic monitoring: 48.6562
Each "Running benchmark for ..." line opens a phase and the stat line after it closes it: the
warm-up first, then the timed runs (BenchmarkModel::Run; Stat::OutputToStream in
tsl/util/stats_calculator.h). Logs cut to their tail keep only the last stat line, the timed runs'.
The p5/median/p95 suffix comes from StatWithPercentiles (newer LiteRT). std is the population
standard deviation; median is the element at index n/2 of the sorted values (upper median). Memory
figures are getrusage ru_maxrss (MiB). The formats seen in real captures (tests/samples/):
    TF 1.x:      "Average inference timings in us: Warmup: W, Init: I, no stats: A" and
                 "Initialized session in 4.452ms" (no period)
    TF <= 2.8:   no "INFO: " prefix; memory as "Peak memory footprint (MB): init=... overall=..."
    TF >= 2.15:  "INFO: " on every line
    APK:         read from logcat: "03-15 14:00:51.294 12836 12836 I tflite  : Inference timings ..."
    any version: doubles in C++'s default 6 significant digits ("avg=2.95034e+06"); a single warm-up
                 run prints "count=1 curr=X" only
"""

from __future__ import annotations

import math
import re

from .tool_output import number

MIB = 1024 * 1024


def benchmark_model_argv(
    binary: str,
    model: str,
    threads: int,
    warmup_runs: int,
    warmup_secs: float,
    min_runs: int,
    min_secs: float,
    max_secs: float,
    use_xnnpack: bool = True,
    report_peak_memory: bool = False,
) -> list[str]:
    """Command line for LiteRT's benchmark_model (flag names from BenchmarkModel::GetFlags,
    BenchmarkTfLiteModel::GetFlags and the XNNPACK delegate provider).

    --use_xnnpack=false also disables XNNPACK's implicit application (the flag's own help text).
    report_peak_memory starts a monitoring thread that can disturb the timings: off by default.
    """
    argv = [
        binary,
        f"--graph={model}",
        f"--num_threads={int(threads)}",
        f"--warmup_runs={int(warmup_runs)}",
        f"--warmup_min_secs={_num(warmup_secs)}",
        f"--num_runs={int(min_runs)}",
        f"--min_secs={_num(min_secs)}",
        f"--max_secs={_num(max_secs)}",
        f"--use_xnnpack={'true' if use_xnnpack else 'false'}",
    ]
    if report_peak_memory:
        argv.append("--report_peak_memory_footprint=true")
    return argv


def _num(x: float) -> str:
    return f"{float(x):g}"


_LOG_PREFIX = re.compile(r"^(?:INFO|WARN|WARNING|ERROR|FATAL|VERBOSE): ")
# logcat's threadtime ("03-15 14:00:51.294 12836 12836 I tflite  : ") and brief ("I/tflite  ( 123): ") forms.
_LOGCAT_PREFIX = re.compile(
    r"^(?:\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+[^:]*?\s*"
    r"|[VDIWEF]/[^(:]*?\s*\(\s*\d+\)\s*): "
)
_KV = re.compile(r"(\w+)=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|-?inf)")
_PARAM = re.compile(r"^(?P<name>[^:\[]+): \[(?P<value>.*)\]$")


def _strip_log(line: str) -> str:
    return _LOG_PREFIX.sub("", _LOGCAT_PREFIX.sub("", line.strip()))


def parse_stat_line(line: str) -> dict | None:
    """The numbers of one Stat line ("count=50 first=... curr=... min=... max=... avg=... std=...").

    A "(all same)" line has count and curr only: every run took curr, so min, max and avg are curr and
    std is 0 (what the tool itself states).
    """
    text = _strip_log(line)
    if not text.startswith("count="):
        return None
    values = {k: float(v) for k, v in _KV.findall(text)}
    # Stat prints min/max/avg/std only when the runs differ; otherwise just count and curr.
    if "curr" in values and "min" not in values:
        for key in ("min", "max", "avg", "first"):
            values.setdefault(key, values["curr"])
        values.setdefault("std", 0.0)
    values["count"] = int(values.get("count", 0))
    return values


def _us_to_ms(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x / 1000.0


def _latency_from_stat(stat: dict | None) -> dict | None:
    if not stat or not stat.get("count"):
        return None
    get = stat.get
    return {
        "median": _us_to_ms(get("median")),
        "mean": _us_to_ms(get("avg")),
        "p90": None,
        "p99": None,
        "std": _us_to_ms(get("std")),
        "min": _us_to_ms(get("min")),
        "max": _us_to_ms(get("max")),
        "n": stat["count"],
        "p5": _us_to_ms(get("p5")),
        "p95": _us_to_ms(get("p95")),
    }


_TIMINGS = re.compile(r"(?:Average )?[Ii]nference timings in us:\s*(?P<rest>.*)$")
# Older tools print the same two numbers as "Peak memory footprint (MB): init=... overall=...".
_MEM_DELTA = re.compile(
    r"(?:Memory footprint delta from the start of the tool|^Peak memory footprint) \(MB\): "
    r"init=(?P<init>\S+) overall=(?P<overall>\S+)"
)
_MEM_PEAK = re.compile(r"Overall peak memory footprint \(MB\) via periodic monitoring: (?P<peak>\S+)")
_MEM_END = re.compile(r"^- VmRSS\s*:\s*(?P<mb>\d+) MB")
_INIT_SESSION = re.compile(r"Initialized session in (?P<ms>\S+?)\s*ms")
_PHASE = re.compile(r"^Running benchmark for ")
_MODEL_SIZE = re.compile(r"The input model file size \(MB\): (?P<mb>\S+)")


def _timings(rest: str) -> dict[str, float]:
    out = {}
    for part in rest.split(","):
        key, sep, value = part.partition(":")
        if sep:
            try:
                out[key.strip()] = float(value.strip())
            except ValueError:
                continue
    return out


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() in ("1", "true")


def parse_benchmark_model(text: str) -> dict:
    """benchmark_model's stdout (+stderr) -> the agent's result shape, status "failed" with the tool's
    first ERROR line when it printed no timings."""
    stats: list[tuple[int, dict]] = []  # (phases opened before it, stat)
    phases = 0
    timings: dict[str, float] = {}
    params: dict[str, str] = {}
    memory_mb: dict[str, float | None] = {}
    errors: list[str] = []
    init_session_ms = model_size_mb = None
    delegate = None
    failed_after = None
    previous = ""
    for raw in text.splitlines():
        line = _strip_log(raw)
        if raw.lstrip().startswith(("ERROR:", "FATAL:")):
            errors.append(line)
        stat = parse_stat_line(line)
        if stat is not None:
            stats.append((phases, stat))
            continue
        if _PHASE.match(line):
            phases += 1
        elif line == "Benchmarking failed.":
            failed_after = previous
        elif m := _TIMINGS.search(line):
            timings = _timings(m["rest"])
        elif m := _MEM_DELTA.search(line):
            memory_mb["init_delta"], memory_mb["overall_delta"] = number(m["init"]), number(m["overall"])
        elif m := _MEM_PEAK.search(line):
            memory_mb["peak"] = number(m["peak"])
        elif m := _MEM_END.search(line):
            memory_mb["end_vmrss"] = number(m["mb"])
        elif m := _INIT_SESSION.search(line):
            init_session_ms = number(m["ms"])
        elif m := _MODEL_SIZE.search(line):
            model_size_mb = number(m["mb"])
        elif "delegate" in line and ("Explicitly applied" in line or "Though" in line):
            delegate = line
        elif m := _PARAM.match(line):
            params[m["name"].strip()] = m["value"]
        previous = line or previous

    warmup, timed = _phase_stats(stats)
    init_us = timings.get("Init")
    first_us = timings.get("First inference", warmup.get("first") if warmup else None)
    mean_us = timings.get("Inference (avg)", timings.get("Inference", timings.get("no stats")))
    latency = _latency_from_stat(timed)
    if latency is None and mean_us is not None:
        latency = {
            "median": None,
            "mean": mean_us / 1000.0,
            "p90": None,
            "p99": None,
            "std": None,
            "min": None,
            "max": None,
            "n": None,
            "p5": None,
            "p95": None,
        }

    def mib(key: str) -> int | None:
        v = memory_mb.get(key)
        return None if v is None else round(v * MIB)

    ok = latency is not None and bool(timings)
    threads = params.get("Num threads")
    return {
        "tool": "benchmark_model",
        "status": "ok" if ok else "failed",
        "error": None if ok else _failure(errors, failed_after),
        "latency_ms": latency,
        "first_inference_ms": _us_to_ms(first_us),
        "load_ms": _us_to_ms(init_us) if init_us is not None else init_session_ms,
        "warmup_runs": warmup["count"] if warmup else None,
        "warmup_mean_ms": _us_to_ms(timings.get("Warmup (avg)", timings.get("Warmup"))),
        "memory": {
            "peak_rss_bytes": mib("peak"),
            "baseline_rss_bytes": None,
            "model_rss_bytes": mib("overall_delta"),
            "planned_bytes": None,
            "init_rss_delta_bytes": mib("init_delta"),
            "end_vmrss_bytes": mib("end_vmrss"),
        },
        "env": {
            "threads": int(threads) if threads and threads.lstrip("-").isdigit() else None,
            "use_xnnpack": _flag(params.get("Use xnnpack")),
            "delegate": delegate,
            "graph": params.get("Graph"),
            "model_size_mb": model_size_mb,
        },
        "notes": {
            "latency_ms": "the timed runs' stat line (µs -> ms); std is the population std; median is the "
            "upper median; p5/p95 only from newer LiteRT; p90/p99 not printed",
            "first_inference_ms": "'First inference' of the timings line (the first warm-up run)",
            "load_ms": "'Init': model load, interpreter build, delegate application and tensor allocation",
            "memory": "getrusage ru_maxrss in MiB, including the tool itself: peak_rss_bytes is the peak "
            "seen by --report_peak_memory_footprint's monitor, model_rss_bytes the growth of "
            "ru_maxrss from the tool's start to the end of the runs, init_rss_delta_bytes that "
            "growth at the end of Init; the tool calls all of them approximate",
        },
    }


def _phase_stats(stats: list[tuple[int, dict]]) -> tuple[dict | None, dict | None]:
    """(warm-up stat, timed stat): by the phase lines before them where the log has those, else (a log
    cut to its tail) the last stat line is the timed runs' and the one before it the warm-up's."""
    if any(phase for phase, _ in stats):
        by_phase = {phase: stat for phase, stat in stats}
        return by_phase.get(1), by_phase.get(2)
    tail = [stat for _, stat in stats[-2:]]
    return (tail[0] if len(tail) == 2 else None), (tail[-1] if tail else None)


def _failure(errors: list[str], failed_after: str | None) -> str:
    """The tool's first ERROR line; else what it printed just before "Benchmarking failed."."""
    if errors:
        return errors[0]
    if failed_after is not None:
        return f"benchmark_model failed after: {failed_after}" if failed_after else "benchmark_model failed"
    return "benchmark_model printed no 'Inference timings' line"
