"""Records for tests, written as results.jsonl holds them (version 2 JSON is accepted and upgraded)."""

from __future__ import annotations

from typing import Any

from edge_bench.results import Record, upgrade


def make_record(**known: Any) -> Record:
    """A Record from JSON-shaped keyword arguments: every required key present, null where not given."""
    data: dict[str, Any] = {
        "schema_version": 2,
        "run_id": None,
        "recipe": "r",
        "variant": {"name": "v", "arch": "a", "resolution": 1, "width": 1.0},
        "runtime": "litert",
        "target": "t",
        "status": "failed",
        "error": None,
        "artifact": None,
        "latency_ms": None,
        "first_inference_ms": None,
        "load_ms": None,
        "memory": None,
        "energy": None,
        "analytic": None,
        "env": None,
    }
    data.update(known)
    return Record.from_json(upgrade(data))
