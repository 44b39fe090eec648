"""Parsers and command lines for LiteRT's benchmark_model and ExecuTorch's executor_runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_bench.android.tools import (benchmark_model_argv, executor_runner_argv, parse_benchmark_model,
                                      parse_executor_runner, parse_stat_line)

SAMPLES = Path(__file__).parent / "samples"
MIB = 1024 * 1024


def sample(name: str) -> str:
    lines = (SAMPLES / name).read_text().splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


# ---------------------------------------------------------------- benchmark_model

def test_benchmark_model_argv_uses_the_tool_flag_names():
    argv = benchmark_model_argv("/data/local/tmp/benchmark_model", "/data/local/tmp/m.tflite", threads=4,
                                warmup_runs=3, warmup_secs=0.5, min_runs=50, min_secs=1.0, max_secs=150.0)
    assert argv == ["/data/local/tmp/benchmark_model", "--graph=/data/local/tmp/m.tflite", "--num_threads=4",
                    "--warmup_runs=3", "--warmup_min_secs=0.5", "--num_runs=50", "--min_secs=1",
                    "--max_secs=150", "--use_xnnpack=true"]
    off = benchmark_model_argv("bm", "m.tflite", 1, 1, 0.5, 10, 1, 60, use_xnnpack=False, report_peak_memory=True)
    assert "--use_xnnpack=false" in off and off[-1] == "--report_peak_memory_footprint=true"


def test_stat_lines_all_shapes():
    full = parse_stat_line("INFO: count=50 first=41120 curr=41003 min=40712 max=44021 avg=41234.6 std=512 "
                           "p5=40790 median=41150 p95=42310")
    assert full["count"] == 50 and full["avg"] == 41234.6 and full["median"] == 41150
    same = parse_stat_line("count=20 curr=1234(all same)")
    assert same == {"count": 20, "curr": 1234.0, "min": 1234.0, "max": 1234.0, "avg": 1234.0, "first": 1234.0,
                    "std": 0.0}
    assert parse_stat_line("count=5 first=1 curr=2 min=1 max=3 avg=1.98677e+06 std=5612")["avg"] == 1986770.0
    assert parse_stat_line("INFO: Loaded model m.tflite") is None


def test_litert_output_with_percentiles_and_peak_memory():
    r = parse_benchmark_model(sample("benchmark_model_litert.txt"))
    assert r["status"] == "ok" and r["error"] is None
    lat = r["latency_ms"]
    assert lat["n"] == 50
    assert lat["mean"] == pytest.approx(41.2346) and lat["median"] == pytest.approx(41.150)
    assert lat["min"] == pytest.approx(40.712) and lat["max"] == pytest.approx(44.021)
    assert lat["std"] == pytest.approx(0.512)
    assert lat["p5"] == pytest.approx(40.790) and lat["p95"] == pytest.approx(42.310)
    assert lat["p90"] is None and lat["p99"] is None  # not printed by the tool: not invented
    assert r["first_inference_ms"] == pytest.approx(52.345)
    assert r["load_ms"] == pytest.approx(123.456)
    assert r["warmup_runs"] == 12 and r["warmup_mean_ms"] == pytest.approx(42.0432)
    mem = r["memory"]
    assert mem["peak_rss_bytes"] == round(48.6562 * MIB)
    assert mem["model_rss_bytes"] == round(12.5 * MIB) and mem["init_rss_delta_bytes"] == round(3.76953 * MIB)
    assert mem["end_vmrss_bytes"] == 47 * MIB and mem["baseline_rss_bytes"] is None
    assert r["env"]["threads"] == 4 and r["env"]["use_xnnpack"] is True
    assert "completely executed" in r["env"]["delegate"]
    assert r["env"]["model_size_mb"] == pytest.approx(25.9931)
    assert set(r["notes"]) >= {"latency_ms", "first_inference_ms", "load_ms", "memory"}


def test_older_tensorflow_output_without_percentiles():
    r = parse_benchmark_model(sample("benchmark_model_tf.txt"))
    assert r["status"] == "ok"
    lat = r["latency_ms"]
    assert lat["n"] == 5 and lat["mean"] == pytest.approx(1986.77) and lat["median"] is None
    assert lat["min"] == pytest.approx(1979.876) and lat["std"] == pytest.approx(5.612)
    assert r["warmup_runs"] == 1 and r["first_inference_ms"] == pytest.approx(2012.34)
    assert r["load_ms"] == pytest.approx(45.012)
    assert r["memory"]["peak_rss_bytes"] is None  # no periodic monitor in this output
    assert r["memory"]["model_rss_bytes"] == round(78.4531 * MIB)
    assert r["env"]["threads"] == 1 and "partially" in r["env"]["delegate"]


def test_failed_benchmark_model_keeps_the_tools_error():
    r = parse_benchmark_model(sample("benchmark_model_error.txt"))
    assert r["status"] == "failed" and r["latency_ms"] is None
    assert r["error"] == "Failed to load model /data/local/tmp/edge-bench/missing.tflite"


def test_garbage_is_a_failure_not_an_exception():
    r = parse_benchmark_model("/system/bin/sh: benchmark_model: not found\n")
    assert r["status"] == "failed" and "Inference timings" in r["error"]


# ---------------------------------------------------------------- executor_runner

def test_executor_runner_argv_counts_first_warmup_and_timed_runs():
    assert executor_runner_argv("/data/local/tmp/xnn_executor_runner", "/data/local/tmp/m.pte", threads=4,
                                warmup_runs=1, min_runs=4) == [
        "/data/local/tmp/xnn_executor_runner", "--model_path=/data/local/tmp/m.pte", "--num_executions=6",
        "--cpu_threads=4"]


def test_executor_runner_per_iteration_output():
    r = parse_executor_runner(sample("executor_runner.txt"), warmup_runs=1)
    assert r["status"] == "ok" and r["error"] is None
    assert r["first_inference_ms"] == pytest.approx(56.801)
    lat = r["latency_ms"]  # iterations 3..6 after the first and one warm-up
    assert lat["n"] == 4
    assert lat["mean"] == pytest.approx((41.05 + 40.7 + 41.15 + 41.1) / 4)
    assert lat["median"] == pytest.approx((41.05 + 41.1) / 2)
    assert lat["min"] == pytest.approx(40.7) and lat["max"] == pytest.approx(41.15)
    assert r["load_ms"] == pytest.approx(57.655)
    assert r["executions"] == 6 and r["total_execute_ms"] == pytest.approx(262.303)
    assert r["memory"]["planned_bytes"] == 3211264 + 4096
    assert r["env"]["threads"] == 4 and r["warmup_runs"] == 1


def test_executor_runner_legacy_output_has_only_the_mean():
    r = parse_executor_runner(sample("executor_runner_legacy.txt"), warmup_runs=2)
    assert r["status"] == "ok"
    assert r["latency_ms"] == {"median": None, "mean": pytest.approx(122.011), "p90": None, "p99": None,
                               "std": None, "min": None, "max": None, "n": 10}
    assert r["first_inference_ms"] is None and r["load_ms"] is None
    assert r["memory"]["planned_bytes"] == 802816
    assert "total" in r["notes"]["latency_ms"]


def test_executor_runner_failure_reports_the_first_error():
    r = parse_executor_runner(sample("executor_runner_failed.txt"))
    assert r["status"] == "failed" and r["latency_ms"] is None
    assert r["error"].startswith("Missing operator")


def test_executor_runner_logcat_lines_without_the_posix_prefix():
    text = ("I ExecuTorch: Model loaded in 10.000000 ms.\n"
            "I ExecuTorch: Iteration 1 of 3: 12.000000 ms\n"
            "I ExecuTorch: Iteration 2 of 3: 10.000000 ms\n"
            "I ExecuTorch: Iteration 3 of 3: 11.000000 ms\n"
            "I ExecuTorch: Model executed successfully 3 time(s) in 33.000000 ms.\n")
    r = parse_executor_runner(text)
    assert r["status"] == "ok" and r["latency_ms"]["n"] == 2 and r["latency_ms"]["mean"] == pytest.approx(10.5)
