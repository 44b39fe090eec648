"""Which measurement takes the next round, and in what order a pass goes through them.

Rounds are interleaved across the sweep (round 1 of every measurement, then round 2 of those still
uncertain, ...), so slow drift spreads over all variants instead of landing on one. Each pass starts one
measurement later than the one before. A job and its twin measured alongside (`alongside.py`) stay next
to each other, the one first that was second the pass before (ABBA), and take their rounds together
until both are done, so that every round has a partner taken seconds from it.
"""

from __future__ import annotations

from .gate import pairs_wanted
from .precision import StopRule, out_of_rounds, wants_another_round
from .rounds import Measurement


class Schedule:
    """The stop rule of one target's measurements, with the twin rule on top of it."""

    def __init__(self, measurements: list[Measurement], rule: StopRule):
        self.rule = rule
        self.partner = partners(measurements)

    def uncertain(self, m: Measurement) -> bool:
        return not m.rounds or wants_another_round(m.rounds, self.rule)

    def wants(self, m: Measurement) -> bool:
        """Whether `m` takes another round."""
        if m.done or m.error is not None:
            return False
        if self.uncertain(m):
            return True
        other = self.partner.get(id(m))
        if other is None or other.done or other.error is not None or out_of_rounds(m.rounds, self.rule):
            return False
        # A job and its twin take their rounds together, and at least as many as the gate's paired interval wants.
        return sum(r.kept for r in m.rounds) < pairs_wanted(self.rule.confidence) or self.uncertain(other)


def with_twins(measurements: list[Measurement]) -> list[list[Measurement]]:
    """The measurements grouped by variant and runtime: a job alone, or a job and its twin, in order."""
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.job.variant.name, m.job.runtime), []).append(m)
    return list(groups.values())


def partners(measurements: list[Measurement]) -> dict[int, Measurement]:
    """id of a measurement -> its twin (the same variant and runtime, the other side), where it has one."""
    return {id(a): b for pair in with_twins(measurements) if len(pair) == 2 for a, b in (pair, pair[::-1])}


def pass_order(active: list[Measurement], pass_number: int) -> list[Measurement]:
    """This pass's order: rotated by one each pass, so no job is always first; a job and its twin measured
    alongside stay next to each other, the one first that was second the pass before (ABBA)."""
    pairs = with_twins(active)
    shift = pass_number % len(pairs)
    return [m for unit in pairs[shift:] + pairs[:shift] for m in (unit if pass_number % 2 == 0 else unit[::-1])]
