"""A phone's temperature and cpufreq governors read through adb's shell, and the cool-down wait before a round.

The readings the agent takes on a Linux board (edge_bench.device.thermal), from texts pulled over adb:
    grep -H . /sys/class/thermal/thermal_zone*/temp ...   /sys/class/thermal/thermal_zone0/temp:41000
(millidegrees by the sysfs ABI; a few vendors' zones report whole degrees), the governors from
/sys/devices/system/cpu/cpuN/cpufreq/scaling_governor, and `dumpsys battery` ("temperature: 379", tenths
of a degree), which stands in when no thermal zone is readable (some phones hide them from the shell user).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from ..device.power.android import parse_dumpsys_battery
from ..device.thermal import judge_governor_state
from ..transport.base import Transport

ZONES_AND_GOVERNORS = (
    "grep -H . /sys/class/thermal/thermal_zone*/temp /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor 2>/dev/null"
)
NO_ZONE = "no readable thermal_zone*/temp"
COOLDOWN_POLL_SECS = 1.0


def _shell(transport: Transport, script: str, timeout: float = 30) -> str:
    return transport.exec(["sh", "-c", script], timeout).stdout


def parse_zones_and_governors(text: str) -> tuple[tuple[float, str] | None, dict[str, str]]:
    """The output of ZONES_AND_GOVERNORS -> (the lowest-numbered zone's (°C, path), or None; governors by core)."""
    zones: list[tuple[int, str, int]] = []
    governors: dict[str, str] = {}
    for line in text.splitlines():
        path, sep, value = line.partition(":")
        if not sep:
            continue
        if m := re.search(r"thermal_zone(\d+)/temp$", path):
            try:
                zones.append((int(m[1]), path, int(value.strip())))
            except ValueError:
                continue
        elif path.endswith("scaling_governor"):
            governors[Path(path).parts[-3]] = value.strip()
    if not zones:
        return None, governors
    _, path, raw = min(zones)
    return (raw / 1000.0 if abs(raw) >= 1000 else float(raw), path), governors


def _battery(transport: Transport) -> dict[str, Any] | None:
    battery = parse_dumpsys_battery(transport.exec(["dumpsys", "battery"], 30).stdout)
    return {k: v for k, v in battery.items() if k != "keys"} if battery else None


def thermal_snapshot(transport: Transport) -> dict[str, Any]:
    """The agent's thermal.snapshot() read through the shell: first thermal zone, governors; and the
    battery's temperature, charge and power source from `dumpsys battery` (phones throttle on them)."""
    zone, governors = parse_zones_and_governors(_shell(transport, ZONES_AND_GOVERNORS))
    return {
        "temperature_c": zone[0] if zone else None,
        "temperature_source": zone[1] if zone else NO_ZONE,
        "governor": sorted(set(governors.values())) or None,
        "throttled": None,
        "battery": _battery(transport),
    }


def read_temperature(transport: Transport) -> tuple[float | None, str]:
    """The first thermal zone's temperature, else the battery's; (°C or None, where it came from or why not)."""
    zone, _ = parse_zones_and_governors(_shell(transport, ZONES_AND_GOVERNORS))
    if zone is not None:
        return zone
    battery = _battery(transport)
    if battery and battery.get("temperature_c"):  # 0 is what emulators and test devices print
        return float(battery["temperature_c"]), "dumpsys battery"
    return None, f"{NO_ZONE}, and dumpsys battery gives no temperature"


def cooldown(
    transport: Transport,
    below_c: float,
    max_secs: float,
    poll_secs: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Wait until the phone is cooler than `below_c` (or `max_secs` pass), as the agent waits on a board."""
    poll = COOLDOWN_POLL_SECS if poll_secs is None else poll_secs
    start = clock()
    temperature, source = read_temperature(transport)
    while temperature is not None and temperature >= below_c and clock() - start < max_secs:
        sleep(poll)
        temperature, source = read_temperature(transport)
    out: dict[str, Any] = {
        "waited_s": round(clock() - start, 2),
        "temperature_c": temperature,
        "reached": temperature is not None and temperature < below_c,
    }
    if temperature is None:
        out["missing_reason"] = source
    else:
        out["source"] = source
    return out


def governor_state(transport: Transport, cores: Iterable[int] | None) -> dict[str, Any]:
    """The governors of the cores the tool runs on (every core with one when unpinned), as the agent records them."""
    _, governors = parse_zones_and_governors(_shell(transport, ZONES_AND_GOVERNORS))
    wanted = list(cores) if cores is not None else [int(name[3:]) for name in governors]
    return judge_governor_state(governors, wanted)
