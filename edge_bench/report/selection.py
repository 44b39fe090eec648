"""Choosing variants from measurements, as the paper does.

- `cheapest_within_budget`: per width, the cheapest variant (in the paper: the smallest resolution)
  whose quality is within a budget, in points, of that width's best (or of a given reference).
- `best_for_device`: the cheapest variant on one target meeting the budget, whatever its width.
- `random_resolution_policy`: expected cost and quality of picking a resolution uniformly at random
  from a set, from the per-resolution measurements; `against_largest` compares it with always running
  the largest resolution of the set.

Quality is higher-is-better (accuracy in percent, SQNR in dB); budgets are in its unit.
Only rows with status "ok" count; rows missing the quality or the cost are left out.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .fit import ok_rows
from .pareto import COST_COLUMNS, quality_column

SELECTION_GROUP_BY = ("recipe", "arch", "target", "runtime", "width")
VARIANT_COLUMNS = ("recipe", "arch", "variant", "resolution", "width")
_SLACK = 1e-9  # a variant exactly on the budget line is within it, whatever the float rounding


def _present(df: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c in df.columns]


def require_columns(df: pd.DataFrame, *columns: str) -> None:
    for column in columns:
        if column not in df.columns:
            raise InputError(f"no column '{column}' in these results (columns: {', '.join(map(str, df.columns))})")


def _check_budget(budget_points: float) -> None:
    if not np.isfinite(budget_points) or budget_points < 0:
        raise InputError(f"the quality budget must be a number of points >= 0, got {budget_points}")


def _scored(df: pd.DataFrame, quality_col: str, cost_col: str) -> pd.DataFrame:
    """ok rows with numeric `_quality` and `_cost`, rows missing either dropped."""
    require_columns(df, quality_col, cost_col)
    rows = ok_rows(df).assign(
        _quality=lambda d: pd.to_numeric(d[quality_col], errors="coerce").astype(float),
        _cost=lambda d: pd.to_numeric(d[cost_col], errors="coerce").astype(float),
    )
    return rows[rows["_quality"].notna() & rows["_cost"].notna()]


def _cheapest_first(rows: pd.DataFrame) -> pd.DataFrame:
    """Cost ascending; ties go to the smaller resolution, then the better quality."""
    keys, ascending = ["_cost"], [True]
    if "resolution" in rows.columns:
        keys.append("resolution")
        ascending.append(True)
    keys.append("_quality")
    ascending.append(False)
    return rows.sort_values(keys, ascending=ascending, kind="stable")


def _reference(rows: pd.DataFrame, reference: Any, quality_col: str) -> tuple[float, pd.Series | Mapping | None]:
    """(reference quality, the reference row or None)."""
    if isinstance(reference, str):
        if reference != "max":
            raise InputError(f"reference must be 'max', a number or a result row, got {reference!r}")
        best = rows[rows["_quality"] == rows["_quality"].max()]
        row = _cheapest_first(best).iloc[0]
        return float(row["_quality"]), row
    if isinstance(reference, (pd.Series, Mapping)):
        if quality_col not in reference:
            raise InputError(f"the reference row has no '{quality_col}'")
        return float(reference[quality_col]), reference
    return float(reference), None


def _row_value(row: pd.Series | Mapping | None, column: str) -> Any:
    if row is None or column not in row:
        return None
    value = row[column]
    return None if np.ndim(value) == 0 and pd.isna(value) else value


def cheapest_within_budget(
    df: pd.DataFrame,
    quality_col: str,
    cost_col: str,
    budget_points: float = 0.75,
    reference: str | float | pd.Series | Mapping = "max",
    group_by: Sequence[str] = SELECTION_GROUP_BY,
) -> pd.DataFrame:
    """Per group (by default per recipe, arch, target, runtime and width), the cheapest variant
    with quality >= reference - budget_points.

    reference: "max" (the group's best quality; its cheapest such row is the reference row), a
    number (a fixed quality), or a row (its `quality_col`, and its cost when it has `cost_col`).
    Columns: the group keys, variant, resolution, quality, cost, reference_quality, quality_drop
    (reference - quality), reference_variant, reference_cost, cost_ratio (cost / reference cost),
    n_within_budget, n_candidates, note (why there is no choice). One row per group.
    """
    _check_budget(budget_points)
    rows = _scored(df, quality_col, cost_col)
    keys = _present(rows, group_by)
    grouped = rows.groupby(keys, dropna=False, sort=True) if keys else [((), rows)]
    out = []
    for values, group in grouped:
        values = values if isinstance(values, tuple) else (values,)
        ref_quality, ref_row = _reference(group, reference, quality_col)
        ref_cost = _row_value(ref_row, "_cost") if isinstance(reference, str) else _row_value(ref_row, cost_col)
        within = group[group["_quality"] >= ref_quality - budget_points - _SLACK]
        result: dict[str, Any] = dict(zip(keys, values))
        result.update(
            reference_quality=ref_quality,
            reference_variant=_row_value(ref_row, "variant"),
            reference_cost=ref_cost,
            n_within_budget=len(within),
            n_candidates=len(group),
        )
        if within.empty:
            result.update(variant=None, resolution=None, quality=None, cost=None, quality_drop=None, cost_ratio=None)
            result["note"] = f"no variant within {budget_points} of {ref_quality:g} (best: {group['_quality'].max():g})"
        else:
            choice = _cheapest_first(within).iloc[0]
            result.update(
                variant=_row_value(choice, "variant"),
                resolution=_row_value(choice, "resolution"),
                quality=float(choice["_quality"]),
                cost=float(choice["_cost"]),
                quality_drop=ref_quality - float(choice["_quality"]),
                cost_ratio=float(choice["_cost"]) / float(ref_cost) if ref_cost else None,
                note=None,
            )
        out.append(result)
    columns = [
        *keys, "variant", "resolution", "quality", "cost", "reference_quality", "quality_drop",
        "reference_variant", "reference_cost", "cost_ratio", "n_within_budget", "n_candidates", "note",
    ]  # fmt: skip
    return pd.DataFrame(out, columns=columns)


@dataclass(frozen=True)
class Choice:
    """The cheapest variant meeting a quality budget on one target (variant None: none does)."""

    target: str
    quality_col: str
    cost_col: str
    budget_points: float
    reference_quality: float | None
    variant: str | None
    runtime: str | None
    quality: float | None
    cost: float | None
    row: Mapping[str, Any] | None  # the chosen result row, read-only
    note: str | None = None


def best_for_device(
    df: pd.DataFrame,
    target: str,
    quality_col: str,
    cost_col: str,
    budget_points: float = 0.75,
    reference: str | float | pd.Series | Mapping = "max",
    runtime: str | None = None,
) -> Choice:
    """The overall cheapest variant on `target` (any width, resolution, and runtime unless given)
    whose quality is within `budget_points` of the reference ("max": the best measured there)."""
    _check_budget(budget_points)
    require_columns(df, "target")
    ok = ok_rows(df)
    if not (ok["target"] == target).any():
        known = ", ".join(sorted(map(str, ok["target"].dropna().unique()))) or "none"
        raise InputError(f"target '{target}' has no ok measurement in these results (targets: {known})")
    rows = _scored(df[df["target"] == target], quality_col, cost_col)
    if runtime is not None:
        rows = rows[rows["runtime"] == runtime] if "runtime" in rows.columns else rows.iloc[:0]

    def nothing(reference_quality: float | None, note: str) -> Choice:
        return Choice(
            target, quality_col, cost_col, budget_points, reference_quality, None, runtime, None, None, None, note
        )

    if rows.empty:
        return nothing(None, f"no ok row on {target} with both {quality_col} and {cost_col}")
    ref_quality, _ = _reference(rows, reference, quality_col)
    within = rows[rows["_quality"] >= ref_quality - budget_points - _SLACK]
    if within.empty:
        return nothing(ref_quality, f"no variant within {budget_points} of {ref_quality:g}")
    choice = _cheapest_first(within).iloc[0]
    row = {k: v for k, v in choice.items() if not str(k).startswith("_")}
    return Choice(
        target=target,
        quality_col=quality_col,
        cost_col=cost_col,
        budget_points=budget_points,
        reference_quality=ref_quality,
        variant=_row_value(choice, "variant"),
        runtime=_row_value(choice, "runtime"),
        quality=float(choice["_quality"]),
        cost=float(choice["_cost"]),
        row=types.MappingProxyType(row),
    )


def random_resolution_policy(
    df: pd.DataFrame,
    resolutions: Sequence[int],
    cost_cols: Sequence[str] = COST_COLUMNS,
    quality_col: str | None = None,
    group_by: Sequence[str] = SELECTION_GROUP_BY,
) -> pd.DataFrame:
    """Expected cost and quality when each inference picks one of `resolutions` uniformly at random.

    Per group, each metric is first averaged over the rows measured at one resolution (repeated
    runs), then: `<col>_mean` (the expectation), `<col>_std` (its population standard deviation over
    the set, the spread of a single draw), `<col>_min` and `<col>_max` (the best and worst draw). A
    metric missing at any resolution of the set gets NaN: the expectation over the set is undefined.
    Columns also: n_resolutions (of the set found in the group), note (the resolutions missing).
    quality_col None: the best quality available (`quality_column`), or costs only.
    """
    wanted = sorted({int(r) for r in resolutions})
    if not wanted:
        raise InputError("the random-resolution policy needs at least one resolution")
    quality_col = quality_col or quality_column(df)
    columns = [c for c in (*cost_cols, *([quality_col] if quality_col else [])) if c in df.columns]
    require_columns(df, "resolution")
    rows = ok_rows(df)
    rows = rows[rows["resolution"].isin(wanted)]
    numeric = rows[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    keys = [k for k in group_by if k in rows.columns and k != "resolution"]
    numeric = numeric.assign(**{k: rows[k] for k in keys}, resolution=rows["resolution"].astype(int))
    out = []
    grouped = numeric.groupby(keys, dropna=False, sort=True) if keys else [((), numeric)]
    for values, group in grouped:
        values = values if isinstance(values, tuple) else (values,)
        # mean() skips NaN, so a resolution whose every row lacks a metric must stay NaN: count them.
        per_resolution = group.groupby("resolution")[columns].mean()
        missing = [r for r in wanted if r not in per_resolution.index]
        result: dict[str, Any] = dict(zip(keys, values))
        result["n_resolutions"] = len(per_resolution)
        result["note"] = f"not measured at {missing}: no expectation over the set" if missing else None
        for column in columns:
            series = per_resolution[column]
            defined = not missing and series.notna().all()
            result[f"{column}_mean"] = float(series.mean()) if defined else np.nan
            result[f"{column}_std"] = float(series.std(ddof=0)) if defined else np.nan
            result[f"{column}_min"] = float(series.min()) if defined else np.nan
            result[f"{column}_max"] = float(series.max()) if defined else np.nan
        out.append(result)
    stats = [f"{c}_{s}" for c in columns for s in ("mean", "std", "min", "max")]
    return pd.DataFrame(out, columns=[*keys, "n_resolutions", "note", *stats])


def random_resolution_by_recipe(
    rows: pd.DataFrame, costs: Sequence[str], quality: str | None
) -> tuple[pd.DataFrame, list[str]]:
    """`random_resolution_policy` of every recipe measured at two or more resolutions, against always
    running the largest (`against_largest`); and the resolution set of each such recipe."""
    tables, sets = [], []
    groups = rows.groupby("recipe", dropna=False) if "recipe" in rows.columns else [(None, rows)]
    for recipe, group in groups:
        resolutions = sorted({int(r) for r in group["resolution"].dropna()})
        if len(resolutions) < 2:
            continue
        sets.append(f"{recipe}: {resolutions}")
        policy = random_resolution_policy(group, resolutions, costs, quality)
        tables.append(against_largest(policy, group, resolutions, costs, quality))
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), sets


def against_largest(
    policy: pd.DataFrame, rows: pd.DataFrame, resolutions: Sequence[int], costs: Sequence[str], quality: str | None
) -> pd.DataFrame:
    """The expectation against always running the largest resolution of the set: `<cost>_vs_largest`
    (a ratio) and `<quality>_minus_largest` (a difference, in the quality's unit)."""
    largest = rows[rows["resolution"] == max(resolutions)]
    keys = [k for k in ("recipe", "arch", "target", "runtime", "width") if k in policy.columns and k in largest.columns]
    # the policy has `<column>_mean` only for the columns the rows hold
    columns = [c for c in (*costs, *([quality] if quality else [])) if f"{c}_mean" in policy.columns]
    values = largest[keys].assign(**{f"_{c}": pd.to_numeric(largest[c], errors="coerce") for c in columns})
    reference = values.groupby(keys, dropna=False).mean().reset_index() if keys else values.mean().to_frame().T
    merged = policy.merge(reference, on=keys, how="left") if keys else policy.assign(**reference.iloc[0].to_dict())
    for column in columns:
        mean, at_largest = merged[f"{column}_mean"].astype(float), merged[f"_{column}"].astype(float)
        if column == quality:
            policy[f"{column}_minus_largest"] = (mean - at_largest).to_numpy()
        else:
            policy[f"{column}_vs_largest"] = (mean / at_largest.where(at_largest != 0)).to_numpy()
    return policy
