"""The arena a real LiteRT interpreter lays out for a model, read from its tensors' pointers.

Without a delegate the arena holds every activation (and the kernels' temporaries). With LiteRT's
default delegate (XNNPACK), which is how a model is timed, the ops inside a partition are replaced by
the delegate, whose own memory is not in the arena: the arena keeps only the graph's inputs and
outputs, the tensors crossing a partition's edge and those of ops left outside the delegate.

Asked in a child process: a crash inside the interpreter costs one number, not the sweep.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .arena import LITERT_TENSOR_ALIGNMENT, tflite_lifetimes
from .tflite import read_tflite

# Wrapping a tensor whose data a kernel never set can crash the interpreter, hence the child process.
_ARENA_PROBE = r"""
import json, sys
from ai_edge_litert.interpreter import Interpreter, OpResolverType
path, file_tensors, indices, delegate = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4] == "1"
resolver = OpResolverType.AUTO if delegate else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
it = Interpreter(model_path=path, experimental_op_resolver_type=resolver, num_threads=1)
it.allocate_tensors()
spans = []
for index in indices + list(range(file_tensors, it._interpreter.NumTensors(0))):
    try:
        it._interpreter.TensorSize(index, 0)  # raises for a temporary that was never shaped
        view = it.tensor(index)()  # raises for a tensor a delegate took over (never allocated)
    except ValueError:
        continue
    if view.nbytes and view.__array_interface__["data"][0]:
        start = view.__array_interface__["data"][0]
        spans.append([index, start, start + view.nbytes])
print(json.dumps(spans))
"""


def tflite_arena_allocated(path: str | Path, timeout_secs: float = 120.0, delegate: bool = False) -> dict[str, Any]:
    """The arena this host's LiteRT interpreter really lays out for the model: with its builtin kernels
    only, or (`delegate=True`) with LiteRT's default delegate applied, as the model is timed.

    Every arena tensor (graph inputs, op outputs and the temporaries kernels add at prepare time) is a
    pointer into one buffer, so the span from the lowest start to the highest end is the arena in use
    (tensors a kernel allocates elsewhere, such as dynamic outputs, are counted apart: `_arena_spans`).
    Kernels pick their temporaries per CPU, so a device may differ by its scratch buffers.
    """
    from ai_edge_litert import __version__ as litert_version

    graph = read_tflite(path)
    in_arena = sorted(b.tensor for b in tflite_lifetimes(graph) if not graph.tensors[b.tensor].variable)
    result: dict[str, Any] = {"format": "tflite", "kind": "allocated", "arena_bytes": None, "delegate": delegate}
    try:
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                _ARENA_PROBE,
                str(path),
                str(len(graph.tensors)),
                json.dumps(in_arena),
                "1" if delegate else "0",
            ],
            capture_output=True,
            text=True,
            timeout=timeout_secs,
        )
    except subprocess.TimeoutExpired:
        return {**result, "reason": f"interpreter probe exceeded {timeout_secs:g} s"}
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        return {**result, "reason": f"interpreter probe failed: {last}"}
    spans = json.loads(probe.stdout.strip().splitlines()[-1])
    if not spans:
        return {**result, "reason": "no arena tensor found"}
    arena, outside = _arena_spans(spans, set(graph.inputs))
    span = max(end for _, _, end in arena) - min(start for _, start, _ in arena)
    if span > sum(end - start for _, start, end in arena) + LITERT_TENSOR_ALIGNMENT * len(arena):
        return {**result, "reason": "tensors lie in more than one buffer; the arena cannot be read from their pointers"}
    temporaries = [(start, end) for index, start, end in arena if index >= len(graph.tensors)]
    return {
        **result,
        "arena_bytes": span,
        "temporaries": len(temporaries),
        "temporary_bytes": sum(end - start for start, end in temporaries),
        "tensors": len(arena),
        "outside_arena_tensors": len(outside),
        "runtime": f"ai_edge_litert {litert_version}, "
        + ("default delegate (XNNPACK), one thread" if delegate else "builtin kernels, no delegate")
        + ", on this host",
    }


def _arena_spans(spans: list[list[int]], inputs: set[int]) -> tuple[list[list[int]], list[list[int]]]:
    """The tensors in the arena (the buffer that holds the graph's input) and those outside it.

    Kernels may allocate some tensors elsewhere (dynamic outputs, persistent temporaries). Inside one
    buffer no gap between neighbouring tensors can exceed the buffer, which is at most the sum of every
    tensor's bytes, so a larger gap separates two buffers.
    """
    ordered = sorted(spans, key=lambda s: s[1])
    limit = sum(end - start for _, start, end in ordered) + LITERT_TENSOR_ALIGNMENT * len(ordered)
    groups = [[ordered[0]]]
    for item in ordered[1:]:
        if item[1] - max(end for _, _, end in groups[-1]) > limit:
            groups.append([])
        groups[-1].append(item)
    arena = next((g for g in groups if any(index in inputs for index, _, _ in g)), max(groups, key=len))
    return arena, [item for g in groups if g is not arena for item in g]
