"""Did a run get slower than a baseline, beyond the noise both runs measured?

For each (recipe, variant, runtime, target) in both, the change of the median latency is compared with
the standard error of the two medians, estimated from the raw samples (robust: 1.4826 x MAD as sigma,
and 1.2533 sigma / sqrt(n) for a median). A regression is a slowdown larger than `sigmas` standard errors
AND larger than `min_change` of the baseline, so a real but negligible change does not fail CI.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable

from .results import measurement_key


@dataclass(frozen=True)
class Comparison:
    key: tuple[str, str, str, str]
    baseline_ms: float
    current_ms: float
    noise_ms: float
    change: float  # relative, + is slower
    regressed: bool


def median_standard_error(latency: dict[str, Any]) -> float:
    samples = latency.get("samples")
    if samples and len(samples) >= 3:
        median = statistics.median(samples)
        sigma = 1.4826 * statistics.median(abs(x - median) for x in samples)
        n = len(samples)
    else:  # no raw samples kept: fall back to the summary's standard deviation
        sigma, n = latency.get("std") or 0.0, latency.get("n") or 1
    return 1.2533 * sigma / math.sqrt(n)


def _ok_by_key(records: Iterable[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    # The last ok record of a key wins (a resumed or repeated run).
    return {measurement_key(r): r for r in records if r.get("status") == "ok" and r.get("latency_ms")}


def compare(baseline: Iterable[dict[str, Any]], current: Iterable[dict[str, Any]], sigmas: float = 3.0,
            min_change: float = 0.02) -> list[Comparison]:
    base, now = _ok_by_key(baseline), _ok_by_key(current)
    out = []
    for key in sorted(base.keys() & now.keys()):
        b, c = base[key]["latency_ms"], now[key]["latency_ms"]
        noise = math.hypot(median_standard_error(b), median_standard_error(c))
        delta = c["median"] - b["median"]
        change = delta / b["median"]
        out.append(Comparison(key, b["median"], c["median"], noise, change,
                              regressed=delta > sigmas * noise and change > min_change))
    return out


def format_comparisons(comparisons: list[Comparison], sigmas: float) -> str:
    lines = [f"{'variant':40s} {'runtime':10s} {'target':12s} {'base ms':>9s} {'now ms':>9s} {'change':>8s} {'noise ms':>9s}"]
    for c in comparisons:
        _, variant, runtime, target = c.key
        flag = f"  SLOWER (> {sigmas:g} sigma)" if c.regressed else ""
        lines.append(f"{variant:40s} {runtime:10s} {target:12s} {c.baseline_ms:9.3f} {c.current_ms:9.3f} "
                     f"{c.change:+8.1%} {c.noise_ms:9.3f}{flag}")
    return "\n".join(lines)
