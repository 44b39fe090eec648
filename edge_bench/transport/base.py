"""The transport protocol: a session (enter/exit) with push, exec and pull.

Modelled on a remote runner's replaceable steps: open a session, upload, run, and clean up in
`finally` (here: `__exit__`). Failures are raised as TransportError / TransportTimeout; the runner
turns them into `failed` records.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


class TransportError(Exception):
    """The device could not be reached, or a file could not be moved."""


class TransportTimeout(TransportError):
    """A command ran past its time limit (it has been killed)."""


@dataclass(frozen=True)
class ExecResult:
    returncode: int
    stdout: str
    stderr: str


class Transport(abc.ABC):
    """A session on one device. Every path the caller names is relative to `workdir`."""

    workdir: str = ""

    def __enter__(self) -> "Transport":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @abc.abstractmethod
    def open(self) -> None:
        """Connect and create the work directory."""

    @abc.abstractmethod
    def close(self) -> None:
        """Remove the work directory (when this session made it) and disconnect. Never raises."""

    @abc.abstractmethod
    def push(self, local: Path, name: str) -> str:
        """Copy `local` to `workdir/name`; return the device path."""

    @abc.abstractmethod
    def exec(self, argv: Sequence[str], timeout: float) -> ExecResult:
        """Run `argv` on the device (in `workdir`), each argument passed verbatim, never through a shell."""

    @abc.abstractmethod
    def pull(self, name: str, local: Path) -> None:
        """Copy `workdir/name` from the device to `local`."""

    def device_path(self, name: str) -> str:
        if "/" in name or name in ("", ".", ".."):
            raise TransportError(f"refusing device path '{name}': names are plain file names inside the work dir")
        return f"{self.workdir}/{name}"
