"""Plots of a report, written as PNG files.

Figures are made with matplotlib's object API (no pyplot state, no display). Each plot is built by a
`*_figure` function (what tests look at) and saved by `draw`. The rules every figure keeps:

- one panel per architecture and target: nothing is compared or fitted across architectures;
- every point inside the axes (limits set from the data with a margin, never left to chance);
- points labelled with their variant ("182 px", "96 px ×0.35"), each variant once per panel;
- legends below the axes, where they cover no point; a few ticks per axis, so labels never overlap;
- where a fit line is expected but missing, the panel says why.

Colours are fixed per (architecture, target, runtime) series; runtimes also differ by marker, so a
point hidden by another of the same place still shows as a different shape beside it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .fit import ok_rows
from .variants import point_label

DPI = 110
MB = 1e6
MARKERS = {"executorch": "o", "litert": "s"}
UNITS = {"latency_median_ms": "latency, ms (median)", "energy_mj": "energy, mJ per inference"}
MACS_LABEL = "GMACs (10⁹ multiply-accumulates, analytic)"
MARGIN = 0.12  # of the data range, around the points


def series_colours(df: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """A colour per (arch, target, runtime) present in `df`."""
    archs = df["arch"] if "arch" in df.columns else pd.Series("", index=df.index)
    keys = sorted({(str(a), str(t), str(r)) for a, t, r in zip(archs, df.get("target", []), df.get("runtime", []))})
    palette = [f"C{i}" for i in range(10)]
    return {key: palette[i % len(palette)] for i, key in enumerate(keys)}


def _colour(colours: dict, row_or_keys) -> str:
    arch, target, runtime = row_or_keys
    return colours.get((str(arch), str(target), str(runtime)), "C0")


def _numeric(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    rows = ok_rows(df)
    if any(c not in rows.columns for c in columns):
        return rows.iloc[:0]
    values = rows[list(columns)].apply(pd.to_numeric, errors="coerce")
    rows = rows.assign(**{c: values[c] for c in columns}).dropna(subset=list(columns))
    if "arch" not in rows.columns:
        rows = rows.assign(arch="")
    return rows


def _macs(rows: pd.DataFrame) -> pd.Series:
    """GMACs of each row: `macs` where recorded, else half the FLOPs."""
    flops = pd.to_numeric(rows["flops"], errors="coerce") / 2 if "flops" in rows.columns else np.nan
    macs = (
        pd.to_numeric(rows["macs"], errors="coerce") if "macs" in rows.columns else pd.Series(np.nan, index=rows.index)
    )
    return macs.fillna(flops) / 1e9


def _panels(n: int, width: float = 6.0, height: float = 4.2, columns: int = 3) -> tuple[Figure, list]:
    ncols = min(n, columns)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(width * ncols, height * nrows + 0.6), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _panel_keys(rows: pd.DataFrame) -> list[tuple[str, str]]:
    return sorted({(str(a), str(t)) for a, t in zip(rows["arch"], rows["target"])})


def _in_panel(rows: pd.DataFrame, arch: str, target: str) -> pd.DataFrame:
    return rows[(rows["arch"].astype(str) == arch) & (rows["target"].astype(str) == target)]


def _title(arch: str, target: str) -> str:
    return f"{arch} on {target}" if arch else target


def _limits(values: Sequence[float], log: bool = False, from_zero: bool = False) -> tuple[float, float]:
    """Axis limits that hold every value with a margin (on a log axis, a margin in log space)."""
    values = np.asarray([v for v in values if np.isfinite(v) and (v > 0 or not log)], dtype=np.float64)
    if log:
        low, high = np.log10(values.min()), np.log10(values.max())
        pad = max(high - low, 0.3) * MARGIN
        return 10 ** (low - pad), 10 ** (high + pad)
    low, high = (0.0 if from_zero else values.min()), values.max()
    span = high - low if high > low else max(abs(high), 1e-9)
    return (low if from_zero else low - MARGIN * span), high + MARGIN * span


def _few_ticks(ax, log_x: bool = False, log_y: bool = False) -> None:
    if not log_x:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    if not log_y:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6))


def _legend_below(fig: Figure, axes: list) -> None:
    """One legend for the figure, under the panels: it covers no point."""
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    if labels:
        # As many columns as the figure's width holds at the longest label's length.
        fits = int(fig.get_figwidth() * 72 / (5.2 * max(map(len, labels)) + 30))
        fig.legend(
            [handles[label] for label in labels],
            labels,
            loc="outside lower center",
            fontsize=8,
            ncols=max(1, min(len(labels), fits)),
            frameon=False,
        )


def _suptitle(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to its width."""
    fig.suptitle("\n".join(textwrap.wrap(text, width=int(fig.get_figwidth() * 72 / 6.6))), fontsize=11)


def _label_points(
    ax, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], side: str = "upper left"
) -> None:
    """Each label once, beside its point: "upper left" keeps labels above a rising curve, "lower
    right" below it, so the labels of two curves side by side face away from each other."""
    dx, dy, ha, va = (-4, 3, "right", "bottom") if side == "upper left" else (4, -3, "left", "top")
    for x, y, label in zip(xs, ys, labels):
        ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va, fontsize=7, color="0.25")


def _save(fig: Figure, out_dir: Path, name: str) -> Path:
    path = Path(out_dir) / name
    fig.savefig(path, dpi=DPI)
    return path


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
    rows = _numeric(df, "flops", metric)
    if rows.empty:
        return None
    rows = rows.assign(_gmacs=_macs(rows))
    colours = series_colours(rows)
    panels = _panel_keys(rows)
    fig, axes = _panels(len(panels))
    for ax, (arch, target) in zip(axes, panels):
        here = _in_panel(rows, arch, target)
        x_low, x_high = _limits(here["_gmacs"], from_zero=True)
        y_low, y_high = _limits(here[metric], from_zero=True)
        missing = []
        for runtime, group in here.groupby("runtime", sort=True):
            colour = _colour(colours, (arch, target, runtime))
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
        _label_points(ax, list(tops["_gmacs"]), list(tops[metric]), [point_label(v) for v in tops.index])
        if missing:
            ax.text(
                0.02, 0.98, "\n".join(missing), transform=ax.transAxes, fontsize=7, va="top", color="0.3", wrap=True
            )
        ax.set_xlim(x_low, x_high)
        ax.set_ylim(y_low, y_high * (1.15 if missing else 1.0))
        _few_ticks(ax)
        ax.set_title(_title(arch, target), fontsize=10)
        ax.set_xlabel(MACS_LABEL)
        ax.set_ylabel(UNITS.get(metric, metric))
        ax.grid(alpha=0.3)
    _legend_below(fig, axes)
    _suptitle(
        fig,
        f"{UNITS.get(metric, metric).split(',')[0].capitalize()} against compute, a linear fit per "
        "architecture, target and runtime",
    )
    return fig


def metric_vs_macs(
    df: pd.DataFrame,
    fits: pd.DataFrame,
    out_dir: Path,
    metric: str = "latency_median_ms",
    name: str = "latency_vs_macs.png",
) -> Path | None:
    fig = metric_vs_macs_figure(df, fits, metric)
    return _save(fig, out_dir, name) if fig is not None else None


# ---------------------------------------------------------------- measured against predicted


def parity_figure(points: pd.DataFrame, metric: str = "latency_median_ms") -> Figure | None:
    """Measured against predicted (filled: the fit on all points; hollow: leave-one-out), with the
    ±10% band of the nn-Meter criterion around the diagonal."""
    if points.empty:
        return None
    points = points.assign(arch=points["arch"] if "arch" in points.columns else "")
    colours = series_colours(points)
    fig, (ax,) = _panels(1, width=6.4, height=5.6)
    measured = points[metric].astype(float)
    every = np.concatenate([measured, points["predicted"], points["loo_predicted"]])
    every = every[np.isfinite(every) & (every > 0)]
    log = every.max() / every.min() > 20
    low, high = _limits(every, log=log, from_zero=not log)
    line = np.geomspace(low, high, 100) if log else np.linspace(low, high, 100)
    ax.fill_between(line, line / 1.1, line / 0.9, color="0.88", label="within ±10%")
    ax.plot(line, line, color="0.4", lw=0.8, ls="--")
    several = points["arch"].nunique() > 1
    for (arch, target, runtime), group in points.groupby(["arch", "target", "runtime"]):
        colour = _colour(colours, (arch, target, runtime))
        marker = MARKERS.get(str(runtime), "^")
        label = f"{runtime} on {target}" + (f" ({arch})" if several and arch else "")
        ax.scatter(group["predicted"], group[metric], color=colour, marker=marker, label=label, zorder=3)
        ax.scatter(group["loo_predicted"], group[metric], facecolors="none", edgecolors=colour, marker=marker, zorder=3)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    _few_ticks(ax, log, log)
    unit = UNITS.get(metric, metric).split(", ")[-1]
    ax.set_xlabel(f"predicted from MACs, {unit}")
    ax.set_ylabel(f"measured, {unit}")
    ax.set_title("Measured vs predicted (hollow: leave-one-out)", fontsize=10)
    ax.grid(alpha=0.3)
    _legend_below(fig, [ax])
    return fig


def parity(
    points: pd.DataFrame, out_dir: Path, metric: str = "latency_median_ms", name: str = "parity.png"
) -> Path | None:
    fig = parity_figure(points, metric)
    return _save(fig, out_dir, name) if fig is not None else None


# ---------------------------------------------------------------- memory


def _dodge(runtimes: Sequence[str]) -> dict[str, float]:
    """Side-by-side offsets of each runtime within a variant's slot."""
    n = len(runtimes)
    return {r: (i - (n - 1) / 2) * 0.22 for i, r in enumerate(runtimes)}


def memory_figure(df: pd.DataFrame) -> Figure | None:
    """One panel per architecture and target, one slot per variant (by analytic memory): the paper's
    analytic memory as a black bar, and beside it, one column per runtime, the model-attributable RSS
    (filled: peak RSS minus the RSS after imports) and the process's peak RSS (hollow)."""
    rows = _numeric(df, "memory_bytes")
    measured = [
        c
        for c in ("model_rss_bytes", "peak_rss_bytes")
        if c in rows.columns and pd.to_numeric(rows[c], errors="coerce").notna().any()
    ]
    if rows.empty or not measured:
        return None
    colours = series_colours(rows)
    panels = _panel_keys(rows)
    fig, axes = _panels(len(panels), width=max(6.0, 0.2 + 0.55 * rows["variant"].nunique()))
    for ax, (arch, target) in zip(axes, panels):
        here = _in_panel(rows, arch, target)
        variants = here.groupby("variant")["memory_bytes"].max().sort_values().index.tolist()
        slot = {v: i for i, v in enumerate(variants)}
        offsets = _dodge(sorted(here["runtime"].astype(str).unique()))
        values = [float(v) / MB for v in here["memory_bytes"]]
        ax.scatter(
            [slot[v] for v in variants],
            [here[here["variant"] == v]["memory_bytes"].max() / MB for v in variants],
            marker="_",
            s=600,
            color="black",
            linewidths=2,
            label="analytic: INT8 weights + largest operator in+out",
            zorder=2,
        )
        for runtime, group in here.groupby("runtime", sort=True):
            colour = _colour(colours, (arch, target, runtime))
            marker = MARKERS.get(str(runtime), "^")
            x = [slot[v] + offsets[str(runtime)] for v in group["variant"]]
            for column in measured:
                y = pd.to_numeric(group[column], errors="coerce") / MB
                values += [float(v) for v in y.dropna()]
                filled = column == "model_rss_bytes"
                label = f"{runtime}: {'model RSS' if filled else 'peak RSS'}"
                ax.scatter(
                    x,
                    y,
                    marker=marker,
                    label=label,
                    zorder=3,
                    s=36,
                    **({"color": colour} if filled else {"facecolors": "none", "edgecolors": colour}),
                )
        log = max(values) / max(min(v for v in values if v > 0), 1e-9) > 20
        if log:
            ax.set_yscale("log")
        ax.set_ylim(*_limits(values, log=log))
        ax.set_xlim(-0.6, len(variants) - 0.4)
        ax.set_xticks(
            range(len(variants)),
            [point_label(v) for v in variants],
            rotation=30 if len(variants) > 4 else 0,
            ha="right" if len(variants) > 4 else "center",
            fontsize=8,
        )
        _few_ticks(ax, log_x=True, log_y=log)
        ax.set_title(_title(arch, target), fontsize=10)
        ax.set_ylabel("MB")
        ax.grid(alpha=0.3, axis="y")
    _legend_below(fig, axes)
    _suptitle(fig, "Memory per variant: the paper's analytic memory and what each runtime's process held")
    return fig


def memory(df: pd.DataFrame, out_dir: Path, name: str = "memory.png") -> Path | None:
    fig = memory_figure(df)
    return _save(fig, out_dir, name) if fig is not None else None


# ---------------------------------------------------------------- Pareto fronts


def pareto_figure(
    df: pd.DataFrame, quality_col: str, quality_label: str, front: pd.Series, cost_col: str = "latency_median_ms"
) -> Figure | None:
    """One panel per architecture and target: quality against cost for every ok variant (faint) and
    the Pareto front of each runtime (solid, joined), front points labelled with their variant."""
    rows = _numeric(df, quality_col, cost_col)
    if rows.empty:
        return None
    colours = series_colours(rows)
    panels = _panel_keys(rows)
    fig, axes = _panels(len(panels))
    for ax, (arch, target) in zip(axes, panels):
        here = _in_panel(rows, arch, target)
        # The cheaper runtime's curve lies to the left: its labels go up and left, the other's down and right.
        by_cost = here.groupby("runtime")[cost_col].median().sort_values().index.tolist()
        for runtime, group in here.groupby("runtime", sort=True):
            colour = _colour(colours, (arch, target, runtime))
            marker = MARKERS.get(str(runtime), "^")
            ax.scatter(group[cost_col], group[quality_col], color=colour, marker=marker, alpha=0.3)
            on_front = group[front.reindex(group.index, fill_value=False).astype(bool)].sort_values(cost_col)
            ax.plot(on_front[cost_col], on_front[quality_col], color=colour, marker=marker, label=f"{runtime}: front")
            side = "upper left" if by_cost.index(runtime) == 0 else "lower right"
            _label_points(
                ax,
                list(on_front[cost_col]),
                list(on_front[quality_col]),
                [point_label(v) for v in on_front["variant"]],
                side,
            )
        ax.set_xlim(*_limits(here[cost_col]))
        ax.set_ylim(*_limits(here[quality_col]))
        _few_ticks(ax)
        ax.set_title(_title(arch, target), fontsize=10)
        ax.set_xlabel(UNITS.get(cost_col, cost_col))
        ax.set_ylabel(quality_label)
        ax.grid(alpha=0.3)
    _legend_below(fig, axes)
    _suptitle(
        fig, f"Pareto fronts: {quality_label} against {UNITS.get(cost_col, cost_col).split(',')[0]}, per architecture"
    )
    return fig


def pareto(
    df: pd.DataFrame,
    quality_col: str,
    quality_label: str,
    front: pd.Series,
    out_dir: Path,
    cost_col: str = "latency_median_ms",
    name: str = "pareto.png",
) -> Path | None:
    fig = pareto_figure(df, quality_col, quality_label, front, cost_col)
    return _save(fig, out_dir, name) if fig is not None else None


# ---------------------------------------------------------------- all of them


def figures(analysis) -> Iterator[tuple[str, Figure | None]]:
    """Every figure the report's sections show, by name (None: nothing to draw)."""
    from .analysis import FRONT_GROUP_BY, QUALITY_LABELS
    from .fit import fit_points
    from .pareto import pareto_mask

    a = analysis
    if not a.fits.empty:
        yield "latency_vs_macs", metric_vs_macs_figure(a.frame, a.fits)
        yield "parity", parity_figure(fit_points(a.frame))
    if a.has("energy_mj"):
        yield "energy_vs_macs", metric_vs_macs_figure(a.frame, a.fits, metric="energy_mj")
    if a.has("model_rss_bytes"):
        yield "memory", memory_figure(a.frame)
    if a.quality:
        mask = pareto_mask(a.frame, a.quality, "latency_median_ms", group_by=FRONT_GROUP_BY)
        yield "pareto", pareto_figure(a.frame, a.quality, QUALITY_LABELS.get(a.quality, a.quality), mask)


def draw(analysis, out_dir: Path) -> dict[str, Path]:
    """Every figure the report's sections show, drawn into `out_dir`: name -> PNG (absent: nothing to draw)."""
    return {name: _save(fig, out_dir, f"{name}.png") for name, fig in figures(analysis) if fig is not None}
