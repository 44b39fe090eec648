"""RegSeg (exp48 encoder + decoder26), the real-time semantic segmentation network of
Gao, "Rethinking Dilated Convolution for Real-time Semantic Segmentation" (2021).

Architecture (19 Cityscapes classes by default):
- stem: 3x3 conv stride 2, 32 channels, BN, ReLU.
- encoder exp48, made of D-blocks: 1x1 conv -> BN-ReLU -> 3x3 grouped conv (group width 16; with two
  dilation rates the channels are split in two halves, each convolved with its own dilation) -> BN-ReLU
  -> squeeze-excitation (squeeze to block input channels / 4) -> 1x1 conv -> BN, plus the shortcut
  (identity, or 2x2 average pool when strided then 1x1 conv + BN), then ReLU.
    1/4:  D(32->48, stride 2)
    1/8:  D(48->128, stride 2), 2 x D(128)
    1/16: D(128->256, stride 2), D(256, d=1), D(256, d=1,2), 4 x D(256, d=1,4), 6 x D(256, d=1,14),
          D(256->320, d=1,14)
- decoder26: 1x1 heads (1/16: 320->128, 1/8: 128->128, 1/4: 48->8, each conv-BN-ReLU); 1/16 upsampled
  to 1/8 and added; 3x3 conv-BN-ReLU to 64; upsampled to 1/4 and concatenated with the 1/4 head
  (64+8); 3x3 conv-BN-ReLU to 64; 1x1 classifier.
- the logits are resized bilinearly (align_corners=False) to the input size, inside the model.

Module names follow the authors' code, so their state_dicts load through the `checkpoint` field; the
one difference, a batch norm per part of a split convolution (see `DilatedConv`), is translated by
`RegSeg.adapt_state_dict`.

`width` (group-width scaling, the regseg-ms recipe): the group width becomes 16 x width, which must
be a whole number (width a multiple of 1/16), and every stem and encoder channel count c becomes
(c / 16) x (16 x width) = c x width exactly. The number of groups of every grouped convolution
(channels / group width) is therefore unchanged; only each group gets wider or narrower. The decoder,
which has no grouped convolution, has its channel counts multiplied by width and rounded to the
nearest whole number (at least 1): 128, 64 and 8 become 96, 48 and 6 at width 0.75. The squeeze
widths follow the block inputs (c / 4).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InputError
from . import weights

GROUP_WIDTH = 16
# exp48: dilation rates of the 1/16 stage's blocks after its strided first block.
EXP48_DILATIONS: tuple[tuple[int, ...], ...] = ((1,), (1, 2)) + 4 * ((1, 4),) + 7 * ((1, 14),)


def group_width(width: float) -> int:
    """16 x width, refused unless whole: the number of groups per convolution must stay constant."""
    exact = GROUP_WIDTH * width
    if exact <= 0 or exact != int(exact):
        raise InputError(
            f"arch 'regseg': width {width} gives a group width of {exact}; use a multiple of 1/16 (e.g. 0.75, 0.5)"
        )
    return int(exact)


class ConvBnAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU(inplace=True)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, squeeze, 1)
        self.conv2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.conv2(torch.relu(self.conv1(y))))


class Shortcut(nn.Module):
    """1x1 projection; when strided, a 2x2 average pool first (ceil mode, like the strided 3x3 conv)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            # Ceil mode only changes odd sizes; asked for only then, since XNNPACK has no ceil-mode
            # pooling and would leave the op outside its delegate. Shapes are static when exported.
            odd = bool(x.shape[-2] % 2 or x.shape[-1] % 2)
            x = F.avg_pool2d(x, 2, 2, ceil_mode=odd)
        return self.bn(self.conv(x))


class DilatedConv(nn.Module):
    """The channels split in equal parts, each a grouped 3x3 convolution with its own dilation rate,
    followed by its own batch norm.

    The authors normalize after the concatenation; batch norm works per channel, so a batch norm per
    part computes the same thing. Placed right after each convolution it folds into it, where a batch
    norm after a concatenation is left standing (unquantized) by the PT2E quantizers and the runtimes.
    `RegSeg.adapt_state_dict` splits the authors' single batch norm into the parts.
    """

    def __init__(self, channels: int, dilations: Sequence[int], gw: int, stride: int):
        super().__init__()
        part = channels // len(dilations)
        if part * len(dilations) != channels or part % gw:
            raise ValueError(f"{channels} channels do not split into {len(dilations)} parts of whole groups of {gw}")
        self.part = part
        self.convs = nn.ModuleList(
            nn.Conv2d(part, part, 3, stride, d, d, groups=part // gw, bias=False) for d in dilations
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(part) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Slices rather than torch.split: XNNPACK delegates static slices, not split_with_sizes.
        parts = [x[:, i * self.part : (i + 1) * self.part] for i in range(len(self.convs))]
        return torch.cat([bn(conv(p)) for conv, bn, p in zip(self.convs, self.bns, parts)], dim=1)


class DBlock(nn.Module):
    def __init__(self, cin: int, cout: int, dilations: Sequence[int], gw: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        if len(dilations) == 1:
            d = dilations[0]
            self.conv2: nn.Module = nn.Conv2d(cout, cout, 3, stride, d, d, groups=cout // gw, bias=False)
            self.bn2: nn.Module = nn.BatchNorm2d(cout)
        else:
            self.conv2 = DilatedConv(cout, dilations, gw, stride)
            self.bn2 = nn.Identity()  # one batch norm per part, inside conv2
        self.se = SqueezeExcite(cout, cin // 4)
        self.conv3 = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = Shortcut(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.shortcut(x) if self.shortcut is not None else x
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(self.se(x)))
        return torch.relu(x + skip)


class Exp48(nn.Module):
    """The encoder; outputs at 1/4, 1/8 and 1/16 of the input."""

    def __init__(self, gw: int):
        super().__init__()
        c = lambda n: n // GROUP_WIDTH * gw  # noqa: E731  (channel counts in whole groups)
        self.channels = (c(48), c(128), c(320))
        self.stage4 = DBlock(c(32), c(48), (1,), gw, 2)
        self.stage8 = nn.Sequential(
            DBlock(c(48), c(128), (1,), gw, 2), DBlock(c(128), c(128), (1,), gw, 1), DBlock(c(128), c(128), (1,), gw, 1)
        )
        self.stage16 = nn.Sequential(
            DBlock(c(128), c(256), (1,), gw, 2),
            *(DBlock(c(256), c(256), d, gw, 1) for d in EXP48_DILATIONS[:-1]),
            DBlock(c(256), c(320), EXP48_DILATIONS[-1], gw, 1),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x4 = self.stage4(x)
        x8 = self.stage8(x4)
        return x4, x8, self.stage16(x8)


class Decoder26(nn.Module):
    def __init__(self, num_classes: int, channels: tuple[int, int, int], width: float):
        super().__init__()
        w = lambda n: max(1, int(n * width + 0.5))  # noqa: E731  (ungrouped: nearest whole count)
        c4, c8, c16 = channels
        self.head16 = ConvBnAct(c16, w(128))
        self.head8 = ConvBnAct(c8, w(128))
        self.head4 = ConvBnAct(c4, w(8))
        self.conv8 = ConvBnAct(w(128), w(64), 3, 1, 1)
        self.conv4 = ConvBnAct(w(64) + w(8), w(64), 3, 1, 1)
        self.classifier = nn.Conv2d(w(64), num_classes, 1)

    def forward(self, x4: torch.Tensor, x8: torch.Tensor, x16: torch.Tensor) -> torch.Tensor:
        x16 = F.interpolate(self.head16(x16), size=x8.shape[-2:], mode="bilinear", align_corners=False)
        x8 = self.conv8(self.head8(x8) + x16)
        x8 = F.interpolate(x8, size=x4.shape[-2:], mode="bilinear", align_corners=False)
        return self.classifier(self.conv4(torch.cat((x8, self.head4(x4)), dim=1)))


class RegSeg(nn.Module):
    def __init__(self, num_classes: int = 19, width: float = 1.0):
        super().__init__()
        gw = group_width(width)
        self.stem = ConvBnAct(3, 32 // GROUP_WIDTH * gw, 3, 2, 1)
        self.body = Exp48(gw)
        self.decoder = Decoder26(num_classes, self.body.channels, width)

    def adapt_state_dict(self, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The authors' layout -> ours: a D-block's `bn2` after a split convolution becomes one batch
        norm per part (`conv2.bns.<i>`), each taking its slice of the channels."""
        own = self.state_dict()
        out: dict[str, torch.Tensor] = {}
        for key, tensor in state.items():
            block, sep, name = key.rpartition(".bn2.")
            if sep and f"{block}.conv2.bns.0.{name}" in own and f"{block}.bn2.{name}" not in own:
                parts = sum(1 for k in own if k.startswith(f"{block}.conv2.bns.") and k.endswith(f".{name}"))
                pieces = [tensor] * parts if tensor.dim() == 0 else torch.chunk(tensor, parts)
                for i, piece in enumerate(pieces):
                    out[f"{block}.conv2.bns.{i}.{name}"] = piece.clone()
            else:
                out[key] = tensor
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        logits = self.decoder(*self.body(self.stem(x)))
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def build(fields: Mapping[str, Any]) -> torch.nn.Module:
    source = weights.resolve(fields)
    torch.manual_seed(0)  # random weights are reproducible, so cached artifacts are too
    model = RegSeg(int(fields["num_classes"]), float(fields["width"]))
    return weights.apply(model, source).eval()
