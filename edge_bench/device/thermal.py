"""Temperature, throttling and CPU frequency policy, read before and after every measurement.

On a Raspberry Pi the firmware reports through vcgencmd what Linux may not see (it can cap the
ARM clock behind cpufreq's back):
    vcgencmd measure_temp         temp=39.5'C
    vcgencmd get_throttled        throttled=0x50005
    vcgencmd measure_clock arm    frequency(48)=1500398464
Elsewhere the temperature comes from /sys/class/thermal/thermal_zone*/temp (millidegrees).
A missing tool gives None and the reason, never an exception.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

Runner = Callable[[Sequence[str]], str]

# get_throttled bits: 0-3 the current state, 16-19 "has occurred since boot" (sticky).
THROTTLE_BITS = {0: "under_voltage", 1: "arm_frequency_capped", 2: "throttled", 3: "soft_temperature_limit"}
STICKY_OFFSET = 16
CURRENT_MASK = 0xF
STICKY_MASK = 0xF << STICKY_OFFSET


class ToolMissing(Exception):
    pass


def run_vcgencmd(args: Sequence[str]) -> str:
    """Run vcgencmd; ToolMissing (with the reason) when it is absent or fails."""
    try:
        proc = subprocess.run(["vcgencmd", *args], capture_output=True, text=True, timeout=5, check=False)
    except FileNotFoundError as e:
        raise ToolMissing("vcgencmd not found (not a Raspberry Pi OS image)") from e
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ToolMissing(f"vcgencmd {' '.join(args)} failed: {e}") from e
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[0]
        raise ToolMissing(f"vcgencmd {' '.join(args)} exited {proc.returncode}: {detail}")
    return proc.stdout


def _ask(runner: Runner, args: Sequence[str]) -> tuple[str | None, str | None]:
    """(output, None) or (None, reason)."""
    try:
        return runner(list(args)), None
    except ToolMissing as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - an injected runner may fail in its own ways
        return None, f"vcgencmd {' '.join(args)} failed: {type(e).__name__}: {e}"


# ---------------------------------------------------------------- parsers (pure)


def parse_measure_temp(text: str) -> float | None:
    m = re.search(r"temp=([-\d.]+)", text)
    return float(m[1]) if m else None


def parse_get_throttled(text: str) -> dict | None:
    """throttled=0x50005 -> raw value, current flags and sticky ("has occurred") flags."""
    m = re.search(r"throttled=(0x[0-9a-fA-F]+|\d+)", text)
    if not m:
        return None
    value = int(m[1], 0)
    return {
        "raw": m[1],
        "value": value,
        "current": {name: bool(value >> bit & 1) for bit, name in THROTTLE_BITS.items()},
        "occurred": {name: bool(value >> (bit + STICKY_OFFSET) & 1) for bit, name in THROTTLE_BITS.items()},
    }


def parse_measure_clock(text: str) -> int | None:
    m = re.search(r"frequency\(\d+\)=(\d+)", text)
    return int(m[1]) if m else None


def throttle_changed(before: dict, after: dict) -> bool:
    """True when the throttle state moved during a run: a current-state bit differs, or a sticky
    "has occurred" bit appeared. Takes snapshot() dicts (or their "throttled" entries)."""
    b = before.get("throttled", before) if isinstance(before, dict) else None
    a = after.get("throttled", after) if isinstance(after, dict) else None
    if not isinstance(b, dict) or not isinstance(a, dict) or "value" not in b or "value" not in a:
        return False
    vb, va = int(b["value"]), int(a["value"])
    appeared = (va & ~vb) & STICKY_MASK
    return (vb & CURRENT_MASK) != (va & CURRENT_MASK) or appeared != 0


# ---------------------------------------------------------------- readers


def read_governors(root: str = "/") -> dict[str, str]:
    out = {}
    base = Path(root) / "sys/devices/system/cpu"
    for path in sorted(base.glob("cpu[0-9]*/cpufreq/scaling_governor"), key=lambda p: int(p.parts[-3][3:])):
        try:
            out[path.parts[-3]] = path.read_text().strip()
        except OSError:
            continue
    return out


def governor_state(cores: Iterable[int], root: str = "/") -> dict:
    """The cpufreq governor of each core a round runs on, read before the round: anything but "performance"
    lets the clock move under the timings. Without cpufreq (VMs, containers) the governor is None, with why."""
    return judge_governor_state(read_governors(root), cores)


def judge_governor_state(found: Mapping[str, str], cores: Iterable[int]) -> dict:
    """`governor_state` from governors already read ({"cpu0": "schedutil", ...}; a phone's, over adb)."""
    wanted = sorted(set(cores))
    chosen = {f"cpu{c}": found[f"cpu{c}"] for c in wanted if f"cpu{c}" in found}
    shown = ",".join(map(str, wanted)) or "none"
    if not chosen:
        return {
            "governor": None,
            "performance": None,
            "missing_reason": f"no cpufreq governor for core(s) {shown}: "
            "/sys/devices/system/cpu/cpuN/cpufreq/scaling_governor is absent (a VM, or a kernel without cpufreq)",
        }
    names = sorted(set(chosen.values()))
    out: dict = {"governor": ", ".join(names), "performance": names == ["performance"], "cores": chosen}
    unread = [c for c in wanted if f"cpu{c}" not in chosen]
    if unread:
        out["unread"] = unread  # cores without a readable governor file
    return out


def read_cur_freqs_khz(root: str = "/") -> dict[str, int]:
    out = {}
    base = Path(root) / "sys/devices/system/cpu"
    for path in sorted(base.glob("cpu[0-9]*/cpufreq/scaling_cur_freq"), key=lambda p: int(p.parts[-3][3:])):
        try:
            out[path.parts[-3]] = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
    return out


def read_zone_temperature_c(root: str = "/") -> tuple[float | None, str]:
    """The first readable thermal zone's temperature (millidegrees in sysfs), and where it came from."""
    base = Path(root) / "sys/class/thermal"
    zones = sorted(base.glob("thermal_zone*/temp"), key=lambda p: int(p.parts[-2][len("thermal_zone") :]))
    for zone in zones:
        try:
            return int(zone.read_text().strip()) / 1000.0, "/" + str(zone.relative_to(root)).lstrip("/")
        except (OSError, ValueError):
            continue
    return None, "no readable /sys/class/thermal/thermal_zone*/temp"


def read_temperature_c(runner: Runner | None = None, root: str = "/") -> tuple[float | None, str]:
    """vcgencmd measure_temp where vcgencmd works, else the first thermal zone; (value, source or reason)."""
    out, reason = _ask(runner or run_vcgencmd, ["measure_temp"])
    if out is not None:
        value = parse_measure_temp(out)
        if value is not None:
            return value, "vcgencmd measure_temp"
    return read_zone_temperature_c(root)


def read_load_average(root: str = "/") -> list[float] | None:
    """The 1-, 5- and 15-minute load averages (/proc/loadavg): other work on the device disturbs a measurement."""
    try:
        return [float(v) for v in (Path(root) / "proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def snapshot(runner: Runner | None = None, root: str = "/") -> dict:
    """Temperature, throttle flags, firmware ARM clock, governors and the load average, each None
    (with a reason where there is one) when unavailable."""
    runner = runner or run_vcgencmd
    temperature, temp_source = read_temperature_c(runner, root)
    governors = read_governors(root)
    out: dict = {
        "load_average": read_load_average(root),
        "temperature_c": temperature,
        "temperature_source": temp_source,
        "governor": sorted(set(governors.values())) or None,
        "governors": governors or None,
        "cpu_cur_freq_khz": read_cur_freqs_khz(root) or None,
    }
    text, reason = _ask(runner, ["get_throttled"])
    out["throttled"] = parse_get_throttled(text) if text is not None else None
    if out["throttled"] is None:
        out["throttled_missing_reason"] = reason or f"unexpected get_throttled output: {text.strip()[:80]!r}"
    text, reason = _ask(runner, ["measure_clock", "arm"])
    out["arm_clock_hz"] = parse_measure_clock(text) if text is not None else None
    if out["arm_clock_hz"] is None:
        out["arm_clock_missing_reason"] = reason or f"unexpected measure_clock output: {text.strip()[:80]!r}"
    return out


def cooldown(below_c: float, max_secs: float, poll_secs: float = 1.0) -> dict:
    """Wait until the temperature is below `below_c` (or `max_secs` pass)."""
    start = time.monotonic()
    temperature, _ = read_temperature_c()
    while temperature is not None and temperature >= below_c and time.monotonic() - start < max_secs:
        time.sleep(poll_secs)
        temperature, _ = read_temperature_c()
    return {
        "waited_s": round(time.monotonic() - start, 2),
        "temperature_c": temperature,
        "reached": temperature is not None and temperature < below_c,
    }
