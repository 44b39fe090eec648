"""Progress of long commands: stage, n of N, what, elapsed, an estimate of the rest.

On a terminal one line is redrawn in place, once a second, its estimate counting down between items.
Without a terminal (a CI log, a redirected sweep on a Pi that runs for hours) plain lines are written:
one when a stage starts, then at most one every `interval` seconds, so a log shows the sweep moving
without filling up.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


class Progress:
    def __init__(
        self,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 30.0,
        ticker: bool = True,
    ):
        self.stream = stream or sys.stderr
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = True if enabled is None else enabled
        self.clock = clock  # seconds, monotonic; injectable so the estimate can be tested
        self.interval = interval  # without a terminal: the most one line per this many seconds
        # Per stage: when its first item started, that item's n, and the last n. Stages interleave
        # (build, then evaluate, per variant), so each keeps its own start; a stage may begin past 1
        # (a resumed sweep); a lower n than the last is a new sweep of that stage.
        self._stages: dict[str, tuple[float, int, int]] = {}
        self._lock = threading.Lock()  # targets measure in threads and share one display
        self._start = clock()
        self._current: tuple[str, int, int, str, float, float | None] | None = None  # + when, rest then
        self._printed_at: float | None = None
        self._printed_stage: str | None = None
        self._ticker = ticker
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ the text

    def line(self, stage: str, n: int, total: int, label: str) -> str:
        """Item `n` of `total` of `stage` starts now: remember it and return its line."""
        now = self.clock()
        start, first, last = self._stages.get(stage, (now, n, n))
        if n < last:
            start, first = now, n
        self._stages[stage] = (start, first, n)
        done = n - first  # items finished since this stage started; the n-th is starting now
        rest = (now - start) / done * (total - n + 1) if done > 0 else None
        self._current = (stage, n, total, label, now, rest)
        return self._text(now)

    def _text(self, now: float) -> str:
        stage, n, total, label, when, rest = self._current
        tail = ""
        if rest is not None:  # counts down while the item runs; items in flight end the count at zero
            tail = f", ~{_clock(rest - (now - when))} left"
        return f"{stage} {n}/{total} {label} [{_clock(now - self._start)} elapsed{tail}]"

    # ------------------------------------------------------------ output

    def update(self, stage: str, n: int, total: int, label: str) -> None:
        with self._lock:
            text = self.line(stage, n, total, label)
            if not self.enabled:
                return
            if self.terminal:
                self._draw(text)
            elif stage != self._printed_stage or self._due():
                self._print(text, stage)
            if self._ticker and self._thread is None:
                self._thread = threading.Thread(target=self._tick, daemon=True, name="progress")
                self._thread.start()

    def _due(self) -> bool:
        return self._printed_at is None or self.clock() - self._printed_at >= self.interval

    def _draw(self, text: str) -> None:
        self.stream.write("\r" + text[:120].ljust(120))
        self.stream.flush()

    def _print(self, text: str, stage: str) -> None:
        self.stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        self.stream.flush()
        self._printed_at, self._printed_stage = self.clock(), stage

    def _tick(self) -> None:
        while not self._stop.wait(1.0 if self.terminal else min(self.interval, 5.0)):
            with self._lock:
                if getattr(self.stream, "closed", False):
                    return  # the stream went before close() was called (a finished test's capture)
                if self._current is None:
                    continue
                text = self._text(self.clock())
                if self.terminal:
                    self._draw(text)
                elif self._due():
                    self._print(text, self._current[0])

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.enabled and self.terminal and self._current is not None:
            self.stream.write("\n")
            self.stream.flush()


class NoProgress(Progress):
    def __init__(self):
        super().__init__(enabled=False, ticker=False)
