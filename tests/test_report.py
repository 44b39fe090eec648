"""The report on synthetic records with known answers: an exactly linear latency model, a known
accuracy curve, known memory ratios; and the degraded cases (failures, no energy, no labels)."""

from __future__ import annotations

import importlib.util
import re

import pandas as pd
import pytest

from edge_bench.report import write_report as _write_report
from tests.records import make_record


def write_report(records, out, **options):
    """The report of records written as results.jsonl holds them (the tests edit them as JSON)."""
    return _write_report([make_record(**r) for r in records], out, **options)


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


def record(
    target, runtime, resolution, width=1.0, accuracy=None, status="ok", error=None, energy=True, throttled=False
):
    g = gflops(resolution, width)
    slope, intercept = LINES[(target, runtime)]
    latency = slope * g + intercept
    activation = 1.6e6 * (resolution / 224) ** 2 * width
    memory_bytes = WEIGHT_BYTES * width**2 + activation
    model_rss = MODEL_RSS_OVER_MEMORY * memory_bytes
    measured = status == "ok"
    rec = dict(
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
                  "int8": {"int8_macs_pct": 100.0 if resolution > 140 else 97.5, "int8_ops_pct": 100.0,
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
                 "latency_vs_macs.png", "parity.png", "memory.png", "pareto.png", "energy_vs_macs.png"):  # fmt: skip
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
    int8 = pd.read_csv(out / "int8_coverage.csv")
    assert set(int8[int8["below_100pct_macs"]]["variant"]) == {"resnet50[resolution=140]"}
    assert "## INT8 coverage" in markdown and "BATCH_MATMUL ×1: float only" in markdown
    selection = pd.read_csv(out / "selection.csv")
    assert len(selection) == 4 and set(selection["resolution"]) == {182}
    policy = pd.read_csv(out / "random_resolution.csv").set_index(["target", "runtime"])
    slope, intercept = LINES[("pi5", "litert")]
    expected = sum(slope * gflops(r) + intercept for r in RESOLUTIONS) / 7
    assert policy.loc[("pi5", "litert"), "latency_median_ms_mean"] == pytest.approx(expected)
    assert policy.loc[("pi5", "litert"), "latency_median_ms_vs_largest"] == pytest.approx(
        expected / (slope * gflops(224) + intercept)
    )
    assert policy.loc[("pi5", "litert"), "top1_mean"] == pytest.approx(sum(TOP1.values()) / 7)
    assert policy.loc[("pi5", "litert"), "top1_minus_largest"] == pytest.approx(sum(TOP1.values()) / 7 - TOP1[224])
    cross = pd.read_csv(out / "cross_runtime.csv")
    assert len(cross) == 14 and ((cross["target"] == "host") == (cross["executorch_over_litert"] > 1)).all()
    assert "THROTTLED" in markdown
    for section in ("Latency against compute", "Memory: measured against analytic", "Pareto fronts", "Random-resolution policy",
                    "ExecuTorch against LiteRT", "Across devices", "Energy against compute", "Delegation coverage",
                    "What it was measured on", "Measurement noise"):  # fmt: skip
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


def fidelity_only(weights: dict, note: str) -> list[dict]:
    """Both runtimes at every resolution on the host, with fidelity and no accuracy; 140 px falls below 20 dB."""
    records = []
    for runtime in ("executorch", "litert"):
        for r in RESOLUTIONS:
            sqnr = 18.0 if r == 140 else 30.0 - (224 - r) / 20
            rec = record(
                "host",
                runtime,
                r,
                accuracy={
                    "sqnr_db": sqnr,
                    "top1_agreement": 95.0,
                    "accuracy_note": note,
                    "fidelity_inputs": "standard-normal images (numpy seed 0)",
                },
            )
            rec["weights"] = weights
            records.append(rec)
    return records


def test_without_labels_the_fastest_faithful_artifact_is_recommended(tmp_path):
    records = fidelity_only(
        {"kind": "torchvision", "name": "ResNet50_Weights.IMAGENET1K_V2"}, "not measured: no --dataset given"
    )
    markdown = write_report(records, tmp_path).read_text()
    screen = first_screen(markdown)
    assert "**host**: ship **resnet50[resolution=154]** with **litert**" in screen
    assert "at least 20 dB" in screen and "no --dataset given" in screen
    assert "SQNR dB" in markdown and (tmp_path / "pareto.png").is_file()
    assert "Random weights" not in screen


def test_random_weights_fidelity_is_a_conversion_check_not_an_accuracy(tmp_path):
    note = 'not measured: random weights (the recipe asks for weights = "random")'
    markdown = write_report(fidelity_only({"kind": "random", "name": ""}, note), tmp_path).read_text()
    screen = first_screen(markdown)
    # No fidelity bar for random weights: the fastest artifact, whatever its SQNR, with the reason why.
    assert "**host**: ship **resnet50[resolution=140]** with **litert**" in screen
    assert "no recommendation" not in screen and "at least 20 dB" not in screen
    assert "**Random weights.**" in screen and "not an accuracy statement" in screen
    assert "SQNR 18.0–30.0 dB" in screen  # the fidelity figures, named for what they are
    assert "a conversion check, not an accuracy statement" in markdown.split("## Measurements")[1]
    assert "No accuracy measured (random weights" in markdown  # the per-width selection says why it is empty


def test_failures_and_no_energy_still_render(tmp_path):
    records = [record("host", "litert", r, energy=False) for r in RESOLUTIONS]
    records += [record("pi5", "litert", r, status="failed", error="target pi5 unreachable: ssh: connect refused", energy=False)
                for r in (224, 182)]  # fmt: skip
    records[0]["accuracy"] = {"eval_error": "RuntimeError: interpreter refused the model"}
    markdown = write_report(records, tmp_path).read_text()
    assert (tmp_path / "report.html").is_file() and (tmp_path / "latency_vs_macs.png").is_file()
    assert "7 of 9 measurements ok on host; 2 failed" in markdown
    assert "resnet50[resolution=224] / litert on pi5: target pi5 unreachable: ssh: connect refused" in markdown
    assert "evaluation of resnet50[resolution=224] / litert: RuntimeError: interpreter refused the model" in markdown
    assert "No energy: host, pi5: no power meter configured" in markdown
    assert "**host**: ship **resnet50[resolution=140]** with **litert**" in first_screen(markdown)
    assert "no quality measured" in first_screen(markdown)
    assert "No quality measured" in markdown  # Pareto section says why it is empty
    assert "One target only (host)" in markdown and "Only litert measured here" in markdown
    assert not (tmp_path / "energy_vs_macs.png").exists()


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


# ---------------------------------------------------------------- never mixing architectures


def smoke_like(runtime: str, resolution: int) -> dict:
    """A quick-start record: MobileNetV2 x0.35, random weights, on the host."""
    rec = record("host", runtime, 224)
    g = 0.0239 * (resolution / 96) ** 2
    slope, intercept = LINES[("host", runtime)]
    rec.update(
        recipe="smoke",
        variant={
            "name": f"mobilenet_v2[resolution={resolution}]",
            "arch": "mobilenet_v2",
            "resolution": resolution,
            "width": 0.35,
        },
    )
    rec["analytic"] = {**rec["analytic"], "flops": g * 1e9, "macs": g * 1e9 / 2}
    rec["latency_ms"] = {**rec["latency_ms"], "median": slope * g + intercept}
    rec["weights"] = {"kind": "random", "name": ""}
    return rec


def test_a_merged_report_never_fits_or_ranks_across_architectures(tmp_path):
    # The quick start (2 MobileNetV2 points per runtime) merged with one ResNet-50 point per runtime: all
    # on one exact line, so a fit across them would headline R² 1.000 from a single ResNet point.
    records = [smoke_like(rt, r) for rt in ("executorch", "litert") for r in (96, 64)]
    for rt in ("executorch", "litert"):
        rec = record("host", rt, 224)
        rec["weights"] = {"kind": "random", "name": ""}
        rec["accuracy"] = {"sqnr_db": 7.0, "top1_agreement": 30.0}
        records.append(rec)
    for rec in records:
        rec["accuracy"] = {"sqnr_db": 7.0, "top1_agreement": 30.0, "accuracy_note": "not measured: random weights"}
    markdown = write_report(records, tmp_path).read_text()
    fits = pd.read_csv(tmp_path / "fit.csv")
    latency = fits[fits["metric"] == "latency_median_ms"]
    assert set(zip(latency["arch"], latency["n"])) == {("mobilenet_v2", 2), ("resnet50", 1)}
    assert not fits["fitted"].any()
    screen = first_screen(markdown)
    assert "R²" not in screen
    assert "mobilenet_v2 on host / litert: no fit (2 usable points" in screen
    assert "resnet50 on host / litert: no fit (1 usable point;" in screen
    fronts = pd.read_csv(tmp_path / "pareto.csv")
    assert (
        fronts.groupby(["target", "runtime", "cost", "arch"])
        .size()
        .groupby(["target", "runtime", "cost"])
        .size()
        .eq(2)
        .all()
    )
    assert "| arch | target | runtime | ranked on |" in markdown and "96 px" in markdown


# ---------------------------------------------------------------- what it was measured on, and how noisy


def with_samples(rec: dict, spread: float, seed: int = 0) -> dict:
    """Give a record 200 raw samples around its median with an IQR of `spread` x the median."""
    import numpy as np

    median = rec["latency_ms"]["median"]
    samples = median * (1 + spread / 1.349 * np.random.default_rng(seed).standard_normal(200))  # IQR = 1.349 sigma
    samples = samples - np.median(samples) + median
    rec["latency_ms"] = {**rec["latency_ms"], "samples": samples.tolist(), "n": 200}
    return rec


def test_the_report_says_what_it_was_measured_on(tmp_path):
    records = [record("pi5", rt, r) for rt in ("executorch", "litert") for r in (224, 182, 140)]
    for i, rec in enumerate(records):
        rec["env"] = {
            "cpu_model": "Raspberry Pi 5 Model B Rev 1.0",
            "machine": "aarch64",
            "cores_online": 4,
            "cores_usable": 4,
            "threads": 4,
            "os": "Debian GNU/Linux 12 (bookworm)",
            "runtime": {"package": rec["runtime"], "version": "1.5.1" if rec["runtime"] == "executorch" else "2.3.0"},
            "thermal_before": {
                "load_average": [0.10 + i / 100, 0.2, 0.3],
                "temperature_c": 48.0,
                "governor": ["performance"],
                "throttled": {"value": 0, "current": {"throttled": False}},
            },
            "thermal_after": {"load_average": [1.25, 0.4, 0.3], "temperature_c": 61.5, "governor": ["performance"]},
        }
        rec["weights"] = {"kind": "torchvision", "name": "ResNet50_Weights.IMAGENET1K_V2"}
    records[0]["throttle_changed"] = True
    markdown = write_report(records, tmp_path).read_text()
    setup = pd.read_csv(tmp_path / "setup.csv").set_index("runtime")
    row = setup.loc["executorch"]
    assert row["cpu"] == "Raspberry Pi 5 Model B Rev 1.0 (aarch64)" and str(row["threads"]) == "4"
    assert row["runtime_version"] == "executorch 1.5.1" and setup.loc["litert", "runtime_version"] == "litert 2.3.0"
    assert row["weights"] == "torchvision ResNet50_Weights.IMAGENET1K_V2" and str(row["samples"]) == "50"
    assert row["load_1min"] == "0.10–0.12 → 1.25" and row["temperature_c"] == "48.0 → 61.5"
    assert row["throttling"] == "1 of 3 changed throttle state" and row["governor"] == "performance"
    assert setup.loc["litert", "throttling"] == "none (flags read before and after each measurement)"
    assert "## What it was measured on" in markdown and "was busy" not in markdown
    records[1]["env"]["thermal_before"]["load_average"] = [5.5, 3.0, 1.0]  # more than the Pi's 4 cores
    markdown = write_report(records, tmp_path).read_text()
    assert "> **Warning:** pi5 was busy: its 1-minute load average reached 5.50 on 4 usable cores" in markdown
    assert "Measured on pi5 (Raspberry Pi 5 Model B Rev 1.0 (aarch64), 4 threads)" in first_screen(markdown)


def test_missing_facts_are_said_to_be_missing(tmp_path):
    markdown = write_report([record("host", "litert", r) for r in (224, 140)], tmp_path).read_text()
    setup = pd.read_csv(tmp_path / "setup.csv")
    assert (setup[["weights", "load_1min", "governor"]] == "not recorded").all().all()
    assert "not recorded" in markdown.split("## What it was measured on")[1]


def test_noise_is_measured_and_a_choice_inside_it_is_flagged(tmp_path):
    # Host: LiteRT is 1.33x faster than ExecuTorch at every resolution; with 2% IQR that is clear, with
    # 60% IQR it is not. The sweep steps (about 10% apart) are resolved at 2%, not at 60%.
    for spread, flagged in ((0.02, False), (0.60, True)):
        records = [
            with_samples(record("host", rt, r), spread, seed=i)
            for i, (rt, r) in enumerate((rt, r) for rt in ("executorch", "litert") for r in RESOLUTIONS)
        ]
        out = tmp_path / str(spread)
        markdown = write_report(records, out).read_text()
        table = pd.read_csv(out / "results.csv")
        assert table["latency_iqr_over_median"].to_numpy() == pytest.approx(spread, rel=0.35)
        assert (table["latency_p99_over_median"] > 1).all()
        recommendation = pd.read_csv(out / "recommendations.csv").iloc[0]
        assert bool(recommendation["within_noise"]) is flagged
        screen = first_screen(markdown)
        assert ("> **Warning:** on host, resnet50[resolution=140] with litert is" in screen) is flagged
        cross = pd.read_csv(out / "cross_runtime.csv")
        assert (
            bool(cross["within_noise"].astype(bool).all()) is flagged and bool(cross["within_noise"].any()) is flagged
        )
        steps = pd.read_csv(out / "sweep_noise.csv")
        assert len(steps) == 12 and bool(steps["within_noise"].astype(bool).any()) is flagged
        assert ("runtime comparisons differ by no more than the noise" in markdown) is flagged
        assert "## Measurement noise" in markdown and "IQR / median %" in markdown
    page = (out / "report.html").read_text()
    assert '<p class="warning"><strong>Warning:</strong>' in page


# ---------------------------------------------------------------- plots a person can read


def drawn_axes(fig):
    """The figure drawn (so text has a size), and its visible axes with the renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return [ax for ax in fig.axes if ax.get_visible()], canvas.get_renderer()


def assert_readable(fig):
    """Every point inside its axes, no two tick labels overlapping, every label inside the figure."""
    from itertools import combinations

    from matplotlib.collections import PathCollection

    axes, renderer = drawn_axes(fig)
    figure_box = fig.bbox
    for ax in axes:
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        points = [xy for c in ax.collections if isinstance(c, PathCollection) for xy in c.get_offsets()]
        points += [xy for line in ax.lines if line.get_marker() not in (None, "None", "") for xy in line.get_xydata()]
        assert points, ax.get_title()
        for x, y in points:
            assert x0 <= x <= x1 and y0 <= y <= y1, (ax.get_title(), x, y, (x0, x1), (y0, y1))
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [t.get_window_extent(renderer) for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            for a, b in combinations(boxes, 2):
                assert not a.overlaps(b), (ax.get_title(), [t.get_text() for t in axis.get_ticklabels()])
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            assert (
                figure_box.x0 <= box.x0
                and box.x1 <= figure_box.x1
                and figure_box.y0 <= box.y0
                and box.y1 <= figure_box.y1
            )
    return axes


def analysis_of(records):
    from edge_bench.report.analysis import Analysis
    from edge_bench.results import to_dataframe

    converted = [make_record(**r) for r in records]
    return Analysis(to_dataframe(converted), converted)


def test_latency_plot_draws_the_fit_labels_points_and_keeps_them_inside():
    from edge_bench.report.plots.compute import metric_vs_macs_figure

    records = [record("host", rt, r) for rt in ("executorch", "litert") for r in RESOLUTIONS]
    top = max(records, key=lambda r: r["latency_ms"]["median"])
    top["latency_ms"]["median"] *= (
        1.02  # a point just above the rest (an 8.17 ms point once fell off an axis ending at 8)
    )
    a = analysis_of(records)
    [ax] = assert_readable(metric_vs_macs_figure(a.frame, a.fits))
    assert ax.get_title() == "resnet50 on host"
    assert len([line for line in ax.lines if line.get_marker() in (None, "None", "")]) == 2  # one fit line per runtime
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{r} px" for r in RESOLUTIONS)  # each variant once
    assert "GMACs" in ax.get_xlabel()
    from edge_bench.report.fit import fit_points
    from edge_bench.report.plots.compute import parity_figure

    [parity_ax] = assert_readable(parity_figure(fit_points(a.frame)))
    assert parity_ax.get_xlim()[0] == 0 and parity_ax.get_ylim()[0] == 0  # no negative latency on the axes


def test_latency_plot_says_why_there_is_no_fit():
    from edge_bench.report.plots.compute import metric_vs_macs_figure

    records = [smoke_like(rt, r) for rt in ("executorch", "litert") for r in (96, 64)] + [record("host", "litert", 224)]
    a = analysis_of(records)
    axes = assert_readable(metric_vs_macs_figure(a.frame, a.fits))
    assert [ax.get_title() for ax in axes] == ["mobilenet_v2 on host", "resnet50 on host"]  # never one panel for both
    notes = [t.get_text() for t in axes[0].texts if "fit" in t.get_text()]
    assert notes and "no executorch fit: 2 usable points" in notes[0]


def test_memory_plot_shows_both_runtimes_side_by_side():
    from matplotlib.collections import PathCollection

    from edge_bench.report.plots.memory import memory_figure

    records = [
        record("host", rt, r) for rt in ("executorch", "litert") for r in (224, 182, 140)
    ]  # equal RSS per runtime
    [ax] = assert_readable(memory_figure(analysis_of(records).frame))
    positions = {
        c.get_label(): sorted(x for x, _ in c.get_offsets())
        for c in ax.collections
        if isinstance(c, PathCollection) and c.get_label().endswith("model RSS")
    }
    executorch, litert = positions["executorch: model RSS"], positions["litert: model RSS"]
    assert len(executorch) == len(litert) == 3 and all(e != lt for e, lt in zip(executorch, litert))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["140 px", "182 px", "224 px"]


def test_pareto_plot_labels_variants_per_architecture():
    from edge_bench.report.analysis import FRONT_GROUP_BY
    from edge_bench.report.pareto import pareto_mask
    from edge_bench.report.plots.fronts import pareto_figure

    records = [
        record("host", rt, r, width=w, accuracy=labelled(r, shift=-3.0 if w == 0.5 else 0.0))
        for rt in ("executorch", "litert")
        for w in (1.0, 0.5)
        for r in (224, 182, 140)
    ]
    a = analysis_of(records)
    mask = pareto_mask(a.frame, "top1", "latency_median_ms", group_by=FRONT_GROUP_BY)
    [ax] = assert_readable(pareto_figure(a.frame, "top1", "top-1 %", mask))
    labels = {t.get_text() for t in ax.texts}
    assert "224 px" in labels and "140 px ×0.5" in labels
