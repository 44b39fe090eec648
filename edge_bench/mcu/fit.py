"""Flash and SRAM need of a variant against a microcontroller's budgets."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..config import McuConfig

# Where the SRAM need comes from, best first: what the runtime plans, the liveness peak, the paper's metric.


def fit_check(
    analytic: Mapping[str, Any],
    artifact_bytes: int | None,
    planned_bytes: int | None,
    mcu: McuConfig,
    planned_source: str = "planned",
) -> dict[str, Any]:
    """Does the variant fit the part? Flash holds the model, SRAM its activations.

    Flash need: the artifact's size, or the INT8 weight bytes when there is no artifact. SRAM need:
    the runtime's planned activation bytes if known, else the liveness peak, else the paper's
    activation metric; `source` says which. Runtime code, stack and buffers outside the model's plan
    are not counted, so a "fits" with a thin margin is not a promise.
    """
    if artifact_bytes is not None:
        flash_need, flash_source = artifact_bytes, "artifact"
    else:
        flash_need, flash_source = analytic.get("weight_bytes"), "int8_weight_bytes"
    candidates = (
        (planned_source, planned_bytes),
        ("liveness_peak", analytic.get("liveness_bytes")),
        ("paper_activation", analytic.get("activation_bytes")),
    )
    sram_source, sram_need = next(((s, n) for s, n in candidates if n is not None), ("none", None))
    flash = _against_budget(flash_need, flash_source, mcu.flash_bytes, "flash_bytes")
    sram = _against_budget(sram_need, sram_source, mcu.sram_bytes, "sram_bytes")
    verdicts = (flash["fits"], sram["fits"])
    fits = False if False in verdicts else (True if all(verdicts) else None)
    return {"fits": fits, "flash": flash, "sram": sram}


def _against_budget(need: int | None, source: str, budget: int, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "need_bytes": need,
        "source": source,
        "budget_bytes": budget or None,
        "fits": None,
        "margin_bytes": None,
        "margin_pct": None,
        "reason": None,
    }
    if need is None:
        out["reason"] = "no size known for this variant (no artifact and no analytic figure)"
    elif not budget:
        out["reason"] = f"the target file gives no [mcu].{key}"
    else:
        margin = budget - int(need)
        out.update(fits=margin >= 0, margin_bytes=margin, margin_pct=round(100.0 * margin / budget, 2))
    return out


def mcu_planned_bytes(artifact: str | Path) -> tuple[int | None, str]:
    """The activation memory a microcontroller runtime would plan for this artifact, and its source.

    .tflite: TFLite Micro's arena, replayed from the file. .pte: the program's plan, unless an XNNPACK
    delegate holds part of the graph (its memory is outside the plan, and XNNPACK does not run on a
    microcontroller): then None, and `fit_check` falls back to the analytic figures.
    """
    from ..artifacts.arena import tflite_arena_estimate
    from ..artifacts.pte import planned_memory, read_pte

    path = Path(artifact)
    if path.suffix == ".tflite":
        return tflite_arena_estimate(path)["tflm_arena_bytes"], "tflm_arena_estimate"
    if path.suffix == ".pte":
        program = read_pte(path)
        if any(d.id == "XnnpackBackend" for plan in program.program.execution_plan for d in plan.delegates):
            return None, "xnnpack_plan_incomplete"
        return planned_memory(program)["planned_bytes"], "executorch_plan"
    return None, "unknown_artifact"
