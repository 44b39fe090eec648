"""Energy from meter samples: the trapezoid rule for power, differences for counters."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def trapezoid_energy_j(times_s: Sequence[float], watts: Sequence[float]) -> float:
    """Integral of power over time (J). Exact for power that is linear between samples."""
    t = np.asarray(times_s, dtype=float)
    w = np.asarray(watts, dtype=float)
    if t.shape != w.shape or t.size < 2:
        raise ValueError(f"need at least two (time, power) samples of equal count, got {t.size} and {w.size}")
    if np.any(np.diff(t) < 0):
        raise ValueError("sample times must not go backwards")
    return float(np.sum(np.diff(t) * (w[1:] + w[:-1]) / 2.0))


def counter_energy_j(readings_j: Sequence[float], wrap_j: float | None = None) -> float:
    """Energy between the first and last reading of a cumulative counter (J).

    A reading lower than the previous one means the counter wrapped: the wrap value is added
    (this assumes at most one wrap between two readings, which sampling faster than the wrap
    period guarantees). Without a known wrap value a decrease cannot be explained, so it raises.
    """
    r = np.asarray(readings_j, dtype=float)
    if r.size < 2:
        raise ValueError(f"need at least two counter readings, got {r.size}")
    steps = np.diff(r)
    if np.any(steps < 0):
        if not wrap_j:
            raise ValueError("the energy counter went backwards and its wrap value is unknown")
        steps = np.where(steps < 0, steps + wrap_j, steps)
    return float(np.sum(steps))


def energy_j(kind: str, times_s: Sequence[float], values: Sequence[float], wrap_j: float | None = None) -> float:
    if kind == "power":
        return trapezoid_energy_j(times_s, values)
    if kind == "energy":
        return counter_energy_j(values, wrap_j)
    raise ValueError(f"unknown meter kind {kind!r}")
