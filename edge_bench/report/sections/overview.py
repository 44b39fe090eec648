"""The sections a reader meets first: the answer (which variant to ship), what it was measured on, the
measurements themselves, how noisy they were, and what failed."""

from __future__ import annotations

import pandas as pd

from .. import noise
from ..analysis import Analysis
from ..blocks import Alert, Bullets, Section, Table, Text
from ..tables import MB, cell, is_missing, select, summary_table
from ..variants import point_label
from .formatting import QUALITY_UNITS, Images, with_unit

# ---------------------------------------------------------------- the answer


def _answer_line(row: pd.Series) -> str:
    if is_missing(row["variant"]):
        return f"**{row['target']}**: no recommendation: {row['note']}."
    parts = [f"{with_unit(row['latency_median_ms'], 'ms')} median"]
    if not is_missing(row["quality_col"]):
        name, unit = QUALITY_UNITS.get(row["quality_col"], (row["quality_col"], ""))
        parts.append(f"{name} {cell(row['quality'])}{unit} (best measured {cell(row['best_quality'])}{unit})")
    if not is_missing(row.get("energy_mj")):
        parts.append(f"{with_unit(row['energy_mj'], 'mJ')} per inference")
    if not is_missing(row.get("peak_rss_bytes")):
        parts.append(f"peak RSS {with_unit(row['peak_rss_bytes'] / MB, 'MB')}")
    recipe = f" (recipe {row['recipe']})" if not is_missing(row.get("recipe")) else ""
    return f"**{row['target']}**: ship **{row['variant']}**{recipe} with **{row['runtime']}**: {', '.join(parts)}."


def _fit_lines(a: Analysis, metric: str = "latency_median_ms") -> list[str]:
    if a.fits.empty:
        return []
    lines = []
    for _, f in a.fits_of(metric, model="flops").iterrows():
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
    section.blocks += _choice_noise(a.choices_within_noise)
    rules = a.rules
    for rule, targets in rules.items():
        which = f" ({', '.join(targets)})" if len(rules) > 1 else ""
        section.blocks.append(Text(f"Rule{which}: {rule}."))
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
            f"{row['variant']} / {row['runtime']} on {row['target']}: ±{row['latency_ci_half_width']:.1%} within this run"
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


def _choice_noise(noisy: pd.DataFrame) -> list[Alert]:
    """A warning for each target whose recommendation beats the runner-up by no more than the noise."""
    return [
        Alert(
            f"on {row['target']}, {row['variant']} with {row['runtime']} is {row['lead_pct']:.1f}% faster than "
            f"{row['runner_up']} with {row['runner_up_runtime']}, no more than the run-to-run spread of these "
            f"measurements (their medians known to ±{row['noise_pct']:.1f}% together): these runs do not tell which of the two is faster."
        )
        for _, row in noisy.iterrows()
    ]


def random_weights_note(a: Analysis) -> str:
    """Why a random-weight report's fidelity is not an accuracy statement."""
    ranges = a.fidelity_ranges
    figures = []
    if "sqnr_db" in ranges:
        low, high = ranges["sqnr_db"]
        figures.append(f"SQNR {low:.1f}–{high:.1f} dB")
    if "top1_agreement" in ranges:
        low, high = ranges["top1_agreement"]
        figures.append(f"top-1 agreement {low:.0f}–{high:.0f}%")
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
    if a.setup.empty:
        return "Measured on: no ok measurement."
    parts = [f"{row['target']} ({row['cpu']}, {row['threads']} threads)" for _, row in a.measured_on.iterrows()]
    return "Measured on " + ", ".join(parts) + ": see What it was measured on."


def _counts(a: Analysis) -> str:
    counts = a.counts
    where = ", ".join(a.targets) or ("no target with a real CPU" if counts.emulated else "no target")
    text = f"{counts.ok} of {counts.total} measurements ok on {where}"
    text += f"; {counts.failed} failed (see Failures)." if counts.failed else "."
    if counts.emulated:
        text += (
            f" {counts.emulated} ok measurements on emulated targets ({', '.join(counts.emulated_targets)}) are listed "
            "under Measurements but left out of every fit, Pareto front, comparison and recommendation: their latency, "
            "memory and energy are an emulator's, not the board's CPU's."
        )
    if counts.throttled:
        text += (
            f" {counts.throttled} measurement{'s' if counts.throttled > 1 else ''} changed throttle state "
            "(flagged THROTTLED below)."
        )
    return text


# ---------------------------------------------------------------- what was measured, and on what


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
            "± (95 %, within this run): the half-width of the median's confidence interval over this run's rounds "
            "(it counts the spread between rounds, not how far whole runs drift apart: see Measurement noise); "
            "IQR / median: the spread of "
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
    for target, (load, cores) in sorted(a.busy_targets.items()):
        section.blocks.append(
            Alert(
                f"{target} was busy: its 1-minute load average reached {load:.2f} on {cores} usable cores before a "
                "measurement: other processes competed for the CPU, so these latencies may be slower and noisier than "
                "the device alone gives."
            )
        )
    return section


# ---------------------------------------------------------------- how noisy, and what failed

NOISE_SPEC = (
    ("target", "target", None), ("runtime", "runtime", None), ("n", "measurements", None),
    ("iqr_median", "IQR / median %, median", 0.01), ("iqr_max", "IQR / median %, worst", 0.01),
    ("p99_median", "p99 / median, median", None), ("p99_max", "p99 / median, worst", None),
    ("ci_median", "± median (95 %, %)", 0.01), ("ci_max", "± worst (95 %, %)", 0.01),
)  # fmt: skip


SPREAD_SPEC = (
    ("target", "target", None), ("measurements", "measurements", None),
    ("between_rounds_pct", "between rounds (sd %)", None), ("measured_in_several_runs", "measured in ≥ 2 runs", None),
    ("between_runs_pct", "between runs (sd %)", None),
)  # fmt: skip


def _spread_blocks(a: Analysis) -> list:
    """How far a number can be trusted on each target: within one run, and from one run to the next."""
    spread = a.spread_by_target
    if spread.empty:
        return []
    blocks: list = [
        Text(
            "**How far a number moves on each target.** Between rounds: the spread of one measurement's round "
            "medians (fresh processes) within a run, which its ± is built from. Between runs: the spread of the "
            "same measurement's medians over whole runs (each median's own noise included); a ± counts only the "
            "first, so where the second is larger, numbers from different runs differ by more than their ± shows."
        ),
        Table(select(spread.round({"between_rounds_pct": 1, "between_runs_pct": 1}), SPREAD_SPEC)),
    ]
    one_run = spread[spread["between_runs_pct"].isna()]
    if len(one_run):
        blocks.append(Text(f"Between runs, not measured on {', '.join(one_run['target'])}: {noise.ONE_RUN}."))
    return blocks


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
    section.blocks.append(Table(select(a.noise_summary, NOISE_SPEC)))
    section.blocks.extend(_spread_blocks(a))
    noisy, judged = a.sweep_steps_within_noise
    if judged:
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
    items = []
    for _, row in a.failed.iterrows():
        reason = row.get("error") or "no reason recorded"
        items.append(f"{row.get('variant')} / {row.get('runtime')} on {row.get('target')}: {reason}")
    for _, row in a.failed_evaluations.iterrows():
        items.append(f"evaluation of {row.get('variant')} / {row.get('runtime')}: {row['eval_error']}")
    section.blocks.append(
        Bullets(tuple(dict.fromkeys(items))) if items else Text("None: every measurement and evaluation succeeded.")
    )
    return section
