"""Small networks for fast tests, registered as an arch only inside the tests that use them."""

from __future__ import annotations

import torch
from torch import nn

from edge_bench.models import ARCHS, Arch


class TinyCNN(nn.Module):
    """conv(3->4, 3x3, stride 2) + BN + ReLU -> conv(4->8, 3x3) + ReLU -> global pool -> linear(8->num_classes)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class TinyResidual(nn.Module):
    """conv(3->4) -> [conv(4->4) + skip] -> add: a skip connection the liveness peak must see."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.body = nn.Conv2d(4, 4, 1)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        a = self.stem(x)
        b = self.body(a)
        return self.head(a + b)


def build(fields) -> nn.Module:
    torch.manual_seed(0)
    return TinyCNN(fields["num_classes"]).eval()


def register() -> None:
    ARCHS["tinycnn"] = Arch("tinycnn", "tests.tinymodels:build")


TINY_RECIPE = """
description = "two tiny CNN variants for fast end-to-end tests"
[model]
arch = "tinycnn"
num_classes = 10
[sweep]
resolution = [16, 24]
[quantize]
batches = 2
"""


def tiny_recipe_file(folder) -> str:
    """Write the tiny recipe into `folder` and return its path (register() must have run)."""
    from pathlib import Path

    register()
    path = Path(folder) / "tiny.toml"
    path.write_text(TINY_RECIPE)
    return str(path)


# The roofline probes of the shipped recipe, small enough for a test; each operator still takes over the
# 20 µs a ceiling needs on a desktop core.
SMALL_ROOFLINE_PROBES = """
description = "small roofline probes"
[model]
arch = "roofline_probe"
[[variants]]
probe = "compute"
channels = 64
resolution = 32
[[variants]]
probe = "memory"
channels = 32
resolution = 64
[quantize]
batches = 1
"""


def small_roofline_probes(folder):
    """Write recipes/roofline.toml into `folder` and return it: a run with `folder` as its current folder
    finds these probes before the shipped ones."""
    from pathlib import Path

    (Path(folder) / "recipes").mkdir(exist_ok=True)
    (Path(folder) / "recipes" / "roofline.toml").write_text(SMALL_ROOFLINE_PROBES)
    return Path(folder)
