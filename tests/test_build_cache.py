"""Builds of a tiny network for both runtimes, and the artifact cache's reuse and invalidation rules."""

import json

import pytest

from edge_bench.build import Builder
from edge_bench.config import load_recipe
from edge_bench.export.cache import ArtifactCache
from edge_bench.recipes import Only, expand
from tests import tinymodels


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    recipe = load_recipe(tinymodels.tiny_recipe_file(folder))
    cache = ArtifactCache(folder / "cache")
    return recipe, cache


def test_builds_both_runtimes_and_reuses_them(tiny):
    recipe, cache = tiny
    builder = Builder(recipe, cache)
    variant = expand(recipe, [Only.parse("resolution=16")])[0]
    first = {r: builder.artifact(variant, r) for r in ("executorch", "litert")}
    for runtime, outcome in first.items():
        assert outcome.error is None, outcome.error
        assert not outcome.cached
        assert outcome.artifact.path.suffix == {"executorch": ".pte", "litert": ".tflite"}[runtime]
        manifest = json.loads((outcome.artifact.path.parent / "manifest.json").read_text())
        assert manifest["sha256"] == outcome.artifact.sha256
        assert manifest["variant"]["resolution"] == 16 and manifest["versions"]["executorch"]
    assert first["executorch"].artifact.manifest["planned_bytes"] > 0
    again = Builder(recipe, cache).artifact(variant, "litert")
    assert again.cached and again.artifact.sha256 == first["litert"].artifact.sha256


def test_changing_a_field_rebuilds_only_that_variant(tiny):
    recipe, cache = tiny
    builder = Builder(recipe, cache)
    small, large = expand(recipe)
    assert builder.artifact_key(small, "litert") != builder.artifact_key(large, "litert")
    assert builder.artifact_key(small, "litert") != builder.artifact_key(small, "executorch")
    assert builder.artifact_key(small, "litert") == Builder(recipe, cache).artifact_key(small, "litert")


def test_tool_version_change_rebuilds_everything(tiny):
    recipe, cache = tiny
    builder = Builder(recipe, cache)
    variant = expand(recipe)[0]
    before = builder.artifact_key(variant, "executorch")
    builder.versions = {**builder.versions, "executorch": "99.0"}
    assert builder.artifact_key(variant, "executorch") != before


def test_corrupted_artifact_is_not_reused(tiny):
    recipe, cache = tiny
    builder = Builder(recipe, cache)
    variant = expand(recipe, [Only.parse("resolution=16")])[0]
    outcome = builder.artifact(variant, "executorch")
    outcome.artifact.path.write_bytes(b"garbage")
    assert cache.lookup(outcome.artifact.key) is None
    rebuilt = builder.artifact(variant, "executorch")
    assert not rebuilt.cached and rebuilt.artifact.sha256 == outcome.artifact.sha256  # conversion is deterministic


def test_a_failing_conversion_is_an_outcome_not_an_exception(tiny, monkeypatch):
    recipe, cache = tiny
    builder = Builder(recipe, cache)
    variant = expand(recipe, [Only.parse("resolution=24")])[0]

    def explode(*args, **kwargs):
        raise RuntimeError("unsupported operator aten::weird\nmore detail")

    monkeypatch.setattr("edge_bench.export.litert.export_tflite", explode)
    outcome = builder.artifact(variant, "litert")
    assert outcome.artifact is None
    assert outcome.error == "litert conversion failed: RuntimeError: unsupported operator aten::weird"


def test_analytic_is_cached(tiny):
    recipe, cache = tiny
    variant = expand(recipe)[0]
    first = Builder(recipe, cache).analytic(variant)
    assert first["flops"] > 0
    assert Builder(recipe, cache).analytic(variant) == first
