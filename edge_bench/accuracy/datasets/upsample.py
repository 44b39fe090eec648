"""Segmentation logits resized to the label's size, as torch's interpolate(align_corners=False) does,
in numpy: the scoring side has no torch."""

from __future__ import annotations

import numpy as np

from ...errors import InputError


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
