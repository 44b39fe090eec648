"""The agent's measurement spec the tests send: one LiteRT model, one thread, three quick runs."""

from __future__ import annotations

from typing import Any


def agent_spec(artifact: str, **overrides: Any) -> dict[str, Any]:
    """A short measurement of `artifact` on the device, samples left out of the result; `overrides` win."""
    spec = {
        "artifact": artifact,
        "runtime": "litert",
        "threads": 1,
        "warmup_runs": 1,
        "warmup_secs": 0.0,
        "min_runs": 3,
        "min_secs": 0.0,
        "max_secs": 2.0,
        "keep_samples": False,
    }
    return {**spec, **overrides}
