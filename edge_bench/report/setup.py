"""What the measurements were taken on, per target and runtime, from the records themselves: the CPU,
its cores and the threads used, the runtime and its version, the weights, how many timed samples a
measurement holds, the governor, the load average and temperature before and after, and throttling.

A fact no record carries is written as "not recorded", never guessed.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..results import Record

NOT_RECORDED = "not recorded"


def _distinct(values: Iterable[Any]) -> str:
    """The distinct non-empty values, in first-seen order, joined; NOT_RECORDED when there is none."""
    seen = list(dict.fromkeys(str(v) for v in values if v not in (None, "", [], {})))
    return "; ".join(seen) if seen else NOT_RECORDED


def _env(record: Record) -> dict[str, Any]:
    return record.env or {}


def _snapshot(record: Record, when: str) -> dict[str, Any]:
    return _env(record).get(f"thermal_{when}") or {}


def cpu(record: Record) -> str | None:
    env = _env(record)
    model, machine = env.get("cpu_model"), env.get("machine")
    if not model and not machine:
        return None
    return f"{model or 'unknown CPU'} ({machine})" if machine else str(model)


def cores(record: Record) -> str | None:
    env = _env(record)
    usable, online = env.get("cores_usable"), env.get("cores_online")
    if usable is None and online is None:
        return None
    return (
        f"{usable} of {online}"
        if usable is not None and online is not None and usable != online
        else str(usable or online)
    )


def runtime_version(record: Record) -> str | None:
    runtime = _env(record).get("runtime")
    if not isinstance(runtime, dict):
        return None
    text = " ".join(str(runtime[k]) for k in ("package", "version") if runtime.get(k))
    if runtime.get("torch"):
        text += f" (torch {runtime['torch']})"
    return text or None


def weights(record: Record) -> str | None:
    source = record.weights
    if not isinstance(source, dict) or not source.get("kind"):
        return None
    kind = source["kind"]
    name = source.get("name") or ""
    if kind == "checkpoint":
        name = name.rsplit("/", 1)[-1]
    text = f"{kind} {name}".strip()
    return f"{text} ({source['note']})" if source.get("note") else text


def is_random(record: Record) -> bool:
    """The artifact holds random weights (by its manifest, or by its accuracy note when that is all there is)."""
    source = record.weights
    if isinstance(source, dict) and source.get("kind"):
        return source["kind"] == "random"
    return "random weights" in str((record.accuracy or {}).get("accuracy_note") or "")


def samples(record: Record) -> int | None:
    n = record.latency.n if record.latency else None
    return int(n) if isinstance(n, (int, float)) else None


def load(record: Record, when: str) -> float | None:
    """The 1-minute load average before or after the measurement."""
    value = _snapshot(record, when).get("load_average")
    return float(value[0]) if isinstance(value, (list, tuple)) and value else None


def temperature(record: Record, when: str) -> float | None:
    value = _snapshot(record, when).get("temperature_c")
    return float(value) if isinstance(value, (int, float)) else None


def governor(record: Record) -> str | None:
    value = _snapshot(record, "before").get("governor")
    return ", ".join(value) if isinstance(value, list) and value else None


def _span(values: list[float | None], fmt: str = "{:.2f}") -> str | None:
    known = [v for v in values if v is not None]
    if not known:
        return None
    low, high = min(known), max(known)
    return fmt.format(low) if low == high else f"{fmt.format(low)}–{fmt.format(high)}"


def _before_after(records: list[Record], get: Callable[[Record, str], float | None], fmt: str) -> str:
    before, after = _span([get(r, "before") for r in records], fmt), _span([get(r, "after") for r in records], fmt)
    if before is None and after is None:
        return NOT_RECORDED
    return f"{before or '?'} → {after or '?'}"


def throttling(records: list[Record]) -> str:
    """Whether any measurement changed throttle state, or ran throttled; what the records can tell."""
    changed = sum(1 for r in records if r.throttle_changed is True)
    flags = [(_snapshot(r, "before").get("throttled") or {}) for r in records]
    known = [f for f in flags if f]
    active = sorted({name for f in known for name, on in (f.get("current") or {}).items() if on}) if known else []
    parts = []
    if changed:
        parts.append(f"{changed} of {len(records)} changed throttle state")
    if active:
        parts.append("active before a measurement: " + ", ".join(active))
    if parts:
        return "; ".join(parts)
    if known:
        return "none (flags read before and after each measurement)"
    reasons = _distinct(_snapshot(r, "before").get("throttled_missing_reason") for r in records)
    return NOT_RECORDED if reasons == NOT_RECORDED else f"{NOT_RECORDED}: {reasons}"


def busy_targets(records: Iterable[Record]) -> dict[str, tuple[float, int]]:
    """Targets whose 1-minute load average before a measurement reached their usable cores: other work
    competed for the CPU. Target -> (the highest load seen, cores)."""
    out: dict[str, tuple[float, int]] = {}
    for record in records:
        value, usable = load(record, "before"), _env(record).get("cores_usable") or _env(record).get("cores_online")
        if record.ok and value is not None and isinstance(usable, int) and value >= usable:
            target = record.target
            out[target] = (max(value, out.get(target, (0.0, usable))[0]), usable)
    return out


def setup_table(records: Iterable[Record]) -> pd.DataFrame:
    """One row per target and runtime with what its measurements were taken on (ok records only)."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        if record.ok:
            groups.setdefault((record.target, record.runtime), []).append(record)
    rows = []
    for (target, runtime), group in sorted(groups.items()):
        counts = [n for n in map(samples, group) if n is not None]
        rows.append({
            "target": target, "runtime": runtime,
            "cpu": _distinct(map(cpu, group)), "cores": _distinct(map(cores, group)),
            "threads": _distinct(_env(r).get("threads") for r in group),
            "runtime_version": _distinct(map(runtime_version, group)), "os": _distinct(_env(r).get("os") for r in group),
            "weights": _distinct(map(weights, group)),
            "samples": (f"{min(counts)}–{max(counts)} (median {int(np.median(counts))})" if counts and min(counts) != max(counts)
                        else str(counts[0]) if counts else NOT_RECORDED),
            "governor": _distinct(map(governor, group)),
            "load_1min": _before_after(group, load, "{:.2f}"),
            "temperature_c": _before_after(group, temperature, "{:.1f}"),
            "throttling": throttling(group),
            "measurements": len(group),
        })  # fmt: skip
    return pd.DataFrame(rows)


def per_target(setup: pd.DataFrame) -> pd.DataFrame:
    """Per target of `setup_table`: its CPUs and thread counts over its runtimes, each written once."""
    rows = []
    for target, group in setup.groupby("target", sort=True):
        rows.append(
            {
                "target": target,
                "cpu": "; ".join(dict.fromkeys(group["cpu"])),
                "threads": "; ".join(dict.fromkeys(group["threads"])),
            }
        )
    return pd.DataFrame(rows)
