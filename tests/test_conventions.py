"""The conventions the code keeps, checked where the tests run (CI runs the tests): ruff's lint and
format, mypy on the typed seams, Python 3.10 for the package and the device agent, and the GitHub
workflows against GitHub's workflow schema. Each tool's settings are in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge_bench.transport.bundle import agent_sources

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOWEST_PYTHON = "3.10"  # Ubuntu 22.04 and JetPack 6; Raspberry Pi OS ships 3.11


def tool(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    executable = BIN / argv[0]
    if not executable.exists():
        pytest.fail(
            f"{argv[0]} is not installed beside {sys.executable}: scripts/setup.sh --test installs the test extra"
        )
    return subprocess.run([str(executable), *argv[1:]], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_ruff_lint():
    done = tool("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format():
    done = tool("ruff", "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_on_the_typed_seams():
    done = tool("mypy")  # files and settings: [tool.mypy]
    assert done.returncode == 0, done.stdout + done.stderr


def vermin(*paths: str | Path) -> subprocess.CompletedProcess:
    return tool(
        "vermin",
        f"--target={LOWEST_PYTHON}-",
        "--violations",
        "--eval-annotations",
        "--no-tips",
        "--no-parse-comments",
        *map(str, paths),
    )


def test_the_package_runs_on_the_lowest_python():
    done = vermin("edge_bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_device_agent_runs_on_the_lowest_python():
    files = [path for _, path in agent_sources()]
    assert any(path.name == "agent.py" for path in files)
    done = vermin(*files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_lowest_python_check_catches_a_newer_module(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("import tomllib\n")  # 3.11+
    done = vermin(newer)
    assert done.returncode != 0 and "tomllib" in done.stdout


def test_workflows_match_githubs_schema():
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert workflows
    done = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, workflows))
    assert done.returncode == 0, done.stdout + done.stderr
