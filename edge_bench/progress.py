"""A one-line progress display for long sweeps: stage, n of N, what, elapsed, estimate of the rest.

It writes only to a terminal; piped or redirected output stays clean.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._stage: str | None = None
        self._stage_start = 0.0
        self._start = time.monotonic()

    def line(self, stage: str, n: int, total: int, label: str) -> str:
        now = time.monotonic()
        if stage != self._stage:
            self._stage, self._stage_start = stage, now
        done = n - 1  # the n-th item is starting now
        rest = ""
        if done > 0:
            rest = f", ~{_clock((now - self._stage_start) / done * (total - done))} left"
        return f"{stage} {n}/{total} {label} [{_clock(now - self._start)} elapsed{rest}]"

    def update(self, stage: str, n: int, total: int, label: str) -> None:
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
