"""Phase timers for an `edge-bench build` process: wraps the functions each phase runs and writes the
totals as JSON when the process exits. Used by build_time.py through `common.edge_bench_argv(prelude=...)`.

A wrapper costs two perf_counter calls around calls that take milliseconds to minutes.
"""

from __future__ import annotations

import atexit
import functools
import json
import time
from collections import defaultdict

TOTALS: dict[str, float] = defaultdict(float)
_STARTED = time.time()  # wall clock: the parent compares it with when it started the process
_calibration_started: list[float] = []


def _timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TOTALS[name] += time.perf_counter() - start

    return wrapper


def track_gc(totals: dict[str, float]) -> None:
    """Add the time Python's cyclic garbage collector runs to totals["garbage collection (within phases)"]."""
    import gc

    started: list[float] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            totals["garbage collection (within phases)"] += time.perf_counter() - started.pop()

    gc.callbacks.append(callback)


def install(out_path: str) -> None:
    track_gc(TOTALS)
    start = time.perf_counter()
    import edge_bench.build as build_package
    import edge_bench.build.builder as build
    import edge_bench.export.cache as cache
    import edge_bench.export.executorch as executorch
    import edge_bench.export.litert as litert
    import edge_bench.export.quantize as quantize
    import edge_bench.models as models

    TOTALS["imports"] = time.perf_counter() - start

    models.Arch.build = _timed("model build", models.Arch.build)
    quantize.calibration_inputs = _timed("calibration data", quantize.calibration_inputs)

    # Inside quantize(): the calibration passes run between prepare_pt2e returning and convert_pt2e.
    prepare, convert = quantize.prepare_pt2e, quantize.convert_pt2e

    def prepare_marked(*args, **kwargs):
        result = prepare(*args, **kwargs)
        _calibration_started.append(time.perf_counter())
        return result

    def convert_marked(*args, **kwargs):
        TOTALS["calibration passes"] += time.perf_counter() - _calibration_started.pop()
        return convert(*args, **kwargs)

    quantize.prepare_pt2e, quantize.convert_pt2e = prepare_marked, convert_marked
    executorch.quantize = _timed("quantize (total)", executorch.quantize)
    litert.quantize = _timed("quantize (total)", litert.quantize)
    executorch.export_pte = _timed("convert (total)", executorch.export_pte)
    litert.export_tflite = _timed("convert (total)", litert.export_tflite)
    cache.ArtifactCache.store = _timed("store artifact + hash + manifest", cache.ArtifactCache.store)
    cache.ArtifactCache.lookup = _timed("cache lookup (hash)", cache.ArtifactCache.lookup)
    build.Builder.artifact_key = _timed("keys", build.Builder.artifact_key)
    build.tool_versions = _timed("tool versions", build.tool_versions)
    # The envelopes: what they hold beyond the phases above is bookkeeping (manifest, memo, GC).
    build.Builder._convert = _timed("Builder._convert (total)", build.Builder._convert)
    build.Builder.artifact = _timed("Builder.artifact (total)", build.Builder.artifact)
    # The command takes build_all from the package when it runs: replace it there.
    build_package.build_all = _timed("build_all (total)", build_package.build_all)

    def write() -> None:
        out = dict(TOTALS)
        out["started_at"] = _STARTED
        out["ended_at"] = time.time()
        with open(out_path, "w") as f:
            json.dump(out, f)

    atexit.register(write)


def exclusive(totals: dict[str, float]) -> dict[str, float]:
    """Nested totals turned into the time each phase spent on its own."""
    out = dict(totals)
    quantize_total = out.pop("quantize (total)", 0.0)
    convert_total = out.pop("convert (total)", 0.0)
    convert_envelope = out.pop("Builder._convert (total)", 0.0)
    artifact_envelope = out.pop("Builder.artifact (total)", 0.0)
    build_all_envelope = out.pop("build_all (total)", 0.0)
    out["quantize (capture, prepare, convert)"] = quantize_total - out.get("calibration passes", 0.0)
    out["export (lower, serialize)"] = convert_total - quantize_total
    inner = convert_total + out.get("model build", 0.0) + out.get("calibration data", 0.0)
    out["Builder._convert, rest"] = convert_envelope - inner
    out["Builder.artifact, rest (manifest, ...)"] = (
        artifact_envelope
        - convert_envelope
        - sum(out.get(k, 0.0) for k in ("keys", "cache lookup (hash)", "store artifact + hash + manifest"))
    )
    out["build_all, rest (between variants)"] = build_all_envelope - artifact_envelope
    return out
