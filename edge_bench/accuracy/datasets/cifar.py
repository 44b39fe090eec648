"""CIFAR-10, its standard Python batches as https://www.cs.toronto.edu/~kriz/cifar.html ships them in
cifar-10-batches-py/: `data_batch_1`..`data_batch_5` (training) and `test_batch`, each a pickled dict
whose `data` is an N x 3072 uint8 array (the 1024 red, then green, then blue values of a 32x32 image,
row-major) and `labels` N class indices; `batches.meta` names the classes. Accuracy is scored on
`test_batch`, calibration draws from the training batches. An image is resized as a whole to the
variant's resolution (no crop: that is the resolution downsizing studied) and normalized with CIFAR-10's
per-channel training-set mean and standard deviation.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from ...errors import InputError
from .images import Size, height_width, resample_filter, evenly_spaced

CIFAR_TEST_BATCH = "test_batch"
CIFAR_TRAIN_BATCHES = "data_batch_*"
CIFAR_SIDE = 32
# CIFAR-10's training-set channel statistics, the normalization CIFAR networks are usually trained with.
CIFAR10_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR10_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)


def is_cifar_folder(root: Path | str) -> bool:
    """A folder of CIFAR-10 Python batches (test_batch or data_batch_*), rather than an image tree."""
    root = Path(root)
    return root.is_dir() and ((root / CIFAR_TEST_BATCH).is_file() or any(root.glob(CIFAR_TRAIN_BATCHES)))


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, strings and numpy arrays, nothing else: a batch file cannot run code."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a CIFAR batch")
        if module == "numpy.core.multiarray":  # the files' (numpy 1) name of what numpy 2 keeps in numpy._core
            try:
                return super().find_class("numpy._core.multiarray", name)
            except (ImportError, AttributeError):
                pass
        return super().find_class(module, name)


def read_cifar_batch(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            # The files were pickled by Python 2: latin1 turns its byte strings into the arrays' raw bytes.
            entry = _ArraysOnly(f, encoding="latin1").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise InputError(f"{path}: not a CIFAR-10 Python batch ({type(e).__name__}: {e})") from None
    if isinstance(entry, dict):
        entry = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}
    if not isinstance(entry, dict) or "data" not in entry or not ({"labels", "fine_labels"} & set(entry)):
        raise InputError(f"{path}: a CIFAR-10 batch is a dict with 'data' and 'labels'")
    data = np.asarray(entry["data"])
    labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
    if (
        data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3 * CIFAR_SIDE * CIFAR_SIDE
        or len(labels) != len(data)
    ):
        raise InputError(
            f"{path}: 'data' must be uint8 N x 3072 with N labels, got {data.dtype} {data.shape} and "
            f"{len(labels)} labels"
        )
    return data.reshape(-1, 3, CIFAR_SIDE, CIFAR_SIDE), labels


@dataclass(frozen=True)
class CifarSet:
    files: tuple[Path, ...]
    classes: tuple[str, ...]  # from batches.meta; "0".."9" without it
    images: np.ndarray  # (N, 3, 32, 32) uint8
    labels: np.ndarray  # (N,) int64


def read_cifar(root: Path | str, split: str = "test", max_images: int | None = None) -> CifarSet:
    """The test batch (split "test") or the training batches ("train") of a CIFAR-10 folder."""
    root = Path(root)
    pattern = CIFAR_TEST_BATCH if split == "test" else CIFAR_TRAIN_BATCHES
    files = tuple(sorted(root.glob(pattern)))
    if not files:
        raise InputError(
            f"--dataset {root}: no {pattern} file (expected CIFAR-10's Python batches, cifar-10-batches-py/)"
        )
    parts = [read_cifar_batch(path) for path in files]
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    picks = evenly_spaced(range(len(images)), max_images)
    return CifarSet(files, _cifar_classes(root, int(labels.max()) + 1), images[picks], labels[picks])


def _cifar_classes(root: Path, at_least: int) -> tuple[str, ...]:
    meta = root / "batches.meta"
    if meta.is_file():
        try:
            with meta.open("rb") as f:
                names = _ArraysOnly(f, encoding="latin1").load().get("label_names")
            if names:
                return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError):
            pass
    return tuple(str(i) for i in range(max(10, at_least)))


def cifar_image(image: np.ndarray, size: Size, interpolation: str = "bilinear") -> np.ndarray:
    """One (3, 32, 32) uint8 image resized to `size` and normalized: (3, H, W) float32."""
    height, width = height_width(size)
    picture = Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0)))
    if (width, height) != picture.size:
        picture = picture.resize((width, height), resample_filter(interpolation))
    rgb = np.asarray(picture, dtype=np.float32) / 255.0
    return ((rgb - CIFAR10_MEAN) / CIFAR10_STD).transpose(2, 0, 1).copy()


def cifar_batches(
    root: Path | str,
    size: Size,
    max_images: int | None = None,
    batch_size: int = 1,
    interpolation: str = "bilinear",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(images (B, 3, H, W) float32, labels (B,) int64) of CIFAR-10's test batch."""
    dataset = read_cifar(root, "test", max_images)
    resample_filter(interpolation)
    for start in range(0, len(dataset.images), batch_size):
        chunk = dataset.images[start : start + batch_size]
        images = np.stack([cifar_image(image, size, interpolation) for image in chunk])
        yield images, dataset.labels[start : start + batch_size]
