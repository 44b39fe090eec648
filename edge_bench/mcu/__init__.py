"""Microcontroller-class targets (kind "mcu"): does a variant fit, and how fast might it run.

edge-bench flashes no board, so nothing is measured on a microcontroller: per variant it checks the
memory need against the target's datasheet budgets and gives a latency estimate that says it is one.
"""

from .fit import fit_check, mcu_planned_bytes
from .latency import LATENCY_FORMULA, estimate_latency_ms
from .record import NOT_MEASURED_REASON, mcu_record

__all__ = [
    "LATENCY_FORMULA",
    "NOT_MEASURED_REASON",
    "estimate_latency_ms",
    "fit_check",
    "mcu_planned_bytes",
    "mcu_record",
]
