"""What the tests measure with: the agent's spec (one LiteRT model, one thread, three quick runs) and
the host target's TOML with short timing."""

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


def quick_host_toml(description: str, rounds: int, native: bool = False) -> str:
    """The host as a target of one thread and short timing, `rounds` rounds; `native`: ExecuTorch through
    the native runner (what `--profile-ops` needs for ExecuTorch)."""
    runtimes = '[runtimes]\nexecutorch = "native"\n' if native else ""
    return f"""
description = "{description}"
kind = "local"
threads = 1
{runtimes}[measure]
warmup_runs = 1
warmup_secs = 0.0
min_runs = 5
min_secs = 0.0
max_secs = 2.0
rounds_min = {rounds}
rounds_max = {rounds}
precision = 0.5
retakes = 0
"""
