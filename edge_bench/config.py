"""Recipe and target TOML files -> frozen dataclasses.

Every validation error names the file and the key, and says what would fix it.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import catalog
from .errors import InputError
from .typecheck import conforms, type_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # Ubuntu 22.04 and JetPack 6 ship Python 3.10: the same parser, from PyPI
    import tomli as tomllib

# The bundled catalog; a name is looked up in the user's folders first (see `catalog`).
RECIPES_DIR = catalog.bundled("recipes")
TARGETS_DIR = catalog.bundled("targets")
RUNTIMES = ("executorch", "litert")
TARGET_KINDS = ("local", "ssh", "adb", "mcu")


# ---------------------------------------------------------------- recipe


@dataclass(frozen=True)
class QuantizeConfig:
    """PT2E static INT8 quantization and its calibration set."""

    calibration: str = "random"  # "random", or a folder of images (ImageFolder or flat)
    batches: int = 8  # calibration batches of one image each
    seed: int = 0
    per_channel: bool = True


@dataclass(frozen=True)
class EvalConfig:
    """How the variant's input is made from an image: resize to K, then centre crop."""

    resize_ratio: float = 224 / 256  # crop / K as in torchvision's classic evaluation
    interpolation: str = "bilinear"


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    description: str
    model: Mapping[str, Any]  # fixed fields of every variant (arch, weights, builder options)
    sweep: tuple[tuple[str, tuple[Any, ...]], ...]  # axes of the grid, in file order
    variants: tuple[Mapping[str, Any], ...]  # explicit points, each merged over `model`
    quantize: QuantizeConfig
    runtimes: tuple[str, ...]
    eval: EvalConfig = field(default_factory=EvalConfig)


# ---------------------------------------------------------------- target


@dataclass(frozen=True)
class MeasureConfig:
    """The measurement protocol (docs/architecture.md): rounds, each a fresh process on the device that warms
    up then times runs, until the median is known to `precision`; rounds interleaved across the sweep."""

    # one round
    warmup_runs: int = 3
    warmup_secs: float = 0.2
    min_runs: int = 10
    min_secs: float = 0.3
    max_secs: float = 10.0
    round_precision: float = 0.01  # a round times on past its minimums until its own median is known to this (0: off)
    # the measurement
    precision: float = 0.02  # stop when the confidence interval of the median is within +- this fraction
    confidence: float = 0.95
    rounds_min: int = 3
    rounds_max: int = 10
    retakes: int = 3  # extra rounds allowed to replace rounds taken under load or while throttling changed
    disturbed_cpu: float = 0.25  # other processes busier than this many cores while a round is timed: disturbed
    max_secs_per_measurement: float = 600.0  # device time of all rounds of one measurement together
    timeout_secs: float = 600.0  # one measuring process, load included
    cooldown_below_c: float | None = None  # wait until the SoC is cooler than this before each round
    cooldown_max_secs: float = 120.0
    energy_secs: float = 10.0  # duration of the separate energy pass
    idle_secs: float = 3.0  # idle baseline before the energy pass
    # the cores the measured process is pinned to ("2,3", "4-7" or [2, 3]); empty: unpinned
    cores: tuple[int, ...] = ()


@dataclass(frozen=True)
class EnergyConfig:
    meter: str = (
        "none"  # none | rpi5-pmic | hwmon | rapl | jetson-ina3221 | tegrastats | android-battery | android-rails
    )
    period_secs: float = 0.1
    options: Mapping[str, Any] = field(default_factory=dict)  # meter-specific (hwmon name, board fit, ...)


@dataclass(frozen=True)
class RuntimesConfig:
    """The API each runtime is measured through on a target ([runtimes] in its file; the choices are
    edge_bench.device.runtimes.APIS)."""

    executorch: str = "python"  # "native": the C++ runner built on the device, no torch in the process
    litert: str = "interpreter"  # or "compiled_model", LiteRT 2.x's CompiledModel API

    def api(self, runtime: str) -> str:
        return getattr(self, runtime)


@dataclass(frozen=True)
class SshConfig:
    host: str = ""  # an address or a ~/.ssh/config alias
    user: str = ""
    port: int = 0  # 0: the client's default / ~/.ssh/config
    identity_file: str = ""
    options: tuple[str, ...] = ()  # extra `-o Key=Value` options
    connect_timeout_secs: int = 10
    config_file: str = ""  # an ssh_config(5) file given as `-F`; empty: ~/.ssh/config as usual


@dataclass(frozen=True)
class AdbConfig:
    serial: str = ""
    adb: str = "adb"  # the adb executable
    benchmark_model: str = ""  # host path of LiteRT's benchmark_model for android-arm64
    executor_runner: str = ""  # host path of ExecuTorch's executor_runner for android-arm64
    pin_big_cores: bool = True


@dataclass(frozen=True)
class McuConfig:
    sram_bytes: int = 0
    flash_bytes: int = 0
    clock_hz: int = 0
    core: str = ""
    macs_per_cycle: float | None = None
    npu: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    path: Path
    description: str
    kind: str
    threads: int
    python: str = ""  # interpreter on the device; empty: python3 (local targets: the one running edge-bench)
    workdir: str = ""  # on the device; empty: a fresh temporary directory per session
    emulated: bool = False  # an emulated CPU (qemu): its timings are labelled and kept out of fits and choices
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    runtimes: RuntimesConfig = field(default_factory=RuntimesConfig)
    ssh: SshConfig | None = None
    adb: AdbConfig | None = None
    mcu: McuConfig | None = None


# ---------------------------------------------------------------- loading


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: malformed TOML: {e}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (TOML must be UTF-8 text)") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None


def table_to_dataclass(cls: type, table: Any, path: Path, section: str, skip: tuple[str, ...] = ()):
    """Build dataclass `cls` from a TOML table; unknown keys and wrong types name file and key."""
    if not isinstance(table, dict):
        raise InputError(f"{path}: [{section}] must be a table")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name not in skip]
    kwargs = {}
    for key, value in table.items():
        where = f"{section}.{key}" if section else key
        if key not in names:
            raise InputError(f"{path}: unknown key '{where}' (known: {', '.join(names)})")
        if not conforms(value, hints[key]):
            raise InputError(f"{path}: key '{where}' must be {type_name(hints[key])}, got {value!r}")
        if typing.get_origin(hints[key]) is tuple:
            value = tuple(value)
        if isinstance(value, int) and hints[key] is float:
            value = float(value)
        kwargs[key] = value
    return kwargs


def _positive(path: Path, where: str, value: float, allow_zero: bool = False) -> None:
    bound = ">= 0" if allow_zero else "> 0"
    if not math.isfinite(value):
        raise InputError(f"{path}: key '{where}' must be a finite number {bound}, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError(f"{path}: key '{where}' must be {bound}, got {value}")


def _resolve(name_or_path: str, folder: Path | None, kind: str) -> Path:
    """A path as given, or a name looked up in `folder` when given, else in the catalog's folders."""
    what = kind.removesuffix("s")
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or "/" in name_or_path:
        if not candidate.is_file():
            state = f"is a folder; give a .toml file (or a {what} name)" if candidate.is_dir() else "does not exist"
            raise InputError(f"{what} file {name_or_path} {state}")
        return candidate
    path = folder / f"{name_or_path}.toml" if folder is not None else catalog.find(kind, name_or_path)
    if path is None or not path.is_file():
        names = list_names(folder) if folder is not None else [e.name for e in catalog.entries(kind)]
        known = ", ".join(names) or "none"
        raise InputError(f"unknown {what} '{name_or_path}' (known: {known}; or give a path to a .toml file)")
    return path


def list_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml"))


def load_recipe(name_or_path: str, folder: Path | None = None) -> Recipe:
    """A recipe by name (see `catalog` for where names are looked up) or by path."""
    path = _resolve(name_or_path, folder, "recipes")
    data = _read_toml(path)
    known = {"description", "model", "sweep", "variants", "quantize", "runtimes", "eval"}
    for key in data:
        if key not in known:
            raise InputError(f"{path}: unknown key '{key}' (known: {', '.join(sorted(known))})")
    model = data.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("arch"), str):
        raise InputError(f"{path}: [model] table with a string 'arch' is required (e.g. arch = \"resnet50\")")
    from .models import ARCHS  # late: keeps config import-light

    if model["arch"] not in ARCHS:
        raise InputError(f"{path}: key 'model.arch' = '{model['arch']}' is unknown (known: {', '.join(sorted(ARCHS))})")

    sweep_table = data.get("sweep", {})
    if not isinstance(sweep_table, dict):
        raise InputError(f"{path}: [sweep] must be a table of lists, e.g. resolution = [224, 160]")
    sweep = []
    for axis, values in sweep_table.items():
        if not isinstance(values, list) or not values:
            raise InputError(f"{path}: key 'sweep.{axis}' must be a non-empty list, got {values!r}")
        sweep.append((axis, tuple(values)))

    variants = data.get("variants", [])
    if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
        raise InputError(f"{path}: 'variants' must be an array of tables ([[variants]])")
    if not sweep and not variants:
        raise InputError(f"{path}: a recipe needs a [sweep] table or [[variants]] entries")

    quantize = QuantizeConfig(**table_to_dataclass(QuantizeConfig, data.get("quantize", {}), path, "quantize"))
    _positive(path, "quantize.batches", quantize.batches)
    evaluation = EvalConfig(**table_to_dataclass(EvalConfig, data.get("eval", {}), path, "eval"))
    if not math.isfinite(evaluation.resize_ratio) or not 0 < evaluation.resize_ratio <= 1:
        raise InputError(
            f"{path}: key 'eval.resize_ratio' must be a crop fraction in (0, 1] (e.g. 0.875), "
            f"got {evaluation.resize_ratio}"
        )

    runtimes = data.get("runtimes", list(RUNTIMES))
    if not isinstance(runtimes, list) or not runtimes or any(r not in RUNTIMES for r in runtimes):
        raise InputError(f"{path}: key 'runtimes' must be a list drawn from {list(RUNTIMES)}, got {runtimes!r}")

    return Recipe(
        name=path.stem,
        path=path,
        description=str(data.get("description", "")),
        model=types.MappingProxyType(dict(model)),
        sweep=tuple(sweep),
        variants=tuple(types.MappingProxyType(dict(v)) for v in variants),
        quantize=quantize,
        runtimes=tuple(runtimes),
        eval=evaluation,
    )


def load_target(name_or_path: str, folder: Path | None = None) -> Target:
    """A target by name (see `catalog` for where names are looked up) or by path."""
    path = _resolve(name_or_path, folder, "targets")
    data = _read_toml(path)
    sections = {
        "measure": MeasureConfig,
        "energy": EnergyConfig,
        "runtimes": RuntimesConfig,
        "ssh": SshConfig,
        "adb": AdbConfig,
        "mcu": McuConfig,
    }
    for secret in ("password", "passphrase"):
        if _mentions(data, secret):
            raise InputError(
                f"{path}: '{secret}' is not accepted in a target file; use an SSH key "
                "(ssh-copy-id, then ~/.ssh/config or ssh.identity_file) or an ssh-agent"
            )
    top = {k: v for k, v in data.items() if k not in sections}
    kwargs = table_to_dataclass(Target, top, path, "", skip=("name", "path", *sections))
    kwargs.setdefault("description", "")
    for key in ("kind", "threads"):
        if key not in kwargs:
            raise InputError(f"{path}: key '{key}' is required")
    if kwargs["kind"] not in TARGET_KINDS:
        raise InputError(f"{path}: key 'kind' must be one of {list(TARGET_KINDS)}, got {kwargs['kind']!r}")
    _positive(path, "threads", kwargs["threads"])
    for section, cls in sections.items():
        if section in data:
            kwargs[section] = cls(**_parse_section(cls, data[section], path, section))
    if kwargs["kind"] in ("ssh", "adb", "mcu") and kwargs["kind"] not in kwargs:
        raise InputError(f"{path}: kind = '{kwargs['kind']}' needs a [{kwargs['kind']}] table")
    if kwargs["kind"] == "ssh" and not kwargs["ssh"].host:
        raise InputError(f"{path}: key 'ssh.host' is required (an address or a ~/.ssh/config alias)")
    target = Target(name=path.stem, path=path, **kwargs)
    _check_meter(path, target.energy)
    from .device.runtimes import APIS

    for runtime, apis in APIS.items():
        if target.runtimes.api(runtime) not in apis:
            raise InputError(
                f"{path}: key 'runtimes.{runtime}' must be one of {list(apis)}, got {target.runtimes.api(runtime)!r}"
            )
    _check_measure(path, target.measure)
    if target.measure.cores and target.threads > len(target.measure.cores):
        raise InputError(
            f"{path}: key 'measure.cores' pins {len(target.measure.cores)} core(s) but threads = {target.threads}; "
            f"pin at least {target.threads} cores or lower threads"
        )
    if target.threads > MAX_THREADS:
        raise InputError(
            f"{path}: key 'threads' = {target.threads} is more than any board has cores; "
            f"set threads to the cores to measure on (at most {MAX_THREADS})"
        )
    return target


# Above this a thread count is a typo; below it, the device itself says whether it has the cores
# (the runner asks it before measuring, and records the reason if not).
MAX_THREADS = 256


def _check_measure(path: Path, m: MeasureConfig) -> None:
    for key in ("warmup_secs", "min_secs", "energy_secs", "idle_secs", "round_precision", "retakes", "disturbed_cpu"):
        _positive(path, f"measure.{key}", getattr(m, key), allow_zero=True)
    for key in ("min_runs", "max_secs", "timeout_secs", "precision", "rounds_min", "max_secs_per_measurement"):
        _positive(path, f"measure.{key}", getattr(m, key))
    for key in ("precision", "round_precision"):
        value = getattr(m, key)
        if not math.isfinite(value) or value >= 1:
            raise InputError(f"{path}: key 'measure.{key}' must be a fraction below 1 (e.g. 0.02 for 2 %), got {value}")
    if m.cooldown_below_c is not None and not math.isfinite(m.cooldown_below_c):
        raise InputError(
            f"{path}: key 'measure.cooldown_below_c' must be a temperature in °C, got {m.cooldown_below_c}"
        )
    if not math.isfinite(m.confidence) or not 0 < m.confidence < 1:
        raise InputError(f"{path}: key 'measure.confidence' must be between 0 and 1 (e.g. 0.95), got {m.confidence}")
    if m.rounds_max < m.rounds_min:
        raise InputError(
            f"{path}: key 'measure.rounds_max' ({m.rounds_max}) must be >= 'measure.rounds_min' ({m.rounds_min})"
        )


def _check_meter(path: Path, energy: EnergyConfig) -> None:
    """The meter and its options are checked here, on the host, before anything reaches a device."""
    from .device.power import METER_OPTIONS

    if energy.meter == "none":
        return
    if energy.meter not in METER_OPTIONS:
        raise InputError(
            f"{path}: key 'energy.meter' = '{energy.meter}' is unknown (known: none, {', '.join(sorted(METER_OPTIONS))})"
        )
    unknown = sorted(set(energy.options) - METER_OPTIONS[energy.meter])
    if unknown:
        known = ", ".join(sorted(METER_OPTIONS[energy.meter])) or "none"
        raise InputError(
            f"{path}: key 'energy.options.{unknown[0]}' is not an option of meter '{energy.meter}' (known: {known})"
        )
    _positive(path, "energy.period_secs", energy.period_secs)


def _parse_section(cls: type, table: Any, path: Path, section: str) -> dict[str, Any]:
    if cls is McuConfig and isinstance(table, dict):
        # Budgets are written as a datasheet writes them: "1 MiB", "512 kB", "480 MHz".
        from .units import parse_bytes, parse_hz

        table = dict(table)
        for key in ("sram_bytes", "flash_bytes"):
            if key in table:
                table[key] = parse_bytes(table[key], f"{path}: key '{section}.{key}'")
        if "clock_hz" in table:
            table["clock_hz"] = parse_hz(table["clock_hz"], f"{path}: key '{section}.clock_hz'")
    if cls is MeasureConfig and isinstance(table, dict) and "cores" in table:
        table = {**table, "cores": list(_cores(table["cores"], path, f"{section}.cores"))}
    kwargs = table_to_dataclass(cls, table, path, section)
    if "options" in kwargs and isinstance(kwargs["options"], dict):
        kwargs["options"] = types.MappingProxyType(kwargs["options"])
    return kwargs


def _cores(value: Any, path: Path, where: str) -> tuple[int, ...]:
    from .device.affinity import cores_from_value

    try:
        return cores_from_value(value)
    except ValueError as e:
        raise InputError(f"{path}: key '{where}' {e}") from None


def _mentions(data: Any, word: str) -> bool:
    if isinstance(data, dict):
        return any(word in str(k).lower() or _mentions(v, word) for k, v in data.items())
    if isinstance(data, list):
        return any(_mentions(v, word) for v in data)
    return False
