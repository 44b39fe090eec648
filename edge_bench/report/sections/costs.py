"""The sections on what a variant costs and what it buys: latency and energy against compute, memory
against the analytic model, the quality/cost fronts, the paper's selection within an accuracy budget,
and the random-resolution policy."""

from __future__ import annotations

import pandas as pd

from ..analysis import Analysis
from ..blocks import Bullets, Section, Table, Text
from ..columns import ACCURACY_COLUMNS, QUALITY_LABELS
from ..tables import MB, is_missing, select
from ..variants import point_label
from .formatting import (
    COST_LABELS,
    COST_NAMES,
    COST_SCALES,
    METRIC_NAMES,
    QUALITY_UNITS,
    Images,
    figure,
    in_reading_order,
    shown,
)

# ---------------------------------------------------------------- measured against analytic

FIT_SPEC = (
    ("arch", "arch", None), ("target", "target", None), ("runtime", "runtime", None), ("metric", "metric", None),
    ("model", "model", None),
    ("n", "n", None), ("r2", "R²", None), ("rmspe_pct", "RMSPE %", None), ("share_within_10pct", "within ±10 %", None),
    ("loo_rmspe_pct", "LOO RMSPE %", None), ("loo_share_within_10pct", "LOO within ±10 %", None),
    ("per_gmac", "per GMAC", None), ("per_mb_activation", "per MB activation", None),
    ("intercept", "intercept", None), ("note", "note", None),
)  # fmt: skip


def _fit_table(fits: pd.DataFrame) -> Table:
    return Table(select(fits.assign(metric=fits["metric"].map(METRIC_NAMES)), FIT_SPEC))


def fit_section(a: Analysis, images: Images) -> Section:
    section = Section("Latency against compute")
    if a.fits.empty:
        emulated = " on a real CPU (emulated timings are never fitted)" if len(a.emulated) else ""
        section.blocks.append(Text(f"No fit: no ok measurement{emulated}."))
        return section
    section.blocks.append(
        Text(
            "Ordinary least squares per architecture, target and runtime (never across architectures): latency = a · MACs + b, "
            "and latency = a · MACs + c · activation bytes + b. Scores as nn-Meter gives them: R², RMSPE and the share of "
            "variants within ±10% of the fit, in-sample and leave-one-out (each variant predicted by the fit on the others). "
            "Slopes are in ms per GMAC (10^9 multiply-accumulates) and per MB of activations."
        )
    )
    section.blocks.append(_fit_table(a.fits_of("latency_median_ms")))
    section.blocks += figure(images, "latency_vs_macs") + figure(images, "parity")
    return section


def energy_section(a: Analysis, images: Images) -> Section:
    section = Section("Energy against compute")
    if not a.has("energy_mj"):
        reasons = a.energy_missing_reasons()
        why = "; ".join(reasons) if reasons else "no record carries an energy measurement"
        section.blocks.append(Text(f"No energy: {why}."))
        return section
    section.blocks.append(Text("The same fits for the energy per inference (mJ), on the targets with a meter."))
    section.blocks.append(_fit_table(a.fits_of("energy_mj", measured=True)))
    meters = a.distinct("meter")
    if meters:
        section.blocks.append(Text(f"Meters: {', '.join(meters)}."))
    without = a.targets_without("energy_mj")
    if without:
        reasons = a.energy_missing_reasons(without)
        section.blocks.append(Text("No energy on " + ("; ".join(reasons) if reasons else ", ".join(without)) + "."))
    section.blocks += figure(images, "energy_vs_macs")
    return section


MEMORY_SPEC = (
    ("target", "target", None), ("runtime", "runtime", None), ("variant", "variant", None),
    ("model_rss_bytes", "model RSS MB", MB), ("memory_bytes", "analytic MB", MB), ("rss_over_memory", "RSS / analytic", None),
    ("activation_bytes", "activation MB", MB), ("deployed_activation_bytes", "deployed activation MB", MB),
    ("deployed_activation_diff_pct", "deployed − analytic %", None),
    ("liveness_bytes", "liveness MB", MB), ("arena_bytes", "LiteRT arena MB", MB), ("arena_over_liveness", "arena / liveness", None),
    ("planned_bytes", "runtime-allocated MB", MB), ("planned_io_only", "I/O only", None),
    ("working_rss_bytes", "prepare RSS MB", MB),
)  # fmt: skip
RATIO_NAMES = {
    "rss_over_memory": "model RSS / analytic memory",
    "deployed_over_activation": "deployed / analytic activation metric",
    "arena_over_liveness": "LiteRT arena / liveness peak",
}


def memory_section(a: Analysis, images: Images) -> Section:
    section = Section("Memory: measured against analytic")
    if not (a.has("model_rss_bytes") or a.has("deployed_activation_bytes")):
        reasons = a.memory_missing_reasons()
        why = "; ".join(reasons) if reasons else "no ok record carries one"
        section.blocks.append(Text(f"No model-attributable RSS and no deployed-graph memory: {why}."))
        return section
    section.blocks.append(
        Text(
            "Each ratio divides two figures of one kind. **RSS / analytic**: the model's resident memory (peak RSS "
            "minus RSS after imports) over the paper's analytic memory (INT8 weights + the largest operator's inputs "
            "and outputs). **Deployed − analytic**: the paper's activation metric on the graph the runtime runs (each "
            "tensor at its real type, converter-inserted operators such as explicit pads included) against the same "
            "metric on the torch graph at one byte per element. **Arena / liveness**: every activation as LiteRT's "
            "builtin kernels lay them out (a real interpreter's arena) over the liveness peak, its lower bound. "
            "Shown, never divided: **runtime-allocated**, the activation memory the runtime allocates itself as timed "
            "(ExecuTorch's memory plan; LiteRT's arena with the XNNPACK delegate), which for a fully delegated graph "
            "(I/O only) holds just the graph's input and output; and **prepare RSS**, what loading the model into the "
            "runtime and its first inference made resident (RSS after the first inference minus RSS after load: the "
            "delegate's packed weights and working memory, the runtime's buffers)."
        )
    )
    summary = []
    for _, row in a.memory_spread.iterrows():
        parts = [
            f"{name} ×{row[f'{ratio}_median']:.2f} (median, {row[f'{ratio}_min']:.2f}–{row[f'{ratio}_max']:.2f})"
            for ratio, name in RATIO_NAMES.items()
            if not is_missing(row[f"{ratio}_median"])
        ]
        summary.append(
            f"{row['target']} / {row['runtime']}: " + ("; ".join(parts) if parts else "no ratio (a side is missing)")
        )
    section.blocks.append(Bullets(tuple(summary)))
    section.blocks.append(Table(shown(a, in_reading_order(a.memory_ratios), MEMORY_SPEC)))
    section.blocks += figure(images, "memory")
    return section


# ---------------------------------------------------------------- quality against cost


def pareto_section(a: Analysis, images: Images) -> Section:
    section = Section("Pareto fronts")
    quality = a.quality
    if quality is None:
        why = (
            "no ok measurement on a real CPU (emulated ones are never ranked)"
            if a.ok.empty and len(a.emulated)
            else "no quality measured (no evaluation in these records)"
        )
        section.blocks.append(Text(f"{why[0].upper()}{why[1:]}: no front to draw."))
        return section
    label = QUALITY_LABELS.get(quality, quality)
    why = "" if quality in ACCURACY_COLUMNS else f" (no accuracy measured: {a.accuracy_reason()}; fidelity instead)"
    section.blocks.append(
        Text(
            f"Variants no other variant beats on both {label}{why} and cost, per architecture, target and runtime (never "
            f"across architectures), for each cost: {', '.join(COST_LABELS[c] for c in a.costs)}. Every front row, with its "
            "numbers, is in `pareto.csv`."
        )
    )
    if len(a.pareto):
        keys = [k for k in ("arch", "target", "runtime") if k in a.pareto.columns]
        rows = [
            {
                **{k: front[k] for k in keys},
                "ranked on": COST_LABELS[front["cost"]],
                "on the front": f"{front['on_front']} of {front['candidates']}",
                "front, cheapest first": ", ".join(point_label(v) for v in front["front"]),
            }
            for _, front in a.front_summary.iterrows()
        ]
        section.blocks.append(Table(pd.DataFrame(rows)))
    missing = [COST_LABELS[c] for c in a.unmeasured_costs]
    if missing:
        section.blocks.append(Text(f"Not ranked on {', '.join(missing)}: not measured."))
    section.blocks += figure(images, "pareto")
    return section


SELECTION_SPEC = (
    ("target", "target", None), ("runtime", "runtime", None), ("arch", "arch", None), ("width", "width", None),
    ("variant", "choice", None), ("resolution", "resolution", None), ("quality", "quality", None),
    ("quality_drop", "drop (points)", None), ("cost", "median ms", None), ("reference_variant", "best variant", None),
    ("reference_quality", "best quality", None), ("cost_ratio", "latency / best's", None),
    ("n_within_budget", "within budget", None), ("n_candidates", "candidates", None), ("note", "note", None),
)  # fmt: skip


def selection_section(a: Analysis, images: Images) -> Section:
    section = Section("Cheapest resolution per width within the accuracy budget")
    accuracy = a.accuracy_column
    if accuracy is None:
        section.blocks.append(
            Text(
                f"No accuracy measured ({a.accuracy_reason()}): choosing within an accuracy budget needs labelled accuracy "
                "(run with --dataset and pretrained weights); SQNR does not compare resolutions."
            )
        )
        return section
    section.blocks.append(
        Text(
            f"The paper's selection: per width (and target, runtime), the cheapest variant whose {QUALITY_LABELS[accuracy]} "
            f"is within {a.budget_points:g} points of that width's best."
        )
    )
    section.blocks.append(Table(shown(a, in_reading_order(a.selection), SELECTION_SPEC)))
    return section


def random_resolution_section(a: Analysis, images: Images) -> Section:
    section = Section("Random-resolution policy")
    if "resolution" not in a.ok.columns or a.ok.empty:
        section.blocks.append(Text("No ok measurement with a resolution."))
        return section
    table, sets = a.random_resolution
    if table.empty:
        section.blocks.append(
            Text("Every recipe here was measured at a single resolution: there is no set to draw from.")
        )
        return section
    quality = a.quality
    section.blocks.append(
        Text(
            "Each inference picks one resolution uniformly at random from the set measured (" + "; ".join(sets) + "). "
            "Expected cost and quality come from the per-resolution measurements; ± is the spread of a single draw; "
            "'/ largest' and '− largest' compare the expectation with always running the largest resolution."
        )
    )
    spec: list = [
        ("recipe", "recipe", None),
        ("target", "target", None),
        ("runtime", "runtime", None),
        ("width", "width", None),
        ("n_resolutions", "resolutions", None),
    ]
    for column in a.costs:
        label, scale = COST_LABELS[column], COST_SCALES.get(column)
        spec += [
            (f"{column}_mean", f"E[{label}]", scale),
            (f"{column}_std", f"± {label}", scale),
            (f"{column}_vs_largest", f"{COST_NAMES[column]} / largest", None),
        ]
    if quality:
        name, _ = QUALITY_UNITS.get(quality, (quality, ""))
        spec += [
            (f"{quality}_mean", f"E[{QUALITY_LABELS.get(quality, quality)}]", None),
            (f"{quality}_std", f"± {name}", None),
            (f"{quality}_minus_largest", f"{name} − largest", None),
        ]
    spec.append(("note", "note", None))
    section.blocks.append(Table(select(in_reading_order(table), spec)))
    return section
