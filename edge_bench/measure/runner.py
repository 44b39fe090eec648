"""Artifacts x targets -> result records, measured in rounds. A failure is a record, never the end of a sweep.

Everything is built before anything is measured, so the host's conversions never disturb a host
measurement. Then each target gets one worker thread (two devices measure at once; one device never
runs two measurements at once) that measures its jobs in rounds: round 1 of every job, then round 2 of
every job still uncertain, and so on, so slow drift (heat, background load) spreads over all variants
instead of landing on one. A job stops when its median is known to the target precision (or runs out
of rounds or device time, and is flagged). Every round is appended to rounds.jsonl as it is taken; a
job's record is appended to results.jsonl when it is done, and only then does the job count as done.

With a baseline to measure alongside (`alongside.py`), each job has a twin with the baseline's artifact,
measured in the same passes (the rotation alternates which goes first) and recorded in a results
directory of its own, so the run's results hold only its own artifacts.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Sequence, TypeVar

from ..build import Builder, one_line
from ..config import Recipe, Target
from ..progress import NoProgress, Progress
from ..recipes import Variant
from ..results import Identity, Record, ResultStore, ResultWriteError, RoundLine, new_run_id
from ..transport import device_python
from .alongside import ALONGSIDE, alongside_jobs
from .job import Job, base_record, build_jobs, identity, identity_json, mcu_identity
from .precision import StopRule
from .rounds import Measurement
from .schedule import Schedule, pass_order
from .spec import cores_problem, measurement_spec, stop_rule
from .summary import RunSummary


T = TypeVar("T")
Sided = list[tuple[str, T]]  # records or rounds of an earlier run, with the side (Job.side) they belong to


class Runner:
    def __init__(
        self,
        recipe: Recipe,
        variants: Sequence[Variant],
        runtimes: Sequence[str],
        targets: Sequence[Target],
        store: ResultStore,
        resume: bool = False,
        builder: Builder | None = None,
        progress: Progress | None = None,
        evaluator=None,
        spec_extra: Callable[[Job], dict[str, Any]] | None = None,
        alongside: Sequence[Record] = (),
        alongside_store: ResultStore | None = None,
    ):
        self.recipe = recipe
        self.variants = list(variants)
        self.runtimes = list(runtimes)
        self.targets = list(targets)
        self.store = store
        self.resume = resume
        self.builder = builder or Builder(recipe)
        self.progress = progress or NoProgress()
        self.evaluator = evaluator  # edge_bench.accuracy.evaluator.Evaluator, or None to skip fidelity/accuracy
        self.spec_extra = spec_extra  # per job, keys added to the agent's spec (a benchmark's injected slowdown)
        self.alongside = list(alongside)  # a baseline's records: their artifacts are measured alongside
        self.stores = {"": store}
        if alongside_store is not None:
            self.stores[ALONGSIDE] = alongside_store
        self.run_id = new_run_id()
        self.summary = RunSummary()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()  # set when results can no longer be written: every target stops
        self._fatal: ResultWriteError | None = None
        self._finished: set[tuple[str, tuple[str, str, str, str]]] = set()  # (side, key) whose record is written
        self.devices: dict[str, dict[str, Any]] = {}  # per target: what the device said about itself

    # ------------------------------------------------------------ writing

    def _append(self, record: Record, side: str) -> None:
        with self._write_lock:
            self.stores[side].append(record)
        self.summary.count(record, side)

    def _append_round(self, line: RoundLine, side: str) -> None:
        with self._write_lock:
            self.stores[side].append_round(line)

    # ------------------------------------------------------------ build

    def build_jobs(self) -> list[Job]:
        """Every (variant, runtime) artifact, evaluated, and the twins measured alongside."""
        jobs = build_jobs(self.variants, self.runtimes, self.targets, self.builder, self.progress, self.evaluator)
        if ALONGSIDE in self.stores:
            twins, notices = alongside_jobs(jobs, self.alongside, self.builder.cache)
            for notice in notices:
                self.summary.notice(notice)
            jobs += twins
        return jobs

    # ------------------------------------------------------------ measure

    def run(self) -> RunSummary:
        jobs = self.build_jobs()
        previous = [(side, r) for side, store in self.stores.items() for r in store.records()] if self.resume else []
        rounds = [(side, r) for side, store in self.stores.items() for r in store.rounds()] if self.resume else []
        workers = [
            threading.Thread(target=self._measure_target, args=(t, jobs, previous, rounds), name=t.name)
            for t in self.targets
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.progress.close()
        if self._fatal is not None:
            raise self._fatal
        return self.summary

    def _measure_target(
        self, target: Target, jobs: list[Job], previous: Sided[Record], rounds: Sided[RoundLine]
    ) -> None:
        try:
            if target.kind == "mcu":
                own = [job for job in jobs if not job.side]  # a program size is not a timing to pair
                todo = self._not_done(target, own, previous, lambda job: mcu_identity(self.recipe.name, job, target))
                for job in todo:
                    self._append(self._check_mcu(target, job), job.side)
                return
            self._measure_remote(target, jobs, previous, rounds)
        except ResultWriteError as e:
            self._fatal = self._fatal or e
            self._stop.set()

    def _not_done(
        self, target: Target, jobs: list[Job], previous: Sided[Record], identity_of: Callable[[Job], Identity]
    ) -> list[Job]:
        """The jobs to measure: with --resume, those without an ok record of the same identity (saying why
        one is measured again)."""
        latest = {(side, r.key): r for side, r in previous if r.ok}
        todo = []
        for job in jobs:
            before = latest.get((job.side, job.key(self.recipe.name, target.name)))
            if before is None:
                todo.append(job)
                continue
            now = identity_of(job)
            changes = now.differences(before.identity)
            if not changes:
                with self.summary.lock:
                    self.summary.skipped += 1
                continue
            self.summary.notice(
                f"{job.variant.name} {job.runtime} on {target.name}: measuring again ({'; '.join(changes)})"
            )
            todo.append(job)
        return todo

    def _measure_remote(
        self, target: Target, jobs: list[Job], previous: Sided[Record], rounds: Sided[RoundLine]
    ) -> None:
        """Measure the target's jobs over a session; a session lost mid-sweep fails the round in flight and a
        fresh one takes the rest; when none opens, the loss is the reason the rest fail."""
        from ..transport import TransportError, open_transport

        measurements: list[Measurement] | None = None  # known once the device said which runtimes it has
        lost: str | None = None
        opened = False
        while True:
            try:
                with open_transport(target) as session:
                    opened = True
                    agent = self._push_agent(session) if self._agent_runs_on(session, target) else None
                    if measurements is None:
                        device = self._device_info(session, target, agent)
                        self.devices[target.name] = device
                        pending = self._not_done(
                            target, jobs, previous, lambda job: identity(self.recipe.name, job, target, device)
                        )
                        cores = (device.get("env") or {}).get("cores_usable")
                        if isinstance(cores, int) and target.threads > cores:
                            self._fail_all(
                                target,
                                pending,
                                f"{target.path}: threads = {target.threads} but the device "
                                f"has {cores} usable cores; set threads to at most {cores}",
                            )
                            return
                        if problem := cores_problem(target, device):
                            self._fail_all(target, pending, problem)
                            return
                        measurements = self._measurements(target, pending, device, rounds)
                    self._measure_in_rounds(session, target, agent, measurements)
                return
            except TransportError as e:
                if opened and lost is None and measurements is not None:
                    lost, opened = str(e), False
                    continue  # one fresh session for the rest
                if lost is not None:
                    reason = f"target {target.name} connection lost: {lost} (reconnecting: {e})"
                else:
                    reason = f"target {target.name} {'connection lost' if opened else 'unreachable'}: {e}"
                self._keep_what_was_measured(target, measurements, reason)
                self._fail_all(target, self._unfinished(target, jobs, measurements, previous), reason)
                return
            except ResultWriteError:
                raise
            except Exception as e:  # noqa: BLE001 - a defect must not drop the jobs silently
                self._fail_all(
                    target,
                    self._unfinished(target, jobs, measurements, previous),
                    f"measurement on {target.name} failed: {one_line(e)}",
                )
                return

    def _keep_what_was_measured(self, target: Target, measurements: list[Measurement] | None, reason: str) -> None:
        """Measurements cut short with rounds already taken are recorded with those (flagged not precise)."""
        for m in measurements or []:
            if not m.done and any(r.kept for r in m.rounds):
                m.notes.append(f"stopped after {len(m.rounds)} round(s): {reason}")
                self._complete(m, target, stop_rule(target))

    def _unfinished(
        self, target: Target, jobs: list[Job], measurements: list[Measurement] | None, previous: Sided[Record]
    ) -> list[Job]:
        """The jobs still owed a record; before the device answered, all but those a resumed run has ok already."""
        if measurements is None:
            done = {(side, r.key) for side, r in previous if r.ok}
            pending = [j for j in jobs if (j.side, j.key(self.recipe.name, target.name)) not in done]
        else:
            pending = [m.job for m in measurements]
        return [j for j in pending if not self._recorded(j, target)]

    def _recorded(self, job: Job, target: Target) -> bool:
        return (job.side, job.key(self.recipe.name, target.name)) in self._finished

    def _finish(self, record: Record, side: str) -> None:
        self._append(record, side)  # written first: only then does the job count as done
        self._finished.add((side, record.key))

    def _fail_all(self, target: Target, jobs: list[Job], reason: str) -> None:
        for job in jobs:
            record = base_record(self.run_id, self.recipe, job, target)
            record.error = reason
            self._finish(record, job.side)

    def _device_info(self, session, target: Target, agent: str | None) -> dict[str, Any]:
        """What the device says about itself (runtime versions for the identity, cores for the threads check)."""
        if agent is None:
            return {}
        from ..transport.agent import call_agent

        info = call_agent(session, [device_python(target), agent, "sysinfo"], 120)
        return info if "env" in info else {}

    def _measurements(
        self, target: Target, jobs: list[Job], device: dict[str, Any], earlier: Sided[RoundLine]
    ) -> list[Measurement]:
        """A measurement per job, with the rounds an interrupted run already took of that very measurement."""
        measurements = []
        for job in jobs:
            job_identity = identity(self.recipe.name, job, target, device)
            m = Measurement(job, job_identity)
            key = list(job.key(self.recipe.name, target.name))
            for side, line in earlier:
                if (
                    side == job.side
                    and line.key == key
                    and line.identity == identity_json(job_identity)
                    and line.result.get("status") == "ok"
                ):
                    m.add(line.result, line.seconds, line.run_id, target.measure.disturbed_cpu, False, line.started)
            if m.rounds:
                self.summary.notice(
                    f"{job.variant.name} {job.runtime} on {target.name}: {len(m.rounds)} round(s) "
                    "of an interrupted run reused"
                )
            measurements.append(m)
        return measurements

    def _measure_in_rounds(self, session, target: Target, agent: str | None, measurements: list[Measurement]) -> None:
        """Round after round over the measurements still uncertain, until each is done."""
        from ..transport import TransportError

        rule = stop_rule(target)
        for m in measurements:
            if not m.done and m.job.build.artifact is None:
                m.error = m.job.build.error
                self._complete(m, target, rule)
        pushed: dict[str, str] = {}
        schedule = Schedule(measurements, rule)

        pass_number = 0
        while not self._stop.is_set():
            active = [m for m in measurements if schedule.wants(m)]
            for m in measurements:
                if not m.done and m not in active:
                    self._complete(m, target, rule)
            if not active:
                return
            order = pass_order(active, pass_number)
            for n, m in enumerate(order, 1):
                if self._stop.is_set():
                    return
                self.progress.update(
                    f"measure on {target.name}, round {len(m.rounds) + 1}",
                    n,
                    len(order),
                    f"{m.job.variant.name} {m.job.runtime}",
                )
                try:
                    self._one_round(session, target, agent, m, rule, pushed)
                except TransportError as e:
                    if not _still_reachable(session):
                        m.error = f"target {target.name} connection lost: {e}"
                        self._complete(m, target, rule)
                        raise  # the session is gone: a fresh one takes the others
                    m.error = f"transport: {e}"
                except ResultWriteError:
                    raise
                except Exception as e:  # noqa: BLE001 - a defect fails this job only; the sweep goes on
                    m.error = f"measurement on {target.name} failed: {one_line(e)}"
                if not schedule.wants(m):
                    self._complete(m, target, rule)  # recorded as soon as it is known
            pass_number += 1

    def _complete(self, m: Measurement, target: Target, rule: StopRule) -> None:
        m.done = True
        self._finish(m.record(base_record(self.run_id, self.recipe, m.job, target), rule), m.job.side)

    def _one_round(
        self, session, target: Target, agent: str | None, m: Measurement, rule: StopRule, pushed: dict[str, str]
    ) -> None:
        artifact = m.job.build.artifact
        if artifact.sha256 not in pushed:
            pushed[artifact.sha256] = session.push(artifact.path, f"{artifact.sha256[:16]}{artifact.path.suffix}")
        spec = measurement_spec(target, pushed[artifact.sha256], m.job.runtime, with_energy=not m.rounds)
        if self.spec_extra is not None:
            spec.update(self.spec_extra(m.job))
        started, began = time.monotonic(), round(time.time(), 3)  # began: the host's clock, to pair rounds by
        if agent is None:  # a phone without Python: LiteRT's and ExecuTorch's own benchmark binaries
            from ..android.measure import measure_native

            result = measure_native(session, target, pushed[artifact.sha256], m.job.runtime, spec)
        else:
            from ..transport.agent import run_agent

            result = run_agent(session, device_python(target), agent, spec, target.measure.timeout_secs)
        seconds = time.monotonic() - started
        self._append_round(
            RoundLine(
                list(m.job.key(self.recipe.name, target.name)),
                identity_json(m.identity),
                self.run_id,
                len(m.rounds),
                round(seconds, 3),
                result,
                began,
            ),
            m.job.side,
        )
        if result.get("status") != "ok":
            m.error = result.get("error") or "the measurement failed without a reason"
            m.results.append(result)
            return
        left_out = sum(not r.kept for r in m.rounds)
        m.add(result, seconds, self.run_id, target.measure.disturbed_cpu, left_out >= rule.retakes, began)

    # ------------------------------------------------------------ microcontrollers

    def _check_mcu(self, target: Target, job: Job) -> Record:
        """A microcontroller is not measured: the record holds the fit check and a labelled estimate."""
        from ..mcu import NOT_MEASURED_REASON, mcu_record

        record = base_record(self.run_id, self.recipe, job, target)
        if job.build.artifact is None:
            record.error = job.build.error
            return record
        record.mcu = mcu_record(job.analytic or {}, job.build.artifact.path, target.mcu)
        if job.cortex_m and target.mcu.core in job.cortex_m:
            record.mcu["cortex_m_export"] = job.cortex_m[target.mcu.core]
        record.status = "ok"  # the check was done; not fitting is a result, not an error
        record.measurement_missing_reason = NOT_MEASURED_REASON
        record.energy_missing_reason = NOT_MEASURED_REASON
        return record

    @staticmethod
    def _agent_runs_on(session, target: Target) -> bool:
        if target.kind != "adb":
            return True
        from ..android.measure import has_python

        return has_python(session, device_python(target))

    def _push_agent(self, session) -> str:
        from ..transport.bundle import build_agent_zipapp

        bundle = build_agent_zipapp(self.builder.cache.root / "agent")
        return session.push(bundle, bundle.name)


def _still_reachable(session) -> bool:
    from ..transport import TransportError

    try:
        return session.exec(["true"], timeout=30).returncode == 0
    except TransportError:
        return False
