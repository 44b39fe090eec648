"""The memory figure: per variant, the paper's analytic memory beside what each runtime's process held."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
from matplotlib.figure import Figure

from ..variants import point_label
from .layout import (
    MARKERS,
    MB,
    colour_of,
    few_ticks,
    in_panel,
    legend_below,
    limits,
    numeric_rows,
    panel_grid,
    panel_keys,
    panel_title,
    series_colours,
    suptitle,
)


def _dodge(runtimes: Sequence[str]) -> dict[str, float]:
    """Side-by-side offsets of each runtime within a variant's slot."""
    n = len(runtimes)
    return {r: (i - (n - 1) / 2) * 0.22 for i, r in enumerate(runtimes)}


def memory_figure(df: pd.DataFrame) -> Figure | None:
    """One panel per architecture and target, one slot per variant (by analytic memory): the paper's
    analytic memory as a black bar, and beside it, one column per runtime, the model-attributable RSS
    (filled: peak RSS minus the RSS after imports) and the process's peak RSS (hollow)."""
    rows = numeric_rows(df, "memory_bytes")
    measured = [
        c
        for c in ("model_rss_bytes", "peak_rss_bytes")
        if c in rows.columns and pd.to_numeric(rows[c], errors="coerce").notna().any()
    ]
    if rows.empty or not measured:
        return None
    colours = series_colours(rows)
    panels = panel_keys(rows)
    fig, axes = panel_grid(len(panels), width=max(6.0, 0.2 + 0.55 * rows["variant"].nunique()))
    for ax, (arch, target) in zip(axes, panels):
        here = in_panel(rows, arch, target)
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
            colour = colour_of(colours, (arch, target, runtime))
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
        ax.set_ylim(*limits(values, log=log))
        ax.set_xlim(-0.6, len(variants) - 0.4)
        ax.set_xticks(
            range(len(variants)),
            [point_label(v) for v in variants],
            rotation=30 if len(variants) > 4 else 0,
            ha="right" if len(variants) > 4 else "center",
            fontsize=8,
        )
        few_ticks(ax, log_x=True, log_y=log)
        ax.set_title(panel_title(arch, target), fontsize=10)
        ax.set_ylabel("MB")
        ax.grid(alpha=0.3, axis="y")
    legend_below(fig, axes)
    suptitle(fig, "Memory per variant: the paper's analytic memory and what each runtime's process held")
    return fig
