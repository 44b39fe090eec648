"""The report on synthetic records with known answers: an exactly linear latency model, a known
accuracy curve, known memory ratios; and the degraded cases (failures, no energy, no labels)."""

from __future__ import annotations

import importlib.util
import re

import pandas as pd
import pytest

from edge_bench.report import write_report
from edge_bench.results import empty_record

RESOLUTIONS = (224, 210, 196, 182, 168, 154, 140)
TOP1 = {224: 80.0, 210: 79.9, 196: 79.6, 182: 79.3, 168: 78.9, 154: 78.2, 140: 77.0}
# latency = slope * GFLOPs + intercept (ms): LiteRT is faster on the host, ExecuTorch on the Pi.
LINES = {("host", "executorch"): (1.6, 0.8), ("host", "litert"): (1.2, 0.5),
         ("pi5", "executorch"): (5.0, 2.0), ("pi5", "litert"): (6.0, 3.0)}  # fmt: skip
WEIGHT_BYTES = 25.6e6
MODEL_RSS_OVER_MEMORY = 1.4
DEPLOYED_OVER_ACTIVATION = 1.25  # the deployed graph's largest operator, against the analytic one
PREPARE_RSS = 7_000_000
MB = 1e6


def gflops(resolution: int, width: float = 1.0) -> float:
    return 8.18 * (resolution / 224) ** 2 * width**2


def record(target, runtime, resolution, width=1.0, accuracy=None, status="ok", error=None, energy=True, throttled=False):
    g = gflops(resolution, width)
    slope, intercept = LINES[(target, runtime)]
    latency = slope * g + intercept
    activation = 1.6e6 * (resolution / 224) ** 2 * width
    memory_bytes = WEIGHT_BYTES * width**2 + activation
    model_rss = MODEL_RSS_OVER_MEMORY * memory_bytes
    measured = status == "ok"
    rec = empty_record(
        run_id="run-1",
        recipe="resnet50-rs",
        variant={"name": f"resnet50[resolution={resolution}]" if width == 1.0 else f"resnet50[resolution={resolution},width={width}]",
                 "arch": "resnet50", "resolution": resolution, "width": width},
        runtime=runtime,
        target=target,
        status=status,
        error=error,
        artifact={"sha256": f"{target}{runtime}{resolution}{width}", "bytes": int(WEIGHT_BYTES * width**2)},
        latency_ms={"median": latency, "mean": latency * 1.01, "p90": latency * 1.05, "p99": latency * 1.1,
                    "std": latency * 0.02, "min": latency * 0.97, "max": latency * 1.2, "n": 50} if measured else None,
        memory={"peak_rss_bytes": model_rss + 60e6, "baseline_rss_bytes": 60e6, "model_rss_bytes": model_rss,
                "planned_bytes": 2.2 * activation,
                "phases": {"load": {"rss_bytes": 80_000_000}, "first_inference": {"rss_bytes": 80_000_000 + PREPARE_RSS}}}
        if measured else None,
        energy={"mj_per_inference": 3.0 * g + 1.0, "avg_power_w": 4.0, "idle_power_w": 2.5, "meter": "rpi5-pmic"}
        if measured and energy and target == "pi5" else None,
        analytic={"flops": g * 1e9, "params": 25.5e6 * width**2, "weight_bytes": WEIGHT_BYTES * width**2,
                  "activation_bytes": activation, "memory_bytes": memory_bytes, "liveness_bytes": 2.0 * activation,
                  "planned_bytes": 2.2 * activation, "deployed_activation_bytes": DEPLOYED_OVER_ACTIVATION * activation,
                  "arena_bytes": 2.5 * activation, "planned_io_only": runtime == "executorch",
                  "precision": {"int8_macs_pct": 100.0 if resolution > 140 else 97.5, "int8_ops_pct": 100.0,
                                "int8_ops": 60, "float_ops": 0 if resolution > 140 else 1, "convert_ops": 0,
                                "fully_int8": resolution > 140, "float_op_histogram": {} if resolution > 140 else {"BATCH_MATMUL": 1},
                                "float_reasons": {} if resolution > 140 else {"BATCH_MATMUL": "float only"}}},
        env={"threads": 4, "cpu_model": "test cpu"},
    )  # fmt: skip
    rec["accuracy"] = accuracy
    rec["throttle_changed"] = throttled
    if rec["energy"] is None:
        rec["energy_missing_reason"] = 'no power meter configured for this target ([energy] meter = "none")'
    return rec


def labelled(resolution, width=1.0, shift=0.0):
    top1 = TOP1[resolution] + shift
    return {"top1": top1, "top5": top1 + 15, "fp32_top1": top1 + 0.4, "top1_drop": 0.4, "n_images": 500,
            "sqnr_db": 25.0, "top1_agreement": 97.0, "fidelity_n": 16}  # fmt: skip


def sweep(**kwargs):
    """7 resolutions x 2 runtimes x 2 targets."""
    return [
        record(target, runtime, r, accuracy=labelled(r), throttled=(target, runtime, r) == ("pi5", "litert", 140), **kwargs)
        for target in ("host", "pi5") for runtime in ("executorch", "litert") for r in RESOLUTIONS
    ]  # fmt: skip


def first_screen(markdown: str) -> str:
    return markdown.split("Contents:")[0]


@pytest.fixture(scope="module")
def labelled_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    path = write_report(sweep(), out, title="resnet50-rs on host, pi5")
    return out, path.read_text()


def test_report_files_exist(labelled_report):
    out, _ = labelled_report
    for name in ("report.md", "report.html", "results.csv", "fit.csv", "memory_ratios.csv", "pareto.csv",
                 "selection.csv", "random_resolution.csv", "cross_runtime.csv", "cross_device.csv",
                 "latency_vs_gflops.png", "parity.png", "memory.png", "pareto.png", "energy_vs_gflops.png"):  # fmt: skip
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert len(pd.read_csv(out / "results.csv")) == 28


def test_parquet_is_written_or_its_absence_explained(labelled_report):
    out, markdown = labelled_report
    engine = any(importlib.util.find_spec(e) for e in ("pyarrow", "fastparquet"))
    assert (out / "results.parquet").is_file() == engine
    if not engine:
        assert "`results.parquet`: not written, neither pyarrow nor fastparquet is installed" in markdown


def test_fit_table_recovers_the_exact_linear_model(labelled_report):
    out, _ = labelled_report
    fits = pd.read_csv(out / "fit.csv")
    latency = fits[(fits["metric"] == "latency_median_ms") & (fits["model"] == "flops")]
    assert len(latency) == 4
    for _, row in latency.iterrows():
        slope, intercept = LINES[(row["target"], row["runtime"])]
        assert row["n"] == 7 and row["r2"] == pytest.approx(1.0)
        assert row["per_gflop"] == pytest.approx(slope) and row["intercept"] == pytest.approx(intercept)
        assert row["share_within_10pct"] == 100.0 and row["loo_rmspe_pct"] == pytest.approx(0.0, abs=1e-6)
    energy = fits[(fits["metric"] == "energy_mj") & (fits["model"] == "flops") & (fits["target"] == "pi5")]
    assert len(energy) == 2 and energy["per_gflop"].tolist() == pytest.approx([3.0, 3.0])


def test_the_first_screen_recommends_the_cheapest_variant_within_budget(labelled_report):
    out, markdown = labelled_report
    # Best top-1 80.0 at 224; within 0.75 points: 224..182 (79.3); 182 is the cheapest of those.
    chosen = pd.read_csv(out / "recommendations.csv").set_index("target")
    assert chosen.loc["host", "variant"] == "resnet50[resolution=182]" and chosen.loc["host", "runtime"] == "litert"
    assert chosen.loc["pi5", "variant"] == "resnet50[resolution=182]" and chosen.loc["pi5", "runtime"] == "executorch"
    screen = first_screen(markdown)
    assert "**host**: ship **resnet50[resolution=182]** with **litert**" in screen
    assert "**pi5**: ship **resnet50[resolution=182]** with **executorch**" in screen
    assert "within 0.75 points of the best top-1" in screen
    assert "host / litert: R² 1.000; 100% of 7 variants within ±10%" in screen
    assert "1 measurement changed throttle state" in screen


def test_sections_hold_the_expected_numbers(labelled_report):
    out, markdown = labelled_report
    ratios = pd.read_csv(out / "memory_ratios.csv")
    assert ratios["rss_over_memory"].tolist() == pytest.approx([MODEL_RSS_OVER_MEMORY] * 28)
    # Only like over like: no figure is divided by the runtime's I/O-only plan or RSS by activations alone.
    assert not {"rss_over_liveness", "rss_over_planned"} & set(ratios.columns)
    assert ratios["deployed_activation_diff_pct"].tolist() == pytest.approx([100 * (DEPLOYED_OVER_ACTIVATION - 1)] * 28)
    assert ratios["arena_over_liveness"].tolist() == pytest.approx([1.25] * 28)
    assert ratios["working_rss_bytes"].tolist() == [PREPARE_RSS] * 28
    precision = pd.read_csv(out / "precision.csv")
    assert set(precision[precision["below_100pct_macs"]]["variant"]) == {"resnet50[resolution=140]"}
    assert "## INT8 coverage" in markdown and "BATCH_MATMUL ×1: float only" in markdown
    selection = pd.read_csv(out / "selection.csv")
    assert len(selection) == 4 and set(selection["resolution"]) == {182}
    policy = pd.read_csv(out / "random_resolution.csv").set_index(["target", "runtime"])
    slope, intercept = LINES[("pi5", "litert")]
    expected = sum(slope * gflops(r) + intercept for r in RESOLUTIONS) / 7
    assert policy.loc[("pi5", "litert"), "latency_median_ms_mean"] == pytest.approx(expected)
    assert policy.loc[("pi5", "litert"), "latency_median_ms_vs_largest"] == pytest.approx(expected / (slope * gflops(224) + intercept))
    assert policy.loc[("pi5", "litert"), "top1_mean"] == pytest.approx(sum(TOP1.values()) / 7)
    assert policy.loc[("pi5", "litert"), "top1_minus_largest"] == pytest.approx(sum(TOP1.values()) / 7 - TOP1[224])
    cross = pd.read_csv(out / "cross_runtime.csv")
    assert len(cross) == 14 and ((cross["target"] == "host") == (cross["executorch_over_litert"] > 1)).all()
    assert "THROTTLED" in markdown
    for section in ("Latency against FLOPs", "Memory: measured against analytic", "Pareto fronts", "Random-resolution policy",
                    "ExecuTorch against LiteRT", "Across devices", "Energy against FLOPs", "Delegation coverage"):  # fmt: skip
        assert f"## {section}" in markdown
    assert "No delegation data in these records" in markdown
    assert "No energy on host: no power meter configured" in markdown


def test_html_is_self_contained(labelled_report):
    out, markdown = labelled_report
    page = (out / "report.html").read_text()
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == markdown.count("![") == 5
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(?!#|data:)', page), "a link or source outside the page"
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert page.index("ship <strong>resnet50[resolution=182]</strong>") < page.index("<nav>")


def test_without_labels_the_fastest_faithful_artifact_is_recommended(tmp_path):
    records = []
    for runtime in ("executorch", "litert"):
        for r in RESOLUTIONS:
            sqnr = 18.0 if r == 140 else 30.0 - (224 - r) / 20  # 140 px falls below the 20 dB bar
            note = 'not measured: random weights (the recipe asks for weights = "random")'
            records.append(record("host", runtime, r, accuracy={"sqnr_db": sqnr, "top1_agreement": 95.0, "accuracy_note": note}))
    markdown = write_report(records, tmp_path).read_text()
    screen = first_screen(markdown)
    assert "**host**: ship **resnet50[resolution=154]** with **litert**" in screen
    assert "at least 20 dB" in screen and "random weights" in screen
    assert "SQNR dB" in markdown and (tmp_path / "pareto.png").is_file()
    assert "No accuracy measured (random weights" in markdown  # the per-width selection says why it is empty


def test_failures_and_no_energy_still_render(tmp_path):
    records = [record("host", "litert", r, energy=False) for r in RESOLUTIONS]
    records += [record("pi5", "litert", r, status="failed", error="target pi5 unreachable: ssh: connect refused", energy=False)
                for r in (224, 182)]  # fmt: skip
    records[0]["accuracy"] = {"eval_error": "RuntimeError: interpreter refused the model"}
    markdown = write_report(records, tmp_path).read_text()
    assert (tmp_path / "report.html").is_file() and (tmp_path / "latency_vs_gflops.png").is_file()
    assert "7 of 9 measurements ok on host; 2 failed" in markdown
    assert "resnet50[resolution=224] / litert on pi5: target pi5 unreachable: ssh: connect refused" in markdown
    assert "evaluation of resnet50[resolution=224] / litert: RuntimeError: interpreter refused the model" in markdown
    assert "No energy: host, pi5: no power meter configured" in markdown
    assert "**host**: ship **resnet50[resolution=140]** with **litert**" in first_screen(markdown)
    assert "no quality measured" in first_screen(markdown)
    assert "No quality measured" in markdown  # Pareto section says why it is empty
    assert "One target only (host)" in markdown and "Only litert measured here" in markdown
    assert not (tmp_path / "energy_vs_gflops.png").exists()


def test_per_width_selection_and_nothing_at_all(tmp_path):
    records = [record("host", "litert", r, width=w, accuracy=labelled(r, shift=-5.0 if w == 0.5 else 0.0))
               for w in (1.0, 0.5) for r in (224, 196, 168)]  # fmt: skip
    write_report(records, tmp_path / "widths")
    selection = pd.read_csv(tmp_path / "widths" / "selection.csv").set_index("width")
    assert selection.loc[1.0, "resolution"] == 196 and selection.loc[0.5, "resolution"] == 196  # 168 is 1.1 points down
    empty = write_report([], tmp_path / "empty").read_text()
    assert "No results" in empty and (tmp_path / "empty" / "report.html").is_file()


def test_two_recipes_in_one_report_name_the_recipe(tmp_path):
    rs = [record("host", "litert", r, accuracy=labelled(r)) for r in RESOLUTIONS]
    ms = [record("host", "litert", r, accuracy=labelled(r, shift=0.5)) for r in RESOLUTIONS]
    for rec in ms:  # same variant names, another recipe: 20% slower, half a point better
        rec["recipe"] = "resnet50-ms"
        rec["latency_ms"] = {k: v * 1.2 if k != "n" else v for k, v in rec["latency_ms"].items()}
    markdown = write_report(rs + ms, tmp_path).read_text()
    # Best is 80.5 (ms at 224): within 0.75 -> 79.75. ms at 182 (79.8, 6.98 x 1.2 = 8.38 ms) beats rs at 210
    # (79.9, 9.13 ms), the cheapest rs variant in the budget.
    assert "**host**: ship **resnet50[resolution=182]** (recipe resnet50-ms) with **litert**" in first_screen(markdown)
    assert "| recipe | target | runtime | variant |" in markdown  # the measurements say which recipe
    policy = pd.read_csv(tmp_path / "random_resolution.csv")
    assert sorted(policy["recipe"]) == ["resnet50-ms", "resnet50-rs"]
