"""The command line end to end on tiny models: run, resume after kill -9, report, and every bad-input path."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_bench.cli import main
from edge_bench.results import read_records
from tests.tinymodels import tiny_recipe_file

FAST_HOST = """
description = "host, short timing for tests"
kind = "local"
threads = 1
[measure]
warmup_runs = 1
warmup_secs = 0.0
min_runs = 5
min_secs = 0.0
max_secs = 2.0
rounds_min = 2
rounds_max = 2
precision = 0.5
retakes = 0
"""
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def env(tmp_path, tiny_cache, monkeypatch):
    monkeypatch.setenv("EDGE_BENCH_CACHE", str(tiny_cache))
    recipe = tiny_recipe_file(tmp_path)
    target = tmp_path / "fast-host.toml"
    target.write_text(FAST_HOST)
    return {"recipe": recipe, "target": str(target), "out": tmp_path / "out"}


def test_run_records_both_runtimes_and_writes_the_report(env, capsys):
    code = main(
        [
            "run",
            "--target",
            env["target"],
            "--recipe",
            env["recipe"],
            "--only",
            "resolution=16",
            "--out",
            str(env["out"]),
        ]
    )
    assert code == 0, capsys.readouterr()
    records = read_records(env["out"] / "results.jsonl")
    assert sorted(r.runtime for r in records) == ["executorch", "litert"]
    for r in records:
        assert r.status == "ok" and r.error is None
        assert r.variant["resolution"] == 16 and r.target == "fast-host"
        assert r.latency.median > 0 and r.memory.peak_rss_bytes > 0 and len(r.latency.rounds) == 2
        assert r.analytic["flops"] > 0 and r.analytic["memory_bytes"] > 0
        assert r.artifact.bytes > 0 and len(r.artifact.sha256) == 64
    for name in ("report.md", "report.html", "results.csv", "latency_vs_macs.png"):
        assert (env["out"] / name).exists(), name
    assert f"report: {env['out'] / 'report.md'} and {env['out'] / 'report.html'}" in capsys.readouterr().out
    # A second run into the same directory must be explicit about continuing it.
    assert main(["run", "--target", env["target"], "--recipe", env["recipe"], "--out", str(env["out"])]) == 2
    assert "--resume" in capsys.readouterr().err


def test_failed_variant_is_recorded_and_the_sweep_goes_on(env, monkeypatch, capsys):
    import edge_bench.export.litert as litert

    def broken(*args, **kwargs):
        raise RuntimeError("op not supported: aten.weird")

    monkeypatch.setattr(litert, "export_tflite", broken)
    monkeypatch.setenv("EDGE_BENCH_CACHE", str(env["out"].parent / "fresh-cache"))
    code = main(
        [
            "run",
            "--target",
            env["target"],
            "--recipe",
            env["recipe"],
            "--only",
            "resolution=16",
            "--out",
            str(env["out"]),
        ]
    )
    assert code == 1
    records = {r.runtime: r for r in read_records(env["out"] / "results.jsonl")}
    assert records["executorch"].status == "ok"
    assert records["litert"].status == "failed"
    assert records["litert"].error == "litert conversion failed: RuntimeError: op not supported: aten.weird"
    assert "op not supported" in (env["out"] / "report.md").read_text()


def test_resume_after_kill_loses_and_duplicates_nothing(env):
    script = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); from tests import tinymodels; tinymodels.register(); "
        "from edge_bench.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = [
        sys.executable,
        "-c",
        script,
        "run",
        "--target",
        env["target"],
        "--recipe",
        env["recipe"],
        "--out",
        str(env["out"]),
    ]
    results = env["out"] / "results.jsonl"
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and process.poll() is None:
        if results.exists() and results.read_text().count("\n") >= 1:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()
    before = read_records(results)
    assert 1 <= len(before) < 4, "the kill must land mid-sweep"
    done = subprocess.run(argv + ["--resume"], capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    after = read_records(results)
    keys = [(r.variant["name"], r.runtime) for r in after if r.ok]
    assert len(keys) == len(set(keys)) == 4
    assert after[: len(before)] == before  # what was recorded is kept as it was


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--target", "host", "--recipe", "no-such-recipe"], "unknown recipe 'no-such-recipe'"),
        (["run", "--target", "no-such-target", "--recipe", "smoke"], "unknown target 'no-such-target'"),
        (["run", "--target", "host", "--recipe", "smoke", "--only", "resolution"], "expected KEY=VALUE"),
        (["run", "--target", "host", "--recipe", "smoke", "--only", "colour=red"], "has no field 'colour'"),
        (["run", "--target", "host", "--recipe", "smoke", "--runtime", "onnx"], "--runtime onnx"),
        (["run", "--recipe", "smoke"], "--target"),
        (["frobnicate"], "invalid choice"),
        (["report", "/no/such/dir"], "no results.jsonl"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_malformed_recipe_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n")
    assert main(["analyze", "--recipe", str(bad)]) == 2
    assert "bad.toml: malformed TOML" in capsys.readouterr().err


def test_console_script_reports_bad_input_without_traceback():
    done = subprocess.run(
        [str(Path(sys.executable).parent / "edge-bench"), "run", "--target", "host", "--recipe", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("edge-bench: error: unknown recipe 'nope'")
    assert "Traceback" not in done.stderr


def test_report_merges_directories(env, tmp_path, capsys):
    from edge_bench.results import ResultStore
    from tests.records import make_record

    for name in ("a", "b"):
        ResultStore(tmp_path / name).append(
            make_record(
                run_id=name,
                recipe="r",
                variant={"name": "v", "arch": "x", "resolution": 96, "width": 1.0},
                runtime="litert",
                target=f"board-{name}",
                status="ok",
                latency_ms={
                    "median": 2.0,
                    "mean": 2.0,
                    "p90": 2.5,
                    "p99": 3.0,
                    "std": 0.1,
                    "min": 1.9,
                    "max": 3.0,
                    "n": 20,
                },
                analytic={"flops": 1e9, "memory_bytes": 1e6},
            )
        )
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "merged")]) == 0
    text = (tmp_path / "merged" / "report.md").read_text()
    assert "board-a" in text and "board-b" in text


def test_analyze_writes_the_table_and_the_tradeoff_picture(env, capsys):
    import pandas as pd

    out = env["out"].parent / "analysis"
    assert main(["analyze", "--recipe", env["recipe"], "--out", str(out)]) == 0
    table = pd.read_csv(out / "analysis.csv")
    assert list(table["resolution"]) == [16, 24]
    for column in ("flops", "macs", "params", "weight_bytes", "activation_bytes", "memory_bytes", "liveness_bytes"):
        assert (table[column] > 0).all(), column
    assert (2 * table["macs"] == table["flops"]).all()  # a multiply-accumulate is two FLOPs
    assert (table["memory_bytes"] == table["weight_bytes"] + table["activation_bytes"]).all()
    assert table["flops"].iloc[1] > table["flops"].iloc[0]
    assert (out / "tradeoff.png").stat().st_size > 0


@pytest.mark.parametrize("sram, fits", [("512 KiB", True), ("1 KiB", False)])
def test_mcu_target_checks_fit_and_measures_nothing(env, sram, fits):
    board = env["out"].parent / "board.toml"
    board.write_text(
        f'description = "test board"\nkind = "mcu"\nthreads = 1\n[mcu]\nsram_bytes = "{sram}"\n'
        'flash_bytes = "2 MiB"\nclock_hz = "480 MHz"\ncore = "cortex-m7"\nmacs_per_cycle = 0.5\n'
    )
    assert (
        main(
            [
                "run",
                "--target",
                str(board),
                "--recipe",
                env["recipe"],
                "--runtime",
                "litert",
                "--only",
                "resolution=16",
                "--out",
                str(env["out"]),
            ]
        )
        == 0
    )
    [record] = read_records(env["out"] / "results.jsonl")
    assert record.status == "ok" and record.latency is None  # a fit check, not a measurement
    assert "not measured" in record.measurement_missing_reason
    assert record.mcu["fit"]["fits"] is fits
    estimate = record.mcu["latency_estimate"]
    assert estimate["kind"] == "estimate"
    assert estimate["latency_ms"] == pytest.approx(record.analytic["macs"] / (0.5 * 480e6) * 1000)
    export = record.mcu["cortex_m_export"]
    from edge_bench.export.cortex_m import cortex_m_unavailable_reason

    reason = cortex_m_unavailable_reason()
    if reason:  # the record says exactly why there is no Cortex-M program
        assert export["error"] == reason
    else:
        assert export["cpu"] == "cortex-m7" and export["bytes"] > 0 and export["planned_bytes"] > 0
    report = (env["out"] / "report.md").read_text()
    assert "Microcontrollers: what fits" in report
    assert ("**tinycnn[resolution=16]** (1 of 1 variants fit)" in report) is fits
    assert ("none of 1 variants fits" in report) is not fits


def test_vit_closed_form_sits_beside_the_graph_counts():
    from edge_bench.analytic.sweep import closed_form_columns

    columns = closed_form_columns(
        {
            "flops": 200,
            "weight_bytes": 100,
            "activation_bytes": 50,
            "closed_form": {
                "vit_closed_form_flops": 150,
                "vit_closed_form_weights": 100,
                "vit_closed_form_activations_max": 60,
            },
        }
    )
    assert columns["vit_closed_form_flops_vs_graph"] == pytest.approx(-0.25)
    assert columns["vit_closed_form_weights_vs_graph"] == 0
    assert columns["vit_closed_form_activations_max_vs_graph"] == pytest.approx(0.2)
    assert closed_form_columns({"flops": 1}) == {}
