"""Result records: the typed record (`record`), its schema version and upgrades (`schema`), the
append-only results directory (`store`), and the flat table view."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Iterable

from .record import COLUMNS, ArtifactRef, Energy, Identity, Latency, Memory, Precision, Record, Round
from .schema import SCHEMA_VERSION, upgrade
from .store import RESULTS_FILE, ROUNDS_FILE, ResultStore, ResultWriteError, RoundLine, load_dirs, read_records


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def to_dataframe(records: Iterable[Record]):
    import pandas as pd

    return pd.DataFrame([r.flat() for r in records])


__all__ = [
    "COLUMNS",
    "RESULTS_FILE",
    "ROUNDS_FILE",
    "SCHEMA_VERSION",
    "ArtifactRef",
    "Energy",
    "Identity",
    "Latency",
    "Memory",
    "Precision",
    "Record",
    "ResultStore",
    "ResultWriteError",
    "Round",
    "RoundLine",
    "load_dirs",
    "new_run_id",
    "read_records",
    "to_dataframe",
    "upgrade",
]
