"""Memory measured against the paper's analytic model: ratios of like to like, per ok row, and their
spread per target and runtime.

Each ratio divides two figures of one kind (the model in the process against the analytic model, the
deployed graph's activation metric against the torch graph's, LiteRT's arena against the liveness
peak); what a runtime allocates itself and what preparing the model made resident are shown beside
them, never divided.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..results import Memory, Record
from .fit import ok_rows

# Each ratio divides two figures of the same kind (measured or deployed over its analytic model):
# ratio -> (numerator, denominator).
MEMORY_COMPARISONS: Mapping[str, tuple[str, str]] = {
    # the whole model in the process (peak RSS minus RSS after imports) vs the paper's whole model
    # (INT8 weights + the largest operator's inputs and outputs)
    "rss_over_memory": ("model_rss_bytes", "memory_bytes"),
    # the paper's activation metric on the deployed graph (each tensor at its real type, converter
    # ops included) vs the same metric on the torch graph at one byte per element
    "deployed_over_activation": ("deployed_activation_bytes", "activation_bytes"),
    # every activation laid out by LiteRT's builtin kernels vs the liveness peak, its lower bound
    "arena_over_liveness": ("arena_bytes", "liveness_bytes"),
}
# Shown beside the ratios, never divided: what each runtime allocates itself as timed (for a fully
# delegated graph only its input and output) and what preparing the model made resident.
MEMORY_FIGURES = ("planned_bytes", "planned_io_only", "working_rss_bytes")
IDENTITY_COLUMNS = ("recipe", "target", "runtime", "variant", "arch", "resolution", "width")


def _ratio(numerator, denominator):
    try:
        numerator, denominator = float(numerator), float(denominator)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(numerator) and np.isfinite(denominator)) or denominator == 0:
        return None
    return numerator / denominator


def working_rss_bytes(memory: Memory | None) -> int | None:
    """What preparing the model and its first inference made resident: RSS after the first inference
    minus RSS after loading. The delegate's packed weights and working memory and the runtime's own
    buffers are in it; the file read at load is not. None when a phase is missing."""
    phases = memory.phases if memory else {}
    loaded = (phases.get("load") or {}).get("rss_bytes")
    ran = (phases.get("first_inference") or {}).get("rss_bytes")
    return ran - loaded if isinstance(loaded, int) and isinstance(ran, int) else None


def memory_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Per ok row: each comparison of `MEMORY_COMPARISONS` as a ratio, beside the figures it divides
    and the undivided `MEMORY_FIGURES`; `deployed_activation_diff_pct` is the deployed metric's
    difference from the analytic one, in percent.

    A ratio is None where either side is missing or the denominator is zero. Above 1: the runtime
    (or its graph) holds more than the model says.
    """
    rows = ok_rows(df)
    keep = [c for c in IDENTITY_COLUMNS if c in rows.columns]
    out = rows[keep].copy()
    columns = dict.fromkeys([c for pair in MEMORY_COMPARISONS.values() for c in pair] + list(MEMORY_FIGURES))
    for column in columns:
        out[column] = rows[column].astype(object) if column in rows.columns else None
    for ratio, (numerator, denominator) in MEMORY_COMPARISONS.items():
        out[ratio] = pd.Series(
            [_ratio(m, r) for m, r in zip(out[numerator], out[denominator])], index=out.index, dtype=object
        )
    out["deployed_activation_diff_pct"] = [
        None if r is None else 100.0 * (r - 1.0) for r in out["deployed_over_activation"]
    ]
    return out


def with_working_rss(frame: pd.DataFrame, records: Sequence[Record]) -> pd.DataFrame:
    """The results table with `working_rss_bytes`, read from the records' per-phase RSS (the table has
    one row per record, in order; without that, the table as it is)."""
    working = [working_rss_bytes(r.memory) for r in records]
    return frame.assign(working_rss_bytes=working) if len(working) == len(frame) else frame


def ratio_spread(ratios: pd.DataFrame) -> pd.DataFrame:
    """Per target and runtime of `memory_ratios`: each ratio's `<ratio>_median`, `<ratio>_min` and
    `<ratio>_max` over the rows that have it (None where none has)."""
    rows = []
    for (target, runtime), group in ratios.groupby(["target", "runtime"]):
        row: dict[str, Any] = {"target": target, "runtime": runtime}
        for ratio in MEMORY_COMPARISONS:
            values = pd.to_numeric(group[ratio], errors="coerce").dropna()
            known = len(values) > 0
            row[f"{ratio}_median"] = values.median() if known else None
            row[f"{ratio}_min"] = values.min() if known else None
            row[f"{ratio}_max"] = values.max() if known else None
        rows.append(row)
    return pd.DataFrame(rows)
