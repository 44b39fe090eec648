"""`edge-bench doctor --target T`: can this target run a measurement? Every line is ok, or the fix.

Reaching the device is itself the first check. Where Python runs on the device, the agent zipapp is
pushed and runs its own checks (edge_bench.device.checks); on an Android device without Python the
same rules are applied to texts read through adb's shell, and the native tools are looked for.
"""

from __future__ import annotations

import json
from typing import Sequence

from .config import RUNTIMES, Target
from .transport.bundle import build_agent_zipapp
from .device.checks import Check
from .transport import TransportError, device_python, open_transport
from .transport.agent import call_agent
from .transport.base import Transport

# Importing ExecuTorch's Python runtime (and torch with it), or building the native runner the first
# time, takes a while on a small board.
DOCTOR_TIMEOUT_SECS = 600.0


def _connection_fix(target: Target) -> str:
    if target.kind == "ssh" and target.ssh is not None:
        host = f"{target.ssh.user}@{target.ssh.host}" if target.ssh.user else target.ssh.host
        return (
            f"make `ssh {host} true` work without a password: ssh-copy-id {host} (or ssh-add your key), "
            f"and put host, user, port and key in ~/.ssh/config or the [ssh] table of {target.path}"
        )
    if target.kind == "adb":
        return (
            "run `adb devices`: enable USB debugging, accept this computer's key on the phone, "
            f"and set [adb] serial in {target.path} to the device's serial"
        )
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
            from .android.doctor import native_checks
            from .android.measure import has_python

            if not has_python(transport, device_python(target)):
                return found + native_checks(transport, target, runtimes)
        return found + _agent_checks(transport, target, runtimes)
    except TransportError as e:
        return found + [Check("connection", False, f"lost while checking: {e}", _connection_fix(target))]
    finally:
        transport.close()


def _agent_checks(transport: Transport, target: Target, runtimes: Sequence[str]) -> list[Check]:
    from .export.cache import cache_root

    repaired: list[str] = []
    bundle = build_agent_zipapp(cache_root() / "agent", repaired=repaired)  # the one runs push, verified
    agent = transport.push(bundle, bundle.name)
    bundle_check = Check(
        "agent bundle",
        True,
        f"{bundle.name} matches this edge-bench"
        + (f" (the cached one was damaged and rebuilt: {repaired[0]})" if repaired else ""),
    )
    spec = {
        "runtimes": list(runtimes),
        "workdir": transport.workdir,
        "apis": {r: target.runtimes.api(r) for r in runtimes},
        "cores": list(target.measure.cores) or None,
        "energy": {
            "meter": target.energy.meter,
            "options": dict(target.energy.options),
            "period_secs": target.energy.period_secs,
        },
    }
    result = call_agent(
        transport, [device_python(target), agent, "doctor", "--spec", json.dumps(spec)], DOCTOR_TIMEOUT_SECS
    )
    if "checks" in result:
        return [bundle_check] + [Check.from_dict(c) for c in result["checks"]]
    error = result.get("error") or "the agent returned no checks"
    if error.startswith("cannot start the agent"):
        return [
            Check(
                "python",
                False,
                f"'{device_python(target)}' does not run on the device: {error}",
                f"install Python >= 3.10 on the device (e.g. sudo apt install python3 python3-numpy) "
                f"or set `python` in {target.path} to its path",
            )
        ]
    if error.startswith("agent crashed"):
        return [
            Check(
                "python",
                False,
                f"the agent cannot run with '{device_python(target)}': {error}",
                f"use Python >= 3.10 on the device (set `python` in {target.path})",
            )
        ]
    return [Check("agent", False, error, "run `edge-bench doctor` again; if it persists, check the device's log")]


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
