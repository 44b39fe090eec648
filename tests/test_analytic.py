"""The analytic model against hand computation on small networks, and the ResNet-50 reference."""

import torch
from torch import nn

from edge_bench.analytic import analyze_model, count_flops
from tests.tinymodels import TinyCNN


class TwoSkips(nn.Module):
    """a = stem(x); b = conv(a); c = conv(b); d = conv(c); out = (a + b) + d (d broadcast over channels)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.to_b = nn.Conv2d(4, 4, 1)
        self.to_c = nn.Conv2d(4, 1, 1)
        self.to_d = nn.Conv2d(1, 1, 1)

    def forward(self, x):
        a = self.stem(x)
        b = self.to_b(a)
        d = self.to_d(self.to_c(b))
        return (a + b) + d


def test_tiny_cnn_matches_hand_computation():
    # Input 1x3x16x16. conv1 (stride 2): 3x16x16 -> 4x8x8, BN and ReLU fused; conv2: 4x8x8 -> 8x8x8;
    # pool: 8x8x8 -> 8; linear 8 -> 10.
    result = analyze_model(TinyCNN(10), (1, 3, 16, 16))
    conv1_macs = 4 * 8 * 8 * (3 * 3 * 3)
    conv2_macs = 8 * 8 * 8 * (4 * 3 * 3)
    fc_macs = 8 * 10
    assert result["flops"] == 2 * (conv1_macs + conv2_macs + fc_macs)
    assert result["params"] == 108 + 8 + (288 + 8) + (80 + 10)
    # INT8 weights; INT32 biases (conv1's comes from folding its batch norm).
    assert result["weight_bytes"] == (108 + 4 * 4) + (288 + 8 * 4) + (80 + 10 * 4)
    # Largest input+output over operators: conv1, 768 + 256 elements, 1 byte each.
    assert result["activation_bytes"] == 768 + 256
    assert result["activation_op"].endswith("conv2d")
    assert result["memory_bytes"] == result["weight_bytes"] + result["activation_bytes"]
    assert result["liveness_bytes"] == 768 + 256


def test_liveness_counts_skip_connections():
    # 1x3x4x4 input, 16 positions: a, b, s, out have 64 elements; c, d 16; x 48.
    result = analyze_model(TwoSkips(), (1, 3, 4, 4))
    assert result["activation_bytes"] == 64 + 64 + 64  # the add a + b
    # While a + b runs, d (needed by the last add) is alive too: a, b, d and the sum.
    assert result["liveness_bytes"] == 64 + 64 + 16 + 64
    assert result["liveness_bytes"] >= result["activation_bytes"]


def test_flops_scale_with_resolution_squared():
    model = TinyCNN(10)
    small = count_flops(model, torch.randn(1, 3, 16, 16))
    large = count_flops(model, torch.randn(1, 3, 32, 32))
    fc_flops = 2 * 80  # the classifier does not grow with the image
    assert large - fc_flops == 4 * (small - fc_flops)


def test_resnet50_reference_gmacs():
    import torchvision

    result = analyze_model(torchvision.models.resnet50(), (1, 3, 224, 224))
    assert round(result["macs"] / 1e9, 2) == 4.09
    assert result["params"] == 25_557_032
