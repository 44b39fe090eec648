"""What each artifact's deployed graph runs where, read from the records' analytic facts: how much of it
the XNNPACK delegate takes (`analytic.delegation`) and how much of it runs in INT8 (`analytic.int8`).

One row per artifact (recipe, variant, runtime), however many times it was measured.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import pandas as pd

from ..results import Record


def _artifacts(records: Iterable[Record], fact: str) -> Iterator[tuple[Record, Any, dict]]:
    """Each artifact's first record carrying `analytic[fact]` as a dict: (record, variant name, fact)."""
    seen = set()
    for record in records:
        value = (record.analytic or {}).get(fact)
        variant = record.variant.get("name")
        key = (record.recipe, variant, record.runtime)
        if not isinstance(value, dict) or key in seen:
            continue
        seen.add(key)
        yield record, variant, value


def delegation_table(records: Iterable[Record]) -> pd.DataFrame:
    """One row per artifact: fully delegated or not, and the ops left to plain kernels."""
    rows = []
    for record, variant, delegation in _artifacts(records, "delegation"):
        left = delegation.get("non_delegated_ops")
        rows.append(
            {
                "recipe": record.recipe,
                "runtime": record.runtime,
                "variant": variant,
                "fully_delegated": delegation.get("fully_delegated"),
                "delegated": delegation.get("delegated_nodes", delegation.get("delegated_ops")),
                # LiteRT: the partitions its delegate made at load time; ExecuTorch: the delegate calls in the program.
                "partitions": delegation.get("delegate_partitions", delegation.get("delegate_calls")),
                "non_delegated_ops": (", ".join(f"{op} ×{n}" for op, n in left.items()) or "none")
                if isinstance(left, dict)
                else None,
                "reason": delegation.get("reason"),
            }
        )
    return pd.DataFrame(rows)


def int8_table(records: Iterable[Record]) -> pd.DataFrame:
    """One row per artifact: its INT8 coverage (artifacts.int8), `below_100pct_macs` flagging any
    artifact with MACs outside INT8, and the operators that stay float with the reason."""
    rows = []
    for record, variant, int8 in _artifacts(records, "int8"):
        floats = int8.get("float_op_histogram") or {}
        reasons = int8.get("float_reasons") or {}
        pct = int8.get("int8_macs_pct")
        rows.append(
            {
                "recipe": record.recipe,
                "runtime": record.runtime,
                "variant": variant,
                "int8_macs_pct": pct,
                "int8_ops_pct": int8.get("int8_ops_pct"),
                "int8_ops": int8.get("int8_ops"),
                "float_ops": int8.get("float_ops"),
                "convert_ops": int8.get("convert_ops"),
                "fully_int8": int8.get("fully_int8"),
                "below_100pct_macs": pct is not None and pct < 100.0,
                "float_ops_why": "; ".join(f"{op} ×{n}: {reasons.get(op, '')}" for op, n in floats.items()) or "none",
            }
        )
    return pd.DataFrame(rows)


def per_runtime(table: pd.DataFrame, *flags: str) -> pd.DataFrame:
    """Per runtime of a coverage table: its artifacts (`n`) and, for each flag column, how many have it
    True (None, not known, is not counted)."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    for runtime, group in table.groupby("runtime"):
        rows.append({"runtime": runtime, "n": len(group), **{f: int(group[f].eq(True).sum()) for f in flags}})
    return pd.DataFrame(rows)
