"""`edge-bench analyze`: the analytic model of every variant, no export and no device."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .build import Builder
from .config import Recipe
from .progress import NoProgress, Progress
from .recipes import Variant

COLUMNS = ("flops", "params", "weight_bytes", "activation_bytes", "memory_bytes", "liveness_bytes")


def analyze_recipe(recipe: Recipe, variants: list[Variant], out_dir: Path | None = None,
                   progress: Progress | None = None) -> pd.DataFrame:
    progress = progress or NoProgress()
    builder = Builder(recipe)
    rows = []
    for n, variant in enumerate(variants, 1):
        progress.update("analyze", n, len(variants), variant.name)
        analytic = builder.analytic(variant)
        row = {**variant.record(), **{k: analytic.get(k) for k in COLUMNS}}
        row.update(_planned_if_built(builder, variant, recipe))
        rows.append(row)
    progress.close()
    frame = pd.DataFrame(rows)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out_dir / "analysis.csv", index=False)
    return frame


def _planned_if_built(builder: Builder, variant: Variant, recipe: Recipe) -> dict:
    """Planned memory per runtime, read from cached artifacts (analyze never converts)."""
    out = {}
    for runtime in recipe.runtimes:
        artifact = builder.cache.lookup(builder.artifact_key(variant, runtime))
        out[f"planned_bytes_{runtime}"] = artifact.manifest.get("planned_bytes") if artifact else None
    return out
