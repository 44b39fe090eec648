"""How the sections put values, tables and figures in front of the reader: units and names of the
measured quantities, a cell with its unit, a table's columns and reading order, a figure by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..analysis import Analysis
from ..blocks import Image
from ..tables import MB, Spec, cell, select

QUALITY_UNITS = {
    "top1": ("top-1", "%"),
    "miou": ("mIoU", "%"),
    "sqnr_db": ("SQNR", " dB"),
    "top1_agreement": ("top-1 agreement", "%"),
}
METRIC_NAMES = {"latency_median_ms": "latency ms", "energy_mj": "energy mJ"}
COST_LABELS = {"latency_median_ms": "latency ms", "energy_mj": "energy mJ", "peak_rss_bytes": "peak RSS MB"}
COST_SCALES = {"peak_rss_bytes": MB}
COST_NAMES = {"latency_median_ms": "latency", "energy_mj": "energy", "peak_rss_bytes": "peak RSS"}
Images = Mapping[str, Path]  # figure name (as `plots.figures` names it) -> the PNG drawn for this report


def with_unit(value: Any, unit: str = "") -> str:
    text = cell(value)
    return text if text == "–" or not unit else f"{text} {unit}"


def shown(a: Analysis, frame: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """`select`, with a recipe column in front when several recipes share the report (variant names
    alone may then be ambiguous)."""
    spec = list(spec)
    if a.several_recipes and "recipe" in frame.columns and all(column != "recipe" for column, _, _ in spec):
        spec.insert(0, ("recipe", "recipe", None))
    return select(frame, spec)


def figure(images: Images, name: str) -> list[Image]:
    """The figure `name` as an image block, or nothing when it was not drawn."""
    path = images.get(name)
    return [Image(path, path.stem.replace("_", " "))] if path else []


def in_reading_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows by target, runtime, width, then from the largest resolution down (the paper's reading order)."""
    keys = [k for k in ("target", "runtime", "recipe", "width") if k in table.columns]
    ascending = [True] * len(keys)
    if "resolution" in table.columns:
        keys.append("resolution")
        ascending.append(False)
    return table.sort_values(keys, ascending=ascending, kind="stable") if keys else table
