"""How noisy each latency measurement was, and which differences the noise alone could explain.

The dispersion of one measurement comes from its raw samples: the interquartile range over the
median (how much a typical inference varies from run to run) and the 99th percentile over the median
(how far the slow tail reaches). A record without samples keeps its p99 / median from its summary
and has no IQR.

How well a median itself is known is another matter: measured in rounds, a record carries the 95 %
confidence interval of its median over the rounds, whose half-width is its *noise*; an older record
measured in one process has only its IQR / median to stand in. Two measurements differ *within the
noise* when their medians differ, relative to the faster one, by no more than their two noises
together: their bands overlap, so these measurements do not tell which of the two is faster.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import astuple
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..results import Record
from .fit import ok_rows

IQR = "latency_iqr_over_median"
P99 = "latency_p99_over_median"
NOISE = "latency_noise"  # the relative half-width of the median's interval, else IQR / median
CI = "latency_ci_half_width"
SWEEP_KEYS = ("recipe", "arch", "target", "runtime", "width")


def dispersion(record: Record) -> dict[str, float | None]:
    """IQR / median and p99 / median of one record's latency (None where it cannot be had)."""
    latency = record.latency
    if latency is None:
        return {IQR: None, P99: None}
    samples = np.asarray([s for s in latency.samples if isinstance(s, (int, float))], dtype=np.float64)
    out: dict[str, float | None] = {IQR: None, P99: None}
    if len(samples) >= 4:
        q1, median, q3, p99 = np.percentile(samples, [25, 50, 75, 99])
        if median > 0:
            out[IQR], out[P99] = float((q3 - q1) / median), float(p99 / median)
        return out
    median, p99 = latency.median, latency.p99
    if isinstance(median, (int, float)) and isinstance(p99, (int, float)) and median > 0:
        out[P99] = float(p99 / median)
    return out


def dispersion_columns(records: Iterable[Record], index: pd.Index) -> pd.DataFrame:
    """`dispersion` of each record and its noise, as columns aligned with the results table built from the
    same records."""
    rows = []
    for record in records:
        row = dispersion(record)
        precision = record.latency.precision if record.latency else None
        half = precision.half_width if precision is not None else None
        row[NOISE] = half if half is not None else row[IQR]
        rows.append(row)
    return pd.DataFrame(rows, index=index, columns=[IQR, P99, NOISE], dtype=float)


def relative_gap(faster: float, slower: float) -> float:
    """(slower - faster) / faster."""
    return (slower - faster) / faster


def within_noise(a_ms: float, b_ms: float, a_noise: float | None, b_noise: float | None) -> bool | None:
    """True when two medians differ by no more than their noises together (their bands overlap); None
    when neither has a noise figure."""
    spreads = [s for s in (a_noise, b_noise) if s is not None and np.isfinite(s)]
    if not spreads or not (a_ms > 0 and b_ms > 0):
        return None
    faster, slower = sorted((a_ms, b_ms))
    return relative_gap(faster, slower) <= sum(spreads)


def sweep_steps(frame: pd.DataFrame, keys: Sequence[str] = SWEEP_KEYS) -> pd.DataFrame:
    """Neighbouring variants of each sweep (same recipe, arch, target, runtime and width, in order of
    compute): their latency difference against the noise. One row per neighbouring pair.

    Columns: the sweep keys present, smaller, larger (variant names, by MACs), smaller_ms, larger_ms,
    gap_pct (larger over smaller, minus 1, in percent), noise_pct (the larger IQR / median, in percent),
    within_noise.
    """
    rows = ok_rows(frame)
    needed = {"variant", "latency_median_ms", "macs", NOISE}
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
            spreads = [float(s) for s in (a[NOISE], b[NOISE]) if pd.notna(s)]
            noisy = within_noise(a_ms, b_ms, *(None if pd.isna(s) else float(s) for s in (a[NOISE], b[NOISE])))
            out.append(
                {
                    **dict(zip(present, values)),
                    "smaller": a["variant"],
                    "larger": b["variant"],
                    "smaller_ms": a_ms,
                    "larger_ms": b_ms,
                    "gap_pct": 100 * (b_ms / a_ms - 1) if a_ms > 0 else None,
                    "noise_pct": 100 * sum(spreads) if spreads else None,
                    "within_noise": noisy,
                }
            )
    return pd.DataFrame(out)


def dispersion_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per target and runtime of `rows`: how many measurements, and the median and worst of their IQR /
    median (`iqr_*`), p99 / median (`p99_*`) and interval half-width (`ci_*`); None where none has it."""
    out = []
    for (target, runtime), group in rows.groupby(["target", "runtime"], sort=True):
        row: dict[str, object] = {"target": target, "runtime": runtime, "n": len(group)}
        for name, column in (("iqr", IQR), ("p99", P99), ("ci", CI)):
            values = _numbers(group, column)
            row[f"{name}_median"] = values.median() if len(values) else None
            row[f"{name}_max"] = values.max() if len(values) else None
        out.append(row)
    return pd.DataFrame(out)


def judged_within_noise(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows of a comparison table (a `within_noise` column) whose difference is within the noise,
    and how many rows were judged at all (None: no noise figure to judge by)."""
    if "within_noise" not in table.columns:
        return table.iloc[:0], 0
    noisy = table[table["within_noise"] == True]  # noqa: E712 - None (unknown) is not True
    return noisy, int(table["within_noise"].notna().sum())


def _numbers(rows: pd.DataFrame, column: str) -> pd.Series:
    """A column as numbers with the missing left out (none when the column is absent)."""
    if column not in rows.columns:
        return pd.Series(dtype=float)
    return pd.to_numeric(rows[column], errors="coerce").dropna()


ONE_RUN = "each measurement was taken in one run: merge runs of the same artifacts on the same target (or report a baseline history beside the run) to see it"


def spread_by_target(records: Iterable[Record]) -> pd.DataFrame:
    """Per target: how far a number moves between rounds of one run, and between whole runs.

    - `between_rounds_pct`: the standard deviation of the logarithms of the kept round medians (fresh
      processes) of one measurement, the median over the target's measurements, in percent. It is what a
      single measurement's interval is built from.
    - `between_runs_pct`: for the measurements taken in two or more runs (the same identity: artifact,
      runtime version, threads, API, cores), the standard deviation of the logarithms of their runs'
      medians, pooled over those measurements, in percent; None with `between_runs_missing` when no
      measurement was taken twice. It holds each median's own noise as well, so it bounds the drift
      between runs from above; when it is well above the between-round spread, runs drift apart by more
      than a single interval shows.
    """
    rounds: dict[str, list[float]] = {}
    runs: dict[str, dict[tuple, dict[str, float]]] = {}
    for record in records:
        latency = record.latency
        if not record.ok or latency is None:
            continue
        medians = [m for m in latency.round_medians if isinstance(m, (int, float)) and m > 0]
        target_rounds = rounds.setdefault(record.target, [])
        if len(medians) >= 2:
            target_rounds.append(statistics.stdev(math.log(m) for m in medians))
        if isinstance(latency.median, (int, float)) and latency.median > 0 and record.run_id:
            by_run = runs.setdefault(record.target, {}).setdefault(astuple(record.identity), {})
            by_run[record.run_id] = latency.median
    out = []
    for target in sorted(rounds):
        repeated = [list(by_run.values()) for by_run in runs.get(target, {}).values() if len(by_run) >= 2]
        degrees = sum(len(medians) - 1 for medians in repeated)
        pooled = (
            math.sqrt(
                sum(statistics.variance([math.log(m) for m in medians]) * (len(medians) - 1) for medians in repeated)
                / degrees
            )
            if degrees
            else None
        )
        out.append(
            {
                "target": target,
                "measurements": len(rounds[target]),
                "between_rounds_pct": 100 * statistics.median(rounds[target]) if rounds[target] else None,
                "measured_in_several_runs": len(repeated),
                "between_runs_pct": 100 * pooled if pooled is not None else None,
                "between_runs_missing": None if pooled is not None else ONE_RUN,
            }
        )
    return pd.DataFrame(out)
