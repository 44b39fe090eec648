"""Variant -> FP32 model -> analytic numbers and INT8 artifacts, each cached.

The FP32 model is built at most once per variant, and only when something it feeds is not cached.
A conversion that fails is returned as a BuildOutcome with its reason; bad input (a recipe that names a
missing checkpoint) raises InputError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import traceback
from dataclasses import dataclass
from typing import Any

from ..config import Recipe
from ..errors import InputError
from ..export.cache import Artifact, ArtifactCache, build_key, tool_versions
from ..models import arch_of, input_shape
from ..recipes import Variant
from .identity import ANALYTIC_SOURCES, ARTIFACT_SOURCES, source_hash
from .random_init import RANDOM_INIT, prepare_random_network

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildOutcome:
    variant: Variant
    runtime: str
    artifact: Artifact | None
    error: str | None
    cached: bool
    seconds: float
    peak_rss_bytes: int | None = None  # of the worker while it built this variant (parallel builds only)


def one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


@contextlib.contextmanager
def one_torch_thread():
    """Run torch on one thread inside, and give the thread count back after.

    An artifact's bytes change with torch's thread count, which changes the order of float sums
    (the random network's batch-norm statistics are such sums): measured, MobileNetV2's .pte and
    .tflite differ when its model is built and converted on 1 or on 2 threads. The cache key does
    not hold the thread count, so the model is built and converted on one thread: a host gives the
    same bytes whatever its core count, `build --jobs N`, or whether `run` built the model first for
    the analytic model. `--jobs` is how a build uses more cores.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class Builder:
    def __init__(self, recipe: Recipe, cache: ArtifactCache | None = None):
        self.recipe = recipe
        self.cache = cache or ArtifactCache()
        self.versions = tool_versions()
        self._memo_keys: dict[str, Any] = {}  # the calibration set's fingerprint, read once per builder

    # ------------------------------------------------------------ keys

    def _weights(self, variant: Variant) -> dict[str, Any]:
        from ..models.weights import resolve

        return dataclasses.asdict(resolve(variant.fields))

    def _variant_inputs(self, variant: Variant, sources: tuple[str, ...]) -> dict[str, Any]:
        """What decides a variant's model: its fields, the weights really loaded (not why a download failed:
        the same random weights either way), the tools' versions and edge-bench's own `sources`."""
        weights = {k: v for k, v in self._weights(variant).items() if k != "note"}
        return {
            "fields": dict(variant.fields),
            "weights": weights,
            "versions": self.versions,
            "random_init": RANDOM_INIT,
            "source": source_hash(sources),
        }

    def _calibration(self) -> dict[str, Any]:
        """The quantization settings, and the calibration images by their content."""
        q = self.recipe.quantize
        out: dict[str, Any] = dataclasses.asdict(q)
        if q.calibration != "random":
            from ..accuracy.datasets import calibration_fingerprint

            out["calibration_content"] = calibration_fingerprint(q.calibration, q.batches, q.seed)
        return out

    def artifact_key(self, variant: Variant, runtime: str) -> str:
        if "calibration" not in self._memo_keys:
            self._memo_keys["calibration"] = self._calibration()
        return build_key(
            {
                **self._variant_inputs(variant, ARTIFACT_SOURCES),
                "runtime": runtime,
                "quantize": self._memo_keys["calibration"],
            }
        )

    def analytic_key(self, variant: Variant) -> str:
        return build_key({**self._variant_inputs(variant, ANALYTIC_SOURCES), "analytic": True})

    # ------------------------------------------------------------ work

    def model(self, variant: Variant, memo: dict):
        """The variant's FP32 torch model, built once per `memo`."""
        if "model" not in memo:
            from .feasibility import check_fits

            with one_torch_thread():  # its batch-norm statistics are float sums: see one_torch_thread
                check_fits(variant)  # InputError before a variant too large for this machine allocates anything
                model = arch_of(variant.arch, self.recipe.path).build(variant.fields)
                if self._weights(variant)["kind"] == "random":
                    prepare_random_network(model, input_shape(variant.fields))
            memo["model"] = model
        return memo["model"]

    def analytic(self, variant: Variant, memo: dict | None = None) -> dict[str, Any]:
        """FLOPs, parameters, INT8 weight bytes and activation memory (cached per variant)."""
        memo = {} if memo is None else memo
        key = self.analytic_key(variant)
        cached = self.cache.load_json("analytic", key)
        if cached is not None:
            return cached
        from ..analytic import analyze_model

        result = analyze_model(self.model(variant, memo), input_shape(variant.fields))
        closed_form = _vit_closed_form(variant)
        if closed_form:
            result["closed_form"] = closed_form
        self.cache.store_json("analytic", key, result)
        return result

    def artifact(self, variant: Variant, runtime: str, memo: dict | None = None) -> BuildOutcome:
        memo = {} if memo is None else memo
        start = time.perf_counter()
        try:
            key = self.artifact_key(variant, runtime)
            found = self.cache.lookup(key)
            if found is not None:
                return BuildOutcome(variant, runtime, found, None, True, time.perf_counter() - start)
            data = self._convert(variant, runtime, memo)
            info = artifact_memory_info(data, runtime)
            manifest = {
                "recipe": self.recipe.name,
                "variant": dict(variant.fields),
                "variant_name": variant.name,
                "weights": self._weights(variant),
                "random_init": RANDOM_INIT if self._weights(variant)["kind"] == "random" else None,
                "quantize": self._calibration(),
                "builder_source": source_hash(ARTIFACT_SOURCES),
                "versions": self.versions,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_seconds": round(time.perf_counter() - start, 2),
                **info,
            }
            artifact = self.cache.store(key, runtime, data, manifest)
            return BuildOutcome(variant, runtime, artifact, None, False, time.perf_counter() - start)
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - a failed conversion is data
            log.debug("build of %s for %s failed:\n%s", variant.name, runtime, traceback.format_exc())
            return BuildOutcome(
                variant,
                runtime,
                None,
                f"{runtime} conversion failed: {one_line(e)}",
                False,
                time.perf_counter() - start,
            )

    def cortex_m(self, variant: Variant, cpu: str, memo: dict | None = None) -> dict[str, Any]:
        """A Cortex-M (CMSIS-NN) ExecuTorch program for `cpu`: its size and planned SRAM, or why there is none."""
        memo = {} if memo is None else memo
        if not cpu.lower().startswith("cortex-m"):
            return {
                "cpu": cpu,
                "error": f"core '{cpu}' is not an Arm Cortex-M: ExecuTorch's Cortex-M backend does not apply",
            }
        from ..export.cortex_m import cortex_m_unavailable_reason, export_cortex_m

        reason = cortex_m_unavailable_reason()
        if reason:
            return {"cpu": cpu, "error": reason}
        key = build_key(
            {
                **self._variant_inputs(variant, ARTIFACT_SOURCES),
                "runtime": f"cortex-m:{cpu}",
                "quantize": self._calibration(),
            }
        )
        found = self.cache.lookup(key)
        if found is None:
            import torch

            from ..export.quantize import calibration_inputs

            start = time.perf_counter()
            try:
                shape = input_shape(variant.fields)
                example = torch.randn(*shape, generator=torch.Generator().manual_seed(self.recipe.quantize.seed))
                data, info = export_cortex_m(
                    self.model(variant, memo),
                    example,
                    calibration_inputs(self.recipe.quantize, shape, self.recipe.eval),
                    cpu=cpu,
                )
            except InputError:
                raise
            except Exception as e:  # noqa: BLE001 - no Cortex-M program is data, not the end of the sweep
                return {"cpu": cpu, "error": f"cortex-m export failed: {one_line(e)}"}
            found = self.cache.store(
                key,
                "cortex-m",
                data,
                {
                    "variant": dict(variant.fields),
                    "versions": self.versions,
                    "build_seconds": round(time.perf_counter() - start, 2),
                    **info,
                },
            )
        m = found.manifest
        return {
            "cpu": cpu,
            "sha256": found.sha256,
            "bytes": found.bytes,
            "path": str(found.path),
            "planned_bytes": m.get("planned_bytes"),
            "portable_ops": m.get("portable_ops"),
            "cmsis_nn": m.get("cmsis_nn"),
        }

    def _convert(self, variant: Variant, runtime: str, memo: dict) -> bytes:
        import torch

        with one_torch_thread():
            from ..export.quantize import calibration_inputs

            model = self.model(variant, memo)
            shape = input_shape(variant.fields)
            calibration = calibration_inputs(self.recipe.quantize, shape, self.recipe.eval)
            example = torch.randn(*shape, generator=torch.Generator().manual_seed(self.recipe.quantize.seed))
            if runtime == "executorch":
                from ..export.executorch import export_pte

                return export_pte(model, example, calibration, self.recipe.quantize.per_channel)
            from ..export.litert import export_tflite

            return export_tflite(model, example, calibration, self.recipe.quantize.per_channel)


def artifact_memory_info(data: bytes, runtime: str) -> dict[str, Any]:
    """What the artifact is and what its runtime allocates for it, read once from its bytes.

    - `planned_bytes`: the activation memory the runtime allocates itself, as the model is timed:
      ExecuTorch's memory plan; LiteRT's interpreter arena with the XNNPACK delegate applied (laid out
      by a real interpreter). `planned_io_only` is true when the graph is fully delegated, so that this
      holds only the graph's input and output (then also `planned_io_bytes`): the delegate's working
      memory is not in it.
    - LiteRT also: `arena_bytes`, the arena its builtin kernels need (every activation, laid out by a
      real interpreter); `arena_estimate_bytes` and `tflm_arena_bytes`, replayed from the file.
    - `int8`: the INT8 coverage (artifacts.int8); `deployed_activation_bytes` and
      `deployed_activation_op`: the paper's activation metric on the graph as deployed.
    - `delegation`: what the XNNPACK delegate takes.
    A reader that fails leaves `<part>_error` with its reason; the artifact is still good.
    """
    import tempfile

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/model{'.pte' if runtime == 'executorch' else '.tflite'}"
        with open(path, "wb") as f:
            f.write(data)
        program = None
        if runtime == "executorch":
            from ..artifacts.pte import read_pte

            try:
                program = read_pte(data, name=path)
            except Exception as e:  # noqa: BLE001 - its readers say why not
                out["planned_error"] = one_line(e)
        source = program if runtime == "executorch" else path
        if runtime != "executorch" or program is not None:
            _read_part(out, "planned", lambda: _planned(source, runtime))
            _read_part(out, "delegation", lambda: _delegation(source, runtime))
            _read_part(out, "int8", lambda: _int8(source, runtime))
    fully = (out.get("delegation") or {}).get("fully_delegated")
    if out.get("planned_bytes") is not None:
        out["planned_io_only"] = bool(fully)
        out["planned_io_bytes"] = out["planned_bytes"] if fully else None
    return out


def _read_part(out: dict[str, Any], part: str, read) -> None:
    try:
        out.update(read())
    except Exception as e:  # noqa: BLE001 - the artifact is still good
        out[f"{part}_error"] = one_line(e)


def _planned(source, runtime: str) -> dict[str, Any]:
    if runtime == "executorch":
        from ..artifacts.pte import planned_memory

        plan = planned_memory(source)
        return {
            "planned_bytes": plan["planned_bytes"],
            "planned_buffer_sizes": plan["non_const_buffer_sizes"],
            "planned_source": "executorch memory plan",
        }
    from ..artifacts.allocated import tflite_arena_allocated
    from ..artifacts.arena import tflite_arena_estimate

    estimate = tflite_arena_estimate(source)
    out: dict[str, Any] = {
        "arena_estimate_bytes": estimate["arena_bytes"],
        "tflm_arena_bytes": estimate.get("tflm_arena_bytes"),
    }
    for key, delegate in (("arena", False), ("planned", True)):
        arena = tflite_arena_allocated(source, delegate=delegate)
        out[f"{key}_bytes"] = arena["arena_bytes"]
        if arena["arena_bytes"] is None:
            out[f"{key}_error"] = arena.get("reason")
    out["arena_source"] = "litert interpreter arena, builtin kernels (allocated on the build host)"
    out["planned_source"] = "litert interpreter arena with the XNNPACK delegate (allocated on the build host)"
    return out


def _delegation(source, runtime: str) -> dict[str, Any]:
    from ..artifacts.delegation import pte_delegation, tflite_delegation

    delegation = pte_delegation(source) if runtime == "executorch" else tflite_delegation(source)
    keys = (
        "fully_delegated",
        "delegated_nodes",
        "delegated_ops",
        "non_delegated_ops",
        "delegate_calls",
        "kernel_calls",
    )
    return {"delegation": {k: delegation.get(k) for k in keys if k in delegation}}


def _int8(source, runtime: str) -> dict[str, Any]:
    from ..artifacts.deployed import deployed_activation, pte_deployed, tflite_deployed
    from ..artifacts.int8 import int8_summary

    graph = pte_deployed(source) if runtime == "executorch" else tflite_deployed(source)
    metric = deployed_activation(graph)
    return {
        "int8": int8_summary(graph, runtime),
        "deployed_activation_bytes": metric["bytes"],
        "deployed_activation_op": metric["op"],
    }


def _vit_closed_form(variant: Variant) -> dict[str, Any] | None:
    if variant.arch != "vit":
        return None
    from ..analytic.vit_closed_form import closed_form_for

    return closed_form_for(variant.fields)
