"""The record schema's version, and the upgrades that bring an older record to it, one step at a time."""

from __future__ import annotations

from typing import Any, Callable

SCHEMA_VERSION = 3


def _v1_to_v2(record: dict[str, Any]) -> dict[str, Any]:
    # v1 kept `peak_rss_bytes` at the top level and had no planned memory.
    memory = record.get("memory") or {}
    if "peak_rss_bytes" in record:
        memory.setdefault("peak_rss_bytes", record.pop("peak_rss_bytes"))
    memory.setdefault("planned_bytes", None)
    record["memory"] = memory
    return record


def _v2_to_v3(record: dict[str, Any]) -> dict[str, Any]:
    # v2 measured in one process: its samples become one round, without an interval. The runtime's
    # planned memory lived in both `memory` and `analytic`; it is the artifact's, so `analytic` keeps it.
    latency = record.get("latency_ms")
    if isinstance(latency, dict):
        samples = latency.pop("samples", None) or []
        latency["rounds"] = [{"index": 0, "samples": samples, "median": latency.get("median")}] if samples else []
        latency.setdefault("precision", None)
    memory = record.get("memory")
    if isinstance(memory, dict) and "planned_bytes" in memory:
        planned = memory.pop("planned_bytes")
        analytic = record.get("analytic")
        if isinstance(analytic, dict):
            analytic.setdefault("planned_bytes", planned)
    return record


UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


def upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """`record` at SCHEMA_VERSION; ValueError for a version newer than this edge-bench reads."""
    version = record.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"schema_version {version!r} is not a version number")
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"schema_version {version} is newer than this edge-bench reads ({SCHEMA_VERSION}): upgrade edge-bench"
        )
    while version < SCHEMA_VERSION:
        record = UPGRADES[version](record)
        version += 1
        record["schema_version"] = version
    return record
