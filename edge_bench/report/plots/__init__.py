"""Plots of a report, written as PNG files.

Figures are made with matplotlib's object API (no pyplot state, no display). Each plot is built by a
`*_figure` function (what tests look at): `compute` (a metric against GMACs, measured against
predicted), `memory` and `fronts`, on the shared layout of `layout` (whose rules every figure keeps).
Where a fit line is expected but missing, the panel says why. `draw` saves every figure a report
shows; what they plot is computed beforehand (`analysis.Analysis`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from matplotlib.figure import Figure

from ..columns import QUALITY_LABELS
from .compute import metric_vs_macs_figure, parity_figure
from .fronts import pareto_figure
from .layout import save
from .memory import memory_figure

if TYPE_CHECKING:
    from ..analysis import Analysis


def figures(a: Analysis) -> Iterator[tuple[str, Figure | None]]:
    """Every figure the report's sections show, by name (None: nothing to draw)."""
    if not a.fits.empty:
        yield "latency_vs_macs", metric_vs_macs_figure(a.frame, a.fits)
        yield "parity", parity_figure(a.fit_points)
    if a.has("energy_mj"):
        yield "energy_vs_macs", metric_vs_macs_figure(a.frame, a.fits, metric="energy_mj")
    if a.has("model_rss_bytes"):
        yield "memory", memory_figure(a.frame)
    if a.quality:
        yield "pareto", pareto_figure(a.frame, a.quality, QUALITY_LABELS.get(a.quality, a.quality), a.latency_front)


def draw(a: Analysis, out_dir: Path) -> dict[str, Path]:
    """Every figure the report's sections show, drawn into `out_dir`: name -> PNG (absent: nothing to draw)."""
    return {name: save(fig, out_dir, f"{name}.png") for name, fig in figures(a) if fig is not None}
