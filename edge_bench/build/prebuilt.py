"""Artifacts built elsewhere: measure what another machine converted, where the converters cannot run.

A board whose platform has no wheels for the converter stack (litert-torch's converter has none for
aarch64 Linux) measures what a build machine left in its artifact cache: the build machine runs the
recipe (`edge-bench run --target host`, which also caches the analytic numbers and the fidelity), its
cache folder is copied into the board's `$EDGE_BENCH_CACHE`, and the board runs `edge-bench run
--prebuilt`. Cache keys hold the versions of the tools that built an artifact; here they are read back
from the artifacts' manifests instead of from this machine's packages, so the same keys find the same
artifacts, analytic numbers and evaluations. Nothing is converted and no FP32 model is built: what the
cache does not hold is recorded as failed (or missing) with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from ..config import Recipe
from ..errors import InputError
from ..export.cache import MANIFEST, ArtifactCache
from ..recipes import Variant
from .builder import BuildOutcome, Builder
from .identity import source_hash
from .random_init import RANDOM_INIT


class NotPrebuilt(LookupError):
    """The cache holds no result of the build machine for this."""


class PrebuiltBuilder(Builder):
    def __init__(self, recipe: Recipe, cache: ArtifactCache | None = None):
        super().__init__(recipe, cache)
        self.manifests = recipe_manifests(self.cache, recipe.name)
        if not self.manifests:
            raise InputError(
                f"--prebuilt: the artifact cache {self.cache.root} holds no artifact of recipe '{recipe.name}': run "
                f"`edge-bench run --target host --recipe {recipe.name}` where the converters are installed and copy "
                "that machine's cache folder (artifacts/, analytic/, evaluation/) here, or set EDGE_BENCH_CACHE to it"
            )

    def _manifest(self, variant: Variant) -> dict[str, Any]:
        manifest = self.manifests.get(variant.name)
        if manifest is None:
            raise NotPrebuilt(
                f"no prebuilt artifact of {variant.name} in {self.cache.root} (--prebuilt converts nothing)"
            )
        return manifest

    def _variant_inputs(self, variant: Variant, sources: tuple[str, ...]) -> dict[str, Any]:
        """The build machine's inputs: its tool versions and weights from the manifest; edge-bench's own
        source is this checkout's, which must be the build machine's (the keys say so if it is not)."""
        manifest = self._manifest(variant)
        weights = {k: v for k, v in manifest["weights"].items() if k != "note"}
        return {
            "fields": dict(variant.fields),
            "weights": weights,
            "versions": manifest["versions"],
            "random_init": RANDOM_INIT,
            "source": source_hash(sources),
        }

    def _calibration(self) -> dict[str, Any]:
        """The quantization settings the build machine keyed its artifacts with (calibration images included)."""
        manifest = next(iter(self.manifests.values()))
        return dict(manifest["quantize"])

    def model(self, variant: Variant, memo: dict):
        raise NotPrebuilt(
            f"--prebuilt: no FP32 model of {variant.name} is built here, and its result is not in the cache"
        )

    def analytic(self, variant: Variant, memo: dict | None = None) -> dict[str, Any]:
        found = self.cache.load_json("analytic", self.analytic_key(variant))
        if found is None:
            raise NotPrebuilt(f"the analytic numbers of {variant.name} are not in the cache")
        return found

    def artifact(self, variant: Variant, runtime: str, memo: dict | None = None) -> BuildOutcome:
        try:
            found = self.cache.lookup(self.artifact_key(variant, runtime))
        except NotPrebuilt as e:
            return BuildOutcome(variant, runtime, None, str(e), False, 0.0)
        if found is None:
            return BuildOutcome(
                variant,
                runtime,
                None,
                f"no prebuilt {runtime} artifact of {variant.name} in {self.cache.root} (--prebuilt converts nothing)",
                False,
                0.0,
            )
        return BuildOutcome(variant, runtime, found, None, True, 0.0)

    def cortex_m(self, variant: Variant, cpu: str, memo: dict | None = None) -> dict[str, Any]:
        return {"cpu": cpu, "error": "--prebuilt: Cortex-M programs are built where the converters are installed"}


def recipe_manifests(cache: ArtifactCache, recipe: str) -> dict[str, dict[str, Any]]:
    """Variant name -> the manifest of its newest artifact of `recipe` in the cache."""
    newest: dict[str, dict[str, Any]] = {}
    for path in (cache.root / "artifacts").glob(f"*/*/{MANIFEST}"):
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if manifest.get("recipe") != recipe or "versions" not in manifest or "weights" not in manifest:
            continue
        name = manifest.get("variant_name")
        if name and str(manifest.get("built_at", "")) >= str(newest.get(name, {}).get("built_at", "")):
            newest[name] = manifest
    return newest
