"""The performance gate: did a run get slower than its baseline, beyond the noise between rounds and runs?

Within one process the samples are tight, so a standard error from them says nothing about how far
the next process, or the next run, will land. The evidence here is the rounds: each round (a fresh
process) gives one median. A measurement is compared with its baseline by the ratio of their typical
round medians, with a t interval on the logarithms:
- against one baseline run, a Welch interval on the two runs' round medians (`ratio_interval`): it
  knows the spread between processes, not how far a whole run drifts from the next (a machine's state
  minutes later), and `format_comparisons` says so;
- against a history of two or more runs, a random-effects interval (`history_interval`): the spread
  between the runs beyond what their rounds explain is estimated from the history and counted on both
  sides, since the new run, too, lands that far from the typical run.
- measured side by side (`edge-bench run --alongside`: the baseline's artifact in the same passes), a
  paired interval (`paired_interval`): each of the run's rounds with the baseline round taken
  beside it, seconds apart on the same machine, so the drift of the machine's speed, which moves both,
  cancels. A round now and then lands in a slow spell of its own (1.5x, measured); the interval is the
  sign test's, order statistics of the pairs' ratios, so a pair or two in such a spell cannot drag it
  the way they drag a mean.
A measurement regressed when the whole interval lies above 1 (slower for sure) and the ratio is above
1 + min_change (slower by enough to matter).

Baselines are kept, never overwritten: `accept` copies a run's trustworthy records (ok, precise, not
throttled, not emulated) into a history folder with the date, and `compare` reads the last few.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import InputError
from .precision import t_quantile
from ..results import RESULTS_FILE, Identity, Record, load_dirs

ACCEPTED = "accepted.json"  # marks a baseline history entry


@dataclass(frozen=True)
class Comparison:
    key: tuple[str, str, str, str]
    baseline_ms: float
    current_ms: float
    ratio: float | None  # current / baseline typical round median
    low: float | None  # confidence interval of the ratio
    high: float | None
    regressed: bool
    baseline_rounds: int
    current_rounds: int
    baseline_runs: int
    different_artifacts: bool = False
    note: str | None = None
    between_runs: float | None = None  # log sd of whole runs beyond their rounds, from a history of >= 2 runs
    pairs: int | None = None  # measured side by side: the pairs of rounds the interval stands on

    @property
    def change(self) -> float | None:
        return None if self.ratio is None else self.ratio - 1


def ratio_interval(baseline: list[float], current: list[float], confidence: float) -> tuple[float, float, float] | None:
    """(ratio, low, high) of the typical current median over the typical baseline median; None with fewer
    than two rounds on a side."""
    if len(baseline) < 2 or len(current) < 2:
        return None
    lb, lc = [math.log(v) for v in baseline], [math.log(v) for v in current]
    vb, vc = statistics.variance(lb) / len(lb), statistics.variance(lc) / len(lc)
    diff = statistics.fmean(lc) - statistics.fmean(lb)
    if vb + vc == 0:
        return math.exp(diff), math.exp(diff), math.exp(diff)
    df = (vb + vc) ** 2 / (vb**2 / (len(lb) - 1) + vc**2 / (len(lc) - 1))  # Welch-Satterthwaite
    reach = t_quantile((1 + confidence) / 2, df) * math.sqrt(vb + vc)
    return math.exp(diff), math.exp(diff - reach), math.exp(diff + reach)


def history_interval(
    runs: list[list[float]], current: list[float], confidence: float
) -> tuple[float, float, float, float] | None:
    """(ratio, low, high, between-run sd) of the current run's typical median over the typical run of
    the history `runs` (each a list of round medians); None with fewer than two runs of two rounds.

    Each run is summarized by its mean log round median m_j. The history's center is their mean, known
    to var(m_j) / k. The between-run variance tau^2 is what var(m_j) holds beyond the runs' own
    within-run variances (never below 0); the current run's mean is known to its own within-run
    variance plus tau^2. Degrees of freedom by Welch-Satterthwaite, the history's side on k - 1.
    """
    runs = [r for r in runs if len(r) >= 2]
    if len(runs) < 2 or len(current) < 2:
        return None
    means = [statistics.fmean(math.log(v) for v in r) for r in runs]
    within = [statistics.variance([math.log(v) for v in r]) / len(r) for r in runs]
    k = len(runs)
    spread = statistics.variance(means)
    tau2 = max(0.0, spread - statistics.fmean(within))
    logs = [math.log(v) for v in current]
    own = statistics.variance(logs) / len(logs)
    history_side, current_side = spread / k, own + tau2
    diff = statistics.fmean(logs) - statistics.fmean(means)
    total = history_side + current_side
    if total == 0:
        return math.exp(diff), math.exp(diff), math.exp(diff), 0.0
    df = total**2 / ((history_side + tau2) ** 2 / (k - 1) + own**2 / (len(logs) - 1))
    reach = t_quantile((1 + confidence) / 2, df) * math.sqrt(total)
    return math.exp(diff), math.exp(diff - reach), math.exp(diff + reach), math.sqrt(tau2)


def pairs_needed(confidence: float) -> int:
    """The fewest pairs whose sign-test interval reaches `confidence` (6 at 95 %): below that, even the
    range of the pairs covers less."""
    return math.ceil(math.log2(2 / (1 - confidence)) - 1e-9)


PAIRS_WANTED = 10  # at 95 % the sign interval then leaves out two pairs at each end: a spell or two decides nothing


def pairs_wanted(confidence: float) -> int:
    """The pairs of rounds a job and its twin take at least (their target's rounds_max permitting)."""
    return max(PAIRS_WANTED, pairs_needed(confidence))


def paired_interval(pairs: list[tuple[float, float]], confidence: float) -> tuple[float, float, float] | None:
    """(ratio, low, high) from (baseline, current) round medians taken side by side: the median of the
    pairs' ratios and its distribution-free interval (the sign test's: the k-th smallest and largest ratio,
    k from the binomial distribution); None with fewer pairs than `pairs_needed`."""
    from scipy.stats import binom

    ratios = sorted(current / base for base, current in pairs if base > 0 and current > 0)
    n = len(ratios)
    if n < pairs_needed(confidence):
        return None
    cut = max(k for k in range(1, n // 2 + 1) if binom.cdf(k - 1, n, 0.5) <= (1 - confidence) / 2)
    return statistics.median(ratios), ratios[cut - 1], ratios[n - cut]


def side_by_side(baseline: Record, current: Record) -> list[tuple[float, float]]:
    """The kept rounds of two measurements of one run, paired in time: each pair two neighbours on the
    run's clock, one of each side (the runner alternates which goes first, so neighbours are seconds apart)."""
    if baseline.latency is None or current.latency is None or not _same_run(baseline, current):
        return []
    timeline = sorted(
        (r.started, side, r.median)
        for side, latency in ((0, baseline.latency), (1, current.latency))
        for r in latency.rounds
        if r.kept and r.started is not None and r.median
    )
    pairs, i = [], 0
    while i + 1 < len(timeline):
        (_, side, median), (_, next_side, next_median) = timeline[i], timeline[i + 1]
        if side != next_side:
            pairs.append((median, next_median) if side == 0 else (next_median, median))
            i += 2
        else:
            i += 1
    return pairs


def _same_run(a: Record, b: Record) -> bool:
    """Measured in one run: a baseline's artifact measured alongside the run's own."""
    return a.run_id is not None and a.run_id == b.run_id


def _same(a: Identity, b: Identity) -> bool:
    return not a.differences(b)


def _medians(record: Record) -> list[float]:
    return [m for m in record.latency.round_medians if m and m > 0] if record.latency else []


def compare(
    baseline: Iterable[Record],
    current: Iterable[Record],
    min_change: float = 0.02,
    confidence: float = 0.95,
    allow_different_artifacts: bool = False,
) -> list[Comparison]:
    """One comparison per measurement ok in both; the baseline of a key may hold several runs (its history)."""
    history: dict[tuple, list[Record]] = {}
    for r in baseline:
        if r.ok and r.latency:
            history.setdefault(r.key, []).append(r)
    latest = {r.key: r for r in current if r.ok and r.latency}
    out = []
    for key in sorted(history.keys() & latest.keys()):
        now = latest[key]
        assert now.latency is not None  # kept above: ok records with a latency
        beside = [r for r in history[key] if _same_run(r, now)]  # measured alongside: other artifacts by design
        same = beside or [r for r in history[key] if _same(now.identity, r.identity)]
        different = not same
        if different and not allow_different_artifacts:
            continue
        runs = same or history[key]
        base_medians = [m for r in runs for m in _medians(r)]
        now_medians = _medians(now)
        base_ms = (
            math.exp(statistics.fmean(math.log(m) for m in base_medians))
            if base_medians
            else statistics.median(r.latency.median for r in runs if r.latency)
        )
        pairs = side_by_side(beside[-1], now) if beside else []
        across_runs = None if pairs else history_interval([_medians(r) for r in runs], now_medians, confidence)
        if pairs:
            interval = paired_interval(pairs, confidence)
        elif across_runs:
            interval = across_runs[:3]
        else:
            interval = ratio_interval(base_medians, now_medians, confidence)
        note = None
        if interval is None:
            ratio, low, high = now.latency.median / base_ms, None, None
            note = (
                f"too few pairs of rounds to judge side by side ({len(pairs)}, at least {pairs_needed(confidence)})"
                if pairs
                else "too few rounds to judge (at least 2 on each side)"
            )
            regressed = False
        else:
            ratio, low, high = interval
            regressed = low > 1 and ratio > 1 + min_change
        out.append(
            Comparison(
                key,
                base_ms,
                now.latency.median,
                ratio,
                low,
                high,
                regressed,
                len(base_medians),
                len(now_medians),
                len(runs),
                different,
                note,
                across_runs[3] if across_runs else None,
                len(pairs) if pairs else None,
            )
        )
    return out


def not_compared(baseline: Iterable[Record], current: Iterable[Record], allow_different_artifacts: bool) -> list[str]:
    """Measurements of the run that the comparison left out, and why."""
    history: dict[tuple, list[Record]] = {}
    for r in baseline:
        if r.ok and r.latency:
            history.setdefault(r.key, []).append(r)
    out = []
    for r in current:
        name = f"{r.variant.get('name')} {r.runtime} on {r.target}"
        if not r.ok:
            out.append(f"{name}: failed ({r.error})")
        elif r.key not in history:
            out.append(f"{name}: not in the baseline")
        elif not allow_different_artifacts and not any(
            _same(r.identity, b.identity) or _same_run(b, r) for b in history[r.key]
        ):
            changes = r.identity.differences(history[r.key][-1].identity)
            out.append(
                f"{name}: not the same measurement ({'; '.join(changes)}); --allow-different-artifacts "
                "compares it anyway"
            )
    return out


def format_comparisons(comparisons: list[Comparison], confidence: float) -> str:
    lines = [
        f"{'variant':40s} {'runtime':10s} {'target':12s} {'base ms':>9s} {'now ms':>9s} {'change':>8s} "
        f"{f'{confidence:.0%} interval':>17s}  verdict"
    ]
    for c in comparisons:
        _, variant, runtime, target = c.key
        interval = f"{c.low - 1:+.1%} .. {c.high - 1:+.1%}" if c.low is not None and c.high is not None else "–"
        verdict = "SLOWER" if c.regressed else (c.note or "same")
        if c.different_artifacts:
            verdict += " (different artifacts)"
        change = f"{c.change:+8.1%}" if c.change is not None else f"{'–':>8s}"
        lines.append(
            f"{variant:40s} {runtime:10s} {target:12s} {c.baseline_ms:9.3f} {c.current_ms:9.3f} "
            f"{change} {interval:>17s}  {verdict}"
        )
    single = [c for c in comparisons if c.low is not None and c.between_runs is None and c.pairs is None]
    if single:
        lines.append(
            f"{len(single)} measurement(s) judged against one baseline run: the drift between whole runs is not "
            "counted; keep a history (edge-bench baseline accept --history) to count it"
        )
    paired = [c for c in comparisons if c.pairs is not None and c.low is not None]
    if paired:
        lines.append(
            f"{len(paired)} measurement(s) judged side by side ({min(c.pairs or 0 for c in paired)} or more pairs of "
            "rounds taken seconds apart): the machine's drift cancels; both sides ran on this run's runtime"
        )
    drifts = [c.between_runs for c in comparisons if c.between_runs is not None]
    if drifts:
        lines.append(
            f"drift between baseline runs beyond their rounds: {min(drifts):.1%} to {max(drifts):.1%} (log sd)"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- baseline history


def is_history(path: Path) -> bool:
    return Path(path).is_dir() and any(Path(path).glob(f"*/{ACCEPTED}"))


def load_baseline(path: Path, last: int) -> tuple[list[Record], int]:
    """The baseline records: a results directory or file as it is, or the last `last` runs of a history."""
    path = Path(path)
    if not is_history(path):
        return load_dirs([path]), 1
    entries = sorted(p.parent for p in path.glob(f"*/{ACCEPTED}"))[-last:]
    return load_dirs(entries), len(entries)


def trustworthy(record: Record) -> str | None:
    """Why a record must not become a baseline (None: it may)."""
    if not record.ok or record.latency is None:
        return "not an ok latency measurement"
    if record.throttle_changed:
        return "measured while the throttle state changed"
    if record.emulated:
        return "measured under emulation"
    precision = record.latency.precision
    if precision is not None and not precision.reached:
        return f"not measured to its target precision ({precision.note})"
    return None


def accept(run: Path, history: Path) -> tuple[Path, int, list[str]]:
    """Copy the run's trustworthy records into a new entry of `history`; (entry, records kept, why others were not)."""
    records = load_dirs([run])
    kept, refused = [], []
    for r in records:
        why = trustworthy(r)
        if why is None:
            kept.append(r)
        else:
            refused.append(f"{r.variant.get('name')} {r.runtime} on {r.target}: {why}")
    if not kept:
        raise InputError(f"{run}: no record can become a baseline ({'; '.join(refused[:3]) or 'no records'})")
    history = Path(history)
    if history.exists() and not history.is_dir():
        raise InputError(f"--history {history}: is a file; give the folder that keeps the baselines")
    run_ids = sorted({r.run_id for r in kept if r.run_id})
    number = len(list(history.glob(f"*/{ACCEPTED}"))) + 1 if history.is_dir() else 1  # orders same-second entries
    entry = history / f"{time.strftime('%Y%m%dT%H%M%S')}-{number:04d}-{(run_ids[-1] if run_ids else 'run')[-6:]}"
    entry.mkdir(parents=True, exist_ok=False)
    with (entry / RESULTS_FILE).open("w", encoding="utf-8") as f:
        for r in kept:
            f.write(json.dumps(r.to_json(), allow_nan=False) + "\n")
    (entry / ACCEPTED).write_text(
        json.dumps(
            {
                "accepted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "source": str(Path(run).resolve()),
                "run_ids": run_ids,
                "records": len(kept),
                "refused": refused,
            },
            indent=2,
        )
    )
    return entry, len(kept), refused


def prune(history: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` entries of a history; the removed entries."""
    entries = sorted(p.parent for p in Path(history).glob(f"*/{ACCEPTED}"))
    removed = entries[:-keep] if keep > 0 else []
    for entry in removed:
        shutil.rmtree(entry)
    return removed
