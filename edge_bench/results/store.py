"""The results directory: results.jsonl (one record per measurement) and rounds.jsonl (every round as it
is taken), both append-only, each line flushed and fsynced; one run at a time; torn tails set aside.

A kill or a full disk can leave a last line half written. Before anything is appended, that fragment
is moved to a sibling file (`results.jsonl.torn-<time>`) so the next record starts on a line of its own
and every complete record stays readable.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError
from .record import Record
from .schema import upgrade

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
ROUNDS_FILE = "rounds.jsonl"
LOCK_FILE = ".edge-bench.lock"


class ResultWriteError(Exception):
    """A record could not be written (disk full, permissions): the run must stop, saying so."""


@dataclass(frozen=True)
class RoundLine:
    """One round as rounds.jsonl holds it: which measurement, under which identity, and the agent's result."""

    key: list[str]  # recipe, variant, runtime, target
    identity: dict[str, Any]
    run_id: str
    index: int
    seconds: float
    result: dict[str, Any]
    started: float | None = None  # host clock (unix seconds) when the round began


class ResultStore:
    """A results directory, opened for one run: `with ResultStore(out).session(command) as store: ...`."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / RESULTS_FILE
        self.rounds_path = self.directory / ROUNDS_FILE
        self._lock_fd: int | None = None

    # ------------------------------------------------------------ opening

    def check_writable(self) -> None:
        """InputError (exit 2) when the directory cannot hold results: checked before anything is built."""
        check_writable(self.directory)

    def lock(self, command: str = "") -> None:
        """Hold this directory for one run; InputError naming the holder when another run has it."""
        self.check_writable()
        path = self.directory / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = Path(path).read_text(errors="replace").strip() or "another process"
            os.close(fd)
            raise InputError(
                f"--out {self.directory}: in use by {holder}; wait for it to finish or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(
            fd,
            f"edge-bench pid {os.getpid()} on {socket.gethostname()} since "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')} ({command or 'run'})\n".encode(),
        )
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock; a killed process releases it too
            self._lock_fd = None

    def repair(self) -> list[str]:
        """Move a torn last line of each file aside; one message per repair."""
        return [m for m in (set_aside_torn_tail(p) for p in (self.path, self.rounds_path)) if m]

    # ------------------------------------------------------------ writing

    def append(self, record: Record) -> None:
        self._append_line(self.path, record.to_json())

    def append_round(self, line: RoundLine) -> None:
        self._append_line(
            self.rounds_path,
            {
                "key": line.key,
                "identity": line.identity,
                "run_id": line.run_id,
                "index": line.index,
                "seconds": line.seconds,
                "result": line.result,
                "started": line.started,
            },
        )

    def _append_line(self, path: Path, value: dict[str, Any]) -> None:
        text = json.dumps(value, default=str, allow_nan=False) + "\n"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise ResultWriteError(f"cannot write {path}: {e.strerror or e}") from None

    # ------------------------------------------------------------ reading

    def records(self) -> list[Record]:
        return read_records(self.path)

    def rounds(self) -> list[RoundLine]:
        """Every complete round line (a line that does not parse is skipped: rounds are a cache of work done)."""
        out: list[RoundLine] = []
        if not self.rounds_path.exists():
            return out
        for text in self.rounds_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                value = json.loads(text)
                out.append(
                    RoundLine(
                        list(value["key"]),
                        dict(value["identity"]),
                        str(value["run_id"]),
                        int(value["index"]),
                        float(value["seconds"]),
                        dict(value["result"]),
                        float(value["started"]) if value.get("started") is not None else None,
                    )
                )
            except (ValueError, KeyError, TypeError):
                continue
        return out


def set_aside_torn_tail(path: Path) -> str | None:
    """When `path` does not end with a newline, move its last, incomplete line to a sibling file."""
    try:
        with path.open("rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return None
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return None
            f.seek(0)
            data = f.read()
            keep = data.rfind(b"\n") + 1
            aside = path.with_name(f"{path.name}.torn-{time.strftime('%Y%m%dT%H%M%S')}")
            aside.write_bytes(data[keep:])
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ResultWriteError(f"cannot repair {path}: {e.strerror or e}") from None
    return (
        f"{path}: its last line was incomplete (a run was interrupted); moved the {size - keep} bytes to {aside.name}"
    )


def read_records(path: Path) -> list[Record]:
    """Every record of a results file; InputError naming file:line for anything that is not one."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a results file (binary content, not JSON lines)") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    lines = text.split("\n")
    torn = lines[-1] != ""  # written by a run that was interrupted mid-line
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            if torn and number == len(lines):
                log.warning("%s: incomplete last line (an interrupted run) left out", where)
                continue
            raise InputError(f"{where}: not a JSON record") from None
        if not isinstance(value, dict):
            raise InputError(f"{where}: not a record (a JSON {type(value).__name__}, expected an object)")
        try:
            records.append(Record.from_json(upgrade(value)))
        except KeyError as e:
            raise InputError(f"{where}: not a record: required key {e} is missing") from None
        except (TypeError, ValueError) as e:
            raise InputError(f"{where}: not a record: {e}") from None
    return records


def check_writable(directory: Path, flag: str = "--out", what: str = "the results") -> None:
    """InputError (exit 2) naming `flag` when `directory` cannot be made or written in; made when it can."""
    where = f"{flag} {directory}"
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{where}: is a file, not a directory; choose a directory for {what}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise InputError(f"{where}: cannot write there ({e.strerror}); choose a writable directory") from None


def load_dirs(directories: Iterable[Path]) -> list[Record]:
    records = []
    for d in directories:
        d = Path(d)
        path = d if d.is_file() else d / RESULTS_FILE
        if not path.exists():
            raise InputError(f"{d}: no {RESULTS_FILE} here (give a directory written by 'edge-bench run')")
        records.extend(read_records(path))
    return records
