"""Call the device agent over any transport and always get a dict back: failures are data.

The agent prints one line starting with RESULT_MARKER. Everything else that can happen (the
connection drops, the command runs too long, Python or numpy is missing, the agent is killed) becomes
`{"status": "failed", "error": "<one line>"}`, so a sweep records it and goes on.
"""

from __future__ import annotations

import json
import signal
from typing import Any, Sequence

from ..device.agent import AGENT_PROTOCOL, RESULT_MARKER
from .base import Transport, TransportError, TransportTimeout
from .shell import last_line

MAX_LINE = 300


def failed(error: str, **extra: Any) -> dict[str, Any]:
    return {"status": "failed", "error": error, **extra}


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The agent's JSON from its marked line (the last one, should a runtime echo the marker)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            try:
                value = json.loads(line[len(RESULT_MARKER) :])
            except json.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _exit_reason(returncode: int) -> str:
    """`exit 137 (SIGKILL)`: a shell reports a signal N as 128+N, a local subprocess as -N."""
    number = -returncode if returncode < 0 else returncode - 128 if 128 < returncode < 160 else 0
    try:
        return f"exit {returncode} ({signal.Signals(number).name})" if number else f"exit {returncode}"
    except ValueError:
        return f"exit {returncode}"


def call_agent(transport: Transport, argv: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run an agent command line on the device; its result dict, or a `failed` one saying why not.

    The agent's stdin is held open for as long as we wait (`--exit-with-host`): if this process is
    killed, the agent sees EOF and exits rather than measuring on for no one.
    """
    argv = [argv[0], argv[1], "--exit-with-host", *argv[2:]] if len(argv) >= 2 else list(argv)
    try:
        done = transport.exec(list(argv), timeout, hold_stdin=True)
    except TransportTimeout as e:
        return failed(f"timeout: {e}")
    except TransportError as e:
        return failed(str(e))
    result = parse_result(done.stdout)
    stderr_line = last_line(done.stderr)
    if len(stderr_line) > MAX_LINE:  # a shell's "Killed <whole command line>" repeats the spec
        stderr_line = stderr_line[:MAX_LINE] + " ..."
    if done.returncode != 0:
        reason = f"agent crashed ({_exit_reason(done.returncode)})"
        if done.returncode == 127:
            reason = f"cannot start the agent with '{argv[0]}' on the device (exit 127)"
        return failed(f"{reason}: {stderr_line}" if stderr_line else reason, stderr_tail=done.stderr[-4000:])
    if result is None:
        why = f"; stderr: {stderr_line}" if stderr_line else ""
        return failed(f"the agent printed no result line{why}", stderr_tail=done.stderr[-4000:])
    if result.get("protocol") != AGENT_PROTOCOL:
        return failed(
            f"agent protocol {result.get('protocol')} on the device, {AGENT_PROTOCOL} expected: "
            "push the agent built from this checkout"
        )
    return result


def run_agent(
    transport: Transport, python: str, agent_path: str, spec: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """One measurement: `python agent_path measure --spec JSON` on the device (both already there)."""
    return call_agent(transport, [python, agent_path, "measure", "--spec", json.dumps(spec)], timeout)
