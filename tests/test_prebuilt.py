"""Measuring artifacts built elsewhere: a machine whose tool versions differ (or that has no converters)
finds the build machine's artifacts and analytic numbers by the versions in their manifests, and
converts nothing."""

from __future__ import annotations

import pytest

from edge_bench.build import Builder
from edge_bench.build.prebuilt import NotPrebuilt, PrebuiltBuilder
from edge_bench.config import load_recipe
from edge_bench.errors import InputError
from edge_bench.export.cache import ArtifactCache
from edge_bench.recipes import Only, expand
from tests import tinymodels


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One variant of the tiny recipe built for LiteRT, with its analytic numbers, as a build machine leaves it."""
    folder = tmp_path_factory.mktemp("prebuilt")
    recipe = load_recipe(tinymodels.tiny_recipe_file(folder))
    cache = ArtifactCache(folder / "cache")
    variant = expand(recipe, [Only.parse("resolution=16")])[0]
    builder = Builder(recipe, cache)
    outcome = builder.artifact(variant, "litert")
    assert outcome.error is None, outcome.error
    return recipe, cache, variant, outcome.artifact, builder.analytic(variant)


def test_finds_the_build_machines_artifact_whatever_is_installed_here(built, monkeypatch):
    recipe, cache, variant, artifact, analytic = built
    monkeypatch.setattr("edge_bench.build.builder.tool_versions", lambda: {"edge-bench": "0", "torch": None})
    assert Builder(recipe, cache).artifact_key(variant, "litert") != artifact.key  # a plain lookup would miss
    prebuilt = PrebuiltBuilder(recipe, cache)
    outcome = prebuilt.artifact(variant, "litert")
    assert outcome.error is None and outcome.cached and outcome.artifact.sha256 == artifact.sha256
    assert prebuilt.analytic(variant) == analytic


def test_what_the_cache_lacks_fails_with_the_reason_and_nothing_is_converted(built):
    recipe, cache, variant, _, _ = built
    prebuilt = PrebuiltBuilder(recipe, cache)
    missing = prebuilt.artifact(variant, "executorch")
    assert missing.artifact is None and "no prebuilt executorch artifact" in missing.error
    other = expand(recipe, [Only.parse("resolution=24")])[0]
    assert "no prebuilt artifact of" in prebuilt.artifact(other, "litert").error
    with pytest.raises(NotPrebuilt):
        prebuilt.model(variant, {})


def test_a_cache_without_the_recipe_is_bad_input(built, tmp_path):
    recipe, _, _, _, _ = built
    with pytest.raises(InputError, match="holds no artifact of recipe"):
        PrebuiltBuilder(recipe, ArtifactCache(tmp_path / "empty"))
