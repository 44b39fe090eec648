"""An artifact run on the host in a child process, so that a runtime that aborts on a broken artifact
(ExecuTorch calls abort() on some) costs that artifact's evaluation, not the whole sweep.

The child is the device agent's `serve` command, run by this very interpreter: it loads the artifact
once, then answers each request ("inputs.npy outputs.npy") with "ok".
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


PYTHON = sys.executable  # the interpreter that runs the child: this one, which has the runtimes


class ArtifactCrashed(RuntimeError):
    """The child process running the artifact died: the message says how."""


def _death(code: int | None, stderr: str) -> str:
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exited with status {code}"
    last = [line for line in stderr.strip().splitlines() if line.strip()]
    return f"the runtime process {how}" + (f": {last[-1].strip()}" if last else "")


class ArtifactProcess:
    """`with ArtifactProcess(runtime, path, threads) as run: output = run(image)`."""

    def __init__(self, runtime: str, path: Path, threads: int):
        self.folder = tempfile.TemporaryDirectory(prefix="edge-bench-eval-")
        self.errors = Path(self.folder.name) / "stderr.txt"
        self._stderr = self.errors.open("w")
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "edge_bench.device.agent",
                "serve",
                "--runtime",
                runtime,
                "--artifact",
                str(path),
                "--threads",
                str(threads),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._expect("ready")
        self.count = 0

    def _expect(self, word: str) -> None:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != word:
            self.proc.wait()
            raise ArtifactCrashed(_death(self.proc.returncode, self.errors.read_text(errors="replace")))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        inputs = Path(self.folder.name) / f"in-{self.count}.npy"
        outputs = Path(self.folder.name) / f"out-{self.count}.npy"
        self.count += 1
        np.save(inputs, np.ascontiguousarray(image, dtype=np.float32))
        try:
            self.proc.stdin.write(f"{inputs} {outputs}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.proc.wait()
            raise ArtifactCrashed(_death(self.proc.returncode, self.errors.read_text(errors="replace"))) from None
        self._expect("ok")
        result = np.load(outputs)
        inputs.unlink(missing_ok=True)
        outputs.unlink(missing_ok=True)
        return result

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        self.folder.cleanup()

    def __enter__(self) -> "ArtifactProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
