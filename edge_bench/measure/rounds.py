"""One measurement's rounds as they come in from the device, and the record they make when it is done.

A round is kept unless it was taken under load (other processes busier than the target allows) or while
the throttle state changed; those are retaken, and kept and marked once the retakes are used up. The
record's latency is `precision.summarize` over the kept rounds; memory is that of the round with the
median peak (a real reading, not a mix of rounds); energy comes from the round that ran the energy pass.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .precision import StopRule, summarize
from ..results import Energy, Identity, Memory, Record, Round

if TYPE_CHECKING:
    from .job import Job


@dataclass
class Measurement:
    """The rounds of one job on one target, as they come in."""

    job: Job
    identity: Identity
    rounds: list[Round] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)  # the agent's result of each round, in order
    error: str | None = None
    done: bool = False
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        result: dict[str, Any],
        seconds: float,
        run_id: str,
        disturbed_cpu: float,
        keep_any: bool,
        started: float | None = None,
    ) -> None:
        """One ok round. It is left out (and retaken) when taken under load or while throttling changed,
        unless the retakes are used up (`keep_any`): then it is kept and marked."""
        from ..device.thermal import throttle_changed

        latency = result.get("latency_ms") or {}
        samples = list(latency.get("samples") or [])
        median = statistics.median(samples) if samples else latency.get("median")  # native tools: their own median
        before, after = result.get("thermal_before"), result.get("thermal_after")
        throttled = bool(before and after and throttle_changed(before, after))
        others = result.get("others_cpu")
        disturbed = others is not None and others > disturbed_cpu
        self.rounds.append(
            Round(
                index=len(self.rounds),
                samples=samples,
                median=median,
                seconds=round(seconds, 3),
                kept=median is not None and (keep_any or not (disturbed or throttled)),
                disturbed=disturbed,
                throttle_changed=throttled,
                others_cpu=others,
                load_before=result.get("load_before"),
                load_after=result.get("load_after"),
                run_id=run_id,
                note="kept: no retakes left" if keep_any and (disturbed or throttled) else None,
                summary=None
                if samples
                else {k: latency.get(k) for k in ("mean", "p90", "p99", "std", "min", "max", "n")},
                started=started,
                governor=(result.get("governor") or {}).get("governor"),
            )
        )
        self.results.append(result)

    def record(self, base: Record, rule: StopRule) -> Record:
        """The finished measurement as a record (failed when a round failed)."""
        record = base
        if self.error is not None:
            record.error = self.error
            if self.results:
                record.env = self.results[0].get("env") or {}
            return record
        latency = summarize(self.rounds, rule)
        if latency is None:
            record.error = "no round produced timed samples"
            return record
        record.status = "ok"
        record.latency = latency
        kept = [res for res, r in zip(self.results, self.rounds) if r.kept] or self.results
        record.first_inference_ms = _median(res.get("first_inference_ms") for res in kept)
        record.load_ms = _median(res.get("load_ms") for res in kept)
        record.memory = _memory(kept)
        record.energy, record.energy_missing_reason = _energy(self.results)
        first, last = self.results[0], self.results[-1]
        env = dict(first.get("env") or {})
        for key in ("import_ms", "prepare_ms", "warmup_runs", "cooldown", "governor"):
            if key in first:
                env[key] = first[key]
        env["thermal_before"], env["thermal_after"] = first.get("thermal_before"), last.get("thermal_after")
        record.env = env
        record.throttle_changed = any(r.throttle_changed for r in self.rounds)
        record.notes += self.notes
        if any(r.disturbed and r.kept for r in self.rounds):
            record.notes.append("some rounds were taken under load and kept (no retakes left): see latency_ms.rounds")
        record.notes += _governor_notes(self.results)
        return record


def _governor_notes(results: list[dict[str, Any]]) -> list[str]:
    """A note for each governor other than performance that the measured cores had before a round."""
    seen: dict[str, int] = {}
    for res in results:
        state = res.get("governor") or {}
        if state.get("performance") is False:
            seen[state["governor"]] = seen.get(state["governor"], 0) + 1
    return [
        f"cpufreq governor {name} (not performance) on the measured cores before {count} of {len(results)} "
        "rounds: the clock may change under the timings; `edge-bench doctor` says how to set performance"
        for name, count in seen.items()
    ]


def _median(values) -> float | None:
    numbers = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(numbers) if numbers else None


def _memory(results: list[dict[str, Any]]) -> Memory | None:
    """The memory of the round whose peak RSS is the median one (a real reading, not a mix of rounds)."""
    readings = [res.get("memory") for res in results if isinstance(res.get("memory"), dict)]
    if not readings:
        return None
    with_peak = [m for m in readings if m.get("peak_rss_bytes") is not None]
    chosen = sorted(with_peak, key=lambda m: m["peak_rss_bytes"])[len(with_peak) // 2] if with_peak else readings[0]
    return Memory(
        peak_rss_bytes=chosen.get("peak_rss_bytes"),
        baseline_rss_bytes=chosen.get("baseline_rss_bytes"),
        model_rss_bytes=chosen.get("model_rss_bytes"),
        phases=dict(chosen.get("phases") or {}),
        peak_method=chosen.get("peak_method"),
        missing_reason=chosen.get("missing_reason"),
    )


def _energy(results: list[dict[str, Any]]) -> tuple[Energy | None, str | None]:
    """The energy pass (the first round runs it), or why there is none."""
    for res in results:
        energy = res.get("energy")
        if isinstance(energy, dict) and energy.get("mj_per_inference") is not None:
            core = {k: energy.get(k) for k in ("avg_power_w", "idle_power_w", "meter", "period_secs")}
            details = {k: v for k, v in energy.items() if k not in core and k != "mj_per_inference"}
            return Energy(mj_per_inference=energy["mj_per_inference"], **core, details=details), None
    first = results[0] if results else {}
    energy = first.get("energy")
    return None, (energy or {}).get("missing_reason") or first.get("energy_missing_reason")
