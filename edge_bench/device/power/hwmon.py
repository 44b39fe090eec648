"""External INA219/INA226/INA260 sensors through the Linux `ina2xx` hwmon driver, and INA3221 (`ina3221`).

    /sys/class/hwmon/hwmonN/name            e.g. "ina219", "ina226", "ina3221"
    /sys/class/hwmon/hwmonN/power1_input    power, µW (preferred: the chip's own product)
    /sys/class/hwmon/hwmonN/in1_input       bus voltage, mV (ina2xx: in0 is the shunt voltage)
    /sys/class/hwmon/hwmonN/curr1_input     current, mA
    /sys/class/hwmon/hwmonN/update_interval ms between conversions

The INA3221 has three channels (in1..3, curr1..3) and no power file: options.channel picks one and
its power is inN x currN. The current's sign follows the shunt's wiring (an INA219 on a UPS reads
-40 mA on battery): magnitudes are used. hwmonN numbers change across boots, so the sensor is found
by its `name` (options.name).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .base import FileReader, Meter, MeterUnavailable, Source
from .options import check_options

NAME = "hwmon"
OPTIONS = {"name", "index", "channel"}
HWMON_DIR = "/sys/class/hwmon"


def _read_int(read: FileReader, path: str) -> int:
    return int(read(path).strip())


def list_hwmon(read: FileReader, names: list[str]) -> dict[str, str]:
    """{hwmon dir: its name} for the given hwmonN entries (unreadable ones skipped)."""
    out = {}
    for entry in names:
        try:
            out[f"{HWMON_DIR}/{entry}"] = read(f"{HWMON_DIR}/{entry}/name").strip()
        except OSError:
            continue
    return out


def _hwmon_entries(source: Source) -> list[str]:
    """hwmonN entries, sorted by N."""
    entries = [e for e in source.listdir(HWMON_DIR) if re.fullmatch(r"hwmon\d+", e)]
    return sorted(entries, key=lambda e: int(e[5:]))


class HwmonMeter(Meter):
    name = NAME
    kind = "power"

    def __init__(self, directory: str, read: FileReader, channel: int = 1):
        self.dir = directory
        self._read = read
        self.channel = channel
        self.sensor = read(f"{directory}/name").strip()
        self._power, self._volts, self._amps = (
            f"{directory}/power{channel}_input",
            f"{directory}/in{channel}_input",
            f"{directory}/curr{channel}_input",
        )
        try:
            _read_int(read, self._power)
            self.method = f"power{channel}_input (µW)"
        except (OSError, ValueError):
            try:
                _read_int(read, self._volts)
                _read_int(read, self._amps)
            except (OSError, ValueError) as e:
                raise MeterUnavailable(
                    f"{directory} ({self.sensor}) has neither a readable power{channel}_input nor "
                    f"in{channel}_input + curr{channel}_input ({e}); is the driver bound, the shunt "
                    "resistor set (shunt_resistor) and options.channel one of its channels?"
                ) from e
            self.method = f"in{channel}_input (mV) x curr{channel}_input (mA)"
        try:
            self.update_interval_ms: int | None = _read_int(read, f"{directory}/update_interval")
        except (OSError, ValueError):
            self.update_interval_ms = None

    def read(self) -> float:
        if self.method.startswith("power"):
            return abs(_read_int(self._read, self._power)) / 1e6
        # Signs depend on how the shunt is wired: magnitudes.
        return abs(_read_int(self._read, self._volts)) * abs(_read_int(self._read, self._amps)) / 1e6

    def describe(self) -> dict:
        return {
            "source": self.dir,
            "sensor": self.sensor,
            "channel": self.channel,
            "method": self.method,
            "update_interval_ms": self.update_interval_ms,
        }


def from_options(options: Mapping[str, Any], period_secs: float, source: Source = Source()) -> HwmonMeter:
    opts = check_options(NAME, options, OPTIONS)
    wanted = opts.get("name")
    if not wanted:
        raise MeterUnavailable('meter \'hwmon\' needs options.name, the sensor\'s hwmon name (e.g. "ina219", "ina226")')
    read = source.reader()
    found = list_hwmon(read, _hwmon_entries(source))
    matches = [d for d, n in found.items() if n == wanted]
    index = int(opts.get("index", 0))
    if index >= len(matches):
        seen = ", ".join(f"{d.rsplit('/', 1)[-1]}={n}" for d, n in found.items()) or "none"
        raise MeterUnavailable(
            f"no hwmon sensor named {wanted!r} (index {index}) under {HWMON_DIR} (found: {seen}); "
            "bind the ina2xx driver to the sensor (device-tree overlay or "
            "'echo ina219 0x40 > /sys/bus/i2c/devices/i2c-1/new_device')"
        )
    channel = opts.get("channel", 1)
    if isinstance(channel, bool) or not isinstance(channel, int) or channel < 1:
        raise MeterUnavailable(
            f"[energy] options.channel of meter 'hwmon' must be a channel number (1, 2, 3), got {channel!r}"
        )
    return HwmonMeter(matches[index], read, channel)
