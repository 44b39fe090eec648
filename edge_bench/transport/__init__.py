"""Transports move files to a device and run commands there: push, exec, pull — nothing else."""

from __future__ import annotations

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

        return SshTransport(target.ssh, workdir=target.workdir, name=target.name)
    if target.kind == "adb":
        from .adb import AdbTransport

        return AdbTransport(target.adb, workdir=target.workdir)
    raise InputError(f"{target.path}: kind '{target.kind}' has no transport (an mcu target is not measured over one)")


__all__ = ["ExecResult", "Transport", "TransportError", "TransportTimeout", "open_transport"]
