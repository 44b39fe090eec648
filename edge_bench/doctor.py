"""`edge-bench doctor --target T`: can this target run a measurement? Every line is ok, or the fix.

Reaching the device is itself the first check. Where Python runs on the device, the agent zipapp is
pushed and runs its own checks (edge_bench.device.checks); on an Android device without Python the
same rules are applied to texts read through adb's shell, and the native tools are looked for.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Sequence

from .config import RUNTIMES, Target
from .device import checks as device_checks
from .device.bundle import build_agent_zipapp
from .device.checks import Check
from .transport import TransportError, device_python, open_transport
from .transport.agent_call import call_agent
from .transport.base import Transport

DOCTOR_TIMEOUT_SECS = 180.0  # importing ExecuTorch (and torch with it) takes a while on a small board

ANDROID_GOVERNOR_FIX = ("needs root: adb root, then adb shell 'for f in /sys/devices/system/cpu/cpu*/cpufreq/"
                        "scaling_governor; do echo performance > $f; done'")


def _connection_fix(target: Target) -> str:
    if target.kind == "ssh" and target.ssh is not None:
        host = f"{target.ssh.user}@{target.ssh.host}" if target.ssh.user else target.ssh.host
        return (f"make `ssh {host} true` work without a password: ssh-copy-id {host} (or ssh-add your key), "
                f"and put host, user, port and key in ~/.ssh/config or the [ssh] table of {target.path}")
    if target.kind == "adb":
        return ("run `adb devices`: enable USB debugging, accept this computer's key on the phone, "
                f"and set [adb] serial in {target.path} to the device's serial")
    return f"check `workdir` in {target.path}"


def run_doctor(target: Target, runtimes: Sequence[str] = RUNTIMES) -> list[Check]:
    """All checks of `target`; a device that cannot be reached is one failed `connection` check."""
    transport = open_transport(target)  # InputError for a target kind without a transport
    try:
        transport.open()
    except TransportError as e:
        return [Check("connection", False, str(e), _connection_fix(target))]
    found = [Check("connection", True, f"{target.kind} {target.name}: work dir {transport.workdir}")]
    try:
        if target.kind == "adb":
            from .android import has_python

            if not has_python(transport, device_python(target)):
                return found + _android_native_checks(transport, target, runtimes)
        return found + _agent_checks(transport, target, runtimes)
    except TransportError as e:
        return found + [Check("connection", False, f"lost while checking: {e}", _connection_fix(target))]
    finally:
        transport.close()


def _agent_checks(transport: Transport, target: Target, runtimes: Sequence[str]) -> list[Check]:
    with tempfile.TemporaryDirectory(prefix="edge-bench-doctor-") as tmp:
        agent = transport.push(build_agent_zipapp(Path(tmp)), "edge-bench-agent.pyz")
    spec = {"runtimes": list(runtimes), "workdir": transport.workdir,
            "energy": {"meter": target.energy.meter, "options": dict(target.energy.options),
                       "period_secs": target.energy.period_secs}}
    result = call_agent(transport, [device_python(target), agent, "doctor", "--spec", json.dumps(spec)], DOCTOR_TIMEOUT_SECS)
    if "checks" in result:
        return [Check.from_dict(c) for c in result["checks"]]
    error = result.get("error") or "the agent returned no checks"
    if error.startswith("cannot start the agent"):
        return [Check("python", False, f"'{device_python(target)}' does not run on the device: {error}",
                      f"install Python >= 3.10 on the device (e.g. sudo apt install python3 python3-numpy) "
                      f"or set `python` in {target.path} to its path")]
    if error.startswith("agent crashed"):
        return [Check("python", False, f"the agent cannot run with '{device_python(target)}': {error}",
                      f"use Python >= 3.10 on the device (set `python` in {target.path})")]
    return [Check("agent", False, error, "run `edge-bench doctor` again; if it persists, check the device's log")]


# ---------------------------------------------------------------- Android without Python


def _sh(transport: Transport, script: str) -> str:
    return transport.exec(["sh", "-c", script], 60).stdout


def _android_native_checks(transport: Transport, target: Target, runtimes: Sequence[str]) -> list[Check]:
    from .android import BUILD_HINT, TOOLS

    found = [Check("python", True, f"no '{device_python(target)}' on the device: measuring with the native tools")]
    for runtime in runtimes:
        key = TOOLS[runtime]
        configured = getattr(target.adb, key, "") if target.adb else ""
        if not configured:
            found.append(Check(runtime, False, f"[adb] {key} is not set",
                               f"{BUILD_HINT[runtime]}, then set [adb] {key} in {target.path} to its host path"))
        elif not Path(configured).expanduser().is_file():
            found.append(Check(runtime, False, f"[adb] {key} = '{configured}' does not exist on this host",
                               f"{BUILD_HINT[runtime]}, or correct the path in {target.path}"))
        else:
            found.append(Check(runtime, True, f"{key}: {configured}"))

    governors = {}
    governor_files = "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
    for line in _sh(transport, f"grep -H . {governor_files} 2>/dev/null").splitlines():
        path, sep, value = line.partition(":")
        if sep:
            governors[Path(path).parts[-3]] = value.strip()
    found.append(device_checks.judge_governors(governors, ANDROID_GOVERNOR_FIX))
    found.append(_android_meter(transport, target))

    free = None
    df = _sh(transport, f"df -Pk {_quote(transport.workdir)} 2>/dev/null").strip().splitlines()
    if len(df) >= 2 and len(df[-1].split()) >= 4 and df[-1].split()[3].isdigit():
        free = int(df[-1].split()[3]) * 1024
    found.append(device_checks.judge_disk(free, transport.workdir))
    found.append(device_checks.judge_ram(_sh(transport, "cat /proc/meminfo")))
    found.append(device_checks.judge_clocksource(_sh(transport, f"cat {device_checks.CLOCKSOURCE} 2>/dev/null")))
    return found


def _quote(path: str) -> str:
    from .transport.shell import quote_path

    return quote_path(path)


def _android_meter(transport: Transport, target: Target) -> Check:
    """The meter read from the host through adb: files with `cat`, commands with the shell."""
    from .device.power import CommandError, Source

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

    energy = {"meter": target.energy.meter, "options": dict(target.energy.options),
              "period_secs": target.energy.period_secs}
    return device_checks.check_meter(energy, Source(runner=runner, read_text=read_text))


def format_checks(checks: Sequence[Check]) -> str:
    """One line per check (`ok` or `FAIL`, name, detail), the fix indented below each failure."""
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for c in checks:
        lines.append(f"{'ok' if c.ok else 'FAIL':<4}  {c.name:<{width}}  {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    failed = sum(not c.ok for c in checks)
    lines.append(f"{len(checks) - failed} ok, {failed} to fix" if failed else f"all {len(checks)} checks ok")
    return "\n".join(lines)
