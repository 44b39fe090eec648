"""The sections on the deployed artifacts themselves: how much of each graph the XNNPACK delegate takes,
how much of it runs in INT8, and which variants fit a microcontroller board."""

from __future__ import annotations

from ..analysis import Analysis
from ..blocks import Bullets, Section, Table, Text
from .formatting import Images, shown

DELEGATION_SPEC = (
    ("runtime", "runtime", None),
    ("variant", "variant", None),
    ("fully_delegated", "fully delegated", None),
    ("delegated", "delegated ops/nodes", None),
    ("partitions", "delegate partitions", None),
    ("non_delegated_ops", "left to plain kernels", None),
    ("reason", "note", None),
)


def delegation_section(a: Analysis, images: Images) -> Section:
    section = Section("Delegation coverage")
    table = a.delegation
    if table.empty:
        section.blocks.append(Text("No delegation data in these records (analytic.delegation is absent)."))
        return section
    section.blocks.append(
        Text(
            "Which operators run inside the XNNPACK delegate and which are left to the runtime's own kernels "
            "(LiteRT's interpreter, ExecuTorch's portable or optimized kernels); each operator left out splits "
            "the graph into one more delegate partition."
        )
    )
    summary = [
        f"{row['runtime']}: {row['fully_delegated']} of {row['n']} artifacts fully delegated."
        for _, row in a.delegation_summary.iterrows()
    ]
    section.blocks.append(Bullets(tuple(summary)))
    section.blocks.append(Table(shown(a, table, DELEGATION_SPEC)))
    return section


INT8_SPEC = (
    ("runtime", "runtime", None), ("variant", "variant", None), ("int8_macs_pct", "INT8 MACs %", None),
    ("int8_ops_pct", "INT8 ops %", None), ("convert_ops", "quantize/dequantize", None),
    ("flag", "flag", None), ("float_ops_why", "float ops and why", None),
)  # fmt: skip


def int8_section(a: Analysis, images: Images) -> Section:
    """How much of each artifact runs in INT8, read from the graph the runtime runs."""
    section = Section("INT8 coverage")
    table = a.int8_coverage
    if table.empty:
        section.blocks.append(
            Text("No INT8 coverage in these records (analytic.int8 is absent: artifacts built before it was measured).")
        )
        return section
    section.blocks.append(
        Text(
            "Read from each artifact's deployed graph: an operator runs in INT8 when every tensor it reads or writes, "
            "weights aside, is 8-bit. Shares are of the operators other than quantize/dequantize (counted apart) and of "
            "their multiply-accumulates. Any artifact with MACs outside INT8 is flagged."
        )
    )
    summary = [
        f"{row['runtime']}: {row['fully_int8']} of {row['n']} artifacts fully INT8; "
        f"{row['below_100pct_macs']} below 100% of their MACs in INT8."
        for _, row in a.int8_summary.iterrows()
    ]
    section.blocks.append(Bullets(tuple(summary)))
    as_shown = table.assign(flag=table["below_100pct_macs"].map(lambda v: "MACs in float" if v is True else ""))
    section.blocks.append(Table(shown(a, as_shown, INT8_SPEC)))
    flagged = a.int8_flagged
    if flagged:
        section.blocks.append(
            Text(
                f"**{flagged} artifact{'s' if flagged > 1 else ''} below 100% of MACs in "
                "INT8**: their latency is not that of an INT8 model."
            )
        )
    return section


MCU_SPEC = (
    ("target", "board", None), ("runtime", "runtime", None), ("variant", "variant", None),
    ("mcu_fits", "fits", None), ("mcu_flash_need_bytes", "flash need kB", 1e3),
    ("mcu_flash_margin_bytes", "flash margin kB", 1e3), ("mcu_sram_need_bytes", "SRAM need kB", 1e3),
    ("mcu_sram_margin_bytes", "SRAM margin kB", 1e3), ("mcu_latency_estimate_ms", "estimated ms", None),
)  # fmt: skip


def mcu_section(a: Analysis, images: Images) -> Section:
    """Microcontroller boards: which variants fit their flash and SRAM, and the best one that does."""
    section = Section("Microcontrollers: what fits")
    rows = a.mcu
    if rows.empty:
        section.blocks.append(Text("No microcontroller target in these results."))
        return section
    quality = a.accuracy_column
    rule = (
        f"the highest {quality} among the variants that fit"
        if quality
        else "the variant with the most FLOPs among those that fit (no accuracy measured: more compute "
        "is taken as more capacity)"
    )
    section.blocks.append(
        Text(
            f"Nothing is flashed: need against the board's datasheet budgets, and a latency "
            f"estimate from MACs and the board's MACs/cycle (an estimate, never a measurement). "
            f"Best per board and runtime: {rule}."
        )
    )
    best = [
        f"{row['target']} / {row['runtime']}: none of {row['n']} variants fits."
        if row["n_fit"] == 0
        else f"{row['target']} / {row['runtime']}: **{row['choice']}** ({row['n_fit']} of {row['n']} variants fit)."
        for _, row in a.mcu_best.iterrows()
    ]
    section.blocks.append(Bullets(tuple(best)))
    section.blocks.append(Table(shown(a, rows, MCU_SPEC)))
    return section
