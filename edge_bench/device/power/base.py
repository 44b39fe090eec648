"""What every meter is: a source of instantaneous power (W) or of a cumulative energy counter (J).

Meters take their source as a parameter (a sysfs root, a command runner, a line stream) so the
same code reads the real device, a device reached over adb, or a test sample.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Literal, Sequence

# Runs argv and returns its stdout; raises CommandError (or OSError when the tool is missing).
Runner = Callable[[Sequence[str]], str]
# Reads one file (an absolute path on the device) and returns its text.
FileReader = Callable[[str], str]

Kind = Literal["power", "energy"]


class MeterUnavailable(Exception):
    """The meter cannot be read here. The message says why and how to fix it (one line)."""


class CommandError(Exception):
    """A command ran but failed; the message carries its exit status and output."""


def run_command(argv: Sequence[str], timeout: float = 10.0) -> str:
    """The default Runner: run argv on this machine and return stdout."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise CommandError(f"{argv[0]} exited {proc.returncode}: {detail[0] if detail else 'no output'}")
    return proc.stdout


def local_reader(root: str | os.PathLike = "/") -> FileReader:
    """A FileReader that reads device paths below `root` (a test tree, or "/" for the real system)."""
    base = Path(root)

    def read(path: str) -> str:
        return (base / path.lstrip("/")).read_text()

    return read


@dataclass(frozen=True)
class Source:
    """Where a meter reads from: files below `root` (or through `read_text`), commands via `runner`.

    The defaults read this machine. A host reaching an Android phone over adb passes a runner that
    prefixes `adb shell` and a read_text that runs `cat`; tests pass a sample tree or canned output.
    """

    root: str = "/"
    runner: Runner = run_command
    read_text: FileReader | None = None
    # Line stream for meters that print continuously (tegrastats); None starts the real tool.
    lines: Iterable[str] | None = field(default=None)

    def reader(self) -> FileReader:
        return self.read_text or local_reader(self.root)

    def listdir(self, path: str) -> list[str]:
        """Names in a device directory below `root` (sorted; empty when it is missing or unreadable)."""
        try:
            return sorted(p.name for p in (Path(self.root) / path.lstrip("/")).iterdir())
        except OSError:
            return []


class Meter:
    """One open meter. `kind` says what `read()` returns: watts ("power") or joules ("energy").

    Counters ("energy") may wrap: `wrap_j` is the value at which they return to zero, if known.
    """

    name: str = ""
    kind: Kind = "power"
    wrap_j: float | None = None

    def read(self) -> float:
        raise NotImplementedError

    def read_timed(self) -> tuple[float, float]:
        """(time.monotonic() of the reading, value). A read can take tens of ms (vcgencmd: ~23 ms),
        so the reading is placed at the middle of the call."""
        t0 = time.monotonic()
        value = self.read()
        t1 = time.monotonic()
        return (t0 + t1) / 2, value

    def describe(self) -> dict:
        """Where the numbers come from (paths, rails, units detected, corrections applied)."""
        return {}

    def helper_cpu_s(self) -> float | None:
        """CPU time used so far by a long-lived process the meter reads from (None: it has none)."""
        return None

    def close(self) -> None:
        pass
