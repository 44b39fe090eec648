"""The native ExecuTorch runner built here from the installed wheel, LiteRT's CompiledModel API, and the
fallbacks: each measured as a board measures, through the agent in a fresh process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_bench.build import Builder
from edge_bench.config import load_recipe, load_target
from edge_bench.device.agent import RESULT_MARKER
from edge_bench.device.native import build as native_build
from edge_bench.device.timing import summarize
from edge_bench.errors import InputError
from edge_bench.export.cache import ArtifactCache
from edge_bench.recipes import Only, expand
from edge_bench.measure.spec import measurement_spec
from edge_bench.transport.bundle import build_agent_zipapp

pytestmark = pytest.mark.skipif(
    shutil.which("c++") is None and shutil.which("g++") is None, reason="no C++ compiler on this machine"
)
QUICK = {"threads": 1, "warmup_runs": 2, "warmup_secs": 0.0, "min_runs": 7, "min_secs": 0.0, "max_secs": 5.0}
PHASES = {"baseline", "load", "prepare", "first_inference", "timed"}


@pytest.fixture(scope="module")
def smoke():
    """The quick-start model: the smoke recipe's MobileNetV2 x0.35 at 64 px, for both runtimes, from the
    artifact cache the quick start fills (content-addressed, so built once, then reused)."""
    recipe = load_recipe("smoke")
    builder = Builder(recipe, ArtifactCache())
    variant = expand(recipe, [Only.parse("resolution=64")])[0]
    return {r: str(builder.artifact(variant, r).artifact.path) for r in ("executorch", "litert")}


@pytest.fixture(scope="module")
def runner():
    """The runner as `edge-bench run --target host` builds it: from the installed wheel, in the cache."""
    return native_build.ensure_runner()


def agent(spec: dict, python: str = sys.executable, env: dict | None = None, pyz: Path | None = None) -> dict:
    program = [str(pyz)] if pyz else ["-m", "edge_bench.device.agent"]
    done = subprocess.run(
        [python, *program, "measure", "--spec", json.dumps(spec)], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith(RESULT_MARKER)]
    return json.loads(line[len(RESULT_MARKER) :])


def broken_compilers(folder: Path, script: str) -> dict:
    """An environment whose c++, g++ and clang++ are `script`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in native_build.COMPILERS:
        (folder / name).write_text(f"#!/bin/sh\n{script}\n")
        (folder / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CXX"}
    return {**env, "PATH": f"{folder}{os.pathsep}{env['PATH']}"}


# ---------------------------------------------------------------- building


def test_builds_from_the_installed_wheel_once_and_links_no_torch(tmp_path, runner):
    fresh = native_build.ensure_runner(tmp_path)
    assert fresh.built_now and fresh.build_s > 0 and fresh.path.is_file()
    again = native_build.ensure_runner(tmp_path)
    assert not again.built_now and again.path == fresh.path and again.sha256 == fresh.sha256
    assert fresh.key == runner.key  # same wheel, compiler and source: same key wherever it is cached
    assert fresh.sha256 == runner.sha256  # and the same bytes
    assert {"executorch", "executorch_backend_xnnpack", "executorch_threadpool"} <= set(fresh.wheel.libraries())
    if shutil.which("ldd"):
        linked = subprocess.run(["ldd", str(fresh.path)], capture_output=True, text=True).stdout
        assert "libexecutorch_backend_xnnpack.so" in linked and "not found" not in linked
        assert "libtorch" not in linked and "libc10" not in linked and "libpython" not in linked


def test_a_changed_source_is_a_new_build_key(runner, monkeypatch):
    source = native_build.source_bytes()
    monkeypatch.setattr(native_build, "source_bytes", lambda: source + b"\n// changed\n")
    wheel = native_build.find_wheel()
    cxx = native_build.find_compiler()
    changed = native_build.build_key(native_build.source_bytes(), wheel, runner.compiler, cxx)
    assert changed != runner.key


# ---------------------------------------------------------------- measuring


def test_measures_the_quick_start_model_in_its_own_process(smoke, runner):
    native = agent({**QUICK, "artifact": smoke["executorch"], "runtime": "executorch", "api": "native"})
    assert native["status"] == "ok", native.get("error")
    runtime = native["env"]["runtime"]
    assert runtime["api"] == "native" and runtime["binary_sha256"] == runner.sha256
    assert runtime["compiler"] == runner.compiler and runtime["threads"] == 1 and "fallback_reason" not in runtime
    latency = native["latency_ms"]
    assert latency["n"] >= 7 and len(latency["samples"]) == latency["n"] and native["warmup_runs"] >= 2
    expected = summarize(latency["samples"])  # the runner's statistics are the agent's
    assert {k: latency[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert native["load_ms"] > 0 and native["prepare_ms"] > 0 and native["first_inference_ms"] > 0
    memory = native["memory"]
    assert set(memory["phases"]) == PHASES
    assert memory["peak_rss_bytes"] >= memory["baseline_rss_bytes"] > 0
    assert memory["model_rss_bytes"] == memory["peak_rss_bytes"] - memory["baseline_rss_bytes"]

    python = agent({**QUICK, "artifact": smoke["executorch"], "runtime": "executorch", "api": "python"})
    assert python["status"] == "ok" and python["env"]["runtime"]["api"] == "python"
    # The peak is the runner's own: below what the Python runtime's process holds before it loads the model.
    assert memory["peak_rss_bytes"] < python["memory"]["baseline_rss_bytes"]


def test_native_and_python_runtimes_compute_the_same_outputs(smoke, runner, tmp_path):
    images = tmp_path / "images.npy"
    np.save(images, np.random.default_rng(3).standard_normal((3, 3, 64, 64)).astype(np.float32))
    outputs = {}
    for api in ("native", "python"):
        out = tmp_path / f"{api}.npy"
        result = agent(
            {
                **QUICK,
                "min_runs": 1,
                "artifact": smoke["executorch"],
                "runtime": "executorch",
                "api": api,
                "inputs": str(images),
                "outputs": str(out),
            }
        )
        assert result["status"] == "ok", result.get("error")
        outputs[api] = np.load(out)
    assert outputs["native"].shape == (3, 1000)
    np.testing.assert_allclose(outputs["native"], outputs["python"], rtol=0, atol=1e-6)


def test_energy_pass_loops_inside_the_runner(smoke, runner):
    from edge_bench.device import agent as agent_module
    from edge_bench.device.native.measure import measure_native
    from edge_bench.device.power import Meter, energy_pass

    class TwoWatts(Meter):
        name, kind = "two-watts", "power"

        def read(self) -> float:
            return 2.0

    calls = []

    def energy(result, spec, runtime=None, loop=None):
        def counted(seconds):
            calls.append(seconds)
            return loop(seconds)

        result["energy"] = energy_pass(
            "two-watts",
            {},
            period_secs=0.02,
            idle_secs=0.0,
            duration_secs=0.4,
            loop=counted,
            registry={"two-watts": lambda options, period, source: TwoWatts()},
        )

    spec = {**agent_module.DEFAULTS, **QUICK, "artifact": smoke["executorch"], "runtime": "executorch", "api": "native"}
    result = {"status": "failed", "error": None, "env": {}}
    measure_native(runner, spec, result, energy)
    assert result["status"] == "ok", result.get("error")
    assert calls == [0.4]
    e = result["energy"]
    assert e["inferences"] > 0 and e["duration_s"] == pytest.approx(0.4, abs=0.05)
    assert e["avg_power_w"] == pytest.approx(2.0)
    assert e["mj_per_inference"] == pytest.approx(2.0 * e["duration_s"] / e["inferences"] * 1e3)


def test_a_board_without_torch_measures_through_the_zipapp(smoke, runner, tmp_path):
    """numpy and the executorch wheel's files, no torch: the agent zipapp builds the runner and measures."""
    venv = tmp_path / "board"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    packages = Path(np.__file__).parent.parent
    for entry in packages.iterdir():
        if entry.name.startswith(("numpy", "executorch")):
            (site / entry.name).symlink_to(entry)
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0
    pyz = build_agent_zipapp(tmp_path / "agent")
    env = {**os.environ, "EDGE_BENCH_CACHE": str(tmp_path / "board-cache")}  # builds from the zipapp's source
    result = agent(
        {**QUICK, "artifact": smoke["executorch"], "runtime": "executorch", "api": "native"},
        python=python,
        env=env,
        pyz=pyz,
    )
    assert result["status"] == "ok", result.get("error")
    assert result["env"]["runtime"]["api"] == "native" and result["env"]["runtime"]["built_now"]
    assert result["env"]["runtime"]["compiler"] == runner.compiler
    # Built against the board's own wheel (its path is the binary's rpath): its key differs from the host's.
    assert result["env"]["runtime"]["build_key"] != runner.key


# ---------------------------------------------------------------- failures and fallbacks


def test_a_compiler_that_does_not_run_falls_back_to_the_python_runtime(smoke, tmp_path):
    env = broken_compilers(tmp_path / "bin", "exit 1")
    env["EDGE_BENCH_CACHE"] = str(tmp_path / "cache")
    result = agent({**QUICK, "artifact": smoke["executorch"], "runtime": "executorch", "api": "native"}, env=env)
    assert result["status"] == "ok", result.get("error")
    runtime = result["env"]["runtime"]
    assert runtime["api"] == "python" and runtime["requested_api"] == "native"
    assert "does not run" in runtime["fallback_reason"] and "g++" in runtime["fallback_fix"]


def test_a_failing_build_falls_back_with_the_compiler_error(smoke, tmp_path):
    script = (
        'case "$1" in --version) echo "fakec++ 1.0";; -dumpmachine) echo "x86_64-linux-gnu";; '
        '*) echo "et_runner.cpp:1:1: error: this compiler builds nothing" >&2; exit 1;; esac'
    )
    env = broken_compilers(tmp_path / "bin", script)
    env["EDGE_BENCH_CACHE"] = str(tmp_path / "cache")
    result = agent({**QUICK, "artifact": smoke["executorch"], "runtime": "executorch", "api": "native"}, env=env)
    assert result["status"] == "ok", result.get("error")
    reason = result["env"]["runtime"]["fallback_reason"]
    assert "did not build with fakec++ 1.0" in reason and "error: this compiler builds nothing" in reason
    assert list((tmp_path / "cache" / "native").glob("*/build.log"))
    assert not list((tmp_path / "cache" / "native").glob(f"*/{native_build.BINARY}"))


def test_no_runner_and_no_python_runtime_is_a_failed_record_naming_both(smoke, python_without_runtimes, tmp_path):
    env = broken_compilers(tmp_path / "bin", "exit 1")
    result = agent(
        {**QUICK, "artifact": smoke["executorch"], "runtime": "executorch", "api": "native"},
        python=python_without_runtimes,
        env=env,
    )
    assert result["status"] == "failed"
    assert "ExecuTorch is not installed" in result["error"] and "native runner unavailable" in result["error"]
    assert "\n" not in result["error"]
    assert result["env"]["runtime"]["requested_api"] == "native"


def test_an_unreadable_program_is_a_failed_record_with_the_runners_memory(runner, tmp_path):
    bad = tmp_path / "broken.pte"
    bad.write_bytes(b"not a program" * 100)
    result = agent({**QUICK, "artifact": str(bad), "runtime": "executorch", "api": "native"})
    assert result["status"] == "failed" and result["error"].startswith("native runner, load: ")
    assert result["env"]["runtime"]["api"] == "native"
    assert set(result["memory"]["phases"]) == {"baseline"} and result["memory"]["baseline_rss_bytes"] > 0


def test_a_runner_that_dies_is_a_failed_record(tmp_path, runner):
    from edge_bench.device import agent as agent_module
    from edge_bench.device.native.measure import measure_native

    dying = tmp_path / "dying"
    dying.write_text("#!/bin/sh\necho 'segfault here' >&2\nkill -SEGV $$\n")
    dying.chmod(0o755)
    spec = {**agent_module.DEFAULTS, **QUICK, "artifact": "m.pte", "runtime": "executorch", "api": "native"}
    result = {"status": "failed", "error": None, "env": {}}
    measure_native(
        native_build.Runner(dying, "0" * 64, "sh", runner.wheel, "k", False, None), spec, result, agent_module._energy
    )
    assert result["status"] == "failed"
    assert result["error"] == "native runner ended without a result (killed by SIGSEGV): segfault here"
    assert result["memory"]["peak_rss_bytes"] is None and "failed before" in result["memory"]["missing_reason"]


# ---------------------------------------------------------------- LiteRT's two APIs


def test_litert_compiled_model_api_measures_and_matches_the_interpreter(smoke, tmp_path):
    images = tmp_path / "images.npy"
    np.save(images, np.random.default_rng(5).standard_normal((2, 3, 64, 64)).astype(np.float32))
    outputs = {}
    for api in ("compiled_model", "interpreter"):
        out = tmp_path / f"{api}.npy"
        result = agent(
            {
                **QUICK,
                "artifact": smoke["litert"],
                "runtime": "litert",
                "api": api,
                "inputs": str(images),
                "outputs": str(out),
            }
        )
        assert result["status"] == "ok", result.get("error")
        assert result["env"]["runtime"]["api"] == api and result["latency_ms"]["n"] >= 7
        assert set(result["memory"]["phases"]) == PHASES
        outputs[api] = np.load(out)
    np.testing.assert_array_equal(outputs["compiled_model"], outputs["interpreter"])


def test_unknown_api_is_a_failed_record(smoke):
    result = agent({**QUICK, "artifact": smoke["litert"], "runtime": "litert", "api": "gpu"})
    assert result["status"] == "failed" and "litert has no in-process API 'gpu'" in result["error"]


# ---------------------------------------------------------------- targets and the run


def test_target_runtimes_table(tmp_path):
    assert load_target("host").runtimes.api("executorch") == "native"
    path = tmp_path / "t.toml"
    path.write_text('kind = "local"\nthreads = 1\n')
    plain = load_target(str(path))
    assert (plain.runtimes.executorch, plain.runtimes.litert) == ("python", "interpreter")
    assert measurement_spec(plain, "m.tflite", "litert")["api"] == "interpreter"
    path.write_text('kind = "local"\nthreads = 1\n[runtimes]\nlitert = "compiled_model"\n')
    assert measurement_spec(load_target(str(path)), "m.tflite", "litert")["api"] == "compiled_model"
    path.write_text('kind = "local"\nthreads = 1\n[runtimes]\nexecutorch = "c++"\n')
    with pytest.raises(
        InputError, match=r"t.toml: key 'runtimes.executorch' must be one of \['python', 'native'\], got 'c\+\+'"
    ):
        load_target(str(path))
    path.write_text('kind = "local"\nthreads = 1\n[runtimes]\nonnx = "python"\n')
    with pytest.raises(InputError, match="unknown key 'runtimes.onnx'"):
        load_target(str(path))


def test_a_plain_run_on_the_host_measures_executorch_natively(smoke, runner, tmp_path):
    from edge_bench.cli import main
    from edge_bench.results import read_records

    target = tmp_path / "host.toml"
    target.write_text(
        Path(load_target("host").path)
        .read_text()
        # min_secs stays: a timed span under 0.2 s is too short to read other processes' CPU use
        .replace("warmup_secs = 0.2", "warmup_secs = 0.0")
        .replace("rounds_min = 3", "rounds_min = 2")
        .replace("rounds_max = 10", "rounds_max = 2")
        .replace("retakes = 3", "retakes = 0")
    )
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--target",
            str(target),
            "--recipe",
            "smoke",
            "--only",
            "resolution=64",
            "--runtime",
            "executorch",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    (record,) = read_records(out / "results.jsonl")
    assert record.status == "ok", record.error
    assert record.env["runtime"]["api"] == "native" and record.env["runtime"]["binary_sha256"] == runner.sha256
    assert record.memory.peak_rss_bytes > 0 and set(record.memory.phases) == PHASES
    assert record.flat()["runtime_api"] == "native"  # a column of results.csv
    assert len(record.latency.rounds) == 2 and all(r.others_cpu is not None for r in record.latency.rounds)


def test_doctor_checks_the_torch_free_path(runner, tmp_path, monkeypatch):
    from edge_bench.device import checks

    found = {c.name: c for c in checks.check_native(numpy_ok=True)}
    assert list(found) == ["compiler", "executorch", "native runner", "torch"]
    assert all(c.ok for c in found.values()), found
    assert found["native runner"].detail == f"built before: {runner.path}"
    assert "not needed" in found["torch"].detail or "unused" in found["torch"].detail

    monkeypatch.setenv("PATH", broken_compilers(tmp_path / "bin", "exit 1")["PATH"])
    monkeypatch.delenv("CXX", raising=False)
    found = {c.name: c for c in checks.check_native(numpy_ok=True)}
    assert not found["compiler"].ok and found["compiler"].fix == native_build.COMPILER_FIX
    assert "fall back to ExecuTorch's Python runtime" in found["compiler"].detail
    assert not found["native runner"].ok and found["executorch"].ok
