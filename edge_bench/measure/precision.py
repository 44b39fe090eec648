"""How precisely a median latency is known from repeated rounds, and when to stop measuring.

Within one process the samples are tight; between processes the median jumps (a process lands on
busier or quieter cores, a different memory layout, another thread placement). So the unit of
evidence is the round: one fresh process, one median. The estimate is the geometric mean of the kept
rounds' medians, and its confidence interval a Student t interval on their logarithms (batch means:
each round's median already averages its own samples, so autocorrelation within a round does not
make the interval too narrow). A measurement stops when the interval's half-width is within the
target, after at least `rounds_min` rounds, or when it runs out of rounds or device time: then it is
flagged as not precise.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from ..results import Latency, Precision, Round
from ..results.record import WITHIN_RUN

METHOD = "Student t interval over the logarithms of the round medians"


@dataclass(frozen=True)
class Interval:
    center: float  # geometric mean of the round medians
    low: float | None
    high: float | None
    half_width: float | None  # (high - low) / 2 / center; None with fewer than two rounds


def t_quantile(p: float, df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(p, df))


def round_interval(medians: Sequence[float], confidence: float = 0.95) -> Interval:
    """The confidence interval of the typical round median (positive values)."""
    logs = [math.log(m) for m in medians if m and m > 0]
    if not logs:
        raise ValueError("no positive round median")
    center = math.exp(statistics.fmean(logs))
    if len(logs) < 2:
        return Interval(center, None, None, None)
    spread = t_quantile((1 + confidence) / 2, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    low, high = math.exp(statistics.fmean(logs) - spread), math.exp(statistics.fmean(logs) + spread)
    return Interval(center, low, high, (high - low) / 2 / center)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) on sorted values."""
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class StopRule:
    """When a measurement is known well enough (from the target file's [measure] table)."""

    target: float  # relative half-width of the interval asked for (0.02: within ±2 %)
    confidence: float
    rounds_min: int
    rounds_max: int
    retakes: int  # extra rounds allowed to replace disturbed or throttled ones
    max_seconds: float  # device time for one measurement, all rounds together


def summarize(rounds: list[Round], rule: StopRule) -> Latency | None:
    """Latency statistics over the kept rounds, with the interval and whether it reached the target."""
    kept = [r for r in rounds if r.kept and r.median and r.median > 0]
    if not kept:
        return None
    samples = sorted(s for r in kept for s in r.samples)
    interval = round_interval([r.median for r in kept], rule.confidence)
    reached = interval.half_width is not None and interval.half_width <= rule.target and len(kept) >= rule.rounds_min
    seconds = [r.seconds for r in rounds if r.seconds is not None]
    left_out = len(rounds) - len([r for r in rounds if r.kept])
    note = None
    if not reached:
        if interval.half_width is None:
            note = f"{len(kept)} round: no interval"
        elif len(kept) < rule.rounds_min:
            note = f"{len(kept)} rounds of the {rule.rounds_min} asked for"
        else:
            note = f"±{interval.half_width:.1%} {WITHIN_RUN} after {len(kept)} rounds, ±{rule.target:.1%} asked for"
    precision = Precision(
        method=METHOD,
        confidence=rule.confidence,
        low_ms=interval.low,
        high_ms=interval.high,
        half_width=interval.half_width,
        target=rule.target,
        reached=reached,
        rounds=len(kept),
        rounds_left_out=left_out,
        device_seconds=round(sum(seconds), 3) if seconds else None,
        note=note,
        scope=WITHIN_RUN,
    )
    if samples:
        return Latency(
            median=interval.center,
            mean=statistics.fmean(samples),
            p90=percentile(samples, 90),
            p99=percentile(samples, 99),
            std=statistics.stdev(samples) if len(samples) > 1 else 0.0,
            min=samples[0],
            max=samples[-1],
            n=len(samples),
            rounds=list(rounds),
            precision=precision,
        )
    # A native tool that prints statistics only: what all rounds together allow, nothing invented.
    summaries = [r.summary or {} for r in kept]
    counts: list[int] = [int(s.get("n") or 0) for s in summaries]
    means = [s.get("mean") for s in summaries]
    single = summaries[0] if len(summaries) == 1 else {}
    total = sum(counts)
    weighted: float | None = None
    if total and all(m is not None for m in means):
        weighted = math.fsum(float(m) * c for m, c in zip(means, counts) if m is not None) / total
    return Latency(
        median=interval.center,
        mean=weighted,
        p90=single.get("p90"),
        p99=single.get("p99"),
        std=single.get("std"),
        min=min((s["min"] for s in summaries if s.get("min") is not None), default=None),
        max=max((s["max"] for s in summaries if s.get("max") is not None), default=None),
        n=sum(counts),
        rounds=list(rounds),
        precision=precision,
    )


def interval_text(precision: Precision) -> str:
    """The interval in words, saying what it covers: "±1.3 % (95 % confidence over 5 rounds, within this
    run; drift between runs not included)"."""
    scope = f"{precision.scope}; drift between runs not included"
    if precision.half_width is None:
        return f"no interval ({precision.rounds} round, {scope})"
    confidence = f"{precision.confidence * 100:g} %"
    return f"±{precision.half_width:.1%} ({confidence} confidence over {precision.rounds} rounds, {scope})"


def out_of_rounds(rounds: list[Round], rule: StopRule) -> bool:
    """Whether the measurement has used its rounds (retakes included) or its device time."""
    kept = [r for r in rounds if r.kept]
    if len(rounds) >= rule.rounds_max + rule.retakes or len(kept) >= rule.rounds_max:
        return True
    return sum(r.seconds or 0.0 for r in rounds) >= rule.max_seconds


def wants_another_round(rounds: list[Round], rule: StopRule) -> bool:
    """Whether the measurement should get one more round (it stops at the target, or out of rounds or time)."""
    if out_of_rounds(rounds, rule):
        return False
    kept = [r for r in rounds if r.kept]
    if len(kept) < rule.rounds_min:
        return True
    latency = summarize(rounds, rule)
    return latency is None or latency.precision is None or not latency.precision.reached
