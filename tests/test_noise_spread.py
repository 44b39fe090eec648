"""The report's per-target spread: between rounds of one run, and between whole runs of the same measurement."""

from __future__ import annotations

import math
import statistics

import pytest

from edge_bench.report import noise
from edge_bench.results import Record, Round
from tests.records import make_record


def measured(run_id: str, round_medians: list[float], sha: str = "a" * 64, target: str = "pi") -> Record:
    record = make_record(
        run_id=run_id,
        target=target,
        status="ok",
        artifact={"sha256": sha, "bytes": 1},
        latency_ms={"median": statistics.median(round_medians), "n": len(round_medians)},
        env={"threads": 1, "runtime": {"version": "2.3.0", "api": "interpreter"}},
    )
    assert record.latency is not None
    record.latency.rounds = [Round(i, [m], m) for i, m in enumerate(round_medians)]
    return record


def test_between_rounds_is_the_median_spread_of_one_measurements_round_medians():
    records = [measured("r1", [10.0, 11.0, 12.0]), measured("r1", [20.0, 20.0, 20.0], sha="b" * 64)]
    (row,) = noise.spread_by_target(records).to_dict("records")
    spreads = [statistics.stdev(math.log(m) for m in (10.0, 11.0, 12.0)), 0.0]
    assert row["measurements"] == 2
    assert row["between_rounds_pct"] == pytest.approx(100 * statistics.median(spreads))
    assert row["between_runs_pct"] is None and row["between_runs_missing"] == noise.ONE_RUN


def test_between_runs_pools_the_measurements_taken_in_several_runs():
    a = [measured(run, [m, m]) for run, m in (("r1", 10.0), ("r2", 11.0), ("r3", 12.0))]
    b = [measured(run, [m, m], sha="b" * 64) for run, m in (("r1", 20.0), ("r2", 25.0))]
    alone = measured("r1", [5.0, 5.0], sha="c" * 64)  # one run only: not in the between-run figure
    (row,) = noise.spread_by_target([*a, *b, alone]).to_dict("records")
    var_a = statistics.variance([math.log(m) for m in (10.0, 11.0, 12.0)])
    var_b = statistics.variance([math.log(m) for m in (20.0, 25.0)])
    assert row["measured_in_several_runs"] == 2
    assert row["between_runs_pct"] == pytest.approx(100 * math.sqrt((2 * var_a + 1 * var_b) / 3))
    assert row["between_runs_missing"] is None


def test_targets_are_kept_apart_and_failed_records_left_out():
    records = [
        measured("r1", [10.0, 10.0]),
        measured("r2", [30.0, 30.0]),
        measured("r1", [10.0, 12.0], target="host"),
        make_record(run_id="r3", target="host", status="failed", error="boom"),
    ]
    rows = {row["target"]: row for row in noise.spread_by_target(records).to_dict("records")}
    assert set(rows) == {"host", "pi"}
    assert rows["pi"]["between_runs_pct"] == pytest.approx(100 * statistics.stdev([math.log(10), math.log(30)]))
    assert rows["host"]["measurements"] == 1 and math.isnan(rows["host"]["between_runs_pct"])
    assert rows["host"]["between_runs_missing"] == noise.ONE_RUN
