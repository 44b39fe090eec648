"""The `mcu` object of a result record for a target of kind "mcu"."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..config import McuConfig
from .fit import fit_check, mcu_planned_bytes
from .latency import estimate_latency_ms

NOT_MEASURED_REASON = (
    "microcontroller targets are not measured: edge-bench does not flash boards; fit and latency are estimates"
)


def mcu_record(analytic: Mapping[str, Any], artifact: str | Path | None, mcu: McuConfig) -> dict[str, Any]:
    """Budget check and latency estimate of one variant; the artifact (if any) gives flash and planned SRAM."""
    artifact_bytes = planned = None
    planned_source = "planned"
    if artifact is not None and Path(artifact).is_file():
        artifact_bytes = Path(artifact).stat().st_size
        planned, planned_source = mcu_planned_bytes(artifact)
    return {
        "core": mcu.core or None,
        "npu": mcu.npu or None,
        "plan": {"bytes": planned, "source": planned_source if artifact_bytes is not None else None},
        "fit": fit_check(analytic, artifact_bytes, planned, mcu, planned_source=planned_source),
        "latency_estimate": estimate_latency_ms(analytic.get("macs"), mcu),
        "measured": None,
        "reason": NOT_MEASURED_REASON,
    }
