"""What a user sees: edge-bench's own output on the terminal, what the libraries print in a log file.

Native libraries (XNNPACK's cpuinfo, absl, oneDNN) write to file descriptors 1 and 2 directly, and
child processes inherit those descriptors, so replacing `sys.stdout` is not enough: `LibraryOutput`
points the descriptors themselves at a log, and gives edge-bench's own output (its prints, its
progress line, its `edge_bench.*` log records) streams that reach the terminal past the redirect.
The CLI's `-v` skips all of it.
"""

from __future__ import annotations

import ctypes
import io
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, TextIO

LOG_NAME = "edge-bench.log"
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
# edge-bench's own records as a build worker (build/parallel.py) writes them to its inherited stderr.
_OWN_RECORD = re.compile(r"^(WARNING|ERROR|CRITICAL) edge_bench[.:]")

_active: LibraryOutput | None = None


def keep_log_in(folder: Path) -> Path | None:
    """Keep the active capture's log in `folder`/edge-bench.log (appended to), from now and from the start.

    A command calls this once it knows its results directory; until then (and for commands without
    one) the capture goes to a temporary file. Without an active capture (`-v`, tests), nothing."""
    return _active.keep_in(folder) if _active is not None else None


def console_stderr() -> TextIO:
    """Where edge-bench's own messages go: the terminal's stderr, also while libraries are captured."""
    return _active.stderr if _active is not None else sys.stderr


class LibraryOutput:
    """A context: file descriptors 1 and 2 go to a log; `sys.stdout` and `console_stderr()` stay on the terminal.

    `fallback` is where the log is kept when the command never named a results directory (written
    only when something was captured)."""

    def __init__(self, header: str, fallback: Path):
        self.header = header
        self.fallback = fallback
        self.log: Path | None = None  # where the log was kept, once known
        self.captured = b""  # this command's part of the log, after exit

    def __enter__(self) -> LibraryOutput:
        global _active
        _flush_all()
        self._file: IO[bytes] = tempfile.TemporaryFile()
        self._start = 0
        self._saved = (os.dup(1), os.dup(2))
        self.stdout = _past_redirect(sys.stdout, 1)
        self.stderr = _past_redirect(sys.stderr, 2)
        self._previous_stdout = sys.stdout
        os.dup2(self._file.fileno(), 1)
        os.dup2(self._file.fileno(), 2)
        sys.stdout = self.stdout
        self._handler = logging.StreamHandler(self.stderr)
        self._handler.setFormatter(logging.Formatter(LOG_FORMAT))
        own = logging.getLogger("edge_bench")
        own.addHandler(self._handler)
        own.propagate = False
        _active = self
        return self

    def keep_in(self, folder: Path) -> Path:
        if self.log is not None:
            return self.log
        _flush_all()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        kept = path.open("a+b")
        start = kept.tell()
        kept.write(self._header_line())
        self._file.seek(0)
        kept.write(self._file.read())
        kept.flush()
        os.dup2(kept.fileno(), 1)
        os.dup2(kept.fileno(), 2)
        self._file.close()
        self._file, self._start, self.log = kept, start, path
        return path

    def __exit__(self, *exc) -> None:
        global _active
        _active = None
        _flush_all()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in self._saved:
            os.close(fd)
        sys.stdout = self._previous_stdout
        own = logging.getLogger("edge_bench")
        own.removeHandler(self._handler)
        own.propagate = True
        self._file.seek(self._start)
        self.captured = self._file.read()
        self._file.close()
        if self.log is not None:
            self.captured = self.captured.partition(b"\n")[2]  # less the header line
        elif self.captured:
            self.fallback.parent.mkdir(parents=True, exist_ok=True)
            self.fallback.write_bytes(self._header_line() + self.captured)
            self.log = self.fallback
        # A build worker's warnings went to its stderr, the log: repeat edge-bench's own ones here.
        for line in dict.fromkeys(self.captured.decode(errors="replace").splitlines()):
            if _OWN_RECORD.match(line):
                print(line, file=self.stderr)
        for stream in (self.stdout, self.stderr):
            if stream not in (sys.stdout, sys.stderr):
                stream.close()

    def _header_line(self) -> bytes:
        return f"== {time.strftime('%Y-%m-%d %H:%M:%S')} {self.header}\n".encode()


def _past_redirect(stream: TextIO, fd: int) -> TextIO:
    """A stream that still reaches what `fd` points to now, after `fd` is redirected.

    A stream that is not on `fd` (a test's capture) is left as it is."""
    try:
        on_fd = stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        on_fd = False
    if not on_fd:
        return stream
    return io.TextIOWrapper(
        os.fdopen(os.dup(fd), "wb", buffering=0),
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=True,
        write_through=True,
    )


def _flush_all() -> None:
    """Python's buffers and C stdio's: what a library printed goes where the descriptors point now."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass
