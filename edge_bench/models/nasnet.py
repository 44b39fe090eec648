"""NASNet-A for CIFAR-10 (Zoph, Vasudevan, Shlens and Le, "Learning Transferable Architectures for
Scalable Image Recognition", CVPR 2018): by default NASNet-A (6 @ 768), the paper's 3.3 M-parameter
CIFAR-10 network (3.41% error, 2.65% with cutout).

"N @ F" names the network: N normal cells per stack, F filters in the penultimate layer. Three stacks
of N normal cells, separated by two reduction cells, follow a 3x3 convolution stem of 3 x `filters`
channels. A cell of F filters outputs a concatenation of its hidden states: 6 x F channels for a
normal cell (its earlier input and its five block results), 4 x F for a reduction cell. Filters double at each
reduction, so F = 6 x 4 x `filters` (768 for the default 32).

Fields (besides the common ones):
- `cells` (6): N, normal cells per stack.
- `filters` (32): filters of the first stack's cells; `width` multiplies it (filters x width must be an
  even whole number: the factorized reduction splits it in two halves).
- `num_classes` (10) and `resolution` (32): CIFAR-10's.
- `weights` "random" or a `checkpoint` (torchvision has no NASNet weights).

The cells follow the reference implementation of the paper's authors (TensorFlow-Slim's
`nasnet_utils`, the NASNet-A normal and reduction cells of the paper's Figure 4): every separable
convolution is applied twice (ReLU, depthwise k x k, pointwise 1x1, batch norm), the cell inputs are
brought to F channels (ReLU, 1x1, batch norm; a factorized reduction where the earlier input has twice
the resolution), average pooling ignores the padding. Inference only: no drop path and no auxiliary
head (both exist only while training), so the parameter count is the deployed network's.

Padding is PyTorch's symmetric padding of k // 2: output sizes equal TensorFlow's "SAME", but a
stride-2 window starts one pixel earlier; weights ported from TensorFlow would need TensorFlow's
asymmetric padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from . import weights


@dataclass(frozen=True)
class CellSpec:
    """A NASNet cell: five blocks, each adding two operations on two hidden states.

    Hidden state 0 is the previous cell's output, 1 the output of the cell before it; block b's
    result is hidden state b + 2. `inputs` and `operations` hold the left and right of each block;
    the cell outputs the concatenation of the `output` states.
    """

    operations: tuple[str, ...]
    inputs: tuple[int, ...]
    output: tuple[int, ...]


# The NASNet-A cells of the paper (Figure 4).
NORMAL = CellSpec(
    operations=(
        "sep_5x5",
        "sep_3x3",
        "sep_5x5",
        "sep_3x3",
        "avg_3x3",
        "identity",
        "avg_3x3",
        "avg_3x3",
        "sep_3x3",
        "identity",
    ),
    inputs=(0, 1, 1, 1, 0, 1, 1, 1, 0, 0),
    output=(1, 2, 3, 4, 5, 6),
)
REDUCTION = CellSpec(
    operations=(
        "sep_5x5",
        "sep_7x7",
        "max_3x3",
        "sep_7x7",
        "avg_3x3",
        "sep_5x5",
        "identity",
        "avg_3x3",
        "sep_3x3",
        "max_3x3",
    ),
    inputs=(0, 1, 0, 1, 0, 1, 3, 2, 2, 0),
    output=(3, 4, 5, 6),
)


def conv_bn(in_channels: int, out_channels: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """(ReLU,) 1x1 convolution, batch norm."""
    layers: list[nn.Module] = [nn.ReLU()] if relu else []
    layers += [nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)]
    return nn.Sequential(*layers)


class SeparableStack(nn.Sequential):
    """Two separable convolutions (ReLU, depthwise k x k, pointwise 1x1, batch norm); the first strides."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int):
        layers: list[nn.Module] = []
        for channels, step in ((in_channels, stride), (out_channels, 1)):
            layers += [
                nn.ReLU(),
                nn.Conv2d(channels, channels, kernel, stride=step, padding=kernel // 2, groups=channels, bias=False),
                nn.Conv2d(channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
            ]
        super().__init__(*layers)


class FactorizedReduction(nn.Module):
    """Halves the resolution without dropping pixels: two strided 1x1 convolutions, one on the image
    shifted by one pixel, each giving half the channels, batch-normed and concatenated."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"a factorized reduction needs an even channel count, got {out_channels}")
        self.path1 = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        self.path2 = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        # A batch norm per path: per channel, the same as one over the concatenation, and each folds
        # into its convolution (no runtime has an INT8 batch norm of its own).
        self.bn1 = nn.BatchNorm2d(out_channels // 2)
        self.bn2 = nn.BatchNorm2d(out_channels // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shifted = x[:, :, 1:, 1:]
        if x.shape[-2] % 2 or x.shape[-1] % 2:  # an odd side keeps its last, zero-padded, sample
            shifted = F.pad(shifted, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2))
        return torch.cat([self.bn1(self.path1(x)), self.bn2(self.path2(shifted))], dim=1)


def operation(name: str, in_channels: int, filters: int, stride: int) -> nn.Module:
    """One block operation, its output at `filters` channels."""
    kind, _, size = name.partition("_")
    if kind == "sep":
        return SeparableStack(in_channels, filters, int(size[0]), stride)
    if kind == "identity":
        return nn.Identity() if stride == 1 and in_channels == filters else conv_bn(in_channels, filters, stride)
    pool = (
        nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)
        if kind == "avg"
        else nn.MaxPool2d(3, stride, padding=1)
    )
    return pool if in_channels == filters else nn.Sequential(pool, conv_bn(in_channels, filters, relu=False))


@dataclass(frozen=True)
class State:
    """A hidden state's channels, and whether it is at half the resolution of the cell's input."""

    channels: int
    halved: bool = False


class Cell(nn.Module):
    """A NASNet cell of `filters` filters on the previous output `x` and the one before it, `prev`
    (`prev_channels` None: there is none, x stands in; `prev_larger`: prev has twice x's resolution)."""

    def __init__(
        self,
        spec: CellSpec,
        filters: int,
        x_channels: int,
        prev_channels: int | None,
        prev_larger: bool,
        reduction: bool,
    ):
        super().__init__()
        self.spec = spec
        # Bring prev to x's resolution and to `filters` channels.
        if prev_channels is None:
            self.prev, state1 = nn.Identity(), State(x_channels)
        elif prev_larger:
            self.prev, state1 = nn.Sequential(nn.ReLU(), FactorizedReduction(prev_channels, filters)), State(filters)
        elif prev_channels != filters:
            self.prev, state1 = conv_bn(prev_channels, filters), State(filters)
        else:
            self.prev, state1 = nn.Identity(), State(filters)
        self.base = conv_bn(x_channels, filters)
        states = [State(filters), state1]
        self.ops = nn.ModuleList()
        for b in range(len(spec.inputs) // 2):
            for side in (2 * b, 2 * b + 1):
                h = spec.inputs[side]
                stride = 2 if reduction and h < 2 else 1  # only the cell's own inputs are strided
                self.ops.append(operation(spec.operations[side], states[h].channels, filters, stride))
            states.append(State(filters, halved=reduction))
        # The output states are concatenated; one of another size is first brought to the last one's.
        self.align = nn.ModuleDict()
        for h in spec.output:
            if states[h] != states[-1]:
                self.align[str(h)] = (
                    FactorizedReduction(states[h].channels, filters)
                    if states[h].halved != states[-1].halved
                    else conv_bn(states[h].channels, filters, relu=False)
                )
        self.out_channels = filters * len(spec.output)

    def forward(self, x: torch.Tensor, prev: torch.Tensor | None) -> torch.Tensor:
        states = [self.base(x), self.prev(x if prev is None else prev)]
        for b in range(len(self.spec.inputs) // 2):
            left, right = self.spec.inputs[2 * b], self.spec.inputs[2 * b + 1]
            states.append(self.ops[2 * b](states[left]) + self.ops[2 * b + 1](states[right]))
        return torch.cat(
            [self.align[str(h)](states[h]) if str(h) in self.align else states[h] for h in self.spec.output], dim=1
        )


def reduction_cells(total_cells: int, reductions: int = 2) -> tuple[int, ...]:
    """Before which normal cells a reduction cell comes: evenly spaced (6 and 12 for 18 cells)."""
    return tuple(int(k / (reductions + 1) * total_cells) for k in range(1, reductions + 1))


class NASNetA(nn.Module):
    """NASNet-A: a stem, then `cells` normal cells per stack and a reduction cell between stacks.

    `stem` "cifar" is a 3x3 convolution of stem_multiplier x filters channels at full resolution;
    "imagenet" is the ImageNet networks' stem (a stride-2 3x3 convolution of 32 x stem_multiplier
    channels, then two reduction cells at filters / 4 and filters / 2), which builds NASNet-A Mobile
    (4 @ 1056: cells 4, filters 44, stem_multiplier 1) for checking the cells against its published
    counts.
    """

    def __init__(
        self,
        cells: int = 6,
        filters: int = 32,
        num_classes: int = 10,
        stem: str = "cifar",
        stem_multiplier: float = 3.0,
    ):
        super().__init__()
        self.cells = nn.ModuleList()
        # (channels, reductions so far) of every output so far; None: no output yet.
        outputs: list[tuple[int, int] | None]
        if stem == "cifar":
            stem_channels = int(filters * stem_multiplier)
            self.stem = nn.Sequential(
                nn.Conv2d(3, stem_channels, 3, padding=1, bias=False), nn.BatchNorm2d(stem_channels)
            )
            outputs = [None, (stem_channels, 0)]
        elif stem == "imagenet":
            stem_channels = int(32 * stem_multiplier)
            self.stem = nn.Sequential(
                nn.Conv2d(3, stem_channels, 3, stride=2, bias=False), nn.BatchNorm2d(stem_channels)
            )
            outputs = [None, (stem_channels, 0)]
            for scaling in (0.25, 0.5):
                self._add(REDUCTION, int(filters * scaling), outputs, reduction=True)
        else:
            raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}")
        scaling = 1
        reductions = reduction_cells(3 * cells)
        for n in range(3 * cells):
            if n in reductions:
                scaling *= 2
                self._add(REDUCTION, filters * scaling, outputs, reduction=True)
            self._add(NORMAL, filters * scaling, outputs, reduction=False)
        channels, _ = outputs[-1]  # type: ignore[misc]
        self.classifier = nn.Linear(channels, num_classes)

    def _add(self, spec: CellSpec, filters: int, outputs: list, reduction: bool) -> None:
        """A cell on the last two outputs; its own output appended."""
        prev, (x_channels, x_reductions) = outputs[-2], outputs[-1]
        cell = Cell(
            spec,
            filters,
            x_channels,
            None if prev is None else prev[0],
            prev is not None and prev[1] < x_reductions,
            reduction,
        )
        self.cells.append(cell)
        outputs.append((cell.out_channels, x_reductions + int(reduction)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        prev, x = None, self.stem(x)
        for cell in self.cells:
            prev, x = x, cell(x, prev)
        x = torch.flatten(F.adaptive_avg_pool2d(F.relu(x), 1), 1)
        return self.classifier(x)


def filters_of(fields: Mapping[str, Any]) -> int:
    """`filters` x `width`, checked by the arch's derive hook to be an even whole number."""
    return int(round(int(fields["filters"]) * float(fields["width"])))


def build(fields: Mapping[str, Any]) -> torch.nn.Module:
    source = weights.resolve(fields)
    torch.manual_seed(0)  # random weights are reproducible, so cached artifacts are too
    model = NASNetA(int(fields["cells"]), filters_of(fields), int(fields["num_classes"]))
    return weights.apply(model, source).eval()
