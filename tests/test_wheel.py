"""A built wheel is a working edge-bench, away from the checkout.

The wheel is built from the package's own files and installed with --no-deps into fresh virtual
environments: one that reuses this environment's installed dependencies (torch, the runtimes,
pandas: the point is the package's files, not downloading 7 GB again), one with numpy only (a user
who did not install the host extra). Every command runs from a folder that is not the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy
import pytest

REPO = Path(__file__).resolve().parent.parent
SITE_PACKAGES = Path(numpy.__file__).resolve().parent.parent  # where this environment's dependencies are


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The files a build reads, copied as they are in the checkout (links kept)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, source / name)
    for folder in ("edge_bench", "recipes", "targets"):  # the package's catalog links to the top-level folders
        shutil.copytree(REPO / folder, source / folder, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return source


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = dist.glob("edge_bench-*.whl")
    return built


def make_venv(folder: Path, wheel: Path, reuse_dependencies: bool) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    if reuse_dependencies:  # after the venv's own site-packages: the wheel's edge_bench comes first
        (site / "_reused_dependencies.pth").write_text(f"{SITE_PACKAGES}\n")
    else:
        for name in ("numpy", "numpy.libs"):
            if (SITE_PACKAGES / name).exists():
                (site / name).symlink_to(SITE_PACKAGES / name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--no-compile",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},  # a checkout on it passes for installed
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (folder / "bin" / "edge-bench").is_file(), done.stdout
    return folder


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """A working folder outside the checkout, with a home of its own (no user config folder)."""
    folder = tmp_path_factory.mktemp("elsewhere")
    (folder / "home").mkdir()
    return folder


def edge_bench(venv: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(cwd / "home"),
        "EDGE_BENCH_CACHE": str(cwd / "cache"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    return subprocess.run(["edge-bench", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def full_venv(wheel, tmp_path_factory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv-host"), wheel, reuse_dependencies=True)


@pytest.fixture(scope="module")
def bare_venv(wheel, tmp_path_factory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv-bare"), wheel, reuse_dependencies=False)


def test_the_wheel_carries_the_catalog_and_the_console_script(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for kind in ("recipes", "targets"):
        shipped = sorted(p.name for p in (REPO / kind).glob("*.toml"))
        assert shipped and sorted(Path(n).name for n in names if n.startswith(f"edge_bench/catalog/{kind}/")) == shipped
    assert "edge_bench/py.typed" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "edge-bench = edge_bench.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_sdist_carries_the_catalog_as_files(source, tmp_path):
    """A source archive holds the shipped recipes and targets as plain files where the package looks for them."""
    built = subprocess.run(
        [sys.executable, "-c", f"from setuptools import build_meta; print(build_meta.build_sdist({str(tmp_path)!r}))"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    with tarfile.open(tmp_path / built.stdout.strip().splitlines()[-1]) as sdist:
        members = {Path(m.name).relative_to(Path(m.name).parts[0]).as_posix(): m for m in sdist.getmembers()}
    for kind in ("recipes", "targets"):
        for path in (REPO / kind).glob("*.toml"):
            member = members.get(f"edge_bench/catalog/{kind}/{path.name}")
            assert member is not None and member.isfile(), f"{kind}/{path.name} missing from the sdist"


def test_installed_wheel_runs_from_another_folder(full_venv, elsewhere):
    version = edge_bench(full_venv, elsewhere, "--version")
    assert version.returncode == 0, version.stderr
    assert f"from {full_venv}" in version.stdout  # the wheel's copy, not the checkout's

    for kind in ("recipes", "targets"):  # every file of the checkout's top-level folder, from the wheel's copy
        listed = edge_bench(full_venv, elsewhere, "list", kind)
        assert listed.returncode == 0, listed.stderr
        rows = {line.split()[0]: line.split()[1] for line in listed.stdout.split("\n\n")[0].splitlines()}
        assert rows == {p.stem: "bundled" for p in (REPO / kind).glob("*.toml")}
        bundled = next(line for line in listed.stdout.splitlines() if line.strip().startswith("bundled"))
        assert str(full_venv) in bundled

    help_text = edge_bench(full_venv, elsewhere, "analyze", "--help")
    assert help_text.returncode == 0 and "--recipe" in help_text.stdout

    analysis = edge_bench(full_venv, elsewhere, "analyze", "--recipe", "smoke")
    assert analysis.returncode == 0, analysis.stderr
    assert "mobilenet_v2[resolution=96]" in analysis.stdout and "mobilenet_v2[resolution=64]" in analysis.stdout

    unknown = edge_bench(full_venv, elsewhere, "run", "--target", "host", "--recipe", "no-such-recipe")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("edge-bench: error: unknown recipe 'no-such-recipe' (known: ")
    assert "smoke" in unknown.stderr and unknown.stderr.count("\n") == 1


def test_a_users_own_recipe_in_the_current_folder_is_found(full_venv, elsewhere):
    (elsewhere / "recipes").mkdir(exist_ok=True)
    shutil.copyfile(REPO / "recipes" / "smoke.toml", elsewhere / "recipes" / "mine.toml")
    listed = edge_bench(full_venv, elsewhere, "list", "recipes")
    assert listed.returncode == 0
    assert next(line for line in listed.stdout.splitlines() if line.startswith("mine")).split()[1] == "cwd"


def test_without_the_host_extra_a_command_names_it(bare_venv, elsewhere):
    listed = edge_bench(bare_venv, elsewhere, "list", "targets")  # the catalog needs numpy only
    assert listed.returncode == 0, listed.stderr
    missing = edge_bench(bare_venv, elsewhere, "analyze", "--recipe", "smoke")
    assert missing.returncode == 2, missing.stderr
    assert missing.stderr.startswith("edge-bench: error: 'analyze' needs ")
    assert 'pip install "edge-bench[host]"' in missing.stderr and missing.stderr.count("\n") == 1
    assert "Traceback" not in missing.stderr
