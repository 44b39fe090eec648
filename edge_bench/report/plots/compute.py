"""Figures of a metric against compute: the metric against GMACs with the fitted line of the compute-only
model (or, where there is none, why), and measured against predicted latency."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..variants import point_label
from .layout import (
    MACS_LABEL,
    MARKERS,
    UNITS,
    colour_of,
    few_ticks,
    gmacs,
    in_panel,
    label_points,
    legend_below,
    limits,
    numeric_rows,
    panel_grid,
    panel_keys,
    panel_title,
    series_colours,
    suptitle,
)

# ---------------------------------------------------------------- metric against compute


def _fit_row(fits: pd.DataFrame, arch: str, target: str, runtime: str, metric: str) -> pd.Series | None:
    if fits.empty:
        return None
    match = (
        (fits["target"].astype(str) == target)
        & (fits["runtime"].astype(str) == runtime)
        & (fits["metric"] == metric)
        & (fits["model"] == "flops")
    )
    if "arch" in fits.columns:
        match &= fits["arch"].astype(str) == arch
    rows = fits[match]
    return rows.iloc[0] if len(rows) else None


def metric_vs_macs_figure(df: pd.DataFrame, fits: pd.DataFrame, metric: str = "latency_median_ms") -> Figure | None:
    """One panel per architecture and target: the metric against GMACs per runtime, each variant
    labelled, with the fitted line of the compute-only model or, where there is none, why."""
    rows = numeric_rows(df, "flops", metric)
    if rows.empty:
        return None
    rows = rows.assign(_gmacs=gmacs(rows))
    colours = series_colours(rows)
    panels = panel_keys(rows)
    fig, axes = panel_grid(len(panels))
    for ax, (arch, target) in zip(axes, panels):
        here = in_panel(rows, arch, target)
        x_low, x_high = limits(here["_gmacs"], from_zero=True)
        y_low, y_high = limits(here[metric], from_zero=True)
        missing = []
        for runtime, group in here.groupby("runtime", sort=True):
            colour = colour_of(colours, (arch, target, runtime))
            label = f"{runtime} on {target}" + (f" ({arch})" if arch else "")
            fit = _fit_row(fits, arch, target, str(runtime), metric)
            if fit is not None and bool(fit["fitted"]) and not pd.isna(fit.get("per_gflop")):
                slope = 2 * float(fit["per_gflop"])  # per GMAC
                line = np.linspace(x_low, x_high, 50)
                ax.plot(line, slope * line + float(fit["intercept"]), color=colour, lw=1, alpha=0.8)
                label += f": {slope:.3g}/GMAC + {float(fit['intercept']):.3g}, R² {float(fit['r2']):.3f}"
            elif fit is not None:
                missing.append(f"no {runtime} fit: {fit['note']}")
            ax.scatter(
                group["_gmacs"],
                group[metric],
                color=colour,
                marker=MARKERS.get(str(runtime), "^"),
                label=label,
                zorder=3,
            )
        tops = here.groupby("variant")[["_gmacs", metric]].max()
        label_points(ax, list(tops["_gmacs"]), list(tops[metric]), [point_label(v) for v in tops.index])
        if missing:
            ax.text(
                0.02, 0.98, "\n".join(missing), transform=ax.transAxes, fontsize=7, va="top", color="0.3", wrap=True
            )
        ax.set_xlim(x_low, x_high)
        ax.set_ylim(y_low, y_high * (1.15 if missing else 1.0))
        few_ticks(ax)
        ax.set_title(panel_title(arch, target), fontsize=10)
        ax.set_xlabel(MACS_LABEL)
        ax.set_ylabel(UNITS.get(metric, metric))
        ax.grid(alpha=0.3)
    legend_below(fig, axes)
    suptitle(
        fig,
        f"{UNITS.get(metric, metric).split(',')[0].capitalize()} against compute, a linear fit per "
        "architecture, target and runtime",
    )
    return fig


# ---------------------------------------------------------------- measured against predicted


def parity_figure(points: pd.DataFrame, metric: str = "latency_median_ms") -> Figure | None:
    """Measured against predicted (filled: the fit on all points; hollow: leave-one-out), with the
    ±10% band of the nn-Meter criterion around the diagonal."""
    if points.empty:
        return None
    points = points.assign(arch=points["arch"] if "arch" in points.columns else "")
    colours = series_colours(points)
    fig, (ax,) = panel_grid(1, width=6.4, height=5.6)
    measured = points[metric].astype(float)
    every = np.concatenate([measured, points["predicted"], points["loo_predicted"]])
    every = every[np.isfinite(every) & (every > 0)]
    log = every.max() / every.min() > 20
    low, high = limits(every, log=log, from_zero=not log)
    line = np.geomspace(low, high, 100) if log else np.linspace(low, high, 100)
    ax.fill_between(line, line / 1.1, line / 0.9, color="0.88", label="within ±10%")
    ax.plot(line, line, color="0.4", lw=0.8, ls="--")
    several = points["arch"].nunique() > 1
    for (arch, target, runtime), group in points.groupby(["arch", "target", "runtime"]):
        colour = colour_of(colours, (arch, target, runtime))
        marker = MARKERS.get(str(runtime), "^")
        label = f"{runtime} on {target}" + (f" ({arch})" if several and arch else "")
        ax.scatter(group["predicted"], group[metric], color=colour, marker=marker, label=label, zorder=3)
        ax.scatter(group["loo_predicted"], group[metric], facecolors="none", edgecolors=colour, marker=marker, zorder=3)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    few_ticks(ax, log, log)
    unit = UNITS.get(metric, metric).split(", ")[-1]
    ax.set_xlabel(f"predicted from MACs, {unit}")
    ax.set_ylabel(f"measured, {unit}")
    ax.set_title("Measured vs predicted (hollow: leave-one-out)", fontsize=10)
    ax.grid(alpha=0.3)
    legend_below(fig, [ax])
    return fig
