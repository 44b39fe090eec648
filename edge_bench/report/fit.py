"""Measured against analytic: linear fits of latency and energy on FLOPs (and activation bytes).

Per group (by default per architecture, target and runtime: a fit across architectures would
measure how the architectures differ, not how compute predicts latency), over the variants of the sweep, ordinary least
squares fits `metric ~ a * flops + b` and `metric ~ a * flops + c * activation_bytes + b`, scored the
nn-Meter way: R², RMSPE and the share of variants predicted within ±10%, both in-sample and by
leave-one-out (each point predicted by the fit on all the others: the honest predictive error).

Only rows with status "ok" and finite, positive measurements count. Every row of a group is a point:
the same variant measured in two runs is two points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

METRIC_UNITS = {"latency_median_ms": "ms", "energy_mj": "mJ"}
MODELS: dict[str, tuple[str, ...]] = {
    "flops": ("flops",),
    "flops+activation": ("flops", "activation_bytes"),
}
GROUP_BY = ("arch", "target", "runtime")
WITHIN = 0.10  # ±10%, the nn-Meter accuracy criterion
# Coefficients are reported per these units of their predictor, in the metric's own unit.
COEFFICIENT_UNITS = {"flops": ("per_gflop", 1e9), "activation_bytes": ("per_mb_activation", 1e6)}

FIT_COLUMNS = (
    "metric", "unit", "model", "n", "fitted", "note", "r2", "rmspe_pct", "share_within_10pct",
    "loo_rmspe_pct", "loo_share_within_10pct", "per_gflop", "per_gmac", "per_mb_activation", "intercept", "condition_number",
)  # fmt: skip


@dataclass(frozen=True)
class LinearFit:
    """y = sum(coefficients * x) + intercept, in raw units (per FLOP, per byte)."""

    predictors: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    rank: int  # of the design matrix with its intercept column; < len(predictors) + 1: not identifiable
    condition_number: float  # of the design with columns scaled to unit max: large = near-collinear

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ np.asarray(self.coefficients) + self.intercept


def ols(x: np.ndarray, y: np.ndarray, predictors: Sequence[str] = ()) -> LinearFit:
    """Least squares with an intercept (np.linalg.lstsq). Columns are scaled to unit maximum before
    solving so that FLOPs (~1e9) and an intercept (~1) do not make the problem look rank deficient."""
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    design = np.column_stack([x, np.ones(len(y))])
    scale = np.abs(design).max(axis=0)
    scale[scale == 0] = 1.0
    scaled = design / scale
    solution, _, rank, singular = np.linalg.lstsq(scaled, np.asarray(y, dtype=np.float64), rcond=None)
    coefficients = solution / scale
    condition = float(singular[0] / singular[-1]) if singular[-1] > 0 else float("inf")
    names = tuple(predictors) or tuple(f"x{i}" for i in range(x.shape[1]))
    return LinearFit(names, tuple(float(c) for c in coefficients[:-1]), float(coefficients[-1]), int(rank), condition)


def leave_one_out(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Prediction of each point by the fit on all the other points."""
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    y = np.asarray(y, dtype=np.float64)
    predictions = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        predictions[i] = ols(x[keep], y[keep]).predict(x[i : i + 1])[0]
    return predictions


def r_squared(y: np.ndarray, predicted: np.ndarray) -> float:
    """1 - SS_res / SS_tot; NaN when the measurements do not vary."""
    y = np.asarray(y, dtype=np.float64)
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y - np.asarray(predicted)) ** 2)) / total


def percent_errors(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(predicted - measured) / measured, in percent."""
    y = np.asarray(y, dtype=np.float64)
    return 100.0 * (np.asarray(predicted, dtype=np.float64) - y) / y


def rmspe(y: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared percentage error, in percent."""
    return float(np.sqrt(np.mean(percent_errors(y, predicted) ** 2)))


def share_within(y: np.ndarray, predicted: np.ndarray, tolerance: float = WITHIN) -> float:
    """Percent of points predicted within ±tolerance (relative) of the measurement."""
    # A hair of slack so that a point exactly on the ±10% line is not lost to rounding.
    return float(100.0 * np.mean(np.abs(percent_errors(y, predicted)) <= 100.0 * tolerance + 1e-9))


# ---------------------------------------------------------------- tables


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows that hold a measurement of a real CPU (status "ok"); every row when there is no status
    column. Rows of an emulated target are left out: their timings are the emulator's, not the board's."""
    if "emulated" in df.columns:
        df = df[df["emulated"] != True]  # noqa: E712 - missing means a real device
    if "status" in df.columns:
        return df[df["status"] == "ok"]
    return df


def emulated_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The ok rows of emulated targets: shown in a report, never fitted or ranked."""
    if "emulated" not in df.columns or "status" not in df.columns:
        return df.iloc[:0]
    return df[(df["emulated"] == True) & (df["status"] == "ok")]  # noqa: E712


def _groups(df: pd.DataFrame, group_by: Sequence[str]):
    if df.empty:
        return
    keys = [k for k in group_by if k in df.columns]
    if not keys:
        yield {}, df
        return
    for values, group in df.groupby(keys, dropna=False, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        yield dict(zip(keys, values)), group


def _points(group: pd.DataFrame, metric: str, predictors: Sequence[str]) -> tuple[pd.DataFrame, str | None]:
    """The usable rows of a group for one fit, or a reason there are none."""
    for column in (metric, *predictors):
        if column not in group.columns or group[column].isna().all():
            return group.iloc[:0], f"no {column} in these results"
    values = group[[metric, *predictors]].apply(pd.to_numeric, errors="coerce").astype(float)
    usable = np.isfinite(values.to_numpy()).all(axis=1) & (values[metric].to_numpy() > 0)
    return group[usable], None


def _fit_one(group: pd.DataFrame, metric: str, model: str, min_points: int) -> dict:
    predictors = MODELS[model]
    row: dict = {"metric": metric, "unit": METRIC_UNITS.get(metric, ""), "model": model, "fitted": False}
    points, missing = _points(group, metric, predictors)
    row["n"] = len(points)
    needed = max(min_points, len(predictors) + 2)  # leave-one-out must still fit every parameter
    if missing:
        row["note"] = missing
        return row
    if len(points) < needed:
        row["note"] = (
            f"{len(points)} usable point{'s' if len(points) != 1 else ''}; the {model} fit needs at least {needed}"
        )
        return row
    x = points[list(predictors)].to_numpy(dtype=np.float64)
    y = points[metric].to_numpy(dtype=np.float64)
    fit = ols(x, y, predictors)
    predicted = fit.predict(x)
    loo = leave_one_out(x, y)
    row.update(
        fitted=True,
        note=None,
        r2=r_squared(y, predicted),
        rmspe_pct=rmspe(y, predicted),
        share_within_10pct=share_within(y, predicted),
        loo_rmspe_pct=rmspe(y, loo),
        loo_share_within_10pct=share_within(y, loo),
        intercept=fit.intercept,
        condition_number=fit.condition_number,
    )
    identifiable = fit.rank == len(predictors) + 1
    for name, coefficient in zip(predictors, fit.coefficients):
        column, per = COEFFICIENT_UNITS[name]
        row[column] = coefficient * per if identifiable else None
    if "per_gflop" in row:  # a multiply-accumulate is 2 FLOPs
        row["per_gmac"] = None if row["per_gflop"] is None else 2 * row["per_gflop"]
    if not identifiable:
        row["intercept"] = None
        row["note"] = (
            f"predictors collinear (rank {fit.rank} of {len(predictors) + 1}): the fit holds, its coefficients are not unique"
        )
    return row


def fit_table(
    df: pd.DataFrame,
    metrics: Sequence[str] = tuple(METRIC_UNITS),
    models: Sequence[str] = tuple(MODELS),
    group_by: Sequence[str] = GROUP_BY,
    min_points: int = 3,
) -> pd.DataFrame:
    """One row per group x metric x model.

    Columns: the group keys, metric, unit, model, n (usable points), fitted, note (why there is no
    fit, or a caveat), r2, rmspe_pct, share_within_10pct (percent of points within ±10%),
    loo_rmspe_pct, loo_share_within_10pct, per_gflop (metric unit per GFLOP), per_gmac (per
    10^9 multiply-accumulates: twice per_gflop), per_mb_activation
    (metric unit per 1e6 activation bytes), intercept (metric unit), condition_number.
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown fit models {unknown} (known: {list(MODELS)})")
    keys = [k for k in group_by if k in df.columns]
    rows = []
    for group_values, group in _groups(ok_rows(df), group_by):
        for metric in metrics:
            for model in models:
                rows.append({**group_values, **_fit_one(group, metric, model, min_points)})
    return pd.DataFrame(rows, columns=[*keys, *FIT_COLUMNS])


def fit_points(
    df: pd.DataFrame,
    metric: str = "latency_median_ms",
    model: str = "flops",
    group_by: Sequence[str] = GROUP_BY,
    min_points: int = 3,
) -> pd.DataFrame:
    """The points behind `fit_table`, for plots: every usable row of each fitted group with
    `predicted`, `loo_predicted`, `error_pct` and `loo_error_pct` (signed, in percent)."""
    predictors = MODELS[model]
    frames = []
    for _, group in _groups(ok_rows(df), group_by):
        points, missing = _points(group, metric, predictors)
        if missing or len(points) < max(min_points, len(predictors) + 2):
            continue
        x = points[list(predictors)].to_numpy(dtype=np.float64)
        y = points[metric].to_numpy(dtype=np.float64)
        predicted = ols(x, y, predictors).predict(x)
        loo = leave_one_out(x, y)
        frames.append(
            points.assign(
                predicted=predicted,
                loo_predicted=loo,
                error_pct=percent_errors(y, predicted),
                loo_error_pct=percent_errors(y, loo),
            )
        )
    if not frames:
        return df.iloc[:0].assign(predicted=[], loo_predicted=[], error_pct=[], loo_error_pct=[])
    return pd.concat(frames)
