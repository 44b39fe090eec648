import math

import pandas as pd
import pytest

from edge_bench.errors import InputError
from edge_bench.report.selection import best_for_device, cheapest_within_budget, random_resolution_policy
from edge_bench.report.side_by_side import cross_device_table, cross_runtime_table


def row(width, resolution, top1, latency, target="pi5", runtime="litert", status="ok", **extra):
    return {
        "recipe": "rs",
        "arch": "resnet50",
        "variant": f"resnet50[width={width},resolution={resolution}]",
        "width": width,
        "resolution": resolution,
        "top1": top1,
        "latency_median_ms": latency,
        "target": target,
        "runtime": runtime,
        "status": status,
        **extra,
    }


SWEEP = pd.DataFrame(
    [
        row(1.0, 224, 76.0, 10.0),
        row(1.0, 192, 75.5, 7.0),
        row(1.0, 160, 75.2, 5.0),
        row(1.0, 128, 74.0, 3.0),
        row(1.0, 96, 99.0, 1.0, status="failed"),
        row(0.5, 224, 70.0, 4.0),
        row(0.5, 160, 69.6, 2.0),
        row(0.5, 128, 68.0, 1.5),
    ]
)


def by_width(table):
    return {r["width"]: r for _, r in table.iterrows()}


def test_cheapest_within_budget_per_width():
    table = by_width(cheapest_within_budget(SWEEP, "top1", "latency_median_ms"))
    # width 1.0: threshold 75.25 -> 192 (75.5) is in, 160 (75.2) is out; the failed 96 never counts.
    assert table[1.0]["resolution"] == 192
    assert table[1.0]["quality_drop"] == pytest.approx(0.5)
    assert table[1.0]["cost_ratio"] == pytest.approx(0.7)
    assert table[1.0]["reference_variant"] == "resnet50[width=1.0,resolution=224]"
    assert table[0.5]["resolution"] == 160  # 69.6 >= 69.25
    assert (
        by_width(cheapest_within_budget(SWEEP, "top1", "latency_median_ms", budget_points=0.8))[1.0]["resolution"]
        == 160
    )


def test_cheapest_within_budget_on_an_exact_boundary_and_fixed_reference():
    table = by_width(cheapest_within_budget(SWEEP, "top1", "latency_median_ms", budget_points=0.8, reference=76.0))
    assert table[1.0]["resolution"] == 160  # 76.0 - 0.8 = 75.2 exactly: inside
    table = by_width(cheapest_within_budget(SWEEP, "top1", "latency_median_ms", reference=75.0))
    assert pd.isna(table[0.5]["variant"]) and "no variant within" in table[0.5]["note"]
    assert table[1.0]["resolution"] == 160  # threshold 74.25: 128 (74.0) is out
    with pytest.raises(InputError):
        cheapest_within_budget(SWEEP, "top1", "latency_median_ms", budget_points=-1)


def test_cheapest_within_budget_reference_row():
    reference = {"top1": 70.0, "latency_median_ms": 4.0}
    table = cheapest_within_budget(SWEEP[SWEEP["width"] == 0.5], "top1", "latency_median_ms", reference=reference)
    assert table.iloc[0]["resolution"] == 160 and table.iloc[0]["cost_ratio"] == pytest.approx(0.5)


def test_best_for_device_across_widths():
    choice = best_for_device(SWEEP, "pi5", "top1", "latency_median_ms", budget_points=6.5)
    # best 76.0 -> at least 69.5: width 0.5 at 160 (69.6, 2 ms) beats width 1.0 at 128 (74.0, 3 ms).
    assert choice.variant == "resnet50[width=0.5,resolution=160]"
    assert choice.cost == 2.0 and choice.row["width"] == 0.5 and choice.runtime == "litert"
    tight = best_for_device(SWEEP, "pi5", "top1", "latency_median_ms")
    assert tight.variant == "resnet50[width=1.0,resolution=192]"
    with pytest.raises(InputError, match="pi9"):
        best_for_device(SWEEP, "pi9", "top1", "latency_median_ms")
    assert best_for_device(SWEEP, "pi5", "top1", "latency_median_ms", runtime="executorch").variant is None


def test_random_resolution_policy():
    df = pd.concat(
        [SWEEP, pd.DataFrame([row(1.0, 160, 75.2, 6.0)])],  # a second run at 160: averaged to 5.5
        ignore_index=True,
    )
    table = by_width(random_resolution_policy(df, [160, 224], cost_cols=["latency_median_ms"], quality_col="top1"))
    full = table[1.0]
    assert full["n_resolutions"] == 2 and full["note"] is None
    assert full["latency_median_ms_mean"] == pytest.approx((5.5 + 10.0) / 2)
    assert full["latency_median_ms_std"] == pytest.approx((10.0 - 5.5) / 2)
    assert (full["latency_median_ms_min"], full["latency_median_ms_max"]) == (5.5, 10.0)
    assert full["top1_mean"] == pytest.approx((75.2 + 76.0) / 2)
    table = by_width(random_resolution_policy(df, [192, 224], cost_cols=["latency_median_ms"], quality_col="top1"))
    assert math.isnan(table[0.5]["latency_median_ms_mean"]) and "192" in table[0.5]["note"]
    assert table[1.0]["latency_median_ms_mean"] == pytest.approx(8.5)


def test_cross_runtime_table():
    df = pd.DataFrame(
        [
            row(1.0, 224, 76.0, 10.0, runtime="executorch"),
            row(1.0, 224, 76.0, 8.0, runtime="litert"),
            row(1.0, 160, 75.0, 5.0, runtime="litert"),  # no executorch partner: not in the table
        ]
    )
    table = cross_runtime_table(df)
    assert len(table) == 1
    assert table.iloc[0]["executorch_over_litert"] == pytest.approx(1.25)
    assert table.iloc[0]["resolution"] == 224 and table.iloc[0]["target"] == "pi5"


def test_cross_device_table():
    df = pd.DataFrame(
        [
            row(1.0, 224, 76.0, 40.0, target="pi5"),
            row(1.0, 224, 76.0, 200.0, target="pi4"),
            row(1.0, 160, 75.0, 20.0, target="pi5"),
        ]
    )
    table = cross_device_table(df).set_index("resolution")
    assert table.loc[224, "fastest"] == "pi5"
    assert table.loc[224, "pi4_vs_fastest"] == pytest.approx(5.0)
    assert table.loc[224, "pi5_vs_fastest"] == pytest.approx(1.0)
    assert math.isnan(table.loc[160, "pi4"]) and table.loc[160, "fastest"] == "pi5"
