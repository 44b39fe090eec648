"""MobileNetV2: torchvision's width multiplier, resolution from the input only."""

from __future__ import annotations

import pytest
import torch
import torchvision

from edge_bench.models import ARCHS, input_shape


def fields(**point):
    return ARCHS["mobilenet_v2"].normalize(point, "test.toml")


@pytest.mark.parametrize("width", [1.0, 0.5])
def test_width_is_torchvisions_width_mult(width):
    torch.manual_seed(0)
    reference = torchvision.models.mobilenet_v2(width_mult=width, num_classes=10).state_dict()
    ours = ARCHS["mobilenet_v2"].build(fields(width=width, num_classes=10)).state_dict()
    assert list(ours) == list(reference) and all(torch.equal(ours[k], reference[k]) for k in reference)


def test_resolution_changes_the_input_not_the_model():
    small, large = fields(resolution=96), fields(resolution=160)
    assert input_shape(small) == (1, 3, 96, 96) and input_shape(large) == (1, 3, 160, 160)
    a, b = ARCHS["mobilenet_v2"].build(small), ARCHS["mobilenet_v2"].build(large)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with torch.no_grad():
        assert a(torch.randn(*input_shape(small))).shape == (1, 1000)
