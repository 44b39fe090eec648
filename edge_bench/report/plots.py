"""Plots of a report, written as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def plot_latency_vs_flops(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Median latency against GFLOPs, one series per (target, runtime)."""
    ok = frame[(frame["status"] == "ok") & frame["flops"].notna()] if "flops" in frame else frame.iloc[0:0]
    if ok.empty:
        return []
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for (target, runtime), group in ok.groupby(["target", "runtime"]):
        group = group.sort_values("flops")
        ax.errorbar(group["flops"] / 1e9, group["latency_median_ms"],
                    yerr=[group["latency_median_ms"] - group["latency_min_ms"],
                          group["latency_p90_ms"] - group["latency_median_ms"]],
                    marker="o", capsize=3, label=f"{runtime} on {target}")
    ax.set_xlabel("GFLOPs (analytic, FP32 graph)")
    ax.set_ylabel("latency, ms (median; bars: min to p90)")
    ax.set_title("Latency vs FLOPs")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(out_dir) / "latency_vs_gflops.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
