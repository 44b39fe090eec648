"""The per-variant table of a report."""

from __future__ import annotations

import pandas as pd

MB = 1e6

COLUMNS = {  # column in the results frame -> header, scale
    "target": ("target", None),
    "runtime": ("runtime", None),
    "variant": ("variant", None),
    "resolution": ("resolution", None),
    "width": ("width", None),
    "flops": ("GFLOPs", 1e9),
    "memory_bytes": ("memory MB (analytic)", MB),
    "latency_median_ms": ("median ms", 1),
    "latency_p90_ms": ("p90 ms", 1),
    "peak_rss_bytes": ("peak RSS MB", MB),
    "model_rss_bytes": ("model RSS MB", MB),
    "energy_mj": ("mJ/inference", 1),
    "status": ("status", None),
}


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame.sort_values([c for c in ("target", "runtime", "flops", "variant") if c in frame])
    out = pd.DataFrame()
    for column, (header, scale) in COLUMNS.items():
        if column not in rows:
            continue
        values = rows[column]
        if scale is not None:
            values = pd.to_numeric(values, errors="coerce") / scale
        out[header] = values.values
    return out


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub markdown table (pandas' to_markdown needs tabulate; this needs nothing)."""

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return "–"
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])
