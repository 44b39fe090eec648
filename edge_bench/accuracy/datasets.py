"""Evaluation and calibration images as float32 NCHW numpy arrays (PIL + numpy, no torch).

Classification (ImageFolder layout, as torchvision reads it): one folder per class under the root,
class index = position of the folder name in sorted order, images .jpg/.jpeg/.png at any depth
below their class folder. The evaluation transform is the classic one: resize the shorter side to
K = round(crop / resize_ratio), centre crop to the variant's resolution, ImageNet mean/std.

CIFAR-10 (its standard Python batches, as https://www.cs.toronto.edu/~kriz/cifar.html ships them in
cifar-10-batches-py/): `data_batch_1`..`data_batch_5` (training) and `test_batch`, each a pickled dict
whose `data` is an N x 3072 uint8 array (the 1024 red, then green, then blue values of a 32x32 image,
row-major) and `labels` N class indices; `batches.meta` names the classes. Accuracy is scored on
`test_batch`, calibration draws from the training batches. An image is resized as a whole to the
variant's resolution (no crop: that is the resolution downsizing studied) and normalized with CIFAR-10's
per-channel training-set mean and standard deviation.

Segmentation (Cityscapes layout): leftImg8bit/<split>/<city>/*_leftImg8bit.png with their labels
gtFine/<split>/<city>/*_gtFine_labelIds.png; label ids map to the 19 train ids (255 = ignore). The
image is resized straight to the variant's (H, W) input; the logits are upsampled back to the label's
size for scoring, so the labels are never resampled.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from ..config import EvalConfig
from ..errors import InputError

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


def _hw(size: Size, default_aspect: float = 1.0) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(round(int(size) * default_aspect))
    h, w = size
    return int(h), int(w)


def _resample(interpolation: str, key: str = "eval.interpolation") -> Image.Resampling:
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
        _resample(config.interpolation)
        crop = _hw(size)
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
    return image.resize((new_w, new_h), _resample(interpolation))


def center_crop(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """torchvision's CenterCrop offsets (Python's round); the crop must fit inside the image."""
    crop_h, crop_w = size
    w, h = image.size
    if crop_h > h or crop_w > w:
        raise ValueError(f"crop {crop_h}x{crop_w} is larger than the image {h}x{w}")
    top = int(round((h - crop_h) / 2.0))
    left = int(round((w - crop_w) / 2.0))
    return image.crop((left, top, left + crop_w, top + crop_h))


def _load_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as e:
        raise InputError(f"{path}: not a readable image ({e})") from None


def _is_image(path: Path) -> bool:
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


# ---------------------------------------------------------------- classification


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
        for path in sorted(p for p in (root / name).rglob("*") if _is_image(p))
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
        images = np.stack([transform(_load_rgb(path)) for path, _ in chunk])
        yield images, np.array([label for _, label in chunk], dtype=np.int64)


# ---------------------------------------------------------------- CIFAR-10

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
    height, width = _hw(size)
    picture = Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0)))
    if (width, height) != picture.size:
        picture = picture.resize((width, height), _resample(interpolation))
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
    _resample(interpolation)
    for start in range(0, len(dataset.images), batch_size):
        chunk = dataset.images[start : start + batch_size]
        images = np.stack([cifar_image(image, size, interpolation) for image in chunk])
        yield images, dataset.labels[start : start + batch_size]


# ---------------------------------------------------------------- segmentation (Cityscapes)

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
    height, width = _hw(size, default_aspect=2.0)
    resample = _resample(interpolation)
    for pair in read_cityscapes(root, split, max_images):
        image = _load_rgb(pair.image).resize((width, height), resample)
        yield normalize(image)[None], read_label(pair.label)


# ---------------------------------------------------------------- upsampling logits


def _linear_weights(in_size: int, out_size: int) -> np.ndarray:
    """(out, in) matrix of 1-D linear interpolation, half-pixel centres (align_corners=False)."""
    scale = in_size / out_size
    src = np.maximum((np.arange(out_size) + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    frac = src - i0
    weights = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    np.add.at(weights, (rows, i0), 1.0 - frac)
    np.add.at(weights, (rows, i1), frac)
    return weights


def _cubic_weights(in_size: int, out_size: int, a: float = -0.75) -> np.ndarray:
    """(out, in) matrix of Keys cubic convolution (a = -0.75 as in PyTorch), edges replicated."""
    scale = in_size / out_size
    src = (np.arange(out_size) + 0.5) * scale - 0.5
    i0 = np.floor(src).astype(np.int64)
    t = src - i0

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    taps = (far(t + 1), near(t), near(1 - t), far(2 - t))
    weights = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    for offset, w in zip((-1, 0, 1, 2), taps):
        np.add.at(weights, (rows, np.clip(i0 + offset, 0, in_size - 1)), w)
    return weights


UPSAMPLE_MODES = {"bilinear": _linear_weights, "bicubic": _cubic_weights}


def upsample_logits(logits: np.ndarray, size: tuple[int, int], mode: str = "bilinear") -> np.ndarray:
    """Resize (..., h, w) logits to (..., H, W) as torch's interpolate(align_corners=False) does.

    Separable: one (H, h) and one (W, w) weight matrix, applied as two matrix products.
    """
    if mode not in UPSAMPLE_MODES:
        raise InputError(f"upsampling mode {mode!r} is unknown (known: {', '.join(UPSAMPLE_MODES)})")
    logits = np.asarray(logits)
    if logits.ndim < 2:
        raise ValueError(f"logits must have at least 2 (spatial) dimensions, got shape {logits.shape}")
    h, w = logits.shape[-2:]
    out_h, out_w = size
    rows = UPSAMPLE_MODES[mode](h, out_h).astype(np.float32)
    cols = UPSAMPLE_MODES[mode](w, out_w).astype(np.float32)
    return (rows @ logits.astype(np.float32) @ cols.T).astype(np.float32)


# ---------------------------------------------------------------- calibration


def list_images(folder: Path | str) -> list[Path]:
    """Every image below `folder`, sorted: a flat folder and an ImageFolder tree both work."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            f"recipe key 'quantize.calibration' = {str(folder)!r}: not a folder (give \"random\" or a folder of images)"
        )
    return sorted(p for p in folder.rglob("*") if _is_image(p))


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
    from ..build.identity import files_hash

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
    height, width = _hw(resolution)
    resample = _resample(eval_config.interpolation)
    crop_transform = EvalTransform.for_variant(resolution, eval_config)
    for path in picks:
        image = _load_rgb(path)
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
