"""The report's "Per operator" section, from `run --profile-ops`'s tables (`measure/operators.py`):
the operators that take the time, how well the operator times add up to the end-to-end time, and, per
operator kind, how time scales with resolution against MACs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .blocks import Bullets, Image, Section, Table, Text
from .roofline import ceilings, ceilings_table, roofline_points, split_probes
from .tables import target_labels

TOP = 5
# A kind's time "falls slower than its MACs" when, from the largest resolution to the smallest, its
# time keeps this much more of itself than its MACs do (time ratio / MAC ratio).
SLOWER_BY = 1.1
# Both profilers count whole microseconds: a kind's total under this at either resolution is not
# compared (its ratio would be one of rounding).
MIN_TIMED_MS = 0.01


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}g}"


def top_operators(rows: pd.DataFrame, top: int = TOP) -> pd.DataFrame:
    """Per runtime and variant, the operators taking the most time, as shown."""
    timed = rows.dropna(subset=["time_ms"]).sort_values("time_ms", ascending=False)
    keys = ["results", "target", "runtime", "variant"] if "results" in rows else ["target", "runtime", "variant"]
    picked = timed.groupby(keys, sort=True).head(top).sort_values(keys, kind="stable")
    shown = pd.DataFrame(
        {
            "target": target_labels(picked),
            "runtime": picked["runtime"],
            "variant": picked["variant"],
            "operator": picked["operator"],
            "kind": picked["kind"],
            "time ms": picked["time_ms"].map(_fmt),
            "share": picked["share"].map(lambda v: "–" if pd.isna(v) else f"{100 * v:.1f} %"),
            "MMACs": picked["macs"].map(lambda v: "–" if pd.isna(v) else f"{v / 1e6:.3g}"),
            "GMAC/s": picked["mac_per_s"].map(lambda v: "–" if pd.isna(v) or not v else f"{v / 1e9:.3g}"),
            "mapping": picked["mapping"],
        }
    )
    return _with_results(shown, picked)


def gap_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per measurement: the sum of operator times against the profiled end-to-end time."""
    ok = summary[summary.get("missing_reason", pd.Series(index=summary.index, dtype=object)).isna()]
    shown = pd.DataFrame(
        {
            "target": target_labels(ok),
            "runtime": ok["runtime"],
            "variant": ok["variant"],
            "operators ms": ok["ops_sum_ms"].map(_fmt),
            "end-to-end ms (profiled)": ok["e2e_ms"].map(_fmt),
            "gap": ok["gap_share"].map(lambda v: "–" if pd.isna(v) else f"{100 * v:.1f} %"),
            "latency ms (measured)": ok["measured_latency_ms"].map(_fmt),
        }
    )
    return _with_results(shown, ok)


def kind_scaling(rows: pd.DataFrame) -> pd.DataFrame:
    """Per runtime, architecture and kind: time and MACs at the smallest resolution over those at the
    largest, beside the whole network's MAC ratio (what the analytic model scales every layer's time by)."""
    timed = rows.dropna(subset=["time_ms", "resolution"])
    timed = timed.assign(target=target_labels(timed))
    out = []
    for (target, runtime, arch, width), group in timed.groupby(["target", "runtime", "arch", "width"], dropna=False):
        resolutions = sorted(group["resolution"].unique())
        if len(resolutions) < 2:
            continue
        low, high = resolutions[0], resolutions[-1]
        network = group.groupby("resolution")["macs"].sum(min_count=1)
        network_ratio = network[low] / network[high] if network.get(high) else None
        per = group.groupby(["kind", "resolution"])[["time_ms", "macs", "bytes"]].sum(min_count=1)
        for kind in sorted(group["kind"].unique()):
            if (kind, low) not in per.index or (kind, high) not in per.index:
                continue
            a, b = per.loc[(kind, low)], per.loc[(kind, high)]
            timed_enough = min(a["time_ms"], b["time_ms"]) >= MIN_TIMED_MS
            out.append(
                {
                    "target": target,
                    "runtime": runtime,
                    "arch": arch,
                    "kind": kind,
                    "resolutions": f"{int(low)} / {int(high)}",
                    "time ratio": a["time_ms"] / b["time_ms"] if timed_enough else None,
                    "MAC ratio": a["macs"] / b["macs"] if b["macs"] else None,
                    "network MAC ratio": network_ratio,
                    "bytes ratio": a["bytes"] / b["bytes"] if b["bytes"] else None,
                }
            )
    return pd.DataFrame(out)


def _slower_kinds(scaling: pd.DataFrame) -> list[str]:
    """The kinds whose time falls slower than their own MACs, or, for a kind without MACs (an addition, a
    pool, a layout change), slower than the network's MACs: the layers the FLOP curve does not predict."""
    lines = []
    for _, r in scaling.iterrows():
        if not r["time ratio"] or pd.isna(r["time ratio"]):
            continue
        where = f"{r['target']} {r['runtime']} {r['arch']}: **{r['kind']}** keeps {100 * r['time ratio']:.0f} % of its time at {r['resolutions']} px"
        if r["MAC ratio"] and not pd.isna(r["MAC ratio"]):
            if r["time ratio"] > SLOWER_BY * r["MAC ratio"]:
                lines.append(f"{where}, its MACs only {100 * r['MAC ratio']:.0f} %")
        elif r["network MAC ratio"] and r["time ratio"] > SLOWER_BY * r["network MAC ratio"]:
            lines.append(
                f"{where}; it has no MACs, and the network keeps {100 * r['network MAC ratio']:.0f} % of its MACs"
            )
    return lines


def operator_tables(directories) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The operator rows and summaries of results directories measured with `--profile-ops` (their
    roofline probes' from each one's `roofline/` folder included), or None."""
    from ..measure.roofline import ROOFLINE_DIR

    found = [
        (folder, str(d))  # each row keeps the results directory it came from
        for d in directories
        for folder in (Path(d), Path(d) / ROOFLINE_DIR)
        if (folder / "operators-summary.csv").is_file()
    ]
    if not found:
        return None
    rows = [pd.read_csv(d / "operators.csv").assign(results=r) for d, r in found if (d / "operators.csv").is_file()]
    summary = pd.concat(
        [pd.read_csv(d / "operators-summary.csv").assign(results=r) for d, r in found], ignore_index=True
    )
    return (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()), summary


def _with_results(shown: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
    """`shown` with the results directory of each row first, where rows come from more than one."""
    if "results" in source and source["results"].nunique() > 1:
        shown.insert(0, "results", source["results"].to_numpy())
    return shown


def per_operator(rows: pd.DataFrame, summary: pd.DataFrame | None = None, figures_dir: Path | None = None) -> Section:
    """The "Per operator" section; `rows` is OUT/operators.csv, `summary` OUT/operators-summary.csv (the
    roofline probes' rows among them make the ceilings); the roofline figure goes into `figures_dir`."""
    section = Section("Per operator")
    rows, probes = split_probes(rows)
    if summary is not None:
        summary, _ = split_probes(summary)
    if rows.empty:
        section.blocks.append(
            Text(
                "Only the roofline probes were profiled."
                if not probes.empty
                else "No per-operator profile (measure with `edge-bench run --profile-ops`)."
            )
        )
    else:
        section.blocks.append(
            Text(
                "Times from the runtimes' own profilers (ExecuTorch's ETDump, LiteRT's profiler) in a separate "
                "pass after each measurement's first round: medians over the profiled runs, which never enter "
                "the latency estimate. Each operator is tied to the deployed graph for its MACs and bytes; "
                "`mapping` says when the runtime fused several of its operators or when none could be tied."
            )
        )
        section.blocks.append(Table(top_operators(rows)))
    if summary is not None and not summary.empty:
        gaps = gap_table(summary)
        if not gaps.empty:
            section.blocks.append(
                Text(
                    "Operator times against the end-to-end time of the same profiled runs (the runtime's own "
                    "top-level event); the gap is what runs between operators, the profiler's cost included. "
                    "The measured latency is the measurement's estimate, from other processes."
                )
            )
            section.blocks.append(Table(gaps))
        if "missing_reason" in summary:
            missing = summary.dropna(subset=["missing_reason"])
            if not missing.empty:
                section.blocks.append(
                    Bullets(
                        tuple(f"{r.variant} {r.runtime}: no profile, {r.missing_reason}" for r in missing.itertuples())
                    )
                )
    if not rows.empty:
        scaling = kind_scaling(rows)
        if scaling.empty:
            section.blocks.append(Text("Scaling with resolution needs two or more resolutions of one architecture."))
        else:
            shown = scaling.copy()
            for column in ("time ratio", "MAC ratio", "network MAC ratio", "bytes ratio"):
                shown[column] = shown[column].map(lambda v: "–" if v is None or pd.isna(v) else f"{v:.2f}")
            section.blocks.append(
                Text(
                    "Per operator kind, the time and MACs at the smallest resolution over those at the largest, "
                    "beside the whole network's MACs, by which the analytic model scales every layer's time. A "
                    "kind without MACs of its own is held against the network's; a kind under "
                    f"{1000 * MIN_TIMED_MS:.0f} µs in all at either resolution is not timed finely enough to "
                    "compare (the profilers count whole microseconds)."
                )
            )
            section.blocks.append(Table(shown))
            slower = _slower_kinds(scaling)
            section.blocks.append(
                Bullets(tuple(slower))
                if slower
                else Text(
                    f"No operator kind's time falls more than {SLOWER_BY:.1f}x slower than its MACs (or the network's)."
                )
            )
    section.blocks += roofline_blocks(rows, probes, figures_dir)
    return section


def roofline_blocks(rows: pd.DataFrame, probes: pd.DataFrame, figures_dir: Path | None) -> list:
    """The ceilings the roofline probes measured, and the roofline figure of the sweep's operators."""
    peaks = ceilings(probes)
    if peaks.empty:
        return [
            Text(
                "No roofline: the target's roofline probes were not profiled (`run --profile-ops` measures them into `roofline/`)."
            )
        ]
    blocks: list = [
        Text(
            "Ceilings measured on each target by the roofline probes (the `roofline` recipe, profiled through "
            "the same runtime and threads): the best MAC/s of the compute probe's operators (INT8 1x1 and "
            "3x3 convolutions) and the best bytes/s of the memory probe's (an INT8 addition and the layers feeding "
            "it), with the operator that reached each. Measured, not a datasheet peak; where the "
            "probe's data fit in the caches, the bytes/s are the caches'."
        ),
        Table(ceilings_table(peaks)),
    ]
    points = roofline_points(rows)
    if figures_dir is not None and not points.empty:
        from .plots.layout import save
        from .plots.roofline import roofline_figure

        figure = roofline_figure(points, peaks)
        if figure is not None:
            path = save(figure, Path(figures_dir), "roofline.png")
            blocks.append(Image(path, "roofline"))
    below = roofline_share_below(points, peaks)
    if below:
        blocks.append(Bullets(tuple(below)))
    return blocks


def roofline_share_below(points: pd.DataFrame, peaks: pd.DataFrame) -> list[str]:
    """Per target and runtime: how far below its roof the time-weighted operator sits."""
    lines = []
    for _, peak in peaks.iterrows():
        here = points[(points["target"] == peak["target"]) & (points["runtime"] == peak["runtime"])]
        if here.empty or pd.isna(peak["peak_mac_per_s"]) or pd.isna(peak["peak_bytes_per_s"]):
            continue
        roof = (peak["peak_bytes_per_s"] * here["intensity"]).clip(upper=peak["peak_mac_per_s"])
        weights = here["time_ms"]
        share = float((here["mac_per_s"] / roof * weights).sum() / weights.sum())
        memory_bound = float(weights[here["intensity"] < peak["ridge_macs_per_byte"]].sum() / weights.sum())
        lines.append(
            f"{peak['target']} {peak['runtime']}: operators with MACs reach {100 * share:.0f} % of their roof "
            f"(time-weighted); {100 * memory_bound:.0f} % of their time is in operators left of the ridge "
            f"({peak['ridge_macs_per_byte']:.3g} MACs/byte), bound by bytes rather than MACs"
        )
    return lines


def operator_sections(directories) -> list[Section]:
    """The "Per operator" section of results directories measured with `--profile-ops` (none without)."""
    tables = operator_tables(directories)
    return [] if tables is None else [per_operator(*tables)]
