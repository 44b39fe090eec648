"""How much of a model runs inside the XNNPACK delegate, and which operators are left to plain kernels.

ExecuTorch decides at export time: the .pte's instruction list holds `DelegateCall`s (a compiled
subgraph) and `KernelCall`s (an operator from the program's operator table, run by the portable or
optimized kernels). The XNNPACK payload is itself a flatbuffer (backends/xnnpack/serialization/
schema.fbs) whose nodes tell what the delegate runs; both are read with ExecuTorch's own tools.

LiteRT decides at load time: the interpreter hands the ops XNNPACK supports to the delegate, which
replaces each partition by one DELEGATE node. `tflite_delegation` loads the model with LiteRT's
default delegate on this host and reads which ops ended up inside a partition.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from .pte import PteFile, instructions, operator_names, read_pte
from .tflite import read_tflite

XNNPACK_BACKEND = "XnnpackBackend"


@lru_cache(maxsize=1)
def _xnnpack_schema() -> Path | None:
    """The XNNPACK delegate's flatbuffer schema as the installed ExecuTorch ships it."""
    spec = importlib.util.find_spec("executorch")  # a namespace package: finding it runs nothing
    for folder in (spec.submodule_search_locations or []) if spec else []:
        schema = Path(folder) / "backends" / "xnnpack" / "serialization" / "schema.fbs"
        if schema.is_file():
            return schema
    return None


def xnnpack_graph(payload: bytes) -> dict[str, Any] | None:
    """The XNNPACK delegate payload's graph (`XNNGraph`: xnodes, xvalues, ...) as JSON; None when unreadable.

    The payload is a header (XNNHeader) then XNNPACK's flatbuffer graph; ExecuTorch's own flatc and
    the shipped schema turn the graph into JSON, so nodes and values are read by name, not by field
    position.
    """
    schema = _xnnpack_schema()
    if schema is None:
        return None
    from executorch.backends.xnnpack.serialization.xnnpack_graph_serialize import XNNHeader
    from executorch.exir._serialize._flatbuffer import _flatc_decompile

    try:
        header = XNNHeader.from_bytes(payload[: XNNHeader.EXPECTED_LENGTH])
    except Exception:  # noqa: BLE001 - not an XNNPACK payload of a format this ExecuTorch knows
        return None
    graph = payload[header.flatbuffer_offset : header.flatbuffer_offset + header.flatbuffer_size]
    with tempfile.TemporaryDirectory(prefix="edge-bench-xnnpack-") as folder:
        (Path(folder) / "graph.bin").write_bytes(graph)
        try:
            _flatc_decompile(folder, str(schema), str(Path(folder) / "graph.bin"))
            text = (Path(folder) / "graph.json").read_text()
        except Exception:  # noqa: BLE001 - flatc missing or the graph unreadable
            return None
    # flatc writes non-finite floats (a clamp's bounds) as bare inf/nan, which JSON does not have.
    return json.loads(re.sub(r"(?<=[\s:\[,])-?(?:inf|nan)\b", "null", text))


def xnnpack_nodes(payload: bytes) -> dict[str, int] | None:
    """Histogram of the node types in an XNNPACK delegate payload; None when it cannot be read."""
    graph = xnnpack_graph(payload)
    if graph is None:
        return None
    return dict(Counter(node.get("xnode_union_type", "NONE") for node in graph.get("xnodes", [])))


def pte_delegation(source: str | Path | PteFile, method: str = "forward") -> dict[str, Any]:
    """Which instructions of `method` are delegate calls and which run plain kernels (and which ops)."""
    pte = source if isinstance(source, PteFile) else read_pte(source)
    plan = pte.plan(method)
    steps = instructions(plan)
    kinds = Counter(kind for kind, _ in steps)
    operators = operator_names(plan)
    kernels = Counter(operators[i] for kind, i in steps if kind == "kernel")
    delegates = []
    delegated_nodes: int | None = 0
    for index, delegate in enumerate(plan.delegates):
        calls = sum(1 for kind, i in steps if kind == "delegate" and i == index)
        entry: dict[str, Any] = {"backend": delegate.id, "calls": calls, "nodes": None, "node_histogram": None}
        if delegate.id == XNNPACK_BACKEND:
            histogram = xnnpack_nodes(pte.delegate_payload(delegate))
            if histogram is not None:
                entry["nodes"], entry["node_histogram"] = sum(histogram.values()), histogram
        if entry["nodes"] is None:
            delegated_nodes = None  # a payload that could not be read: the total would be a guess
        elif delegated_nodes is not None:
            delegated_nodes += entry["nodes"] * calls
        delegates.append(entry)
    return {
        "format": "pte",
        "method": plan.name,
        "delegate_calls": kinds["delegate"],
        "kernel_calls": kinds["kernel"],
        "other_instructions": sum(n for kind, n in kinds.items() if kind not in ("delegate", "kernel")),
        "delegate_blobs": len(plan.delegates),
        "delegates": delegates,
        "delegated_nodes": delegated_nodes,
        "non_delegated_ops": dict(sorted(kernels.items())),
        "fully_delegated": kinds["delegate"] > 0 and kinds["kernel"] == 0,
    }


# Runs in a child process: loading a model with a delegate is native code, and a crash there must
# cost one result, not the sweep.
_DELEGATION_PROBE = r"""
import json, sys
from ai_edge_litert.interpreter import Interpreter
it = Interpreter(model_path=sys.argv[1], num_threads=1)
it.allocate_tensors()
nodes = [[it._interpreter.NodeName(i), [int(t) for t in it._interpreter.NodeInputs(i)],
          [int(t) for t in it._interpreter.NodeOutputs(i)]] for i in range(it._interpreter.NumNodes())]
print(json.dumps(nodes))
"""


def tflite_delegation(path: str | Path, timeout_secs: float = 120.0) -> dict[str, Any]:
    """The op histogram of a .tflite, and which ops LiteRT's default delegate (XNNPACK) took on this host."""
    from ai_edge_litert import __version__ as litert_version

    graph = read_tflite(path)
    histogram = Counter(op.name for op in graph.ops)
    result: dict[str, Any] = {
        "format": "tflite",
        "ops": len(graph.ops),
        "op_histogram": dict(sorted(histogram.items())),
        "delegate": f"LiteRT default delegate (XNNPACK), ai_edge_litert {litert_version} on this host",
        "delegate_partitions": None,
        "delegated_ops": None,
        "non_delegated_ops": None,
        "fully_delegated": None,
    }
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _DELEGATION_PROBE, str(path)], capture_output=True, text=True, timeout=timeout_secs
        )
    except subprocess.TimeoutExpired:
        return {**result, "reason": f"interpreter probe exceeded {timeout_secs:g} s"}
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        return {**result, "reason": f"interpreter probe failed: {last}"}
    nodes = json.loads(probe.stdout.strip().splitlines()[-1])
    delegated = _ops_inside_partitions(graph, nodes)
    left = Counter(op.name for op in graph.ops if op.index not in delegated)
    return {
        **result,
        "delegate_partitions": sum(1 for name, _, _ in nodes if name == "DELEGATE"),
        "delegated_ops": len(delegated),
        "non_delegated_ops": dict(sorted(left.items())),
        "fully_delegated": not left,
    }


def _ops_inside_partitions(graph, nodes: list) -> set[int]:
    """Ops a DELEGATE node replaced: those between its input tensors and its output tensors.

    The interpreter appends one DELEGATE node per partition after the model's own nodes; a partition's
    ops are found walking back from the node's outputs to their producers, stopping at its inputs.
    """
    producer = {t: op.index for op in graph.ops for t in op.outputs if t >= 0}
    inside: set[int] = set()
    for name, inputs, outputs in nodes[len(graph.ops) :]:
        if name != "DELEGATE":
            continue
        boundary = set(inputs)
        stack = [t for t in outputs if t not in boundary]
        while stack:
            op = producer.get(stack.pop())
            if op is None or op in inside:
                continue
            inside.add(op)
            stack.extend(t for t in graph.ops[op].inputs if t >= 0 and t not in boundary)
    return inside
