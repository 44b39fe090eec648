"""The result record, defined once: what one measurement of one artifact on one target holds.

Every path that produces results (the runner from the agent's rounds, the native Android tools, the
microcontroller fit check, a job that failed before anything ran) fills a `Record`; the store writes
`Record.to_json()`, readers get `Record.from_json()` back (after `schema.upgrade`), and the flat table
of the report is `Record.flat()`, whose column names are declared here and nowhere else.

Open-ended parts stay mappings with documented keys: the variant's fields (they depend on the
architecture), the analytic model, the accuracy scalars, the device's environment and the
microcontroller check. The measured parts are typed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from .schema import SCHEMA_VERSION


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ArtifactRef:
    """What was measured: the artifact's content hash, size, cache key and path on the host."""

    sha256: str
    bytes: int
    key: str | None = None
    path: str | None = None


@dataclass
class Round:
    """One fresh measuring process on the device: its timed samples and the state of the machine."""

    index: int
    samples: list[float]
    median: float
    seconds: float | None = None  # device time of the whole process (imports and load included), host clock
    kept: bool = True  # False: disturbed or throttled, retaken, left out of the estimate
    disturbed: bool = False  # other processes used more CPU than the target allows while it was timed
    throttle_changed: bool = False
    others_cpu: float | None = None  # other processes' CPU use while timed, in cores (None: not readable)
    load_before: list[float] | None = None  # /proc/loadavg (1, 5, 15 min) before and after the process
    load_after: list[float] | None = None
    run_id: str | None = None  # the run that took it (a resumed measurement keeps earlier runs' rounds)
    note: str | None = None
    summary: dict[str, Any] | None = None  # the tool's own statistics where it gives no raw samples (native tools)
    started: float | None = None  # host clock (unix seconds) when the round began: pairs rounds taken side by side
    governor: str | None = None  # cpufreq governor(s) of the round's cores, read before it (None: not readable)


# What a measurement's interval covers: the spread between the rounds of the run that took them. How far
# whole runs drift apart (another boot, another day, the board warmer) is not in it.
WITHIN_RUN = "within this run"


@dataclass
class Precision:
    """How well the median is known: a confidence interval over the rounds, and what it cost."""

    method: str
    confidence: float
    low_ms: float | None
    high_ms: float | None
    half_width: float | None  # relative: (high - low) / 2 / median
    target: float | None  # the half-width asked for
    reached: bool  # half_width <= target with at least the minimum number of rounds
    rounds: int  # kept rounds the interval stands on
    rounds_left_out: int  # disturbed or throttled rounds, retaken
    device_seconds: float | None  # device time of every round of this measurement
    note: str | None = None
    scope: str = WITHIN_RUN  # the spread the interval counts (records before this field meant the same)


@dataclass
class Latency:
    """Latency statistics over the kept rounds' samples (ms); `median` is the estimate the interval is about."""

    median: float
    mean: float | None
    p90: float | None
    p99: float | None
    std: float | None
    min: float | None
    max: float | None
    n: int
    rounds: list[Round] = field(default_factory=list)
    precision: Precision | None = None

    @property
    def samples(self) -> list[float]:
        """Every sample of the kept rounds."""
        return [s for r in self.rounds if r.kept for s in r.samples]

    @property
    def round_medians(self) -> list[float]:
        return [r.median for r in self.rounds if r.kept]


@dataclass
class Memory:
    """Resident memory of the measuring process: peak, after imports (baseline) and their difference."""

    peak_rss_bytes: int | None = None
    baseline_rss_bytes: int | None = None
    model_rss_bytes: int | None = None
    phases: dict[str, Any] = field(default_factory=dict)
    peak_method: str | None = None
    missing_reason: str | None = None


@dataclass
class Energy:
    """Energy per inference from the separate energy pass, with the meter that produced it."""

    mj_per_inference: float
    avg_power_w: float | None = None
    idle_power_w: float | None = None
    meter: str | None = None
    period_secs: float | None = None
    details: dict[str, Any] = field(default_factory=dict)  # the pass's other figures (inferences, samples, ...)


@dataclass
class Record:
    recipe: str
    variant: dict[str, Any]  # name, arch, resolution, width and every swept field
    runtime: str
    target: str
    status: str = "failed"
    error: str | None = None
    run_id: str | None = None
    measured_at: str = field(default_factory=_now)
    artifact: ArtifactRef | None = None
    latency: Latency | None = None
    first_inference_ms: float | None = None
    load_ms: float | None = None
    memory: Memory | None = None
    energy: Energy | None = None
    energy_missing_reason: str | None = None
    measurement_missing_reason: str | None = None
    analytic: dict[str, Any] | None = None
    analytic_error: str | None = None
    accuracy: dict[str, Any] | None = None
    env: dict[str, Any] = field(default_factory=dict)
    build: dict[str, Any] | None = None
    weights: dict[str, Any] | None = None
    mcu: dict[str, Any] | None = None
    throttle_changed: bool | None = None
    emulated: bool = False  # measured on an emulated board: timings of the emulator, never fitted or ranked
    notes: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------ identity

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(recipe, variant, runtime, target): which measurement of a sweep this is."""
        return (self.recipe, str(self.variant.get("name")), self.runtime, self.target)

    @property
    def identity(self) -> Identity:
        """What decides the number: the same identity measures the same thing."""
        found = self.env.get("runtime")
        runtime: dict[str, Any] = found if isinstance(found, dict) else {}
        return Identity(
            recipe=self.recipe,
            variant=str(self.variant.get("name")),
            runtime=self.runtime,
            target=self.target,
            artifact_sha256=self.artifact.sha256 if self.artifact else None,
            runtime_version=runtime.get("version"),
            threads=self.env.get("threads"),
            runner=runtime.get("api"),
            cores=_pinned(self.env.get("cores")),
        )

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    # ------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["latency_ms"] = out.pop("latency")
        return _finite(out, self.notes, "")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Record":
        """A record from its (upgraded) JSON object; KeyError/TypeError/ValueError when it is not one."""
        data = dict(data)
        for key in ("recipe", "variant", "runtime", "target", "status"):
            if key not in data:
                raise KeyError(key)
        if not isinstance(data["variant"], dict) or "name" not in data["variant"]:
            raise ValueError("'variant' must be an object with a 'name'")
        known = {f.name for f in fields(cls)} | {"latency_ms"}
        extra = {k: data.pop(k) for k in list(data) if k not in known}
        latency = data.pop("latency_ms", None)
        record = cls(**{k: v for k, v in data.items()})
        record.latency = _latency(latency) if latency else None
        record.artifact = (
            ArtifactRef(**_only(ArtifactRef, record.artifact)) if isinstance(record.artifact, dict) else None
        )
        record.memory = Memory(**_only(Memory, record.memory)) if isinstance(record.memory, dict) else None
        record.energy = _energy(record.energy) if isinstance(record.energy, dict) else None
        record.env = dict(record.env or {})
        record.notes = list(record.notes or [])
        if extra:
            record.notes.append("fields this version does not know were dropped: " + ", ".join(sorted(extra)))
        return record

    # ------------------------------------------------------------ table

    def flat(self) -> dict[str, Any]:
        """One row of the results table: the declared columns, then every variant field and accuracy scalar."""
        row = {name: get(self) for name, get in COLUMNS.items()}
        for key, value in self.variant.items():
            if key != "name" and key not in row:
                row[key] = value
        for part in (self.analytic, self.accuracy):
            for key, value in (part or {}).items():
                if not isinstance(value, (dict, list)) and key not in row:
                    row[key] = value
        return row


@dataclass(frozen=True)
class Identity:
    recipe: str
    variant: str
    runtime: str
    target: str
    artifact_sha256: str | None
    runtime_version: str | None
    threads: int | None
    runner: str | None = None  # the API that measured: native or python (ExecuTorch), interpreter or compiled_model
    cores: str | None = None  # the cores the measured process was pinned to ("1-3"); None: unpinned

    def differences(self, other: "Identity") -> list[str]:
        """What differs from `other`, in words ("artifact 3f2a1b -> 9c0d4e")."""
        out = []
        for name, label in (
            ("artifact_sha256", "artifact"),
            ("runtime_version", "runtime version"),
            ("threads", "threads"),
            ("runner", "API"),
            ("cores", "pinned cores"),
        ):
            mine, theirs = getattr(self, name), getattr(other, name)
            if name == "runner" and (mine is None or theirs is None):
                continue  # an older record that does not say which API measured
            if mine != theirs:
                show = (lambda v: str(v)[:12]) if name == "artifact_sha256" else str
                if name == "cores":
                    show = lambda v: "unpinned" if v is None else str(v)  # noqa: E731
                out.append(f"{label} {show(theirs)} -> {show(mine)}")
        return out


# ---------------------------------------------------------------- helpers


def _pinned(cores: Any) -> str | None:
    """The requested cores of a record's `env.cores` as a core list ("1-3"); None when unpinned or not said."""
    from ..device.affinity import format_cpu_list

    requested = cores.get("requested") if isinstance(cores, dict) else None
    return format_cpu_list(requested) if requested else None


def _only(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _latency(data: Mapping[str, Any]) -> Latency:
    rounds = [Round(**_only(Round, r)) for r in data.get("rounds") or []]
    precision = Precision(**_only(Precision, data["precision"])) if isinstance(data.get("precision"), dict) else None
    median = data.get("median")
    if not isinstance(median, (int, float)):
        raise ValueError(f"latency_ms holds no median ({median!r})")
    return Latency(
        median=float(median),
        mean=data.get("mean"),
        p90=data.get("p90"),
        p99=data.get("p99"),
        std=data.get("std"),
        min=data.get("min"),
        max=data.get("max"),
        n=data.get("n") or 0,
        rounds=rounds,
        precision=precision,
    )


def _energy(data: Mapping[str, Any]) -> Energy | None:
    if data.get("mj_per_inference") is None:
        return None
    core = _only(Energy, data)
    core.pop("details", None)
    details = dict(data.get("details") or {})
    details.update({k: v for k, v in data.items() if k not in core and k != "details"})
    return Energy(**core, details=details)


def _finite(value: Any, notes: list[str], path: str) -> Any:
    """NaN and infinities (which JSON cannot hold) become null, each named in `notes`."""
    if isinstance(value, float) and not math.isfinite(value):
        note = f"{path} was {value} on the device: stored as null"
        if note not in notes:
            notes.append(note)
        return None
    if isinstance(value, dict):
        cleaned = {k: _finite(v, notes, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if not path and "notes" in cleaned:
            cleaned["notes"] = list(notes)
        return cleaned
    if isinstance(value, (list, tuple)):
        return [_finite(v, notes, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _get(path: str) -> Callable[[Record], Any]:
    """A getter of a dotted attribute path that gives None where a part is missing."""
    parts = path.split(".")

    def get(record: Record) -> Any:
        value: Any = record
        for part in parts:
            if value is None:
                return None
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        return value

    return get


def _precision_flag(record: Record) -> str | None:
    precision = record.latency.precision if record.latency else None
    if precision is None:
        return None
    return "precise" if precision.reached else "imprecise"


# The flat table's columns: name -> getter. One namespace each, so nothing overwrites anything.
COLUMNS: dict[str, Callable[[Record], Any]] = {
    "run_id": _get("run_id"),
    "recipe": _get("recipe"),
    "runtime": _get("runtime"),
    "target": _get("target"),
    "status": _get("status"),
    "error": _get("error"),
    "variant": lambda r: r.variant.get("name"),
    **{f"latency_{k}_ms": _get(f"latency.{k}") for k in ("median", "mean", "p90", "p99", "std", "min", "max")},
    "latency_n": _get("latency.n"),
    "latency_rounds": lambda r: len(r.latency.round_medians) if r.latency else None,
    "latency_ci_low_ms": _get("latency.precision.low_ms"),
    "latency_ci_high_ms": _get("latency.precision.high_ms"),
    "latency_ci_half_width": _get("latency.precision.half_width"),
    "latency_precision": _precision_flag,
    "latency_ci_scope": _get("latency.precision.scope"),
    "device_seconds": _get("latency.precision.device_seconds"),
    "first_inference_ms": _get("first_inference_ms"),
    "load_ms": _get("load_ms"),
    "peak_rss_bytes": _get("memory.peak_rss_bytes"),
    "baseline_rss_bytes": _get("memory.baseline_rss_bytes"),
    "model_rss_bytes": _get("memory.model_rss_bytes"),
    "energy_mj": _get("energy.mj_per_inference"),
    "avg_power_w": _get("energy.avg_power_w"),
    "idle_power_w": _get("energy.idle_power_w"),
    "meter": _get("energy.meter"),
    "mcu_fits": _get("mcu.fit.fits"),
    "mcu_flash_need_bytes": _get("mcu.fit.flash.need_bytes"),
    "mcu_flash_margin_bytes": _get("mcu.fit.flash.margin_bytes"),
    "mcu_sram_need_bytes": _get("mcu.fit.sram.need_bytes"),
    "mcu_sram_margin_bytes": _get("mcu.fit.sram.margin_bytes"),
    "mcu_latency_estimate_ms": _get("mcu.latency_estimate.latency_ms"),
    "artifact_sha256": _get("artifact.sha256"),
    "artifact_bytes": _get("artifact.bytes"),
    "cpu_model": _get("env.cpu_model"),
    "threads": _get("env.threads"),
    "cores_allowed": _get("env.cores.allowed"),
    "cores_governor": _get("env.governor.governor"),
    "runtime_version": _get("env.runtime.version"),
    "runtime_api": _get("env.runtime.api"),
    "throttle_changed": _get("throttle_changed"),
    "emulated": _get("emulated"),
}
