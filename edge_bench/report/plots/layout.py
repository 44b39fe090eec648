"""What every figure of a report shares, and the rules it keeps:

- one panel per architecture and target: nothing is compared or fitted across architectures;
- every point inside the axes (limits set from the data with a margin, never left to chance);
- points labelled with their variant ("182 px", "96 px ×0.35"), each variant once per panel;
- legends below the axes, where they cover no point; a few ticks per axis, so labels never overlap.

Colours are fixed per (architecture, target, runtime) series; runtimes also differ by marker, so a
point hidden by another of the same place still shows as a different shape beside it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..fit import ok_rows

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


def colour_of(colours: dict, row_or_keys) -> str:
    """The colour of an (arch, target, runtime) series in `series_colours`."""
    arch, target, runtime = row_or_keys
    return colours.get((str(arch), str(target), str(runtime)), "C0")


def numeric_rows(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The ok rows with `columns` as numbers, those missing any left out; `arch` always present."""
    rows = ok_rows(df)
    if any(c not in rows.columns for c in columns):
        return rows.iloc[:0]
    values = rows[list(columns)].apply(pd.to_numeric, errors="coerce")
    rows = rows.assign(**{c: values[c] for c in columns}).dropna(subset=list(columns))
    if "arch" not in rows.columns:
        rows = rows.assign(arch="")
    return rows


def gmacs(rows: pd.DataFrame) -> pd.Series:
    """GMACs of each row: `macs` where recorded, else half the FLOPs."""
    flops = pd.to_numeric(rows["flops"], errors="coerce") / 2 if "flops" in rows.columns else np.nan
    macs = (
        pd.to_numeric(rows["macs"], errors="coerce") if "macs" in rows.columns else pd.Series(np.nan, index=rows.index)
    )
    return macs.fillna(flops) / 1e9


def panel_grid(n: int, width: float = 6.0, height: float = 4.2, columns: int = 3) -> tuple[Figure, list]:
    ncols = min(n, columns)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(width * ncols, height * nrows + 0.6), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def panel_keys(rows: pd.DataFrame) -> list[tuple[str, str]]:
    return sorted({(str(a), str(t)) for a, t in zip(rows["arch"], rows["target"])})


def in_panel(rows: pd.DataFrame, arch: str, target: str) -> pd.DataFrame:
    return rows[(rows["arch"].astype(str) == arch) & (rows["target"].astype(str) == target)]


def panel_title(arch: str, target: str) -> str:
    return f"{arch} on {target}" if arch else target


def limits(values: Sequence[float], log: bool = False, from_zero: bool = False) -> tuple[float, float]:
    """Axis limits that hold every value with a margin (on a log axis, a margin in log space)."""
    values = np.asarray([v for v in values if np.isfinite(v) and (v > 0 or not log)], dtype=np.float64)
    if log:
        low, high = np.log10(values.min()), np.log10(values.max())
        pad = max(high - low, 0.3) * MARGIN
        return 10 ** (low - pad), 10 ** (high + pad)
    low, high = (0.0 if from_zero else values.min()), values.max()
    span = high - low if high > low else max(abs(high), 1e-9)
    return (low if from_zero else low - MARGIN * span), high + MARGIN * span


def few_ticks(ax, log_x: bool = False, log_y: bool = False) -> None:
    if not log_x:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    if not log_y:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6))


def legend_below(fig: Figure, axes: list) -> None:
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


def suptitle(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to its width."""
    fig.suptitle("\n".join(textwrap.wrap(text, width=int(fig.get_figwidth() * 72 / 6.6))), fontsize=11)


def label_points(ax, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], side: str = "upper left") -> None:
    """Each label once, beside its point: "upper left" keeps labels above a rising curve, "lower
    right" below it, so the labels of two curves side by side face away from each other."""
    dx, dy, ha, va = (-4, 3, "right", "bottom") if side == "upper left" else (4, -3, "left", "top")
    for x, y, label in zip(xs, ys, labels):
        ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va, fontsize=7, color="0.25")


def save(fig: Figure, out_dir: Path, name: str) -> Path:
    path = Path(out_dir) / name
    fig.savefig(path, dpi=DPI)
    return path
