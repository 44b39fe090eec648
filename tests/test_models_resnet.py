"""ResNet-50: torchvision's model at width 1, uniform width scaling, and the resize after the stem (FCR)."""

from __future__ import annotations

import pytest
import torch
import torchvision

from edge_bench.errors import InputError
from edge_bench.models import ARCHS, input_shape
from edge_bench.models.resnet import ScaledResNet50, scaled


def fields(**point):
    return ARCHS["resnet50"].normalize(point, "test.toml")


def convs(model: torch.nn.Module) -> dict[str, torch.nn.Conv2d]:
    return {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)}


def test_width_one_is_torchvision_resnet50_parameter_for_parameter():
    torch.manual_seed(0)
    reference = torchvision.models.resnet50().state_dict()
    ours = ARCHS["resnet50"].build(fields()).state_dict()
    assert list(ours) == list(reference)
    assert all(torch.equal(ours[k], reference[k]) for k in reference)


@pytest.mark.parametrize("width", [0.75, 0.5, 0.25])
def test_every_convolution_and_the_classifier_scale_by_width(width):
    full = convs(ScaledResNet50(1.0))
    thin_model = ScaledResNet50(width)
    thin = convs(thin_model)
    assert thin.keys() == full.keys()
    for name, conv in full.items():
        assert thin[name].out_channels == conv.out_channels * width, name
        assert thin[name].in_channels == (3 if name == "conv1" else conv.in_channels * width), name
    assert thin_model.fc.in_features == 2048 * width
    assert thin["layer1.0.conv3"].out_channels == 4 * thin["layer1.0.conv1"].out_channels  # expansion 4 kept


def test_fractional_channel_counts_round_to_multiples_of_eight():
    assert scaled(64, 0.75) == 48 and scaled(512, 0.25) == 128  # whole: unchanged
    assert scaled(64, 0.3) == 16 and scaled(128, 0.3) == 40 and scaled(64, 0.05) == 8
    model = ScaledResNet50(0.3)
    assert all(c.out_channels % 8 == 0 for c in convs(model).values())
    x = torch.randn(1, 3, 32, 32)
    assert model.eval()(x).shape == (1, 1000)


def test_classifier_output_and_input_shape():
    f = fields(width=0.25, resolution=40, num_classes=7)
    assert input_shape(f) == (1, 3, 40, 40)
    with torch.no_grad():
        assert ARCHS["resnet50"].build(f)(torch.randn(*input_shape(f))).shape == (1, 7)


def test_resize_after_stem_happens_before_the_maxpool():
    f = fields(width=0.25, resolution=64, resize_after_stem=24, num_classes=10)
    model = ARCHS["resnet50"].build(f)
    seen = {}
    model.maxpool.register_forward_hook(lambda m, args, out: seen.update(maxpool_in=args[0].shape))
    model.conv1.register_forward_hook(lambda m, args, out: seen.update(stem_out=out.shape))
    with torch.no_grad():
        model(torch.randn(*input_shape(f)))
    assert seen["stem_out"][-2:] == (32, 32)  # the input stays at 64
    assert seen["maxpool_in"][-2:] == (24, 24)


def test_resize_after_stem_is_inside_the_exported_and_quantized_graph():
    from tests.test_models_export import ops, quantizer, tiny

    from edge_bench.export.quantize import quantize

    model, x, _ = tiny("resnet50-fcr")
    exported = torch.export.export(model, (x,))
    resizes = [n for n in exported.graph.nodes if "upsample_bilinear2d" in str(n.target)]
    assert len(resizes) == 1 and tuple(resizes[0].meta["val"].shape[-2:]) == (16, 16)
    converted = quantize(model, x, quantizer("xnnpack"), [x])
    assert any("upsample_bilinear2d" in op for op in ops(converted))
    assert any("quantize_per_tensor" in op for op in ops(converted))


def test_no_resize_when_off():
    exported = torch.export.export(ARCHS["resnet50"].build(fields(width=0.25, resolution=32)), (torch.randn(1, 3, 32, 32),))
    assert not any("upsample" in str(n.target) for n in exported.graph.nodes)


def test_negative_resize_and_width_are_refused():
    with pytest.raises(InputError, match="test.toml.*resize_after_stem"):
        fields(resize_after_stem=-1)
    with pytest.raises(InputError, match="test.toml.*width"):
        fields(width=0.0)
