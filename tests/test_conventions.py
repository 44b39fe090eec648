"""The conventions the code keeps, checked where the tests run (CI runs the tests): ruff's lint and
format, mypy on the typed seams, Python 3.10 for the package and the device agent, and the GitHub
workflows against GitHub's workflow schema. Each tool's settings are in pyproject.toml."""

from __future__ import annotations

import ast
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


# ------------------------------------------------------------------ module size and import circles

PACKAGE = REPO / "edge_bench"
MAX_MODULE_LINES = 450  # modules stay under ~400 lines, one job each; this is the hard stop


def test_no_module_is_longer_than_the_limit():
    lines = {path.relative_to(REPO).as_posix(): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    offenders = sorted((n, p) for p, n in lines.items() if n > MAX_MODULE_LINES)
    assert not offenders, f"modules over {MAX_MODULE_LINES} lines (split them by job): " + ", ".join(
        f"{path} ({n} lines)" for n, path in reversed(offenders)
    )


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name, for its __init__.py)."""
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules `name` imports anywhere in its source: at the top, under `if TYPE_CHECKING:`,
    inside functions. `from X import y` counts as importing X.y where that is a module, else X."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def nearest_module(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(m for alias in node.names if (m := nearest_module(alias.name)))
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            if node.level == 0:
                base = node.module or ""
            elif node.module:
                base = f"{base}.{node.module}"
            for alias in node.names:
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else nearest_module(base)
                if target:
                    found.add(target)
    found.discard(name)
    return found


def import_circles(graph: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """Each group of modules that import one another (a strongly connected component of the import
    graph, Tarjan's algorithm), sorted, with its shortest circle through its first module (in import
    order, that module repeated last)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [(component, _shortest_circle(graph, component)) for component in sorted(components)]


def _shortest_circle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """The shortest path from the component's first module back to itself, inside the component."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{component} is not a circle")


def test_import_circles_are_found_whichever_way_they_are_imported(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from . import b  # a module of the package, by name\n")
    (package / "a.py").write_text("def f():\n    from .sub.b import g  # inside a function\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.c\n"  # absolute, for types only
    )
    (package / "c.py").write_text("from .a import f\nfrom . import d\n")  # relative; d is a leaf
    (package / "d.py").write_text("import os\n")
    modules = module_names(package)
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    assert graph["pkg.sub"] == {"pkg.sub.b"} and graph["pkg.c"] == {"pkg.a", "pkg.d"} and graph["pkg.d"] == set()
    circle = ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    assert import_circles(graph) == [(sorted(circle[:3]), circle)]
    graph["pkg.sub.b"].add("pkg.sub")  # a second way round the same group
    assert import_circles(graph) == [(["pkg.a", "pkg.c", "pkg.sub", "pkg.sub.b"], circle)]


def test_no_import_circles_among_the_packages_modules():
    modules = module_names()
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    groups = import_circles(graph)
    assert not groups, "modules that import one another (at the top, for types or inside functions): " + "; ".join(
        f"{', '.join(members)} (e.g. {' -> '.join(circle)})" for members, circle in groups
    )
