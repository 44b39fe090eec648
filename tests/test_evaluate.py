"""Fidelity and accuracy of real tiny artifacts, run through their own runtimes.

The accuracy tests use networks whose prediction is a known function of the image colour (the
dominant normalized channel: red -> class 0, green -> 1, blue -> 2), loaded from a checkpoint, so
the expected top-1 and mIoU can be counted by hand from the generated datasets.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
from PIL import Image
from torch import nn

from edge_bench.build import Builder
from edge_bench.config import load_recipe
from edge_bench.errors import InputError
from edge_bench.accuracy.evaluator import Evaluator, fidelity_fields
from edge_bench.export.cache import ArtifactCache
from edge_bench.models import ARCHS, Arch
from edge_bench.models import weights as weights_module
from edge_bench.recipes import expand
from tests import tinymodels

RED, GREEN, BLUE = (220, 20, 10), (30, 200, 40), (20, 30, 220)


class ColourClassifier(nn.Module):
    """1x1 conv (3->3) + ReLU -> global mean -> linear(3->3)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


class ColourSegmenter(nn.Module):
    """1x1 conv (3->19): class c < 3 scores channel c + 3, every other class scores 0."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 19, 1)

    def forward(self, x):
        return self.conv(x)


def build_colour(fields):
    model = ColourSegmenter() if fields["num_classes"] == 19 else ColourClassifier()
    return weights_module.apply(model, weights_module.resolve(fields)).eval()


def colour_checkpoint(path, segmenter: bool):
    """Weights that make the network pick the dominant normalized channel (+3 keeps ReLU inputs positive)."""
    if segmenter:
        weight = torch.zeros(19, 3, 1, 1)
        weight[:3, :, 0, 0] = torch.eye(3)
        bias = torch.zeros(19)
        bias[:3] = 3.0
        state = {"conv.weight": weight, "conv.bias": bias}
    else:
        state = {
            "conv.weight": torch.eye(3).view(3, 3, 1, 1),
            "conv.bias": torch.full((3,), 3.0),
            "fc.weight": torch.eye(3),
            "fc.bias": torch.zeros(3),
        }
    torch.save(state, path)
    return path


def image(path, rgb, size=(20, 20), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, rgb).save(path)


def recipe_file(folder, name, body):
    path = folder / f"{name}.toml"
    path.write_text(f'description = "{name}"\n{body}')
    return load_recipe(str(path))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tinymodels.register()
    ARCHS["tinycolour"] = Arch("tinycolour", f"{__name__}:build_colour", defaults={"checkpoint": ""})
    root = tmp_path_factory.mktemp("evaluate")
    cache = ArtifactCache(root / "cache")
    yield root, cache
    ARCHS.pop("tinycolour", None)


def built(recipe, cache, runtime):
    """(variant, artifact, counting FP32 model function) of the recipe's only variant."""
    builder = Builder(recipe, cache)
    variant = expand(recipe)[0]
    outcome = builder.artifact(variant, runtime)
    assert outcome.error is None, outcome.error
    calls = []

    def fp32():
        calls.append(1)
        return builder.model(variant, {})

    return variant, outcome.artifact, fp32, calls


@pytest.fixture(scope="module")
def tiny_random(setup):
    """tinycnn (10 classes, random weights) for both runtimes."""
    root, cache = setup
    recipe = recipe_file(
        root,
        "tiny",
        '[model]\narch = "tinycnn"\nnum_classes = 10\n[sweep]\nresolution = [16]\n[quantize]\nbatches = 4\n',
    )
    return recipe, {r: built(recipe, cache, r) for r in ("executorch", "litert")}


@pytest.fixture(scope="module")
def colour_classifier(setup):
    root, cache = setup
    checkpoint = colour_checkpoint(root / "colour.pt", segmenter=False)
    recipe = recipe_file(
        root, "colour",
        f'[model]\narch = "tinycolour"\nnum_classes = 3\ncheckpoint = "{checkpoint}"\n'
        "[sweep]\nresolution = [16]\n[quantize]\nbatches = 4\n",
    )  # fmt: skip
    return recipe, built(recipe, cache, "litert")


@pytest.fixture(scope="module")
def image_folder(setup):
    """9 images, 7 of them in the folder of their colour: top-1 = 7/9 for the colour network."""
    root = setup[0] / "imagefolder"
    files = {
        "a_red": [RED, (200, 40, 30), (180, 0, 60), BLUE],  # the blue one is filed as red
        "b_green": [GREEN, (60, 230, 90)],
        "c_blue": [BLUE, (40, 60, 200), GREEN],  # the green one is filed as blue
    }
    for folder, colours in files.items():
        for i, rgb in enumerate(colours):
            image(root / folder / f"{i}.png", rgb, size=(20 + 4 * i, 20))
    return root


def test_fidelity_of_tiny_int8_artifacts_through_both_runtimes(setup, tiny_random):
    root, cache = setup
    recipe, artifacts = tiny_random
    evaluator = Evaluator(recipe, cache.root, fidelity_samples=6)
    results = {}
    for runtime in ("executorch", "litert"):
        variant, artifact, fp32, calls = artifacts[runtime]
        results[runtime] = evaluator.evaluate(variant, runtime, artifact, fp32)
    for runtime, result in results.items():
        assert "eval_error" not in result, result
        assert math.isfinite(result["sqnr_db"]) and result["sqnr_db"] > 10, (runtime, result)
        assert 0 <= result["top1_agreement"] <= 100
        assert result["fidelity_n"] == 6 and result["eval_task"] == "classification"
        assert result["accuracy_note"] == "not measured: no --dataset given"
        assert "top1" not in result and "fp32_top1" not in result
        json.dumps(result, allow_nan=False)  # what the result store requires
    # One variant, two runtimes: the FP32 model ran for the first only, its outputs served the second.
    assert len(artifacts["executorch"][3]) == 1 and len(artifacts["litert"][3]) == 0


def test_accuracy_on_a_generated_image_folder(setup, colour_classifier, image_folder):
    root, cache = setup
    recipe, (variant, artifact, fp32, calls) = colour_classifier
    assert artifact.manifest["weights"]["kind"] == "checkpoint"
    evaluator = Evaluator(recipe, root / "eval-a", dataset=image_folder, fidelity_samples=4)
    result = evaluator.evaluate(variant, "litert", artifact, fp32)
    assert "eval_error" not in result, result
    assert result["n_images"] == 9
    assert result["top1"] == pytest.approx(700 / 9) and result["fp32_top1"] == pytest.approx(700 / 9)
    assert result["top1_drop"] == pytest.approx(0.0)
    assert result["top5"] is None and result["top5_drop"] is None  # 3 classes: top-5 is meaningless
    assert math.isfinite(result["dataset_sqnr_db"]) and result["dataset_top1_agreement"] == 100.0
    assert math.isfinite(result["sqnr_db"]) and "accuracy_note" not in result
    assert len(calls) == 1  # the FP32 model is built once for both the fidelity and the dataset pass

    # The same evaluation again comes from the cache: nothing runs, the FP32 model is not even built.
    def no_model():
        raise AssertionError("the cached evaluation built the FP32 model")

    again = evaluator.evaluate(variant, "litert", artifact, no_model)
    assert again["eval_cached"] is True and again["top1"] == result["top1"] and again["sqnr_db"] == result["sqnr_db"]
    assert len(list((root / "eval-a" / "evaluation").glob("*.json"))) == 1

    # Fewer images: another cache entry, and the evenly spread subset (3 of 9) is really what is scored.
    subset = Evaluator(recipe, root / "eval-a", dataset=image_folder, max_images=3, fidelity_samples=4)
    assert subset.cache_key(variant, artifact) != evaluator.cache_key(variant, artifact)
    small = subset.evaluate(variant, "litert", artifact, fp32)
    assert small["eval_cached"] is False and small["n_images"] == 3


def test_accuracy_on_generated_cifar10_batches(setup, colour_classifier):
    from tests.test_datasets_cifar import write_cifar_batch, write_cifar_meta

    root, _ = setup
    recipe, (variant, artifact, fp32, _) = colour_classifier
    cifar = root / "cifar-10-batches-py"
    # 5 test images, the last (blue) labelled red: top-1 = 4/5 for the colour network.
    write_cifar_batch(cifar / "test_batch", [RED, GREEN, BLUE, (200, 40, 30), BLUE], [0, 1, 2, 0, 0])
    write_cifar_batch(cifar / "data_batch_1", [GREEN], [1])  # never scored
    write_cifar_meta(cifar, ["red", "green", "blue"])
    result = Evaluator(recipe, root / "eval-cifar", dataset=cifar, fidelity_samples=4).evaluate(
        variant, "litert", artifact, fp32
    )
    assert "eval_error" not in result, result
    assert (
        result["n_images"] == 5 and result["top1"] == pytest.approx(80.0) and result["fp32_top1"] == pytest.approx(80.0)
    )
    write_cifar_meta(cifar, [str(i) for i in range(10)])  # CIFAR-10's 10 classes against a 3-class network
    mismatch = Evaluator(recipe, root / "eval-cifar-10", dataset=cifar, fidelity_samples=4).evaluate(
        variant, "litert", artifact, fp32
    )
    assert "3 classes but --dataset has 10 CIFAR-10 classes" in mismatch["eval_error"]


def test_random_weights_get_fidelity_but_no_accuracy(setup, tiny_random, image_folder):
    root, cache = setup
    recipe, artifacts = tiny_random
    variant, artifact, fp32, _ = artifacts["litert"]
    evaluator = Evaluator(recipe, root / "eval-r", dataset=image_folder, fidelity_samples=4)
    result = evaluator.evaluate(variant, "litert", artifact, fp32)
    assert result["accuracy_note"] == 'not measured: random weights (the recipe asks for weights = "random")'
    assert not {"top1", "top5", "fp32_top1", "top1_drop", "miou", "n_images"} & set(result)
    assert math.isfinite(result["sqnr_db"])

    # Pretrained weights that could not be had: the artifact holds random weights, and the note says why.
    note = "ResNet50_Weights.IMAGENET1K_V2 unavailable, random weights used (URLError: offline)"
    offline = dataclasses.replace(
        artifact, sha256="0" * 64, manifest={**artifact.manifest, "weights": {"kind": "random", "note": note}}
    )
    result = evaluator.evaluate(variant, "litert", offline, fp32)
    assert result["accuracy_note"] == f"not measured: random weights ({note})" and "top1" not in result


def test_segmentation_miou_on_a_generated_cityscapes_tree(setup):
    root, cache = setup
    checkpoint = colour_checkpoint(root / "segmenter.pt", segmenter=True)
    recipe = recipe_file(
        root, "seg",
        f'[model]\narch = "tinycolour"\nnum_classes = 19\naspect = 2.0\ncheckpoint = "{checkpoint}"\n'
        '[sweep]\nresolution = [8]\n[quantize]\nbatches = 4\n[eval]\ninterpolation = "bicubic"\n',
    )  # fmt: skip
    variant, artifact, fp32, _ = built(recipe, cache, "executorch")
    tree = root / "cityscapes"
    # Image 1 is red everywhere (predicted road, train id 0): top half labelled road (id 7), bottom half
    # building (id 11 -> 2). Image 2 is green (sidewalk, 1) and labelled sidewalk (id 8) everywhere.
    # IoU road = 256 / 512, sidewalk = 1, building = 0: mIoU = 50.
    image(tree / "leftImg8bit/val/x/a_000000_000001_leftImg8bit.png", RED, size=(32, 16))
    label = Image.new("L", (32, 16), 7)
    label.paste(11, (0, 8, 32, 16))
    (tree / "gtFine/val/x").mkdir(parents=True)
    label.save(tree / "gtFine/val/x/a_000000_000001_gtFine_labelIds.png")
    image(tree / "leftImg8bit/val/x/a_000000_000002_leftImg8bit.png", GREEN, size=(32, 16))
    image(tree / "gtFine/val/x/a_000000_000002_gtFine_labelIds.png", 8, size=(32, 16), mode="L")

    evaluator = Evaluator(recipe, root / "eval-s", dataset=tree, fidelity_samples=4, task="segmentation")
    result = evaluator.evaluate(variant, "executorch", artifact, fp32)
    assert "eval_error" not in result, result
    assert result["eval_task"] == "segmentation" and result["upsample"] == "bicubic"
    assert result["miou"] == pytest.approx(50.0) and result["fp32_miou"] == pytest.approx(50.0)
    assert result["miou_drop"] == pytest.approx(0.0) and result["n_images"] == 2
    assert math.isfinite(result["sqnr_db"]) and result["sqnr_db"] > 10


def test_failures_are_returned_not_raised_and_not_cached(setup, tiny_random, colour_classifier, image_folder, tmp_path):
    root, cache = setup
    recipe, artifacts = tiny_random
    variant, artifact, fp32, _ = artifacts["executorch"]
    evaluator = Evaluator(recipe, tmp_path, fidelity_samples=2)
    garbage = tmp_path / "garbage.pte"
    garbage.write_bytes(b"not a program")
    result = evaluator.evaluate(
        variant, "executorch", dataclasses.replace(artifact, path=garbage, sha256="1" * 64), fp32
    )
    assert result["eval_error"] and "\n" not in result["eval_error"]

    def broken_model():
        raise RuntimeError("no model today")

    result = evaluator.evaluate(
        variant, "litert", dataclasses.replace(artifacts["litert"][1], sha256="2" * 64), broken_model
    )
    assert result["eval_error"] == "RuntimeError: no model today"
    assert not list((tmp_path / "evaluation").glob("*.json"))

    # A dataset whose class folders do not match the model's outputs: fidelity stays, accuracy is an error.
    colour_recipe, (c_variant, c_artifact, c_fp32, _) = colour_classifier
    two_classes = tmp_path / "two"
    image(two_classes / "a" / "0.png", RED)
    image(two_classes / "b" / "0.png", GREEN)
    result = Evaluator(colour_recipe, tmp_path, dataset=two_classes, fidelity_samples=2).evaluate(
        c_variant, "litert", c_artifact, c_fp32
    )
    assert "3 classes but --dataset has 2 class folders" in result["eval_error"]
    assert math.isfinite(result["sqnr_db"]) and "top1" not in result


def test_bad_dataset_or_arguments_are_input_errors(setup, tiny_random, tmp_path):
    recipe, _ = tiny_random
    with pytest.raises(InputError, match="not a directory"):
        Evaluator(recipe, tmp_path, dataset=tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    with pytest.raises(InputError, match="no class folders"):
        Evaluator(recipe, tmp_path, dataset=tmp_path / "flat")
    with pytest.raises(InputError, match="leftImg8bit"):
        Evaluator(recipe, tmp_path, dataset=tmp_path / "flat", task="segmentation")
    with pytest.raises(InputError, match="--max-images"):
        Evaluator(recipe, tmp_path, max_images=0)


def test_infinite_sqnr_is_stored_as_null_with_a_note():
    fields = fidelity_fields({"sqnr_db": math.inf, "top1_agreement": 100.0, "n": 3})
    assert fields == {"sqnr_db": None, "sqnr_note": "outputs identical", "top1_agreement": 100.0}
    assert fidelity_fields({"sqnr_db": -math.inf, "top1_agreement": 0.0, "n": 1}, prefix="dataset_")[
        "dataset_sqnr_note"
    ]
    assert fidelity_fields({"sqnr_db": 31.5, "top1_agreement": 90.0, "n": 1}) == {
        "sqnr_db": 31.5,
        "top1_agreement": 90.0,
    }
