"""Results -> report.md, results.csv and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..results import to_dataframe
from .plots import plot_latency_vs_flops
from .tables import summary_table, to_markdown


def write_report(records: Iterable[dict[str, Any]], out_dir: Path, title: str = "edge-bench report") -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = to_dataframe(list(records))
    frame.to_csv(out_dir / "results.csv", index=False)
    lines = [f"# {title}", ""]
    if frame.empty:
        lines.append("No results.")
    else:
        plots = plot_latency_vs_flops(frame, out_dir)
        lines += _overview(frame)
        lines += ["## Measurements", "", to_markdown(summary_table(frame)), ""]
        failed = frame[frame["status"] != "ok"]
        if not failed.empty:
            lines += ["## Failures", ""]
            lines += [f"- {r.variant} / {r.runtime} on {r.target}: {r.error}" for r in failed.itertuples()]
            lines.append("")
        for plot in plots:
            lines += [f"![{plot.stem}]({plot.name})", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def _overview(frame) -> list[str]:
    ok = frame[frame["status"] == "ok"]
    targets = ", ".join(sorted(frame["target"].dropna().unique()))
    lines = [f"{len(ok)} of {len(frame)} measurements ok, on {targets}.", ""]
    if not ok.empty:
        best = ok.loc[ok["latency_median_ms"].idxmin()]
        lines += [f"Fastest: **{best['variant']}** with {best['runtime']} on {best['target']}: "
                  f"{best['latency_median_ms']:.2f} ms median.", ""]
    return lines
