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

from .base import ExecResult, Transport, TransportError, TransportTimeout


class LocalTransport(Transport):
    def __init__(self, workdir: str = ""):
        self._requested = workdir
        self._made = False

    def open(self) -> None:
        if self._requested:
            Path(self._requested).mkdir(parents=True, exist_ok=True)
            self.workdir = str(Path(self._requested).resolve())
        else:
            self.workdir = tempfile.mkdtemp(prefix="edge-bench-")
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

    def exec(self, argv: Sequence[str], timeout: float) -> ExecResult:
        try:
            done = subprocess.run(list(argv), cwd=self.workdir, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TransportTimeout(f"'{argv[0]}' ran past {timeout:.0f} s and was killed") from None
        except OSError as e:
            raise TransportError(f"cannot start '{argv[0]}': {e.strerror}") from None
        return ExecResult(done.returncode, done.stdout, done.stderr)

    def pull(self, name: str, local: Path) -> None:
        try:
            shutil.copyfile(self.device_path(name), local)
        except OSError as e:
            raise TransportError(f"pull {name}: {e.strerror}") from None
