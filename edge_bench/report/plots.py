"""Plots of a report, written as PNG files.

Figures are made with matplotlib's object API (no pyplot state, no display). Colours are fixed per
(target, runtime) series so that one series keeps its colour from plot to plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .fit import ok_rows

DPI = 110
MB = 1e6
MARKERS = {"executorch": "o", "litert": "s"}
UNITS = {"latency_median_ms": "latency, ms (median)", "energy_mj": "energy, mJ per inference"}


def series_colours(df: pd.DataFrame) -> dict[tuple[str, str], str]:
    keys = sorted({(str(t), str(r)) for t, r in zip(df.get("target", []), df.get("runtime", []))})
    palette = [f"C{i}" for i in range(10)]
    return {key: palette[i % len(palette)] for i, key in enumerate(keys)}


def _numeric(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    rows = ok_rows(df)
    if any(c not in rows.columns for c in columns):
        return rows.iloc[:0]
    values = rows[list(columns)].apply(pd.to_numeric, errors="coerce")
    return rows.assign(**{c: values[c] for c in columns}).dropna(subset=list(columns))


def _panels(n: int, width: float = 5.2, height: float = 4.0) -> tuple[Figure, list]:
    fig = Figure(figsize=(width * n, height), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    return fig, list(axes)


def _save(fig: Figure, out_dir: Path, name: str) -> Path:
    path = Path(out_dir) / name
    fig.savefig(path, dpi=DPI)
    return path


def _log_if_wide(ax, values: Sequence[float], axis: str) -> None:
    values = np.asarray([v for v in values if v > 0])
    if len(values) and values.max() / values.min() > 20:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def metric_vs_gflops(df: pd.DataFrame, fits: pd.DataFrame, out_dir: Path, metric: str = "latency_median_ms",
                     name: str = "latency_vs_gflops.png") -> Path | None:
    """One panel per target: the metric against GFLOPs per runtime, with the fitted line of the
    FLOPs-only model where there is one (the slope and R² in the legend)."""
    rows = _numeric(df, "flops", metric)
    if rows.empty:
        return None
    colours = series_colours(df)
    targets = sorted(rows["target"].astype(str).unique())
    fig, axes = _panels(len(targets))
    for ax, target in zip(axes, targets):
        for runtime, group in rows[rows["target"].astype(str) == target].groupby("runtime"):
            group = group.sort_values("flops")
            x, y = group["flops"] / 1e9, group[metric]
            colour = colours[(target, str(runtime))]
            label = str(runtime)
            fit = fits[(fits["target"] == target) & (fits["runtime"] == runtime) & (fits["metric"] == metric)
                       & (fits["model"] == "flops") & fits["fitted"].astype(bool)] if not fits.empty else fits
            if len(fit) and fit.iloc[0]["per_gflop"] is not None and not pd.isna(fit.iloc[0]["per_gflop"]):
                f = fit.iloc[0]
                line = np.linspace(0, x.max() * 1.05, 50)
                ax.plot(line, f["per_gflop"] * line + f["intercept"], color=colour, lw=1, alpha=0.8)
                label += f": {f['per_gflop']:.3g}/GFLOP + {f['intercept']:.3g}, R² {f['r2']:.3f}"
            ax.scatter(x, y, color=colour, marker=MARKERS.get(str(runtime), "^"), label=label, zorder=3)
        ax.set_title(f"{target}")
        ax.set_xlabel("GFLOPs (analytic, FP32 graph)")
        ax.set_ylabel(UNITS.get(metric, metric))
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"{UNITS.get(metric, metric).split(',')[0].capitalize()} against FLOPs, linear fit per target and runtime")
    return _save(fig, out_dir, name)


def parity(points: pd.DataFrame, out_dir: Path, metric: str = "latency_median_ms", name: str = "parity.png") -> Path | None:
    """Measured against predicted (filled: the fit on all points; hollow: leave-one-out), with the
    ±10% band of the nn-Meter criterion around the diagonal."""
    if points.empty:
        return None
    colours = series_colours(points)
    fig, (ax,) = _panels(1, width=6.0, height=5.0)
    measured = points[metric].astype(float)
    every = np.concatenate([measured, points["predicted"], points["loo_predicted"]])
    every = every[np.isfinite(every) & (every > 0)]
    low, high = every.min() * 0.8, every.max() * 1.2
    line = np.geomspace(low, high, 100)
    ax.fill_between(line, line / 1.1, line / 0.9, color="0.85", label="within ±10%")
    ax.plot(line, line, color="0.4", lw=0.8, ls="--")
    for (target, runtime), group in points.groupby(["target", "runtime"]):
        colour = colours[(str(target), str(runtime))]
        marker = MARKERS.get(str(runtime), "^")
        ax.scatter(group["predicted"], group[metric], color=colour, marker=marker, label=f"{runtime} on {target}", zorder=3)
        ax.scatter(group["loo_predicted"], group[metric], facecolors="none", edgecolors=colour, marker=marker, zorder=3)
    _log_if_wide(ax, every, "x")
    _log_if_wide(ax, every, "y")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel(f"predicted from FLOPs, {UNITS.get(metric, metric).split(', ')[-1]}")
    ax.set_ylabel(f"measured, {UNITS.get(metric, metric).split(', ')[-1]}")
    ax.set_title("Measured vs predicted (hollow: leave-one-out)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, out_dir, name)


def memory(df: pd.DataFrame, out_dir: Path, name: str = "memory.png") -> Path | None:
    """Measured RSS against the analytic memory (weights + largest operator): model-attributable RSS
    filled, peak RSS of the process hollow; the dashed line is measured = analytic."""
    rows = _numeric(df, "memory_bytes")
    measured = [c for c in ("model_rss_bytes", "peak_rss_bytes")
                if c in rows.columns and pd.to_numeric(rows[c], errors="coerce").notna().any()]
    if rows.empty or not measured:
        return None
    colours = series_colours(df)
    fig, (ax,) = _panels(1, width=6.0, height=5.0)
    everything = [rows["memory_bytes"] / MB]
    for (target, runtime), group in rows.groupby(["target", "runtime"]):
        colour = colours[(str(target), str(runtime))]
        marker = MARKERS.get(str(runtime), "^")
        x = group["memory_bytes"] / MB
        for column in measured:
            y = pd.to_numeric(group[column], errors="coerce") / MB
            everything.append(y.dropna())
            filled = column == "model_rss_bytes"
            label = f"{runtime} on {target}: {'model RSS' if filled else 'peak RSS'}"
            ax.scatter(x, y, marker=marker, label=label, zorder=3,
                       **({"color": colour} if filled else {"facecolors": "none", "edgecolors": colour}))
    values = pd.concat(everything).astype(float)
    values = values[values > 0]
    low, high = values.min() * 0.8, values.max() * 1.2
    ax.plot([low, high], [low, high], color="0.4", lw=0.8, ls="--", label="measured = analytic")
    _log_if_wide(ax, values, "x")
    _log_if_wide(ax, values, "y")
    ax.set_xlabel("analytic memory, MB (INT8 weights + largest operator in+out)")
    ax.set_ylabel("measured RSS, MB")
    ax.set_title("Measured memory vs the paper's analytic memory")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")  # measurements sit above the diagonal: this corner stays clear
    return _save(fig, out_dir, name)


def pareto(df: pd.DataFrame, quality_col: str, quality_label: str, front: pd.Series, out_dir: Path,
           cost_col: str = "latency_median_ms", name: str = "pareto.png") -> Path | None:
    """One panel per target: quality against cost for every ok variant (faint) and the Pareto front
    of each runtime (solid, joined, labelled with the resolution)."""
    rows = _numeric(df, quality_col, cost_col)
    if rows.empty:
        return None
    colours = series_colours(df)
    targets = sorted(rows["target"].astype(str).unique())
    fig, axes = _panels(len(targets))
    for ax, target in zip(axes, targets):
        for runtime, group in rows[rows["target"].astype(str) == target].groupby("runtime"):
            colour = colours[(target, str(runtime))]
            marker = MARKERS.get(str(runtime), "^")
            ax.scatter(group[cost_col], group[quality_col], color=colour, marker=marker, alpha=0.3)
            on_front = group[front.reindex(group.index, fill_value=False).astype(bool)].sort_values(cost_col)
            ax.plot(on_front[cost_col], on_front[quality_col], color=colour, marker=marker, label=f"{runtime}: front")
            if "resolution" in on_front.columns:
                for _, point in on_front.iterrows():
                    ax.annotate(str(point["resolution"]), (point[cost_col], point[quality_col]), fontsize=7,
                                xytext=(3, -9), textcoords="offset points")
        ax.set_title(target)
        ax.set_xlabel(UNITS.get(cost_col, cost_col))
        ax.set_ylabel(quality_label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Pareto fronts: {quality_label} against {UNITS.get(cost_col, cost_col).split(',')[0]} (labels: resolution)")
    return _save(fig, out_dir, name)


def draw(analysis, out_dir: Path) -> dict[str, Path]:
    """Every figure the report's sections show, drawn into `out_dir`: name -> PNG (absent: nothing to draw)."""
    from .fit import fit_points
    from .pareto import pareto_mask

    a, figures = analysis, {}
    if not a.fits.empty:
        figures["latency_vs_gflops"] = metric_vs_gflops(a.frame, a.fits, out_dir)
        figures["parity"] = parity(fit_points(a.frame), out_dir)
    if a.has("energy_mj"):
        figures["energy_vs_gflops"] = metric_vs_gflops(a.frame, a.fits, out_dir, metric="energy_mj", name="energy_vs_gflops.png")
    if a.has("model_rss_bytes"):
        figures["memory"] = memory(a.frame, out_dir)
    if a.quality:
        from .analysis import QUALITY_LABELS

        mask = pareto_mask(a.frame, a.quality, "latency_median_ms", group_by=("target", "runtime"))
        figures["pareto"] = pareto(a.frame, a.quality, QUALITY_LABELS.get(a.quality, a.quality), mask, out_dir)
    return {name: path for name, path in figures.items() if path is not None}
