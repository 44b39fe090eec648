"""Evaluation and calibration images as float32 NCHW numpy arrays (PIL + numpy, no torch), one module a
format: `image_folder` (classification, ImageFolder), `cifar` (CIFAR-10's Python batches), `cityscapes`
(segmentation); what they share in `images` (the evaluation transform, an even subset), the logits'
upsampling for segmentation in `upsample`, and the quantizer's images, from either kind of folder, in
`calibration`.
"""

from .calibration import (
    calibration_batches,
    calibration_fingerprint,
    calibration_picks,
    calibration_pool_size,
    list_images,
)
from .cifar import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    CifarSet,
    cifar_batches,
    cifar_image,
    is_cifar_folder,
    read_cifar,
    read_cifar_batch,
)
from .cityscapes import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_TRAIN_IDS,
    IGNORE_INDEX,
    CityscapesPair,
    cityscapes_batches,
    labelids_to_trainids,
    read_cityscapes,
    read_label,
)
from .image_folder import ImageFolderSet, classification_batches, read_image_folder
from .images import (
    IMAGE_EXTENSIONS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    INTERPOLATIONS,
    EvalTransform,
    Size,
    center_crop,
    evenly_spaced,
    normalize,
    resize_shorter_side,
)
from .upsample import UPSAMPLE_MODES, upsample_logits

__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "CITYSCAPES_CLASSES",
    "CITYSCAPES_TRAIN_IDS",
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_EXTENSIONS",
    "INTERPOLATIONS",
    "UPSAMPLE_MODES",
    "CifarSet",
    "CityscapesPair",
    "EvalTransform",
    "ImageFolderSet",
    "Size",
    "calibration_batches",
    "calibration_fingerprint",
    "calibration_picks",
    "calibration_pool_size",
    "center_crop",
    "cifar_batches",
    "cifar_image",
    "cityscapes_batches",
    "classification_batches",
    "evenly_spaced",
    "is_cifar_folder",
    "labelids_to_trainids",
    "list_images",
    "normalize",
    "read_cifar",
    "read_cifar_batch",
    "read_cityscapes",
    "read_image_folder",
    "read_label",
    "resize_shorter_side",
    "upsample_logits",
]
