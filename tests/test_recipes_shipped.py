"""Every shipped recipe loads and expands; the smallest variant of each builds and runs at reduced size;
the equal-FLOPs ViT variants really match their targets."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from edge_bench.config import RECIPES_DIR, list_names, load_recipe
from edge_bench.models import ARCHS, input_shape
from edge_bench.recipes import expand

RECIPES = list_names(RECIPES_DIR)
REDUCED_RESOLUTION = 64  # convolutional nets: any input size; a ViT's is fixed by tokens x patch


def test_the_papers_recipes_are_shipped():
    expected = {
        "resnet50-ms",
        "resnet50-rsms",
        "resnet50-fcr",
        "vit-s-rs",
        "vit-s-patch",
        "vit-s-ms",
        "regseg-rs",
        "regseg-ms",
        "mobilenetv2-rs",
    }
    assert expected <= set(RECIPES)
    sizes = {name: len(expand(load_recipe(name))) for name in expected}
    assert sizes == {
        "resnet50-ms": 4,
        "resnet50-rsms": 7 * 4,
        "resnet50-fcr": 7,
        "vit-s-rs": 6,
        "vit-s-patch": 2 * 5,
        "vit-s-ms": 3 + 2 * 4,
        "regseg-rs": 8,
        "regseg-ms": 3,
        "mobilenetv2-rs": 5,
    }


@pytest.mark.parametrize("name", RECIPES)
def test_smallest_variant_builds_and_runs(name):
    recipe = load_recipe(name)
    assert recipe.description
    variants = expand(recipe)
    smallest = min(variants, key=lambda v: (v.fields["resolution"], v.fields["width"]))
    fields = dict(smallest.fields)
    if fields["arch"] != "vit":
        fields["resolution"] = min(fields["resolution"], REDUCED_RESOLUTION)
    model = ARCHS[fields["arch"]].build(fields)
    shape = input_shape(fields)
    with torch.no_grad():
        out = model(torch.randn(*shape))
    if fields["arch"] == "regseg":
        assert out.shape == (1, fields["num_classes"], shape[2], shape[3])
    elif fields["arch"] == "roofline_probe":  # a feature map: the probe's operators are the measurement
        stride = 2 if fields["probe"] == "compute" else 1  # the compute probe ends in a 3x3 at stride 2
        assert out.shape == (1, fields["channels"], shape[2] // stride, shape[3] // stride)
    else:
        assert out.shape == (1, fields["num_classes"])


def flops(**point) -> int:
    """Whole-model FLOPs of a ViT variant, counted on meta tensors (shapes only, nothing computed)."""
    fields = ARCHS["vit"].normalize(point, "test")
    with torch.device("meta"):
        model = ARCHS["vit"].build(fields)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.empty(*input_shape(fields)))
    return counter.get_total_flops()


def test_vit_model_scaling_variants_match_the_flops_of_vit_s_at_9_and_11_tokens():
    targets = {9: flops(tokens=9), 11: flops(tokens=11)}
    assert targets == {9: 3_654_801_408, 11: 5_527_492_608}  # the numbers written in vit-s-ms.toml
    matched = {9: 0, 11: 0}
    for v in expand(load_recipe("vit-s-ms")):
        f = v.fields
        point = {k: f[k] for k in ("tokens", "patch", "hidden", "mlp", "depth", "heads")}
        if (f["hidden"], f["mlp"], f["depth"]) == (384, 1536, 12):
            continue  # a reference
        assert f["tokens"] == 14 and f["hidden"] % f["heads"] == 0
        count = flops(**point)
        tokens = min(targets, key=lambda t: abs(count - targets[t]))
        target = targets[tokens]
        matched[tokens] += 1
        assert abs(count - target) / target < 0.07, v.name  # depth is the coarsest axis: +6.7% at 9 tokens
        # No neighbour on the variant's own axis comes closer to the target.
        if f["depth"] != 12 and f["hidden"] != 384:  # hybrid: hidden (MLP = 4 x hidden) fitted at its depth
            neighbours = [{"hidden": f["hidden"] + s, "mlp": 4 * (f["hidden"] + s)} for s in (-6, 6)]
        elif f["depth"] != 12:
            neighbours = [{"depth": f["depth"] + s} for s in (-1, 1)]
        elif f["hidden"] != 384:
            neighbours = [{"hidden": f["hidden"] + s} for s in (-6, 6)]
        else:
            neighbours = [{"mlp": f["mlp"] + s} for s in (-1, 1)]
        for change in neighbours:
            assert abs(flops(**{**point, **change}) - target) >= abs(count - target), (v.name, change)
    assert matched == {9: 4, 11: 4}
