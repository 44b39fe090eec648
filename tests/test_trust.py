"""Results a user can trust, tried with real faults: what decides an artifact, what --resume and compare
reuse, a kill mid-run, a torn results file, two runs on one directory, a broken cached artifact, a
damaged agent bundle, write failures, and bad values."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edge_bench.build import Builder
from edge_bench.cli import main
from edge_bench.config import load_recipe
from edge_bench.export.cache import ArtifactCache
from edge_bench.recipes import Only, expand
from edge_bench.results import read_records
from tests.test_cli import FAST_HOST
from tests.tinymodels import tiny_recipe_file

REPO = Path(__file__).resolve().parent.parent
CLI = (
    f"import sys; sys.path.insert(0, {str(REPO)!r}); from tests import tinymodels; tinymodels.register(); "
    "from edge_bench.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.fixture()
def env(tmp_path, tiny_cache, monkeypatch):
    monkeypatch.setenv("EDGE_BENCH_CACHE", str(tiny_cache))
    recipe = tiny_recipe_file(tmp_path)
    target = tmp_path / "fast-host.toml"
    target.write_text(FAST_HOST)
    return {"recipe": recipe, "target": str(target), "out": tmp_path / "out", "tmp": tmp_path}


def run_args(env, *extra):
    """`edge-bench run` of the env's tiny recipe on its fast host target, into its out folder."""
    return ["run", "--target", env["target"], "--recipe", env["recipe"], "--out", str(env["out"]), *extra]


def run_argv(env, *extra):
    """The same `run` as a child process."""
    return [sys.executable, "-c", CLI, *run_args(env, *extra)]


# ---------------------------------------------------------------- what decides an artifact


def test_the_key_follows_the_builders_source(tmp_path, monkeypatch):
    from edge_bench.build import identity

    recipe = load_recipe(tiny_recipe_file(tmp_path))
    variant = expand(recipe)[0]
    builder = Builder(recipe, ArtifactCache(tmp_path / "cache"))
    before = builder.artifact_key(variant, "litert"), builder.analytic_key(variant)
    copy = tmp_path / "edge_bench"
    shutil.copytree(identity.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "models" / "resnet.py").open("a") as f:
        f.write("\n# a changed builder\n")
    monkeypatch.setattr(identity, "PACKAGE", copy)
    identity.source_hash.cache_clear()
    try:
        after = builder.artifact_key(variant, "litert"), builder.analytic_key(variant)
    finally:
        identity.source_hash.cache_clear()
    assert after[0] != before[0] and after[1] != before[1]


def test_calibration_images_are_keyed_by_their_content(tmp_path):
    from PIL import Image

    images = tmp_path / "calibration"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(images / f"{i}.png")
    recipe_file = Path(tiny_recipe_file(tmp_path))
    recipe_file.write_text(recipe_file.read_text().replace("batches = 2", f'batches = 3\ncalibration = "{images}"'))
    recipe = load_recipe(str(recipe_file))
    variant = expand(recipe)[0]
    key = Builder(recipe, ArtifactCache(tmp_path / "cache")).artifact_key(variant, "litert")
    assert Builder(recipe, ArtifactCache(tmp_path / "cache")).artifact_key(variant, "litert") == key
    Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(images / "1.png")  # same name and size
    assert Builder(recipe, ArtifactCache(tmp_path / "cache")).artifact_key(variant, "litert") != key


def test_a_failed_download_does_not_change_the_key(tmp_path, monkeypatch):
    from edge_bench.models import weights

    recipe = load_recipe(tiny_recipe_file(tmp_path))
    variant = expand(recipe)[0]
    builder = Builder(recipe, ArtifactCache(tmp_path / "cache"))
    key = builder.artifact_key(variant, "litert")
    failed = weights.WeightsSource("random", note="IMAGENET1K_V2 unavailable (URLError: <urlopen error timed out>)")
    monkeypatch.setattr(weights, "resolve", lambda fields: failed)
    assert builder.artifact_key(variant, "litert") == key


# ---------------------------------------------------------------- resume and identity


def test_resume_skips_only_the_same_measurement_and_says_why_it_measures_again(env, capsys):
    args = run_args(env, "--runtime", "litert", "--only", "resolution=16")
    assert main(args) == 0
    assert main(args + ["--resume"]) == 0
    assert "0 ok, 0 failed, 1 already done" in capsys.readouterr().out
    recipe = Path(env["recipe"])
    recipe.write_text(recipe.read_text().replace("[quantize]", "[quantize]\nper_channel = false"))
    assert main(args + ["--resume"]) == 0
    out = capsys.readouterr().out
    assert "tinycnn[resolution=16] litert on fast-host: measuring again (artifact " in out
    records = read_records(env["out"] / "results.jsonl")
    assert len(records) == 2 and records[0].artifact.sha256 != records[1].artifact.sha256
    assert len(list((env["out"] / "runs").glob("*.json"))) == 3  # every run's provenance kept


def test_a_torn_results_file_is_repaired_and_nothing_is_lost(env, capsys):
    args = run_args(env, "--runtime", "litert")
    assert main(args + ["--only", "resolution=16"]) == 0
    results = env["out"] / "results.jsonl"
    good = results.read_text()
    results.write_text(good + good[: len(good) // 3])  # killed mid-line
    assert main(["report", str(env["out"])]) == 0  # a reader leaves the fragment out
    assert main(args + ["--resume"]) == 0
    assert "last line was incomplete" in capsys.readouterr().err
    records = read_records(results)
    assert sorted(r.variant["resolution"] for r in records) == [16, 24]
    assert main(["report", str(env["out"])]) == 0 and len(list(env["out"].glob("results.jsonl.torn-*"))) == 1


# ---------------------------------------------------------------- processes


def _agent_processes(parent: int | None = None) -> list[int]:
    """Agents measuring now (of `parent` only, when given: other test runs may measure at the same time)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if any(b"edge-bench-agent" in part for part in cmdline) and b"measure" in cmdline:
                if parent is None or ppid == parent:
                    found.append(int(proc.name))
    return found


def test_a_killed_run_leaves_no_agent_measuring_and_no_work_folder(env):
    slow = Path(env["target"])
    slow.write_text(FAST_HOST.replace("min_secs = 0.0", "min_secs = 60.0").replace("max_secs = 2.0", "max_secs = 90.0"))
    run = subprocess.Popen(
        run_argv(env, "--runtime", "litert", "--only", "resolution=16"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not _agent_processes(run.pid):
        time.sleep(0.2)
    agents = set(_agent_processes(run.pid))
    assert agents, "the agent never started"
    workdirs = {
        p.parent
        for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("edge-bench-*/.edge-bench-owner")
        if p.read_text().split()[-1] == str(run.pid)
    }
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and agents & set(_agent_processes()):
        time.sleep(0.2)
    assert not agents & set(_agent_processes()), "the agent went on measuring for no one"
    assert workdirs and all(d.exists() for d in workdirs)  # a killed process could not remove its own
    from edge_bench.transport.local import LocalTransport

    with LocalTransport():  # the next session removes what killed runs left
        pass
    assert not any(d.exists() for d in workdirs)


def test_a_second_run_on_the_same_directory_is_refused(env, capsys):
    slow = Path(env["target"])
    slow.write_text(FAST_HOST.replace("min_secs = 0.0", "min_secs = 60.0").replace("max_secs = 2.0", "max_secs = 90.0"))
    first = subprocess.Popen(
        run_argv(env, "--runtime", "litert", "--only", "resolution=16"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = env["out"] / ".edge-bench.lock"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.1)
    try:
        assert (
            main(["run", "--target", env["target"], "--recipe", env["recipe"], "--out", str(env["out"]), "--resume"])
            == 2
        )
        assert f"in use by edge-bench pid {first.pid}" in capsys.readouterr().err
    finally:
        first.kill()
        first.wait()


def test_a_broken_cached_artifact_fails_its_variant_and_the_sweep_goes_on(env):
    args = ["run", "--target", env["target"], "--recipe", env["recipe"], "--runtime", "executorch"]
    assert main(["build", "--recipe", env["recipe"], "--runtime", "executorch"]) == 0
    recipe = load_recipe(env["recipe"])
    small = expand(recipe, [Only.parse("resolution=16")])[0]
    cache = ArtifactCache()
    artifact = cache.lookup(Builder(recipe, cache).artifact_key(small, "executorch"))
    # Broken but consistent: the bytes change, and the manifest says so, so the cache serves it.
    data = bytearray(artifact.path.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 256] = os.urandom(256)
    import hashlib

    broken = dict(artifact.manifest, sha256=hashlib.sha256(bytes(data)).hexdigest(), bytes=len(data))
    saved = artifact.path.read_bytes(), (artifact.path.parent / "manifest.json").read_text()
    artifact.path.write_bytes(bytes(data))
    (artifact.path.parent / "manifest.json").write_text(json.dumps(broken))
    try:
        code = main(args + ["--out", str(env["out"])])
    finally:
        artifact.path.write_bytes(saved[0])
        (artifact.path.parent / "manifest.json").write_text(saved[1])
    records = {r.variant["resolution"]: r for r in read_records(env["out"] / "results.jsonl")}
    assert code == 1 and records[24].ok and not records[16].ok  # the run finished; only that variant failed
    assert records[16].error and "Failed to load" in records[16].error
    assert "eval_error" in records[16].accuracy  # its evaluation failed apart, in its own process


def test_a_runtime_that_aborts_during_evaluation_costs_that_evaluation_only(tmp_path, monkeypatch):
    """A runtime that calls abort() (as ExecuTorch does on some broken programs) inside the child."""
    from edge_bench.accuracy import isolated
    from edge_bench.accuracy.evaluator import Evaluator

    aborts = tmp_path / "python"
    aborts.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'import os; print(\"ready\", flush=True); input(); os.abort()'\n"
    )
    aborts.chmod(0o755)
    monkeypatch.setattr(isolated, "PYTHON", str(aborts))
    recipe = load_recipe(tiny_recipe_file(tmp_path))
    variant = expand(recipe)[0]
    builder = Builder(recipe, ArtifactCache(tmp_path / "cache"))
    memo: dict = {}
    outcome = builder.artifact(variant, "litert", memo)
    result = Evaluator(recipe, tmp_path / "cache").evaluate(
        variant, "litert", outcome.artifact, lambda: builder.model(variant, memo)
    )
    assert result["eval_error"] == "ArtifactCrashed: the runtime process killed by SIGABRT"


def test_a_damaged_agent_bundle_is_rebuilt_and_doctor_says_so(env, capsys):
    from edge_bench.export.cache import cache_root
    from edge_bench.transport.bundle import build_agent_zipapp

    bundle = build_agent_zipapp(cache_root() / "agent")
    bundle.write_bytes(b"PK\x03\x04 not an archive any more")
    assert main(["doctor", "--target", env["target"]]) in (0, 1)
    assert "damaged and rebuilt" in capsys.readouterr().out
    assert main(run_args(env, "--runtime", "litert", "--only", "resolution=16")) == 0


def test_a_write_failure_stops_the_run_with_one_line(env, capsys, monkeypatch):
    from edge_bench.results import store

    calls = []
    real = store.ResultStore._append_line

    def full(self, path, value):
        calls.append(path.name)
        if path.name == "results.jsonl":
            raise store.ResultWriteError(f"cannot write {path}: No space left on device")
        return real(self, path, value)

    monkeypatch.setattr(store.ResultStore, "_append_line", full)
    code = main(
        ["run", "--target", env["target"], "--recipe", env["recipe"], "--runtime", "litert", "--out", str(env["out"])]
    )
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device; the run stopped" in err and "Traceback" not in err
    assert calls.count("results.jsonl") == 1  # nothing after the failure was attempted as if recorded


# ---------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    "argv, message",
    [
        (["build", "--recipe", "smoke", "--jobs", "0"], "--jobs 0"),
        (["run", "--target", "host,host", "--recipe", "smoke"], "host named more than once"),
        (["report", "/tmp", "--budget", "nan"], "--budget nan"),
        (["run", "--target", "host", "--recipe", "smoke", "--budget", "inf"], "--budget inf"),
        (["build", "--recipe", "resnet50-rs", "--only", "resolution=12000"], "needs about"),
        (["analyze", "--recipe", "resnet50-rs", "--only", "resolution=100000"], "needs about"),
        (
            ["run", "--target", "host", "--recipe", "smoke", "--only", "resolution=96", "--only", "resolution=64"],
            "no variant of recipe 'smoke' matches every --only on 'resolution'",
        ),
    ],
)
def test_bad_values_are_one_line_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    [error] = [line for line in err.splitlines() if line.startswith("edge-bench: error:")]  # progress lines aside
    assert message in error and "Traceback" not in err


def test_only_twice_on_one_field_keeps_what_both_allow():
    recipe = load_recipe("smoke")
    [variant] = expand(recipe, [Only.parse("resolution=96,64"), Only.parse("resolution=64")])
    assert variant.fields["resolution"] == 64


def test_target_files_with_impossible_threads_or_not_text_are_refused(tmp_path, capsys):
    too_many = tmp_path / "many.toml"
    too_many.write_text('kind = "local"\nthreads = 100000\n')
    assert main(["doctor", "--target", str(too_many)]) == 2
    assert "threads" in capsys.readouterr().err
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00kind\x00")
    assert main(["doctor", "--target", str(binary)]) == 2
    assert "not a text file" in capsys.readouterr().err
    nan = tmp_path / "nan.toml"
    nan.write_text('kind = "local"\nthreads = 1\n[measure]\nmin_secs = nan\n')
    assert main(["doctor", "--target", str(nan)]) == 2
    assert "measure.min_secs" in capsys.readouterr().err


def test_an_unwritable_out_is_refused_before_anything_is_built(tmp_path, capsys):
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["run", "--target", "host", "--recipe", "smoke", "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err
