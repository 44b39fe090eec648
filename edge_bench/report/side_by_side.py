"""Runtimes and targets side by side: one metric per variant under each runtime, or on each target, and
whether the difference between two runtimes is larger than the noise of their measurements.

Only rows with status "ok" count; repeated measurements of one cell are summarized by their median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import noise
from .fit import ok_rows
from .selection import VARIANT_COLUMNS, require_columns


def _variant_keys(df: pd.DataFrame) -> list[str]:
    return [c for c in VARIANT_COLUMNS if c in df.columns]


def cross_runtime_table(
    df: pd.DataFrame,
    metric: str = "latency_median_ms",
    runtimes: tuple[str, str] = ("executorch", "litert"),
) -> pd.DataFrame:
    """Per variant and target: `metric` under each of the two runtimes and
    `<first>_over_<second>` (above 1: the second runtime is faster). Repeated measurements of the
    same cell are summarized by their median. Only variants measured with both runtimes appear."""
    require_columns(df, metric, "runtime", "target")
    first, second = runtimes
    rows = ok_rows(df)
    rows = rows[rows["runtime"].isin(runtimes)].assign(_value=pd.to_numeric(rows[metric], errors="coerce"))
    keys = [*_variant_keys(rows), "target"]
    table = rows.groupby([*keys, "runtime"], dropna=False)["_value"].median().unstack("runtime")
    for runtime in runtimes:
        if runtime not in table.columns:
            table[runtime] = np.nan
    table = table[[first, second]].dropna(how="any")
    table[f"{first}_over_{second}"] = table[first] / table[second]
    table.columns.name = None
    return table.reset_index()


def cross_device_table(df: pd.DataFrame, metric: str = "latency_median_ms") -> pd.DataFrame:
    """Per variant and runtime: one `metric` column per target, `fastest` (the target with the lowest
    value) and `<target>_vs_fastest` ratios (1.0 for the fastest). Repeated measurements: median.
    A target that did not measure a variant shows NaN there."""
    require_columns(df, metric, "runtime", "target")
    rows = ok_rows(df)
    rows = rows.assign(_value=pd.to_numeric(rows[metric], errors="coerce"))
    keys = [*_variant_keys(rows), "runtime"]
    table = rows.groupby([*keys, "target"], dropna=False)["_value"].median().unstack("target")
    targets = [str(t) for t in table.columns]
    table.columns = targets
    table = table.dropna(how="all")
    values = table[targets]
    table["fastest"] = values.idxmin(axis=1)
    for target in targets:
        table[f"{target}_vs_fastest"] = values[target] / values.min(axis=1)
    return table.reset_index()


def runtime_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """`cross_runtime_table` of ExecuTorch against LiteRT with `within_noise` (`noise.within_noise`) where
    the results carry the noise of each measurement."""
    table = cross_runtime_table(df)
    if noise.NOISE in df.columns and not table.empty:  # is the runtimes' difference larger than the noise?
        spread = cross_runtime_table(df, metric=noise.NOISE)
        keys = [c for c in table.columns if c not in ("executorch", "litert", "executorch_over_litert")]
        spread = spread.rename(columns={"executorch": "_iqr_e", "litert": "_iqr_l"})[[*keys, "_iqr_e", "_iqr_l"]]
        table = table.merge(spread, on=keys, how="left")
        table["within_noise"] = [
            noise.within_noise(e, lt, None if pd.isna(ie) else ie, None if pd.isna(il) else il)
            for e, lt, ie, il in zip(table["executorch"], table["litert"], table["_iqr_e"], table["_iqr_l"])
        ]
        table = table.drop(columns=["_iqr_e", "_iqr_l"])
    return table


def runtime_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per target of `runtime_comparison`: how many variants were compared (`n`), on how many LiteRT was
    faster (`litert_faster`), and the median, min and max of ExecuTorch / LiteRT latency."""
    rows = []
    for target, group in table.groupby("target"):
        ratio = group["executorch_over_litert"].astype(float)
        rows.append(
            {
                "target": target,
                "n": len(ratio),
                "litert_faster": (ratio > 1).sum(),
                "median": ratio.median(),
                "min": ratio.min(),
                "max": ratio.max(),
            }
        )
    return pd.DataFrame(rows)
