"""Accuracy (labels) and fidelity (INT8 vs FP32 outputs) of built artifacts: metrics and dataset readers."""

from .metrics import (
    ClassificationTally,
    FidelityTally,
    SegmentationTally,
    confusion_matrix,
    miou,
    per_class_iou,
    sqnr_db,
    top1_agreement,
    topk_accuracy,
)

__all__ = [
    "ClassificationTally",
    "FidelityTally",
    "SegmentationTally",
    "confusion_matrix",
    "miou",
    "per_class_iou",
    "sqnr_db",
    "top1_agreement",
    "topk_accuracy",
]
