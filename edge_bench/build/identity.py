"""What decides a cached result, as hashes: edge-bench's own source where it shapes the result, and the
calibration images by their content.

A cache key that holds the variant's fields, the weights and the tool versions but not the code that
builds the model serves a stale artifact after a builder changes. So each cache keys on the hash of the
source files that decide its content (asv versions benchmarks by their source the same way), computed
once per process.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # edge_bench/

# The source that decides each cache's content (paths relative to the package, folders whole).
ARTIFACT_SOURCES = ("models", "export", "build/builder.py", "build/random_init.py", "accuracy/datasets")
ANALYTIC_SOURCES = ("models", "analytic", "build/builder.py", "build/random_init.py")
EVALUATION_SOURCES = ("models", "accuracy", "build/random_init.py", "device/runtimes.py")


@lru_cache(maxsize=None)
def source_hash(parts: tuple[str, ...]) -> str:
    """SHA-256 of the named files and folders of edge_bench (every .py below a folder), names included."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for part in parts:
        path = PACKAGE / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    for path in sorted(set(files)):
        if "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        digest.update(f"{path.relative_to(PACKAGE).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def builder_hash() -> str:
    """The hash of everything edge-bench contributes to an artifact's bytes."""
    return source_hash(ARTIFACT_SOURCES)


def files_hash(paths: list[Path], root: Path) -> str:
    """SHA-256 of files by their content and their names relative to `root`."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
