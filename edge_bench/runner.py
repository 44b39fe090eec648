"""Artifacts x targets -> result records. Resumable; a failure is a record, never the end of a sweep.

Everything is built before anything is measured, so the host's conversions never disturb a host
measurement. Then each target gets one worker thread, so two devices measure at once but one device
never runs two measurements at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .build import BuildOutcome, Builder, one_line
from .config import Recipe, Target
from .progress import NoProgress, Progress
from .transport import device_python
from .recipes import Variant
from .results import ResultStore, empty_record, new_run_id



@dataclass
class RunSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, record: dict[str, Any]) -> None:
        with self.lock:
            if record["status"] == "ok":
                self.ok += 1
            else:
                self.failed += 1
                self.failures.append(f"{record['variant']['name']} {record['runtime']} on {record['target']}: {record['error']}")


@dataclass(frozen=True)
class Job:
    """One thing to measure: a variant's artifact for one runtime (or why it has none)."""

    variant: Variant
    runtime: str
    analytic: dict[str, Any] | None
    analytic_error: str | None
    build: BuildOutcome
    accuracy: dict[str, Any] | None = None  # fidelity to FP32 and, with a dataset, accuracy (on the host)
    cortex_m: dict[str, dict[str, Any]] | None = None  # per Cortex-M core of the mcu targets: the CMSIS-NN program


def measurement_spec(target: Target, artifact_path: str, runtime: str) -> dict[str, Any]:
    m = target.measure
    spec = {
        "artifact": artifact_path, "runtime": runtime, "threads": target.threads,
        "warmup_runs": m.warmup_runs, "warmup_secs": m.warmup_secs, "min_runs": m.min_runs,
        "min_secs": m.min_secs, "max_secs": m.max_secs,
        "cooldown_below_c": m.cooldown_below_c, "cooldown_max_secs": m.cooldown_max_secs,
        "energy": None,
    }
    if target.energy.meter != "none":
        spec["energy"] = {"meter": target.energy.meter, "options": dict(target.energy.options),
                          "period_secs": target.energy.period_secs, "idle_secs": m.idle_secs,
                          "duration_secs": m.energy_secs}
    return spec


# Read from the artifact's bytes at build time (build.artifact_memory_info), carried into `analytic`.
ARTIFACT_FIELDS = ("planned_io_only", "planned_io_bytes", "arena_bytes", "deployed_activation_bytes",
                   "deployed_activation_op", "precision")
PRECISION_FIELDS = ("int8_macs_pct", "int8_ops_pct", "convert_ops", "fully_int8")  # flat, for tables


def base_record(run_id: str, recipe: Recipe, job: Job, target: Target) -> dict[str, Any]:
    analytic = dict(job.analytic) if job.analytic else None
    artifact = job.build.artifact
    planned = None
    if artifact is not None:
        planned = artifact.manifest.get("planned_bytes")
        analytic = {**(analytic or {}), "artifact_bytes": artifact.bytes, "planned_bytes": planned,
                    "planned_source": artifact.manifest.get("planned_source"),
                    "delegation": artifact.manifest.get("delegation"),
                    **{key: artifact.manifest.get(key) for key in ARTIFACT_FIELDS}}
        precision = artifact.manifest.get("precision") or {}
        analytic.update({key: precision.get(key) for key in PRECISION_FIELDS})
    record = empty_record(
        run_id=run_id, recipe=recipe.name, variant=job.variant.record(), runtime=job.runtime, target=target.name,
        artifact=artifact.record() if artifact else None, analytic=analytic,
        memory={"peak_rss_bytes": None, "baseline_rss_bytes": None, "model_rss_bytes": None, "planned_bytes": planned},
    )
    record["build"] = {"seconds": round(job.build.seconds, 2), "cached": job.build.cached}
    record["accuracy"] = job.accuracy
    if artifact is not None:
        record["weights"] = artifact.manifest.get("weights")
    if job.analytic_error:
        record["analytic_error"] = job.analytic_error
    return record


def apply_measurement(record: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Copy the agent's JSON into the record's schema."""
    from .device.thermal import throttle_changed

    record["status"] = result.get("status", "failed")
    record["error"] = result.get("error")
    record["latency_ms"] = result.get("latency_ms")
    record["first_inference_ms"] = result.get("first_inference_ms")
    record["load_ms"] = result.get("load_ms")
    memory = result.get("memory") or {}
    record["memory"] = {**record["memory"], **{k: v for k, v in memory.items() if k != "missing_reason"}}
    if memory.get("missing_reason"):
        record["memory"]["missing_reason"] = memory["missing_reason"]
    energy = result.get("energy")
    if energy and energy.get("mj_per_inference") is not None:
        record["energy"] = energy
    else:
        record["energy"] = None
        record["energy_missing_reason"] = (energy or {}).get("missing_reason") or result.get("energy_missing_reason")
    env = dict(result.get("env") or {})
    for key in ("thermal_before", "thermal_after", "cooldown", "import_ms", "prepare_ms", "warmup_runs"):
        if key in result:
            env[key] = result[key]
    record["env"] = env
    before, after = result.get("thermal_before"), result.get("thermal_after")
    record["throttle_changed"] = bool(before and after and throttle_changed(before, after))
    return record


class Runner:
    def __init__(self, recipe: Recipe, variants: Sequence[Variant], runtimes: Sequence[str],
                 targets: Sequence[Target], out_dir: Path, resume: bool = False,
                 builder: Builder | None = None, progress: Progress | None = None, evaluator=None):
        self.recipe = recipe
        self.variants = list(variants)
        self.runtimes = list(runtimes)
        self.targets = list(targets)
        self.store = ResultStore(out_dir)
        self.resume = resume
        self.builder = builder or Builder(recipe)
        self.progress = progress or NoProgress()
        self.evaluator = evaluator  # edge_bench.accuracy.evaluator.Evaluator, or None to skip fidelity/accuracy
        self.run_id = new_run_id()
        self.summary = RunSummary()
        self._append_lock = threading.Lock()

    def _done(self) -> set[tuple[str, str, str, str]]:
        return self.store.done_keys() if self.resume else set()

    def _append(self, record: dict[str, Any]) -> None:
        with self._append_lock:
            self.store.append(record)
        self.summary.count(record)

    # ------------------------------------------------------------ build

    def build_jobs(self, done: set) -> dict[str, list[Job]]:
        """Per target, the jobs it still needs (resume skips measurements already ok)."""
        per_target: dict[str, list[Job]] = {t.name: [] for t in self.targets}

        def todo(variant: Variant, runtime: str, target: Target) -> bool:
            return (self.recipe.name, variant.name, runtime, target.name) not in done

        self.summary.skipped = sum(not todo(v, r, t) for v in self.variants for r in self.runtimes for t in self.targets)
        cores = sorted({t.mcu.core for t in self.targets if t.kind == "mcu" and t.mcu.core})
        for n, variant in enumerate(self.variants, 1):
            runtimes = [r for r in self.runtimes if any(todo(variant, r, t) for t in self.targets)]
            if not runtimes:
                continue
            memo: dict = {}
            analytic, analytic_error = None, None
            self.progress.update("build", n, len(self.variants), f"{variant.name} analytic")
            try:
                analytic = self.builder.analytic(variant, memo)
            except Exception as e:  # noqa: BLE001 - the artifact may still build and run
                analytic_error = f"analytic model failed: {one_line(e)}"
            cortex_m = None
            if cores:
                self.progress.update("build", n, len(self.variants), f"{variant.name} cortex-m")
                cortex_m = {core: self.builder.cortex_m(variant, core, memo) for core in cores}
            for runtime in runtimes:
                self.progress.update("build", n, len(self.variants), f"{variant.name} {runtime}")
                outcome = self.builder.artifact(variant, runtime, memo)
                accuracy = None
                if outcome.artifact is not None and self.evaluator is not None:
                    self.progress.update("evaluate", n, len(self.variants), f"{variant.name} {runtime}")
                    accuracy = self.evaluator.evaluate(variant, runtime, outcome.artifact,
                                                       lambda: self.builder.model(variant, memo))
                job = Job(variant, runtime, analytic, analytic_error, outcome, accuracy, cortex_m)
                for target in self.targets:
                    if todo(variant, runtime, target):
                        per_target[target.name].append(job)
        return per_target

    # ------------------------------------------------------------ measure

    def run(self) -> RunSummary:
        done = self._done()
        per_target = self.build_jobs(done)
        workers = [threading.Thread(target=self._measure_target, args=(t, per_target[t.name]), name=t.name)
                   for t in self.targets]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.progress.close()
        return self.summary

    def _measure_target(self, target: Target, jobs: list[Job]) -> None:
        if not jobs:
            return
        if target.kind == "mcu":
            for job in jobs:
                self._append(self._check_mcu(target, job))
            return
        from .transport import TransportError, open_transport

        pending = list(jobs)
        while pending:
            opened = False
            try:
                with open_transport(target) as session:
                    opened = True
                    agent = self._push_agent(session) if self._agent_runs_on(session, target) else None
                    while pending:
                        n = len(jobs) - len(pending) + 1
                        record = self._measure_one(session, target, agent, pending[0], n, len(jobs))
                        pending.pop(0)
                        self._append(record)
            except TransportError as e:
                # Lost mid-job: that job fails and a fresh session takes the rest. Unreachable: all fail.
                state = "connection lost" if opened else "unreachable"
                self._fail(target, pending, f"target {target.name} {state}: {e}", all_of_them=not opened)
            except Exception as e:  # noqa: BLE001 - a defect must not drop the jobs silently
                self._fail(target, pending, f"measurement on {target.name} failed: {one_line(e)}", all_of_them=not opened)

    def _fail(self, target: Target, pending: list[Job], reason: str, all_of_them: bool) -> None:
        """Record the first pending job (or all of them) as failed with `reason`, removing them from `pending`."""
        failing = pending[:] if all_of_them else pending[:1]
        del pending[: len(failing)]
        for job in failing:
            record = base_record(self.run_id, self.recipe, job, target)
            record["error"] = reason
            self._append(record)

    def _check_mcu(self, target: Target, job: Job) -> dict[str, Any]:
        """A microcontroller is not measured: the record holds the fit check and a labelled estimate."""
        from .mcu import NOT_MEASURED_REASON, mcu_record

        record = base_record(self.run_id, self.recipe, job, target)
        if job.build.artifact is None:
            record["error"] = job.build.error
            return record
        record["mcu"] = mcu_record(job.analytic or {}, job.build.artifact.path, target.mcu)
        if job.cortex_m and target.mcu.core in job.cortex_m:
            record["mcu"]["cortex_m_export"] = job.cortex_m[target.mcu.core]
        record["status"] = "ok"  # the check was done; not fitting is a result, not an error
        record["measurement_missing_reason"] = NOT_MEASURED_REASON
        record["energy_missing_reason"] = NOT_MEASURED_REASON
        return record

    @staticmethod
    def _agent_runs_on(session, target: Target) -> bool:
        if target.kind != "adb":
            return True
        from .android.measure import has_python

        return has_python(session, device_python(target))

    def _push_agent(self, session) -> str:
        from .transport.bundle import build_agent_zipapp

        bundle = build_agent_zipapp(self.builder.cache.root / "agent")
        return session.push(bundle, bundle.name)

    def _measure_one(self, session, target: Target, agent: str | None, job: Job, n: int, total: int) -> dict[str, Any]:
        from .transport import TransportError

        record = base_record(self.run_id, self.recipe, job, target)
        if job.build.artifact is None:
            record["error"] = job.build.error
            return record
        self.progress.update(f"measure on {target.name}", n, total, f"{job.variant.name} {job.runtime}")
        artifact = job.build.artifact
        try:
            device_path = session.push(artifact.path, f"{artifact.sha256[:16]}{artifact.path.suffix}")
            spec = measurement_spec(target, device_path, job.runtime)
            if agent is None:  # a phone without Python: LiteRT's and ExecuTorch's own benchmark binaries
                from .android.measure import measure_native

                result = measure_native(session, target, device_path, job.runtime, spec)
            else:
                from .transport.agent import run_agent

                result = run_agent(session, device_python(target), agent, spec, target.measure.timeout_secs)
        except TransportError as e:
            if not _still_reachable(session):
                raise
            result = {"status": "failed", "error": f"transport: {e}"}
        return apply_measurement(record, result)


def _still_reachable(session) -> bool:
    from .transport import TransportError

    try:
        return session.exec(["true"], timeout=30).returncode == 0
    except TransportError:
        return False
