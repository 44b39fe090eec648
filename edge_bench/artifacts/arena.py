"""LiteRT's activation arena, replayed from the .tflite: tensor lifetimes and the planners' placement.

LiteRT plans its arena when the interpreter is built (tensorflow/lite/arena_planner.cc +
simple_memory_arena.cc; TFLite Micro's greedy_memory_planner.cc for microcontrollers). The
replay follows those rules over the lifetimes stored in the file; `allocated` asks a real
interpreter instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

from .tflite import TfliteGraph, read_tflite

FOREVER = 2**31 - 1  # TFLite's kNodeNotAssigned: a tensor never freed


@dataclass(frozen=True)
class Lifetime:
    """A buffer alive from op `first` to op `last`, both inclusive (an op reads its inputs while it writes)."""

    tensor: int
    size: int
    first: int
    last: int


def tflite_lifetimes(graph: TfliteGraph, runtime: Literal["litert", "tflm"] = "litert") -> list[Lifetime]:
    """Lifetimes of the tensors the arena holds: graph inputs, op outputs, variables (constants are mapped).

    "litert" follows ArenaPlanner::PlanAllocations: inputs and variables live from op 0 to the end
    (inputs are preserved), an output lives from its op to its last reader, graph outputs and
    never-read tensors are never freed. "tflm" follows TFLite Micro: inputs are freed after their
    last reader, graph outputs live until the last op.
    """
    end = len(graph.ops) - 1
    first: dict[int, int] = {}
    last_read: dict[int, int] = {}
    for t in graph.inputs:
        first.setdefault(t, 0)
    for t in graph.tensors:
        if t.variable:
            first.setdefault(t.index, 0)
    for op in graph.ops:
        for t in op.outputs:
            if t >= 0:
                first.setdefault(t, op.index)
        for t in op.inputs:
            if t >= 0:
                last_read[t] = op.index
    keep = set(graph.outputs) | {t.index for t in graph.tensors if t.variable}
    if runtime == "litert":
        keep |= set(graph.inputs)
    lifetimes = []
    for index, born in sorted(first.items()):
        tensor = graph.tensors[index]
        if tensor.constant:
            continue
        if index in keep:
            dies = FOREVER if runtime == "litert" else end
        elif index in last_read:
            dies = last_read[index]
        else:
            dies = FOREVER if runtime == "litert" else born
        lifetimes.append(Lifetime(index, tensor.bytes, born, dies))
    return lifetimes


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def _overlap(a: Lifetime, b: Lifetime) -> bool:
    return not (a.last < b.first or a.first > b.last)


def greedy_by_size(
    buffers: Sequence[Lifetime], alignment: int = 64, fit: Literal["best", "first"] = "best"
) -> tuple[dict[int, int], int]:
    """Offsets (tensor -> byte offset) and the high-water mark of a greedy-by-size placement.

    fit="best" is LiteRT's planner: buffers alive for the whole run first (by index), then by size
    descending (ties: earlier first use); each goes to the smallest gap, between buffers that are alive
    at the same time, that holds it at an offset aligned to `alignment`; else after the last of them.
    fit="first" is TFLite Micro's GreedyMemoryPlanner: sizes rounded up to `alignment`, sorted by size
    descending (stable), each put at the lowest offset that does not collide with a buffer alive at the
    same time.
    """
    if fit == "best":

        def whole(b: Lifetime) -> bool:
            return b.first == 0 and b.last == FOREVER

        order = sorted(buffers, key=lambda b: (not whole(b), b.tensor if whole(b) else 0, -b.size, b.first))
    else:
        buffers = [Lifetime(b.tensor, _align(b.size, alignment), b.first, b.last) for b in buffers]
        order = sorted(buffers, key=lambda b: -b.size)  # sorted() is stable, as TFLM's bubble sort
    placed: list[tuple[int, Lifetime]] = []  # (offset, buffer), kept sorted by offset
    offsets: dict[int, int] = {}
    high_water = 0
    for buffer in order:
        if buffer.size == 0:
            offsets[buffer.tensor] = 0
            continue
        live = [(o, b) for o, b in placed if _overlap(b, buffer)]
        offset = _best_fit(live, buffer.size, alignment) if fit == "best" else _first_fit(live, buffer.size)
        offsets[buffer.tensor] = offset
        high_water = max(high_water, offset + buffer.size)
        at = len(placed)
        while at > 0 and placed[at - 1][0] > offset:  # after equal offsets, as std::upper_bound
            at -= 1
        placed.insert(at, (offset, buffer))
    return offsets, high_water


def _best_fit(live: list[tuple[int, Lifetime]], size: int, alignment: int) -> int:
    # SimpleMemoryArena::Allocate, including its measure of a gap from the unaligned end of the previous one.
    current, best, best_gap = 0, None, None
    for offset, buffer in live:
        aligned = _align(current, alignment)
        if aligned + size <= offset and (best_gap is None or offset - aligned < best_gap):
            best, best_gap = aligned, offset - current
        current = max(current, offset + buffer.size)
        if best_gap == 0:
            break
    return best if best is not None else _align(current, alignment)


def _first_fit(live: list[tuple[int, Lifetime]], size: int) -> int:
    candidate = 0
    for offset, buffer in live:
        if offset - candidate >= size:
            break
        candidate = max(candidate, offset + buffer.size)
    return candidate


def liveness_peak(buffers: Sequence[Lifetime]) -> int:
    """The largest total size alive at one op: a lower bound for any placement."""
    points = sorted({b.first for b in buffers})
    return max((sum(b.size for b in buffers if b.first <= t <= b.last) for t in points), default=0)


LITERT_TENSOR_ALIGNMENT = 64  # tflite::kDefaultTensorAlignment
TFLM_BUFFER_ALIGNMENT = 16  # tflite::MicroArenaBufferAlignment()


def tflite_arena_estimate(path: str | Path) -> dict[str, Any]:
    """LiteRT's activation arena, replayed from the .tflite; TFLite Micro's arena beside it."""
    graph = read_tflite(path)
    litert = tflite_lifetimes(graph, "litert")
    persistent = [b for b in litert if graph.tensors[b.tensor].variable]  # variables go to a second arena
    arena = [b for b in litert if not graph.tensors[b.tensor].variable]
    _, arena_bytes = greedy_by_size(arena, LITERT_TENSOR_ALIGNMENT, "best")
    tflm = tflite_lifetimes(graph, "tflm")
    _, tflm_bytes = greedy_by_size(tflm, TFLM_BUFFER_ALIGNMENT, "first")
    notes = [
        "op temporaries (im2col and other scratch) and in-place sharing are not modelled",
        "with a delegate (XNNPACK by default) the arena holds only the delegate's inputs and outputs; "
        "the delegate allocates its own memory",
    ]
    if graph.subgraphs > 1:
        notes.append(f"only the primary subgraph of {graph.subgraphs} is planned")
    if graph.dynamic:
        notes.append("some dimensions are dynamic; their stored sizes were used")
    return {
        "format": "tflite",
        "kind": "estimate",
        "arena_bytes": arena_bytes,
        "persistent_bytes": sum(b.size for b in persistent),
        "naive_sum_bytes": sum(b.size for b in arena),
        "liveness_peak_bytes": liveness_peak(arena),
        "tflm_arena_bytes": tflm_bytes,
        "tensors": len(arena),
        "constant_bytes": sum(t.bytes for t in graph.tensors if t.constant),
        "alignment": LITERT_TENSOR_ALIGNMENT,
        "planner": "greedy by size, best fit (LiteRT ArenaPlanner); tflm: first fit (TFLite Micro GreedyMemoryPlanner)",
        "note": "; ".join(notes),
    }
