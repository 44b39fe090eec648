"""What a target asks of one measurement: when its rounds may stop, and what the agent does in one round."""

from __future__ import annotations

from typing import Any

from ..config import Target
from .precision import StopRule


def stop_rule(target: Target) -> StopRule:
    m = target.measure
    return StopRule(
        target=m.precision,
        confidence=m.confidence,
        rounds_min=m.rounds_min,
        rounds_max=m.rounds_max,
        retakes=m.retakes,
        max_seconds=m.max_secs_per_measurement,
    )


def measurement_spec(target: Target, artifact_path: str, runtime: str, with_energy: bool = True) -> dict[str, Any]:
    """What the agent does in one round."""
    m = target.measure
    spec = {
        "artifact": artifact_path,
        "runtime": runtime,
        "api": target.runtimes.api(runtime),
        "threads": target.threads,
        "warmup_runs": m.warmup_runs,
        "warmup_secs": m.warmup_secs,
        "min_runs": m.min_runs,
        "min_secs": m.min_secs,
        "max_secs": m.max_secs,
        "round_precision": m.round_precision,
        "cooldown_below_c": m.cooldown_below_c,
        "cooldown_max_secs": m.cooldown_max_secs,
        "cores": list(m.cores) or None,
        "energy": None,
    }
    if with_energy and target.energy.meter != "none":
        spec["energy"] = {
            "meter": target.energy.meter,
            "options": dict(target.energy.options),
            "period_secs": target.energy.period_secs,
            "idle_secs": m.idle_secs,
            "duration_secs": m.energy_secs,
        }
    return spec


def cores_problem(target: Target, device: dict[str, Any]) -> str | None:
    """Why the target's [measure] cores cannot be had on the device, from what its agent said (None: they can,
    or the device did not say)."""
    allowed = (device.get("env") or {}).get("cores_allowed")
    if not target.measure.cores or not isinstance(allowed, str):
        return None
    from ..device.affinity import format_cpu_list, parse_cpu_list

    try:
        missing = sorted(set(target.measure.cores) - set(parse_cpu_list(allowed)))
    except ValueError:
        return None
    if not missing:
        return None
    return (
        f"{target.path}: key 'measure.cores' names core(s) {format_cpu_list(missing)}, which the device does not "
        f"let the agent use (it may run on {allowed}); pin to cores among {allowed}"
    )
