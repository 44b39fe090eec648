"""The environment of a measurement, taken on the device itself."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from . import cpu_parts

DEVICE_TREE_MODEL = ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model")


def read_cpuinfo(path: str = "/proc/cpuinfo") -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _first_fields(cpuinfo: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_model(cpuinfo: str | None = None) -> str | None:
    """The CPU's name: x86 prints it in 'model name'; Arm kernels print implementer and part codes,
    decoded here (several core types on big.LITTLE boards); else what cpuinfo calls the processor."""
    text = read_cpuinfo() if cpuinfo is None else cpuinfo
    named = cpu_parts.describe(cpu_parts.cpu_parts(text))
    if named:
        return named
    fields = _first_fields(text)
    for key in ("model name", "cpu model", "Processor", "Hardware", "uarch"):
        if fields.get(key):
            return fields[key]
    return platform.processor() or None


def board_model(cpuinfo: str | None = None, root: str = "/") -> str | None:
    """The board: the Raspberry Pi's 'Model' line in cpuinfo, else the device tree's model (Jetson, most Arm boards)."""
    model = _first_fields(read_cpuinfo() if cpuinfo is None else cpuinfo).get("Model")
    if model:
        return model
    for path in DEVICE_TREE_MODEL:
        try:
            text = (Path(root) / path.lstrip("/")).read_text(errors="replace").strip("\0\n ")
        except OSError:
            continue
        if text:
            return text
    return None


def os_release() -> str | None:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def collect() -> dict:
    from .affinity import format_cpu_list

    try:
        allowed = os.sched_getaffinity(0)
        usable, allowed_list = len(allowed), format_cpu_list(allowed)
    except AttributeError:
        usable, allowed_list = os.cpu_count(), None
    cpuinfo = read_cpuinfo()
    return {
        "cpu_model": cpu_model(cpuinfo),
        "cpu_parts": cpu_parts.cpu_parts(cpuinfo) or None,
        "board": board_model(cpuinfo),
        "machine": platform.machine(),
        "cores_online": os.cpu_count(),
        "cores_usable": usable,
        "cores_allowed": allowed_list,  # the cores this process may run on, as in Cpus_allowed_list
        "os": os_release() or platform.platform(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }
