"""Microcontroller boards: the fit checks of their variants (flash and SRAM need against the board's
budgets; nothing is flashed) and the best variant that fits on each board and runtime."""

from __future__ import annotations

import pandas as pd

from .tables import is_missing


def fit_checks(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of `rows` that carry a fit check (`mcu_fits` known)."""
    if "mcu_fits" not in rows.columns:
        return pd.DataFrame()
    return rows[rows["mcu_fits"].map(lambda v: not is_missing(v))].copy()


def best_that_fits(checks: pd.DataFrame, quality: str | None) -> pd.DataFrame:
    """Per board (`target`) and runtime: how many variants were checked (`n`), how many fit (`n_fit`),
    and `choice`, the variant with the highest `quality` among those that fit; without a quality, the
    one with the most FLOPs (more compute taken as more capacity). `choice` is None when none fits."""
    rows = []
    for (board, runtime), group in checks.groupby(["target", "runtime"]):
        fitting = group[group["mcu_fits"] == True]  # noqa: E712 - None (unknown) is not True
        choice = None
        if not fitting.empty:
            key = quality if quality else "flops"
            choice = fitting.loc[pd.to_numeric(fitting[key], errors="coerce").idxmax()]["variant"]
        rows.append({"target": board, "runtime": runtime, "n": len(group), "n_fit": len(fitting), "choice": choice})
    return pd.DataFrame(rows)
