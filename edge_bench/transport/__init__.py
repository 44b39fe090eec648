"""Transports move files to a device and run commands there: push, exec, pull — nothing else."""

from __future__ import annotations

import sys

from ..config import Target
from ..errors import InputError
from .base import ExecResult, Transport, TransportError, TransportTimeout


def open_transport(target: Target) -> Transport:
    """The transport for `target` (not yet entered: use it as a context manager)."""
    if target.kind == "local":
        from .local import LocalTransport

        return LocalTransport(workdir=target.workdir)
    if target.kind == "ssh":
        from .ssh import SshTransport

        assert target.ssh is not None  # config.load_target requires the [ssh] table of an ssh target
        return SshTransport(target.ssh, workdir=target.workdir, name=target.name)
    if target.kind == "adb":
        from .adb import AdbTransport

        assert target.adb is not None  # and the [adb] table of an adb target
        return AdbTransport(target.adb, workdir=target.workdir)
    raise InputError(f"{target.path}: kind '{target.kind}' has no transport (an mcu target is not measured over one)")


def device_python(target: Target) -> str:
    """The device's interpreter: the target file's, else python3 — and for the local host the very
    interpreter running edge-bench, which has the runtimes installed beside it."""
    if target.python:
        return target.python
    return sys.executable if target.kind == "local" else "python3"


__all__ = ["device_python", "ExecResult", "Transport", "TransportError", "TransportTimeout", "open_transport"]
