"""Segmentation images in the Cityscapes layout: leftImg8bit/<split>/<city>/*_leftImg8bit.png with their
labels gtFine/<split>/<city>/*_gtFine_labelIds.png; label ids map to the 19 train ids (255 = ignore). The
image is resized straight to the variant's (H, W) input; the logits are upsampled back to the label's
size for scoring (`upsample.py`), so the labels are never resampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from ...errors import InputError
from .images import Size, height_width, load_rgb, resample_filter, evenly_spaced, normalize

# Cityscapes labelIds -> trainIds, from the official label table (cityscapesScripts labels.py):
# the 19 evaluated classes get 0..18, everything else (void, ignoreInEval) 255.
CITYSCAPES_TRAIN_IDS = {
    7: 0,  # road
    8: 1,  # sidewalk
    11: 2,  # building
    12: 3,  # wall
    13: 4,  # fence
    17: 5,  # pole
    19: 6,  # traffic light
    20: 7,  # traffic sign
    21: 8,  # vegetation
    22: 9,  # terrain
    23: 10,  # sky
    24: 11,  # person
    25: 12,  # rider
    26: 13,  # car
    27: 14,  # truck
    28: 15,  # bus
    31: 16,  # train
    32: 17,  # motorcycle
    33: 18,  # bicycle
}
CITYSCAPES_CLASSES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)  # fmt: skip
IGNORE_INDEX = 255

_LABEL_TO_TRAIN = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _label_id, _train_id in CITYSCAPES_TRAIN_IDS.items():
    _LABEL_TO_TRAIN[_label_id] = _train_id


def labelids_to_trainids(label_ids: np.ndarray) -> np.ndarray:
    """Cityscapes labelIds (0..255) -> train ids 0..18 as uint8, 255 for ignored ids."""
    label_ids = np.asarray(label_ids)
    if label_ids.size and (label_ids.min() < 0 or label_ids.max() > 255):
        raise ValueError(f"label ids must lie in [0, 255], got [{label_ids.min()}, {label_ids.max()}]")
    return _LABEL_TO_TRAIN[label_ids.astype(np.uint8)]


@dataclass(frozen=True)
class CityscapesPair:
    image: Path
    label: Path


def read_cityscapes(root: Path | str, split: str = "val", max_images: int | None = None) -> tuple[CityscapesPair, ...]:
    root = Path(root)
    images_dir = root / "leftImg8bit" / split
    if not images_dir.is_dir():
        raise InputError(f"--dataset {root}: no leftImg8bit/{split}/ folder (expected the Cityscapes layout)")
    pairs = []
    for image in sorted(images_dir.glob("*/*_leftImg8bit.png")):
        stem = image.name[: -len("_leftImg8bit.png")]
        label = root / "gtFine" / split / image.parent.name / f"{stem}_gtFine_labelIds.png"
        if not label.is_file():
            raise InputError(f"--dataset {root}: {image.relative_to(root)} has no label {label.relative_to(root)}")
        pairs.append(CityscapesPair(image, label))
    if not pairs:
        raise InputError(f"--dataset {root}: no leftImg8bit/{split}/<city>/*_leftImg8bit.png images")
    return tuple(evenly_spaced(pairs, max_images))


def read_label(path: Path) -> np.ndarray:
    """A *_gtFine_labelIds.png as train ids (H, W) uint8."""
    with Image.open(path) as image:
        if len(image.getbands()) != 1:
            raise InputError(f"{path}: a labelIds image must be single-channel, got mode {image.mode}")
        ids = np.asarray(image)
    try:
        return labelids_to_trainids(ids)
    except ValueError as e:
        raise InputError(f"{path}: {e}") from None


def cityscapes_batches(
    root: Path | str,
    size: Size,
    split: str = "val",
    max_images: int | None = None,
    interpolation: str = "bilinear",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(image (1, 3, H, W) float32, label (label_H, label_W) uint8 train ids), one image at a time
    since labels keep their full size. An int `size` H means the (H, 2H) Cityscapes aspect."""
    height, width = height_width(size, default_aspect=2.0)
    resample = resample_filter(interpolation)
    for pair in read_cityscapes(root, split, max_images):
        image = load_rgb(pair.image).resize((width, height), resample)
        yield normalize(image)[None], read_label(pair.label)
