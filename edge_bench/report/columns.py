"""The results table's columns as the analysis reads them: which hold quality, how each is named, the
columns derived from the records, and any column as numbers."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import noise

ACCURACY_COLUMNS = ("top1", "miou")
QUALITY_LABELS = {"top1": "top-1 %", "miou": "mIoU %", "sqnr_db": "SQNR dB", "top1_agreement": "top-1 agreement %"}


def series(rows: pd.DataFrame, column: str) -> pd.Series:
    """A column as numbers (NaN where missing or not numeric; all NaN when the column is absent)."""
    return (
        pd.to_numeric(rows[column], errors="coerce") if column in rows.columns else pd.Series(np.nan, index=rows.index)
    )


def with_derived_columns(frame: pd.DataFrame, records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The results table with what the report derives from each record: `macs` where only FLOPs were
    recorded (a multiply-accumulate is 2 FLOPs), and the latency's dispersion (`noise.dispersion`).
    Columns already present are kept as they are."""
    frame = frame.copy()
    if "flops" in frame.columns:
        halves = pd.to_numeric(frame["flops"], errors="coerce") / 2
        frame["macs"] = series(frame, "macs").fillna(halves) if "macs" in frame.columns else halves
    if len(frame) == len(records):
        for column, values in noise.dispersion_columns(records, frame.index).items():
            if column not in frame.columns:
                frame[column] = values
    return frame
