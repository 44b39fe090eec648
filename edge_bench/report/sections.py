"""The sections of a report, as prose and tables over the `Analysis`: presentation only.

Every number comes from `analysis.Analysis`; figures are drawn beforehand (`plots.draw`) and arrive as
paths. Each section says in one line why it is empty rather than disappearing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from . import noise
from .analysis import ACCURACY_COLUMNS, QUALITY_LABELS, Analysis, series
from .blocks import Alert, Bullets, Image, Section, Table, Text
from .pareto import COST_COLUMNS
from .setup import busy_targets
from .tables import MB, cell, is_missing, select, summary_table
from .variants import point_label

QUALITY_UNITS = {
    "top1": ("top-1", "%"),
    "miou": ("mIoU", "%"),
    "sqnr_db": ("SQNR", " dB"),
    "top1_agreement": ("top-1 agreement", "%"),
}
METRIC_NAMES = {"latency_median_ms": "latency ms", "energy_mj": "energy mJ"}
COST_LABELS = {"latency_median_ms": "latency ms", "energy_mj": "energy mJ", "peak_rss_bytes": "peak RSS MB"}
COST_SCALES = {"peak_rss_bytes": MB}
COST_NAMES = {"latency_median_ms": "latency", "energy_mj": "energy", "peak_rss_bytes": "peak RSS"}
Images = Mapping[str, Path]  # figure name (plots.FIGURES) -> the PNG drawn for this report


def _fmt(value: Any, unit: str = "") -> str:
    text = cell(value)
    return text if text == "–" or not unit else f"{text} {unit}"


def _show(a: Analysis, frame: pd.DataFrame, spec) -> pd.DataFrame:
    """`select`, with a recipe column in front when several recipes share the report (variant names
    alone may then be ambiguous)."""
    spec = list(spec)
    if a.several_recipes and "recipe" in frame.columns and all(column != "recipe" for column, _, _ in spec):
        spec.insert(0, ("recipe", "recipe", None))
    return select(frame, spec)


def _image(images: Images, name: str) -> list[Image]:
    path = images.get(name)
    return [Image(path, path.stem.replace("_", " "))] if path else []


# ---------------------------------------------------------------- the answer


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


def _fit_lines(a: Analysis, metric: str = "latency_median_ms") -> list[str]:
    if a.fits.empty:
        return []
    lines = []
    rows = a.fits[(a.fits["metric"] == metric) & (a.fits["model"] == "flops")]
    for _, f in rows.iterrows():
        where = f"{f['target']} / {f['runtime']}"
        if not is_missing(f.get("arch")):
            where = f"{f['arch']} on {where}"
        if not f["fitted"]:
            lines.append(f"{where}: no fit ({f['note']}).")
            continue
        lines.append(
            f"{where}: R² {f['r2']:.3f}; {f['share_within_10pct']:.0f}% of {f['n']} variants within ±10% of the fit "
            f"(leave-one-out: {f['loo_share_within_10pct']:.0f}%, RMSPE {f['loo_rmspe_pct']:.1f}%)."
        )
    return lines


def answer(a: Analysis, images: Images) -> Section:
    section = Section("Which variant to ship")
    table = a.recommendations
    if table.empty:
        why = "only emulated targets were measured" if len(a.emulated) else "No ok measurement in these results"
        section.blocks.append(Text(f"{why[0].upper()}{why[1:]}: nothing to recommend (see Failures)."))
        section.blocks.append(Text(_counts(a)))
        return section
    section.blocks.append(Bullets(tuple(_answer_line(r) for _, r in table.iterrows())))
    section.blocks += _choice_noise(table)
    rules = list(dict.fromkeys(table["rule"]))
    for rule in rules:
        targets = f" ({', '.join(table[table['rule'] == rule]['target'])})" if len(rules) > 1 else ""
        section.blocks.append(Text(f"Rule{targets}: {rule}."))
    if a.random_weights():
        section.blocks.append(Text(random_weights_note(a)))
    fit_lines = _fit_lines(a)
    if fit_lines:
        section.blocks.append(
            Text("**How well FLOPs predict latency** (a linear fit per architecture, target and runtime):")
        )
        section.blocks.append(Bullets(tuple(fit_lines)))
    section.blocks.append(Text(_counts(a)))
    section.blocks.append(Text(_measured_on(a)))
    imprecise = a.imprecise
    if len(imprecise):
        items = [
            f"{row['variant']} / {row['runtime']} on {row['target']}: ±{row['latency_ci_half_width']:.1%}"
            if not is_missing(row.get("latency_ci_half_width"))
            else f"{row['variant']} / {row['runtime']} on {row['target']}"
            for _, row in imprecise.iterrows()
        ]
        section.blocks.append(
            Text(
                f"**Not measured to the target precision** ({len(imprecise)} of {len(a.ok)}): the recommendation, fits "
                "and fronts above include them, so conclusions that rest on them are uncertain. Re-measure on a quieter "
                "device, or allow more rounds ([measure] rounds_max, max_secs_per_measurement)."
            )
        )
        section.blocks.append(Bullets(tuple(items)))
    return section


def _choice_noise(table: pd.DataFrame) -> list[Alert]:
    """A warning for each target whose recommendation beats the runner-up by no more than the noise."""
    if "within_noise" not in table.columns:
        return []
    alerts = []
    for _, row in table[table["within_noise"] == True].iterrows():  # noqa: E712 - None (unknown) is not True
        alerts.append(
            Alert(
                f"on {row['target']}, {row['variant']} with {row['runtime']} is {row['lead_pct']:.1f}% faster than "
                f"{row['runner_up']} with {row['runner_up_runtime']}, no more than the run-to-run spread of these "
                f"measurements (their medians known to ±{row['noise_pct']:.1f}% together): these runs do not tell which of the two is faster."
            )
        )
    return alerts


def random_weights_note(a: Analysis) -> str:
    """Why a random-weight report's fidelity is not an accuracy statement."""
    sqnr, agreement = series(a.ok, "sqnr_db").dropna(), series(a.ok, "top1_agreement").dropna()
    figures = []
    if len(sqnr):
        figures.append(f"SQNR {sqnr.min():.1f}–{sqnr.max():.1f} dB")
    if len(agreement):
        figures.append(f"top-1 agreement {agreement.min():.0f}–{agreement.max():.0f}%")
    measured = f" ({', '.join(figures)})" if figures else ""
    return (
        "**Random weights.** Every artifact here holds random (seeded) weights, so there is no accuracy to report. "
        f"The INT8-vs-FP32 fidelity{measured} compares each INT8 artifact with its own FP32 model on the calibration "
        "distribution: a check that the conversion runs the same network, not an accuracy statement. Low values do "
        "not mean the quantization is broken: with random weights and random inputs these figures say nothing about "
        "how a trained network's accuracy survives INT8. For accuracy, build with pretrained weights (or a "
        "checkpoint) and run with `--dataset`."
    )


def _measured_on(a: Analysis) -> str:
    """One line per target: its CPU and threads (the full setup is in its own section)."""
    setup = a.setup
    if setup.empty:
        return "Measured on: no ok measurement."
    parts = []
    for target, rows in setup.groupby("target", sort=True):
        threads = "; ".join(dict.fromkeys(rows["threads"]))
        parts.append(f"{target} ({'; '.join(dict.fromkeys(rows['cpu']))}, {threads} threads)")
    return "Measured on " + ", ".join(parts) + ": see What it was measured on."


def _counts(a: Analysis) -> str:
    frame = a.frame
    failed = int((frame["status"] != "ok").sum()) if "status" in frame.columns else 0
    where = ", ".join(a.targets) or ("no target with a real CPU" if len(a.emulated) else "no target")
    text = f"{len(a.ok)} of {len(frame)} measurements ok on {where}"
    text += f"; {failed} failed (see Failures)." if failed else "."
    if len(a.emulated):
        names = ", ".join(sorted(a.emulated["target"].astype(str).unique()))
        text += (
            f" {len(a.emulated)} ok measurements on emulated targets ({names}) are listed under Measurements "
            "but left out of every fit, Pareto front, comparison and recommendation: their latency, memory "
            "and energy are an emulator's, not the board's CPU's."
        )
    if "throttle_changed" in frame.columns:
        throttled = int((frame["throttle_changed"] == True).sum())  # noqa: E712 - None is not throttled
        if throttled:
            text += f" {throttled} measurement{'s' if throttled > 1 else ''} changed throttle state (flagged THROTTLED below)."
    return text


# ---------------------------------------------------------------- measurements


def measurements(a: Analysis, images: Images) -> Section:
    section = Section("Measurements")
    section.blocks.append(Table(summary_table(a.frame, with_recipe=a.several_recipes)))
    notes = a.distinct("accuracy_note")
    if notes:
        section.blocks.append(Text("Accuracy: " + "; ".join(notes) + "."))
    fidelity = a.distinct("fidelity_inputs")
    if fidelity:
        check = " (random weights: a conversion check, not an accuracy statement)" if a.random_weights() else ""
        section.blocks.append(
            Text(
                f"Fidelity (SQNR, top-1 agreement) of each INT8 artifact against its FP32 model on {'; '.join(fidelity)}{check}."
            )
        )
    section.blocks.append(
        Text(
            "GMACs: 10^9 multiply-accumulates of the FP32 graph (the unit the paper and torchvision quote; FLOPs = 2 x MACs). "
            "± (95 %): the half-width of the median's confidence interval over the rounds; IQR / median: the spread of "
            "the timed runs (interquartile range) over their median; p99 / median: how far the slow tail reaches."
        )
    )
    return section


SETUP_SPEC = (
    ("target", "target", None), ("runtime", "runtime", None), ("cpu", "CPU or SoC", None), ("cores", "cores", None),
    ("threads", "threads", None), ("runtime_version", "runtime version", None), ("os", "OS", None),
    ("weights", "weights", None), ("measurements", "measurements", None), ("samples", "timed runs each", None),
    ("governor", "governor", None), ("load_1min", "load (1 min) before → after", None),
    ("temperature_c", "°C before → after", None), ("throttling", "throttling", None),
)  # fmt: skip


def setup_section(a: Analysis, images: Images) -> Section:
    section = Section("What it was measured on")
    if a.setup.empty:
        section.blocks.append(Text("No ok measurement: nothing was measured on anything."))
        return section
    section.blocks.append(
        Text(
            "Per target and runtime, from the records: the device, the threads both runtimes were given, the runtime, "
            "the weights the artifacts hold, how many timed runs each measurement took, and the state of the device "
            "around the measurements (ranges over the measurements; 'not recorded' where no record says)."
        )
    )
    section.blocks.append(Table(select(a.setup, SETUP_SPEC, drop_empty=False)))
    for target, (load, cores) in sorted(busy_targets(a.records).items()):
        section.blocks.append(
            Alert(
                f"{target} was busy: its 1-minute load average reached {load:.2f} on {cores} usable cores before a "
                "measurement: other processes competed for the CPU, so these latencies may be slower and noisier than "
                "the device alone gives."
            )
        )
    return section


NOISE_SPEC = (
    ("target", "target", None), ("runtime", "runtime", None), ("n", "measurements", None),
    ("iqr_median", "IQR / median %, median", 0.01), ("iqr_max", "IQR / median %, worst", 0.01),
    ("p99_median", "p99 / median, median", None), ("p99_max", "p99 / median, worst", None),
    ("ci_median", "± median (95 %, %)", 0.01), ("ci_max", "± worst (95 %, %)", 0.01),
)  # fmt: skip


def noise_section(a: Analysis, images: Images) -> Section:
    section = Section("Measurement noise")
    if not a.has(noise.IQR) and not a.has(noise.P99):
        section.blocks.append(Text("No dispersion: the records keep neither raw latency samples nor a p99."))
        return section
    section.blocks.append(
        Text(
            "How much the timed runs of one measurement spread: IQR / median (a typical run's variation) and p99 / median "
            "(the slow tail); and how well each median is known: the half-width of its 95 % interval over the rounds "
            "(fresh processes), which is what a comparison between measurements rests on. A difference between two "
            "measurements counts as within the noise when it is no larger, relative to the faster one, than their two "
            "half-widths together (IQR / median stands in for a measurement taken in one process)."
        )
    )
    rows = []
    for (target, runtime), group in a.ok.groupby(["target", "runtime"], sort=True):
        iqr, p99 = series(group, noise.IQR).dropna(), series(group, noise.P99).dropna()
        ci = series(group, noise.CI).dropna()
        rows.append(
            {
                "target": target,
                "runtime": runtime,
                "n": len(group),
                "iqr_median": iqr.median() if len(iqr) else None,
                "iqr_max": iqr.max() if len(iqr) else None,
                "p99_median": p99.median() if len(p99) else None,
                "p99_max": p99.max() if len(p99) else None,
                "ci_median": ci.median() if len(ci) else None,
                "ci_max": ci.max() if len(ci) else None,
            }
        )
    section.blocks.append(Table(select(pd.DataFrame(rows), NOISE_SPEC)))
    steps = a.sweep_noise
    if not steps.empty and steps["within_noise"].notna().any():
        noisy = steps[steps["within_noise"] == True]  # noqa: E712 - None (unknown) is not True
        judged = int(steps["within_noise"].notna().sum())
        text = (
            f"{len(noisy)} of {judged} steps between neighbouring variants of a sweep (same architecture, target, "
            "runtime and width, by MACs) differ by no more than the noise"
        )
        if len(noisy):
            examples = ", ".join(
                f"{point_label(r['smaller'])} → {point_label(r['larger'])} ({r['target']} / {r['runtime']}: "
                f"{r['gap_pct']:+.1f}% vs noise {r['noise_pct']:.1f}%)"
                for _, r in noisy.head(4).iterrows()
            )
            section.blocks.append(
                Alert(
                    f"{text}: {examples}{', …' if len(noisy) > 4 else ''}. The latency trend across "
                    "these steps is not resolved by these measurements; every step is in `sweep_noise.csv`."
                )
            )
        else:
            section.blocks.append(Text(f"{text}. Every step is in `sweep_noise.csv`."))
    return section


def failures(a: Analysis, images: Images) -> Section:
    section = Section("Failures")
    frame = a.frame
    items = []
    if "status" in frame.columns:
        for _, row in frame[frame["status"] != "ok"].iterrows():
            reason = row.get("error") or "no reason recorded"
            items.append(f"{row.get('variant')} / {row.get('runtime')} on {row.get('target')}: {reason}")
    if "eval_error" in frame.columns:
        for _, row in frame[frame["eval_error"].map(lambda v: not is_missing(v))].iterrows():
            items.append(f"evaluation of {row.get('variant')} / {row.get('runtime')}: {row['eval_error']}")
    section.blocks.append(
        Bullets(tuple(dict.fromkeys(items))) if items else Text("None: every measurement and evaluation succeeded.")
    )
    return section


# ---------------------------------------------------------------- measured vs analytic

FIT_SPEC = (
    ("arch", "arch", None), ("target", "target", None), ("runtime", "runtime", None), ("metric", "metric", None),
    ("model", "model", None),
    ("n", "n", None), ("r2", "R²", None), ("rmspe_pct", "RMSPE %", None), ("share_within_10pct", "within ±10 %", None),
    ("loo_rmspe_pct", "LOO RMSPE %", None), ("loo_share_within_10pct", "LOO within ±10 %", None),
    ("per_gmac", "per GMAC", None), ("per_mb_activation", "per MB activation", None),
    ("intercept", "intercept", None), ("note", "note", None),
)  # fmt: skip


def fit_section(a: Analysis, images: Images) -> Section:
    section = Section("Latency against compute")
    if a.fits.empty:
        emulated = " on a real CPU (emulated timings are never fitted)" if len(a.emulated) else ""
        section.blocks.append(Text(f"No fit: no ok measurement{emulated}."))
        return section
    fits = a.fits[a.fits["metric"] == "latency_median_ms"]
    section.blocks.append(
        Text(
            "Ordinary least squares per architecture, target and runtime (never across architectures): latency = a · MACs + b, "
            "and latency = a · MACs + c · activation bytes + b. Scores as nn-Meter gives them: R², RMSPE and the share of "
            "variants within ±10% of the fit, in-sample and leave-one-out (each variant predicted by the fit on the others). "
            "Slopes are in ms per GMAC (10^9 multiply-accumulates) and per MB of activations."
        )
    )
    section.blocks.append(Table(select(fits.assign(metric=fits["metric"].map(METRIC_NAMES)), FIT_SPEC)))
    section.blocks += _image(images, "latency_vs_macs") + _image(images, "parity")
    return section


def energy_section(a: Analysis, images: Images) -> Section:
    section = Section("Energy against compute")
    if not a.has("energy_mj"):
        reasons = a.record_reasons(lambda r: r.energy_missing_reason)
        why = "; ".join(reasons) if reasons else "no record carries an energy measurement"
        section.blocks.append(Text(f"No energy: {why}."))
        return section
    fits = a.fits[(a.fits["metric"] == "energy_mj") & (a.fits["n"] > 0)]
    section.blocks.append(Text("The same fits for the energy per inference (mJ), on the targets with a meter."))
    section.blocks.append(Table(select(fits.assign(metric=fits["metric"].map(METRIC_NAMES)), FIT_SPEC)))
    meters = a.distinct("meter")
    if meters:
        section.blocks.append(Text(f"Meters: {', '.join(meters)}."))
    without = sorted(set(a.targets) - set(a.ok[series(a.ok, "energy_mj").notna()]["target"].astype(str)))
    if without:
        reasons = a.record_reasons(lambda r: r.energy_missing_reason if r.target in without else None)
        section.blocks.append(Text("No energy on " + ("; ".join(reasons) if reasons else ", ".join(without)) + "."))
    section.blocks += _image(images, "energy_vs_macs")
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
        reasons = a.record_reasons(lambda r: r.memory.missing_reason if r.memory else None)
        why = "; ".join(reasons) if reasons else "no ok record carries one"
        section.blocks.append(Text(f"No model-attributable RSS and no deployed-graph memory: {why}."))
        return section
    ratios = a.memory_ratios
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
    for keys, group in ratios.groupby(["target", "runtime"]):
        parts = []
        for ratio, name in RATIO_NAMES.items():
            values = pd.to_numeric(group[ratio], errors="coerce").dropna()
            if len(values):
                parts.append(f"{name} ×{values.median():.2f} (median, {values.min():.2f}–{values.max():.2f})")
        summary.append(f"{keys[0]} / {keys[1]}: " + ("; ".join(parts) if parts else "no ratio (a side is missing)"))
    section.blocks.append(Bullets(tuple(summary)))
    section.blocks.append(Table(_show(a, _in_order(ratios), MEMORY_SPEC)))
    section.blocks += _image(images, "memory")
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
    costs = a.costs
    fronts = a.pareto
    why = "" if quality in ACCURACY_COLUMNS else f" (no accuracy measured: {a.accuracy_reason()}; fidelity instead)"
    section.blocks.append(
        Text(
            f"Variants no other variant beats on both {label}{why} and cost, per architecture, target and runtime (never "
            f"across architectures), for each cost: {', '.join(COST_LABELS[c] for c in costs)}. Every front row, with its "
            "numbers, is in `pareto.csv`."
        )
    )
    if len(fronts):
        candidates = a.ok.assign(_q=series(a.ok, quality))
        keys = [k for k in ("arch", "target", "runtime") if k in fronts.columns]
        rows = []
        for values, group in fronts.groupby([*keys, "cost"], sort=True, dropna=False):
            where = dict(zip(keys, values[:-1]))
            cost = values[-1]
            pool = candidates
            for key, value in where.items():
                pool = pool[pool[key] == value]
            n = int((pool["_q"].notna() & series(pool, cost).notna()).sum())
            rows.append(
                {
                    **where,
                    "ranked on": COST_LABELS[cost],
                    "on the front": f"{len(group)} of {n}",
                    "front, cheapest first": ", ".join(point_label(v) for v in group["variant"]),
                }
            )
        order = {COST_LABELS[c]: i for i, c in enumerate(COST_COLUMNS)}
        table = pd.DataFrame(rows).sort_values(
            [*keys, "ranked on"], key=lambda c: c.map(order) if c.name == "ranked on" else c
        )
        section.blocks.append(Table(table))
    missing = [COST_LABELS[c] for c in COST_COLUMNS if c not in costs]
    if missing:
        section.blocks.append(Text(f"Not ranked on {', '.join(missing)}: not measured."))
    section.blocks += _image(images, "pareto")
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
    table = a.selection
    section.blocks.append(
        Text(
            f"The paper's selection: per width (and target, runtime), the cheapest variant whose {QUALITY_LABELS[accuracy]} "
            f"is within {a.budget_points:g} points of that width's best."
        )
    )
    section.blocks.append(Table(_show(a, _in_order(table), SELECTION_SPEC)))
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
    quality, costs = a.quality, a.costs
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
    for column in costs:
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
    section.blocks.append(Table(select(_in_order(table), spec)))
    return section


def _in_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows by target, runtime, width, then from the largest resolution down (the paper's reading order)."""
    keys = [k for k in ("target", "runtime", "recipe", "width") if k in table.columns]
    ascending = [True] * len(keys)
    if "resolution" in table.columns:
        keys.append("resolution")
        ascending.append(False)
    return table.sort_values(keys, ascending=ascending, kind="stable") if keys else table


# ---------------------------------------------------------------- comparisons


def cross_runtime_section(a: Analysis, images: Images) -> Section:
    section = Section("ExecuTorch against LiteRT")
    runtimes = a.runtimes
    if not {"executorch", "litert"} <= set(runtimes):
        section.blocks.append(Text(f"Only {', '.join(runtimes) or 'no runtime'} measured here: nothing to compare."))
        return section
    table = a.cross_runtime
    if table.empty:
        section.blocks.append(Text("No variant was measured with both runtimes on the same target."))
        return section
    ratio = table["executorch_over_litert"].astype(float)
    lines = []
    for target, group in table.groupby("target"):
        r = group["executorch_over_litert"].astype(float)
        lines.append(
            f"{target}: LiteRT faster on {(r > 1).sum()} of {len(r)} variants; ExecuTorch / LiteRT latency "
            f"median ×{r.median():.2f} ({r.min():.2f}–{r.max():.2f})."
        )
    section.blocks.append(Bullets(tuple(lines)))
    if "within_noise" in table.columns and (table["within_noise"] == True).any():  # noqa: E712 - None is unknown
        noisy = table[table["within_noise"] == True]  # noqa: E712
        judged = int(table["within_noise"].notna().sum())
        section.blocks.append(
            Alert(
                f"{len(noisy)} of {judged} runtime comparisons differ by no more than the noise of their measurements "
                f"({', '.join(point_label(v, with_arch=True) for v in noisy['variant'].head(6))}{', …' if len(noisy) > 6 else ''}): "
                "for those variants these runs do not tell which runtime is faster."
            )
        )
    shown = table.assign(executorch_over_litert=ratio)
    spec = (
        ("target", "target", None),
        ("variant", "variant", None),
        ("executorch", "ExecuTorch ms", None),
        ("litert", "LiteRT ms", None),
        ("executorch_over_litert", "ExecuTorch / LiteRT", None),
        ("within_noise", "within the noise", None),
    )
    section.blocks.append(Table(_show(a, _in_order(shown), spec)))
    return section


def cross_device_section(a: Analysis, images: Images) -> Section:
    section = Section("Across devices")
    if len(a.targets) < 2:
        emulated = "; emulated targets are never compared" if len(a.emulated) else ""
        section.blocks.append(
            Text(f"One target only ({', '.join(a.targets) or 'none'}){emulated}: nothing to compare.")
        )
        return section
    table = a.cross_device
    spec = [("variant", "variant", None), ("runtime", "runtime", None)]
    spec += [(t, f"{t} ms", None) for t in a.targets] + [("fastest", "fastest", None)]
    spec += [(f"{t}_vs_fastest", f"{t} / fastest", None) for t in a.targets]
    section.blocks.append(
        Text("Median latency of each variant on each target, and how far each target is from the fastest.")
    )
    section.blocks.append(Table(_show(a, _in_order(table), spec)))
    return section


def delegation_section(a: Analysis, images: Images) -> Section:
    section = Section("Delegation coverage")
    table = a.delegation
    if table.empty:
        section.blocks.append(Text("No delegation data in these records (analytic.delegation is absent)."))
        return section
    spec = (
        ("runtime", "runtime", None),
        ("variant", "variant", None),
        ("fully_delegated", "fully delegated", None),
        ("delegated", "delegated ops/nodes", None),
        ("non_delegated_ops", "left to plain kernels", None),
        ("reason", "note", None),
    )
    section.blocks.append(
        Text("Which operators run inside the XNNPACK delegate and which are left to the runtime's own kernels.")
    )
    summary = []
    for runtime, group in table.groupby("runtime"):
        full = int((group["fully_delegated"] == True).sum())  # noqa: E712 - None (unknown) is not True
        summary.append(f"{runtime}: {full} of {len(group)} artifacts fully delegated.")
    section.blocks.append(Bullets(tuple(summary)))
    section.blocks.append(Table(_show(a, table, spec)))
    return section


INT8_SPEC = (
    ("runtime", "runtime", None), ("variant", "variant", None), ("int8_macs_pct", "INT8 MACs %", None),
    ("int8_ops_pct", "INT8 ops %", None), ("convert_ops", "quantize/dequantize", None),
    ("flag", "flag", None), ("float_ops_why", "float ops and why", None),
)  # fmt: skip


def int8_section(a: Analysis, images: Images) -> Section:
    """How much of each artifact runs in INT8, read from the graph the runtime runs."""
    section = Section("INT8 coverage")
    table = a.int8_coverage
    if table.empty:
        section.blocks.append(
            Text("No INT8 coverage in these records (analytic.int8 is absent: artifacts built before it was measured).")
        )
        return section
    section.blocks.append(
        Text(
            "Read from each artifact's deployed graph: an operator runs in INT8 when every tensor it reads or writes, "
            "weights aside, is 8-bit. Shares are of the operators other than quantize/dequantize (counted apart) and of "
            "their multiply-accumulates. Any artifact with MACs outside INT8 is flagged."
        )
    )
    # .eq(True): None (not known) is neither flagged nor counted as fully INT8.
    flagged = table[table["below_100pct_macs"].eq(True)]
    summary = []
    for runtime, group in table.groupby("runtime"):
        full = int(group["fully_int8"].eq(True).sum())
        below = int(group["below_100pct_macs"].eq(True).sum())
        summary.append(
            f"{runtime}: {full} of {len(group)} artifacts fully INT8; {below} below 100% of their MACs in INT8."
        )
    section.blocks.append(Bullets(tuple(summary)))
    shown = table.assign(flag=table["below_100pct_macs"].map(lambda v: "MACs in float" if v is True else ""))
    section.blocks.append(Table(_show(a, shown, INT8_SPEC)))
    if len(flagged):
        section.blocks.append(
            Text(
                f"**{len(flagged)} artifact{'s' if len(flagged) > 1 else ''} below 100% of MACs in "
                "INT8**: their latency is not that of an INT8 model."
            )
        )
    return section


MCU_SPEC = (
    ("target", "board", None), ("runtime", "runtime", None), ("variant", "variant", None),
    ("mcu_fits", "fits", None), ("mcu_flash_need_bytes", "flash need kB", 1e3),
    ("mcu_flash_margin_bytes", "flash margin kB", 1e3), ("mcu_sram_need_bytes", "SRAM need kB", 1e3),
    ("mcu_sram_margin_bytes", "SRAM margin kB", 1e3), ("mcu_latency_estimate_ms", "estimated ms", None),
)  # fmt: skip


def mcu_section(a: Analysis, images: Images) -> Section:
    """Microcontroller boards: which variants fit their flash and SRAM, and the best one that does."""
    section = Section("Microcontrollers: what fits")
    rows = a.mcu
    if rows.empty:
        section.blocks.append(Text("No microcontroller target in these results."))
        return section
    quality = a.accuracy_column
    rule = (
        f"the highest {quality} among the variants that fit"
        if quality
        else "the variant with the most FLOPs among those that fit (no accuracy measured: more compute "
        "is taken as more capacity)"
    )
    section.blocks.append(
        Text(
            f"Nothing is flashed: need against the board's datasheet budgets, and a latency "
            f"estimate from MACs and the board's MACs/cycle (an estimate, never a measurement). "
            f"Best per board and runtime: {rule}."
        )
    )
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
    section.blocks.append(Table(_show(a, rows, MCU_SPEC)))
    return section


SECTIONS: tuple[Callable[[Analysis, Images], Section], ...] = (
    answer, setup_section, measurements, noise_section, failures, fit_section, memory_section, pareto_section, selection_section,
    random_resolution_section, cross_runtime_section, cross_device_section, energy_section, delegation_section,
    int8_section, mcu_section,
)  # fmt: skip


def build_sections(a: Analysis, images: Images) -> list[Section]:
    return [make(a, images) for make in SECTIONS]
