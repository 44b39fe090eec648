"""How noisy each latency measurement was, and which differences the noise alone could explain.

The dispersion of one measurement comes from its raw samples: the interquartile range over the
median (how much a typical inference varies from run to run) and the 99th percentile over the median
(how far the slow tail reaches). A record without samples keeps its p99 / median from its summary
and has no IQR.

Two measurements differ *within the noise* when their medians differ, relative to the faster one, by
no more than the larger of their two IQR / median: the difference is then no larger than the spread
of either measurement, so these runs do not tell which of the two is faster.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .fit import ok_rows

IQR = "latency_iqr_over_median"
P99 = "latency_p99_over_median"
SWEEP_KEYS = ("recipe", "arch", "target", "runtime", "width")


def dispersion(record: dict[str, Any]) -> dict[str, float | None]:
    """IQR / median and p99 / median of one record's latency (None where it cannot be had)."""
    latency = record.get("latency_ms") or {}
    samples = np.asarray([s for s in latency.get("samples") or () if isinstance(s, (int, float))], dtype=np.float64)
    out: dict[str, float | None] = {IQR: None, P99: None}
    if len(samples) >= 4:
        q1, median, q3, p99 = np.percentile(samples, [25, 50, 75, 99])
        if median > 0:
            out[IQR], out[P99] = float((q3 - q1) / median), float(p99 / median)
        return out
    median, p99 = latency.get("median"), latency.get("p99")
    if isinstance(median, (int, float)) and isinstance(p99, (int, float)) and median > 0:
        out[P99] = float(p99 / median)
    return out


def dispersion_columns(records: Iterable[dict[str, Any]], index: pd.Index) -> pd.DataFrame:
    """`dispersion` of each record, as columns aligned with the results table built from the same records."""
    return pd.DataFrame([dispersion(r) for r in records], index=index, columns=[IQR, P99], dtype=float)


def relative_gap(faster: float, slower: float) -> float:
    """(slower - faster) / faster."""
    return (slower - faster) / faster


def within_noise(a_ms: float, b_ms: float, a_iqr: float | None, b_iqr: float | None) -> bool | None:
    """True when two medians differ by no more than the larger IQR / median; None without an IQR."""
    spreads = [s for s in (a_iqr, b_iqr) if s is not None and np.isfinite(s)]
    if not spreads or not (a_ms > 0 and b_ms > 0):
        return None
    faster, slower = sorted((a_ms, b_ms))
    return relative_gap(faster, slower) <= max(spreads)


def sweep_steps(frame: pd.DataFrame, keys: Sequence[str] = SWEEP_KEYS) -> pd.DataFrame:
    """Neighbouring variants of each sweep (same recipe, arch, target, runtime and width, in order of
    compute): their latency difference against the noise. One row per neighbouring pair.

    Columns: the sweep keys present, smaller, larger (variant names, by MACs), smaller_ms, larger_ms,
    gap_pct (larger over smaller, minus 1, in percent), noise_pct (the larger IQR / median, in percent),
    within_noise.
    """
    rows = ok_rows(frame)
    needed = {"variant", "latency_median_ms", "macs", IQR}
    if rows.empty or not needed <= set(rows.columns):
        return pd.DataFrame()
    present = [k for k in keys if k in rows.columns]
    out = []
    groups = rows.groupby(present, dropna=False, sort=True) if present else [((), rows)]
    for values, group in groups:
        values = values if isinstance(values, tuple) else (values,)
        group = group.assign(_macs=pd.to_numeric(group["macs"], errors="coerce")).sort_values("_macs")
        for (_, a), (_, b) in zip(group.iterrows(), group.iloc[1:].iterrows()):
            a_ms, b_ms = float(a["latency_median_ms"]), float(b["latency_median_ms"])
            spreads = [float(s) for s in (a[IQR], b[IQR]) if pd.notna(s)]
            noisy = within_noise(a_ms, b_ms, *(None if pd.isna(s) else float(s) for s in (a[IQR], b[IQR])))
            out.append({**dict(zip(present, values)), "smaller": a["variant"], "larger": b["variant"],
                        "smaller_ms": a_ms, "larger_ms": b_ms, "gap_pct": 100 * (b_ms / a_ms - 1) if a_ms > 0 else None,
                        "noise_pct": 100 * max(spreads) if spreads else None, "within_noise": noisy})
    return pd.DataFrame(out)
