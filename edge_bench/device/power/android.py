"""Android: the battery fuel gauge, and the on-device power rails (ODPM) of the PowerStats HAL.

Battery (`/sys/class/power_supply/battery/`): current_now is µA by the kernel ABI but some vendors
report mA, and the sign convention differs; voltage_now is µV (~3.8e6). Magnitudes are used and the
units detected once, from the first reading's size, and recorded. A charging phone's current mixes
charger input and load, so a charging status is refused unless options.allow_charging is true.

Power rails: the PowerStats HAL keeps one cumulative energy counter (µW·s) per rail. `dumpsys
powerstats` (PowerStatsService) lists the channels but prints no readings; the HAL's own dump,
`dumpsys android.hardware.power.stats.IPowerStats/default`, prints them (Pixel's PowerStatsAidl.cpp,
PowerStats::dumpEnergyMeter):

    ============= PowerStats HAL 2.0 energy meter ==============
                               Channel    Cumulative Energy
                  [S10M_VDD_TPU]:TPU          1234567.25 mWs
    ========== End of PowerStats HAL 2.0 energy meter ==========

The HAL formats each value as a float in mW·s (about 7 significant digits). Power = ΔE / Δt.
`dumpsys batterystats` numbers are model estimates, not measurements: not used.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .base import CommandError, FileReader, Meter, MeterUnavailable, Runner, Source
from .options import check_options

BATTERY_NAME = "android-battery"
BATTERY_OPTIONS = {"allow_charging", "supply"}
RAILS_NAME = "android-rails"
RAILS_OPTIONS = {"rails", "command"}

POWER_SUPPLY = "/sys/class/power_supply"
HAL_DUMP = ("dumpsys", "android.hardware.power.stats.IPowerStats/default")

# Below this magnitude a current_now reading is taken as mA: 10 000 µA (10 mA) is less than any
# phone draws while running a model, 10 000 mA more than any phone draws at all.
CURRENT_MA_BELOW = 10_000
# voltage_now: µV by the ABI (~3.8e6); some vendors print mV (~3800).
VOLTAGE_MV_BELOW = 100_000


def detect_current_unit(raw: int) -> tuple[str, float]:
    """("uA" | "mA", factor to amperes) from the size of one current_now reading."""
    return ("mA", 1e-3) if abs(raw) < CURRENT_MA_BELOW else ("uA", 1e-6)


def detect_voltage_unit(raw: int) -> tuple[str, float]:
    """("uV" | "mV", factor to volts) from the size of one voltage_now reading."""
    return ("mV", 1e-3) if abs(raw) < VOLTAGE_MV_BELOW else ("uV", 1e-6)


class AndroidBatteryMeter(Meter):
    name = BATTERY_NAME
    kind = "power"

    def __init__(self, read: FileReader, supply: str = "battery", allow_charging: bool = False):
        self._read = read
        self.dir = f"{POWER_SUPPLY}/{supply}"
        try:
            self.status = read(f"{self.dir}/status").strip()
        except OSError:
            self.status = None
        if self.status in ("Charging", "Full") and not allow_charging:
            raise MeterUnavailable(
                f"the battery reports status={self.status}: with a charger attached current_now mixes charger input "
                "and load; unplug USB and use wireless adb, or set [energy] options.allow_charging = true")
        raw_i, raw_v = self._raw()
        if raw_i == 0:
            raise MeterUnavailable(f"{self.dir}/current_now reads 0: this fuel gauge does not report current")
        self.current_unit, self._amps = detect_current_unit(raw_i)
        self.voltage_unit, self._volts = detect_voltage_unit(raw_v)
        self.first_raw = {"current_now": raw_i, "voltage_now": raw_v}

    def _raw(self) -> tuple[int, int]:
        try:
            return (int(self._read(f"{self.dir}/current_now").strip()),
                    int(self._read(f"{self.dir}/voltage_now").strip()))
        except FileNotFoundError as e:
            raise MeterUnavailable(f"no {self.dir}/current_now and voltage_now: this device has no fuel gauge under "
                                   "that name (see /sys/class/power_supply/, set [energy] options.supply)") from e
        except (OSError, ValueError) as e:
            raise MeterUnavailable(f"cannot read {self.dir}/current_now and voltage_now: {e}") from e

    def read(self) -> float:
        raw_i, raw_v = self._raw()
        return abs(raw_i) * self._amps * abs(raw_v) * self._volts

    def describe(self) -> dict:
        return {"source": self.dir, "status": self.status,
                "units_detected": {"current_now": self.current_unit, "voltage_now": self.voltage_unit,
                                   "from_first_reading": self.first_raw,
                                   "rule": f"|current_now| < {CURRENT_MA_BELOW} -> mA, else µA; "
                                           f"|voltage_now| < {VOLTAGE_MV_BELOW} -> mV, else µV"},
                "sign": "magnitudes (vendors differ in sign convention)"}


def battery_from_options(options: Mapping[str, Any], period_secs: float, source: Source = Source()) -> AndroidBatteryMeter:
    opts = check_options(BATTERY_NAME, options, BATTERY_OPTIONS)
    return AndroidBatteryMeter(source.reader(), supply=str(opts.get("supply", "battery")),
                               allow_charging=bool(opts.get("allow_charging", False)))


_METER_START = re.compile(r"=+\s*PowerStats HAL [\d.]+ energy meter\s*=+")
_METER_END = re.compile(r"=+\s*End of PowerStats HAL [\d.]+ energy meter\s*=+")
_METER_ROW = re.compile(r"^\s*(?P<channel>\S.*?)\s+(?P<mws>-?\d+(?:\.\d+)?)\s*mWs(?:\s*\(\s*-?\d+(?:\.\d+)?\s*\))?\s*$")
_BRACKETED = re.compile(r"^\[(?P<rail>[^\]]+)\](?::(?P<subsystem>.*))?$")


def parse_energy_meter_dump(text: str) -> dict[str, dict]:
    """{rail: {"energy_uws": float, "subsystem": str | None}} from the HAL dump's energy-meter block."""
    rails: dict[str, dict] = {}
    inside = False
    for line in text.splitlines():
        if _METER_START.search(line):
            inside = True
            continue
        if _METER_END.search(line):
            break
        if not inside:
            continue
        m = _METER_ROW.match(line)
        if not m:
            continue
        channel = m["channel"].strip()
        b = _BRACKETED.match(channel)
        rail, subsystem = (b["rail"], (b["subsystem"] or None)) if b else (channel, None)
        rails[rail] = {"energy_uws": float(m["mws"]) * 1e3, "subsystem": subsystem}
    return rails


_CHANNEL = re.compile(r"ChannelId:\s*(?P<id>\d+),\s*ChannelName:\s*(?P<name>[^,]+),\s*ChannelSubsystem:\s*(?P<sub>.*)$")


class AndroidRailsMeter(Meter):
    name = RAILS_NAME
    kind = "energy"

    def __init__(self, runner: Runner, rails: Sequence[str] | None = None, command: Sequence[str] = HAL_DUMP):
        self.runner = runner
        self.command = list(command)
        available = self._rails()
        if rails:
            missing = sorted(set(rails) - set(available))
            if missing:
                raise MeterUnavailable(f"power rails {missing} not in the PowerStats HAL dump "
                                       f"(rails: {', '.join(sorted(available))})")
            self.rails = sorted(rails)
        else:
            self.rails = sorted(available)
        self.subsystems = {r: available[r]["subsystem"] for r in self.rails}

    def _rails(self) -> dict[str, dict]:
        try:
            text = self.runner(self.command)
        except (OSError, CommandError) as e:
            raise MeterUnavailable(f"'{' '.join(self.command)}' failed ({e}); it needs the adb shell user "
                                   "(or root) and a device with on-device power rails (Pixel 6 and later)") from e
        rails = parse_energy_meter_dump(text)
        if not rails:
            first = next((line.strip() for line in text.splitlines() if line.strip()), "no output")
            raise MeterUnavailable(f"'{' '.join(self.command)}' printed no PowerStats HAL energy meter ({first}): "
                                   "this device has no on-device power rails, or its HAL dump has another format")
        return rails

    def read(self) -> float:
        rails = self._rails()
        missing = [r for r in self.rails if r not in rails]
        if missing:
            raise MeterUnavailable(f"power rails {missing} disappeared from the PowerStats HAL dump")
        return sum(rails[r]["energy_uws"] for r in self.rails) / 1e6

    def describe(self) -> dict:
        return {"source": " ".join(self.command), "rails": self.subsystems, "unit": "µW·s counters, summed",
                "precision": "the HAL prints each counter as a float in mW·s (~7 significant digits)"}


def rails_from_options(options: Mapping[str, Any], period_secs: float, source: Source = Source()) -> AndroidRailsMeter:
    opts = check_options(RAILS_NAME, options, RAILS_OPTIONS)
    rails = opts.get("rails")
    if rails is not None and (isinstance(rails, str) or not all(isinstance(r, str) for r in rails)):
        raise MeterUnavailable("[energy] options.rails of meter 'android-rails' must be a list of rail names")
    command = opts.get("command", HAL_DUMP)
    if isinstance(command, str):
        command = command.split()
    return AndroidRailsMeter(source.runner, rails, command)
