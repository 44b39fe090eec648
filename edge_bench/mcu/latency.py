"""A first-order latency estimate for a microcontroller: MACs over sustained MACs per second."""

from __future__ import annotations

from typing import Any

from ..config import McuConfig

LATENCY_FORMULA = "macs / (macs_per_cycle * clock_hz) * 1000"


def estimate_latency_ms(macs: int | None, mcu: McuConfig) -> dict[str, Any]:
    """Latency in ms as `LATENCY_FORMULA`, labelled an estimate; None with a reason when an input is missing.

    `macs_per_cycle` is the sustained rate a runtime reached on a published benchmark of that core
    (the target file cites it); it folds in memory stalls and non-MAC operators of that network, so
    networks unlike it (other shapes, other operators) can be off by a large factor.
    """
    out: dict[str, Any] = {
        "kind": "estimate",
        "latency_ms": None,
        "formula": LATENCY_FORMULA,
        "inputs": {"macs": macs, "macs_per_cycle": mcu.macs_per_cycle, "clock_hz": mcu.clock_hz or None},
        "reason": None,
    }
    if macs is None:
        out["reason"] = "no MAC count for this variant"
    elif mcu.macs_per_cycle is None:
        out["reason"] = (
            "the target file gives no [mcu].macs_per_cycle (its comment says why); no latency can be estimated"
        )
    elif mcu.macs_per_cycle <= 0:
        out["reason"] = f"[mcu].macs_per_cycle must be > 0, got {mcu.macs_per_cycle}"
    elif not mcu.clock_hz:
        out["reason"] = "the target gives no [mcu].clock_hz"
    else:
        out["latency_ms"] = macs / (mcu.macs_per_cycle * mcu.clock_hz) * 1000.0
    return out
