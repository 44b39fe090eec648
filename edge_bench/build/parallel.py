"""Parallel builds: one task per variant (both runtimes, so its FP32 model is built once) in worker
processes, as many as `--jobs` asks for and the memory allows (`memory.plan_workers`).

Workers are spawned, not forked: a forked copy of a process that has started torch's thread pools can
deadlock. Every build runs on one torch thread (`one_torch_thread`, so artifact bytes do not depend on
the core count): `--jobs` is how a build uses more cores. Cached artifacts are looked up here first: a
fully cached sweep starts no worker.

A worker that dies (the OOM killer sends SIGKILL) breaks a ProcessPoolExecutor for every task still
pending; those tasks are then rebuilt one at a time, each in its own process, so the one that really
dies is named in its outcome and the others build normally.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import resource
import signal
import time
import types
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import reduction
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .builder import BuildOutcome, Builder, one_line
from .memory import DEFAULT_WEIGHT_COUNT, GIB, WorkerPlan, conversion_peak_bytes, mem_available_bytes, plan_workers
from ..config import Recipe
from ..errors import InputError
from ..export.cache import ArtifactCache
from ..progress import NoProgress, Progress
from ..recipes import Variant

log = logging.getLogger(__name__)


# Variants and recipes hold read-only mappings (MappingProxyType), which pickle refuses; a worker gets
# them back as read-only mappings. Registered for multiprocessing's pickler only, not globally.
def _mappingproxy(items: dict) -> types.MappingProxyType:
    return types.MappingProxyType(items)


def _reduce_mappingproxy(proxy: types.MappingProxyType) -> tuple:
    return _mappingproxy, (dict(proxy),)


reduction.register(types.MappingProxyType, _reduce_mappingproxy)


# ------------------------------------------------------------------ worker side


@dataclass(frozen=True)
class TaskResult:
    outcomes: list[BuildOutcome]
    peak_rss_bytes: int | None  # of this task alone where the kernel lets the peak be reset
    pid: int


def _peak_rss() -> int | None:
    """VmHWM of this process (since the last reset), or ru_maxrss where /proc is not there."""
    from ..device.memory import read_status

    try:
        return read_status().get("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _init_worker(
    archs: Mapping[str, Any], log_levels: Mapping[str, int], initializer: Callable[[], None] | None
) -> None:
    from ..models import ARCHS

    ARCHS.update(archs)  # archs registered at run time in the parent (plugins, tests) exist here too
    # A root level of NOTSET leaves the parent's handlers to filter; a worker has none of those.
    logging.basicConfig(level=log_levels.get("") or logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name, level in log_levels.items():
        if name:
            logging.getLogger(name).setLevel(level)
    if initializer is not None:
        initializer()


def _build_variant(recipe: Recipe, variant: Variant, runtimes: Sequence[str], cache_root: str) -> TaskResult:
    from ..device.memory import reset_peak

    # A worker builds several variants in turn: reset the peak so it is this task's own. Where the
    # kernel refuses, the figure is the worker's peak so far (an upper bound).
    reset_peak()
    builder = Builder(recipe, ArtifactCache(Path(cache_root)))
    memo: dict = {}
    outcomes = [builder.artifact(variant, runtime, memo) for runtime in runtimes]
    peak = _peak_rss()
    return TaskResult([dataclasses.replace(o, peak_rss_bytes=peak) for o in outcomes], peak, os.getpid())


def _isolated_main(conn, init_args: tuple, task_args: tuple) -> None:
    try:
        _init_worker(*init_args)
        conn.send(("ok", _build_variant(*task_args)))
    except BaseException as e:  # noqa: BLE001 - sent to the parent, which decides
        conn.send(("error", e if isinstance(e, InputError) else RuntimeError(one_line(e))))
    finally:
        conn.close()


def death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (the kernel's OOM killer sends SIGKILL when memory runs out)" if -exitcode == signal.SIGKILL else ""
        return f"build worker was killed by {name}{hint}"
    return f"build worker exited with status {exitcode} before returning a result"


# ------------------------------------------------------------------ parent side


def _log_levels() -> dict[str, int]:
    """The root level and every level set explicitly here (the CLI quiets torch, absl, ...)."""
    levels = {"": logging.getLogger().level}
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return levels


def _picklable_archs() -> dict[str, Any]:
    from ..models import ARCHS

    out = {}
    for name, arch in ARCHS.items():
        try:
            reduction.ForkingPickler.dumps(arch)
            out[name] = arch
        except Exception:  # noqa: BLE001 - e.g. a lambda `derive`: the worker keeps its own entry
            log.debug("arch %s cannot be sent to build workers", name)
    return out


def _weight_count(variant: Variant, builder: Builder) -> int | None:
    """Parameters of the variant, from the analytic cache when `analyze` or `run` already counted them.

    The key is Builder.analytic's; should it change, this misses and the default estimate applies."""
    try:
        cached = builder.cache.load_json("analytic", builder.analytic_key(variant))
    except InputError:
        return None
    return int(cached["params"]) if cached and cached.get("params") else None


def estimate_task_bytes(variant: Variant, builder: Builder) -> int:
    count = _weight_count(variant, builder)
    return conversion_peak_bytes(count if count is not None else DEFAULT_WEIGHT_COUNT)


def build_parallel(
    recipe: Recipe,
    variants: Sequence[Variant],
    runtimes: Sequence[str],
    jobs: int,
    progress: Progress | None = None,
    *,
    cache: ArtifactCache | None = None,
    initializer: Callable[[], None] | None = None,
) -> list[BuildOutcome]:
    """Every (variant, runtime) outcome, in the order of `build_all`: variants outer, runtimes inner.

    `initializer` (a module-level function) runs in each worker after its setup.
    """
    progress = progress or NoProgress()
    builder = Builder(recipe, cache)
    outcomes: dict[tuple[int, str], BuildOutcome] = {}
    tasks: list[tuple[int, list[str]]] = []
    for i, variant in enumerate(variants):
        missing = []
        for runtime in runtimes:
            start = time.perf_counter()
            found = builder.cache.lookup(builder.artifact_key(variant, runtime))
            if found is not None:
                outcomes[(i, runtime)] = BuildOutcome(variant, runtime, found, None, True, time.perf_counter() - start)
            else:
                missing.append(runtime)
        if missing:
            tasks.append((i, missing))

    if tasks:
        per_task = max(estimate_task_bytes(variants[i], builder) for i, _ in tasks)
        plan = plan_workers(jobs, len(tasks), mem_available_bytes(), per_task)
        if plan.limited_by_memory:
            log.warning("%s", plan.limited_by_memory)
        _Pool(recipe, variants, builder, plan, initializer, progress, outcomes).run(tasks)
    progress.close()
    return [outcomes[(i, r)] for i in range(len(variants)) for r in runtimes]


class _Pool:
    """Runs the tasks in a process pool, then any a dead worker left unfinished one by one."""

    def __init__(
        self,
        recipe: Recipe,
        variants: Sequence[Variant],
        builder: Builder,
        plan: WorkerPlan,
        initializer: Callable[[], None] | None,
        progress: Progress,
        outcomes: dict[tuple[int, str], BuildOutcome],
    ):
        self.recipe, self.variants, self.builder, self.plan = recipe, variants, builder, plan
        self.cache_root = str(builder.cache.root)
        self.progress, self.outcomes = progress, outcomes
        self.context = multiprocessing.get_context("spawn")
        self.init_args = (_picklable_archs(), _log_levels(), initializer)
        self.done = 0
        self.total = 0
        self.peaks: list[tuple[str, int, int]] = []  # variant name, worker pid, peak RSS

    def _task_args(self, i: int, runtimes: list[str]) -> tuple:
        return self.recipe, self.variants[i], runtimes, self.cache_root

    def _show(self, label: str) -> None:
        self.progress.update("build", min(self.done + 1, self.total), self.total, label)

    def _record(self, i: int, result: TaskResult) -> None:
        for outcome in result.outcomes:
            self.outcomes[(i, outcome.runtime)] = dataclasses.replace(outcome, variant=self.variants[i])
        if result.peak_rss_bytes is not None:
            self.peaks.append((self.variants[i].name, result.pid, result.peak_rss_bytes))

    def _fail(self, i: int, runtimes: list[str], reason: str, seconds: float) -> None:
        for runtime in runtimes:
            self.outcomes[(i, runtime)] = BuildOutcome(
                self.variants[i], runtime, None, f"{runtime} conversion failed: {reason}", False, seconds
            )

    def run(self, tasks: list[tuple[int, list[str]]]) -> None:
        self.total = len(tasks)
        start = time.perf_counter()
        unfinished = self._run_pool(tasks)
        if unfinished:
            log.warning("a build worker died; rebuilding the %d unfinished variant(s) one at a time", len(unfinished))
            for i, runtimes in unfinished:
                self._show(f"{self.variants[i].name} (alone, after a worker died)")
                self._run_isolated(i, runtimes)
                self.done += 1
        largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        log.info(
            "built %d variant(s) in %.1f s with %d worker(s); peak RSS per variant: %s; "
            "largest peak of any child process so far (ru_maxrss): %.2f GiB",
            self.total,
            time.perf_counter() - start,
            self.plan.workers,
            ", ".join(f"{name} {peak / GIB:.2f} GiB (worker {pid})" for name, pid, peak in self.peaks) or "n/a",
            largest / GIB,
        )

    def _running_label(self, pending: list[tuple[Future, int]]) -> str:
        # The pool hands tasks out in submission order: the oldest unfinished ones are the running ones.
        names = [self.variants[i].name for _, i in pending[: self.plan.workers]]
        return f"{', '.join(names)} ({self.plan.workers} workers)"

    def _run_pool(self, tasks: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
        """Run all tasks; return those a dead worker left without a result."""
        unfinished: list[tuple[int, list[str]]] = []
        started = time.perf_counter()
        with ProcessPoolExecutor(
            self.plan.workers, mp_context=self.context, initializer=_init_worker, initargs=self.init_args
        ) as pool:
            submitted = {pool.submit(_build_variant, *self._task_args(i, rts)): (i, rts) for i, rts in tasks}
            pending = [(f, submitted[f][0]) for f in submitted]
            self._show(self._running_label(pending))
            remaining = set(submitted)
            while remaining:
                finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in finished:
                    i, runtimes = submitted[future]
                    pending = [(f, j) for f, j in pending if f is not future]
                    try:
                        self._record(i, future.result())
                    except BrokenProcessPool:
                        unfinished.append((i, runtimes))
                        continue
                    except InputError:
                        pool.shutdown(wait=True, cancel_futures=True)
                        raise
                    except Exception as e:  # noqa: BLE001 - e.g. a worker initializer that failed
                        self._fail(i, runtimes, one_line(e), time.perf_counter() - started)
                    self.done += 1
                    if pending:
                        self._show(self._running_label(pending))
        return sorted(unfinished)

    def _run_isolated(self, i: int, runtimes: list[str]) -> None:
        """One task in its own process, so a death is this task's own; its exit status is the reason."""
        start = time.perf_counter()
        receiver, sender = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_isolated_main,
            args=(sender, self.init_args, self._task_args(i, runtimes)),
            name=f"edge-bench-build-{i}",
        )
        process.start()
        sender.close()
        try:
            message = receiver.recv()
        except EOFError:  # the process died without sending anything
            message = None
        finally:
            receiver.close()
            process.join()
        if message is None:
            # Runtimes built before the death were stored: those are built, only the rest failed.
            seconds = time.perf_counter() - start
            for runtime in runtimes:
                found = self.builder.cache.lookup(self.builder.artifact_key(self.variants[i], runtime))
                if found is not None:
                    self.outcomes[(i, runtime)] = BuildOutcome(self.variants[i], runtime, found, None, False, seconds)
                else:
                    self._fail(i, [runtime], death_reason(process.exitcode), seconds)
        elif message[0] == "ok":
            self._record(i, message[1])
        elif isinstance(message[1], InputError):
            raise message[1]
        else:
            self._fail(i, runtimes, str(message[1]), time.perf_counter() - start)
