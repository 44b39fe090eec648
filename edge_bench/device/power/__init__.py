"""Energy meters (one small plugin per kind of sensor) and the energy pass that uses them.

    from edge_bench.device.power import energy_pass, MeterUnavailable
    energy_pass("rpi5-pmic", {}, period_secs=0.1, idle_secs=3, duration_secs=10, run_once=runtime.run)

Meter names: rpi5-pmic, hwmon, rapl, jetson-ina3221, tegrastats, android-battery, android-rails.
"""

from .base import CommandError, Meter, MeterUnavailable, Source, run_command
from .energy import energy_pass
from .registry import METER_OPTIONS, METERS, open_meter

__all__ = [
    "CommandError",
    "METERS",
    "METER_OPTIONS",
    "Meter",
    "MeterUnavailable",
    "Source",
    "energy_pass",
    "open_meter",
    "run_command",
]
