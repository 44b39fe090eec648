"""`edge-bench analyze`: the analytic model of every variant, no export and no device."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..build import Builder
from ..config import Recipe
from ..progress import NoProgress, Progress
from ..recipes import Variant

# `macs` beside `flops`: the paper, its poster and torchvision quote multiply-accumulates (FLOPs = 2 x MACs).
COLUMNS = ("flops", "macs", "params", "weight_bytes", "activation_bytes", "memory_bytes", "liveness_bytes")


def analyze_recipe(recipe: Recipe, variants: list[Variant], progress: Progress | None = None) -> pd.DataFrame:
    progress = progress or NoProgress()
    builder = Builder(recipe)
    rows = []
    for n, variant in enumerate(variants, 1):
        progress.update("analyze", n, len(variants), variant.name)
        analytic = builder.analytic(variant)
        row = {"recipe": recipe.name, **variant.record(), **{k: analytic.get(k) for k in COLUMNS}}
        row.update(closed_form_columns(analytic))
        row.update(_planned_if_built(builder, variant, recipe))
        rows.append(row)
    progress.close()
    return pd.DataFrame(rows)


# The paper's ViT closed forms, beside the graph count they estimate.
CLOSED_FORM_PAIRS = (
    ("vit_closed_form_flops", "flops"),
    ("vit_closed_form_weights", "weight_bytes"),
    ("vit_closed_form_activations_max", "activation_bytes"),
)


def closed_form_columns(analytic: dict) -> dict:
    """The closed-form numbers and, for each, its difference from the graph count (relative)."""
    closed = analytic.get("closed_form") or {}
    out = {key: value for key, value in closed.items() if not isinstance(value, (dict, list))}
    for formula, counted in CLOSED_FORM_PAIRS:
        if closed.get(formula) is not None and analytic.get(counted):
            out[f"{formula}_vs_graph"] = closed[formula] / analytic[counted] - 1
    return out


def write_analysis(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """analysis.csv and the trade-off picture: memory and activations against MACs, one series per recipe."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    out_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_dir / "analysis.csv", index=False)
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for recipe, group in frame.groupby("recipe", sort=False):
        group = group.sort_values("macs")
        axes[0].plot(group["macs"] / 1e9, group["memory_bytes"] / 1e6, marker="o", label=recipe)
        axes[1].plot(group["macs"] / 1e9, group["activation_bytes"] / 1e6, marker="o", label=recipe)
    axes[0].set_title("memory: INT8 weights + largest operator in+out", fontsize=10)
    axes[1].set_title("activations: largest operator in+out (INT8)", fontsize=10)
    plain = FuncFormatter(lambda value, _: f"{value:g}")  # 0.1, 1, 30 rather than 10^-1 and 3x10^1
    for ax in axes:
        ax.set_xlabel("GMACs (10⁹ multiply-accumulates)")
        ax.set_ylabel("MB")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # labels on 1, 2 and 5 of each decade only: they never collide
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle("Scaling trade-off: resolution vs width (analytic model)")
    picture = out_dir / "tradeoff.png"
    fig.savefig(picture, dpi=120)
    return [out_dir / "analysis.csv", picture]


def _planned_if_built(builder: Builder, variant: Variant, recipe: Recipe) -> dict:
    """Planned memory per runtime, read from cached artifacts (analyze never converts)."""
    out = {}
    for runtime in recipe.runtimes:
        artifact = builder.cache.lookup(builder.artifact_key(variant, runtime))
        out[f"planned_bytes_{runtime}"] = artifact.manifest.get("planned_bytes") if artifact else None
    return out
