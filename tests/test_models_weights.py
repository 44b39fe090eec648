"""Weights: seeded random, local checkpoints (wrapped, prefixed, mismatched), torchvision names, offline fallback."""

from __future__ import annotations

import hashlib
import logging
import urllib.error

import pytest
import torch

from edge_bench.errors import InputError
from edge_bench.models import ARCHS, weights

SMALL = {"width": 0.35, "resolution": 32, "num_classes": 10}


def fields(**point):
    return ARCHS["mobilenet_v2"].normalize({**SMALL, **point}, "test.toml")


def build(**point):
    return ARCHS["mobilenet_v2"].build(fields(**point))


def perturbed_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state with every float tensor changed, so loading it is visible."""
    return {k: (v + 0.5 if v.is_floating_point() else v) for k, v in model.state_dict().items()}


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(autouse=True)
def fresh_weights_state():
    weights._unavailable.clear()
    weights._fetch_cached.cache_clear()
    yield
    weights._unavailable.clear()
    weights._fetch_cached.cache_clear()


def test_random_weights_are_reproducible():
    assert weights.resolve(fields()) == weights.WeightsSource("random")
    assert same_state(build().state_dict(), build().state_dict())


def test_checkpoint_round_trip_and_sha256(tmp_path):
    state = perturbed_state(build())
    path = tmp_path / "small.pt"
    torch.save(state, path)
    source = weights.resolve(fields(checkpoint=str(path)))
    assert source.kind == "checkpoint" and source.name == str(path.resolve())
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert same_state(build(checkpoint=str(path)).state_dict(), state)


@pytest.mark.parametrize("wrapper", ["state_dict", "model"])
def test_wrapped_checkpoint_with_module_prefix(tmp_path, wrapper):
    state = perturbed_state(build())
    path = tmp_path / "wrapped.pth"
    torch.save({wrapper: {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, path)
    assert same_state(build(checkpoint=str(path)).state_dict(), state)


def test_checkpoint_of_another_width_names_file_and_keys(tmp_path):
    path = tmp_path / "wider.pt"
    wider = ARCHS["mobilenet_v2"].build(fields(width=0.5)).state_dict()
    torch.save(wider, path)
    own = build().state_dict()
    first = next(k for k in own if own[k].shape != wider[k].shape)
    with pytest.raises(InputError) as e:
        build(checkpoint=str(path))
    assert str(path.resolve()) in str(e.value)
    assert f"shape: {first} {tuple(wider[first].shape)} != model {tuple(own[first].shape)}" in str(e.value)


def test_checkpoint_with_missing_and_extra_keys(tmp_path):
    state = build().state_dict()
    state.pop("classifier.1.bias")
    state["head.extra"] = torch.zeros(1)
    path = tmp_path / "partial.pt"
    torch.save(state, path)
    with pytest.raises(InputError, match=r"1 missing: classifier\.1\.bias; 1 unexpected: head\.extra"):
        build(checkpoint=str(path))


def test_missing_checkpoint_file_names_the_path(tmp_path):
    missing = tmp_path / "nowhere.pt"
    with pytest.raises(InputError, match="nowhere.pt does not exist"):
        weights.resolve(fields(checkpoint=str(missing)))


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "text.pt"
    path.write_text("not a checkpoint")
    with pytest.raises(InputError, match="cannot be read"):
        build(checkpoint=str(path))


def test_weights_and_checkpoint_together_are_refused(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({}, path)
    with pytest.raises(InputError, match="not both"):
        weights.resolve(fields(weights="DEFAULT", checkpoint=str(path)))


def test_torchvision_names_resolve_to_the_full_entry(monkeypatch):
    monkeypatch.setattr(weights, "fetch_state_dict", lambda name: {})
    one = {**SMALL, "width": 1.0}
    assert weights.resolve(fields(**one, weights="DEFAULT")).name == "MobileNet_V2_Weights.IMAGENET1K_V2"
    assert weights.resolve(fields(**one, weights="IMAGENET1K_V1")).name == "MobileNet_V2_Weights.IMAGENET1K_V1"
    assert weights.resolve(fields(**one, weights="MobileNet_V2_Weights.IMAGENET1K_V1")).kind == "torchvision"
    with pytest.raises(InputError, match="unknown torchvision weights"):
        weights.resolve(fields(**one, weights="IMAGENET9K"))
    with pytest.raises(InputError, match="another model"):
        weights.resolve(fields(**one, weights="ResNet50_Weights.IMAGENET1K_V2"))


def test_pretrained_weights_need_width_one():
    with pytest.raises(InputError, match="width 1.0"):
        weights.resolve(fields(weights="IMAGENET1K_V2"))


def test_bare_weights_name_for_an_arch_without_torchvision_model():
    vit = ARCHS["vit"].normalize({"weights": "IMAGENET1K_V1"}, "test.toml")
    with pytest.raises(InputError, match="full torchvision name"):
        weights.resolve(vit)


def test_downloaded_state_is_loaded(monkeypatch):
    """The torchvision path end to end, the download replaced by a state of the right shape."""
    state = perturbed_state(build())
    names = []
    monkeypatch.setattr(weights, "fetch_state_dict", lambda name: names.append(name) or state)
    # Width 0.35 has no torchvision weights; pretend width 1 to exercise the loading on a small model.
    monkeypatch.setattr(weights, "_torchvision_name", lambda arch, name, width: "MobileNet_V2_Weights.IMAGENET1K_V2")
    model = build(weights="DEFAULT")
    assert same_state(model.state_dict(), state)
    assert names == ["MobileNet_V2_Weights.IMAGENET1K_V2"]  # fetched once, reused by apply


def test_offline_falls_back_to_random_with_one_warning(monkeypatch, caplog):
    calls = []

    def offline(name):
        calls.append(name)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(weights, "fetch_state_dict", offline)
    one = {"width": 1.0, "resolution": 32, "num_classes": 1000}
    with caplog.at_level(logging.WARNING, logger="edge_bench.models.weights"):
        first = weights.resolve(fields(**one, weights="DEFAULT"))
        second = weights.resolve(fields(**one, weights="IMAGENET1K_V2"))  # the same entry
    assert first == second and first.kind == "random"
    assert "MobileNet_V2_Weights.IMAGENET1K_V2 unavailable" in first.note and "no network" in first.note
    assert len(calls) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "random weights" in warnings[0].getMessage()
    torch.manual_seed(0)
    built = ARCHS["mobilenet_v2"].build(fields(**one, weights="DEFAULT"))
    assert same_state(built.state_dict(), ARCHS["mobilenet_v2"].build(fields(**one)).state_dict())
