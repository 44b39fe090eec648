"""A baseline's artifacts measured alongside the run's own, round for round, for a gate that cancels drift.

A machine's speed moves while it measures (measured on a shared 2-core VM: 5 to 14 % between blocks
of a few seconds, the same way for every workload in the process), so two runs made minutes apart
differ by more than either's rounds show. Measuring the baseline's artifact in the same passes as the
new one, with the order of the two alternating (ABBA), gives pairs of rounds taken seconds apart that
saw the same machine; `gate.paired_interval` judges their ratios. The pairs share the runtime and the
agent of this run: they judge what changed in the artifacts, not a runtime upgrade (a history does).

Each job whose variant and runtime the baseline measured gets a twin with the baseline's artifact,
found in the artifact cache by its build key and checked against its recorded hash.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Iterable

from ..build import BuildOutcome
from ..export.cache import ArtifactCache
from ..results import Record

if TYPE_CHECKING:
    from .job import Job

ALONGSIDE = "alongside"  # Job.side of a baseline's artifact measured in this run
ALONGSIDE_DIR = "alongside"  # its records: <out>/alongside/results.jsonl, a results directory of its own


def alongside_jobs(
    jobs: Iterable[Job], baseline: Iterable[Record], cache: ArtifactCache
) -> tuple[list[Job], list[str]]:
    """A twin of each job with the baseline's artifact of the same variant and runtime; why others have none."""
    newest: dict[tuple[str, str], Record] = {}
    for r in baseline:
        if r.ok and r.artifact is not None:
            newest[(str(r.variant.get("name")), r.runtime)] = r  # later records win: the newest run
    twins, notices = [], []
    for job in jobs:
        name = f"{job.variant.name} {job.runtime}"
        if job.build.artifact is None:
            continue  # the run's own job fails; nothing to compare it with
        before = newest.get((job.variant.name, job.runtime))
        if before is None or before.artifact is None:
            notices.append(f"{name}: not measured alongside, the baseline has no ok measurement of it")
            continue
        artifact = cache.lookup(before.artifact.key) if before.artifact.key else None
        if artifact is None or artifact.sha256 != before.artifact.sha256:
            notices.append(
                f"{name}: not measured alongside, the baseline's artifact (sha256 {before.artifact.sha256[:12]}) is not "
                f"in the artifact cache {cache.root}"
            )
            continue
        build = BuildOutcome(job.variant, job.runtime, artifact, None, cached=True, seconds=0.0)
        twins.append(replace(job, build=build, analytic=before.analytic, accuracy=before.accuracy, side=ALONGSIDE))
    return twins, notices
