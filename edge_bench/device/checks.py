"""Can this device run a measurement? Each check says ok, or what is wrong and the command that fixes it.

Runs ON the device (`agent doctor --spec JSON`). The judging functions take the texts they judge
(/proc/meminfo, governors, the clock source), so the host can apply the same rules to texts read over
adb from a phone that has no Python.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import AbstractSet, Any, Mapping, Sequence

MIN_PYTHON = (3, 10)
MIN_FREE_DISK_BYTES = 512 * 1024 * 1024  # artifacts of a sweep, the agent, its outputs
MIN_AVAILABLE_RAM_BYTES = 256 * 1024 * 1024
PIP_FIX = {
    "litert": "pip install ai-edge-litert==2.3.0",
    "executorch": "pip install executorch==1.5.1 torch==2.14.1",
}  # its Python runtime imports torch
GOVERNOR_FIX = "echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
CLOCKSOURCE = "/sys/devices/system/clocksource/clocksource0/current_clocksource"
COARSE_CLOCKSOURCES = {"jiffies", "refined-jiffies"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Check":
        return cls(
            str(data.get("name", "?")), bool(data.get("ok")), str(data.get("detail", "")), str(data.get("fix") or "")
        )


# ---------------------------------------------------------------- judging texts


def judge_python(version: tuple[int, ...], executable: str) -> Check:
    shown = ".".join(map(str, version[:3]))
    if tuple(version[:2]) >= MIN_PYTHON:
        return Check("python", True, f"{shown} ({executable})")
    need = ".".join(map(str, MIN_PYTHON))
    return Check(
        "python",
        False,
        f"{shown} ({executable}) is older than {need}",
        f"install Python >= {need} on the device (e.g. sudo apt install python3) and set `python` in the target file",
    )


def judge_governors(governors: Mapping[str, str], fix: str = GOVERNOR_FIX) -> Check:
    if not governors:
        return Check("governor", True, "no cpufreq governors exposed (VM or container?): the clock is not ours to set")
    others = sorted({g for g in governors.values() if g != "performance"})
    summary = ", ".join(f"{g} x{list(governors.values()).count(g)}" for g in sorted(set(governors.values())))
    if not others:
        return Check("governor", True, f"performance on all {len(governors)} cores")
    return Check("governor", False, f"{summary}: timings will vary with the frequency the governor picks", fix)


def governor_fix(cores: Sequence[int] | None) -> str:
    """How to set the performance governor (root needed): on every core, or only on the pinned ones."""
    if not cores:
        return GOVERNOR_FIX
    files = " ".join(f"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor" for c in cores)
    cpufreq_set = "; ".join(f"sudo cpufreq-set -c {c} -g performance" for c in cores)
    return f"needs root: echo performance | sudo tee {files} (or with cpufrequtils: {cpufreq_set})"


def judge_cores(cores: Sequence[int], usable: AbstractSet[int] | None) -> Check:
    """The target's [measure] cores against the cores a process may use on this device."""
    from .affinity import format_cpu_list

    pinned = format_cpu_list(cores)
    if usable is None:
        return Check("cores", False, f"pinning to {pinned} asked, but this platform cannot pin (no sched_setaffinity)")
    missing = sorted(set(cores) - set(usable))
    if missing:
        return Check(
            "cores",
            False,
            f"core(s) {format_cpu_list(missing)} of [measure] cores = {pinned} not available "
            f"(a process may run on {format_cpu_list(usable)})",
            f"set [measure] cores in the target file to cores among {format_cpu_list(usable)}",
        )
    others = set(usable) - set(cores)
    agent = f"the agent's own work on {format_cpu_list(others)}" if others else "no other core for the agent's work"
    return Check("cores", True, f"measured on {pinned}; {agent}")


def judge_disk(free_bytes: int | None, where: str) -> Check:
    if free_bytes is None:
        return Check(
            "disk",
            False,
            f"cannot read the free space of {where}",
            "check that the work dir is on a mounted, writable filesystem",
        )
    detail = f"{free_bytes / 2**30:.1f} GiB free in {where}"
    if free_bytes >= MIN_FREE_DISK_BYTES:
        return Check("disk", True, detail)
    return Check(
        "disk",
        False,
        f"{detail} (< {MIN_FREE_DISK_BYTES // 2**20} MiB)",
        "free space on the device, or set `workdir` in the target file to a larger filesystem",
    )


def judge_ram(meminfo: str | None) -> Check:
    available = None
    for line in (meminfo or "").splitlines():
        key, _, rest = line.partition(":")
        if key.strip() == "MemAvailable":
            value, _, unit = rest.strip().partition(" ")
            available = int(value) * (1024 if unit.strip().lower() == "kb" else 1)
    if available is None:
        return Check(
            "ram",
            False,
            "no MemAvailable in /proc/meminfo (kernel < 3.14, or not Linux)",
            "measure on a Linux kernel >= 3.14",
        )
    detail = f"{available / 2**20:.0f} MiB available"
    if available >= MIN_AVAILABLE_RAM_BYTES:
        return Check("ram", True, detail)
    return Check(
        "ram",
        False,
        f"{detail} (< {MIN_AVAILABLE_RAM_BYTES // 2**20} MiB)",
        "close other programs on the device (peak RSS of large models exceeds this)",
    )


def judge_clocksource(current: str | None, timer_resolution_s: float | None = None) -> Check:
    resolution = f", timer resolution {timer_resolution_s * 1e9:.0f} ns" if timer_resolution_s else ""
    if not current:
        return Check("clocksource", True, f"unknown ({CLOCKSOURCE} unreadable){resolution}")
    current = current.strip()
    if current in COARSE_CLOCKSOURCES:
        return Check(
            "clocksource",
            False,
            f"{current}: timestamps advance in scheduler ticks (1-10 ms){resolution}",
            "boot with a high-resolution clock source (tsc, arch_sys_counter, ...): "
            f"see {Path(CLOCKSOURCE).parent}/available_clocksource",
        )
    return Check("clocksource", True, f"{current}{resolution}")


# ---------------------------------------------------------------- checks of this device


def check_numpy() -> Check:
    try:
        import numpy
    except ImportError as e:
        return Check("numpy", False, f"not importable: {e}", "pip install numpy")
    return Check("numpy", True, numpy.__version__)


def check_runtime(name: str, numpy_ok: bool, api: str | None = None) -> Check:
    """Load the runtime exactly as a measurement does (the agent's adapter for `api`), with one thread."""
    fix = PIP_FIX.get(name, "")
    if not numpy_ok:
        return Check(name, False, "needs numpy, which is missing", f"pip install numpy && {fix}".rstrip(" &"))
    from .runtimes import APIS, RuntimeMissing, adapter

    if name not in APIS:
        return Check(name, False, f"unknown runtime (known: {', '.join(APIS)})")
    try:
        versions = adapter(name, api)(1).versions()
    except RuntimeMissing as e:
        return Check(name, False, str(e).split(":")[0], fix)
    except Exception as e:  # noqa: BLE001 - a broken install is a finding, not a crash
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return Check(
            name, False, f"import failed: {type(e).__name__}: {first}", f"{fix} --force-reinstall" if fix else ""
        )
    shown = f" ({api} API)" if api and api != APIS[name][0] else ""
    return Check(name, True, f"{versions.get('package')} {versions.get('version')}{shown}")


def check_native(numpy_ok: bool) -> list[Check]:
    """ExecuTorch through the native runner: a compiler, the wheel's files, the runner built; torch unneeded."""
    from importlib.metadata import PackageNotFoundError, version

    from .native.build import NativeUnavailable, compiler_identity, ensure_runner, find_compiler, find_wheel

    fallback = "; measurements fall back to ExecuTorch's Python runtime, which needs torch"
    found = []
    try:
        found.append(Check("compiler", True, compiler_identity(find_compiler())))
    except NativeUnavailable as e:
        found.append(Check("compiler", False, f"{e}{fallback}", e.fix))
    try:
        wheel = find_wheel()
        found.append(Check("executorch", True, f"executorch {wheel.version}: native runtime in {wheel.lib}"))
    except NativeUnavailable as e:
        found.append(Check("executorch", False, f"{e}{fallback}", e.fix))
    if not all(c.ok for c in found):
        found.append(Check("native runner", False, "not built: it needs the compiler and the wheel's files above"))
    elif not numpy_ok:
        found.append(
            Check("native runner", False, "the agent feeds it with numpy, which is missing", "pip install numpy")
        )
    else:
        try:
            runner = ensure_runner()
            how = f"built in {runner.build_s:.1f} s" if runner.built_now else "built before"
            found.append(Check("native runner", True, f"{how}: {runner.path}"))
        except NativeUnavailable as e:
            found.append(Check("native runner", False, f"{e}{fallback}", e.fix))
    try:
        torch = f"installed ({version('torch')}), unused by the native runner"
    except PackageNotFoundError:
        torch = "not installed, not needed by the native runner"
    found.append(Check("torch", True, torch))
    return found


def read_governors() -> dict[str, str]:
    from .thermal import read_governors as read

    try:
        return read()
    except OSError:
        return {}


def check_meter(energy: Mapping[str, Any] | None, source: Any = None) -> Check:
    """Open the target's meter and take one reading."""
    energy = energy or {}
    meter = energy.get("meter", "none")
    if meter == "none":
        return Check("meter", True, 'none configured ([energy] meter = "none"): energy will be recorded as missing')
    try:
        from .power import CommandError, MeterUnavailable, Source, open_meter
    except ImportError as e:
        fix = "pip install numpy" if getattr(e, "name", "") == "numpy" else "push the agent built from this checkout"
        return Check("meter", False, f"the agent cannot load its meters: {e}", fix)

    try:
        opened = open_meter(
            meter, energy.get("options") or {}, float(energy.get("period_secs", 0.1)), source or Source()
        )
        try:
            value = opened.read()
        finally:
            opened.close()
    except MeterUnavailable as e:
        return Check("meter", False, f"{meter} cannot be read", str(e))
    except (OSError, CommandError, ValueError) as e:
        return Check("meter", False, f"{meter}: reading failed: {e}", "check the [energy] options in the target file")
    unit = "W" if opened.kind == "power" else "J on its counter"
    return Check("meter", True, f"{meter}: reads {value:.4g} {unit}")


def _free_bytes(path: str) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def run_checks(spec: Mapping[str, Any]) -> list[Check]:
    """Every check, for `spec` = {"runtimes": [...], "apis": {runtime: api}, "energy": {...}, "workdir": ".",
    "cores": [...] or None}; with cores, the governors judged are those cores' only."""
    workdir = str(spec.get("workdir") or os.getcwd())
    checks = [judge_python(tuple(sys.version_info), sys.executable), check_numpy()]
    numpy_ok = checks[-1].ok
    apis = spec.get("apis") or {}
    for runtime in spec.get("runtimes", list(PIP_FIX)):
        if runtime == "executorch" and apis.get(runtime) == "native":
            checks.extend(check_native(numpy_ok))
        else:
            checks.append(check_runtime(runtime, numpy_ok, apis.get(runtime)))
    cores = spec.get("cores") or None
    governors = read_governors()
    if cores:
        from .affinity import usable_cores

        checks.append(judge_cores(cores, usable_cores()))
        governors = {name: g for name, g in governors.items() if int(name[3:]) in cores}
    checks.append(judge_governors(governors, governor_fix(cores)))
    checks.append(check_meter(spec.get("energy")))
    checks.append(judge_disk(_free_bytes(workdir), workdir))
    checks.append(judge_ram(_read("/proc/meminfo")))
    checks.append(judge_clocksource(_read(CLOCKSOURCE), time.get_clock_info("perf_counter").resolution))
    return checks
