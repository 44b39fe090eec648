"""The timing loop of the measurement protocol, and summary statistics of its samples."""

from __future__ import annotations

import math
import time
from typing import Callable


def run_for(
    fn: Callable[[], None], min_runs: int, min_secs: float, max_secs: float, precision: float = 0.0
) -> list[float]:
    """Call `fn` until at least `min_runs` calls and `min_secs` have passed, stopping at `max_secs`.

    With `precision` > 0 the loop goes on past the minimums until the median of the samples is known
    to within that relative half-width (a distribution-free 95 % interval), still stopping at `max_secs`.
    Returns each call's duration in milliseconds (perf_counter_ns, nothing else inside the timed span).
    """
    samples: list[float] = []
    start = time.perf_counter_ns()
    min_ns, max_ns = min_secs * 1e9, max_secs * 1e9
    while True:
        t0 = time.perf_counter_ns()
        fn()
        t1 = time.perf_counter_ns()
        samples.append((t1 - t0) / 1e6)
        elapsed = t1 - start
        if elapsed >= max_ns:
            return samples
        if len(samples) >= min_runs and elapsed >= min_ns:
            if precision <= 0 or median_half_width(samples) <= precision:
                return samples


def median_half_width(samples: list[float]) -> float:
    """Half-width of the 95 % order-statistic interval of the median, relative to the median (inf when
    too few samples for one): ranks n/2 -+ 1.96 sqrt(n)/2, the normal approximation of the binomial."""
    n = len(samples)
    reach = 1.96 * math.sqrt(n) / 2
    low, high = math.floor(n / 2 - reach), math.ceil(n / 2 + reach) - 1
    if low < 0 or high >= n:
        return math.inf
    s = sorted(samples)
    middle = percentile(s, 50)
    return (s[high] - s[low]) / 2 / middle if middle > 0 else math.inf


def busy_wait(milliseconds: float) -> None:
    """Spin for a fixed time: the slowdown a benchmark of the regression gate injects into every inference."""
    end = time.perf_counter_ns() + milliseconds * 1e6
    while time.perf_counter_ns() < end:
        pass


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on an already sorted list."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(samples: list[float]) -> dict:
    s = sorted(samples)
    n = len(s)
    mean = sum(s) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
    return {
        "median": percentile(s, 50),
        "mean": mean,
        "p90": percentile(s, 90),
        "p99": percentile(s, 99),
        "std": std,
        "min": s[0],
        "max": s[-1],
        "n": n,
    }
