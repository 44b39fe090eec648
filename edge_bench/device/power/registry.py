"""Meters by the name a target file gives them ([energy] meter = "...")."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from . import android, hwmon, jetson, rapl, rpi5_pmic
from .base import Meter, MeterUnavailable, Source

# name -> factory(options, period_secs, source) -> an open Meter (or MeterUnavailable)
Factory = Callable[[Mapping[str, Any], float, Source], Meter]

METERS: dict[str, Factory] = {
    rpi5_pmic.NAME: rpi5_pmic.from_options,
    hwmon.NAME: hwmon.from_options,
    rapl.NAME: rapl.from_options,
    jetson.INA3221_NAME: jetson.ina3221_from_options,
    jetson.TEGRASTATS_NAME: jetson.tegrastats_from_options,
    android.BATTERY_NAME: android.battery_from_options,
    android.RAILS_NAME: android.rails_from_options,
}

# The option keys each meter accepts, for validating a target file on the host.
METER_OPTIONS: dict[str, frozenset[str]] = {
    rpi5_pmic.NAME: frozenset(rpi5_pmic.OPTIONS),
    hwmon.NAME: frozenset(hwmon.OPTIONS),
    rapl.NAME: frozenset(rapl.OPTIONS),
    jetson.INA3221_NAME: frozenset(jetson.INA3221_OPTIONS),
    jetson.TEGRASTATS_NAME: frozenset(jetson.TEGRASTATS_OPTIONS),
    android.BATTERY_NAME: frozenset(android.BATTERY_OPTIONS),
    android.RAILS_NAME: frozenset(android.RAILS_OPTIONS),
}


def open_meter(
    name: str,
    options: Mapping[str, Any] | None = None,
    period_secs: float = 0.1,
    source: Source = Source(),
    registry: Mapping[str, Factory] = METERS,
) -> Meter:
    """Open the named meter, or raise MeterUnavailable saying why and how to fix it."""
    factory = registry.get(name)
    if factory is None:
        raise MeterUnavailable(f"unknown [energy] meter {name!r} (known: {', '.join(sorted(registry))}, none)")
    return factory(options or {}, period_secs, source)
