import numpy as np
import pandas as pd
import pytest

from edge_bench.report.pareto import pareto_front, pareto_fronts, pareto_mask, quality_column


def frame(points, **extra):
    """points: (name, cost, quality) -> a results-like frame."""
    rows = [{"variant": n, "status": "ok", "latency_median_ms": c, "top1": q, **extra} for n, c, q in points]
    return pd.DataFrame(rows)


POINTS = [
    ("A", 1.0, 70.0),
    ("B", 2.0, 75.0),
    ("C", 2.0, 72.0),  # same cost as B, worse
    ("D", 3.0, 75.0),  # same quality as B, dearer
    ("E", 4.0, 80.0),
    ("F", 4.0, 80.0),  # exact tie with E: both stay
    ("G", np.nan, 90.0),  # no cost: out
    ("H", 5.0, 79.0),
    ("I", 0.5, None),  # no quality: out
]


def test_front_hand_computed_with_ties_and_missing_values():
    front = pareto_front(frame(POINTS), "top1", "latency_median_ms")
    assert list(front["variant"]) == ["A", "B", "E", "F"]
    mask = pareto_mask(frame(POINTS), "top1", "latency_median_ms")
    assert mask.tolist() == [True, True, False, False, True, True, False, False, False]


def test_lower_quality_is_better():
    df = frame([("A", 1.0, 3.0), ("B", 2.0, 1.0), ("C", 3.0, 2.0)])
    front = pareto_front(df, "top1", "latency_median_ms", higher_quality_is_better=False)
    assert list(front["variant"]) == ["A", "B"]


def test_per_group_and_failed_rows():
    df = pd.concat(
        [
            frame([("A", 1.0, 70.0), ("B", 2.0, 60.0)], target="pi5"),
            frame([("A", 3.0, 70.0), ("B", 2.0, 60.0)], target="pi4"),
            pd.DataFrame(
                [{"variant": "Z", "status": "failed", "latency_median_ms": 0.1, "top1": 99.0, "target": "pi5"}]
            ),
        ],
        ignore_index=True,
    )
    front = pareto_front(df, "top1", "latency_median_ms", group_by=["target"])
    assert [(t, v) for t, v in zip(front["target"], front["variant"])] == [("pi4", "B"), ("pi4", "A"), ("pi5", "A")]
    # Without groups the pi4 B (2 ms, 60) is dominated by pi5 A (1 ms, 70).
    assert list(pareto_front(df, "top1", "latency_median_ms")["variant"]) == ["A"]
    with pytest.raises(KeyError):
        pareto_front(df, "miou", "latency_median_ms")


def test_quality_column_prefers_labels_then_fidelity():
    df = frame([("A", 1.0, None)]).assign(sqnr_db=[30.0])
    assert quality_column(df) == "sqnr_db"
    assert quality_column(frame([("A", 1.0, 70.0)]).assign(sqnr_db=[30.0])) == "top1"
    assert quality_column(frame([("A", 1.0, None)])) is None


def test_pareto_fronts_stacks_every_cost():
    df = frame([("A", 1.0, 70.0), ("B", 2.0, 75.0)]).assign(peak_rss_bytes=[200, 100], target="pi5", runtime="litert")
    fronts = pareto_fronts(df)
    assert sorted(zip(fronts["cost"], fronts["variant"])) == [
        ("latency_median_ms", "A"),
        ("latency_median_ms", "B"),
        ("peak_rss_bytes", "B"),
    ]
    assert pareto_fronts(frame([("A", 1.0, None)])).empty
