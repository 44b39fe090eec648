"""NVIDIA Jetson: the on-module INA3221 rail monitors, read from sysfs or from `tegrastats`.

sysfs (mainline ina3221 hwmon driver, JetPack 5/6):
    /sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*/inN_label   rail name, e.g. VDD_IN, VDD_CPU_GPU_CV, VDD_SOC
    /sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*/inN_input   bus voltage, mV
    /sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*/currN_input current, mA
older L4T (ina3221x IIO driver, Nano/TX2 on JetPack 4):
    /sys/bus/i2c/drivers/ina3221x/*/iio:device*/rail_name_K, in_power K_input (mW)

tegrastats (`tegrastats --interval MS`) prints one line per interval, with rails as
`VDD_IN 5251mW/5251mW` (instant / average since tegrastats started) on JetPack 5/6 and
`POM_5V_IN 1022/1022` (mW, no unit) on JetPack 4 and older; the line may start with a timestamp and
the average may lack its unit (`598mW/598`). The whole-module input is VDD_IN (Orin, Xavier NX,
TX1/TX2) or POM_5V_IN (Nano); the AGX modules have no input rail (AGX Xavier: GPU, CPU, SOC, CV,
VDDRQ, SYS5V), so there options.rail names the rails to sum.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

from .base import FileReader, Meter, MeterUnavailable, Source
from .options import check_options

INA3221_NAME = "jetson-ina3221"
INA3221_OPTIONS = {"rail"}
TEGRASTATS_NAME = "tegrastats"
TEGRASTATS_OPTIONS = {"rail", "command"}

INA3221_DRIVER = "/sys/bus/i2c/drivers/ina3221"
INA3221X_DRIVER = "/sys/bus/i2c/drivers/ina3221x"
DEFAULT_RAILS = ("VDD_IN", "POM_5V_IN")  # whole-module input on newer / older boards

# "NAME 123mW/456mW", "NAME 123/456" or "NAME 123mW"; a unitless single number is not a rail.
_RAIL = re.compile(
    r"(?<![\w@])(?P<name>[A-Za-z][A-Za-z0-9_]*)\s+(?P<now>\d+(?:\.\d+)?)(?P<unit>mW)?"
    r"(?:/(?P<avg>\d+(?:\.\d+)?)(?:mW)?)?(?=\s|$)"
)


def parse_tegrastats_rails(line: str) -> dict[str, float]:
    """{rail: instantaneous mW} from one tegrastats line."""
    out = {}
    for m in _RAIL.finditer(line):
        if m["unit"] or m["avg"] is not None:
            out[m["name"]] = float(m["now"])
    return out


def find_ina3221_rails(source: Source) -> dict[str, tuple[str, str]]:
    """{rail label: (kind, location)}: kind "hwmon" (location "dir|N") or "iio" (location "dir|K")."""
    read = source.reader()
    rails: dict[str, tuple[str, str]] = {}
    for dev in source.listdir(INA3221_DRIVER):
        for hw in source.listdir(f"{INA3221_DRIVER}/{dev}/hwmon"):
            d = f"{INA3221_DRIVER}/{dev}/hwmon/{hw}"
            for entry in source.listdir(d):
                m = re.fullmatch(r"in(\d+)_label", entry)
                if m:
                    try:
                        rails.setdefault(read(f"{d}/{entry}").strip(), ("hwmon", f"{d}|{m[1]}"))
                    except OSError:
                        continue
    for dev in source.listdir(INA3221X_DRIVER):
        for iio in source.listdir(f"{INA3221X_DRIVER}/{dev}"):
            if not iio.startswith("iio:device"):
                continue
            d = f"{INA3221X_DRIVER}/{dev}/{iio}"
            for entry in source.listdir(d):
                m = re.fullmatch(r"rail_name_(\d+)", entry)
                if m:
                    try:
                        rails.setdefault(read(f"{d}/{entry}").strip(), ("iio", f"{d}|{m[1]}"))
                    except OSError:
                        continue
    return rails


class JetsonIna3221Meter(Meter):
    name = INA3221_NAME
    kind = "power"

    def __init__(self, rail: str, kind: str, location: str, read: FileReader):
        self.rail = rail
        self.sensor_kind = kind
        self.dir, self.index = location.split("|")
        self._read = read
        self.read()

    def _int(self, leaf: str) -> int:
        try:
            return int(self._read(f"{self.dir}/{leaf}").strip())
        except (OSError, ValueError) as e:
            raise MeterUnavailable(f"cannot read {self.dir}/{leaf} for rail {self.rail}: {e}") from e

    def read(self) -> float:
        if self.sensor_kind == "hwmon":
            return abs(self._int(f"in{self.index}_input")) * abs(self._int(f"curr{self.index}_input")) / 1e6
        return abs(self._int(f"in_power{self.index}_input")) / 1e3

    def describe(self) -> dict:
        files = (
            f"in{self.index}_input (mV) x curr{self.index}_input (mA)"
            if self.sensor_kind == "hwmon"
            else f"in_power{self.index}_input (mW)"
        )
        return {"source": self.dir, "rail": self.rail, "method": files}


def _pick_rails(wanted: Any, available: list[str], where: str) -> list[str]:
    """The rails to read: options.rail (one name, or a list to sum), else the first whole-module input rail."""
    if wanted:
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        missing = [r for r in names if r not in available]
        if missing or not all(isinstance(r, str) for r in names):
            raise MeterUnavailable(
                f"rail(s) {missing or names} not found in {where} (rails: "
                f"{', '.join(available) or 'none'}); set [energy] options.rail to one of them"
            )
        return names
    for rail in DEFAULT_RAILS:
        if rail in available:
            return [rail]
    raise MeterUnavailable(
        f"none of the whole-module rails {DEFAULT_RAILS} in {where} "
        f"(rails: {', '.join(available) or 'none'}); set [energy] options.rail to one of them, "
        "or to a list of rails to sum"
    )


def ina3221_from_options(
    options: Mapping[str, Any], period_secs: float, source: Source = Source()
) -> JetsonIna3221Meter:
    opts = check_options(INA3221_NAME, options, INA3221_OPTIONS)
    rails = find_ina3221_rails(source)
    if not rails:
        raise MeterUnavailable(
            f"no INA3221 rails under {INA3221_DRIVER}/*/hwmon/hwmon* or {INA3221X_DRIVER}: "
            'this is not a Jetson, or its ina3221 driver is not loaded; try meter "tegrastats"'
        )
    picked = _pick_rails(opts.get("rail"), sorted(rails), INA3221_DRIVER)
    if len(picked) != 1:
        raise MeterUnavailable(
            f"meter {INA3221_NAME!r} reads one rail: set [energy] options.rail to one name "
            '(meter "tegrastats" sums several)'
        )
    rail = picked[0]
    kind, location = rails[rail]
    return JetsonIna3221Meter(rail, kind, location, source.reader())


class TegrastatsMeter(Meter):
    """Each read waits for tegrastats' next line, so the sampling rate is tegrastats' interval."""

    name = TEGRASTATS_NAME
    kind = "power"

    def __init__(
        self, lines: Iterator[str], rail: Any, proc: subprocess.Popen | None = None, interval_ms: int | None = None
    ):
        self._lines = lines
        self._proc = proc
        self.interval_ms = interval_ms
        first = self._next_rails()
        self.rails = _pick_rails(rail, sorted(first), "tegrastats output")

    def _next_rails(self) -> dict[str, float]:
        try:
            line = next(self._lines)
        except StopIteration:
            raise MeterUnavailable("tegrastats stopped printing") from None
        return parse_tegrastats_rails(line)

    def read(self) -> float:
        rails = self._next_rails()
        missing = [r for r in self.rails if r not in rails]
        if missing:
            raise MeterUnavailable(f"tegrastats line without rail(s) {missing} (rails: {sorted(rails)})")
        return sum(rails[r] for r in self.rails) / 1e3

    def read_timed(self) -> tuple[float, float]:
        # The value describes the interval that just ended: stamp it when the line arrives.
        value = self.read()
        return time.monotonic(), value

    def describe(self) -> dict:
        return {
            "source": "tegrastats",
            "rails": self.rails,
            "interval_ms": self.interval_ms,
            "value": "instantaneous mW (first number of 'now/avg'), summed over the rails",
        }

    def helper_cpu_s(self) -> float | None:
        """tegrastats' own CPU time (utime + stime of /proc/PID/stat) while it runs."""
        if self._proc is None:
            return None
        try:
            fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def tegrastats_from_options(
    options: Mapping[str, Any], period_secs: float, source: Source = Source()
) -> TegrastatsMeter:
    opts = check_options(TEGRASTATS_NAME, options, TEGRASTATS_OPTIONS)
    interval_ms = max(1, round(period_secs * 1000))
    if source.lines is not None:
        return TegrastatsMeter(iter(source.lines), opts.get("rail"), interval_ms=interval_ms)
    command = str(opts.get("command", "tegrastats"))
    try:
        proc = subprocess.Popen(
            [command, "--interval", str(interval_ms)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
    except OSError as e:
        raise MeterUnavailable(
            f"cannot start {command} ({e}): it ships with NVIDIA L4T/JetPack only; "
            "on other boards choose another [energy] meter"
        ) from e
    assert proc.stdout is not None
    try:
        return TegrastatsMeter(iter(proc.stdout.readline, ""), opts.get("rail"), proc, interval_ms)
    except MeterUnavailable:
        proc.terminate()
        raise
