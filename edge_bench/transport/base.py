"""The transport protocol: a session (enter/exit) with push, exec and pull.

Modelled on a remote runner's replaceable steps: open a session, upload, run, and clean up in
`finally` (here: `__exit__`). Failures are raised as TransportError / TransportTimeout; the runner
turns them into `failed` records.
"""

from __future__ import annotations

import abc
import subprocess
import threading
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
    def exec(self, argv: Sequence[str], timeout: float, hold_stdin: bool = False) -> ExecResult:
        """Run `argv` on the device (in `workdir`), each argument passed verbatim, never through a shell.

        With `hold_stdin` the program's stdin is a pipe this host keeps open while it waits: when the host
        dies (or loses the connection) the program reads EOF, which the agent takes as the sign to exit.
        """

    @abc.abstractmethod
    def pull(self, name: str, local: Path) -> None:
        """Copy `workdir/name` from the device to `local`."""

    def device_path(self, name: str) -> str:
        if "/" in name or name in ("", ".", ".."):
            raise TransportError(f"refusing device path '{name}': names are plain file names inside the work dir")
        return f"{self.workdir}/{name}"


def communicate(proc: subprocess.Popen, timeout: float, hold_stdin: bool = False) -> tuple[bytes, bytes]:
    """`proc.communicate(timeout)`, except that with `hold_stdin` the stdin pipe stays open until the process
    ends (communicate closes it at once). On a timeout, TimeoutExpired carries what was read so far."""
    if not hold_stdin:
        return proc.communicate(timeout=timeout)
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    def drain(pipe, into: list[bytes]) -> None:
        for block in iter(lambda: pipe.read1(65536), b""):
            into.append(block)

    readers = [
        threading.Thread(target=drain, args=(pipe, chunks[name]), daemon=True)
        for name, pipe in (("out", proc.stdout), ("err", proc.stderr))
        if pipe is not None
    ]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise subprocess.TimeoutExpired(proc.args, timeout, b"".join(chunks["out"]), b"".join(chunks["err"])) from None
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
            proc.stdin = None  # closed: a later communicate() (reaping a killed process) must not flush it
    for reader in readers:
        reader.join(timeout=30)
    return b"".join(chunks["out"]), b"".join(chunks["err"])


def session_owner() -> str:
    """ "host pid" of this edge-bench process, written into the work dirs it makes."""
    import os
    import socket

    return f"{socket.gethostname()} {os.getpid()}"


def process_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
