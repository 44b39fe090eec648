"""Android: the battery fuel gauge, and the on-device power monitor (ODPM) of Pixel 6 and later.

Battery (`/sys/class/power_supply/battery/`): current_now is µA by the kernel ABI, but some vendors
report mA (a Huawei tablet: rmanor/currentwidget#54), and the sign convention differs;
voltage_now is µV (~3.8e6). The current's unit cannot be told from its size (a real phone reads
976 µA on USB and 5371 µA idle, as small as a draw in mA), so it is the ABI's µA unless
options.current_unit says "mA". The voltage's can (µV ~3e6-5e6, mV ~3000-5000). Magnitudes are used.
With external power attached (status Charging, Full or Not charging) the battery current is not the
load's: such a status is refused unless options.allow_charging is true.

ODPM (`/sys/bus/iio/devices/iio:deviceN/energy_value`, readable by adb's shell user): one block per
PMIC, a timestamp line and one cumulative energy counter per rail in µW·s:

    t=349894
    CH0(T=349894)[S10M_VDD_TPU], 5578756
    CH3(T=349894)[S2M_VDD_CPUCL2], 30203502

Rail names differ by Pixel generation; power = ΔE / Δt. `dumpsys batterystats` numbers are model
estimates, not measurements: not used. `dumpsys battery` (parse_dumpsys_battery) gives the battery's
temperature, level and power source, recorded with each measurement on a phone.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .base import FileReader, Meter, MeterUnavailable, Source
from .options import check_options

BATTERY_NAME = "android-battery"
BATTERY_OPTIONS = {"allow_charging", "supply", "current_unit"}
RAILS_NAME = "android-rails"
RAILS_OPTIONS = {"rails"}

POWER_SUPPLY = "/sys/class/power_supply"
IIO_DEVICES = "/sys/bus/iio/devices"
IIO_PROBE = 16  # iio:device0..15: the ODPM is found by reading, which works on the device and through adb alike

CURRENT_UNITS = {"uA": 1e-6, "mA": 1e-3}
# voltage_now: µV by the ABI (~3.8e6); some vendors print mV (~3800).
VOLTAGE_MV_BELOW = 100_000
# power_supply status values with external power attached (Documentation/ABI/testing/sysfs-class-power).
EXTERNAL_POWER = ("Charging", "Full", "Not charging")


def detect_voltage_unit(raw: int) -> tuple[str, float]:
    """("uV" | "mV", factor to volts) from the size of one voltage_now reading."""
    return ("mV", 1e-3) if abs(raw) < VOLTAGE_MV_BELOW else ("uV", 1e-6)


class AndroidBatteryMeter(Meter):
    name = BATTERY_NAME
    kind = "power"

    def __init__(
        self, read: FileReader, supply: str = "battery", allow_charging: bool = False, current_unit: str = "uA"
    ):
        if current_unit not in CURRENT_UNITS:
            raise MeterUnavailable(
                f"[energy] options.current_unit of meter {BATTERY_NAME!r} must be one of "
                f"{sorted(CURRENT_UNITS)}, got {current_unit!r}"
            )
        self._read = read
        self.dir = f"{POWER_SUPPLY}/{supply}"
        try:
            self.status = read(f"{self.dir}/status").strip()
        except OSError:
            self.status = None
        if self.status in EXTERNAL_POWER and not allow_charging:
            raise MeterUnavailable(
                f"the battery reports status={self.status}: with external power attached current_now is not the "
                "load's current; unplug USB and use wireless adb, or set [energy] options.allow_charging = true"
            )
        raw_i, raw_v = self._raw()
        if raw_i == 0:
            raise MeterUnavailable(f"{self.dir}/current_now reads 0: this fuel gauge does not report current")
        self.current_unit, self._amps = current_unit, CURRENT_UNITS[current_unit]
        self.voltage_unit, self._volts = detect_voltage_unit(raw_v)
        self.first_raw = {"current_now": raw_i, "voltage_now": raw_v}

    def _raw(self) -> tuple[int, int]:
        try:
            return (
                int(self._read(f"{self.dir}/current_now").strip()),
                int(self._read(f"{self.dir}/voltage_now").strip()),
            )
        except FileNotFoundError as e:
            raise MeterUnavailable(
                f"no {self.dir}/current_now and voltage_now: this device has no fuel gauge under "
                "that name (see /sys/class/power_supply/, set [energy] options.supply)"
            ) from e
        except (OSError, ValueError) as e:
            raise MeterUnavailable(f"cannot read {self.dir}/current_now and voltage_now: {e}") from e

    def read(self) -> float:
        raw_i, raw_v = self._raw()
        return abs(raw_i) * self._amps * abs(raw_v) * self._volts

    def describe(self) -> dict:
        return {
            "source": self.dir,
            "status": self.status,
            "units": {
                "current_now": self.current_unit,
                "voltage_now": self.voltage_unit,
                "first_reading": self.first_raw,
                "rule": f"current_now in options.current_unit (the ABI's µA unless set); "
                f"|voltage_now| < {VOLTAGE_MV_BELOW} -> mV, else µV",
            },
            "sign": "magnitudes (vendors differ in sign convention)",
        }


def battery_from_options(
    options: Mapping[str, Any], period_secs: float, source: Source = Source()
) -> AndroidBatteryMeter:
    opts = check_options(BATTERY_NAME, options, BATTERY_OPTIONS)
    return AndroidBatteryMeter(
        source.reader(),
        supply=str(opts.get("supply", "battery")),
        allow_charging=bool(opts.get("allow_charging", False)),
        current_unit=str(opts.get("current_unit", "uA")),
    )


_ODPM_ROW = re.compile(r"^CH(?P<channel>\d+)\(T=(?P<t_ms>\d+)\)\[(?P<rail>[^\]]+)\],\s*(?P<uws>\d+)\s*$")


def parse_odpm_energy(text: str) -> dict[str, dict[str, int]]:
    """{rail: {"energy_uws", "channel", "t_ms"}} from one or more ODPM energy_value blocks (other lines ignored)."""
    rails: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        m = _ODPM_ROW.match(line.strip())
        if m:
            rails[m["rail"]] = {"energy_uws": int(m["uws"]), "channel": int(m["channel"]), "t_ms": int(m["t_ms"])}
    return rails


def find_odpm(read: FileReader) -> dict[str, dict[str, int]]:
    """{energy_value path: its rails} of every ODPM device (iio:device0..15 that reads as one)."""
    found = {}
    for n in range(IIO_PROBE):
        path = f"{IIO_DEVICES}/iio:device{n}/energy_value"
        try:
            rails = parse_odpm_energy(read(path))
        except (OSError, UnicodeDecodeError):
            continue
        if rails:
            found[path] = rails
    return found


class AndroidRailsMeter(Meter):
    """The sum of the chosen ODPM rails' energy counters (default: every rail), in joules."""

    name = RAILS_NAME
    kind = "energy"

    def __init__(self, read: FileReader, rails: Sequence[str] | None = None):
        self._read = read
        devices = find_odpm(read)
        available = {rail: path for path, found in devices.items() for rail in found}
        if not available:
            raise MeterUnavailable(
                f"no ODPM energy counters under {IIO_DEVICES}/iio:device*/energy_value: this "
                "device has no on-device power monitor (Pixel 6 and later have one); "
                'use meter "android-battery"'
            )
        missing = sorted(set(rails or ()) - set(available))
        if missing:
            raise MeterUnavailable(
                f"power rails {missing} not among the ODPM rails ({', '.join(sorted(available))}); "
                "set [energy] options.rails to some of them"
            )
        self.rails = sorted(rails) if rails else sorted(available)
        self.files = sorted({available[r] for r in self.rails})

    def read(self) -> float:
        rails: dict[str, dict[str, int]] = {}
        for path in self.files:
            try:
                rails.update(parse_odpm_energy(self._read(path)))
            except OSError as e:
                raise MeterUnavailable(f"cannot read {path}: {e}") from e
        missing = [r for r in self.rails if r not in rails]
        if missing:
            raise MeterUnavailable(f"power rails {missing} disappeared from {', '.join(self.files)}")
        return sum(rails[r]["energy_uws"] for r in self.rails) / 1e6

    def describe(self) -> dict:
        return {"source": self.files, "rails": self.rails, "unit": "µW·s counters, summed"}


def rails_from_options(options: Mapping[str, Any], period_secs: float, source: Source = Source()) -> AndroidRailsMeter:
    opts = check_options(RAILS_NAME, options, RAILS_OPTIONS)
    rails = opts.get("rails")
    if rails is not None and (isinstance(rails, str) or not all(isinstance(r, str) for r in rails)):
        raise MeterUnavailable("[energy] options.rails of meter 'android-rails' must be a list of rail names")
    return AndroidRailsMeter(source.reader(), rails)


# ---------------------------------------------------------------- dumpsys battery

# BatteryManager.BATTERY_STATUS_* values.
BATTERY_STATUS = {1: "unknown", 2: "charging", 3: "discharging", 4: "not charging", 5: "full"}
_POWER_SOURCES = (
    ("AC powered", "ac"),
    ("USB powered", "usb"),
    ("Wireless powered", "wireless"),
    ("Dock powered", "dock"),
)


def parse_dumpsys_battery(text: str) -> dict[str, Any] | None:
    """The battery's state from `dumpsys battery`: level (%), temperature (°C, from tenths), voltage (V, from
    mV), status, the power sources attached, and every key of the block as printed.

    Only the block's own two-space-indented "key: value" lines count: vendors add lines indented by one
    space (Xiaomi) or none (Samsung) and sections after it, and "Capacity level:" must not pass for "level:".
    """
    lines = iter(text.splitlines())
    if not any(line.strip() == "Current Battery Service state:" for line in lines):
        return None
    keys: dict[str, str] = {}
    for line in lines:
        if not line.startswith(" "):
            break
        if line.startswith("   ") or not line.startswith("  "):
            continue
        key, sep, value = line.strip().partition(": ")
        if sep:
            keys.setdefault(key, value.strip())

    def number(key: str) -> int | None:
        value = keys.get(key, "")
        return int(value) if value.lstrip("-").isdigit() else None

    level, scale, status = number("level"), number("scale"), number("status")
    temperature, voltage = number("temperature"), number("voltage")
    return {
        "level_percent": 100.0 * level / scale if level is not None and scale else None,
        "temperature_c": temperature / 10.0 if temperature is not None else None,
        "voltage_v": voltage / 1000.0 if voltage is not None else None,
        "status": BATTERY_STATUS.get(status, None if status is None else str(status)),
        "powered_by": [name for key, name in _POWER_SOURCES if keys.get(key) == "true"],
        "keys": keys,
    }
