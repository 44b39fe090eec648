"""Classification images in the ImageFolder layout, as torchvision reads it: one folder per class under
the root, class index = position of the folder name in sorted order, images .jpg/.jpeg/.png at any depth
below their class folder, eval-transformed (`images.EvalTransform`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ...config import EvalConfig
from ...errors import InputError
from .images import IMAGE_EXTENSIONS, EvalTransform, Size, is_image, load_rgb, evenly_spaced


@dataclass(frozen=True)
class ImageFolderSet:
    root: Path
    classes: tuple[str, ...]  # folder names; index = label
    samples: tuple[tuple[Path, int], ...]


def read_image_folder(root: Path | str, max_images: int | None = None) -> ImageFolderSet:
    """The samples of an ImageFolder tree. Class indices come from all class folders, even empty ones,
    so that they keep matching the model's outputs when a subset of images is evaluated."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"--dataset {root}: not a directory (expected <root>/<class>/<image>.jpg)")
    classes = tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
    if not classes:
        raise InputError(f"--dataset {root}: no class folders (expected <root>/<class>/<image>.jpg)")
    samples = [
        (path, index)
        for index, name in enumerate(classes)
        for path in sorted(p for p in (root / name).rglob("*") if is_image(p))
    ]
    if not samples:
        raise InputError(f"--dataset {root}: no {'/'.join(IMAGE_EXTENSIONS)} images under its class folders")
    return ImageFolderSet(root, classes, tuple(evenly_spaced(samples, max_images)))


def classification_batches(
    root: Path | str,
    size: Size,
    config: EvalConfig = EvalConfig(),
    max_images: int | None = None,
    batch_size: int = 1,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(images (B, 3, H, W) float32, labels (B,) int64) of an ImageFolder tree, eval-transformed."""
    dataset = read_image_folder(root, max_images)
    transform = EvalTransform.for_variant(size, config)
    for start in range(0, len(dataset.samples), batch_size):
        chunk = dataset.samples[start : start + batch_size]
        images = np.stack([transform(load_rgb(path)) for path, _ in chunk])
        yield images, np.array([label for _, label in chunk], dtype=np.int64)
