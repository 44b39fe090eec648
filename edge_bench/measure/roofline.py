"""The roofline probes of `run --profile-ops`: the `roofline` recipe (models/probe.py) measured and
profiled on the run's own targets, runtimes and threads, into `OUT/roofline/`, a results directory of
its own (its records never mix with the sweep's). The report reads the ceilings from its
`operators.csv`: the best MAC/s and bytes/s the probes' operators reached there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

ROOFLINE_DIR = "roofline"
ROOFLINE_RECIPE = "roofline"


def measure_roofline(out: Path, runtimes: Sequence[str], targets: Sequence, builder_for=None, progress=None) -> str:
    """Measure the probes into OUT/roofline/ (what is already there is kept); one line saying what happened.

    `builder_for(recipe)` makes the builder (the run's `--prebuilt` one, say); the default builds here.
    """
    from ..config import load_recipe
    from ..recipes import expand
    from ..results import ResultStore
    from .operators import first_round_profiler, write_operator_tables
    from .runner import Runner

    recipe = load_recipe(ROOFLINE_RECIPE)
    store = ResultStore(Path(out) / ROOFLINE_DIR)
    for message in store.repair():
        print(f"edge-bench: {message}")
    runner = Runner(
        recipe,
        expand(recipe),
        runtimes,
        targets,
        store,
        resume=True,  # a probe measured before on the same target, runtime and artifact is not measured again
        builder=builder_for(recipe) if builder_for else None,
        progress=progress,
        spec_extra=first_round_profiler(),
    )
    summary = runner.run()
    failed = "".join(f"\n  roofline probe failed: {failure}" for failure in summary.failures)
    return f"roofline probes: {summary.ok} ok, {summary.failed} failed, {summary.skipped} already done; " + (
        write_operator_tables(store.directory).replace("operators:", "their operators:", 1) + failed
    )
