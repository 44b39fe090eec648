"""Content-addressed artifact cache: one folder per build key, the artifact and a manifest beside it.

The key is the SHA-256 of everything that decides the artifact's bytes: the variant's fields, the
weights really loaded, the quantization settings, the runtime, and the versions of the tools (and of
edge-bench's builders). Change any of them and the variant is rebuilt; change nothing and it is reused.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__

TOOLS = ("torch", "torchvision", "executorch", "litert-torch", "ai-edge-litert", "torchao")
SUFFIX = {"executorch": ".pte", "litert": ".tflite", "cortex-m": ".cortex-m.pte"}
MANIFEST = "manifest.json"
# Which operators edge-bench's quantizers take to INT8 (export/annotate.py): part of every key, so a
# change to those rules rebuilds the artifacts instead of reading ones quantized under the old rules.
INT8_ANNOTATION = "2: every operator the runtime runs in INT8; LiteRT layer norms decomposed"


def cache_root() -> Path:
    return Path(os.environ.get("EDGE_BENCH_CACHE") or Path.home() / ".cache" / "edge-bench")


def tool_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"edge-bench": __version__, "int8-annotation": INT8_ANNOTATION}
    for dist in TOOLS:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_key(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Artifact:
    path: Path
    runtime: str
    sha256: str
    bytes: int
    key: str
    manifest: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "bytes": self.bytes, "key": self.key, "path": str(self.path)}


class ArtifactCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else cache_root()

    def _dir(self, key: str) -> Path:
        return self.root / "artifacts" / key[:2] / key

    def lookup(self, key: str) -> Artifact | None:
        """The cached artifact, if its manifest is complete and the file still has the recorded hash."""
        folder = self._dir(key)
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
            path = folder / manifest["file"]
            if path.stat().st_size != manifest["bytes"] or sha256_file(path) != manifest["sha256"]:
                return None
        except (OSError, ValueError, KeyError):
            return None
        return Artifact(path, manifest["runtime"], manifest["sha256"], manifest["bytes"], key, manifest)

    def store(self, key: str, runtime: str, data: bytes, manifest: dict[str, Any]) -> Artifact:
        """Write artifact then manifest, each atomically: a crash leaves no manifest for a partial file."""
        folder = self._dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        name = "model" + SUFFIX[runtime]
        _atomic_write(folder / name, data)
        digest = hashlib.sha256(data).hexdigest()
        manifest = {**manifest, "file": name, "runtime": runtime, "sha256": digest, "bytes": len(data), "key": key}
        _atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True, default=str).encode())
        return Artifact(folder / name, runtime, digest, len(data), key, manifest)

    def load_json(self, kind: str, key: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.root / kind / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    def store_json(self, kind: str, key: str, value: dict[str, Any]) -> None:
        (self.root / kind).mkdir(parents=True, exist_ok=True)
        _atomic_write(self.root / kind / f"{key}.json", json.dumps(value, sort_keys=True, default=str).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
