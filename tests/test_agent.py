"""The device agent, run as a board runs it: a fresh process, one JSON line out."""

import json
import subprocess
import sys

import pytest

from edge_bench.build import Builder
from edge_bench.config import load_recipe
from edge_bench.device.agent import RESULT_MARKER
from edge_bench.device.timing import percentile, run_for, summarize
from edge_bench.export.cache import ArtifactCache
from edge_bench.recipes import Only, expand
from tests.specs import agent_spec
from tests.tinymodels import tiny_recipe_file


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, tiny_cache):
    folder = tmp_path_factory.mktemp("agent")
    recipe = load_recipe(tiny_recipe_file(folder))
    builder = Builder(recipe, ArtifactCache(tiny_cache))
    variant = expand(recipe, [Only.parse("resolution=16")])[0]
    return {r: builder.artifact(variant, r).artifact.path for r in ("executorch", "litert")}


def run_agent(spec: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "edge_bench.device.agent", "measure", "--spec", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    assert len(lines) == 1
    return json.loads(lines[0][len(RESULT_MARKER) :])


@pytest.mark.parametrize("runtime", ["executorch", "litert"])
def test_agent_measures_each_runtime(artifacts, runtime):
    result = run_agent(
        {
            "artifact": str(artifacts[runtime]),
            "runtime": runtime,
            "threads": 1,
            "warmup_runs": 2,
            "warmup_secs": 0.0,
            "min_runs": 7,
            "min_secs": 0.0,
            "max_secs": 5.0,
        }
    )
    assert result["status"] == "ok", result.get("traceback")
    latency = result["latency_ms"]
    assert latency["n"] >= 7 and len(latency["samples"]) == latency["n"]
    assert latency["min"] <= latency["median"] <= latency["p90"] <= latency["max"]
    assert result["load_ms"] > 0 and result["first_inference_ms"] > 0
    assert result["warmup_runs"] >= 2
    memory = result["memory"]
    assert set(memory["phases"]) == {"baseline", "load", "prepare", "first_inference", "timed"}
    assert memory["peak_rss_bytes"] >= memory["baseline_rss_bytes"] > 0
    assert memory["model_rss_bytes"] == memory["peak_rss_bytes"] - memory["baseline_rss_bytes"]
    env = result["env"]
    assert env["threads"] == 1 and env["runtime"]["version"] and env["cpu_model"]
    assert result["energy"] is None and "no power meter" in result["energy_missing_reason"]


def test_unreadable_artifact_is_a_failed_result_naming_it(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"not a flatbuffer")
    result = run_agent({"artifact": str(bad), "runtime": "litert", "threads": 1})
    assert result["status"] == "failed"
    assert result["error"] and "\n" not in result["error"]
    assert result.get("latency_ms") is None


def test_timing_loop_honours_counts_and_seconds():
    calls = []
    samples = run_for(lambda: calls.append(1), min_runs=5, min_secs=0.0, max_secs=10.0)
    assert len(samples) == 5 == len(calls)
    assert len(run_for(lambda: None, min_runs=10**9, min_secs=0.0, max_secs=0.05)) > 5  # max_secs stops it


def test_summary_statistics():
    stats = summarize([4.0, 1.0, 3.0, 2.0])
    assert stats["median"] == 2.5 and stats["mean"] == 2.5 and stats["min"] == 1.0 and stats["max"] == 4.0
    assert stats["p90"] == pytest.approx(3.7)
    assert stats["std"] == pytest.approx(1.2909944)
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0


def test_unreadable_meter_records_energy_missing_with_the_reason(artifacts):
    # No vcgencmd on this machine: the latency pass is kept, energy is missing and says why.
    energy = {"meter": "rpi5-pmic", "options": {}, "period_secs": 0.1, "idle_secs": 0.2, "duration_secs": 0.5}
    result = run_agent(agent_spec(str(artifacts["litert"]), keep_samples=True, energy=energy))
    assert result["status"] == "ok"
    assert result["energy"]["meter"] == "rpi5-pmic"
    assert "vcgencmd" in result["energy"]["missing_reason"]
