"""The Pareto figure: quality against cost for every variant, and each runtime's front."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from ..variants import point_label
from .layout import (
    MARKERS,
    UNITS,
    colour_of,
    few_ticks,
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


def pareto_figure(
    df: pd.DataFrame, quality_col: str, quality_label: str, front: pd.Series, cost_col: str = "latency_median_ms"
) -> Figure | None:
    """One panel per architecture and target: quality against cost for every ok variant (faint) and
    the Pareto front of each runtime (solid, joined), front points labelled with their variant."""
    rows = numeric_rows(df, quality_col, cost_col)
    if rows.empty:
        return None
    colours = series_colours(rows)
    panels = panel_keys(rows)
    fig, axes = panel_grid(len(panels))
    for ax, (arch, target) in zip(axes, panels):
        here = in_panel(rows, arch, target)
        # The cheaper runtime's curve lies to the left: its labels go up and left, the other's down and right.
        by_cost = here.groupby("runtime")[cost_col].median().sort_values().index.tolist()
        for runtime, group in here.groupby("runtime", sort=True):
            colour = colour_of(colours, (arch, target, runtime))
            marker = MARKERS.get(str(runtime), "^")
            ax.scatter(group[cost_col], group[quality_col], color=colour, marker=marker, alpha=0.3)
            on_front = group[front.reindex(group.index, fill_value=False).astype(bool)].sort_values(cost_col)
            ax.plot(on_front[cost_col], on_front[quality_col], color=colour, marker=marker, label=f"{runtime}: front")
            side = "upper left" if by_cost.index(runtime) == 0 else "lower right"
            label_points(
                ax,
                list(on_front[cost_col]),
                list(on_front[quality_col]),
                [point_label(v) for v in on_front["variant"]],
                side,
            )
        ax.set_xlim(*limits(here[cost_col]))
        ax.set_ylim(*limits(here[quality_col]))
        few_ticks(ax)
        ax.set_title(panel_title(arch, target), fontsize=10)
        ax.set_xlabel(UNITS.get(cost_col, cost_col))
        ax.set_ylabel(quality_label)
        ax.grid(alpha=0.3)
    legend_below(fig, axes)
    suptitle(
        fig, f"Pareto fronts: {quality_label} against {UNITS.get(cost_col, cost_col).split(',')[0]}, per architecture"
    )
    return fig
