"""What is measured: one Job per variant and runtime, built (and evaluated) before anything is measured.

A job carries everything known on the host: the variant, its analytic model, the artifact (or why it has
none), fidelity and accuracy. `base_record` turns that into a record before a single round is taken, so a
job that never reaches the device still leaves a record with the reason. `identity` is what decides a
number (artifact, runtime version, threads, target, API, pinned cores): `--resume` and `compare` go by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..build import BuildOutcome, Builder, one_line
from ..config import Recipe, Target
from ..errors import InputError
from ..progress import Progress
from ..recipes import Variant
from ..device.affinity import format_cpu_list
from ..results import ArtifactRef, Identity, Record

if TYPE_CHECKING:
    from ..accuracy.evaluator import Evaluator


@dataclass(frozen=True)
class Job:
    """One thing to measure: a variant's artifact for one runtime (or why it has none)."""

    variant: Variant
    runtime: str
    analytic: dict[str, Any] | None
    analytic_error: str | None
    build: BuildOutcome
    accuracy: dict[str, Any] | None = None  # fidelity to FP32 and, with a dataset, accuracy (on the host)
    cortex_m: dict[str, dict[str, Any]] | None = None  # per Cortex-M core of the mcu targets: the CMSIS-NN program
    side: str = ""  # "": the run's own artifact; alongside.ALONGSIDE: a baseline's, measured in the same rounds

    def key(self, recipe: str, target: str) -> tuple[str, str, str, str]:
        return (recipe, self.variant.name, self.runtime, target)


def build_jobs(
    variants: Sequence[Variant],
    runtimes: Sequence[str],
    targets: Sequence[Target],
    builder: Builder,
    progress: Progress,
    evaluator: Evaluator | None,
) -> list[Job]:
    """Every (variant, runtime) artifact, evaluated; built before anything is measured."""
    jobs: list[Job] = []
    cores = sorted({t.mcu.core for t in targets if t.kind == "mcu" and t.mcu.core})
    for n, variant in enumerate(variants, 1):
        memo: dict = {}
        analytic, analytic_error = None, None
        progress.update("build", n, len(variants), f"{variant.name} analytic")
        try:
            analytic = builder.analytic(variant, memo)
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - the artifact may still build and run
            analytic_error = f"analytic model failed: {one_line(e)}"
        cortex_m = None
        if cores:
            progress.update("build", n, len(variants), f"{variant.name} cortex-m")
            cortex_m = {core: builder.cortex_m(variant, core, memo) for core in cores}
        for runtime in runtimes:
            progress.update("build", n, len(variants), f"{variant.name} {runtime}")
            outcome = builder.artifact(variant, runtime, memo)
            accuracy = None
            if outcome.artifact is not None and evaluator is not None:
                progress.update("evaluate", n, len(variants), f"{variant.name} {runtime}")
                accuracy = evaluator.evaluate(variant, runtime, outcome.artifact, lambda: builder.model(variant, memo))
            jobs.append(Job(variant, runtime, analytic, analytic_error, outcome, accuracy, cortex_m))
    return jobs


# Read from the artifact's bytes at build time (build.artifact_memory_info), carried into `analytic`.
ARTIFACT_FIELDS = (
    "planned_io_only",
    "planned_io_bytes",
    "arena_bytes",
    "deployed_activation_bytes",
    "deployed_activation_op",
    "int8",
)
INT8_FIELDS = ("int8_macs_pct", "int8_ops_pct", "convert_ops", "fully_int8")  # flat, for tables


def base_record(run_id: str, recipe: Recipe, job: Job, target: Target) -> Record:
    """A record with everything known before measuring: the job's identity, artifact, analytic model and accuracy."""
    analytic = dict(job.analytic) if job.analytic else None
    artifact = job.build.artifact
    if artifact is not None:
        analytic = {
            **(analytic or {}),
            "artifact_bytes": artifact.bytes,
            "planned_bytes": artifact.manifest.get("planned_bytes"),
            "planned_source": artifact.manifest.get("planned_source"),
            "delegation": artifact.manifest.get("delegation"),
            **{key: artifact.manifest.get(key) for key in ARTIFACT_FIELDS},
        }
        int8 = artifact.manifest.get("int8") or {}
        analytic.update({key: int8.get(key) for key in INT8_FIELDS})
    return Record(
        run_id=run_id,
        recipe=recipe.name,
        variant=job.variant.record(),
        runtime=job.runtime,
        target=target.name,
        artifact=ArtifactRef(artifact.sha256, artifact.bytes, artifact.key, str(artifact.path)) if artifact else None,
        analytic=analytic,
        analytic_error=job.analytic_error,
        accuracy=job.accuracy,
        build={"seconds": round(job.build.seconds, 2), "cached": job.build.cached},
        weights=artifact.manifest.get("weights") if artifact else None,
        emulated=target.emulated,  # true: timings of an emulator, not of the board's CPU
    )


def identity(recipe: str, job: Job, target: Target, device: dict[str, Any]) -> Identity:
    """What decides the job's number on this target; the runtime's version as the device reported it."""
    version = ((device.get("runtimes") or {}).get(job.runtime) or {}).get("version")
    artifact = job.build.artifact
    return Identity(
        recipe,
        job.variant.name,
        job.runtime,
        target.name,
        artifact.sha256 if artifact else None,
        version,
        target.threads,
        target.runtimes.api(job.runtime),
        format_cpu_list(target.measure.cores) or None,
    )


def mcu_identity(recipe: str, job: Job, target: Target) -> Identity:
    """A microcontroller check depends on the artifact alone: no runtime runs, no threads."""
    artifact = job.build.artifact
    return Identity(
        recipe, job.variant.name, job.runtime, target.name, artifact.sha256 if artifact else None, None, None
    )


def identity_json(identity: Identity) -> dict[str, Any]:
    """The part of an identity a round line keeps, to match rounds of an interrupted run to its measurement."""
    return {
        "artifact_sha256": identity.artifact_sha256,
        "runtime_version": identity.runtime_version,
        "threads": identity.threads,
        "api": identity.runner,
        **({"cores": identity.cores} if identity.cores else {}),  # unpinned: as round lines were before pinning
    }
