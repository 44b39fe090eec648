"""RegSeg exp48 + decoder26: shapes, the paper's parameter count, group-width scaling, the authors' checkpoint layout."""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn import functional as F

from edge_bench.errors import InputError
from edge_bench.models import ARCHS, input_shape
from edge_bench.models.regseg import DilatedConv, RegSeg


def fields(**point):
    return ARCHS["regseg"].normalize(point, "test.toml")


def authors_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state_dict as the authors' code saves it: one `bn2` after each split convolution."""
    out: dict[str, torch.Tensor] = {}
    parts: dict[str, list[torch.Tensor]] = {}
    for key, tensor in state.items():
        match = re.fullmatch(r"(.*)\.conv2\.bns\.(\d+)\.(.*)", key)
        if match:
            parts.setdefault(f"{match[1]}.bn2.{match[3]}", []).append(tensor)
        else:
            out[key] = tensor
    for key, pieces in parts.items():
        out[key] = pieces[0] if pieces[0].dim() == 0 else torch.cat(pieces)
    return out


@pytest.mark.parametrize("height", [64, 50])  # 50: odd sizes inside, the ceil-mode paths
def test_logits_come_back_at_the_input_size(height):
    f = fields(resolution=height)
    assert input_shape(f) == (1, 3, height, 2 * height)
    with torch.no_grad():
        assert ARCHS["regseg"].build(f)(torch.randn(*input_shape(f))).shape == (1, 19, height, 2 * height)


def test_exp48_decoder26_has_the_papers_parameter_count():
    params = sum(p.numel() for p in RegSeg(19, 1.0).parameters())
    assert 3.33e6 < params < 3.35e6  # the paper reports 3.34 M
    assert params == 3_334_951  # what the authors' model.py builds for exp48_decoder26, 19 classes


def test_group_width_scaling_keeps_the_groups_of_every_convolution():
    full, thin = RegSeg(19, 1.0), RegSeg(19, 0.75)
    convs = lambda m: {n: c for n, c in m.named_modules() if isinstance(c, torch.nn.Conv2d)}  # noqa: E731
    a, b = convs(full), convs(thin)
    assert a.keys() == b.keys()
    grouped = [n for n, c in a.items() if c.groups > 1]
    assert len(grouped) == 1 + 3 + 1 + 12 * 2 + 1  # stage4, stage8, stage16: 13 single + 12 split blocks
    for name in grouped:
        assert b[name].groups == a[name].groups, name
        assert b[name].in_channels // b[name].groups == 12 and a[name].in_channels // a[name].groups == 16
    for name, conv in a.items():
        if name.startswith(("stem", "body")) and ".se." not in name:
            assert b[name].out_channels == conv.out_channels * 0.75, name
    assert (
        thin.decoder.head16.conv.out_channels,
        thin.decoder.conv8.conv.out_channels,
        thin.decoder.head4.conv.out_channels,
    ) == (96, 48, 6)
    assert thin.decoder.classifier.out_channels == 19


def test_width_must_keep_a_whole_group_width():
    assert fields(width=0.5)["width"] == 0.5
    with pytest.raises(InputError, match="test.toml: arch 'regseg': .*multiple of 1/16"):
        fields(width=0.7)


def test_batch_norm_per_part_equals_batch_norm_after_the_concatenation():
    torch.manual_seed(0)
    split = DilatedConv(64, (1, 4), 16, 1).eval()
    for bn in split.bns:
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.normal_()
        bn.bias.data.normal_()
    merged = {
        name: torch.cat([getattr(bn, name) for bn in split.bns])
        for name in ("running_mean", "running_var", "weight", "bias")
    }
    x = torch.randn(1, 64, 12, 12)
    with torch.no_grad():
        concatenated = torch.cat([conv(p) for conv, p in zip(split.convs, torch.split(x, 32, dim=1))], dim=1)
        authors = F.batch_norm(
            concatenated,
            merged["running_mean"],
            merged["running_var"],
            merged["weight"],
            merged["bias"],
            False,
            0.0,
            1e-5,
        )
        assert torch.allclose(split(x), authors, atol=1e-5)


def test_module_names_follow_the_authors_code():
    keys = set(authors_layout(RegSeg(19, 1.0).state_dict()))
    for key in (
        "stem.conv.weight",
        "stem.bn.running_var",
        "body.stage4.conv1.weight",
        "body.stage4.se.conv1.bias",
        "body.stage4.shortcut.conv.weight",
        "body.stage8.2.conv2.weight",
        "body.stage16.1.bn2.weight",
        "body.stage16.2.conv2.convs.1.weight",
        "body.stage16.13.shortcut.bn.weight",
        "decoder.head4.conv.weight",
        "decoder.conv4.bn.bias",
        "decoder.classifier.bias",
    ):
        assert key in keys, key


def test_a_checkpoint_in_the_authors_layout_loads(tmp_path):
    torch.manual_seed(3)
    trained = RegSeg(19, 0.5)
    with torch.no_grad():
        for tensor in trained.state_dict().values():
            if tensor.is_floating_point():
                tensor.mul_(1 + 0.1 * torch.rand_like(tensor))
    trained.eval()
    path = tmp_path / "regseg.pth"
    torch.save({"model": authors_layout(trained.state_dict())}, path)  # the authors save {"model": ...}
    model = ARCHS["regseg"].build(fields(resolution=32, width=0.5, checkpoint=str(path)))
    ours, theirs = model.state_dict(), trained.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    x = torch.randn(1, 3, 32, 64)
    with torch.no_grad():
        expected = trained(x)
        assert torch.isfinite(expected).all() and torch.allclose(model(x), expected)


@pytest.mark.slow
def test_tiny_regseg_converts_to_pte_and_tflite(tmp_path):
    from edge_bench.build import artifact_memory_info
    from edge_bench.export.executorch import export_pte
    from edge_bench.export.litert import export_tflite

    f = fields(resolution=32, width=0.5)
    model = ARCHS["regseg"].build(f)
    x = torch.randn(*input_shape(f))
    pte = export_pte(model, x, [x])
    assert pte[4:8] == b"ET12" and artifact_memory_info(pte, "executorch")["planned_bytes"] > 0
    tflite = export_tflite(model, x, [x])
    assert tflite[4:8] == b"TFL3"
