"""What a user sees: edge-bench's own output on the terminal, what the libraries print (from Python, from
native code writing to the file descriptors, from child processes) in edge-bench.log; `-v` shows it all.
A missing extra is named; `--version` says which edge-bench runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import edge_bench
from edge_bench.cli import main

REPO = Path(__file__).resolve().parent.parent

# A command standing in for a run: it prints the way the converter and runtime libraries do, and the
# way edge-bench does, then keeps its log in the results directory it was given.
NOISY_COMMAND = """
import logging, os, subprocess, sys, warnings
from pathlib import Path
sys.path.insert(0, {repo!r})
from edge_bench import cli
from edge_bench.cli import commands
from edge_bench.console import keep_log_in

def noisy(args):
    os.write(2, b"[cpuinfo_utils.cpp:87] Failed to open midr file\\n")        # native code, fd 2
    os.write(1, b"native stdout line\\n")                                      # native code, fd 1
    subprocess.run(["sh", "-c", "echo child process noise >&2"])             # a child inherits the fds
    warnings.warn("a library's deprecation warning")                         # Python warnings
    logging.getLogger("absl").warning("absl notice")                         # a library's logger
    sys.stderr.write("a library writing to sys.stderr\\n")
    logging.getLogger("edge_bench.measure.runner").warning("edge-bench's own warning")
    subprocess.run(["sh", "-c", "echo 'WARNING edge_bench.build.parallel: from a build worker' >&2"])
    print("edge-bench's own output")
    if {out!r}:
        keep_log_in(Path({out!r}))
    os.write(2, b"after the results directory is known\\n")
    return 0

commands.cmd_list = noisy  # the parser takes the command from there when main builds it
sys.exit(cli.main(sys.argv[1:]))
"""
NOISE = [
    "Failed to open midr file",
    "native stdout line",
    "child process noise",
    "deprecation warning",
    "absl notice",
    "writing to sys.stderr",
    "after the results directory is known",
]


def run_noisy(tmp_path: Path, *flags: str, results_dir: bool = True) -> subprocess.CompletedProcess:
    script = tmp_path / "noisy.py"
    script.write_text(NOISY_COMMAND.format(repo=str(REPO), out=str(tmp_path / "out") if results_dir else ""))
    return subprocess.run(
        [sys.executable, str(script), *flags, "list", "recipes"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "EDGE_BENCH_CACHE": str(tmp_path / "cache")},
    )


def test_by_default_only_edge_benchs_output_shows_and_the_rest_is_logged(tmp_path):
    done = run_noisy(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "edge-bench's own output\n"
    assert done.stderr.splitlines() == [
        "WARNING edge_bench.measure.runner: edge-bench's own warning",
        "WARNING edge_bench.build.parallel: from a build worker",  # repeated from the log at the end
    ]
    log = (tmp_path / "out" / "edge-bench.log").read_text()
    assert log.startswith("== ") and "edge-bench list recipes" in log.splitlines()[0]
    for noise in NOISE:
        assert noise in log, noise
    assert "edge-bench's own output" not in log


def test_the_log_is_appended_to_on_each_run(tmp_path):
    run_noisy(tmp_path)
    run_noisy(tmp_path)
    log = (tmp_path / "out" / "edge-bench.log").read_text()
    assert log.count("\n== ") + log.startswith("== ") == 2
    assert log.count("Failed to open midr file") == 2


def test_verbose_shows_everything_and_logs_nothing(tmp_path):
    done = run_noisy(tmp_path, "-v")
    assert done.returncode == 0
    for noise in NOISE:
        assert noise in done.stdout + done.stderr, noise
    assert not (tmp_path / "out" / "edge-bench.log").exists()


def test_a_command_without_a_results_directory_logs_in_the_cache(tmp_path):
    done = run_noisy(tmp_path, results_dir=False)
    assert done.returncode == 0 and done.stdout == "edge-bench's own output\n"
    log = (tmp_path / "cache" / "logs" / "list.log").read_text()
    assert all(noise in log for noise in NOISE)


def test_a_missing_extra_is_named_with_exit_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` fails as where it is not installed
    assert main(["analyze", "--recipe", "smoke"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edge-bench: error: 'analyze' needs pandas, which the host extra installs")
    assert 'pip install "edge-bench[host]"' in err and err.count("\n") == 1


def test_a_missing_module_no_extra_provides_stays_an_internal_error(monkeypatch, capsys):
    from edge_bench.cli import commands

    def broken(args):
        import no_such_module_anywhere  # noqa: F401

    monkeypatch.setattr(commands, "cmd_analyze", broken)
    assert main(["analyze", "--recipe", "smoke"]) == 3
    assert "internal error: ModuleNotFoundError" in capsys.readouterr().err


def test_version_names_the_release_and_where_it_is_imported_from(capsys):
    try:
        main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"edge-bench {edge_bench.__version__} from {Path(edge_bench.__file__).resolve().parent}")
