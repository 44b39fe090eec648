"""The device agent as one zipapp: `python edge-bench-agent-<hash>.pyz measure --spec ...`.

It holds `edge_bench/__init__.py` and `edge_bench/device/**` only (its Python files and the native
runner's C++ source, which the agent compiles on the board), so a board needs Python, numpy and a
runtime, never the host's converter stack, and the agent it runs is always the host's own version.
The file name carries the content hash of those files: a changed agent is a new file, an unchanged
one is built once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipapp
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # edge_bench/
AGENT_SUFFIXES = (".py", ".cpp")  # the agent's modules, and the native runner's source it builds
# zipapp's own `main=` drops the exit status; the agent's must reach the host.
MAIN = "import sys\n\nfrom edge_bench.device.agent import main\n\nsys.exit(main())\n"


def agent_sources(package_root: Path = PACKAGE_ROOT) -> list[tuple[str, Path]]:
    """(path inside the archive, file) for every file the agent needs, in a stable order."""
    files = [("edge_bench/__init__.py", package_root / "__init__.py")]
    device = package_root / "device"
    for path in sorted(device.rglob("*")):
        if path.suffix in AGENT_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
            files.append((f"edge_bench/device/{path.relative_to(device).as_posix()}", path))
    return files


def content_hash(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256(MAIN.encode())
    for name, path in files:
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def verify(archive: Path, files: list[tuple[str, Path]]) -> str | None:
    """Why `archive` is not exactly these files (None when it is): a corrupted or tampered cache entry."""
    import zipfile

    try:
        with zipfile.ZipFile(archive) as z:
            names = {name for name in z.namelist() if not name.endswith("/")}  # zipapp lists folders too
            expected = {name for name, _ in files} | {"__main__.py"}
            if names != expected:
                return f"holds {len(names)} files, {len(expected)} expected"
            if z.read("__main__.py").decode() != MAIN:
                return "its __main__.py differs"
            for name, path in files:
                if z.read(name) != path.read_bytes():
                    return f"{name} differs from this edge-bench's"
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as e:
        return f"unreadable ({type(e).__name__}: {e})"
    return None


def build_agent_zipapp(dest_dir: Path, package_root: Path = PACKAGE_ROOT, repaired: list[str] | None = None) -> Path:
    """The agent zipapp in `dest_dir`, built when no archive of the same content is there, and rebuilt when the
    one there does not hold exactly the agent's files (a damaged cache). `repaired` collects why one was rebuilt."""
    files = agent_sources(package_root)
    dest_dir = Path(dest_dir)
    target = dest_dir / f"edge-bench-agent-{content_hash(files)}.pyz"
    if target.is_file():
        problem = verify(target, files)
        if problem is None:
            return target
        if repaired is not None:
            repaired.append(f"{target} {problem}: rebuilt")
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edge-bench-agent-") as staging:
        for name, path in files:
            (Path(staging) / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(staging) / name)
        (Path(staging) / "__main__.py").write_text(MAIN)
        partial = dest_dir / f".{target.name}.{os.getpid()}.part"
        zipapp.create_archive(staging, partial, compressed=True)
        partial.replace(target)  # atomic: a concurrent builder never sees half an archive
    return target
