"""Which cores the measured process runs on, and keeping the agent's own work off them.

With `[measure] cores` the measured process (the agent itself with a Python runtime, or the native
runner it starts) is pinned to those cores, as `taskset -c` would; the agent's other threads (the
energy meter's sampler, the host watch) and, with the native runner, the agent process itself move
to the device's other cores, where it has any. Without the key nothing is pinned. Either way the
record says which cores the measured process was allowed, read back from the kernel
(`Cpus_allowed_list` in /proc/PID/status), not copied from the target file.

sched_setaffinity with pid 0 sets the calling thread only: threads and processes started afterwards
inherit the mask of the thread that starts them, which is how the runner is started on the cores.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

# The cores the agent's own work runs on during a measurement (None: the agent did not move it).
_agent_cores: frozenset[int] | None = None


class PlacementError(Exception):
    """The cores asked for cannot be had on this device: the reason, one line."""


def parse_cpu_list(text: str) -> tuple[int, ...]:
    """ "4 5 6", "4-6" or "0-3,7" -> (4, 5, 6) / (0, 1, 2, 3, 7); ValueError for anything else."""
    cpus: set[int] = set()
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"not a core list: {text!r}")
        if sep and int(hi) < int(lo):
            raise ValueError(f"range {part} runs backwards")
        cpus.update(range(int(lo), int(hi) + 1) if sep else (int(lo),))
    return tuple(sorted(cpus))


CORES_FORMS = 'e.g. "2,3", "4-7" or [2, 3]; leave the key out to run unpinned'


def cores_from_value(value: object) -> tuple[int, ...]:
    """A target file's `cores` ("2,3", "4-7" or [2, 3]) -> (2, 3); ValueError saying what is wrong with it."""
    if isinstance(value, str):
        try:
            cores = parse_cpu_list(value)
        except ValueError:
            raise ValueError(f"must list core numbers ({CORES_FORMS}), got {value!r}") from None
    elif isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        if any(v < 0 for v in value) or len(set(value)) != len(value):
            raise ValueError(f"must list distinct core numbers >= 0 ({CORES_FORMS}), got {value!r}")
        cores = tuple(sorted(value))
    else:
        raise ValueError(f"must be a core list string or a list of integers ({CORES_FORMS}), got {value!r}")
    if not cores:
        raise ValueError(f"names no core ({CORES_FORMS})")
    return cores


def format_cpu_list(cpus: Sequence[int] | set[int] | frozenset[int]) -> str:
    """(0, 1, 2, 3, 7) -> "0-3,7", the kernel's Cpus_allowed_list notation."""
    runs: list[list[int]] = []
    for c in sorted(set(cpus)):
        if runs and c == runs[-1][-1] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def read_allowed_list(pid: int | str = "self", root: str = "/") -> str | None:
    """The `Cpus_allowed_list` of a process (its main thread) from /proc/PID/status; None where unreadable."""
    try:
        text = (Path(root) / "proc" / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key == "Cpus_allowed_list":
            return value.strip()
    return None


@dataclass(frozen=True)
class Placement:
    """Where one round runs: the measured process's cores and the agent's own."""

    requested: tuple[int, ...] | None  # the target's [measure] cores; None: unpinned
    measured: frozenset[int] | None  # None: left as it is
    agent: frozenset[int] | None  # None: left as it is
    note: str | None = None

    def describe(self, allowed: str | None, read_from: str) -> dict:
        """The record's `env.cores`: what was asked, and what the kernel says the measured process was allowed."""
        out: dict = {"requested": list(self.requested) if self.requested else None, "allowed": allowed}
        if allowed is None:
            out["missing_reason"] = f"{read_from} has no readable Cpus_allowed_list"
        else:
            out["read_from"] = read_from
        if self.agent is not None:
            out["agent"] = format_cpu_list(self.agent)
        if self.note:
            out["note"] = self.note
        return out


UNPINNED = Placement(None, None, None)


def usable_cores() -> frozenset[int] | None:
    """The cores this process may run on (None where the platform does not say)."""
    try:
        return frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def plan(requested: Sequence[int] | None, threads: int) -> Placement:
    """The placement for `requested` cores; PlacementError when the device lacks them or they are too few."""
    if not requested:
        return UNPINNED
    usable = usable_cores()
    if usable is None:
        raise PlacementError("measure.cores: this platform cannot pin a process to cores (no sched_setaffinity)")
    wanted = frozenset(int(c) for c in requested)
    missing = sorted(wanted - usable)
    if missing:
        raise PlacementError(
            f"measure.cores: core(s) {format_cpu_list(missing)} not available on this device "
            f"(this process may run on {format_cpu_list(usable)})"
        )
    if threads > len(wanted):
        raise PlacementError(f"measure.cores: {threads} threads on {len(wanted)} pinned core(s)")
    others = usable - wanted
    if others:
        return Placement(tuple(sorted(wanted)), wanted, others)
    return Placement(
        tuple(sorted(wanted)),
        wanted,
        None,
        note="the device has no other core: the agent's own work shares the measured cores",
    )


def _set(tid: int, cores: frozenset[int] | None) -> None:
    if cores is not None:
        os.sched_setaffinity(tid, cores)


def pin_in_process(placement: Placement) -> None:
    """The measuring thread (the caller) on the measured cores; the agent's other threads off them."""
    global _agent_cores
    _set(0, placement.measured)
    _agent_cores = placement.agent
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.native_id is not None:
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                _set(thread.native_id, placement.agent)


@contextlib.contextmanager
def starting_measured(placement: Placement) -> Iterator[None]:
    """Processes started inside run on the measured cores; afterwards the caller (the agent) moves to its own."""
    global _agent_cores
    _set(0, placement.measured)
    try:
        yield
    finally:
        _agent_cores = placement.agent
        if placement.agent is not None:
            _set(0, placement.agent)


def move_off_measured_cores() -> None:
    """Called by a thread of the agent's own (the meter's sampler): onto the agent's cores, if it has any."""
    with contextlib.suppress(OSError):
        _set(0, _agent_cores)
