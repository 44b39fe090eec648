"""Parallel builds: worker planning against memory, same artifacts as a sequential build, a fully cached
sweep that starts no worker, and a worker killed mid-build that becomes a failed outcome."""

from __future__ import annotations

import logging
import os
import signal

import pytest

from edge_bench.build import memory, parallel
from edge_bench.build import BuildOutcome, build_all
from edge_bench.config import load_recipe
from edge_bench.export.cache import ArtifactCache
from edge_bench.build.memory import GIB, conversion_peak_bytes, mem_available_bytes, plan_workers
from edge_bench.build.parallel import build_parallel, death_reason
from edge_bench.recipes import expand
from tests import tinymodels


# ------------------------------------------------------------------ planning, on numbers


def test_plan_starts_the_workers_asked_for():
    plan = plan_workers(requested=2, tasks=4, available_bytes=64 * GIB, per_task_bytes=3 * GIB)
    assert (plan.workers, plan.limited_by_memory) == (2, None)
    plan = plan_workers(requested=3, tasks=8, available_bytes=64 * GIB, per_task_bytes=3 * GIB)
    assert plan.workers == 3


def test_plan_never_starts_more_workers_than_tasks():
    plan = plan_workers(requested=8, tasks=1, available_bytes=64 * GIB, per_task_bytes=3 * GIB)
    assert (plan.workers, plan.limited_by_memory) == (1, None)


def test_plan_is_bounded_by_available_memory_and_says_so():
    # 7.5 GiB available, 0.5 GiB kept back: 7 GiB / 3 GiB per conversion = 2 workers, not 4.
    plan = plan_workers(
        requested=4, tasks=4, available_bytes=int(7.5 * GIB), per_task_bytes=3 * GIB, reserve_bytes=GIB // 2
    )
    assert plan.workers == 2
    assert plan.limited_by_memory.startswith("--jobs 4 limited to 2: 7.5 GiB available, ~3.0 GiB per conversion")
    # Exactly enough for the four: not limited.
    plan = plan_workers(
        requested=4, tasks=4, available_bytes=int(12.5 * GIB), per_task_bytes=3 * GIB, reserve_bytes=GIB // 2
    )
    assert (plan.workers, plan.limited_by_memory) == (4, None)


def test_plan_keeps_one_worker_when_not_even_one_conversion_fits():
    plan = plan_workers(requested=2, tasks=2, available_bytes=1 * GIB, per_task_bytes=3 * GIB)
    assert plan.workers == 1
    assert "limited to 1" in plan.limited_by_memory


def test_plan_without_a_memory_reading_is_bounded_by_jobs_only():
    plan = plan_workers(requested=2, tasks=5, available_bytes=None, per_task_bytes=3 * GIB)
    assert (plan.workers, plan.limited_by_memory) == (2, None)


def test_conversion_estimate_grows_with_the_weights():
    base = conversion_peak_bytes(0)
    assert base == memory.BASE_PEAK_BYTES
    # Every FP32 weight (4 bytes) is held WEIGHT_COPIES_AT_PEAK times at the peak.
    assert conversion_peak_bytes(1_000_000) - base == pytest.approx(4e6 * memory.WEIGHT_COPIES_AT_PEAK, abs=1)


def test_mem_available_is_read_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:        1000 kB\nMemAvailable:   20971520 kB\n")
    assert mem_available_bytes(meminfo) == 20 * GIB
    meminfo.write_text("MemTotal:       24000000 kB\n")  # kernels before 3.14 have no MemAvailable
    assert mem_available_bytes(meminfo) is None
    assert mem_available_bytes(tmp_path / "missing") is None


def test_death_reason_names_the_signal():
    assert "SIGKILL" in death_reason(-signal.SIGKILL) and "OOM killer" in death_reason(-signal.SIGKILL)
    assert "SIGSEGV" in death_reason(-signal.SIGSEGV) and "OOM" not in death_reason(-signal.SIGSEGV)
    assert "status 3" in death_reason(3)


def test_memory_limit_is_logged_and_applied(tiny, monkeypatch, caplog):
    recipe, folder = tiny
    seen = {}

    class RecordingPool:
        def __init__(self, recipe, variants, builder, plan, initializer, progress, outcomes):
            seen["plan"], self.variants, self.outcomes = plan, variants, outcomes

        def run(self, tasks):
            seen["tasks"] = tasks
            for i, runtimes in tasks:
                for r in runtimes:
                    self.outcomes[(i, r)] = BuildOutcome(self.variants[i], r, None, "not built", False, 0.0)

    monkeypatch.setattr(parallel, "_Pool", RecordingPool)
    # parallel sizes its pool by the reading it imported from memory: that name is the one to replace.
    monkeypatch.setattr(parallel, "mem_available_bytes", lambda: 2 * conversion_peak_bytes(10**6))
    monkeypatch.setattr(parallel, "estimate_task_bytes", lambda variant, builder: conversion_peak_bytes(10**6))
    with caplog.at_level(logging.WARNING, logger="edge_bench.build.parallel"):
        outcomes = build_parallel(recipe, expand(recipe), ["litert"], 2, cache=ArtifactCache(folder / "unused"))
    # Two conversions' worth is available, but the 0.5 GiB reserve leaves room for one.
    assert seen["plan"].workers == 1
    assert [(i, rts) for i, rts in seen["tasks"]] == [(0, ["litert"]), (1, ["litert"])]
    assert "--jobs 2 limited to 1" in caplog.text
    assert [o.variant.fields["resolution"] for o in outcomes] == [16, 24]


# ------------------------------------------------------------------ real builds in worker processes


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-parallel")
    # tiny_recipe_file registers the arch; the workers get it from the parent's registry.
    return load_recipe(tinymodels.tiny_recipe_file(folder)), folder


def test_parallel_build_matches_sequential_and_then_starts_no_worker(tiny, tiny_cache, monkeypatch):
    recipe, folder = tiny
    variants = expand(recipe)
    runtimes = ["executorch", "litert"]
    # The sequential builds are the session's (tests/conftest.py builds them one after the other).
    monkeypatch.setenv("EDGE_BENCH_CACHE", str(tiny_cache))
    sequential = build_all(recipe, variants, runtimes, jobs=1)
    assert all(o.cached for o in sequential), [(o.variant.name, o.runtime, o.error) for o in sequential]
    cache = ArtifactCache(folder / "parallel")
    built = build_parallel(recipe, variants, runtimes, 2, cache=cache)

    assert [(o.variant.name, o.runtime) for o in built] == [(o.variant.name, o.runtime) for o in sequential]
    assert all(o.error is None and not o.cached for o in built), [o.error for o in built]
    assert [o.artifact.sha256 for o in built] == [o.artifact.sha256 for o in sequential]
    assert all(str(o.artifact.path).startswith(str(folder / "parallel")) for o in built)
    # Each variant's two runtimes were built by one worker, whose peak RSS is reported.
    for a, b in zip(built[::2], built[1::2]):
        assert a.peak_rss_bytes == b.peak_rss_bytes and a.peak_rss_bytes > 100 * 2**20

    def no_pool(*args, **kwargs):
        raise AssertionError("a fully cached sweep must not start a worker")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", no_pool)
    again = build_parallel(recipe, variants, runtimes, 2, cache=cache)
    assert all(o.cached for o in again)
    assert [o.artifact.sha256 for o in again] == [o.artifact.sha256 for o in built]


THREADS_SEEN: list[tuple[str, int]] = []


def build_recording_threads(fields):
    import torch

    THREADS_SEEN.append(("model", torch.get_num_threads()))
    return tinymodels.build(fields)


def test_models_are_built_and_converted_on_one_thread_whatever_torch_was_given(tiny, monkeypatch):
    # A sequential build gets all the cores, `run` builds the model for the analytic model first; the
    # bytes depend on the thread count, so all must use the same.
    import torch

    from edge_bench.build import Builder
    from edge_bench.models import ARCHS, Arch

    recipe, folder = tiny

    def record(*args, **kwargs):
        THREADS_SEEN.append(("convert", torch.get_num_threads()))
        return b"not a model"

    monkeypatch.setitem(ARCHS, "tinycnn", Arch("tinycnn", f"{__name__}:build_recording_threads"))
    monkeypatch.setattr("edge_bench.export.litert.export_tflite", record)
    THREADS_SEEN.clear()
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        builder, memo, variant = Builder(recipe, ArtifactCache(folder / "threads")), {}, expand(recipe)[0]
        builder.model(variant, memo)  # as `run` does, for the analytic model
        builder.artifact(variant, "litert", memo)
        # every build (the feasibility check's on the meta device included) and the conversion on one thread
        assert set(THREADS_SEEN) == {("model", 1), ("convert", 1)}
        assert torch.get_num_threads() == 2  # given back afterwards
    finally:
        torch.set_num_threads(before)


def die_building_resolution_24() -> None:
    """Worker initializer: the tiny model's builder kills its own process at resolution 24."""
    from edge_bench.models import ARCHS, Arch

    ARCHS["tinycnn"] = Arch("tinycnn", f"{__name__}:build_or_die")


def build_or_die(fields):
    if fields["resolution"] == 24:
        os.kill(os.getpid(), signal.SIGKILL)
    return tinymodels.build(fields)


def test_a_killed_worker_becomes_a_failed_outcome(tiny, caplog):
    recipe, folder = tiny
    with caplog.at_level(logging.WARNING, logger="edge_bench.build.parallel"):
        outcomes = build_parallel(
            recipe,
            expand(recipe),
            ["litert"],
            2,
            cache=ArtifactCache(folder / "crash"),
            initializer=die_building_resolution_24,
        )
    ok, dead = outcomes
    assert ok.variant.fields["resolution"] == 16 and ok.error is None and ok.artifact is not None
    assert dead.variant.fields["resolution"] == 24 and dead.artifact is None
    assert dead.error.startswith("litert conversion failed: build worker was killed by SIGKILL")
    assert "a build worker died" in caplog.text
