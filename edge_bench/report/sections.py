"""The sections of a report, as plain blocks (text, bullets, tables, images) that the markdown and
HTML writers both render. Each section says in one line why it is empty rather than disappearing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from . import plots
from .fit import fit_points, fit_table, memory_ratios, ok_rows
from .pareto import COST_COLUMNS, pareto_fronts, pareto_mask, quality_column
from .selection import best_for_device, cheapest_within_budget, cross_device_table, cross_runtime_table, random_resolution_policy
from .tables import MB, cell, is_missing, select, summary_table

DEFAULT_BUDGET_POINTS = 0.75  # the paper's accuracy budget, in points
DEFAULT_FIDELITY_BAR_DB = 20.0  # without labels: an INT8 artifact this close to its FP32 model counts as faithful
ACCURACY_COLUMNS = ("top1", "miou")
QUALITY_LABELS = {"top1": "top-1 %", "miou": "mIoU %", "sqnr_db": "SQNR dB", "top1_agreement": "top-1 agreement %"}
QUALITY_UNITS = {"top1": ("top-1", "%"), "miou": ("mIoU", "%"), "sqnr_db": ("SQNR", " dB"), "top1_agreement": ("top-1 agreement", "%")}
METRIC_NAMES = {"latency_median_ms": "latency ms", "energy_mj": "energy mJ"}
COST_LABELS = {"latency_median_ms": "latency ms", "energy_mj": "energy mJ", "peak_rss_bytes": "peak RSS MB"}
COST_SCALES = {"peak_rss_bytes": MB}
COST_NAMES = {"latency_median_ms": "latency", "energy_mj": "energy", "peak_rss_bytes": "peak RSS"}


# ---------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Text:
    """A paragraph; **bold** and `code` are the only inline markup."""

    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame  # as shown: headers and scaled values


@dataclass(frozen=True)
class Image:
    path: Path
    alt: str


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass
class Context:
    """Everything the sections read, computed once."""

    frame: pd.DataFrame  # results.flatten rows
    records: list[dict[str, Any]]
    out_dir: Path
    budget_points: float = DEFAULT_BUDGET_POINTS
    fidelity_bar_db: float = DEFAULT_FIDELITY_BAR_DB
    fits: pd.DataFrame = field(init=False)
    ok: pd.DataFrame = field(init=False)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # file name -> every row and column, unscaled

    def keep(self, name: str, table: pd.DataFrame) -> pd.DataFrame:
        """Remember `table` to be written as `name` (CSV) beside the report."""
        self.tables[name] = table
        return table

    def __post_init__(self) -> None:
        self.ok = ok_rows(self.frame) if "status" in self.frame.columns else self.frame.iloc[:0]
        self.fits = fit_table(self.frame) if len(self.ok) else pd.DataFrame()

    def has(self, column: str, rows: pd.DataFrame | None = None) -> bool:
        rows = self.ok if rows is None else rows
        return column in rows.columns and pd.to_numeric(rows[column], errors="coerce").notna().any()

    @property
    def several_recipes(self) -> bool:
        return "recipe" in self.frame.columns and self.frame["recipe"].nunique(dropna=True) > 1

    def show(self, frame: pd.DataFrame, spec) -> pd.DataFrame:
        """`select`, with a recipe column in front when several recipes share the report (variant
        names alone may then be ambiguous)."""
        spec = list(spec)
        if self.several_recipes and "recipe" in frame.columns and all(column != "recipe" for column, _, _ in spec):
            spec.insert(0, ("recipe", "recipe", None))
        return select(frame, spec)

    @property
    def accuracy_column(self) -> str | None:
        return next((c for c in ACCURACY_COLUMNS if self.has(c)), None)

    @property
    def targets(self) -> list[str]:
        return sorted(self.ok["target"].dropna().astype(str).unique()) if "target" in self.ok.columns else []

    def distinct(self, column: str) -> list[str]:
        if column not in self.frame.columns:
            return []
        return sorted({str(v) for v in self.frame[column] if not is_missing(v)})

    def record_reasons(self, get: Callable[[dict[str, Any]], Any]) -> list[str]:
        """Distinct non-empty values of `get(record)` over the records, with the targets they come from."""
        by_reason: dict[str, set[str]] = {}
        for record in self.records:
            reason = get(record)
            if reason:
                by_reason.setdefault(str(reason), set()).add(str(record.get("target")))
        return [f"{', '.join(sorted(targets))}: {reason}" for reason, targets in sorted(by_reason.items())]


def _fmt(value: Any, unit: str = "") -> str:
    text = cell(value)
    return text if text == "–" or not unit else f"{text} {unit}"


def _series(ok: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(ok[column], errors="coerce") if column in ok.columns else pd.Series(np.nan, index=ok.index)


# ---------------------------------------------------------------- the answer


def _accuracy_reason(ctx: Context) -> str:
    notes = [n.removeprefix("not measured: ") for n in ctx.distinct("accuracy_note")]
    return "; ".join(notes) if notes else "the records carry no accuracy"


def recommendations(ctx: Context) -> pd.DataFrame:
    """Per target, the variant to ship and the rule that chose it."""
    accuracy = ctx.accuracy_column
    rows = []
    for target in ctx.targets:
        on_target = ctx.ok[ctx.ok["target"].astype(str) == target]
        latency = _series(on_target, "latency_median_ms")
        row: dict[str, Any] = {"target": target, "variant": None, "runtime": None, "quality_col": None, "quality": None,
                               "best_quality": None, "latency_median_ms": None, "rule": None, "note": None}
        if accuracy and ctx.has(accuracy, on_target):
            choice = best_for_device(ctx.frame, target, accuracy, "latency_median_ms", ctx.budget_points)
            label = QUALITY_LABELS[accuracy].removesuffix(" %")
            row.update(rule=f"the lowest median latency among the variants whose {label} is within {ctx.budget_points:g} "
                            f"points of the best {label} measured on the target (any width, resolution and runtime)",
                       quality_col=accuracy, best_quality=choice.reference_quality, note=choice.note)
            chosen = choice.row
        elif ctx.has("sqnr_db", on_target):
            sqnr = _series(on_target, "sqnr_db")
            if "sqnr_note" in on_target.columns:  # identical outputs: SQNR stored as null, fidelity is perfect
                sqnr = sqnr.where(on_target["sqnr_note"] != "outputs identical", np.inf)
            faithful = on_target[(sqnr >= ctx.fidelity_bar_db) & latency.notna()]
            row.update(rule=f"no accuracy measured ({_accuracy_reason(ctx)}): the lowest median latency among the "
                            f"artifacts whose SQNR against their own FP32 model is at least {ctx.fidelity_bar_db:g} dB "
                            "(calibration distribution). SQNR does not compare resolutions: what a smaller input "
                            "costs in accuracy is not measured here",
                       quality_col="sqnr_db", best_quality=float(sqnr.max()))
            chosen = faithful.loc[_series(faithful, "latency_median_ms").idxmin()] if len(faithful) else None
            if chosen is None:
                row["note"] = f"no artifact reaches {ctx.fidelity_bar_db:g} dB (best: {sqnr.max():.1f} dB)"
        else:
            row["rule"] = "no quality measured (no evaluation in these records): the lowest median latency, quality unknown"
            chosen = on_target.loc[latency.idxmin()] if latency.notna().any() else None
            if chosen is None:
                row["note"] = "no latency measured"
        if chosen is not None:
            row.update(variant=chosen.get("variant"), runtime=chosen.get("runtime"),
                       latency_median_ms=chosen.get("latency_median_ms"))
            if row["quality_col"]:
                row["quality"] = chosen.get(row["quality_col"])
                if row["quality_col"] == "sqnr_db" and chosen.get("sqnr_note") == "outputs identical":
                    row["quality"] = np.inf
            for column in ("energy_mj", "peak_rss_bytes", "resolution", "width"):
                row[column] = chosen.get(column)
            if ctx.several_recipes:
                row["recipe"] = chosen.get("recipe")
        rows.append(row)
    return pd.DataFrame(rows)


def _answer_line(row: pd.Series) -> str:
    if is_missing(row["variant"]):
        return f"**{row['target']}**: no recommendation: {row['note']}."
    parts = [f"{_fmt(row['latency_median_ms'], 'ms')} median"]
    if not is_missing(row["quality_col"]):
        name, unit = QUALITY_UNITS.get(row["quality_col"], (row["quality_col"], ""))
        parts.append(f"{name} {cell(row['quality'])}{unit} (best measured {cell(row['best_quality'])}{unit})")
    if not is_missing(row.get("energy_mj")):
        parts.append(f"{_fmt(row['energy_mj'], 'mJ')} per inference")
    if not is_missing(row.get("peak_rss_bytes")):
        parts.append(f"peak RSS {_fmt(row['peak_rss_bytes'] / MB, 'MB')}")
    recipe = f" (recipe {row['recipe']})" if not is_missing(row.get("recipe")) else ""
    return f"**{row['target']}**: ship **{row['variant']}**{recipe} with **{row['runtime']}**: {', '.join(parts)}."


def _fit_lines(ctx: Context, metric: str = "latency_median_ms") -> list[str]:
    if ctx.fits.empty:
        return []
    lines = []
    rows = ctx.fits[(ctx.fits["metric"] == metric) & (ctx.fits["model"] == "flops")]
    for _, f in rows.iterrows():
        where = f"{f['target']} / {f['runtime']}"
        if not f["fitted"]:
            lines.append(f"{where}: no fit ({f['note']}).")
            continue
        lines.append(
            f"{where}: R² {f['r2']:.3f}; {f['share_within_10pct']:.0f}% of {f['n']} variants within ±10% of the fit "
            f"(leave-one-out: {f['loo_share_within_10pct']:.0f}%, RMSPE {f['loo_rmspe_pct']:.1f}%)."
        )
    return lines


def answer(ctx: Context) -> Section:
    section = Section("Which variant to ship")
    table = recommendations(ctx)
    if table.empty:
        section.blocks.append(Text("No ok measurement in these results: nothing to recommend (see Failures)."))
        return section
    section.blocks.append(Bullets(tuple(_answer_line(r) for _, r in table.iterrows())))
    rules = list(dict.fromkeys(table["rule"]))
    for rule in rules:
        targets = f" ({', '.join(table[table['rule'] == rule]['target'])})" if len(rules) > 1 else ""
        section.blocks.append(Text(f"Rule{targets}: {rule}."))
    fit_lines = _fit_lines(ctx)
    if fit_lines:
        section.blocks.append(Text("**How well FLOPs predict latency** (a linear fit per target and runtime):"))
        section.blocks.append(Bullets(tuple(fit_lines)))
    section.blocks.append(Text(_counts(ctx)))
    ctx.keep("recommendations.csv", table)
    return section


def _counts(ctx: Context) -> str:
    frame = ctx.frame
    failed = len(frame) - len(ctx.ok)
    text = f"{len(ctx.ok)} of {len(frame)} measurements ok on {', '.join(ctx.targets) or 'no target'}"
    text += f"; {failed} failed (see Failures)." if failed else "."
    if "throttle_changed" in frame.columns:
        throttled = int((frame["throttle_changed"] == True).sum())  # noqa: E712 - None is not throttled
        if throttled:
            text += f" {throttled} measurement{'s' if throttled > 1 else ''} changed throttle state (flagged THROTTLED below)."
    return text


# ---------------------------------------------------------------- measurements


def measurements(ctx: Context) -> Section:
    section = Section("Measurements")
    section.blocks.append(Table(summary_table(ctx.frame, with_recipe=ctx.several_recipes)))
    notes = ctx.distinct("accuracy_note")
    if notes:
        section.blocks.append(Text("Accuracy: " + "; ".join(notes) + "."))
    fidelity = ctx.distinct("fidelity_inputs")
    if fidelity:
        section.blocks.append(Text(
            f"Fidelity (SQNR, top-1 agreement) of each INT8 artifact against its FP32 model on {'; '.join(fidelity)}."
        ))
    return section


def failures(ctx: Context) -> Section:
    section = Section("Failures")
    frame = ctx.frame
    items = []
    if "status" in frame.columns:
        for _, row in frame[frame["status"] != "ok"].iterrows():
            reason = row.get("error") or "no reason recorded"
            items.append(f"{row.get('variant')} / {row.get('runtime')} on {row.get('target')}: {reason}")
    if "eval_error" in frame.columns:
        for _, row in frame[frame["eval_error"].map(lambda v: not is_missing(v))].iterrows():
            items.append(f"evaluation of {row.get('variant')} / {row.get('runtime')}: {row['eval_error']}")
    section.blocks.append(Bullets(tuple(dict.fromkeys(items))) if items else Text("None: every measurement and evaluation succeeded."))
    return section


# ---------------------------------------------------------------- measured vs analytic

FIT_SPEC = (
    ("target", "target", None), ("runtime", "runtime", None), ("metric", "metric", None), ("model", "model", None),
    ("n", "n", None), ("r2", "R²", None), ("rmspe_pct", "RMSPE %", None), ("share_within_10pct", "within ±10 %", None),
    ("loo_rmspe_pct", "LOO RMSPE %", None), ("loo_share_within_10pct", "LOO within ±10 %", None),
    ("per_gflop", "per GFLOP", None), ("per_mb_activation", "per MB activation", None),
    ("intercept", "intercept", None), ("note", "note", None),
)  # fmt: skip


def fit_section(ctx: Context) -> Section:
    section = Section("Latency against FLOPs")
    if ctx.fits.empty:
        section.blocks.append(Text("No fit: no ok measurement."))
        return section
    fits = ctx.fits[ctx.fits["metric"] == "latency_median_ms"]
    section.blocks.append(Text(
        "Ordinary least squares per target and runtime: latency = a · FLOPs + b, and latency = a · FLOPs + c · activation "
        "bytes + b. Scores as nn-Meter gives them: R², RMSPE and the share of variants within ±10% of the fit, in-sample "
        "and leave-one-out (each variant predicted by the fit on the others). Slopes are in ms per GFLOP and per MB of activations."
    ))
    ctx.keep("fit.csv", ctx.fits)
    section.blocks.append(Table(select(fits.assign(metric=fits["metric"].map(METRIC_NAMES)), FIT_SPEC)))
    for path in (plots.metric_vs_gflops(ctx.frame, ctx.fits, ctx.out_dir), plots.parity(fit_points(ctx.frame), ctx.out_dir)):
        if path:
            section.blocks.append(Image(path, path.stem.replace("_", " ")))
    return section


def energy_section(ctx: Context) -> Section:
    section = Section("Energy against FLOPs")
    if not ctx.has("energy_mj"):
        reasons = ctx.record_reasons(lambda r: r.get("energy_missing_reason"))
        why = "; ".join(reasons) if reasons else "no record carries an energy measurement"
        section.blocks.append(Text(f"No energy: {why}."))
        return section
    fits = ctx.fits[(ctx.fits["metric"] == "energy_mj") & (ctx.fits["n"] > 0)]
    section.blocks.append(Text("The same fits for the energy per inference (mJ), on the targets with a meter."))
    section.blocks.append(Table(select(fits.assign(metric=fits["metric"].map(METRIC_NAMES)), FIT_SPEC)))
    meters = ctx.distinct("meter")
    if meters:
        section.blocks.append(Text(f"Meters: {', '.join(meters)}."))
    without = sorted(set(ctx.targets) - set(ctx.ok[_series(ctx.ok, "energy_mj").notna()]["target"].astype(str)))
    if without:
        reasons = ctx.record_reasons(lambda r: r.get("energy_missing_reason") if str(r.get("target")) in without else None)
        section.blocks.append(Text("No energy on " + ("; ".join(reasons) if reasons else ", ".join(without)) + "."))
    path = plots.metric_vs_gflops(ctx.frame, ctx.fits, ctx.out_dir, metric="energy_mj", name="energy_vs_gflops.png")
    if path:
        section.blocks.append(Image(path, "energy vs gflops"))
    return section


MEMORY_SPEC = (
    ("target", "target", None), ("runtime", "runtime", None), ("variant", "variant", None),
    ("model_rss_bytes", "model RSS MB", MB), ("memory_bytes", "analytic MB", MB), ("liveness_bytes", "liveness MB", MB),
    ("planned_bytes", "planned MB", MB), ("rss_over_memory", "RSS / analytic", None),
    ("rss_over_liveness", "RSS / liveness", None), ("rss_over_planned", "RSS / planned", None),
)  # fmt: skip
RATIO_NAMES = {"rss_over_memory": "analytic memory", "rss_over_liveness": "liveness peak", "rss_over_planned": "planned memory"}


def memory_section(ctx: Context) -> Section:
    section = Section("Memory: measured against analytic")
    if not ctx.has("model_rss_bytes"):
        reasons = ctx.record_reasons(lambda r: (r.get("memory") or {}).get("missing_reason"))
        why = "; ".join(reasons) if reasons else "no ok record carries one"
        section.blocks.append(Text(f"No model-attributable RSS: {why}."))
        return section
    ratios = memory_ratios(ctx.frame)
    section.blocks.append(Text(
        "Model-attributable RSS (the process's peak RSS minus its RSS after imports) over the paper's analytic "
        "memory (INT8 weights + the largest operator's inputs and outputs), over the liveness peak (tensors alive at "
        "once) and over what the runtime plans. Above 1: the runtime holds more than the model says."
    ))
    summary = []
    for keys, group in ratios.groupby(["target", "runtime"]):
        parts = []
        for ratio, name in RATIO_NAMES.items():
            values = pd.to_numeric(group[ratio], errors="coerce").dropna()
            if len(values):
                parts.append(f"{name} ×{values.median():.2f} (median, {values.min():.2f}–{values.max():.2f})")
        summary.append(f"{keys[0]} / {keys[1]}: RSS = " + ("; ".join(parts) if parts else "no ratio (a side is missing)"))
    section.blocks.append(Bullets(tuple(summary)))
    ctx.keep("memory_ratios.csv", ratios)
    section.blocks.append(Table(ctx.show(_in_order(ratios), MEMORY_SPEC)))
    path = plots.memory(ctx.frame, ctx.out_dir)
    if path:
        section.blocks.append(Image(path, "memory"))
    return section


# ---------------------------------------------------------------- quality against cost

def short_names(frame: pd.DataFrame) -> tuple[pd.Series, str]:
    """Variant names without the arch ("resnet50[resolution=140]" -> "140" when every variant sweeps
    only the resolution), and what the short name stands for."""
    inner = frame["variant"].astype(str).str.extract(r"\[(.*)\]$")[0]
    if inner.isna().any():
        return frame["variant"].astype(str), "variant"
    keys = inner.map(lambda text: tuple(part.split("=", 1)[0] for part in text.split(",")))
    if keys.map(len).eq(1).all() and keys.nunique() == 1:
        return inner.str.split("=", n=1).str[1], keys.iloc[0][0]
    return inner, "variant"


def pareto_section(ctx: Context) -> Section:
    section = Section("Pareto fronts")
    quality = ctx.accuracy_column or quality_column(ctx.frame)
    if quality is None:
        section.blocks.append(Text("No quality measured (no evaluation in these records): no front to draw."))
        return section
    label = QUALITY_LABELS.get(quality, quality)
    costs = [c for c in COST_COLUMNS if ctx.has(c)]
    fronts = pareto_fronts(ctx.frame, quality, costs)
    ctx.keep("pareto.csv", fronts)
    why = "" if quality in ACCURACY_COLUMNS else f" (no accuracy measured: {_accuracy_reason(ctx)}; fidelity instead)"
    section.blocks.append(Text(
        f"Variants no other variant beats on both {label}{why} and cost, per target and runtime, for each cost: "
        f"{', '.join(COST_LABELS[c] for c in costs)}. Every front row, with its numbers, is in `pareto.csv`."
    ))
    if len(fronts):
        names, stands_for = short_names(fronts)
        candidates = ctx.ok.assign(_q=_series(ctx.ok, quality))
        rows = []
        for (target, runtime, cost), group in fronts.assign(_name=names).groupby(["target", "runtime", "cost"], sort=True):
            pool = candidates[(candidates["target"] == target) & (candidates["runtime"] == runtime)]
            n = int((pool["_q"].notna() & _series(pool, cost).notna()).sum())
            rows.append({"target": target, "runtime": runtime, "ranked on": COST_LABELS[cost],
                         "on the front": f"{len(group)} of {n}", f"front ({stands_for}), cheapest first": ", ".join(group["_name"])})
        order = {COST_LABELS[c]: i for i, c in enumerate(COST_COLUMNS)}
        table = pd.DataFrame(rows).sort_values(
            ["target", "runtime", "ranked on"], key=lambda c: c.map(order) if c.name == "ranked on" else c
        )
        section.blocks.append(Table(table))
    missing = [COST_LABELS[c] for c in COST_COLUMNS if c not in costs]
    if missing:
        section.blocks.append(Text(f"Not ranked on {', '.join(missing)}: not measured."))
    mask = pareto_mask(ctx.frame, quality, "latency_median_ms", group_by=("target", "runtime"))
    path = plots.pareto(ctx.frame, quality, label, mask, ctx.out_dir)
    if path:
        section.blocks.append(Image(path, "pareto"))
    return section


SELECTION_SPEC = (
    ("target", "target", None), ("runtime", "runtime", None), ("arch", "arch", None), ("width", "width", None),
    ("variant", "choice", None), ("resolution", "resolution", None), ("quality", "quality", None),
    ("quality_drop", "drop (points)", None), ("cost", "median ms", None), ("reference_variant", "best variant", None),
    ("reference_quality", "best quality", None), ("cost_ratio", "latency / best's", None),
    ("n_within_budget", "within budget", None), ("n_candidates", "candidates", None), ("note", "note", None),
)  # fmt: skip


def selection_section(ctx: Context) -> Section:
    section = Section("Cheapest resolution per width within the accuracy budget")
    accuracy = ctx.accuracy_column
    if accuracy is None:
        section.blocks.append(Text(
            f"No accuracy measured ({_accuracy_reason(ctx)}): choosing within an accuracy budget needs labelled accuracy "
            "(run with --dataset and pretrained weights); SQNR does not compare resolutions."
        ))
        return section
    table = cheapest_within_budget(ctx.frame, accuracy, "latency_median_ms", ctx.budget_points)
    section.blocks.append(Text(
        f"The paper's selection: per width (and target, runtime), the cheapest variant whose {QUALITY_LABELS[accuracy]} "
        f"is within {ctx.budget_points:g} points of that width's best."
    ))
    ctx.keep("selection.csv", table)
    section.blocks.append(Table(ctx.show(_in_order(table), SELECTION_SPEC)))
    return section


def random_resolution_section(ctx: Context) -> Section:
    section = Section("Random-resolution policy")
    if "resolution" not in ctx.ok.columns or ctx.ok.empty:
        section.blocks.append(Text("No ok measurement with a resolution."))
        return section
    quality = ctx.accuracy_column or quality_column(ctx.frame)
    costs = [c for c in COST_COLUMNS if ctx.has(c)]
    tables, sets = [], []
    for recipe, rows in ctx.ok.groupby("recipe", dropna=False) if "recipe" in ctx.ok.columns else [(None, ctx.ok)]:
        resolutions = sorted({int(r) for r in rows["resolution"].dropna()})
        if len(resolutions) < 2:
            continue
        sets.append(f"{recipe}: {resolutions}")
        policy = random_resolution_policy(rows, resolutions, costs, quality)
        tables.append(_against_largest(policy, rows, resolutions, costs, quality))
    if not tables:
        section.blocks.append(Text("Every recipe here was measured at a single resolution: there is no set to draw from."))
        return section
    table = pd.concat(tables, ignore_index=True)
    section.blocks.append(Text(
        "Each inference picks one resolution uniformly at random from the set measured (" + "; ".join(sets) + "). "
        "Expected cost and quality come from the per-resolution measurements; ± is the spread of a single draw; "
        "'/ largest' and '− largest' compare the expectation with always running the largest resolution."
    ))
    spec: list = [("recipe", "recipe", None), ("target", "target", None), ("runtime", "runtime", None), ("width", "width", None),
                  ("n_resolutions", "resolutions", None)]
    for column in costs:
        label, scale = COST_LABELS[column], COST_SCALES.get(column)
        spec += [(f"{column}_mean", f"E[{label}]", scale), (f"{column}_std", f"± {label}", scale),
                 (f"{column}_vs_largest", f"{COST_NAMES[column]} / largest", None)]
    if quality:
        name, _ = QUALITY_UNITS.get(quality, (quality, ""))
        spec += [(f"{quality}_mean", f"E[{QUALITY_LABELS.get(quality, quality)}]", None), (f"{quality}_std", f"± {name}", None),
                 (f"{quality}_minus_largest", f"{name} − largest", None)]
    spec.append(("note", "note", None))
    ctx.keep("random_resolution.csv", table)
    section.blocks.append(Table(select(_in_order(table), spec)))
    return section


def _against_largest(policy: pd.DataFrame, rows: pd.DataFrame, resolutions: Sequence[int], costs: Sequence[str],
                     quality: str | None) -> pd.DataFrame:
    """The expectation against always running the largest resolution of the set: `<cost>_vs_largest`
    (a ratio) and `<quality>_minus_largest` (a difference, in the quality's unit)."""
    largest = rows[rows["resolution"] == max(resolutions)]
    keys = [k for k in ("recipe", "arch", "target", "runtime", "width") if k in policy.columns and k in largest.columns]
    columns = [c for c in (*costs, *([quality] if quality else [])) if f"{c}_mean" in policy.columns]
    values = largest[keys].assign(**{f"_{c}": _series(largest, c) for c in columns})
    reference = values.groupby(keys, dropna=False).mean().reset_index() if keys else values.mean().to_frame().T
    merged = policy.merge(reference, on=keys, how="left") if keys else policy.assign(**reference.iloc[0].to_dict())
    for column in columns:
        mean, at_largest = merged[f"{column}_mean"].astype(float), merged[f"_{column}"].astype(float)
        if column == quality:
            policy[f"{column}_minus_largest"] = (mean - at_largest).to_numpy()
        else:
            policy[f"{column}_vs_largest"] = (mean / at_largest.where(at_largest != 0)).to_numpy()
    return policy


def _in_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows by target, runtime, width, then from the largest resolution down (the paper's reading order)."""
    keys = [k for k in ("target", "runtime", "recipe", "width") if k in table.columns]
    ascending = [True] * len(keys)
    if "resolution" in table.columns:
        keys.append("resolution")
        ascending.append(False)
    return table.sort_values(keys, ascending=ascending, kind="stable") if keys else table


# ---------------------------------------------------------------- comparisons


def cross_runtime_section(ctx: Context) -> Section:
    section = Section("ExecuTorch against LiteRT")
    runtimes = sorted(ctx.ok["runtime"].dropna().unique()) if "runtime" in ctx.ok.columns else []
    if not {"executorch", "litert"} <= set(runtimes):
        section.blocks.append(Text(f"Only {', '.join(runtimes) or 'no runtime'} measured here: nothing to compare."))
        return section
    table = cross_runtime_table(ctx.frame)
    if table.empty:
        section.blocks.append(Text("No variant was measured with both runtimes on the same target."))
        return section
    ratio = table["executorch_over_litert"].astype(float)
    lines = []
    for target, group in table.groupby("target"):
        r = group["executorch_over_litert"].astype(float)
        lines.append(f"{target}: LiteRT faster on {(r > 1).sum()} of {len(r)} variants; ExecuTorch / LiteRT latency "
                     f"median ×{r.median():.2f} ({r.min():.2f}–{r.max():.2f}).")
    section.blocks.append(Bullets(tuple(lines)))
    shown = table.assign(executorch_over_litert=ratio)
    spec = (("target", "target", None), ("variant", "variant", None), ("executorch", "ExecuTorch ms", None),
            ("litert", "LiteRT ms", None), ("executorch_over_litert", "ExecuTorch / LiteRT", None))
    ctx.keep("cross_runtime.csv", table)
    section.blocks.append(Table(ctx.show(_in_order(shown), spec)))
    return section


def cross_device_section(ctx: Context) -> Section:
    section = Section("Across devices")
    if len(ctx.targets) < 2:
        section.blocks.append(Text(f"One target only ({', '.join(ctx.targets) or 'none'}): nothing to compare."))
        return section
    table = cross_device_table(ctx.frame)
    spec = [("variant", "variant", None), ("runtime", "runtime", None)]
    spec += [(t, f"{t} ms", None) for t in ctx.targets] + [("fastest", "fastest", None)]
    spec += [(f"{t}_vs_fastest", f"{t} / fastest", None) for t in ctx.targets]
    section.blocks.append(Text("Median latency of each variant on each target, and how far each target is from the fastest."))
    ctx.keep("cross_device.csv", table)
    section.blocks.append(Table(ctx.show(_in_order(table), spec)))
    return section


def delegation_section(ctx: Context) -> Section:
    section = Section("Delegation coverage")
    rows, seen = [], set()
    for record in ctx.records:
        delegation = (record.get("analytic") or {}).get("delegation")
        variant = (record.get("variant") or {}).get("name")
        key = (record.get("recipe"), variant, record.get("runtime"))
        if not isinstance(delegation, dict) or key in seen:
            continue
        seen.add(key)
        left = delegation.get("non_delegated_ops")
        rows.append({
            "recipe": record.get("recipe"), "runtime": record.get("runtime"), "variant": variant,
            "fully_delegated": delegation.get("fully_delegated"),
            "delegated": delegation.get("delegated_nodes", delegation.get("delegated_ops")),
            "non_delegated_ops": (", ".join(f"{op} ×{n}" for op, n in left.items()) or "none") if isinstance(left, dict) else None,
            "reason": delegation.get("reason"),
        })
    if not rows:
        section.blocks.append(Text("No delegation data in these records (analytic.delegation is absent)."))
        return section
    table = pd.DataFrame(rows)
    spec = (("runtime", "runtime", None), ("variant", "variant", None), ("fully_delegated", "fully delegated", None),
            ("delegated", "delegated ops/nodes", None), ("non_delegated_ops", "left to plain kernels", None),
            ("reason", "note", None))
    section.blocks.append(Text("Which operators run inside the XNNPACK delegate and which are left to the runtime's own kernels."))
    summary = []
    for runtime, group in table.groupby("runtime"):
        full = int((group["fully_delegated"] == True).sum())  # noqa: E712 - None (unknown) is not True
        summary.append(f"{runtime}: {full} of {len(group)} artifacts fully delegated.")
    section.blocks.append(Bullets(tuple(summary)))
    ctx.keep("delegation.csv", table)
    section.blocks.append(Table(ctx.show(table, spec)))
    return section


MCU_SPEC = (
    ("target", "board", None), ("runtime", "runtime", None), ("variant", "variant", None),
    ("mcu_fits", "fits", None), ("mcu_flash_need_bytes", "flash need kB", 1e3),
    ("mcu_flash_margin_bytes", "flash margin kB", 1e3), ("mcu_sram_need_bytes", "SRAM need kB", 1e3),
    ("mcu_sram_margin_bytes", "SRAM margin kB", 1e3), ("mcu_latency_estimate_ms", "estimated ms", None),
)  # fmt: skip


def mcu_section(ctx: Context) -> Section:
    """Microcontroller boards: which variants fit their flash and SRAM, and the best one that does."""
    section = Section("Microcontrollers: what fits")
    if "mcu_fits" not in ctx.ok.columns or ctx.ok["mcu_fits"].map(is_missing).all():
        section.blocks.append(Text("No microcontroller target in these results."))
        return section
    rows = ctx.ok[ctx.ok["mcu_fits"].map(lambda v: not is_missing(v))].copy()
    quality = ctx.accuracy_column
    rule = (f"the highest {quality} among the variants that fit" if quality else
            "the variant with the most FLOPs among those that fit (no accuracy measured: more compute "
            "is taken as more capacity)")
    section.blocks.append(Text(f"Nothing is flashed: need against the board's datasheet budgets, and a latency "
                               f"estimate from MACs and the board's MACs/cycle (an estimate, never a measurement). "
                               f"Best per board and runtime: {rule}."))
    best = []
    for (board, runtime), group in rows.groupby(["target", "runtime"]):
        fitting = group[group["mcu_fits"] == True]  # noqa: E712 - None (unknown) is not True
        if fitting.empty:
            best.append(f"{board} / {runtime}: none of {len(group)} variants fits.")
            continue
        key = quality if quality else "flops"
        choice = fitting.loc[pd.to_numeric(fitting[key], errors="coerce").idxmax()]
        best.append(f"{board} / {runtime}: **{choice['variant']}** ({len(fitting)} of {len(group)} variants fit).")
    section.blocks.append(Bullets(tuple(best)))
    ctx.keep("mcu_fit.csv", rows)
    section.blocks.append(Table(ctx.show(rows, MCU_SPEC)))
    return section


SECTIONS: tuple[Callable[[Context], Section], ...] = (
    answer, measurements, failures, fit_section, memory_section, pareto_section, selection_section,
    random_resolution_section, cross_runtime_section, cross_device_section, energy_section, delegation_section,
    mcu_section,
)  # fmt: skip


def build_sections(ctx: Context) -> list[Section]:
    return [make(ctx) for make in SECTIONS]
