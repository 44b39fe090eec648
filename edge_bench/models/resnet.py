"""ResNet-50 (v1.5, and v1) with a uniform width multiplier and an optional resize after the stem (FCR).

Two architectures share this builder:
- `resnet50` is torchvision's ResNet-50, "v1.5": a downsampling bottleneck (the first block of
  stages 2, 3 and 4) strides its 3x3 convolution. 4.09 GMACs at 224, the figure torchvision quotes.
- `resnet50_v1` is the network of the ResNet paper (He et al. 2016): the stride sits on the block's
  first 1x1 convolution, so that convolution runs at the lower resolution and the block costs less:
  3.86 GMACs at 224 (4.09 minus 3 x 77.07 M, the three strided 1x1 convolutions at a quarter of
  their v1.5 cost). Same layers, same parameter shapes, same random weights as v1.5; torchvision's
  pretrained ResNet-50 weights are v1.5 weights and are refused for it (give a v1 `checkpoint`).

Fields (besides the common ones):
- `width`: every convolution's channel count times the multiplier: the stem (64), each stage's
  bottleneck planes (64, 128, 256, 512; expansion 4 kept, so block outputs are 4 x planes), the
  downsample projections following the block outputs, and the classifier input (4 x the last planes).
  A scaled count that is not a whole number is rounded to the nearest multiple of 8 (at least 8), the
  granularity vector units favour; widths 1.0, 0.75, 0.5 and 0.25 give whole numbers, so no rounding.
- `resize_after_stem` (0: off): the input stays at `resolution`; right after the stem convolution
  (conv1 + bn1 + relu) the activations are resized bilinearly (align_corners=False) to
  resize_after_stem x round(resize_after_stem x aspect), before the max-pool. The resize is part of
  the model, hence of the exported graph.
- `weights`, `checkpoint`: see `weights.py`; pretrained torchvision weights only at width 1.0.

At width 1.0 the model is torchvision's ResNet-50, parameter for parameter (same construction order,
hence the same random weights under the same seed).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models.resnet import Bottleneck, ResNet

from . import weights

STEM = 64
PLANES = (64, 128, 256, 512)
BLOCKS = (3, 4, 6, 3)


def scaled(channels: int, width: float) -> int:
    """`channels x width`, rounded to the nearest multiple of 8 (at least 8) only when not whole."""
    exact = channels * width
    if exact == int(exact):
        return max(1, int(exact))
    return max(8, int(round(exact / 8)) * 8)


class ScaledResNet50(ResNet):
    """torchvision's ResNet built from its own `Bottleneck` and `_make_layer`, at any width."""

    def __init__(
        self,
        width: float = 1.0,
        num_classes: int = 1000,
        resize_after_stem: tuple[int, int] | None = None,
        stride_in_1x1: bool = False,
    ):
        nn.Module.__init__(self)
        # The attributes and construction order of torchvision.models.resnet.ResNet.__init__, so
        # that `_make_layer` works unchanged and width 1.0 reproduces torchvision's weights.
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = scaled(STEM, width)
        self.dilation = 1
        self.groups = 1
        self.base_width = 64  # Bottleneck's inner width = planes x base_width / 64 = planes
        self.resize_after_stem = resize_after_stem
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        planes = [scaled(p, width) for p in PLANES]
        self.layer1 = self._make_layer(Bottleneck, planes[0], BLOCKS[0])
        self.layer2 = self._make_layer(Bottleneck, planes[1], BLOCKS[1], stride=2)
        self.layer3 = self._make_layer(Bottleneck, planes[2], BLOCKS[2], stride=2)
        self.layer4 = self._make_layer(Bottleneck, planes[3], BLOCKS[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes[3] * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if stride_in_1x1:
            move_stride_to_1x1(self)

    def _forward_impl(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        if self.resize_after_stem is not None:
            x = F.interpolate(x, size=self.resize_after_stem, mode="bilinear", align_corners=False)
        x = self.maxpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def move_stride_to_1x1(model: ResNet) -> None:
    """ResNet v1: each downsampling bottleneck strides its first 1x1 convolution instead of its 3x3.

    A stride is no parameter: the weights stay as they are (the projection shortcut already strides
    its own 1x1 convolution in both versions).
    """
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        first = stage[0]
        if first.conv2.stride != (1, 1):
            first.conv1.stride, first.conv2.stride = first.conv2.stride, (1, 1)


def build(fields: Mapping[str, Any], stride_in_1x1: bool = False) -> torch.nn.Module:
    source = weights.resolve(fields)
    size = int(fields["resize_after_stem"])
    resize = (size, int(round(size * float(fields["aspect"])))) if size > 0 else None
    torch.manual_seed(0)  # random weights are reproducible, so cached artifacts are too
    model = ScaledResNet50(float(fields["width"]), int(fields["num_classes"]), resize, stride_in_1x1)
    return weights.apply(model, source).eval()


def build_v1(fields: Mapping[str, Any]) -> torch.nn.Module:
    """ResNet-50 v1 (stride on the first 1x1 convolution of each downsampling block)."""
    return build(fields, stride_in_1x1=True)
