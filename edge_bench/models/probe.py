"""Roofline probes: two small networks, each built around the operators that measure one ceiling of a
target through the runtime as deployed (INT8, its XNNPACK delegate, the run's threads).

- `compute`: a 1x1 convolution of `channels` to `channels` at `resolution` (a large INT8 matrix
  product: hundreds of MACs per byte), then a 3x3 one at stride 2: the best MAC/s the runtime's
  kernels reach (XNNPACK runs a 1x1 convolution as a fully connected kernel, a 3x3 one as an IGEMM,
  and either may be the faster).
- `memory`: an addition of two INT8 feature maps of `channels` x `resolution`^2 (no MAC, three bytes
  moved per element) and the 1x1 convolutions from the image that make them: the best bytes/s any of
  them reaches is the streaming ceiling. Where the maps fit in the caches, that is the caches'
  bandwidth: the report names the operator and the bytes it moved.

Both start with 1x1 convolutions from the 3-channel image (the pipeline's input shape). The peaks are
what these operators achieve, measured under `run --profile-ops`: a ceiling measured by a
microbenchmark, not a datasheet figure.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from . import ROOFLINE_PROBES


class ComputeProbe(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.widen = nn.Conv2d(3, channels, 1)
        self.pointwise = nn.Conv2d(channels, channels, 1)
        self.spatial = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.pointwise(torch.relu(self.widen(x))))
        return torch.relu(self.spatial(x))


class MemoryProbe(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.left = nn.Conv2d(3, channels, 1)
        self.right = nn.Conv2d(3, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.left(x) + self.right(x)


def build(fields: Mapping[str, Any]) -> nn.Module:
    torch.manual_seed(0)
    probe = fields["probe"]
    if probe not in ROOFLINE_PROBES:  # a recipe's is refused earlier, when its fields are read
        raise ValueError(f"probe must be one of {', '.join(ROOFLINE_PROBES)}, got {probe!r}")
    channels = int(fields["channels"])
    return (ComputeProbe(channels) if probe == "compute" else MemoryProbe(channels)).eval()
