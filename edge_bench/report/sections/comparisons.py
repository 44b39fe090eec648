"""The sections that set measurements side by side: ExecuTorch against LiteRT on each target, and each
variant across targets."""

from __future__ import annotations

from ..analysis import Analysis
from ..blocks import Alert, Bullets, Section, Table, Text
from ..variants import point_label
from .formatting import Images, in_reading_order, shown

CROSS_RUNTIME_SPEC = (
    ("target", "target", None),
    ("variant", "variant", None),
    ("executorch", "ExecuTorch ms", None),
    ("litert", "LiteRT ms", None),
    ("executorch_over_litert", "ExecuTorch / LiteRT", None),
    ("within_noise", "within the noise", None),
)


def cross_runtime_section(a: Analysis, images: Images) -> Section:
    section = Section("ExecuTorch against LiteRT")
    runtimes = a.runtimes
    if not {"executorch", "litert"} <= set(runtimes):
        section.blocks.append(Text(f"Only {', '.join(runtimes) or 'no runtime'} measured here: nothing to compare."))
        return section
    table = a.cross_runtime
    if table.empty:
        section.blocks.append(Text("No variant was measured with both runtimes on the same target."))
        return section
    lines = [
        f"{row['target']}: LiteRT faster on {row['litert_faster']} of {row['n']} variants; ExecuTorch / LiteRT latency "
        f"median ×{row['median']:.2f} ({row['min']:.2f}–{row['max']:.2f})."
        for _, row in a.cross_runtime_summary.iterrows()
    ]
    section.blocks.append(Bullets(tuple(lines)))
    noisy, judged = a.runtimes_within_noise
    if len(noisy):
        section.blocks.append(
            Alert(
                f"{len(noisy)} of {judged} runtime comparisons differ by no more than the noise of their measurements "
                f"({', '.join(point_label(v, with_arch=True) for v in noisy['variant'].head(6))}{', …' if len(noisy) > 6 else ''}): "
                "for those variants these runs do not tell which runtime is faster."
            )
        )
    # the ratio as a number, however the table's column is typed
    as_shown = table.assign(executorch_over_litert=table["executorch_over_litert"].astype(float))
    section.blocks.append(Table(shown(a, in_reading_order(as_shown), CROSS_RUNTIME_SPEC)))
    return section


def cross_device_section(a: Analysis, images: Images) -> Section:
    section = Section("Across devices")
    if len(a.targets) < 2:
        emulated = "; emulated targets are never compared" if len(a.emulated) else ""
        section.blocks.append(
            Text(f"One target only ({', '.join(a.targets) or 'none'}){emulated}: nothing to compare.")
        )
        return section
    spec = [("variant", "variant", None), ("runtime", "runtime", None)]
    spec += [(t, f"{t} ms", None) for t in a.targets] + [("fastest", "fastest", None)]
    spec += [(f"{t}_vs_fastest", f"{t} / fastest", None) for t in a.targets]
    section.blocks.append(
        Text("Median latency of each variant on each target, and how far each target is from the fastest.")
    )
    section.blocks.append(Table(shown(a, in_reading_order(a.cross_device), spec)))
    return section
