"""Fidelity and accuracy of each built artifact, run through its own runtime on the host.

Fidelity needs no labels: the INT8 artifact and its FP32 torch model see the same inputs, drawn from
the calibration distribution (seeded standard-normal images, or the recipe's calibration folder), and
their outputs give the SQNR (dB) and the top-1 agreement (percent of samples, or pixels, where both
pick the same class). It is measured for every artifact.

Accuracy needs `--dataset`: an ImageFolder tree or CIFAR-10's Python batches (top-1/top-5; a folder
holding `test_batch` or `data_batch_*` is read as CIFAR-10), or a Cityscapes tree (mIoU over the 19
classes, logits interpolated to the label size). The FP32 model is scored beside the artifact on the
very same images, so the INT8 drop is visible per variant. A model with random weights gets no
accuracy number at all, only a note saying why: a figure from random weights is not an accuracy.

The result is a flat dict of scalars (each becomes a column of the results table):

- always: eval_task, fidelity_inputs, fidelity_n, sqnr_db (None with sqnr_note when undefined:
  identical outputs give +inf, which JSON cannot hold), top1_agreement, eval_seconds, eval_cached;
- classification: top1, top5, fp32_top1, fp32_top5, top1_drop, top5_drop (FP32 minus INT8, in
  points: positive = INT8 lost accuracy), n_images, dataset_sqnr_db, dataset_top1_agreement;
- segmentation: miou, fp32_miou, miou_drop, n_images, upsample, dataset_sqnr_db, dataset_top1_agreement;
- accuracy_note instead of the accuracy keys when accuracy was not measured, and why;
- eval_error: one line, when something failed (what was measured before the failure is kept).
  Not "error": `results.flatten` lifts these keys into the row, where "error" is the measurement's.

Results are cached as JSON under `cache_root/evaluation/`, keyed by the artifact's hash and
everything else that decides the numbers. Failed evaluations are not cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .datasets import (
    UPSAMPLE_MODES,
    calibration_batches,
    calibration_pool_size,
    cifar_batches,
    cityscapes_batches,
    classification_batches,
    is_cifar_folder,
    read_cifar,
    read_cityscapes,
    read_image_folder,
    upsample_logits,
)
from .isolated import ArtifactProcess
from .metrics import ClassificationTally, FidelityTally, SegmentationTally
from ..build import one_line
from ..build.identity import EVALUATION_SOURCES, source_hash
from ..config import Recipe
from ..errors import InputError
from ..models import input_shape
from ..recipes import Variant

log = logging.getLogger(__name__)

TASKS = ("classification", "segmentation")
SEGMENTATION_ARCHS = frozenset({"regseg"})
CITYSCAPES_SPLIT = "val"  # the split with public labels
CITYSCAPES_CLASSES = 19
# FP32 outputs of the dataset are kept for the variant's next runtime only up to this size.
FP32_MEMO_BYTES = 256 * 2**20
RANDOM_BY_RECIPE = 'the recipe asks for weights = "random"'


def task_of_arch(arch: str) -> str:
    return "segmentation" if arch in SEGMENTATION_ARCHS else "classification"


def fidelity_fields(tally: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A FidelityTally result as JSON-safe fields: an infinite SQNR becomes None with a note."""
    sqnr = tally["sqnr_db"]
    fields: dict[str, Any] = {f"{prefix}top1_agreement": tally["top1_agreement"]}
    if sqnr is not None and math.isinf(sqnr):
        fields[f"{prefix}sqnr_db"] = None
        fields[f"{prefix}sqnr_note"] = "outputs identical" if sqnr > 0 else "FP32 outputs are all zero: SQNR undefined"
    else:
        fields[f"{prefix}sqnr_db"] = sqnr
    return fields


def _json_safe(result: dict[str, Any]) -> dict[str, Any]:
    """NaN (e.g. an mIoU with no class present) as None: the result store writes strict JSON."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in result.items()}


def _drop(fp32: float | None, int8: float | None) -> float | None:
    return None if fp32 is None or int8 is None else fp32 - int8


def _first_output(value: Any):
    """The first tensor of a model's output (a tensor, a tuple/list of them, or a dict)."""
    if isinstance(value, dict):
        value = next(iter(value.values()))
    while isinstance(value, (tuple, list)):
        value = value[0]
    return value


def _like(test: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The artifact's output in the reference's layout (LiteRT may hand back NHWC)."""
    if test.shape == reference.shape:
        return test
    if test.ndim == 4 and test.transpose(0, 3, 1, 2).shape == reference.shape:
        return test.transpose(0, 3, 1, 2)
    if test.size == reference.size and test.squeeze().shape == reference.squeeze().shape:
        return test.reshape(reference.shape)
    raise ValueError(f"artifact output shape {test.shape} does not match the FP32 model's {reference.shape}")


class _Fp32:
    """The FP32 torch model's outputs. The model is asked for at most once, and only when an output
    is not already remembered from the same variant's previous evaluation (its other runtime)."""

    def __init__(self, model_fn: Callable[[], Any], memo: dict[str, list[np.ndarray]]):
        self._model_fn = model_fn
        self._model = None
        self._memo = memo

    def _forward(self, image: np.ndarray) -> np.ndarray:
        import torch

        if self._model is None:
            self._model = self._model_fn().eval()
        with torch.no_grad():
            out = _first_output(self._model(torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))))
        return out.detach().float().numpy()

    def outputs(self, name: str, images: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(image, FP32 output) pairs; the outputs are remembered under `name` while they are small."""
        remembered = self._memo.get(name)
        fresh: list[np.ndarray] | None = [] if remembered is None else None
        size = 0
        for i, image in enumerate(images):
            if remembered is not None and i < len(remembered):
                yield image, remembered[i]
                continue
            out = self._forward(image)
            if fresh is not None:
                size += out.nbytes
                fresh = fresh if size <= FP32_MEMO_BYTES else None
                if fresh is not None:
                    fresh.append(out)
            yield image, out
        if fresh is not None:
            self._memo[name] = fresh


class Evaluator:
    """Evaluates artifacts as the runner builds them (`evaluate` never raises)."""

    def __init__(
        self,
        recipe: Recipe,
        cache_root: Path,
        dataset: Path | None = None,
        max_images: int = 500,
        fidelity_samples: int = 16,
        task: str | None = None,
        threads: int | None = None,
    ):
        for flag, value in (("--max-images", max_images), ("fidelity_samples", fidelity_samples)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{flag} must be a positive integer, got {value!r}")
        if task is not None and task not in TASKS:
            raise InputError(f"evaluation task must be one of {', '.join(TASKS)}, got {task!r}")
        self.recipe = recipe
        self.cache_dir = Path(cache_root) / "evaluation"
        self.dataset = Path(dataset).expanduser().resolve() if dataset is not None else None
        self.max_images = max_images
        self.fidelity_samples = fidelity_samples
        self.task = task
        self.threads = threads or os.cpu_count() or 1
        self._fingerprints: dict[str, str] = {}
        self._classes: int | None = None  # classes of a classification dataset (ImageFolder folders, CIFAR labels)
        self._memo_variant: str | None = None
        self._memo: dict[str, list[np.ndarray]] = {}
        if self.dataset is not None:  # a wrong layout is the user's to fix before anything is built
            self._dataset_fingerprint(self.task or task_of_arch(str(recipe.model["arch"])))

    # ------------------------------------------------------------ cache

    def _dataset_fingerprint(self, task: str) -> str:
        """Hash of the images an evaluation reads (path, size, mtime): a changed dataset is re-evaluated."""
        if task not in self._fingerprints:
            if task == "segmentation":
                pairs = read_cityscapes(self.dataset, CITYSCAPES_SPLIT, self.max_images)
                files = [p for pair in pairs for p in (pair.image, pair.label)]
            elif is_cifar_folder(self.dataset):
                cifar = read_cifar(self.dataset, "test", self.max_images)
                self._classes = len(cifar.classes)
                files = list(cifar.files)
            else:
                folder = read_image_folder(self.dataset, self.max_images)
                self._classes = len(folder.classes)
                files = [path for path, _ in folder.samples]
            digest = hashlib.sha256()
            for path in files:
                stat = path.stat()
                digest.update(f"{path.relative_to(self.dataset)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            self._fingerprints[task] = digest.hexdigest()
        return self._fingerprints[task]

    def cache_key(self, variant: Variant, artifact) -> str:
        task = self.task or task_of_arch(variant.arch)
        inputs = {
            "source": source_hash(EVALUATION_SOURCES),
            "artifact": artifact.sha256,
            "dataset": str(self.dataset) if self.dataset else None,
            "dataset_files": self._dataset_fingerprint(task) if self.dataset else None,
            "max_images": self.max_images,
            "fidelity_samples": self.fidelity_samples,
            "task": task,
            "eval": dataclasses.asdict(self.recipe.eval),
            "fidelity_source": self._fidelity_source(),
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()

    def _fidelity_source(self) -> list[Any]:
        """The fidelity inputs: seeded noise, or the calibration folder's images by their content."""
        q = self.recipe.quantize
        if q.calibration == "random":
            return ["random", q.seed]
        from .datasets import calibration_fingerprint, list_images

        n = min(self.fidelity_samples, len(list_images(Path(q.calibration).expanduser())))
        return [calibration_fingerprint(q.calibration, n, q.seed), q.seed]

    def _load(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.cache_dir / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    def _store(self, key: str, result: dict[str, Any]) -> None:
        from ..export.cache import _atomic_write

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.cache_dir / f"{key}.json", json.dumps(result, sort_keys=True, allow_nan=False).encode())

    # ------------------------------------------------------------ evaluation

    def evaluate(self, variant: Variant, runtime: str, artifact, fp32_model_fn: Callable[[], Any]) -> dict[str, Any]:
        """Fidelity always, accuracy with a dataset and real weights; failures become `eval_error`."""
        result: dict[str, Any] = {}
        started = time.perf_counter()
        key = None
        try:
            key = self.cache_key(variant, artifact)
            cached = self._load(key)
            if cached is not None:
                return {**cached, "eval_cached": True}
            if variant.key() != self._memo_variant:  # FP32 outputs are shared by one variant's runtimes
                self._memo_variant, self._memo = variant.key(), {}
            self._evaluate(variant, runtime, artifact, _Fp32(fp32_model_fn, self._memo), result)
        except Exception as e:  # noqa: BLE001 - an evaluation failure is data, the sweep goes on
            log.debug("evaluation of %s (%s) failed:\n%s", variant.name, runtime, traceback.format_exc())
            result["eval_error"] = one_line(e)
        result = _json_safe(result)
        result["eval_seconds"] = round(time.perf_counter() - started, 2)
        result["eval_cached"] = False
        if key is not None and "eval_error" not in result:
            try:
                self._store(key, result)
            except (OSError, ValueError) as e:
                log.warning("evaluation cache not written (%s)", one_line(e))
        return result

    def _evaluate(self, variant: Variant, runtime: str, artifact, fp32: _Fp32, result: dict[str, Any]) -> None:
        task = self.task or task_of_arch(variant.arch)
        result["eval_task"] = task
        shape = input_shape(variant.fields)
        with ArtifactProcess(runtime, artifact.path, self.threads) as model:
            self._evaluate_with(model, shape, task, artifact, fp32, result)

    def _evaluate_with(
        self, model: ArtifactProcess, shape: tuple[int, ...], task: str, artifact, fp32: _Fp32, result: dict[str, Any]
    ) -> None:
        description, images = self._fidelity_inputs(shape, task)
        tally = FidelityTally()
        for image, reference in fp32.outputs("fidelity", images):
            tally.update(reference, _like(model(image), reference))
        fidelity = tally.result()
        result.update(fidelity_fields(fidelity), fidelity_n=fidelity["n"], fidelity_inputs=description)

        reason = self._why_no_accuracy(artifact.manifest)
        if reason:
            result["accuracy_note"] = f"not measured: {reason}"
            return
        if task == "segmentation":
            self._segmentation(shape, model, fp32, result)
        else:
            self._classification(shape, model, fp32, result)

    def _why_no_accuracy(self, manifest: dict[str, Any]) -> str | None:
        if self.dataset is None:
            return "no --dataset given"
        weights = manifest.get("weights")
        if not isinstance(weights, dict) or "kind" not in weights:
            return "the artifact's manifest does not say which weights it holds"
        if weights["kind"] == "random":
            return f"random weights ({weights.get('note') or RANDOM_BY_RECIPE})"
        return None

    def _fidelity_inputs(self, shape: tuple[int, ...], task: str) -> tuple[str, Iterator[np.ndarray]]:
        """The calibration distribution: the recipe's folder of images, or seeded standard-normal images."""
        q = self.recipe.quantize
        if q.calibration == "random":
            rng = np.random.default_rng(q.seed)
            images = (rng.standard_normal(shape).astype(np.float32) for _ in range(self.fidelity_samples))
            return f"standard-normal images (numpy seed {q.seed})", images
        folder = Path(q.calibration).expanduser()
        n = min(self.fidelity_samples, calibration_pool_size(folder))
        images = calibration_batches(folder, shape[2:], n, q.seed, self.recipe.eval, resize_only=task == "segmentation")
        return f"calibration folder {folder}", images

    def _classification(
        self, shape: tuple[int, ...], model: ArtifactProcess, fp32: _Fp32, result: dict[str, Any]
    ) -> None:
        self._dataset_fingerprint("classification")
        classes = self._classes
        cifar = is_cifar_folder(self.dataset)
        if cifar:
            batches = cifar_batches(self.dataset, shape[2:], self.max_images, 1, self.recipe.eval.interpolation)
        else:
            batches = classification_batches(self.dataset, shape[2:], self.recipe.eval, self.max_images, batch_size=1)
        labels: list[np.ndarray] = []

        def images() -> Iterator[np.ndarray]:
            for image, label in batches:
                labels.append(label)
                yield image

        int8, reference_tally, fidelity = ClassificationTally(), ClassificationTally(), FidelityTally()
        for image, reference in fp32.outputs("dataset", images()):
            if reference.shape[-1] != classes:
                raise ValueError(
                    f"the model outputs {reference.shape[-1]} classes but --dataset has {classes} "
                    + (
                        "CIFAR-10 classes"
                        if cifar
                        else "class folders: class index = position of the folder in sorted "
                        "order must match the model's outputs"
                    )
                )
            output = _like(model(image), reference)
            int8.update(output, labels[-1])
            reference_tally.update(reference, labels[-1])
            fidelity.update(reference, output)
        a, f = int8.result(), reference_tally.result()
        result.update(
            top1=a["top1"], top5=a["top5"], fp32_top1=f["top1"], fp32_top5=f["top5"],
            top1_drop=_drop(f["top1"], a["top1"]), top5_drop=_drop(f["top5"], a["top5"]), n_images=a["n"],
        )  # fmt: skip
        result.update(fidelity_fields(fidelity.result(), prefix="dataset_"))

    def _segmentation(
        self, shape: tuple[int, ...], model: ArtifactProcess, fp32: _Fp32, result: dict[str, Any]
    ) -> None:
        interpolation = self.recipe.eval.interpolation
        mode = interpolation if interpolation in UPSAMPLE_MODES else "bilinear"
        batches = cityscapes_batches(self.dataset, shape[2:], CITYSCAPES_SPLIT, self.max_images, interpolation)
        labels: list[np.ndarray] = []

        def images() -> Iterator[np.ndarray]:
            for image, label in batches:
                labels.append(label)
                yield image

        int8 = SegmentationTally(CITYSCAPES_CLASSES)
        reference_tally = SegmentationTally(CITYSCAPES_CLASSES)
        fidelity = FidelityTally()
        for image, reference in fp32.outputs("dataset", images()):
            output = _like(model(image), reference)
            label = labels[-1]
            int8.update(upsample_logits(output, label.shape, mode), label)
            reference_tally.update(upsample_logits(reference, label.shape, mode), label)
            fidelity.update(reference, output)
        a, f = int8.result(), reference_tally.result()
        result.update(
            miou=a["miou"], fp32_miou=f["miou"], miou_drop=_drop(f["miou"], a["miou"]), n_images=a["n"], upsample=mode
        )
        result.update(fidelity_fields(fidelity.result(), prefix="dataset_"))
