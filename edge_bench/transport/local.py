"""The local host as a device: a temporary work directory and subprocesses.

It goes through the same steps as a remote device (push the agent and the artifact, run the agent in a
fresh process, read its JSON), so the host path tests the device path.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

from . import shell
from .base import ExecResult, Transport, TransportError, TransportTimeout, communicate, process_alive, session_owner


class LocalTransport(Transport):
    def __init__(self, workdir: str = ""):
        self._requested = workdir
        self._made = False

    def open(self) -> None:
        if self._requested:
            Path(self._requested).mkdir(parents=True, exist_ok=True)
            self.workdir = str(Path(self._requested).resolve())
        else:
            remove_orphaned_workdirs()
            self.workdir = tempfile.mkdtemp(prefix="edge-bench-")
            (Path(self.workdir) / shell.OWNER_FILE).write_text(session_owner() + "\n")
            self._made = True

    def close(self) -> None:
        if self._made:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def push(self, local: Path, name: str) -> str:
        dest = self.device_path(name)
        try:
            shutil.copyfile(local, dest)
        except OSError as e:
            raise TransportError(f"push {local} -> {dest}: {e.strerror}") from None
        return dest

    def exec(self, argv: Sequence[str], timeout: float, hold_stdin: bool = False) -> ExecResult:
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=self.workdir,
                stdin=subprocess.PIPE if hold_stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as e:
            raise TransportError(f"cannot start '{argv[0]}': {e.strerror}") from None
        try:
            out, err = communicate(proc, timeout, hold_stdin)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise TransportTimeout(f"'{argv[0]}' ran past {timeout:.0f} s and was killed") from None
        return ExecResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))

    def pull(self, name: str, local: Path) -> None:
        try:
            shutil.copyfile(self.device_path(name), local)
        except OSError as e:
            raise TransportError(f"pull {name}: {e.strerror}") from None


def remove_orphaned_workdirs() -> list[str]:
    """Remove the work dirs that edge-bench processes of this host made and could not remove (killed)."""
    owner_host = session_owner().split()[0]
    listing = []
    for marker in Path(tempfile.gettempdir()).glob(f"edge-bench-*/{shell.OWNER_FILE}"):
        try:
            listing.append(f"{marker.parent} {marker.read_text().strip()}")
        except OSError:
            continue
    stale = shell.orphaned("\n".join(listing), owner_host, process_alive)
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale
