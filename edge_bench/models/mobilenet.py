"""MobileNetV2: torchvision's model with its width multiplier (`width_mult = width`).

torchvision rounds every scaled channel count to a multiple of 8 (its `_make_divisible`). The
resolution multiplier is the input size alone (`resolution`). `weights`/`checkpoint`: see
`weights.py`; pretrained torchvision weights only at width 1.0.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torchvision

from . import weights


def build(fields: Mapping[str, Any]) -> torch.nn.Module:
    source = weights.resolve(fields)
    torch.manual_seed(0)  # random weights are reproducible, so cached artifacts are too
    model = torchvision.models.mobilenet_v2(num_classes=int(fields["num_classes"]), width_mult=float(fields["width"]))
    return weights.apply(model, source).eval()
