"""`run --profile-ops`: the per-operator profiling pass asked of each measurement's first round, and
the tables made from it: `OUT/operators.csv` and `.parquet` (one row per runtime x variant x
operator) and `OUT/operators-summary.csv` (per measurement: the sum of operator times against the
profiled end-to-end time, and the gap).

The device returns the profiler's output in the round's result (`operator_profile`, kept in
`rounds.jsonl`): LiteRT's events, or ExecuTorch's ETDump, read here with ExecuTorch's Inspector. Times
are medians over the profiled runs. End-to-end is the runtime's own top-level event in the same runs
(ExecuTorch's `Method::execute`, LiteRT's `Invoke`), so the gap is what runs between the operators
(and the profiler's own cost), not a difference between processes. Profiled runs never enter the
latency estimate: they run in a process of their own after the round.
"""

from __future__ import annotations

import base64
import statistics
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..results import Record
from ..results.store import ResultStore

PROFILE_RUNS = 10
ROWS_FILE = "operators.csv"
SUMMARY_FILE = "operators-summary.csv"
CONTAINERS_ET = {"Method::execute", "DELEGATE_CALL", "Method::init", "Program::load_method"}
E2E_ET = "Method::execute"
E2E_LITERT = "Invoke"
OPERATOR_EVENTS = {2, 4, 8}  # LiteRT (tflite::Profiler::EventType): operator, delegate operator, profiled
DELEGATE_PROFILED = 8


def _is_delegate_node(tag: str, kind: int) -> bool:
    """LiteRT's event for a delegate's node as a whole (e.g. "TfLiteXNNPackDelegate")."""
    return kind != DELEGATE_PROFILED and "delegate" in tag.lower()


class ProfileUnreadable(Exception):
    """The profiler's output is missing or not what it should be: one line."""


def first_round_profiler(runs: int = PROFILE_RUNS) -> Callable[[Any], dict[str, Any]]:
    """The runner's `spec_extra`: the profiling pass on each measurement's first round only (the run's
    own jobs; twins measured alongside are not profiled)."""
    seen: set[int] = set()

    def extra(job) -> dict[str, Any]:
        if getattr(job, "side", "") or id(job) in seen:
            return {}
        seen.add(id(job))
        return {"profile_ops": {"runs": runs}}

    return extra


# ---------------------------------------------------------------- the profiler's output, per run


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def litert_runs(profile: dict[str, Any]) -> tuple[list[str], list[list[float]], list[float]]:
    """(operator names in order, per operator its ms in each run, end-to-end ms per run) of LiteRT's events."""
    names: list[str] | None = None
    times: list[list[float]] = []
    e2e: list[float] = []
    for n, run in enumerate(profile.get("events") or []):
        events = [e for e in run if e[1] in OPERATOR_EVENTS]
        if any(kind == DELEGATE_PROFILED for _, kind, _ in events):
            # The delegate's own node spans the operators it reports inside: counting both counts twice.
            events = [e for e in events if not _is_delegate_node(e[0], e[1])]
        ops = [(tag, us / 1000) for tag, _, us in events]
        invoke = [us / 1000 for tag, kind, us in run if kind == 1 and tag == E2E_LITERT]
        if not ops or not invoke:
            raise ProfileUnreadable(f"LiteRT's profiler recorded no operator or no {E2E_LITERT} event in run {n + 1}")
        if names is None:
            names, times = [t for t, _ in ops], [[] for _ in ops]
        if [t for t, _ in ops] != names:
            raise ProfileUnreadable("LiteRT's profiled runs did not run the same operators")
        for column, (_, ms) in zip(times, ops):
            column.append(ms)
        e2e.append(invoke[0])
    if names is None:
        raise ProfileUnreadable("LiteRT's profiler returned no runs")
    return names, times, e2e


def executorch_runs(profile: dict[str, Any]) -> tuple[list[str], list[list[float]], list[float]]:
    """The same from ExecuTorch's ETDump (the runs before the profiled ones dropped)."""
    try:
        data = base64.b64decode(profile.get("etdump_b64") or "", validate=True)
    except ValueError:
        raise ProfileUnreadable("the ETDump is not valid base64") from None
    if not data:
        raise ProfileUnreadable("the ETDump is empty")
    skip, runs = int(profile.get("runs_before") or 0), int(profile.get("runs") or 0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "profile.etdp"
        path.write_bytes(data)
        try:
            from executorch.devtools import Inspector
        except ImportError as e:
            raise ProfileUnreadable(
                "reading an ETDump needs ExecuTorch's devtools (and torch) on this machine: "
                + (str(e).splitlines() or [type(e).__name__])[0]
            ) from None
        try:
            inspector = Inspector(etdump_path=str(path))
        except Exception as e:  # noqa: BLE001 - a corrupt dump fails in the reader's own way
            raise ProfileUnreadable(f"ExecuTorch's Inspector could not read the ETDump: {type(e).__name__}") from None
    names: list[str] = []
    times: list[list[float]] = []
    e2e: list[float] = []
    # "Execute" holds the inferences; the other blocks the program's loading.
    blocks = [b for b in inspector.event_blocks if b.name == "Execute"] or inspector.event_blocks
    for block in blocks:
        for event in block.events:
            raw = list(event.perf_data.raw) if event.perf_data is not None else []
            if event.name in CONTAINERS_ET or not raw:
                if event.name == E2E_ET and len(raw) >= skip + runs:
                    e2e = raw[skip : skip + runs]
                continue
            if len(raw) < skip + runs:
                raise ProfileUnreadable(f"the ETDump holds {len(raw)} runs of {event.name}, {skip + runs} expected")
            names.append(event.name)
            times.append(raw[skip : skip + runs])
    if not names or not e2e:
        raise ProfileUnreadable(f"the ETDump holds no operator events or no {E2E_ET} event")
    return names, times, e2e


def profile_runs(runtime: str, profile: dict[str, Any]) -> tuple[list[str], list[list[float]], list[float]]:
    if profile.get("status") != "ok":
        raise ProfileUnreadable(profile.get("reason") or "the profiling pass failed without a reason")
    return executorch_runs(profile) if runtime == "executorch" else litert_runs(profile)


# ---------------------------------------------------------------- rows


def measurement_rows(record: Record, profile: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The operator rows of one measurement and its summary line (with `missing_reason` when there are none)."""
    from ..artifacts.deployed import deployed_graph
    from ..artifacts.operators import map_operators

    base = {
        "runtime": record.runtime,
        "variant": record.variant.get("name"),
        "target": record.target,
        "arch": record.variant.get("arch"),
        "resolution": record.variant.get("resolution"),
        "width": record.variant.get("width"),
        "threads": record.env.get("threads"),
        "emulated": record.emulated,  # the emulator's times: shown, labelled, never a target's figure
    }
    if "probe" in record.variant:  # a roofline probe's (measure/roofline.py): which ceiling it measures
        base["probe"] = record.variant["probe"]
    summary: dict[str, Any] = {**base, "source": profile.get("source"), "runs": profile.get("runs")}
    summary["measured_latency_ms"] = record.latency.median if record.latency else None
    try:
        names, times, e2e = profile_runs(record.runtime, profile)
        artifact = record.artifact.path if record.artifact is not None else None
        if not artifact or not Path(artifact).is_file():
            raise ProfileUnreadable("the artifact is not in the cache on this machine: no deployed graph to map to")
        graph = deployed_graph(artifact, record.runtime)
    except ProfileUnreadable as e:
        return [], {**summary, "missing_reason": str(e)}
    except (ValueError, TypeError, KeyError, IndexError) as e:  # events not shaped as the device writes them
        detail = (str(e).splitlines() or [""])[0]
        return [], {**summary, "missing_reason": f"the device's profile is malformed ({type(e).__name__}: {detail})"}
    e2e_ms = _median(e2e)
    rows: list[dict[str, Any]] = []
    for row in map_operators(names, graph):
        ms = _median(times[row.position]) if row.position is not None else None
        seconds = ms / 1000 if ms else None
        total = None if row.weight_bytes is None else row.weight_bytes + (row.activation_bytes or 0)
        rows.append(
            {
                **base,
                "operator": row.operator,
                "kind": row.kind,
                "deployed_ops": " + ".join(row.deployed),
                "mapping": row.mapping,
                "time_ms": ms,
                "share": ms / e2e_ms if ms is not None and e2e_ms else None,
                "macs": row.macs,
                "weight_bytes": row.weight_bytes,
                "activation_bytes": row.activation_bytes,
                "bytes": total,
                "mac_per_s": row.macs / seconds if seconds and row.macs is not None else None,
                "bytes_per_s": total / seconds if seconds and total is not None else None,
            }
        )
    ops_sum = sum(r["time_ms"] for r in rows if r["time_ms"] is not None)
    summary.update(
        ops_sum_ms=ops_sum,
        e2e_ms=e2e_ms,
        gap_ms=e2e_ms - ops_sum,
        gap_share=(e2e_ms - ops_sum) / e2e_ms if e2e_ms else None,
        profiled_over_measured=e2e_ms / summary["measured_latency_ms"] if summary["measured_latency_ms"] else None,
        macs_deployed=sum(op.macs for op in graph.ops),
        macs_in_rows=sum(r["macs"] or 0 for r in rows),
        operators=len(rows),
    )
    if graph.unread:
        summary["note"] = "parts of the graph not read: " + ", ".join(graph.unread)
    return rows, summary


def collect(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Operator rows and summary lines of every ok measurement in `out` that asked for a profile."""
    store = ResultStore(Path(out))
    profiles: dict[tuple[str, ...], dict[str, Any]] = {}
    for line in store.rounds():
        found = line.result.get("operator_profile")
        if isinstance(found, dict):
            profiles[tuple(line.key)] = found  # the latest run's profile of each measurement
    rows, summaries = [], []
    for record in store.records():
        if not record.ok:
            continue
        profile = profiles.get(record.key) or {
            "status": "failed",
            "reason": "the device returned no per-operator profile (a phone measured without the agent, "
            "or a measurement taken before --profile-ops was given)",
        }
        found_rows, summary = measurement_rows(record, profile)
        rows += found_rows
        summaries.append(summary)
    return rows, summaries


def write_operator_tables(out: Path) -> str:
    """Write OUT/operators.csv, .parquet and operators-summary.csv; one line saying what was written."""
    import pandas as pd

    out = Path(out)
    rows, summaries = collect(out)
    if not summaries:
        return "operators: no measurement carries a per-operator profile (see env.operator_profile in the records)"
    table = pd.DataFrame(rows)
    table.to_csv(out / ROWS_FILE, index=False)
    written = [ROWS_FILE]
    try:
        table.to_parquet(out / "operators.parquet", index=False)
        written.append("operators.parquet")
    except ImportError as e:  # pyarrow missing: the CSV holds the same
        written.append(f"(no parquet: {e})")
    pd.DataFrame(summaries).to_csv(out / SUMMARY_FILE, index=False)
    missing = [s for s in summaries if s.get("missing_reason")]
    text = f"operators: {len(summaries) - len(missing)} profiled measurement(s) in {out / ROWS_FILE}, " + ", ".join(
        [*written[1:], SUMMARY_FILE]
    )
    for s in missing:
        text += f"\n  no operator profile for {s['variant']} {s['runtime']}: {s['missing_reason']}"
    return text
