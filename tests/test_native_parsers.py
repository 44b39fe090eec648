"""Parsers and command lines for LiteRT's benchmark_model and ExecuTorch's executor_runner, held to real
captures (tests/samples/, provenance in tests/samples/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_bench.android.benchmark_model import benchmark_model_argv, parse_benchmark_model, parse_stat_line
from edge_bench.android.executor_runner import executor_runner_argv, parse_executor_runner

SAMPLES = Path(__file__).parent / "samples"
MIB = 1024 * 1024


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def test_every_fixture_names_its_source():
    provenance = (SAMPLES / "PROVENANCE.md").read_text(encoding="utf-8")
    fixtures = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*.txt"))
    assert len(fixtures) == 65
    assert [f for f in fixtures if f"`{f}`" not in provenance] == []


# ---------------------------------------------------------------- benchmark_model


def test_benchmark_model_argv_uses_the_tool_flag_names():
    argv = benchmark_model_argv(
        "/data/local/tmp/benchmark_model",
        "/data/local/tmp/m.tflite",
        threads=4,
        warmup_runs=3,
        warmup_secs=0.5,
        min_runs=50,
        min_secs=1.0,
        max_secs=150.0,
    )
    assert argv == [
        "/data/local/tmp/benchmark_model",
        "--graph=/data/local/tmp/m.tflite",
        "--num_threads=4",
        "--warmup_runs=3",
        "--warmup_min_secs=0.5",
        "--num_runs=50",
        "--min_secs=1",
        "--max_secs=150",
        "--use_xnnpack=true",
    ]
    off = benchmark_model_argv("bm", "m.tflite", 1, 1, 0.5, 10, 1, 60, use_xnnpack=False, report_peak_memory=True)
    assert "--use_xnnpack=false" in off and off[-1] == "--report_peak_memory_footprint=true"


def test_stat_lines_of_every_shape():
    # Lines as they stand in the captures: percentiles (TF 2.20), scientific notation, a single warm-up run.
    full = parse_stat_line(
        "INFO: count=50 first=1249964 curr=1240143 min=1238588 max=1252566 avg=1.24027e+06 "
        "std=2565 p5=1238753 median=1239807 p95=1247415"
    )
    assert full == {
        "count": 50,
        "first": 1249964.0,
        "curr": 1240143.0,
        "min": 1238588.0,
        "max": 1252566.0,
        "avg": 1240270.0,
        "std": 2565.0,
        "p5": 1238753.0,
        "median": 1239807.0,
        "p95": 1247415.0,
    }
    single = parse_stat_line("count=1 curr=3512391")
    assert single == {
        "count": 1,
        "curr": 3512391.0,
        "min": 3512391.0,
        "max": 3512391.0,
        "avg": 3512391.0,
        "first": 3512391.0,
        "std": 0.0,
    }
    assert parse_stat_line("INFO: count=1 curr=905463 p5=905463 median=905463 p95=905463")["median"] == 905463.0
    assert parse_stat_line("INFO: Loaded model mobilenet_quant_v1_224.tflite") is None


# Per capture: (mean, min, max, std, n) of the timed runs, first inference, load ('Init'), warm-up runs
# and mean, all in ms as the tool printed them in µs.
TIMED = {
    "rpi_xnnpack.txt": ((55.7442, 52.522, 113.361, 9.9, 50), 65.683, 49.438, (10, 54.3662)),
    "rpi_op_profiling.txt": ((55.0432, 53.077, 60.727, 1.562, 50), 64.791, 18.777, (9, 57.7582)),
    "android_tf23_profiling.txt": ((33.2094, 32.641, 34.005, 0.450, 50), 49.060, 0.855, (15, 34.8251)),
    "qemuriscv64_tf28.txt": ((2950.34, 2727.568, 3189.954, 109.798, 50), 3512.391, 17.187, (1, 3512.39)),
    "renesas_rzg2_tf215.txt": ((102.879, 102.639, 103.238, 0.119, 50), 119.340, 5.617, (5, 107.466)),
    "am62x_tf218_cpu.txt": ((971.535, 911.877, 1112.273, 39.112, 50), 1041.765, 6.418, (1, 1041.76)),
    "am62x_tf218_xnnpack.txt": ((602.943, 568.228, 722.188, 27.690, 50), 633.430, 592.232, (1, 633.430)),
    "am62x_tf220_cpu.txt": ((1240.27, 1238.588, 1252.566, 2.565, 50), 1357.602, 5.579, (1, 1357.6)),
    "am62x_tf220_xnnpack.txt": ((899.641, 898.007, 906.121, 1.549, 50), 905.463, 614.333, (1, 905.463)),
    "am57x_tf1.txt": ((137.722, 137.079, 143.416, 0.896, 50), 146.161, 4.452, (1, 146.161)),
    "android_2019.txt": ((66.7676, 66.699, 66.838, 0.039, 15), 127.425, 9.933, (7, 76.6059)),
}


@pytest.mark.parametrize("name", sorted(TIMED))
def test_benchmark_model_captures_with_both_stat_lines(name):
    (mean, lo, hi, std, n), first, load, (warmup_runs, warmup_mean) = TIMED[name]
    r = parse_benchmark_model(sample(f"benchmark_model/{name}"))
    assert r["status"] == "ok" and r["error"] is None
    lat = r["latency_ms"]
    assert (lat["mean"], lat["min"], lat["max"], lat["std"], lat["n"]) == (
        pytest.approx(mean),
        pytest.approx(lo),
        pytest.approx(hi),
        pytest.approx(std),
        n,
    )
    assert lat["p90"] is None and lat["p99"] is None  # never printed by the tool: not invented
    assert r["first_inference_ms"] == pytest.approx(first)
    assert r["load_ms"] == pytest.approx(load)
    assert r["warmup_runs"] == warmup_runs and r["warmup_mean_ms"] == pytest.approx(warmup_mean)


def test_percentiles_only_where_the_tool_prints_them():
    newer = parse_benchmark_model(sample("benchmark_model/am62x_tf220_cpu.txt"))["latency_ms"]
    assert (newer["p5"], newer["median"], newer["p95"]) == (
        pytest.approx(1238.753),
        pytest.approx(1239.807),
        pytest.approx(1247.415),
    )
    older = parse_benchmark_model(sample("benchmark_model/am62x_tf218_cpu.txt"))["latency_ms"]
    assert older["p5"] is None and older["median"] is None and older["p95"] is None


def test_memory_lines_old_and_new_are_the_same_two_numbers():
    new = parse_benchmark_model(sample("benchmark_model/renesas_rzg2_tf215.txt"))["memory"]
    assert new["init_rss_delta_bytes"] == 5 * MIB and new["model_rss_bytes"] == round(11.2695 * MIB)
    old = parse_benchmark_model(sample("benchmark_model/android_tf23_profiling.txt"))["memory"]
    assert old["init_rss_delta_bytes"] == 0 and old["model_rss_bytes"] == round(12.8672 * MIB)
    absent = parse_benchmark_model(sample("benchmark_model/rpi_xnnpack.txt"))["memory"]
    assert absent["model_rss_bytes"] is None and absent["peak_rss_bytes"] is None  # no memory line printed


def test_tool_parameters_and_delegate_from_the_log():
    rpi = parse_benchmark_model(sample("benchmark_model/rpi_xnnpack.txt"))  # prompt glued to "STARTING!"
    assert rpi["env"]["threads"] == 4 and rpi["env"]["use_xnnpack"] is True
    assert rpi["env"]["graph"] == "yolo_best_recall_int8_static.tflite"
    assert rpi["env"]["model_size_mb"] == pytest.approx(3.67827)
    assert "partially executed by the delegate w/ 1 delegate kernels" in rpi["env"]["delegate"]
    no_xnnpack = parse_benchmark_model(sample("benchmark_model/am62x_tf218_cpu.txt"))["env"]
    assert no_xnnpack["use_xnnpack"] is False and no_xnnpack["delegate"] is None
    assert parse_benchmark_model(sample("benchmark_model/am57x_tf1.txt"))["env"]["threads"] == 1


@pytest.mark.parametrize(
    "name, mean, std, lo, hi, first, load, overall_mb",
    [
        ("mi11_tf24_fp32_cpu.txt", 249.684, 1.442, 247.067, 254.474, 360.262, 16.242, 138.809),
        ("mi11_tf24_fp32_nnapi_gpu.txt", 92.5712, 1.638, 89.745, 96.719, 120.877, 365.972, 61.0547),
        ("mi11_tf24_int8_cpu.txt", 95.7883, 1.284, 93.066, 99.490, 152.949, 1.779, 36.9883),
    ],
)
def test_a_log_cut_to_its_tail_keeps_the_timed_runs(name, mean, std, lo, hi, first, load, overall_mb):
    r = parse_benchmark_model(sample(f"benchmark_model/{name}"))
    assert r["status"] == "ok"
    lat = r["latency_ms"]
    assert (lat["n"], lat["mean"], lat["std"], lat["min"], lat["max"]) == (
        50,
        pytest.approx(mean),
        pytest.approx(std),
        pytest.approx(lo),
        pytest.approx(hi),
    )
    assert r["warmup_runs"] is None  # the warm-up's stat line is not in the excerpt
    assert r["first_inference_ms"] == pytest.approx(first) and r["load_ms"] == pytest.approx(load)
    assert r["memory"]["model_rss_bytes"] == round(overall_mb * MIB)


def test_logcat_lines_of_the_benchmark_apk():
    text = sample("benchmark_model/android_apk_logcat.txt")
    first_run, second_run = (parse_benchmark_model(line) for line in text.splitlines())
    assert first_run["status"] == "ok"
    assert first_run["latency_ms"]["mean"] == pytest.approx(1497.12)  # "Inference (avg): 1.49712e+06"
    assert first_run["latency_ms"]["n"] is None  # only the summary line: the run count is unknown
    assert first_run["first_inference_ms"] == pytest.approx(1530.248)
    assert first_run["load_ms"] == pytest.approx(36.618)
    assert first_run["warmup_mean_ms"] == pytest.approx(1530.25)
    assert second_run["latency_ms"]["mean"] == pytest.approx(333.826)
    assert parse_benchmark_model(text)["latency_ms"]["mean"] == pytest.approx(333.826)  # the last run wins


def test_failed_benchmark_model_keeps_the_tools_error():
    r = parse_benchmark_model(sample("benchmark_model/mi11_tf24_nnapi_dsp_failed.txt"))
    assert r["status"] == "failed" and r["latency_ms"] is None
    assert r["error"] == "NN API returned error ANEURALNETWORKS_BAD_DATA at line 1068 while adding operation."
    assert r["env"]["graph"] == "/data/local/tmp/yolov5s_int8_640.tflite"


def test_failure_without_an_error_line_names_the_last_step():
    r = parse_benchmark_model(
        "STARTING!\nLoaded model m.tflite\nFailed to apply NNAPI delegate.\nBenchmarking failed.\n"
    )
    assert r["status"] == "failed" and r["error"] == "benchmark_model failed after: Failed to apply NNAPI delegate."


def test_garbage_is_a_failure_not_an_exception():
    r = parse_benchmark_model("/system/bin/sh: benchmark_model: not found\n")
    assert r["status"] == "failed" and "Inference timings" in r["error"]


# ---------------------------------------------------------------- executor_runner


def test_executor_runner_argv_counts_first_warmup_and_timed_runs():
    assert executor_runner_argv(
        "/data/local/tmp/xnn_executor_runner", "/data/local/tmp/m.pte", threads=4, warmup_runs=1, min_runs=4
    ) == [
        "/data/local/tmp/xnn_executor_runner",
        "--model_path=/data/local/tmp/m.pte",
        "--num_executions=6",
        "--cpu_threads=4",
    ]


def test_v1_runner_total_time_gives_the_mean():
    r = parse_executor_runner(sample("executor_runner/v10_mv2_xnnpack.txt"))
    assert r["status"] == "ok" and r["error"] is None
    assert r["latency_ms"] == {
        "median": None,
        "mean": pytest.approx(15.013292),
        "p90": None,
        "p99": None,
        "std": None,
        "min": None,
        "max": None,
        "n": 1,
    }
    assert r["executions"] == 1 and r["total_execute_ms"] == pytest.approx(15.013292)
    assert r["outputs_printed"] == 1 and "total" in r["notes"]["latency_ms"]


@pytest.mark.parametrize(
    "name, one_execution_ms, planned",
    [
        ("v01_resnet18_portable.txt", 143329.941, 64346944),  # 00:00:00.437405 -> 00:02:23.767346
        ("docs_mv2_portable.txt", 6880.449, 18652672),  # 00:00:00.007490 -> 00:00:06.887939
        ("qnn_docs.txt", 7.269, None),  # 00:00:00.357555 -> 00:00:00.364824
    ],
)
def test_runner_without_a_time_fails_and_keeps_its_one_execution(name, one_execution_ms, planned):
    r = parse_executor_runner(sample(f"executor_runner/{name}"))
    assert r["status"] == "failed" and r["latency_ms"] is None
    assert "without a time" in r["error"] and "v0.6 or newer" in r["error"]
    assert r["first_inference_ms"] == pytest.approx(one_execution_ms)
    assert "log timestamps" in r["notes"]["first_inference_ms"]
    assert r["memory"]["planned_bytes"] == planned


def test_qualcomm_runner_timing_line():
    r = parse_executor_runner(sample("executor_runner/qnn_timing.txt"))
    assert r["status"] == "ok"
    assert r["executions"] == 100 and r["total_execute_ms"] == pytest.approx(1096.626)
    assert r["latency_ms"]["mean"] == pytest.approx(10.96626) and r["latency_ms"]["n"] == 100


@pytest.mark.parametrize("name", ["android_s20_xnn_stdout.txt", "android_v101_stdout.txt"])
def test_android_pal_stdout_has_outputs_but_no_log_lines(name):
    r = parse_executor_runner(sample(f"executor_runner/{name}"))
    assert r["status"] == "failed" and r["latency_ms"] is None and r["first_inference_ms"] is None
    assert r["outputs_printed"] == 1
    assert "logcat" in r["error"]


def test_the_benchmark_script_summary_is_not_mistaken_for_runner_output():
    r = parse_executor_runner(sample("executor_runner/benchmark_android_sh.txt"))
    assert r["status"] == "failed" and r["latency_ms"] is None and r["load_ms"] is None
    assert r["error"] == "executor_runner printed no 'Model executed successfully' line"


# The v1.3 runner's per-iteration and load lines have no attributable real capture: these are built from
# its format strings ("Model loaded in %f ms.", "Iteration %u of %u: %f ms", "Model executed successfully
# %u time(s) in %f ms.") with the posix PAL prefix ("%c %02u:%02u:%02u.%06lu executorch:%s:%zu] %s").
V13 = "".join(
    f"I 00:00:00.{i:06d} executorch:executor_runner.cpp:1] {msg}\n"
    for i, msg in enumerate(
        [
            "Setting up planned buffer 0, size 4096.",
            "Model loaded in 10.500000 ms.",
            "Iteration 1 of 4: 12.000000 ms",
            "Iteration 2 of 4: 11.000000 ms",
            "Iteration 3 of 4: 10.000000 ms",
            "Iteration 4 of 4: 10.400000 ms",
            "Model executed successfully 4 time(s) in 43.400000 ms.",
        ]
    )
)


def test_v13_runner_per_iteration_lines():
    r = parse_executor_runner(V13, warmup_runs=1)
    assert r["status"] == "ok" and r["first_inference_ms"] == 12.0 and r["load_ms"] == 10.5
    assert r["latency_ms"]["n"] == 2 and r["latency_ms"]["mean"] == pytest.approx(10.2)
    assert r["warmup_runs"] == 1 and r["memory"]["planned_bytes"] == 4096


def test_v13_runner_read_from_logcat_raw_messages():
    raw = "\n".join(line.split("] ", 1)[1] for line in V13.splitlines())  # `logcat -v raw`: the message only
    r = parse_executor_runner(raw)
    assert r["status"] == "ok" and r["latency_ms"]["n"] == 3


def test_runner_error_lines_are_the_reason():
    text = (
        "I 00:00:00.003120 executorch:executor_runner.cpp:1] Using method forward\n"
        "E 00:00:00.003301 executorch:method.cpp:1] Missing operator: [0] aten::_native_batch_norm_legit_no_training.out\n"
    )
    r = parse_executor_runner(text)
    assert r["status"] == "failed" and r["error"].startswith("Missing operator")
