"""x86 RAPL energy counters through the powercap framework (Intel, and AMD Zen with the same driver).

    /sys/class/powercap/intel-rapl:N/name                 package-N | psys | ...
    /sys/class/powercap/intel-rapl:N/energy_uj            cumulative µJ
    /sys/class/powercap/intel-rapl:N/max_energy_range_uj  the value at which energy_uj wraps to 0
    /sys/class/powercap/intel-rapl:N:M/...                 subzones (core, uncore, dram)

energy_uj is readable by root only since Linux 5.10 (the PLATYPUS side channel, CVE-2020-8694).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .base import FileReader, Meter, MeterUnavailable, Source
from .options import check_options

NAME = "rapl"
OPTIONS = {"zone", "domain"}
POWERCAP = "/sys/class/powercap"


def rapl_zones(source: Source) -> dict[str, str]:
    """{zone dir name: domain name} of every RAPL zone (e.g. {"intel-rapl:0": "package-0"})."""
    read = source.reader()
    out = {}
    for entry in source.listdir(POWERCAP):
        if re.fullmatch(r"intel-rapl(:\d+)+", entry):
            try:
                out[entry] = read(f"{POWERCAP}/{entry}/name").strip()
            except OSError:
                out[entry] = "?"
    return out


class RaplMeter(Meter):
    name = NAME
    kind = "energy"

    def __init__(self, zone: str, domain: str, read: FileReader):
        self.zone = zone
        self.domain = domain
        self._read = read
        self.path = f"{POWERCAP}/{zone}/energy_uj"
        try:
            self.wrap_j = int(read(f"{POWERCAP}/{zone}/max_energy_range_uj").strip()) / 1e6
        except (OSError, ValueError):
            self.wrap_j = None
        self.read()

    def read(self) -> float:
        try:
            return int(self._read(self.path).strip()) / 1e6
        except PermissionError as e:
            raise MeterUnavailable(
                f"{self.path} is readable by root only (Linux >= 5.10, CVE-2020-8694): run the agent as root, "
                f"or allow it until the next boot with 'sudo chmod a+r {self.path}'"
            ) from e
        except (OSError, ValueError) as e:
            raise MeterUnavailable(f"cannot read {self.path}: {e}") from e

    def describe(self) -> dict:
        return {
            "source": self.path,
            "zone": self.zone,
            "domain": self.domain,
            "wrap_j": self.wrap_j,
            "unit": "µJ counter",
        }


def from_options(options: Mapping[str, Any], period_secs: float, source: Source = Source()) -> RaplMeter:
    opts = check_options(NAME, options, OPTIONS)
    zones = rapl_zones(source)
    if not zones:
        raise MeterUnavailable(
            f"no RAPL zones under {POWERCAP} (no intel-rapl:N): load the driver "
            "('sudo modprobe intel_rapl_msr') or this CPU/VM does not expose RAPL"
        )
    if "zone" in opts:
        zone = str(opts["zone"])
        if zone not in zones:
            raise MeterUnavailable(f"RAPL zone {zone!r} not found (zones: {zones})")
    else:
        domain = str(opts.get("domain", "package-0"))
        named = [z for z, d in zones.items() if d == domain]
        if not named:
            raise MeterUnavailable(
                f"no RAPL zone with domain {domain!r} (zones: {zones}); set options.domain or options.zone"
            )
        zone = named[0]
    return RaplMeter(zone, zones[zone], source.reader())
