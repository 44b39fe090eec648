"""What produced a results directory, kept beside the results: `runs/<run_id>.json` per run.

The fully resolved recipe and targets (their files' text too), the command line, edge-bench's version
and builder source hash, the tool versions on the host and what each device said about itself, so a
report can be traced back and reproduced. Written when the run starts (a killed run keeps it) and
again when it ends.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from pathlib import Path
from typing import Any, Sequence

from . import __version__

RUNS_DIR = "runs"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict) or type(value).__name__ == "mappingproxy":
        return {str(k): _plain(v) for k, v in dict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _text(path: Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_provenance(out: Path, runner, argv: Sequence[str], finished: bool = False) -> Path:
    from .build.identity import builder_hash
    from .export.cache import tool_versions

    path = Path(out) / RUNS_DIR / f"{runner.run_id}.json"
    previous = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text())
        except ValueError:
            previous = {}
    data = {
        "run_id": runner.run_id,
        "command": list(argv),
        "started_at": previous.get("started_at") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z") if finished else None,
        "edge_bench": __version__,
        "builder_source_sha256": builder_hash(),
        "host": {
            "machine": platform.machine(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "tools": tool_versions(),
        },
        "resume": runner.resume,
        "recipe": {**_plain(runner.recipe), "file_text": _text(runner.recipe.path)},
        "variants": [v.record() for v in runner.variants],
        "runtimes": list(runner.runtimes),
        "targets": [{**_plain(t), "file_text": _text(t.path)} for t in runner.targets],
        "devices": runner.devices,
        "summary": (
            {
                "ok": runner.summary.ok,
                "failed": runner.summary.failed,
                "skipped": runner.summary.skipped,
                "not_precise": runner.summary.imprecise,
            }
            if finished
            else None
        ),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(data, indent=2, default=str))
    partial.replace(path)
    return path
