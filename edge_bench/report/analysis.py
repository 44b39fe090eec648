"""What a report concludes, as DataFrames: fits, recommendations, fronts, selections, comparisons.

No text and no files here: `sections` turns these tables into prose and tables, `plots` into figures,
and the report writer saves every table as a CSV beside the report (`Analysis.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..results import Record
from . import noise
from .fit import emulated_rows, fit_table, memory_ratios, ok_rows, working_rss_bytes
from .pareto import COST_COLUMNS, pareto_fronts, quality_column
from .selection import (
    best_for_device,
    cheapest_within_budget,
    cross_device_table,
    cross_runtime_table,
    random_resolution_policy,
)
from .setup import is_random, setup_table
from .tables import is_missing

DEFAULT_BUDGET_POINTS = 0.75  # the paper's accuracy budget, in points
DEFAULT_FIDELITY_BAR_DB = 20.0  # without labels: an INT8 artifact this close to its FP32 model counts as faithful
ACCURACY_COLUMNS = ("top1", "miou")
# Fronts, like fits, never mix architectures: each architecture's own trade-off, per target and runtime.
FRONT_GROUP_BY = ("arch", "target", "runtime")
QUALITY_LABELS = {"top1": "top-1 %", "miou": "mIoU %", "sqnr_db": "SQNR dB", "top1_agreement": "top-1 agreement %"}


def with_derived_columns(frame: pd.DataFrame, records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The results table with what the report derives from each record: `macs` where only FLOPs were
    recorded (a multiply-accumulate is 2 FLOPs), and the latency's dispersion (`noise.dispersion`).
    Columns already present are kept as they are."""
    frame = frame.copy()
    if "flops" in frame.columns:
        halves = pd.to_numeric(frame["flops"], errors="coerce") / 2
        frame["macs"] = series(frame, "macs").fillna(halves) if "macs" in frame.columns else halves
    if len(frame) == len(records):
        for column, values in noise.dispersion_columns(records, frame.index).items():
            if column not in frame.columns:
                frame[column] = values
    return frame


def series(rows: pd.DataFrame, column: str) -> pd.Series:
    """A column as numbers (NaN where missing or not numeric; all NaN when the column is absent)."""
    return (
        pd.to_numeric(rows[column], errors="coerce") if column in rows.columns else pd.Series(np.nan, index=rows.index)
    )


@dataclass
class Analysis:
    """Everything a report reads, each table computed once, on first use."""

    frame: pd.DataFrame  # results.flatten rows
    records: list[Record]
    budget_points: float = DEFAULT_BUDGET_POINTS
    fidelity_bar_db: float = DEFAULT_FIDELITY_BAR_DB
    ok: pd.DataFrame = field(init=False)  # measured on a real CPU: what fits, fronts and choices use
    emulated: pd.DataFrame = field(init=False)  # measured on an emulated target: shown, never ranked

    def __post_init__(self) -> None:
        self.frame = with_derived_columns(self.frame, self.records)
        self.ok = ok_rows(self.frame) if "status" in self.frame.columns else self.frame.iloc[:0]
        self.emulated = emulated_rows(self.frame)

    # ------------------------------------------------------------ what the records hold

    def has(self, column: str, rows: pd.DataFrame | None = None) -> bool:
        rows = self.ok if rows is None else rows
        return column in rows.columns and pd.to_numeric(rows[column], errors="coerce").notna().any()

    @property
    def several_recipes(self) -> bool:
        return "recipe" in self.frame.columns and self.frame["recipe"].nunique(dropna=True) > 1

    @property
    def accuracy_column(self) -> str | None:
        return next((c for c in ACCURACY_COLUMNS if self.has(c)), None)

    @property
    def quality(self) -> str | None:
        """Labelled accuracy where measured, else the fidelity to FP32."""
        return self.accuracy_column or quality_column(self.frame)

    @property
    def costs(self) -> list[str]:
        return [c for c in COST_COLUMNS if self.has(c)]

    @property
    def targets(self) -> list[str]:
        return sorted(self.ok["target"].dropna().astype(str).unique()) if "target" in self.ok.columns else []

    @property
    def runtimes(self) -> list[str]:
        return sorted(self.ok["runtime"].dropna().unique()) if "runtime" in self.ok.columns else []

    def distinct(self, column: str) -> list[str]:
        if column not in self.frame.columns:
            return []
        return sorted({str(v) for v in self.frame[column] if not is_missing(v)})

    def record_reasons(self, get: Callable[[Record], Any]) -> list[str]:
        """Distinct non-empty values of `get(record)` over the records, with the targets they come from."""
        by_reason: dict[str, set[str]] = {}
        for record in self.records:
            reason = get(record)
            if reason:
                by_reason.setdefault(str(reason), set()).add(str(record.target))
        return [f"{', '.join(sorted(targets))}: {reason}" for reason, targets in sorted(by_reason.items())]

    @property
    def imprecise(self) -> pd.DataFrame:
        """Ok measurements whose median was not known to the target precision when they stopped."""
        if "latency_precision" not in self.ok.columns:
            return self.ok.iloc[:0]
        return self.ok[self.ok["latency_precision"] == "imprecise"]

    def random_weights(self, target: str | None = None) -> bool:
        """Every ok measurement (on `target`) is of an artifact with random weights."""
        records = [r for r in self.records if r.ok and (target is None or r.target == target)]
        return bool(records) and all(is_random(r) for r in records)

    def accuracy_reason(self) -> str:
        notes = [n.removeprefix("not measured: ") for n in self.distinct("accuracy_note")]
        return "; ".join(notes) if notes else "the records carry no accuracy"

    # ------------------------------------------------------------ tables

    @cached_property
    def fits(self) -> pd.DataFrame:
        return fit_table(self.frame) if len(self.ok) else pd.DataFrame()

    @cached_property
    def recommendations(self) -> pd.DataFrame:
        """Per target, the variant to ship and the rule that chose it."""
        return pd.DataFrame([self._recommend(target) for target in self.targets])

    def _recommend(self, target: str) -> dict[str, Any]:
        accuracy = self.accuracy_column
        on_target = self.ok[self.ok["target"].astype(str) == target]
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
        if accuracy and self.has(accuracy, on_target):
            choice = best_for_device(self.frame, target, accuracy, "latency_median_ms", self.budget_points)
            label = QUALITY_LABELS[accuracy].removesuffix(" %")
            row.update(
                rule=f"the lowest median latency among the variants whose {label} is within {self.budget_points:g} "
                f"points of the best {label} measured on the target (any width, resolution and runtime)",
                quality_col=accuracy,
                best_quality=choice.reference_quality,
                note=choice.note,
            )
            chosen = choice.row
            if choice.reference_quality is not None:
                pool = pool[series(pool, accuracy) >= choice.reference_quality - self.budget_points - 1e-9]
        elif self.random_weights(target):
            row["rule"] = (
                "random weights, so no accuracy to choose by: the lowest median latency. The INT8-vs-FP32 "
                "fidelity of random-weight artifacts is a conversion check, not an accuracy statement (see below)"
            )
            chosen = on_target.loc[latency.idxmin()] if latency.notna().any() else None
            if chosen is None:
                row["note"] = "no latency measured"
        elif self.has("sqnr_db", on_target):
            sqnr = series(on_target, "sqnr_db")
            if "sqnr_note" in on_target.columns:  # identical outputs: SQNR stored as null, fidelity is perfect
                sqnr = sqnr.where(on_target["sqnr_note"] != "outputs identical", np.inf)
            faithful = on_target[(sqnr >= self.fidelity_bar_db) & latency.notna()]
            row.update(
                rule=f"no accuracy measured ({self.accuracy_reason()}): the lowest median latency among the "
                f"artifacts whose SQNR against their own FP32 model is at least {self.fidelity_bar_db:g} dB "
                "(calibration distribution). SQNR does not compare resolutions: what a smaller input "
                "costs in accuracy is not measured here",
                quality_col="sqnr_db",
                best_quality=float(sqnr.max()),
            )
            chosen = faithful.loc[series(faithful, "latency_median_ms").idxmin()] if len(faithful) else None
            pool = faithful
            if chosen is None:
                row["note"] = f"no artifact reaches {self.fidelity_bar_db:g} dB (best: {sqnr.max():.1f} dB)"
        else:
            row["rule"] = (
                "no quality measured (no evaluation in these records): the lowest median latency, quality unknown"
            )
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
            if self.several_recipes:
                row["recipe"] = chosen.get("recipe")
            row.update(self._runner_up(chosen, pool))
        return row

    @staticmethod
    def _runner_up(chosen: Any, pool: pd.DataFrame) -> dict[str, Any]:
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

    @cached_property
    def memory_ratios(self) -> pd.DataFrame:
        # The frame has one row per record, in order: the per-phase RSS is read from the records.
        working = [working_rss_bytes(r.memory) for r in self.records]
        frame = self.frame.assign(working_rss_bytes=working) if len(working) == len(self.frame) else self.frame
        return memory_ratios(frame)

    @cached_property
    def pareto(self) -> pd.DataFrame:
        """Every front row, per architecture, target, runtime and cost (needs a quality)."""
        return (
            pareto_fronts(self.frame, self.quality, self.costs, group_by=FRONT_GROUP_BY)
            if self.quality
            else pd.DataFrame()
        )

    @cached_property
    def selection(self) -> pd.DataFrame:
        """The paper's selection per width (needs labelled accuracy)."""
        accuracy = self.accuracy_column
        return (
            cheapest_within_budget(self.frame, accuracy, "latency_median_ms", self.budget_points)
            if accuracy
            else pd.DataFrame()
        )

    @cached_property
    def random_resolution(self) -> tuple[pd.DataFrame, list[str]]:
        """The random-resolution policy of every recipe measured at two or more resolutions, against
        always running the largest; and the resolution set of each recipe."""
        if "resolution" not in self.ok.columns or self.ok.empty:
            return pd.DataFrame(), []
        tables, sets = [], []
        groups = self.ok.groupby("recipe", dropna=False) if "recipe" in self.ok.columns else [(None, self.ok)]
        for recipe, rows in groups:
            resolutions = sorted({int(r) for r in rows["resolution"].dropna()})
            if len(resolutions) < 2:
                continue
            sets.append(f"{recipe}: {resolutions}")
            policy = random_resolution_policy(rows, resolutions, self.costs, self.quality)
            tables.append(against_largest(policy, rows, resolutions, self.costs, self.quality))
        return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), sets

    @cached_property
    def cross_runtime(self) -> pd.DataFrame:
        if not {"executorch", "litert"} <= set(self.runtimes):
            return pd.DataFrame()
        table = cross_runtime_table(self.frame)
        if noise.NOISE in self.frame.columns and not table.empty:  # is the runtimes' difference larger than the noise?
            spread = cross_runtime_table(self.frame, metric=noise.NOISE)
            keys = [c for c in table.columns if c not in ("executorch", "litert", "executorch_over_litert")]
            spread = spread.rename(columns={"executorch": "_iqr_e", "litert": "_iqr_l"})[[*keys, "_iqr_e", "_iqr_l"]]
            table = table.merge(spread, on=keys, how="left")
            table["within_noise"] = [
                noise.within_noise(e, lt, None if pd.isna(ie) else ie, None if pd.isna(il) else il)
                for e, lt, ie, il in zip(table["executorch"], table["litert"], table["_iqr_e"], table["_iqr_l"])
            ]
            table = table.drop(columns=["_iqr_e", "_iqr_l"])
        return table

    @cached_property
    def cross_device(self) -> pd.DataFrame:
        return cross_device_table(self.frame) if len(self.targets) >= 2 else pd.DataFrame()

    @cached_property
    def delegation(self) -> pd.DataFrame:
        """One row per artifact: fully delegated or not, and the ops left to plain kernels."""
        rows, seen = [], set()
        for record in self.records:
            delegation = (record.analytic or {}).get("delegation")
            variant = record.variant.get("name")
            key = (record.recipe, variant, record.runtime)
            if not isinstance(delegation, dict) or key in seen:
                continue
            seen.add(key)
            left = delegation.get("non_delegated_ops")
            rows.append(
                {
                    "recipe": record.recipe,
                    "runtime": record.runtime,
                    "variant": variant,
                    "fully_delegated": delegation.get("fully_delegated"),
                    "delegated": delegation.get("delegated_nodes", delegation.get("delegated_ops")),
                    "non_delegated_ops": (", ".join(f"{op} ×{n}" for op, n in left.items()) or "none")
                    if isinstance(left, dict)
                    else None,
                    "reason": delegation.get("reason"),
                }
            )
        return pd.DataFrame(rows)

    @cached_property
    def setup(self) -> pd.DataFrame:
        """What each target and runtime was measured on (`setup.setup_table`)."""
        return setup_table(self.records)

    @cached_property
    def sweep_noise(self) -> pd.DataFrame:
        """Neighbouring variants of each sweep: their latency difference against the noise."""
        return noise.sweep_steps(self.frame)

    @cached_property
    def int8_coverage(self) -> pd.DataFrame:
        """One row per artifact: its INT8 coverage (artifacts.int8), `below_100pct_macs` flagging any
        artifact with MACs outside INT8, and the operators that stay float with the reason."""
        rows, seen = [], set()
        for record in self.records:
            int8 = (record.analytic or {}).get("int8")
            variant = record.variant.get("name")
            key = (record.recipe, variant, record.runtime)
            if not isinstance(int8, dict) or key in seen:
                continue
            seen.add(key)
            floats = int8.get("float_op_histogram") or {}
            reasons = int8.get("float_reasons") or {}
            pct = int8.get("int8_macs_pct")
            rows.append(
                {
                    "recipe": record.recipe,
                    "runtime": record.runtime,
                    "variant": variant,
                    "int8_macs_pct": pct,
                    "int8_ops_pct": int8.get("int8_ops_pct"),
                    "int8_ops": int8.get("int8_ops"),
                    "float_ops": int8.get("float_ops"),
                    "convert_ops": int8.get("convert_ops"),
                    "fully_int8": int8.get("fully_int8"),
                    "below_100pct_macs": pct is not None and pct < 100.0,
                    "float_ops_why": "; ".join(f"{op} ×{n}: {reasons.get(op, '')}" for op, n in floats.items())
                    or "none",
                }
            )
        return pd.DataFrame(rows)

    @cached_property
    def mcu(self) -> pd.DataFrame:
        """The fit checks of microcontroller targets."""
        if "mcu_fits" not in self.ok.columns:
            return pd.DataFrame()
        return self.ok[self.ok["mcu_fits"].map(lambda v: not is_missing(v))].copy()

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table worth a CSV beside the report (file name -> every row and column, unscaled)."""
        random_resolution, _ = self.random_resolution
        tables = {  # a table with no row is left out, unless it says "nothing qualified" (fronts, selection)
            "recommendations.csv": self.recommendations,
            "fit.csv": self.fits,
            "memory_ratios.csv": self.memory_ratios
            if self.has("model_rss_bytes") or self.has("deployed_activation_bytes")
            else pd.DataFrame(),
            "int8_coverage.csv": self.int8_coverage,
            "random_resolution.csv": random_resolution,
            "cross_runtime.csv": self.cross_runtime,
            "cross_device.csv": self.cross_device,
            "delegation.csv": self.delegation,
            "mcu_fit.csv": self.mcu,
            "setup.csv": self.setup,
            "sweep_noise.csv": self.sweep_noise,
        }
        tables = {name: table for name, table in tables.items() if not table.empty}
        if self.quality:
            tables["pareto.csv"] = self.pareto
        if self.accuracy_column:
            tables["selection.csv"] = self.selection
        return tables


def against_largest(
    policy: pd.DataFrame, rows: pd.DataFrame, resolutions: Sequence[int], costs: Sequence[str], quality: str | None
) -> pd.DataFrame:
    """The expectation against always running the largest resolution of the set: `<cost>_vs_largest`
    (a ratio) and `<quality>_minus_largest` (a difference, in the quality's unit)."""
    largest = rows[rows["resolution"] == max(resolutions)]
    keys = [k for k in ("recipe", "arch", "target", "runtime", "width") if k in policy.columns and k in largest.columns]
    columns = [c for c in (*costs, *([quality] if quality else [])) if f"{c}_mean" in policy.columns]
    values = largest[keys].assign(**{f"_{c}": series(largest, c) for c in columns})
    reference = values.groupby(keys, dropna=False).mean().reset_index() if keys else values.mean().to_frame().T
    merged = policy.merge(reference, on=keys, how="left") if keys else policy.assign(**reference.iloc[0].to_dict())
    for column in columns:
        mean, at_largest = merged[f"{column}_mean"].astype(float), merged[f"_{column}"].astype(float)
        if column == quality:
            policy[f"{column}_minus_largest"] = (mean - at_largest).to_numpy()
        else:
            policy[f"{column}_vs_largest"] = (mean / at_largest.where(at_largest != 0)).to_numpy()
    return policy
