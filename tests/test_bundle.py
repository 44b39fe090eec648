"""The agent zipapp: only the device package, cached by content, runnable where the repo is not importable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from edge_bench.device.agent import RESULT_MARKER
from edge_bench.transport.bundle import PACKAGE_ROOT, build_agent_zipapp


def _run_isolated(pyz: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # -I: no PYTHONPATH, no user site, no script dir on sys.path: the repo cannot be imported.
    return subprocess.run([sys.executable, "-I", str(pyz), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_holds_the_device_package_and_nothing_else(tmp_path):
    pyz = build_agent_zipapp(tmp_path)
    names = {n for n in zipfile.ZipFile(pyz).namelist() if not n.endswith("/")}  # files, not folder entries
    expected = {"__main__.py", "edge_bench/__init__.py"} | {
        f"edge_bench/device/{p.relative_to(PACKAGE_ROOT / 'device').as_posix()}"
        for p in (PACKAGE_ROOT / "device").rglob("*")
        if p.suffix in (".py", ".cpp") and "__pycache__" not in p.parts
    }
    assert names == expected
    assert "edge_bench/device/agent.py" in names and "edge_bench/device/power/__init__.py" in names
    assert "edge_bench/device/native/et_runner.cpp" in names  # the agent builds the native runner from it
    assert not any(n.startswith(("edge_bench/transport", "edge_bench/config")) for n in names)


def test_cached_by_content_hash(tmp_path):
    package = tmp_path / "src" / "edge_bench"
    shutil.copytree(PACKAGE_ROOT / "device", package / "device", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(PACKAGE_ROOT / "__init__.py", package / "__init__.py")

    first = build_agent_zipapp(tmp_path / "out", package_root=package)
    mtime = first.stat().st_mtime_ns
    assert build_agent_zipapp(tmp_path / "out", package_root=package) == first
    assert first.stat().st_mtime_ns == mtime  # not rebuilt
    assert first.name.startswith("edge-bench-agent-") and first.suffix == ".pyz"

    (package / "device" / "timing.py").write_text((package / "device" / "timing.py").read_text() + "\n# changed\n")
    second = build_agent_zipapp(tmp_path / "out", package_root=package)
    assert second != first and second.exists() and first.exists()

    runner_source = package / "device" / "native" / "et_runner.cpp"
    runner_source.write_text(runner_source.read_text() + "\n// changed\n")
    third = build_agent_zipapp(tmp_path / "out", package_root=package)
    assert third not in (first, second)  # the runner's source is part of the hash
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.endswith(".part")] == []


def test_runs_isolated_from_the_repo(tmp_path):
    pyz = build_agent_zipapp(tmp_path / "bundle")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    done = _run_isolated(pyz, fresh, "sysinfo")
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stdout.splitlines() if x.startswith(RESULT_MARKER)]
    info = json.loads(line[len(RESULT_MARKER) :])
    assert info["env"]["python"] == ".".join(map(str, sys.version_info[:3]))

    doctor = _run_isolated(pyz, fresh, "doctor", "--spec", json.dumps({"runtimes": [], "workdir": str(fresh)}))
    assert doctor.returncode == 0, doctor.stderr
    checks = json.loads(doctor.stdout.split(RESULT_MARKER, 1)[1])["checks"]
    assert [c["name"] for c in checks] == ["python", "numpy", "governor", "meter", "disk", "ram", "clocksource"]
    assert sorted(p.name for p in fresh.iterdir()) == []  # the agent wrote nothing where it ran


def test_exit_status_reaches_the_caller(tmp_path):
    pyz = build_agent_zipapp(tmp_path)
    done = _run_isolated(pyz, tmp_path, "no-such-command")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
