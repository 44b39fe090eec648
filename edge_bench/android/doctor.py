"""`doctor` on an Android device without Python: the native tools, governor, meter, disk, RAM and clock
source, each judged by the same rules the agent applies on other boards, from texts read through adb's shell."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..config import Target
from ..device import checks as device_checks
from ..device.checks import Check
from ..transport import device_python
from ..transport.base import Transport
from ..transport.shell import quote_path

GOVERNOR_FIX = (
    "needs root: adb root, then adb shell 'for f in /sys/devices/system/cpu/cpu*/cpufreq/"
    "scaling_governor; do echo performance > $f; done'"
)


def _sh(transport: Transport, script: str) -> str:
    return transport.exec(["sh", "-c", script], 60).stdout


def native_checks(transport: Transport, target: Target, runtimes: Sequence[str]) -> list[Check]:
    from .measure import BUILD_HINT, TOOLS

    found = [Check("python", True, f"no '{device_python(target)}' on the device: measuring with the native tools")]
    for runtime in runtimes:
        key = TOOLS[runtime]
        configured = getattr(target.adb, key, "") if target.adb else ""
        if not configured:
            found.append(
                Check(
                    runtime,
                    False,
                    f"[adb] {key} is not set",
                    f"{BUILD_HINT[runtime]}, then set [adb] {key} in {target.path} to its host path",
                )
            )
        elif not Path(configured).expanduser().is_file():
            found.append(
                Check(
                    runtime,
                    False,
                    f"[adb] {key} = '{configured}' does not exist on this host",
                    f"{BUILD_HINT[runtime]}, or correct the path in {target.path}",
                )
            )
        else:
            found.append(Check(runtime, True, f"{key}: {configured}"))

    governors = {}
    governor_files = "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
    for line in _sh(transport, f"grep -H . {governor_files} 2>/dev/null").splitlines():
        path, sep, value = line.partition(":")
        if sep:
            governors[Path(path).parts[-3]] = value.strip()
    if target.measure.cores:  # the pinned cores' governors are the ones the timings depend on
        governors = {name: g for name, g in governors.items() if int(name[3:]) in target.measure.cores}
    found.append(device_checks.judge_governors(governors, GOVERNOR_FIX))
    found.append(_meter(transport, target))

    free = None
    df = _sh(transport, f"df -Pk {quote_path(transport.workdir)} 2>/dev/null").strip().splitlines()
    if len(df) >= 2 and len(df[-1].split()) >= 4 and df[-1].split()[3].isdigit():
        free = int(df[-1].split()[3]) * 1024
    found.append(device_checks.judge_disk(free, transport.workdir))
    found.append(device_checks.judge_ram(_sh(transport, "cat /proc/meminfo")))
    found.append(device_checks.judge_clocksource(_sh(transport, f"cat {device_checks.CLOCKSOURCE} 2>/dev/null")))
    return found


def _meter(transport: Transport, target: Target) -> Check:
    """The meter read from the host through adb: files with `cat`, commands with the shell."""
    from ..device.power import CommandError, Source

    def read_text(path: str) -> str:
        done = transport.exec(["cat", path], 30)
        if done.returncode != 0:
            raise OSError(f"cannot read {path}: {done.stderr.strip()}")
        return done.stdout

    def runner(argv: Sequence[str]) -> str:
        done = transport.exec(list(argv), 60)
        if done.returncode != 0:
            detail = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise CommandError(f"{argv[0]} exited {done.returncode}: {detail[0] if detail else 'no output'}")
        return done.stdout

    energy = {
        "meter": target.energy.meter,
        "options": dict(target.energy.options),
        "period_secs": target.energy.period_secs,
    }
    return device_checks.check_meter(energy, Source(runner=runner, read_text=read_text))
