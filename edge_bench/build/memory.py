"""How much memory one conversion takes, how much this machine has, and how many conversions fit at once.

`parallel.py` sizes its worker pool by it; `feasibility.py` refuses a variant that cannot fit at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GIB = 1 << 30

# Peak RSS of one build task (one variant, FP32 model built once, converted for ExecuTorch then
# LiteRT), measured on the project's host stack (torch 2.14.1, executorch 1.5.1, litert-torch 0.10.0,
# Linux x86-64, 8 calibration images): each task in a fresh process under `/usr/bin/time -v`
# ("Maximum resident set size", the whole life of the process, exit included):
#   imports alone (torch, torchvision, executorch, litert-torch): 1.24 GB (ru_maxrss after import)
#   tests' TinyCNN (502 weights) at 16 px ............ 1.55 GB
#   MobileNetV2 x1.0 (3.5 M weights) at 128 px ....... 1.71 GB
#   ResNet-50 (25.6 M weights) at 160 px ............. 2.03 GB
# The resolution hardly matters: ResNet-50 at 96 and at 160 px peak within 0.5% of each other (one
# runtime per process: executorch 1.78 GB both, litert 1.85 GB vs 1.86 GB). What grows is the graph
# (MobileNetV2, 52 convolutions and 14 MB of FP32 weights, costs 160 MB more than TinyCNN) and the
# weights (ResNet-50: 0.48 GB more than TinyCNN for 102 MB of FP32 weights, ~4.7 copies). The estimate
# is MobileNetV2's peak as a base (an allowance for a graph of that size) plus 4.7 x the FP32 weight
# bytes: 1.78 GB for MobileNetV2 and 2.19 GB for ResNet-50, each above what was measured.
BASE_PEAK_BYTES = int(1.71e9)
WEIGHT_COPIES_AT_PEAK = 4.7
# Reserve for the parent process and the rest of the machine, not handed to workers.
RESERVE_BYTES = int(0.5 * GIB)
# ResNet-50 at width 1: the largest model the shipped recipes convert, the default when a variant's
# parameter count is not known yet (counting it would mean importing torch and building it here).
DEFAULT_WEIGHT_COUNT = 25_557_032


def conversion_peak_bytes(weight_count: int) -> int:
    """Estimated peak RSS of one worker converting a model of `weight_count` FP32 parameters."""
    return int(BASE_PEAK_BYTES + WEIGHT_COPIES_AT_PEAK * 4 * weight_count)


def mem_available_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable (what the kernel can hand out without swapping), or None where it is not readable."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                value, _, unit = line.split(":", 1)[1].strip().partition(" ")
                return int(value) * (1024 if unit.strip().lower() == "kb" else 1)
    except (OSError, ValueError):
        return None
    return None


@dataclass(frozen=True)
class WorkerPlan:
    workers: int
    limited_by_memory: str | None  # why fewer workers than asked, when memory is the reason


def plan_workers(
    requested: int, tasks: int, available_bytes: int | None, per_task_bytes: int, reserve_bytes: int = RESERVE_BYTES
) -> WorkerPlan:
    """How many workers to start: the jobs asked for, no more than the tasks, no more than fit in memory.

    At least one worker always runs (a sequential build needs the same memory). `available_bytes`
    None (no /proc/meminfo) means memory cannot bound the count.
    """
    wanted = max(1, min(requested, tasks))
    workers, note = wanted, None
    if available_bytes is not None and per_task_bytes > 0:
        fit = max(0, available_bytes - reserve_bytes) // per_task_bytes
        if fit < wanted:
            workers = max(1, int(fit))
            note = (
                f"--jobs {requested} limited to {workers}: {available_bytes / GIB:.1f} GiB available, "
                f"~{per_task_bytes / GIB:.1f} GiB per conversion"
            )
    return WorkerPlan(workers, note)
