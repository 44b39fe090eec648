"""Pareto fronts: the variants that no other variant beats on both quality and cost.

Row a dominates row b when a costs no more and is no worse, and is strictly better on at least one
of the two. The front is the set of non-dominated rows. Ties: rows with the very same (cost,
quality) do not dominate each other, so all of them stay on the front. Rows where quality or cost is
missing (NaN/None) are left out: they can be neither on the front nor dominate anything.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .fit import ok_rows

# Quality columns in order of preference: labelled accuracy first, fidelity when there are no labels.
QUALITY_COLUMNS = ("top1", "miou", "sqnr_db", "top1_agreement")
COST_COLUMNS = ("latency_median_ms", "energy_mj", "peak_rss_bytes")


def quality_column(df: pd.DataFrame) -> str | None:
    """The first of QUALITY_COLUMNS with any value in the ok rows, or None."""
    rows = ok_rows(df)
    for column in QUALITY_COLUMNS:
        if column in rows.columns and pd.to_numeric(rows[column], errors="coerce").notna().any():
            return column
    return None


def _non_dominated(quality: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated points (higher quality and lower cost are better)."""
    q_other, q_self = quality[None, :], quality[:, None]
    c_other, c_self = cost[None, :], cost[:, None]
    no_worse = (q_other >= q_self) & (c_other <= c_self)
    strictly_better = (q_other > q_self) | (c_other < c_self)
    return ~(no_worse & strictly_better).any(axis=1)


def pareto_mask(
    df: pd.DataFrame,
    quality_col: str,
    cost_col: str,
    higher_quality_is_better: bool = True,
    group_by: Sequence[str] | None = None,
) -> pd.Series:
    """True for the rows of `df` on the front (of their group when `group_by` is given).

    Aligned with df's index; False for rows that are not ok or miss a value.
    """
    for column in (quality_col, cost_col):
        if column not in df.columns:
            raise KeyError(f"no column {column!r} in the results (columns: {', '.join(map(str, df.columns))})")
    mask = pd.Series(False, index=df.index)
    rows = ok_rows(df)
    quality = pd.to_numeric(rows[quality_col], errors="coerce").astype(float)
    cost = pd.to_numeric(rows[cost_col], errors="coerce").astype(float)
    valid = quality.notna() & cost.notna()
    rows, quality, cost = rows[valid], quality[valid], cost[valid]
    if not higher_quality_is_better:
        quality = -quality
    keys = [k for k in (group_by or ()) if k in rows.columns]
    groups = [group.index for _, group in rows.groupby(keys, dropna=False)] if keys else [rows.index]
    for index in groups:
        mask.loc[index] = _non_dominated(quality.loc[index].to_numpy(), cost.loc[index].to_numpy())
    return mask


def pareto_front(
    df: pd.DataFrame,
    quality_col: str,
    cost_col: str,
    higher_quality_is_better: bool = True,
    group_by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The non-dominated rows, sorted by group then by increasing cost (original index kept)."""
    front = df[pareto_mask(df, quality_col, cost_col, higher_quality_is_better, group_by)]
    keys = [k for k in (group_by or ()) if k in front.columns]
    return front.sort_values([*keys, cost_col], kind="stable")


def pareto_fronts(
    df: pd.DataFrame,
    quality_col: str | None = None,
    cost_cols: Sequence[str] = COST_COLUMNS,
    group_by: Sequence[str] = ("target", "runtime"),
) -> pd.DataFrame:
    """Every front of one quality against each cost, stacked: the front's rows plus a `cost` column
    naming the cost they were ranked on. `quality_col` None: the best available (`quality_column`).
    Costs absent from the results are skipped; empty when there is no quality at all."""
    quality_col = quality_col or quality_column(df)
    if quality_col is None or quality_col not in df.columns:
        return df.iloc[:0].assign(cost=pd.Series(dtype=object))
    fronts = [
        pareto_front(df, quality_col, cost, group_by=group_by).assign(cost=cost)
        for cost in cost_cols
        if cost in df.columns
    ]
    fronts = [f for f in fronts if len(f)]
    return pd.concat(fronts) if fronts else df.iloc[:0].assign(cost=pd.Series(dtype=object))


def front_summary(fronts: pd.DataFrame, rows: pd.DataFrame, quality_col: str) -> pd.DataFrame:
    """Per group of `pareto_fronts` (arch, target, runtime where present) and cost: how many variants are
    on the front (`on_front`) out of the candidates of `rows` with both a quality and that cost
    (`candidates`), and the front's variant names, cheapest first (`front`). Ordered by group, then
    cost in the order of COST_COLUMNS."""
    quality = pd.to_numeric(rows[quality_col], errors="coerce")
    keys = [k for k in ("arch", "target", "runtime") if k in fronts.columns]
    out = []
    for values, group in fronts.groupby([*keys, "cost"], sort=True, dropna=False):
        where = dict(zip(keys, values[:-1]))
        cost = values[-1]
        pool = rows
        for key, value in where.items():
            pool = pool[pool[key] == value]
        scored = quality.loc[pool.index].notna() & pd.to_numeric(pool[cost], errors="coerce").notna()
        out.append(
            {
                **where,
                "cost": cost,
                "on_front": len(group),
                "candidates": int(scored.sum()),
                "front": tuple(group["variant"]),
            }
        )
    if not out:
        return pd.DataFrame()
    order = {c: i for i, c in enumerate(COST_COLUMNS)}
    return pd.DataFrame(out).sort_values([*keys, "cost"], key=lambda c: c.map(order) if c.name == "cost" else c)
