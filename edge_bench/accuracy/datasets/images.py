"""What every dataset reader shares: images as float32 (3, H, W) numpy arrays (PIL + numpy, no torch).

The evaluation transform is the classic one: resize the shorter side to K = round(crop / resize_ratio),
centre crop to the variant's resolution, ImageNet mean/std. A subset of a dataset is spread evenly over
it (`evenly_spaced`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ...config import EvalConfig
from ...errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# The names torchvision's InterpolationMode uses, mapped to PIL's filters (PIL resizes antialiased).
INTERPOLATIONS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
}

Size = int | tuple[int, int]


def height_width(size: Size, default_aspect: float = 1.0) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(round(int(size) * default_aspect))
    h, w = size
    return int(h), int(w)


def resample_filter(interpolation: str, key: str = "eval.interpolation") -> Image.Resampling:
    if interpolation not in INTERPOLATIONS:
        raise InputError(f"recipe key '{key}' = {interpolation!r} is unknown (known: {', '.join(INTERPOLATIONS)})")
    return INTERPOLATIONS[interpolation]


def normalize(image: Image.Image) -> np.ndarray:
    """RGB image -> (3, H, W) float32, scaled to [0, 1] then ImageNet mean/std normalized."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return ((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1).copy()


@dataclass(frozen=True)
class EvalTransform:
    """Resize the shorter side to `resize` (K), centre crop to `crop` (H, W), normalize."""

    crop: tuple[int, int]
    resize: int
    interpolation: str = "bilinear"

    @classmethod
    def for_variant(cls, size: Size, config: EvalConfig = EvalConfig()) -> "EvalTransform":
        """K = round(crop / resize_ratio); for a non-square crop, from its longer side so it fits."""
        if not 0 < config.resize_ratio <= 1:
            raise InputError(
                f"recipe key 'eval.resize_ratio' must be in (0, 1] (crop / K, e.g. 0.875), got {config.resize_ratio}"
            )
        resample_filter(config.interpolation)
        crop = height_width(size)
        return cls(crop=crop, resize=int(round(max(crop) / config.resize_ratio)), interpolation=config.interpolation)

    def __call__(self, image: Image.Image) -> np.ndarray:
        return normalize(center_crop(resize_shorter_side(image, self.resize, self.interpolation), self.crop))


def resize_shorter_side(image: Image.Image, size: int, interpolation: str = "bilinear") -> Image.Image:
    """torchvision's Resize(int): shorter side -> size, longer side -> int(size * long / short)."""
    w, h = image.size
    short, long = min(w, h), max(w, h)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return image
    return image.resize((new_w, new_h), resample_filter(interpolation))


def center_crop(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """torchvision's CenterCrop offsets (Python's round); the crop must fit inside the image."""
    crop_h, crop_w = size
    w, h = image.size
    if crop_h > h or crop_w > w:
        raise ValueError(f"crop {crop_h}x{crop_w} is larger than the image {h}x{w}")
    top = int(round((h - crop_h) / 2.0))
    left = int(round((w - crop_w) / 2.0))
    return image.crop((left, top, left + crop_w, top + crop_h))


def load_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as e:
        raise InputError(f"{path}: not a readable image ({e})") from None


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def _check_max_images(max_images: int | None) -> None:
    if max_images is not None and (not isinstance(max_images, int) or max_images < 1):
        raise InputError(f"max_images must be a positive integer, got {max_images!r}")


def evenly_spaced(items: Sequence, max_items: int | None) -> list:
    """At most `max_items` of `items`, spread evenly over the sequence.

    ImageFolder lists images class by class: the first N would cover only the first classes.
    """
    _check_max_images(max_items)
    if max_items is None or max_items >= len(items):
        return list(items)
    picks = np.linspace(0, len(items), num=max_items, endpoint=False).astype(int)
    return [items[i] for i in picks]
