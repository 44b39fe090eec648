"""Result records: a versioned schema, an append-only JSONL store, and a flat table view.

Every record is one JSON object on one line of results.jsonl, written and flushed as soon as it is
measured. Files written by older versions stay readable: `upgrade` brings any record to the current
schema, one version step at a time.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .errors import InputError

SCHEMA_VERSION = 2
RESULTS_FILE = "results.jsonl"

LATENCY_KEYS = ("median", "mean", "p90", "p99", "std", "min", "max", "n")
MEMORY_KEYS = ("peak_rss_bytes", "baseline_rss_bytes", "model_rss_bytes", "planned_bytes")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def empty_record(**known: Any) -> dict[str, Any]:
    """A record with every required key present (null where nothing was measured)."""
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": None,
        "recipe": None,
        "variant": None,
        "runtime": None,
        "target": None,
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
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    record.update(known)
    return record


# ---------------------------------------------------------------- upgrades


def _v1_to_v2(record: dict[str, Any]) -> dict[str, Any]:
    # v1 kept `peak_rss_bytes` at the top level and had no planned memory.
    memory = record.get("memory") or {}
    if "peak_rss_bytes" in record:
        memory.setdefault("peak_rss_bytes", record.pop("peak_rss_bytes"))
    memory.setdefault("planned_bytes", None)
    record["memory"] = memory
    return record


UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def upgrade(record: dict[str, Any]) -> dict[str, Any]:
    version = record.get("schema_version", 1)
    if version > SCHEMA_VERSION:
        raise ValueError(f"schema_version {version} is newer than this edge-bench reads ({SCHEMA_VERSION}): upgrade edge-bench")
    while version < SCHEMA_VERSION:
        record = UPGRADES[version](record)
        version += 1
        record["schema_version"] = version
    return record


# ---------------------------------------------------------------- store


class ResultStore:
    """Append-only JSONL: one line per measurement, flushed and fsynced as it is written."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / RESULTS_FILE

    def append(self, record: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, default=str, allow_nan=False) + "\n"
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(read_records(self.path))

    def done_keys(self) -> set[tuple[str, str, str, str]]:
        """(recipe, variant, runtime, target) of the measurements already `ok`: what --resume skips."""
        return {measurement_key(r) for r in self if r.get("status") == "ok"}


def measurement_key(record: dict[str, Any]) -> tuple[str, str, str, str]:
    return (record["recipe"], record["variant"]["name"], record["runtime"], record["target"])


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every complete record of a results file. A torn last line (a killed writer) is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(upgrade(json.loads(line)))
        except json.JSONDecodeError:
            if number == len(lines):  # the writer died mid-line: everything before it is intact
                continue
            raise InputError(f"{path}:{number}: not a JSON record") from None
        except ValueError as e:
            raise InputError(f"{path}:{number}: {e}") from None
    return records


def load_dirs(directories: Iterable[Path]) -> list[dict[str, Any]]:
    records = []
    for d in directories:
        d = Path(d)
        path = d if d.is_file() else d / RESULTS_FILE
        if not path.exists():
            raise InputError(f"{d}: no {RESULTS_FILE} here (give a directory written by 'edge-bench run')")
        records.extend(read_records(path))
    return records


# ---------------------------------------------------------------- table view


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """One flat row: variant fields, latency_*, memory, energy, analytic and a few env columns."""
    row: dict[str, Any] = {k: record.get(k) for k in ("run_id", "recipe", "runtime", "target", "status", "error")}
    variant = record.get("variant") or {}
    row["variant"] = variant.get("name")
    for key, value in variant.items():
        if key != "name":
            row[key] = value
    latency = record.get("latency_ms") or {}
    for key in LATENCY_KEYS:
        row[f"latency_{key}_ms" if key != "n" else "latency_n"] = latency.get(key)
    row["first_inference_ms"] = record.get("first_inference_ms")
    row["load_ms"] = record.get("load_ms")
    memory = record.get("memory") or {}
    for key in MEMORY_KEYS:
        row[key] = memory.get(key)
    energy = record.get("energy") or {}
    row["energy_mj"] = energy.get("mj_per_inference")
    row["avg_power_w"] = energy.get("avg_power_w")
    row["idle_power_w"] = energy.get("idle_power_w")
    row["meter"] = energy.get("meter")
    analytic = record.get("analytic") or {}
    for key, value in analytic.items():
        if not isinstance(value, (dict, list)):
            row[key] = value
    for key, value in (record.get("accuracy") or {}).items():
        if not isinstance(value, (dict, list)):
            row[key] = value
    mcu = record.get("mcu")
    if mcu:
        fit = mcu.get("fit") or {}
        row["mcu_fits"] = fit.get("fits")
        for budget in ("flash", "sram"):
            part = fit.get(budget) or {}
            row[f"mcu_{budget}_need_bytes"] = part.get("need_bytes")
            row[f"mcu_{budget}_margin_bytes"] = part.get("margin_bytes")
        row["mcu_latency_estimate_ms"] = (mcu.get("latency_estimate") or {}).get("latency_ms")
    artifact = record.get("artifact") or {}
    row["artifact_bytes"] = artifact.get("bytes")
    env = record.get("env") or {}
    row["cpu_model"] = env.get("cpu_model")
    row["threads"] = env.get("threads")
    row["throttle_changed"] = record.get("throttle_changed")
    row["emulated"] = bool(record.get("emulated"))
    return row


def to_dataframe(records: Iterable[dict[str, Any]]):
    import pandas as pd

    return pd.DataFrame([flatten(r) for r in records])
