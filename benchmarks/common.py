"""What the benchmark scripts share: recipes written to a temp folder, the edge-bench command line,
timing a command while sampling its process tree's memory, and small statistics.

Not part of the test suite and not of the package: each script in this folder runs on its own
(`python benchmarks/<name>.py [--quick]`) and imports this file from beside it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PAGE = os.sysconf("SC_PAGE_SIZE")
# The converters' own progress bars and TensorFlow's C++ log, as the CLI quiets them.
os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The tiny network of the tests (a few hundred weights): what `--quick` converts. It is not one of
# edge-bench's archs, so the command line is started through a launcher that registers it first; the
# build workers receive it from the parent's registry like any other arch.
# Registered as tests/tinymodels.py's register() does, without importing torch here (the builder
# module is imported only when a model is built), so a cached build stays as light as the real CLI's.
QUICK_REGISTER = (
    "from edge_bench.models import ARCHS, Arch; ARCHS['tinycnn'] = Arch('tinycnn', 'tests.tinymodels:build')"
)


def recipe_text(arch: str, points: Sequence[dict], extra_model: str = "", batches: int = 8) -> str:
    """A recipe with explicit [[variants]] (one per point), so a single point can be edited later."""
    lines = ['description = "edge-bench benchmark"', "[model]", f'arch = "{arch}"']
    if extra_model:
        lines.append(extra_model)
    lines += ["[quantize]", f"batches = {batches}"]
    for point in points:
        lines.append("[[variants]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in point.items()]
    return "\n".join(lines) + "\n"


ARCH_SWEEPS = {
    # MobileNetV2 (3.5 M parameters, 150 operators) and ResNet-50 (25.6 M): converting the graph takes
    # minutes and dominates everything else; the resolution barely changes that time.
    "mobilenet_v2": (96, 112, 128, 144),
    "resnet50": (64, 80, 96, 112),
}


def sweep(quick: bool, arch: str = "mobilenet_v2") -> tuple[str, list[dict], str]:
    """The 4-variant sweep the build benchmarks convert: (arch, points, extra [model] lines)."""
    if quick:
        return "tinycnn", [{"resolution": r} for r in (16, 20, 24, 28)], "num_classes = 10"
    return arch, [{"resolution": r} for r in ARCH_SWEEPS[arch]], ""


def edge_bench_argv(args: Sequence[str], quick: bool, prelude: str = "") -> list[str]:
    """`edge-bench ARGS` in a fresh interpreter; `prelude` (Python) runs first, in that process."""
    setup = "; ".join(p for p in (prelude, QUICK_REGISTER if quick else "") if p)
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); {setup + '; ' if setup else ''}"
        "from edge_bench.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    return [sys.executable, "-c", code, *args]


# ------------------------------------------------------------------ running and sampling


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out += [int(c) for c in text]
    except OSError:
        pass
    return out


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += _rss(p)
        stack += _children(p)
    return total


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Run:
    argv: list[str]
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    peak_tree_rss: int  # the most the whole process tree held at once (sampled every `period`)
    min_mem_available: int  # the machine's lowest MemAvailable during the run (other users included)
    samples: int = 0
    started_at: float = 0.0  # wall clock (time.time()), to line up with timestamps the process writes
    ended_at: float = 0.0
    cpu_seconds: float = 0.0  # user + system time of the process and its reaped descendants

    def check(self) -> "Run":
        if self.returncode != 0:
            sys.stderr.write(self.stderr[-4000:])
            raise SystemExit(f"command failed with exit {self.returncode}: {' '.join(self.argv[:4])} ...")
        return self


def run_sampled(argv: Sequence[str], env: dict | None = None, period: float = 0.2, cwd: Path = REPO) -> Run:
    """Run `argv` to completion: wall time, output, and its process tree's peak RSS sampled meanwhile."""
    full_env = {**os.environ, **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started_at = time.time()
    start = time.perf_counter()
    process = subprocess.Popen(
        list(argv), env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak, low, count = 0, mem_available(), 0
    stop = threading.Event()

    def sample():
        nonlocal peak, low, count
        while not stop.is_set():
            peak = max(peak, tree_rss(process.pid))
            low = min(low, mem_available())
            count += 1
            stop.wait(period)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(list(argv), seconds, process.returncode, stdout, stderr, peak, low, count, started_at, time.time(), cpu)


def build_states(stdout: str) -> dict[str, int]:
    """Counts of `built`, `cached` and `FAILED` lines printed by `edge-bench build`."""
    counts = {"built": 0, "cached": 0, "FAILED": 0}
    for line in stdout.splitlines():
        word = line.split(" ", 1)[0]
        if word in counts:
            counts[word] += 1
    return counts


def warm_imports() -> float:
    """Import the converter stack once in a throwaway process, so the first timed run does not pay
    for reading the libraries from disk and later runs do not get that for free."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import torch, torchvision, executorch.exir, litert_torch, ai_edge_litert"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


# ------------------------------------------------------------------ interleaving

T = TypeVar("T")


def interleaved(
    ways: Sequence[str], rounds: int, measure: Callable[[int, str], T]
) -> Iterator[tuple[int, list[str], dict[str, T]]]:
    """`rounds` rounds, each measuring every way once in an order rotated by one way a round (A B, then
    B A; or A B C, B C A, C A B), so drift on a shared machine hits every way alike.
    Yields (round index, that round's order, {way: what `measure(round index, way)` returned})."""
    ways = list(ways)
    for round_ in range(rounds):
        shift = round_ % len(ways)
        order = ways[shift:] + ways[:shift]
        yield round_, order, {way: measure(round_, way) for way in order}


# ------------------------------------------------------------------ reporting


def machine() -> str:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"{platform.node()}: {cores} cores ({model or platform.machine()}), "
        f"{mem_available() / 2**30:.1f} GiB available, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )


def load() -> str:
    """The 1, 5 and 15 minute load averages: on a shared machine, how many others wanted the cores."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    """min..max and the interquartile range, as a text."""
    if len(values) < 2:
        return "one value"
    q = statistics.quantiles(values, n=4)
    return f"min {min(values):.4f}, max {max(values):.4f}, IQR {q[0]:.4f}..{q[2]:.4f}"


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"
