"""Accuracy and fidelity metrics on plain numpy arrays.

Units: accuracies (top-k, mIoU, top-1 agreement) are percentages in [0, 100], so that an accuracy
budget is written in points (0.75 = three quarters of a point). SQNR is in dB.

Ties in logits are common in INT8 outputs. They are broken the way `argmax` breaks them: among equal
scores the lower class index ranks first. Top-1 is therefore exactly `argmax == label`, and a model
that outputs a constant vector is not credited with every class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _check_logits(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits)
    labels = np.asarray(labels).reshape(-1)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, classes), got shape {logits.shape}")
    if logits.shape[0] != labels.shape[0]:
        raise ValueError(f"{logits.shape[0]} rows of logits for {labels.shape[0]} labels")
    if logits.shape[0] == 0:
        raise ValueError("no samples")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}), got [{labels.min()}, {labels.max()}]")
    return logits, labels.astype(np.int64)


def label_ranks(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """0-based rank of each sample's true class (0 = predicted first), ties broken like argmax."""
    logits, labels = _check_logits(logits, labels)
    rows = np.arange(logits.shape[0])
    true_score = logits[rows, labels][:, None]
    classes = np.arange(logits.shape[1])[None, :]
    above = logits > true_score
    tied_before = (logits == true_score) & (classes < labels[:, None])
    return (above | tied_before).sum(axis=1)


def topk_hits(logits: np.ndarray, labels: np.ndarray, k: int) -> int:
    """How many samples have their true class among the k best scores."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return int((label_ranks(logits, labels) < k).sum())


def topk_accuracy(logits: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Top-k accuracy in percent. `logits` is (N, classes), `labels` is (N,) class indices."""
    logits = np.asarray(logits)
    if logits.ndim == 2 and k > logits.shape[1]:
        raise ValueError(f"top-{k} of {logits.shape[1]} classes is meaningless")
    return 100.0 * topk_hits(logits, labels, k) / np.asarray(labels).size


def confusion_matrix(pred: np.ndarray, label: np.ndarray, n_classes: int, ignore_index: int | None = 255) -> np.ndarray:
    """(n_classes, n_classes) int64 counts: rows are the true class, columns the predicted one.

    Pixels whose label is `ignore_index` are left out. Any other label or prediction outside
    [0, n_classes) is an error, not something to drop silently.
    """
    pred = np.asarray(pred).reshape(-1).astype(np.int64)
    label = np.asarray(label).reshape(-1).astype(np.int64)
    if pred.shape != label.shape:
        raise ValueError(f"{pred.size} predictions for {label.size} labels")
    if ignore_index is not None:
        keep = label != ignore_index
        pred, label = pred[keep], label[keep]
    for name, values in (("label", label), ("prediction", pred)):
        if values.size and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(
                f"{name} values must lie in [0, {n_classes}) (or be {ignore_index}), got [{values.min()}, {values.max()}]"
            )
    counts = np.bincount(label * n_classes + pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def per_class_iou(confusion: np.ndarray) -> np.ndarray:
    """IoU of each class, TP / (TP + FP + FN); NaN for a class absent from both labels and predictions."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.where(union > 0, union, 1.0), np.nan)


def miou(confusion: np.ndarray) -> float:
    """Mean IoU in percent over the classes present in the labels or the predictions.

    A class that appears in neither has no defined IoU (0/0) and is excluded from the mean, as in
    the Cityscapes evaluation; a class predicted but never labelled counts with IoU 0. The confusion
    matrix is accumulated over the whole dataset before this is taken (not averaged per image).
    NaN when no class is present at all.
    """
    ious = per_class_iou(confusion)
    present = ~np.isnan(ious)
    return float(100.0 * ious[present].mean()) if present.any() else float("nan")


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio, 10 log10(sum ref^2 / sum (ref - test)^2), in dB.

    +inf when the two are equal; -inf when the reference is all zeros and the test is not.
    """
    signal, noise = _energies(reference, test)
    return _sqnr_from_energies(signal, noise)


def _energies(reference: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(test, dtype=np.float64)
    if ref.shape != out.shape:
        raise ValueError(f"reference shape {ref.shape} differs from test shape {out.shape}")
    return float(np.sum(ref * ref)), float(np.sum((ref - out) ** 2))


def _sqnr_from_energies(signal: float, noise: float) -> float:
    if noise == 0.0:
        return float("inf")
    if signal == 0.0:
        return float("-inf")
    return float(10.0 * np.log10(signal / noise))


def top1_agreement(ref_logits: np.ndarray, test_logits: np.ndarray, axis: int = 1) -> float:
    """Percent of positions where both outputs pick the same class (argmax along `axis`).

    axis=1 is the class axis of both (N, classes) and (N, classes, H, W) outputs.
    """
    agree, total = _agreement_counts(ref_logits, test_logits, axis)
    if total == 0:
        raise ValueError("no samples")
    return 100.0 * agree / total


def _agreement_counts(ref_logits: np.ndarray, test_logits: np.ndarray, axis: int) -> tuple[int, int]:
    ref = np.asarray(ref_logits)
    out = np.asarray(test_logits)
    if ref.shape != out.shape:
        raise ValueError(f"reference shape {ref.shape} differs from test shape {out.shape}")
    same = np.argmax(ref, axis=axis) == np.argmax(out, axis=axis)
    return int(same.sum()), int(same.size)


# ---------------------------------------------------------------- running tallies over a dataset


@dataclass
class ClassificationTally:
    """Top-1 / top-5 over batches of (N, classes) logits."""

    n: int = 0
    top1_hits: int = 0
    top5_hits: int = 0
    n_classes: int | None = None

    def update(self, logits: np.ndarray, labels: np.ndarray) -> None:
        ranks = label_ranks(logits, labels)
        self.n_classes = np.asarray(logits).shape[1]
        self.n += ranks.size
        self.top1_hits += int((ranks < 1).sum())
        self.top5_hits += int((ranks < 5).sum())

    def result(self) -> dict[str, float | int | None]:
        """{"top1", "top5", "n"}; top5 is None with fewer than 5 classes, both None with no sample."""
        if self.n == 0:
            return {"top1": None, "top5": None, "n": 0}
        top5 = 100.0 * self.top5_hits / self.n if (self.n_classes or 0) >= 5 else None
        return {"top1": 100.0 * self.top1_hits / self.n, "top5": top5, "n": self.n}


@dataclass
class SegmentationTally:
    """mIoU over images: logits already at label size, confusion accumulated over the dataset."""

    n_classes: int = 19
    ignore_index: int = 255
    n_images: int = 0
    confusion: np.ndarray | None = field(default=None, repr=False)

    def update(self, logits: np.ndarray, label: np.ndarray) -> None:
        """`logits` (N, classes, H, W) or (classes, H, W); `label` (N, H, W) or (H, W) train ids."""
        logits = np.asarray(logits)
        if logits.ndim == 3:
            logits = logits[None]
        if logits.shape[1] != self.n_classes:
            raise ValueError(f"{logits.shape[1]} output classes, expected {self.n_classes}")
        label = np.asarray(label).reshape(logits.shape[0], *logits.shape[2:])
        matrix = confusion_matrix(np.argmax(logits, axis=1), label, self.n_classes, self.ignore_index)
        self.confusion = matrix if self.confusion is None else self.confusion + matrix
        self.n_images += logits.shape[0]

    def result(self) -> dict[str, float | int | None]:
        """{"miou", "n"}: mIoU in percent (None with no image)."""
        if self.confusion is None:
            return {"miou": None, "n": 0}
        return {"miou": miou(self.confusion), "n": self.n_images}


@dataclass
class FidelityTally:
    """SQNR and top-1 agreement of a test output (INT8 artifact) against a reference (FP32 model).

    SQNR is taken over the whole dataset: total signal energy over total noise energy, so samples
    with small outputs do not dominate as they would in a mean of per-sample dBs.
    """

    signal: float = 0.0
    noise: float = 0.0
    agree: int = 0
    positions: int = 0
    n: int = 0

    def update(self, reference: np.ndarray, test: np.ndarray, axis: int = 1) -> None:
        signal, noise = _energies(reference, test)
        agree, positions = _agreement_counts(reference, test, axis)
        self.signal += signal
        self.noise += noise
        self.agree += agree
        self.positions += positions
        self.n += np.asarray(reference).shape[0]

    def result(self) -> dict[str, float | int | None]:
        """{"sqnr_db", "top1_agreement", "n"}; None with no sample. sqnr_db may be +inf (identical)."""
        if self.n == 0:
            return {"sqnr_db": None, "top1_agreement": None, "n": 0}
        return {
            "sqnr_db": _sqnr_from_energies(self.signal, self.noise),
            "top1_agreement": 100.0 * self.agree / self.positions,
            "n": self.n,
        }
