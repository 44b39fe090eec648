import math

import numpy as np
import pandas as pd
import pytest

from edge_bench.report.fit import fit_points, fit_table, leave_one_out, ols
from edge_bench.report.memory import memory_ratios
from edge_bench.results import to_dataframe
from tests.records import make_record

GFLOP = 1e9
MB = 1e6


def record(target, runtime, gflops, latency, activation_mb=1.0, energy=None, status="ok", resolution=224, **memory):
    return make_record(
        recipe="r",
        variant={"name": f"m[resolution={resolution}]", "arch": "m", "resolution": resolution, "width": 1.0},
        runtime=runtime,
        target=target,
        status=status,
        latency_ms={"median": latency},
        energy={"mj_per_inference": energy} if energy is not None else None,
        analytic={
            "flops": gflops * GFLOP,
            "activation_bytes": activation_mb * MB,
            "memory_bytes": memory.get("memory_bytes"),
        },
        memory={"model_rss_bytes": memory.get("model_rss_bytes"), "planned_bytes": memory.get("planned_bytes")},
    )


def one(table, **where):
    rows = table
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_exact_line_is_recovered():
    df = to_dataframe([record("pi5", "litert", g, 2.0 * g + 1.0, energy=3.0 * g) for g in (1, 2, 3, 5)])
    table = fit_table(df)
    row = one(table, metric="latency_median_ms", model="flops")
    assert row["fitted"] and row["n"] == 4 and row["unit"] == "ms"
    assert row["per_gflop"] == pytest.approx(2.0) and row["intercept"] == pytest.approx(1.0, abs=1e-9)
    assert row["r2"] == pytest.approx(1.0)
    assert row["rmspe_pct"] == pytest.approx(0.0, abs=1e-9) and row["loo_rmspe_pct"] == pytest.approx(0.0, abs=1e-9)
    assert row["share_within_10pct"] == 100.0 and row["loo_share_within_10pct"] == 100.0
    energy = one(table, metric="energy_mj", model="flops")
    assert energy["unit"] == "mJ" and energy["per_gflop"] == pytest.approx(3.0)


def test_scores_with_known_residuals():
    # Residuals (+.5, -.5, -.5, +.5) are orthogonal to [1, x]: the OLS line stays y = 2x + 1.
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = 2 * x + 1 + np.array([0.5, -0.5, -0.5, 0.5])
    df = to_dataframe([record("pi5", "executorch", g, t) for g, t in zip(x, y)])
    row = one(fit_table(df), metric="latency_median_ms", model="flops")
    assert row["per_gflop"] == pytest.approx(2.0) and row["intercept"] == pytest.approx(1.0)
    assert row["r2"] == pytest.approx(1 - 4 * 0.25 / 21.0)  # SS_tot of (3.5, 4.5, 6.5, 9.5) is 21
    errors = np.array([-0.5 / 3.5, 0.5 / 4.5, 0.5 / 6.5, -0.5 / 9.5]) * 100
    assert row["rmspe_pct"] == pytest.approx(math.sqrt(np.mean(errors**2)))
    assert row["share_within_10pct"] == pytest.approx(50.0)  # 7.7% and 5.3% are in, 14.3% and 11.1% out

    # Leave-one-out residuals equal e_i / (1 - h_ii) with the hat matrix of [1, x].
    design = np.column_stack([x, np.ones_like(x)])
    hat = design @ np.linalg.inv(design.T @ design) @ design.T
    loo_expected = y - (y - hat @ y) / (1 - np.diag(hat))
    np.testing.assert_allclose(leave_one_out(x, y), loo_expected)
    loo_errors = 100 * (loo_expected - y) / y
    assert row["loo_rmspe_pct"] == pytest.approx(math.sqrt(np.mean(loo_errors**2)))
    points = fit_points(df)
    np.testing.assert_allclose(points["loo_predicted"], loo_expected)
    np.testing.assert_allclose(points["error_pct"], errors)  # (predicted - measured) / measured


def test_flops_plus_activation_recovers_both_coefficients():
    gflops = [1.0, 2.0, 3.0, 4.0, 5.0]
    act_mb = [4.0, 1.0, 3.0, 0.5, 2.0]
    df = to_dataframe(
        [record("pi5", "litert", g, 2 * g + 0.5 * a + 1, activation_mb=a) for g, a in zip(gflops, act_mb)]
    )
    row = one(fit_table(df), metric="latency_median_ms", model="flops+activation")
    assert row["per_gflop"] == pytest.approx(2.0)
    assert row["per_mb_activation"] == pytest.approx(0.5)
    assert row["intercept"] == pytest.approx(1.0)
    assert row["r2"] == pytest.approx(1.0)


def test_collinear_predictors_keep_the_fit_but_not_the_coefficients():
    df = to_dataframe([record("pi5", "litert", g, 2 * g + 1, activation_mb=10 * g) for g in (1, 2, 3, 4)])
    row = one(fit_table(df), metric="latency_median_ms", model="flops+activation")
    assert row["fitted"] and row["r2"] == pytest.approx(1.0)
    assert row["per_gflop"] is None or pd.isna(row["per_gflop"])
    assert "collinear" in row["note"]


def test_too_few_points_says_why():
    df = to_dataframe([record("pi5", "litert", g, g) for g in (1, 2, 3)])
    table = fit_table(df, metrics=["latency_median_ms"])
    assert one(table, model="flops")["fitted"]
    row = one(table, model="flops+activation")
    assert not row["fitted"] and "needs at least 4" in row["note"] and row["n"] == 3
    small = fit_table(to_dataframe([record("pi5", "litert", g, g) for g in (1, 2)]))
    assert not small["fitted"].any()
    assert "no energy_mj" in one(small, metric="energy_mj", model="flops")["note"]


def test_groups_and_failed_rows():
    records = [record("pi5", "litert", g, 2 * g) for g in (1, 2, 3)]
    records += [record("pi4", "litert", g, 10 * g) for g in (1, 2, 3)]
    records.append(record("pi5", "litert", 4, 1000.0, status="failed"))
    table = fit_table(to_dataframe(records), metrics=["latency_median_ms"], models=["flops"])
    assert list(table["target"]) == ["pi4", "pi5"]
    assert one(table, target="pi5")["per_gflop"] == pytest.approx(2.0)
    assert one(table, target="pi5")["n"] == 3
    assert one(table, target="pi4")["per_gflop"] == pytest.approx(10.0)


def test_ols_scaling_handles_raw_flop_magnitudes():
    x = np.array([[1.2e9], [2.3e9], [4.1e9]])
    fit = ols(x, 3e-9 * x[:, 0] + 0.25, ["flops"])
    assert fit.rank == 2
    assert fit.coefficients[0] == pytest.approx(3e-9) and fit.intercept == pytest.approx(0.25)


def test_memory_ratios_divide_only_like_by_like():
    df = to_dataframe(
        [
            record("pi5", "litert", 1, 1, model_rss_bytes=300, memory_bytes=100, planned_bytes=0),
            record("pi5", "executorch", 1, 1, model_rss_bytes=None, memory_bytes=100, planned_bytes=50),
        ]
    )
    df["deployed_activation_bytes"] = [1.5 * MB, None]
    out = memory_ratios(df)
    first, second = out.iloc[0], out.iloc[1]
    assert first["rss_over_memory"] == pytest.approx(3.0)
    assert first["deployed_over_activation"] == pytest.approx(1.5) and first[
        "deployed_activation_diff_pct"
    ] == pytest.approx(50.0)
    assert first["arena_over_liveness"] is None  # no arena or liveness column at all
    assert second["rss_over_memory"] is None and second["deployed_over_activation"] is None
    # The runtime's own allocation is shown, never a denominator.
    assert first["planned_bytes"] == 0 and not any(column.endswith("_over_planned") for column in out.columns)
    assert {"recipe", "target", "runtime", "variant", "resolution"} <= set(out.columns)
