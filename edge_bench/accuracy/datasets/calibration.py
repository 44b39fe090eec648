"""Calibration images for the quantizer: drawn without replacement with a seed from a folder of images
(flat or an ImageFolder tree) or from a CIFAR-10 folder's training batches, transformed as the
evaluation transforms them; and the set's fingerprint, by content, for the artifact cache's key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import numpy as np

from ...config import EvalConfig
from ...errors import InputError
from .cifar import cifar_image, is_cifar_folder, read_cifar
from .images import EvalTransform, Size, height_width, is_image, load_rgb, resample_filter, normalize


def list_images(folder: Path | str) -> list[Path]:
    """Every image below `folder`, sorted: a flat folder and an ImageFolder tree both work."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            f"recipe key 'quantize.calibration' = {str(folder)!r}: not a folder (give \"random\" or a folder of images)"
        )
    return sorted(p for p in folder.rglob("*") if is_image(p))


def calibration_picks(images: list[Path], n: int, seed: int, folder: Path | str) -> list[Path]:
    """The `n` images of `images` the calibration uses: drawn without replacement with `seed`."""
    if len(images) < n:
        raise InputError(
            f"recipe key 'quantize.calibration': {folder} holds {len(images)} images but quantize.batches = {n}; "
            "add images or lower quantize.batches"
        )
    return [images[int(i)] for i in np.random.default_rng(seed).choice(len(images), size=n, replace=False)]


def calibration_fingerprint(folder: Path | str, n: int, seed: int) -> str:
    """The content of the calibration set: which images the folder holds (names) and the bytes of those used."""
    from ...build.identity import files_hash

    folder = Path(folder).expanduser()
    images = list_images(folder)
    names = hashlib.sha256("\n".join(p.relative_to(folder).as_posix() for p in images).encode()).hexdigest()
    return f"{names}:{files_hash(calibration_picks(images, n, seed, folder), folder)}"


def calibration_batches(
    folder: Path | str,
    resolution: Size,
    n: int,
    seed: int = 0,
    eval_config: EvalConfig = EvalConfig(),
    resize_only: bool = False,
) -> Iterator[np.ndarray]:
    """`n` float32 (1, 3, H, W) inputs from images drawn without replacement with `seed`.

    They go through the evaluation transform, so the quantizer sees what the evaluation feeds.
    With `resize_only` (segmentation), images are resized straight to (H, W) instead, as
    `cityscapes_batches` does. A CIFAR-10 folder gives images of its training batches, transformed
    as `cifar_batches` does.
    """
    if is_cifar_folder(folder):
        yield from _cifar_calibration(Path(folder), resolution, n, seed, eval_config)
        return
    images = list_images(folder)
    picks = calibration_picks(images, n, seed, folder)
    height, width = height_width(resolution)
    resample = resample_filter(eval_config.interpolation)
    crop_transform = EvalTransform.for_variant(resolution, eval_config)
    for path in picks:
        image = load_rgb(path)
        yield (normalize(image.resize((width, height), resample)) if resize_only else crop_transform(image))[None]


def calibration_pool_size(folder: Path | str) -> int:
    """How many images `calibration_batches` can draw from `folder`."""
    if is_cifar_folder(folder):
        return len(read_cifar(folder, "train").images)
    return len(list_images(folder))


def _cifar_calibration(
    folder: Path, resolution: Size, n: int, seed: int, eval_config: EvalConfig
) -> Iterator[np.ndarray]:
    dataset = read_cifar(folder, "train")
    if len(dataset.images) < n:
        raise InputError(
            f"recipe key 'quantize.calibration': {folder} holds {len(dataset.images)} training images but "
            f"quantize.batches = {n}; add batches or lower quantize.batches"
        )
    picks = np.random.default_rng(seed).choice(len(dataset.images), size=n, replace=False)
    for index in picks:
        yield cifar_image(dataset.images[int(index)], resolution, eval_config.interpolation)[None]
