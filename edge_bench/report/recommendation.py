"""Per target, the variant to ship and the rule that chose it, with the runner-up and whether the choice
beats it by more than the noise.

The rule depends on what was measured: labelled accuracy (the fastest variant within the accuracy
budget of the best), random weights (the fastest: there is no accuracy to choose by), fidelity to FP32
only (the fastest artifact faithful to its FP32 model), or nothing (the fastest, quality unknown).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from . import noise
from .columns import QUALITY_LABELS, series
from .selection import best_for_device
from .tables import is_missing


class Evidence(Protocol):
    """What a recommendation reads of the analysis (`analysis.Analysis` provides it)."""

    frame: pd.DataFrame
    ok: pd.DataFrame
    budget_points: float
    fidelity_bar_db: float

    @property
    def accuracy_column(self) -> str | None: ...

    @property
    def several_recipes(self) -> bool: ...

    def has(self, column: str, rows: pd.DataFrame | None = None) -> bool: ...

    def random_weights(self, target: str | None = None) -> bool: ...

    def accuracy_reason(self) -> str: ...


def recommend(a: Evidence, target: str) -> dict[str, Any]:
    """The recommendation for `target`: variant, runtime, quality, latency, the rule and a note (why
    there is none), and the runner-up (`runner_up`)."""
    accuracy = a.accuracy_column
    on_target = a.ok[a.ok["target"].astype(str) == target]
    latency = series(on_target, "latency_median_ms")
    row: dict[str, Any] = {
        "target": target,
        "variant": None,
        "runtime": None,
        "quality_col": None,
        "quality": None,
        "best_quality": None,
        "latency_median_ms": None,
        "rule": None,
        "note": None,
    }
    pool = on_target[latency.notna()]  # the candidates the rule chooses among, for the runner-up
    if accuracy and a.has(accuracy, on_target):
        choice = best_for_device(a.frame, target, accuracy, "latency_median_ms", a.budget_points)
        label = QUALITY_LABELS[accuracy].removesuffix(" %")
        row.update(
            rule=f"the lowest median latency among the variants whose {label} is within {a.budget_points:g} "
            f"points of the best {label} measured on the target (any width, resolution and runtime)",
            quality_col=accuracy,
            best_quality=choice.reference_quality,
            note=choice.note,
        )
        chosen = choice.row
        if choice.reference_quality is not None:
            pool = pool[series(pool, accuracy) >= choice.reference_quality - a.budget_points - 1e-9]
    elif a.random_weights(target):
        row["rule"] = (
            "random weights, so no accuracy to choose by: the lowest median latency. The INT8-vs-FP32 "
            "fidelity of random-weight artifacts is a conversion check, not an accuracy statement (see below)"
        )
        chosen = on_target.loc[latency.idxmin()] if latency.notna().any() else None
        if chosen is None:
            row["note"] = "no latency measured"
    elif a.has("sqnr_db", on_target):
        sqnr = series(on_target, "sqnr_db")
        if "sqnr_note" in on_target.columns:  # identical outputs: SQNR stored as null, fidelity is perfect
            sqnr = sqnr.where(on_target["sqnr_note"] != "outputs identical", np.inf)
        faithful = on_target[(sqnr >= a.fidelity_bar_db) & latency.notna()]
        row.update(
            rule=f"no accuracy measured ({a.accuracy_reason()}): the lowest median latency among the "
            f"artifacts whose SQNR against their own FP32 model is at least {a.fidelity_bar_db:g} dB "
            "(calibration distribution). SQNR does not compare resolutions: what a smaller input "
            "costs in accuracy is not measured here",
            quality_col="sqnr_db",
            best_quality=float(sqnr.max()),
        )
        chosen = faithful.loc[series(faithful, "latency_median_ms").idxmin()] if len(faithful) else None
        pool = faithful
        if chosen is None:
            row["note"] = f"no artifact reaches {a.fidelity_bar_db:g} dB (best: {sqnr.max():.1f} dB)"
    else:
        row["rule"] = "no quality measured (no evaluation in these records): the lowest median latency, quality unknown"
        chosen = on_target.loc[latency.idxmin()] if latency.notna().any() else None
        if chosen is None:
            row["note"] = "no latency measured"
    if chosen is not None:
        row.update(
            variant=chosen.get("variant"),
            runtime=chosen.get("runtime"),
            latency_median_ms=chosen.get("latency_median_ms"),
        )
        if row["quality_col"]:
            row["quality"] = chosen.get(row["quality_col"])
            if row["quality_col"] == "sqnr_db" and chosen.get("sqnr_note") == "outputs identical":
                row["quality"] = np.inf
        for column in ("energy_mj", "peak_rss_bytes", "resolution", "width"):
            row[column] = chosen.get(column)
        if a.several_recipes:
            row["recipe"] = chosen.get("recipe")
        row.update(runner_up(chosen, pool))
    return row


def runner_up(chosen: Any, pool: pd.DataFrame) -> dict[str, Any]:
    """The next-fastest candidate, and whether the chosen one's lead over it is within the noise."""

    def key(row: Any) -> tuple[str, str, str]:
        return str(row.get("variant")), str(row.get("runtime")), str(row.get("recipe"))

    others = pool[[key(row) != key(chosen) for _, row in pool.iterrows()]]
    if others.empty:
        return {}
    second = others.loc[series(others, "latency_median_ms").idxmin()]
    ms, second_ms = float(chosen["latency_median_ms"]), float(second["latency_median_ms"])
    pair = [chosen.get(noise.NOISE), second.get(noise.NOISE)]
    spreads = [None if is_missing(v) else float(v) for v in pair]
    known = [s for s in spreads if s is not None]
    return {
        "runner_up": second.get("variant"),
        "runner_up_runtime": second.get("runtime"),
        "runner_up_ms": second_ms,
        "lead_pct": 100 * noise.relative_gap(ms, second_ms),
        "noise_pct": 100 * sum(known) if known else None,
        "within_noise": noise.within_noise(ms, second_ms, *spreads),
    }
