"""Every artifact of a sweep: built one after the other here, or in worker processes (`parallel.py`)."""

from __future__ import annotations

from ..config import Recipe
from ..progress import NoProgress
from ..recipes import Variant
from .builder import BuildOutcome, Builder
from .parallel import build_parallel


def build_all(
    recipe: Recipe, variants: list[Variant], runtimes: list[str], jobs: int = 1, progress=None
) -> list[BuildOutcome]:
    """Every (variant, runtime) artifact, cached ones reused. `jobs` > 1 converts in parallel processes."""
    progress = progress or NoProgress()
    if jobs > 1:
        return build_parallel(recipe, variants, runtimes, jobs, progress)
    builder = Builder(recipe)
    outcomes = []
    for n, variant in enumerate(variants, 1):
        memo: dict = {}
        for runtime in runtimes:
            progress.update("build", n, len(variants), f"{variant.name} {runtime}")
            outcomes.append(builder.artifact(variant, runtime, memo))
    progress.close()
    return outcomes
