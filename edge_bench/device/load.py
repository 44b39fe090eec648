"""Is anything else using the machine while we measure? Load average, and other processes' CPU use.

/proc/stat counts every CPU's busy time since boot; subtracting what this process used itself over the
same span leaves what everything else used (steal time included: a hypervisor that runs another guest
on our core disturbs us as much as a local process). Readings are None where /proc is not readable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STAT = Path("/proc/stat")
LOADAVG = Path("/proc/loadavg")


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in LOADAVG.read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def _busy_seconds() -> float | None:
    """Seconds every CPU together spent busy since boot (user, nice, system, irq, softirq, steal)."""
    try:
        fields = STAT.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


# /proc/stat counts in ticks (1/CLK_TCK s, 10 ms on most kernels) per CPU: over a shorter span than this
# the quantisation alone could read as a fifth of a core busy.
MIN_SPAN_SECS = 0.2


def _process_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a live process, 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """Other processes' CPU use over a span, in cores (0.5: half a core busy on average).

    `children`: processes that work for this measurement (the native runner) while still running, so
    not yet in this process's own children times."""

    def __init__(self, children: tuple[int, ...] = ()):
        self.children = children
        self._start = (time.monotonic(), _busy_seconds(), self._own())

    def _own(self) -> float:
        return _own_seconds() + sum(_process_seconds(pid) for pid in self.children)

    def others(self) -> float | None:
        """None where /proc/stat is not readable or the span was too short to tell."""
        wall0, busy0, own0 = self._start
        busy1 = _busy_seconds()
        wall = time.monotonic() - wall0
        if busy0 is None or busy1 is None or wall < MIN_SPAN_SECS:
            return None
        # Tick granularity can make a quiet span read slightly below zero.
        return max(0.0, ((busy1 - busy0) - (self._own() - own0)) / wall)
