"""Tables of a report: which columns, in which units, and how a cell is written (markdown and HTML alike)."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

MB = 1e6

# (column in the results frame, header, scale): the value shown is value / scale; None = as is.
Spec = Sequence[tuple[str, str, float | None]]

MEASUREMENT_COLUMNS: Spec = (
    ("target", "target", None),
    ("runtime", "runtime", None),
    ("variant", "variant", None),
    ("resolution", "resolution", None),
    ("width", "width", None),
    ("macs", "GMACs", 1e9),
    ("memory_bytes", "memory MB (analytic)", MB),
    ("latency_median_ms", "median ms", 1),
    ("latency_ci_half_width", "± (95 %, within this run)", None),
    ("latency_rounds", "rounds", None),
    ("latency_p90_ms", "p90 ms", 1),
    ("latency_iqr_over_median", "IQR / median %", 0.01),
    ("latency_p99_over_median", "p99 / median", 1),
    ("peak_rss_bytes", "peak RSS MB", MB),
    ("model_rss_bytes", "model RSS MB", MB),
    ("energy_mj", "mJ/inference", 1),
    ("top1", "top-1 %", 1),
    ("top5", "top-5 %", 1),
    ("fp32_top1", "FP32 top-1 %", 1),
    ("top1_drop", "top-1 drop", 1),
    ("miou", "mIoU %", 1),
    ("fp32_miou", "FP32 mIoU %", 1),
    ("miou_drop", "mIoU drop", 1),
    ("sqnr_db", "SQNR dB", 1),
    ("top1_agreement", "top-1 agree %", 1),
    ("throttled", "throttled", None),
    ("precision", "precision", None),
    ("status", "status", None),
)


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def cell(value: Any) -> str:
    """One cell as text: 3 significant digits below 100, whole numbers above, '–' when missing."""
    if isinstance(value, (list, tuple, dict)):
        return str(value)
    if is_missing(value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.001:
            return f"{value:.2e}"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def select(frame: pd.DataFrame, spec: Spec, drop_empty: bool = True) -> pd.DataFrame:
    """The spec's columns present in `frame`, renamed to their headers and scaled.

    drop_empty: leave out a column with no value at all (no energy meter: no energy column).
    """
    headers = [header for _, header, _ in spec]
    if len(set(headers)) != len(headers):
        raise ValueError(f"duplicate headers in a table spec: {headers}")
    out = pd.DataFrame(index=range(len(frame)))
    for column, header, scale in spec:
        if column not in frame.columns:
            continue
        values = frame[column].reset_index(drop=True)
        if drop_empty and values.map(lambda v: is_missing(v) or v == "").all():
            continue
        if scale is not None:
            values = pd.to_numeric(values, errors="coerce") / scale
        out[header] = values.astype(object).where(values.notna(), None)
    return out


def target_labels(frame: pd.DataFrame) -> pd.Series:
    """Each row's target, "(emulated)" added where an emulator's times are shown."""
    labels = frame["target"].astype(str)
    if "emulated" not in frame:  # tables written before the column was
        return labels
    return labels + pd.Series("", index=frame.index).where(~frame["emulated"].fillna(False).astype(bool), " (emulated)")


def summary_table(frame: pd.DataFrame, with_recipe: bool = False) -> pd.DataFrame:
    """One row per measurement, sorted by target, runtime and FLOPs (a recipe column first on request)."""
    rows = frame.sort_values(
        [c for c in ("target", "runtime", "recipe", "arch", "flops", "variant") if c in frame.columns]
    )
    if "throttle_changed" in rows.columns:
        rows = rows.assign(throttled=rows["throttle_changed"].map(lambda v: "THROTTLED" if v is True else ""))
    if "latency_ci_half_width" in rows.columns:
        rows = rows.assign(
            latency_ci_half_width=rows["latency_ci_half_width"].map(lambda v: None if is_missing(v) else f"{v:.1%}")
        )
    if "latency_precision" in rows.columns:
        rows = rows.assign(precision=rows["latency_precision"].map(lambda v: "IMPRECISE" if v == "imprecise" else ""))
    if "target" in rows.columns:
        rows = rows.assign(target=target_labels(rows))
    return select(rows, ((("recipe", "recipe", None),) if with_recipe else ()) + tuple(MEASUREMENT_COLUMNS))


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub markdown table (pandas' to_markdown needs tabulate; this needs nothing)."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(cell(v).replace("|", "\\|") for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])
