"""What a report concludes, as DataFrames and numbers: fits, recommendations, fronts, selections,
comparisons, and the facts each section states.

No text and no files here: `sections` turns these into prose and tables, `plots` into figures, and the
report writer saves every table as a CSV beside the report (`Analysis.tables`). Each concern computes
in its own module (`fit`, `memory`, `pareto`, `selection`, `recommendation`, `side_by_side`, `noise`,
`setup`, `coverage`, `microcontrollers`); `Analysis` computes each table once, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Sequence

import pandas as pd

from ..results import Record
from . import noise
from .columns import ACCURACY_COLUMNS, series, with_derived_columns
from .coverage import delegation_table, int8_table, per_runtime
from .fit import emulated_rows, fit_points, fit_table, ok_rows
from .memory import memory_ratios, ratio_spread, with_working_rss
from .microcontrollers import best_that_fits, fit_checks
from .pareto import COST_COLUMNS, front_summary, pareto_fronts, pareto_mask, quality_column
from .recommendation import recommend
from .selection import cheapest_within_budget, random_resolution_by_recipe
from .setup import busy_targets, is_random, per_target, setup_table
from .side_by_side import cross_device_table, runtime_comparison, runtime_summary
from .tables import is_missing

DEFAULT_BUDGET_POINTS = 0.75  # the paper's accuracy budget, in points
DEFAULT_FIDELITY_BAR_DB = 20.0  # without labels: an INT8 artifact this close to its FP32 model counts as faithful
# Fronts, like fits, never mix architectures: each architecture's own trade-off, per target and runtime.
FRONT_GROUP_BY = ("arch", "target", "runtime")


@dataclass(frozen=True)
class Counts:
    """How many measurements there are and what became of them."""

    total: int
    ok: int  # on a real CPU
    failed: int
    emulated: int  # ok on an emulated target
    emulated_targets: tuple[str, ...]
    throttled: int  # changed throttle state while measured


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
    def unmeasured_costs(self) -> list[str]:
        return [c for c in COST_COLUMNS if c not in self.costs]

    @property
    def targets(self) -> list[str]:
        return sorted(self.ok["target"].dropna().astype(str).unique()) if "target" in self.ok.columns else []

    def targets_without(self, column: str) -> list[str]:
        """The targets none of whose ok measurements has a value in `column`."""
        return sorted(set(self.targets) - set(self.ok[series(self.ok, column).notna()]["target"].astype(str)))

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

    def energy_missing_reasons(self, targets: Sequence[str] | None = None) -> list[str]:
        """Why the records (of `targets`) carry no energy, with the targets each reason comes from."""
        return self.record_reasons(
            lambda r: r.energy_missing_reason if targets is None or r.target in targets else None
        )

    def memory_missing_reasons(self) -> list[str]:
        """Why the records carry no model-attributable memory, with the targets each reason comes from."""
        return self.record_reasons(lambda r: r.memory.missing_reason if r.memory else None)

    @property
    def counts(self) -> Counts:
        frame = self.frame
        throttled = (
            int((frame["throttle_changed"] == True).sum())  # noqa: E712 - None is not throttled
            if "throttle_changed" in frame.columns
            else 0
        )
        return Counts(
            total=len(frame),
            ok=len(self.ok),
            failed=int((frame["status"] != "ok").sum()) if "status" in frame.columns else 0,
            emulated=len(self.emulated),
            emulated_targets=tuple(sorted(self.emulated["target"].astype(str).unique())) if len(self.emulated) else (),
            throttled=throttled,
        )

    @property
    def failed(self) -> pd.DataFrame:
        """The measurements that did not succeed."""
        return self.frame[self.frame["status"] != "ok"] if "status" in self.frame.columns else self.frame.iloc[:0]

    @property
    def failed_evaluations(self) -> pd.DataFrame:
        """The measurements whose evaluation (accuracy or fidelity) failed."""
        if "eval_error" not in self.frame.columns:
            return self.frame.iloc[:0]
        return self.frame[self.frame["eval_error"].map(lambda v: not is_missing(v))]

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

    @property
    def fidelity_ranges(self) -> dict[str, tuple[float, float]]:
        """The lowest and highest SQNR and top-1 agreement measured, for those measured at all."""
        ranges = {}
        for column in ("sqnr_db", "top1_agreement"):
            values = series(self.ok, column).dropna()
            if len(values):
                ranges[column] = (values.min(), values.max())
        return ranges

    def accuracy_reason(self) -> str:
        notes = [n.removeprefix("not measured: ") for n in self.distinct("accuracy_note")]
        return "; ".join(notes) if notes else "the records carry no accuracy"

    @cached_property
    def busy_targets(self) -> dict[str, tuple[float, int]]:
        """Targets whose load reached their usable cores before a measurement (`setup.busy_targets`)."""
        return busy_targets(self.records)

    # ------------------------------------------------------------ tables

    @cached_property
    def fits(self) -> pd.DataFrame:
        return fit_table(self.frame) if len(self.ok) else pd.DataFrame()

    def fits_of(self, metric: str, model: str | None = None, measured: bool = False) -> pd.DataFrame:
        """The fits of `metric` (of one `model` only when given; only groups with a point when `measured`)."""
        fits = self.fits
        keep = fits["metric"] == metric
        if model is not None:
            keep &= fits["model"] == model
        if measured:
            keep &= fits["n"] > 0
        return fits[keep]

    @cached_property
    def fit_points(self) -> pd.DataFrame:
        """Every point of the latency fits, measured beside predicted (`fit.fit_points`)."""
        return fit_points(self.frame)

    @cached_property
    def recommendations(self) -> pd.DataFrame:
        """Per target, the variant to ship and the rule that chose it (`recommendation.recommend`)."""
        return pd.DataFrame([recommend(self, target) for target in self.targets])

    @property
    def rules(self) -> dict[str, list[str]]:
        """Each rule the recommendations were made by -> the targets it chose for, in order."""
        table = self.recommendations
        return {rule: list(table[table["rule"] == rule]["target"]) for rule in dict.fromkeys(table["rule"])}

    @property
    def choices_within_noise(self) -> pd.DataFrame:
        """The recommendations that beat their runner-up by no more than the noise."""
        noisy, _ = noise.judged_within_noise(self.recommendations)
        return noisy

    @cached_property
    def measured_on(self) -> pd.DataFrame:
        """Per target: its CPUs and threads (`setup.per_target`)."""
        return per_target(self.setup) if not self.setup.empty else pd.DataFrame()

    @cached_property
    def memory_ratios(self) -> pd.DataFrame:
        return memory_ratios(with_working_rss(self.frame, self.records))

    @cached_property
    def memory_spread(self) -> pd.DataFrame:
        """Per target and runtime, each memory ratio's median and range (`memory.ratio_spread`)."""
        return ratio_spread(self.memory_ratios)

    @cached_property
    def pareto(self) -> pd.DataFrame:
        """Every front row, per architecture, target, runtime and cost (needs a quality)."""
        return (
            pareto_fronts(self.frame, self.quality, self.costs, group_by=FRONT_GROUP_BY)
            if self.quality
            else pd.DataFrame()
        )

    @cached_property
    def front_summary(self) -> pd.DataFrame:
        """Per front: how many variants are on it of how many, and which (`pareto.front_summary`)."""
        return (
            front_summary(self.pareto, self.ok, self.quality) if self.quality and len(self.pareto) else pd.DataFrame()
        )

    @cached_property
    def latency_front(self) -> pd.Series:
        """Per row of the results: on its latency front or not (needs a quality)."""
        if not self.quality:
            return pd.Series(False, index=self.frame.index)
        return pareto_mask(self.frame, self.quality, "latency_median_ms", group_by=FRONT_GROUP_BY)

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
        return random_resolution_by_recipe(self.ok, self.costs, self.quality)

    @cached_property
    def cross_runtime(self) -> pd.DataFrame:
        if not {"executorch", "litert"} <= set(self.runtimes):
            return pd.DataFrame()
        return runtime_comparison(self.frame)

    @cached_property
    def cross_runtime_summary(self) -> pd.DataFrame:
        """Per target: on how many variants LiteRT was faster, and the spread of the ratio."""
        return runtime_summary(self.cross_runtime) if not self.cross_runtime.empty else pd.DataFrame()

    @property
    def runtimes_within_noise(self) -> tuple[pd.DataFrame, int]:
        """The runtime comparisons within the noise, and how many could be judged."""
        return noise.judged_within_noise(self.cross_runtime)

    @cached_property
    def cross_device(self) -> pd.DataFrame:
        return cross_device_table(self.frame) if len(self.targets) >= 2 else pd.DataFrame()

    @cached_property
    def delegation(self) -> pd.DataFrame:
        """One row per artifact: fully delegated or not, and the ops left to plain kernels."""
        return delegation_table(self.records)

    @cached_property
    def delegation_summary(self) -> pd.DataFrame:
        """Per runtime: how many artifacts are fully delegated, of how many."""
        return per_runtime(self.delegation, "fully_delegated")

    @cached_property
    def setup(self) -> pd.DataFrame:
        """What each target and runtime was measured on (`setup.setup_table`)."""
        return setup_table(self.records)

    @cached_property
    def noise_summary(self) -> pd.DataFrame:
        """Per target and runtime, how much the measurements spread (`noise.dispersion_summary`)."""
        return noise.dispersion_summary(self.ok)

    @cached_property
    def spread_by_target(self) -> pd.DataFrame:
        """Per target, the spread between rounds and between whole runs (`noise.spread_by_target`)."""
        return noise.spread_by_target(self.records)

    @cached_property
    def sweep_noise(self) -> pd.DataFrame:
        """Neighbouring variants of each sweep: their latency difference against the noise."""
        return noise.sweep_steps(self.frame)

    @property
    def sweep_steps_within_noise(self) -> tuple[pd.DataFrame, int]:
        """The sweep steps within the noise, and how many could be judged."""
        return noise.judged_within_noise(self.sweep_noise)

    @cached_property
    def int8_coverage(self) -> pd.DataFrame:
        """One row per artifact: its INT8 coverage (`coverage.int8_table`)."""
        return int8_table(self.records)

    @cached_property
    def int8_summary(self) -> pd.DataFrame:
        """Per runtime: how many artifacts are fully INT8 and how many run MACs outside INT8, of how many."""
        return per_runtime(self.int8_coverage, "fully_int8", "below_100pct_macs")

    @property
    def int8_flagged(self) -> int:
        """How many artifacts run some of their MACs outside INT8."""
        return int(self.int8_coverage["below_100pct_macs"].eq(True).sum()) if len(self.int8_coverage) else 0

    @cached_property
    def mcu(self) -> pd.DataFrame:
        """The fit checks of microcontroller targets."""
        return fit_checks(self.ok)

    @cached_property
    def mcu_best(self) -> pd.DataFrame:
        """Per board and runtime: the best variant that fits (`microcontrollers.best_that_fits`)."""
        return best_that_fits(self.mcu, self.accuracy_column) if len(self.mcu) else pd.DataFrame()

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
            "noise_by_target.csv": self.spread_by_target,
        }
        tables = {name: table for name, table in tables.items() if not table.empty}
        if self.quality:
            tables["pareto.csv"] = self.pareto
        if self.accuracy_column:
            tables["selection.csv"] = self.selection
        return tables
