"""Checking the meter options given in a target file ([energy] options = {...})."""

from __future__ import annotations

from typing import Any, Mapping

from .base import MeterUnavailable


def check_options(meter: str, options: Mapping[str, Any], allowed: set[str]) -> dict[str, Any]:
    """A plain dict of the options, or MeterUnavailable naming the unknown keys and the known ones."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise MeterUnavailable(f"[energy] options {unknown} are not options of meter {meter!r} (known: {known})")
    return dict(options)


def number(meter: str, options: Mapping[str, Any], key: str) -> float | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MeterUnavailable(f"[energy] options.{key} of meter {meter!r} must be a number, got {value!r}")
    return float(value)
