"""The issue's acceptance run: real ResNet-50 conversions for both runtimes, measured on this host (slow)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_bench.results import read_records

pytestmark = pytest.mark.slow

FAST_HOST = """
description = "host, short timing for tests"
kind = "local"
threads = 2
[measure]
warmup_runs = 2
warmup_secs = 0.0
min_runs = 5
min_secs = 0.0
max_secs = 10.0
"""


def test_resnet50_at_160_converts_and_runs_on_both_runtimes(tmp_path):
    target = tmp_path / "host-fast.toml"
    target.write_text(FAST_HOST)
    out = tmp_path / "run"
    env = {**os.environ, "EDGE_BENCH_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "edge-bench"),
            "run",
            "--target",
            str(target),
            "--recipe",
            "resnet50-rs",
            "--only",
            "resolution=160",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    records = read_records(out / "results.jsonl")
    assert sorted(r.runtime for r in records) == ["executorch", "litert"]
    for r in records:
        assert r.status == "ok", r.error
        assert r.variant["arch"] == "resnet50" and r.variant["resolution"] == 160
        # 4.09 GMACs at 224 scale with the pixel count: (160/224)^2 of the convolutions, plus the classifier.
        assert 4.1e9 < r.analytic["flops"] < 4.3e9
        assert 25e6 < r.analytic["weight_bytes"] < 26e6
        assert r.analytic["activation_bytes"] > 0 and r.analytic["liveness_bytes"] >= r.analytic["activation_bytes"]
        # INT8: the artifact holds about one byte per parameter, far below FP32's 102 MB.
        assert 20e6 < r.artifact.bytes < 40e6
        assert r.latency.median > 0 and r.latency.n >= 5
        assert r.memory.model_rss_bytes > 0
        assert r.env["threads"] == 2
        # Fully INT8: no residual addition (nor anything else) left in float between conversions.
        int8 = r.analytic["int8"]
        assert int8["float_op_histogram"] == {} and int8["int8_macs_pct"] == 100.0, int8
        assert r.analytic["fully_int8"] is True
        adds = {"litert": "ADD", "executorch": "XNNAdd"}[r.runtime]
        assert int8["int8_ops"] >= 16 and adds not in int8["float_op_histogram"]
        # The paper's metric on the deployed graph is read from it, at each tensor's real type.
        assert r.analytic["deployed_activation_bytes"] >= r.analytic["activation_bytes"]
    pte = next(r for r in records if r.runtime == "executorch")
    assert pte.analytic["planned_bytes"] > 0
    # Fully delegated: ExecuTorch's plan holds only the float input and output (224-px scaled to 160).
    assert pte.analytic["planned_io_only"] is True
    assert pte.analytic["planned_io_bytes"] >= 4 * (3 * 160 * 160 + 1000)
    tflite = next(r for r in records if r.runtime == "litert")
    assert tflite.analytic["convert_ops"] == 0  # INT8 input and output: no conversion at all
    # LiteRT's arena as allocated: every activation with the builtin kernels, far less with the delegate.
    assert tflite.analytic["arena_bytes"] > tflite.analytic["planned_bytes"] > 0
    report = (out / "report.md").read_text()
    assert "resnet50[resolution=160]" in report
