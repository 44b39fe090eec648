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
    exported = torch.export.export(
        ARCHS["resnet50"].build(fields(width=0.25, resolution=32)), (torch.randn(1, 3, 32, 32),)
    )
    assert not any("upsample" in str(n.target) for n in exported.graph.nodes)


def test_negative_resize_and_width_are_refused():
    with pytest.raises(InputError, match="test.toml.*resize_after_stem"):
        fields(resize_after_stem=-1)
    with pytest.raises(InputError, match="test.toml.*width"):
        fields(width=0.0)


# ---------------------------------------------------------------- ResNet-50 v1 (stride on the 1x1)


def resnet50_macs_by_hand(resolution: int, stride_in_1x1: bool) -> int:
    """Multiply-accumulates of ResNet-50 from its layer shapes alone: k x k x C_in x C_out per output
    pixel of every convolution, and the classifier's 2048 x 1000."""

    def out(size: int, kernel: int, stride: int, padding: int) -> int:
        return (size + 2 * padding - kernel) // stride + 1

    h = out(resolution, 7, 2, 3)
    macs = 7 * 7 * 3 * 64 * h * h
    h = out(h, 3, 2, 1)  # max-pool
    channels = 64
    for planes, blocks, stage_stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for block in range(blocks):
            stride = stage_stride if block == 0 else 1
            stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
            h1 = out(h, 1, stride_1x1, 0)
            h3 = out(h1, 3, stride_3x3, 1)
            macs += channels * planes * h1 * h1 + 9 * planes * planes * h3 * h3 + planes * 4 * planes * h3 * h3
            if block == 0:  # the projection shortcut
                macs += channels * 4 * planes * out(h, 1, stride, 0) ** 2
            channels, h = 4 * planes, h3
    return macs + 2048 * 1000


@pytest.mark.parametrize("resolution", [224, 210, 140])
def test_v1_and_v1_5_macs_match_the_closed_form(resolution):
    from edge_bench.analytic import count_flops

    for arch, v1 in (("resnet50", False), ("resnet50_v1", True)):
        f = ARCHS[arch].normalize({"resolution": resolution}, "test.toml")
        macs = count_flops(ARCHS[arch].build(f), torch.randn(*input_shape(f))) // 2
        assert macs == resnet50_macs_by_hand(resolution, v1), arch


def test_v1_is_3_86_gmacs_and_v1_5_is_4_09_at_224():
    # The usual published figures: 3.86 GMACs for the ResNet paper's ResNet-50 (v1), 4.09 for torchvision's (v1.5).
    v1, v1_5 = resnet50_macs_by_hand(224, True), resnet50_macs_by_hand(224, False)
    assert v1 == 3_857_973_248 and round(v1 / 1e9, 2) == 3.86
    assert v1_5 == 4_089_184_256 and round(v1_5 / 1e9, 2) == 4.09
    # The difference is the three strided 1x1 convolutions, each at a quarter of its v1.5 cost.
    assert v1_5 - v1 == 3 * (256 * 128 * 56 * 56) * 3 // 4


def test_v1_moves_the_stride_and_keeps_every_weight():
    v1 = ARCHS["resnet50_v1"].build(fields())
    v1_5 = ARCHS["resnet50"].build(fields())
    for stage in ("layer2", "layer3", "layer4"):
        first = getattr(v1, stage)[0]
        assert first.conv1.stride == (2, 2) and first.conv2.stride == (1, 1), stage
        assert first.downsample[0].stride == (2, 2)
        assert getattr(v1_5, stage)[0].conv2.stride == (2, 2)
    assert v1.layer1[0].conv1.stride == (1, 1)
    ours, reference = v1.state_dict(), v1_5.state_dict()
    assert list(ours) == list(reference) and all(torch.equal(ours[k], reference[k]) for k in reference)


def test_v1_refuses_torchvision_weights_before_any_download():
    f = ARCHS["resnet50_v1"].normalize({"weights": "IMAGENET1K_V2"}, "test.toml")
    with pytest.raises(InputError, match="trained for v1.5"):
        ARCHS["resnet50_v1"].build(f)
