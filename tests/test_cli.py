"""The command line end to end on tiny models: run, resume after kill -9, report, and every bad-input path."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_bench.cli import main
from edge_bench.results import read_records
from tests.specs import quick_host_toml
from tests.tinymodels import tiny_recipe_file

FAST_HOST = quick_host_toml("host, short timing for tests", rounds=2)
REPO = Path(__file__).resolve().parent.parent


def run_argv(*flags: str, env: dict | None = None, target: str | None = None, recipe: str | None = None) -> list[str]:
    """`edge-bench run` with `flags`: with `env`, of the tiny recipe on the fast host target into the test's
    results directory; without, of the shipped smoke recipe on this host. `target`, `recipe` replace those."""
    target = target or (env["target"] if env else "host")
    recipe = recipe or (env["recipe"] if env else "smoke")
    return ["run", "--target", target, "--recipe", recipe, *flags, *(["--out", str(env["out"])] if env else [])]


@pytest.fixture()
def env(tmp_path, tiny_cache, monkeypatch):
    monkeypatch.setenv("EDGE_BENCH_CACHE", str(tiny_cache))
    recipe = tiny_recipe_file(tmp_path)
    target = tmp_path / "fast-host.toml"
    target.write_text(FAST_HOST)
    return {"recipe": recipe, "target": str(target), "out": tmp_path / "out"}


def test_run_records_both_runtimes_and_writes_the_report(env, capsys):
    code = main(run_argv("--only", "resolution=16", env=env))
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
    assert main(run_argv(env=env)) == 2
    assert "--resume" in capsys.readouterr().err


def test_failed_variant_is_recorded_and_the_sweep_goes_on(env, monkeypatch, capsys):
    import edge_bench.export.litert as litert

    def broken(*args, **kwargs):
        raise RuntimeError("op not supported: aten.weird")

    monkeypatch.setattr(litert, "export_tflite", broken)
    # The session's builds less the LiteRT ones: ExecuTorch's comes from the cache, LiteRT's is converted.
    cache = shutil.copytree(os.environ["EDGE_BENCH_CACHE"], env["out"].parent / "no-litert-cache")
    for artifact in cache.glob("artifacts/*/*/model.tflite"):
        shutil.rmtree(artifact.parent)
    monkeypatch.setenv("EDGE_BENCH_CACHE", str(cache))
    code = main(run_argv("--only", "resolution=16", env=env))
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
    argv = [sys.executable, "-c", script, *run_argv("--only", "resolution=16", env=env)]  # two measurements
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
    assert len(before) == 1, "the kill must land mid-sweep"
    done = subprocess.run(argv + ["--resume"], capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    after = read_records(results)
    keys = [(r.variant["name"], r.runtime) for r in after if r.ok]
    assert len(keys) == len(set(keys)) == 2
    assert after[: len(before)] == before  # what was recorded is kept as it was


@pytest.mark.parametrize(
    "argv, message",
    [
        (run_argv(recipe="no-such-recipe"), "unknown recipe 'no-such-recipe'"),
        (run_argv(target="no-such-target"), "unknown target 'no-such-target'"),
        (run_argv("--only", "resolution"), "expected KEY=VALUE"),
        (run_argv("--only", "colour=red"), "has no field 'colour'"),
        (run_argv("--runtime", "onnx"), "--runtime onnx"),
        (["run", "--recipe", "smoke"], "--target"),
        (["frobnicate"], "invalid choice"),
        (["report", "/no/such/dir"], "no results.jsonl"),
        # What a new user types: an empty name, a flag that does not exist, a folder for a file.
        (["analyze", "--recipe", ""], "argument --recipe: is empty; give a value (see 'edge-bench analyze --help')"),
        (["analyze", "--recipe", " , "], "--recipe ' , ': name at least one recipe (see 'edge-bench list recipes')"),
        (run_argv(target=" "), "argument --target: is empty; give a value"),
        (run_argv(target=","), "--target: name at least one target"),
        (run_argv("--dataset", ""), "argument --dataset: is empty"),
        (run_argv("--out", ""), "argument --out: is empty"),
        (run_argv("--runtime", ""), "argument --runtime: is empty"),
        (run_argv("--alongside", ""), "argument --alongside: is empty"),
        (["report", ""], "argument DIR: is empty"),
        (run_argv("--only", ""), "--only '': expected KEY=VALUE"),
        (["build", "--recipe", "smoke", "--jobs", "0"], "--jobs 0: give 1 or more parallel conversions"),
        (["run", "--frob"], "unrecognized arguments: --frob (see 'edge-bench run --help')"),
        (["--frob"], "unrecognized arguments: --frob (see 'edge-bench --help')"),
        (["analyze", "--recipe", str(REPO / "recipes")], "recipes is a folder; give a .toml file (or a recipe name)"),
        (run_argv(target=str(REPO / "targets")), "targets is a folder; give a .toml file (or a target name)"),
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
        [str(Path(sys.executable).parent / "edge-bench"), *run_argv(recipe="nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("edge-bench: error: unknown recipe 'nope'")
    assert "Traceback" not in done.stderr


def write_results(folder: Path, name: str) -> Path:
    """A results directory holding one ok measurement on the target board-`name`."""
    from edge_bench.results import ResultStore
    from tests.records import make_record

    ResultStore(folder).append(
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
    return folder


def test_report_merges_directories(env, tmp_path, capsys):
    for name in ("a", "b"):
        write_results(tmp_path / name, name)
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "merged")]) == 0
    text = (tmp_path / "merged" / "report.md").read_text()
    assert "board-a" in text and "board-b" in text


def test_report_of_a_results_file_writes_beside_it(tmp_path, capsys):
    results = write_results(tmp_path / "a", "a") / "results.jsonl"
    assert main(["report", str(results)]) == 0, capsys.readouterr().err
    assert "board-a" in (tmp_path / "a" / "report.md").read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{results}", "--out", "{file}"],
        ["report", "{results}", "--out", "{file}/below"],
        ["analyze", "--recipe", "smoke", "--out", "{file}"],
        run_argv("--out", "{file}"),
        ["baseline", "accept", "{results}", "--history", "{file}/below"],
    ],
)
def test_an_output_folder_that_is_a_file_is_bad_input(argv, tmp_path, capsys):
    results, file = write_results(tmp_path / "results", "a"), tmp_path / "notes.txt"
    file.write_text("a file where a folder was meant")
    assert main([arg.format(results=results, file=file) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"edge-bench: error: {argv[-2]} {file}") and err.count("\n") == 1
    assert "choose a" in err and "internal error" not in err
    assert file.read_text() == "a file where a folder was meant"


@pytest.mark.parametrize("command", ["list", "analyze", "build", "run", "report", "compare", "baseline", "doctor"])
def test_an_unknown_flag_is_named_before_the_missing_required_ones(command, capsys):
    assert main([command, "--frob"]) == 2
    err = capsys.readouterr().err
    assert err == f"edge-bench: error: unrecognized arguments: --frob (see 'edge-bench {command} --help')\n"
    # Without the unknown flag, the missing ones are still named.
    assert main([command]) == 2
    assert "the following arguments are required:" in capsys.readouterr().err


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_a_reader_that_closes_stdout_ends_the_command_quietly(verbose):
    """`edge-bench list recipes | head -1`: the reader goes before the output is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "edge_bench.cli", *verbose, "list", "recipes"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # no reader left: the first line written finds the pipe closed
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141  # 128 + SIGPIPE, as a shell reports a Unix tool whose reader went
    assert err == ""


def test_a_pipe_that_breaks_elsewhere_stays_an_internal_error(monkeypatch, capsys):
    from edge_bench.cli import commands

    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")  # as writing to a child process that died would

    monkeypatch.setattr(commands, "cmd_list", broken)
    assert main(["list", "recipes"]) == 3
    assert "internal error: BrokenPipeError" in capsys.readouterr().err


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
    assert main(run_argv("--runtime", "litert", "--only", "resolution=16", env=env, target=str(board))) == 0
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
