"""A one-line progress display for long sweeps: stage, n of N, what, elapsed, estimate of the rest.

It writes only to a terminal; piped or redirected output stays clean.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.clock = clock  # seconds, monotonic; injectable so the estimate can be tested
        # Per stage: when its first item started, that item's n, and the last n. Stages interleave
        # (build, then evaluate, per variant), so each keeps its own start; a stage may begin past 1
        # (a resumed sweep); a lower n than the last is a new sweep of that stage.
        self._stages: dict[str, tuple[float, int, int]] = {}
        self._lock = threading.Lock()  # targets measure in threads and share one display
        self._start = clock()

    def line(self, stage: str, n: int, total: int, label: str) -> str:
        now = self.clock()
        start, first, last = self._stages.get(stage, (now, n, n))
        if n < last:
            start, first = now, n
        self._stages[stage] = (start, first, n)
        done = n - first  # items finished since this stage started; the n-th is starting now
        rest = ""
        if done > 0:
            rest = f", ~{_clock((now - start) / done * (total - n + 1))} left"
        return f"{stage} {n}/{total} {label} [{_clock(now - self._start)} elapsed{rest}]"

    def update(self, stage: str, n: int, total: int, label: str) -> None:
        with self._lock:
            text = self.line(stage, n, total, label)
            if self.enabled:
                width = 120
                self.stream.write("\r" + text[:width].ljust(width))
                self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class NoProgress(Progress):
    def __init__(self):
        super().__init__(enabled=False)
