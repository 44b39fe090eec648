"""The roofline figure: one panel per target, each profiled operator's achieved GMAC/s against its
MACs per byte, and per runtime the measured ceilings min(peak MAC/s, peak bytes/s x intensity)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .layout import MARKERS, legend_below, limits, panel_grid, suptitle

RUNTIME_COLOURS = {"executorch": "C0", "litert": "C1"}


def roofline_figure(points: pd.DataFrame, peaks: pd.DataFrame) -> Figure | None:
    """None when no operator can be placed (no MACs, or no profile)."""
    if points.empty:
        return None
    targets = sorted(points["target"].astype(str).unique())
    fig, axes = panel_grid(len(targets), width=6.4, height=4.6, columns=2)
    for ax, target in zip(axes, targets):
        here = points[points["target"].astype(str) == target]
        ceilings = peaks[peaks["target"].astype(str) == target] if not peaks.empty else peaks
        drawn = ceilings.dropna(subset=["peak_mac_per_s", "peak_bytes_per_s"]) if not ceilings.empty else ceilings
        ridges = list(drawn["ridge_macs_per_byte"]) if not drawn.empty else []
        span = np.logspace(
            np.log10(min([*here["intensity"], *ridges]) / 3), np.log10(max([*here["intensity"], *ridges]) * 3), 200
        )
        xs, ys = [*here["intensity"], span[0], span[-1]], list(here["mac_per_s"] / 1e9)
        for runtime, group in here.groupby("runtime", sort=True):
            ax.scatter(
                group["intensity"],
                group["mac_per_s"] / 1e9,
                s=14,
                alpha=0.55,
                marker=MARKERS.get(str(runtime), "o"),
                color=RUNTIME_COLOURS.get(str(runtime), "C2"),
                label=f"{runtime}: an operator (median of its profiled runs)",
            )
        for _, peak in drawn.iterrows():
            roof = np.minimum(peak["peak_mac_per_s"], peak["peak_bytes_per_s"] * span) / 1e9
            ax.plot(
                span,
                roof,
                color=RUNTIME_COLOURS.get(str(peak["runtime"]), "C2"),
                linewidth=1.4,
                label=f"{peak['runtime']}: ceiling measured by the roofline probes",
            )
            ys += [roof.min(), roof.max()]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(*limits(xs, log=True))
        ax.set_ylim(*limits(ys, log=True))
        for axis in (ax.xaxis, ax.yaxis):  # plain numbers at 1, 2, 5 x 10^k, no minor labels
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        emulated = bool(here["emulated"].fillna(False).astype(bool).any()) if "emulated" in here else False
        threads = sorted({int(t) for t in here.get("threads", pd.Series(dtype=float)).dropna()})
        ax.set_title(
            f"{target}{' (emulated)' if emulated else ''}"
            + (f", {'/'.join(map(str, threads))} thread(s)" if threads else ""),
            fontsize=10,
        )
        ax.set_xlabel("arithmetic intensity, MACs per byte (weights + activations in and out)", fontsize=8)
        ax.set_ylabel("achieved GMAC/s", fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
    suptitle(fig, "Roofline: each profiled operator against the ceilings its target's probes reached")
    legend_below(fig, axes)
    return fig
