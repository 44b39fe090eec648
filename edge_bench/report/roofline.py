"""A roofline per target: each profiled operator's achieved MAC/s against its arithmetic intensity (MACs
per byte of weights and activations it reads and writes), under the ceilings the target's roofline
probes reached (`measure/roofline.py`): measured by a microbenchmark through the same runtime and
threads, labelled as such, never a datasheet peak."""

from __future__ import annotations

import pandas as pd

from .tables import target_labels

PROBE_ARCH = "roofline_probe"
# An operator timed under this is not a ceiling: the profilers count whole microseconds (±2.5 % at 20 µs).
CEILING_MIN_MS = 0.02


def split_probes(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the sweep's operator rows, the roofline probes' rows)."""
    if rows.empty or "arch" not in rows:
        return rows, rows.iloc[:0]
    probe = rows["arch"].astype(str) == PROBE_ARCH
    return rows[~probe], rows[probe]


def _best(rows: pd.DataFrame, column: str, probe: str) -> pd.Series | None:
    """The row of `probe`'s operators with the highest `column`, among those timed finely enough."""
    if column not in rows or "probe" not in rows:
        return None
    timed = pd.to_numeric(rows["time_ms"], errors="coerce") >= CEILING_MIN_MS
    values = pd.to_numeric(rows[column], errors="coerce")[timed & (rows["probe"] == probe)]
    values = values[values > 0]
    return None if values.empty else rows.loc[values.idxmax()]


def ceilings(probes: pd.DataFrame) -> pd.DataFrame:
    """Per target, runtime and threads: the best MAC/s and bytes/s any probe operator reached, and which."""
    out = []
    keys = ["target", "runtime", "threads"]
    for key, group in probes.groupby(keys, dropna=False, sort=True):
        compute, memory = _best(group, "mac_per_s", "compute"), _best(group, "bytes_per_s", "memory")
        if compute is None and memory is None:
            continue
        peak_macs = float(compute["mac_per_s"]) if compute is not None else None
        peak_bytes = float(memory["bytes_per_s"]) if memory is not None else None
        out.append(
            {
                **dict(zip(keys, key)),
                "emulated": bool(group["emulated"].fillna(False).astype(bool).any()) if "emulated" in group else False,
                "peak_mac_per_s": peak_macs,
                "compute_by": _who(compute),
                "peak_bytes_per_s": peak_bytes,
                "memory_by": _who(memory),
                "ridge_macs_per_byte": peak_macs / peak_bytes if peak_macs and peak_bytes else None,
            }
        )
    return pd.DataFrame(out)


def _who(row: pd.Series | None) -> str:
    """Which probe operator reached a ceiling, and the bytes it moved (where they may sit in caches)."""
    if row is None:
        return "not reached: no probe operator timed for 20 µs or more"
    moved = row.get("bytes")
    size = (
        "bytes unknown"
        if pd.isna(moved)
        else f"{moved / 2**20:.1f} MiB"
        if moved >= 2**20
        else f"{moved / 2**10:.0f} KiB"
    )
    return f"{row['kind']} of the {row['probe']} probe, {size} moved, {row['time_ms']:.3g} ms"


def ceilings_table(peaks: pd.DataFrame) -> pd.DataFrame:
    """The ceilings as shown."""

    def number(value, scale: float) -> str:
        return "–" if value is None or pd.isna(value) else f"{value / scale:.3g}"

    return pd.DataFrame(
        {
            "target": target_labels(peaks),
            "runtime": peaks["runtime"],
            "threads": peaks["threads"].map(lambda v: "–" if pd.isna(v) else f"{int(v)}"),
            "peak GMAC/s (measured)": peaks["peak_mac_per_s"].map(lambda v: number(v, 1e9)),
            "by": peaks["compute_by"],
            "peak GB/s (measured)": peaks["peak_bytes_per_s"].map(lambda v: number(v, 1e9)),
            "by ": peaks["memory_by"],
            "ridge MACs/byte": peaks["ridge_macs_per_byte"].map(lambda v: number(v, 1)),
        }
    )


def roofline_points(rows: pd.DataFrame) -> pd.DataFrame:
    """The sweep's operators a roofline can place: timed, with MACs and bytes (intensity = MACs / bytes)."""
    needed = ("time_ms", "macs", "bytes", "mac_per_s")
    if rows.empty or any(c not in rows for c in needed):
        return rows.iloc[:0]
    values = rows[list(needed)].apply(pd.to_numeric, errors="coerce")
    placed = rows[(values["macs"] > 0) & (values["bytes"] > 0) & (values["mac_per_s"] > 0)].copy()
    placed["intensity"] = values["macs"] / values["bytes"]
    return placed
