"""Results -> report.md, a self-contained report.html, results.csv (and .parquet), section CSVs and plots.

The first screen answers the question a person comes with: which variant to ship on each target, by
which rule, and how well FLOPs predict latency there. Everything behind that answer follows.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from .. import __version__
from ..results import Record, to_dataframe
from . import html, markdown, plots
from .analysis import DEFAULT_BUDGET_POINTS, DEFAULT_FIDELITY_BAR_DB, Analysis
from .blocks import Section, Text
from .columns import with_derived_columns
from .operators import operator_tables, per_operator
from .sections import build_sections

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
# What an earlier report in the same folder may have left and this one may not rewrite.
GENERATED = (
    "latency_vs_macs.png", "parity.png", "memory.png", "pareto.png", "energy_vs_macs.png",
    "latency_vs_gflops.png", "energy_vs_gflops.png",  # their names before the axis was in MACs
    "recommendations.csv", "fit.csv", "memory_ratios.csv", "pareto.csv", "selection.csv", "random_resolution.csv",
    "cross_runtime.csv", "cross_device.csv", "delegation.csv", "int8_coverage.csv", "mcu_fit.csv", "setup.csv", "sweep_noise.csv",
    "noise_by_target.csv", "results.parquet", "roofline.png",
)  # fmt: skip


def write_report(
    records: Iterable[Record],
    out_dir: Path,
    title: str = "edge-bench report",
    budget_points: float = DEFAULT_BUDGET_POINTS,
    fidelity_bar_db: float = DEFAULT_FIDELITY_BAR_DB,
    measured_in: Sequence[Path] = (),
) -> Path:
    """Write the report files into `out_dir`; returns the path of report.md. `measured_in`: the results
    directories the records come from (default `out_dir`), whose operator profiles (`--profile-ops`) the
    report reads."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in GENERATED:
        (out_dir / name).unlink(missing_ok=True)
    records = list(records)
    frame = to_dataframe(records)
    if not frame.empty:
        frame = with_derived_columns(frame, records)
    frame.to_csv(out_dir / "results.csv", index=False)
    files = ["`results.csv`: every measurement, one row each", _write_parquet(frame, out_dir / "results.parquet")]

    if frame.empty:
        first, rest = Section("Which variant to ship", [Text("No results: nothing was measured.")]), []
    else:
        analysis = Analysis(frame, records, budget_points, fidelity_bar_db)
        for name, table in analysis.tables().items():
            table.to_csv(out_dir / name, index=False)
            files.append(f"`{name}`")
        first, *rest = build_sections(analysis, plots.draw(analysis, out_dir))
        operators = operator_tables(measured_in or [out_dir])
        if operators is not None:
            rest.append(per_operator(*operators, figures_dir=out_dir))
            files.append(_merged_operator_tables(operators, out_dir, measured_in))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    footer = [
        f"Files beside this report: {'; '.join(files)}.",
        f"{len(records)} records; written by edge-bench {__version__} on {stamp}.",
    ]

    (out_dir / REPORT_HTML).write_text(html.render(title, first, rest, footer), encoding="utf-8")
    path = out_dir / REPORT_MD
    path.write_text(markdown.render(title, first, rest, footer), encoding="utf-8")
    return path


def _write_parquet(frame, path: Path) -> str:
    """Write the table as Parquet when pandas has an engine for it; say what happened either way."""
    if not any(importlib.util.find_spec(engine) for engine in ("pyarrow", "fastparquet")):
        return "`results.parquet`: not written, neither pyarrow nor fastparquet is installed (pip install pyarrow)"
    try:
        frame.to_parquet(path, index=False)
    except Exception as e:  # noqa: BLE001 - a column the engine cannot type must not cost the report
        path.unlink(missing_ok=True)
        return f"`results.parquet`: not written ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    return "`results.parquet`: the same rows as Parquet"


def _merged_operator_tables(operators: tuple[pd.DataFrame, pd.DataFrame], out_dir: Path, measured_in) -> str:
    """The operator tables of a report merged from other directories, written beside it."""
    if [Path(d).resolve() for d in measured_in] not in ([], [out_dir.resolve()]):
        rows, summary = operators
        rows.to_csv(out_dir / "operators.csv", index=False)
        summary.to_csv(out_dir / "operators-summary.csv", index=False)
    return "`operators.csv`, `operators-summary.csv`: per-operator times (`--profile-ops`)"
