"""Planned memory as each runtime plans it, read from the artifact file itself.

ExecuTorch writes its memory plan into the .pte: `non_const_buffer_sizes` of an execution plan (index 0
is reserved, the planned buffers are the rest). LiteRT plans its arena when the interpreter is built,
and its Python API does not expose the size, so `tflite_arena_estimate` replays the planner's rules
(tensorflow/lite/arena_planner.cc + simple_memory_arena.cc; TFLite Micro's greedy_memory_planner.cc
for microcontrollers) over the tensor lifetimes stored in the .tflite.

The readers use no torch: they read the flatbuffers with the `flatbuffers` package, following
ExecuTorch's schema (exir/_serialize/program.fbs) and LiteRT's generated schema module.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

from flatbuffers import number_types as N
from flatbuffers.table import Table

from ..errors import InputError

# ---------------------------------------------------------------- flatbuffer access


class FlatTable:
    """One flatbuffer table; a field is addressed by its position in the schema (vtable slot 4 + 2i).

    A union field takes two positions: its type tag, then its value.
    """

    __slots__ = ("_t",)

    def __init__(self, buf: bytes | bytearray | memoryview, pos: int):
        self._t = Table(buf, pos)

    @classmethod
    def root(cls, buf: bytes, offset: int = 0) -> "FlatTable":
        return cls(buf, offset + int.from_bytes(buf[offset : offset + 4], "little"))

    def _at(self, field: int) -> int:
        return self._t.Offset(4 + 2 * field)

    def scalar(self, field: int, flags: Any = N.Int32Flags, default: int = 0) -> Any:
        at = self._at(field)
        return self._t.Get(flags, self._t.Pos + at) if at else default

    def string(self, field: int) -> str | None:
        at = self._at(field)
        return self._t.String(self._t.Pos + at).decode("utf-8", "replace") if at else None

    def table(self, field: int) -> "FlatTable | None":
        at = self._at(field)
        return FlatTable(self._t.Bytes, self._t.Indirect(self._t.Pos + at)) if at else None

    def union(self, field: int) -> "FlatTable | None":
        """The value of a union whose type tag is at `field - 1`."""
        at = self._at(field)
        if not at:
            return None
        inner = Table(bytearray(), 0)
        self._t.Union(inner, at)
        return FlatTable(inner.Bytes, inner.Pos)

    def length(self, field: int) -> int:
        at = self._at(field)
        return self._t.VectorLen(at) if at else 0

    def tables(self, field: int) -> list["FlatTable"]:
        at = self._at(field)
        if not at:
            return []
        start = self._t.Vector(at)
        return [FlatTable(self._t.Bytes, self._t.Indirect(start + 4 * j)) for j in range(self._t.VectorLen(at))]

    def scalars(self, field: int, flags: Any) -> list[Any]:
        at = self._at(field)
        if not at:
            return []
        start, width = self._t.Vector(at), flags.bytewidth
        return [self._t.Get(flags, start + j * width) for j in range(self._t.VectorLen(at))]

    def vector_span(self, field: int) -> tuple[int, int]:
        """(start, length) of a [ubyte] vector in the underlying buffer."""
        at = self._at(field)
        return (self._t.Vector(at), self._t.VectorLen(at)) if at else (0, 0)


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what}: {e.strerror}") from None


# ---------------------------------------------------------------- ExecuTorch .pte


@dataclass(frozen=True)
class PteDelegate:
    backend: str
    location: str  # "inline" (in the program) or "segment" (after it)
    index: int


@dataclass(frozen=True)
class PtePlan:
    name: str
    non_const_buffer_sizes: tuple[int, ...]
    operators: tuple[str, ...]  # "namespace::op.overload"
    instructions: tuple[tuple[str, int], ...]  # (kind, index): kernel -> operators[i], delegate -> delegates[i]
    delegates: tuple[PteDelegate, ...]


@dataclass(frozen=True)
class PteProgram:
    path: str
    file_bytes: int
    plans: tuple[PtePlan, ...]
    segments: tuple[tuple[int, int], ...]  # (offset from segment_base_offset, size)
    segment_base_offset: int
    constant_buffer_bytes: int  # constant tensors stored inside the flatbuffer
    constant_segment: int | None  # segment holding the constant tensors, if any
    constant_tensors: int
    named_data: tuple[tuple[str, int], ...]  # (key, segment index): data a backend looks up by name
    inline_delegate_bytes: tuple[int, ...]
    data: bytes

    def plan(self, method: str = "forward") -> PtePlan:
        for plan in self.plans:
            if plan.name == method:
                return plan
        raise InputError(f"{self.path}: no method '{method}' (methods: {', '.join(p.name for p in self.plans)})")

    def delegate_payload(self, delegate: PteDelegate) -> bytes:
        if delegate.location == "inline":
            return self._inline_delegate(delegate.index)
        offset, size = self.segments[delegate.index]
        start = self.segment_base_offset + offset
        return self.data[start : start + size]

    def _inline_delegate(self, index: int) -> bytes:
        program = FlatTable.root(self.data)
        entry = program.tables(3)[index]
        start, length = entry.vector_span(0)
        return self.data[start : start + length]


_INSTRUCTION_KINDS = {1: "kernel", 2: "delegate", 3: "move", 4: "jump_false", 5: "free"}


def read_pte(path: str | Path) -> PteProgram:
    """The parts of an ExecuTorch program that memory and delegation reports need."""
    data = _read(path, ".pte program")
    if data[4:8] != b"ET12":
        found = data[4:8]
        raise InputError(f"{path}: not an ExecuTorch program (file identifier {found!r}, expected b'ET12')")
    try:
        return _parse_pte(path, data)
    except (struct.error, IndexError, ValueError) as e:
        raise InputError(f"{path}: truncated or corrupt ExecuTorch program ({e})") from None


def _parse_pte(path: str | Path, data: bytes) -> PteProgram:
    base = 0
    if data[8:12] == b"eh00":  # extended header: where the segments start
        base = int.from_bytes(data[24:32], "little")
    program = FlatTable.root(data)
    plans = []
    for plan in program.tables(1):
        operators = []
        for op in plan.tables(6):
            name, overload = op.string(0) or "", op.string(1) or ""
            operators.append(f"{name}.{overload}" if overload else name)
        instructions = []
        for chain in plan.tables(5):
            for instruction in chain.tables(2):
                kind = _INSTRUCTION_KINDS.get(instruction.scalar(0, N.Uint8Flags), "unknown")
                args = instruction.union(1)
                index = args.scalar(0) if args is not None and kind in ("kernel", "delegate") else -1
                instructions.append((kind, index))
        delegates = []
        for delegate in plan.tables(7):
            processed = delegate.table(1)
            location = "segment" if processed is not None and processed.scalar(0, N.Int8Flags) == 1 else "inline"
            index = processed.scalar(1, N.Uint32Flags) if processed is not None else 0
            delegates.append(PteDelegate(delegate.string(0) or "", location, index))
        plans.append(
            PtePlan(
                name=plan.string(0) or "",
                non_const_buffer_sizes=tuple(plan.scalars(8, N.Int64Flags)),
                operators=tuple(operators),
                instructions=tuple(instructions),
                delegates=tuple(delegates),
            )
        )
    constant_segment = program.table(5)
    offsets = constant_segment.length(1) if constant_segment is not None else 0
    return PteProgram(
        path=str(path),
        file_bytes=len(data),
        plans=tuple(plans),
        segments=tuple((s.scalar(0, N.Uint64Flags), s.scalar(1, N.Uint64Flags)) for s in program.tables(4)),
        segment_base_offset=base,
        constant_buffer_bytes=sum(b.length(0) for b in program.tables(2)),
        constant_segment=constant_segment.scalar(0, N.Uint32Flags) if offsets else None,
        # The first offset is a placeholder that non-constant tensors point to.
        constant_tensors=max(offsets - 1, 0) + max(program.length(2) - 1, 0),
        named_data=tuple((n.string(0) or "", n.scalar(1, N.Uint32Flags)) for n in program.tables(7)),
        inline_delegate_bytes=tuple(d.length(0) for d in program.tables(3)),
        data=data,
    )


def pte_planned_bytes(path: str | Path, method: str = "forward") -> dict[str, Any]:
    """ExecuTorch's memory plan: planned activation bytes = sum(non_const_buffer_sizes[1:])."""
    program = read_pte(path)
    plan = program.plan(method)
    sizes = list(plan.non_const_buffer_sizes)
    segment_size = dict(enumerate(size for _, size in program.segments))
    named_segments = {index for _, index in program.named_data}
    constant_segment_bytes = segment_size.get(program.constant_segment, 0) if program.constant_segment is not None else 0
    named_data_bytes = sum(segment_size.get(i, 0) for i in named_segments)
    delegate_bytes = sum(
        program.inline_delegate_bytes[d.index] if d.location == "inline" else segment_size.get(d.index, 0)
        for d in plan.delegates
    )
    return {
        "format": "pte",
        "method": plan.name,
        "non_const_buffer_sizes": sizes,
        "planned_bytes": sum(sizes[1:]),
        # Weights stored as data: constant tensors (non-delegated ops) plus named data (XNNPACK keeps its
        # weights there); a delegate's own payload (its compiled graph) is counted apart.
        "constant_bytes": program.constant_buffer_bytes + constant_segment_bytes + named_data_bytes,
        "constant_segment_bytes": constant_segment_bytes + program.constant_buffer_bytes,
        "named_data_bytes": named_data_bytes,
        "delegate_blob_bytes": delegate_bytes,
        "delegates": len(plan.delegates),
        "file_bytes": program.file_bytes,
        "note": (
            "memory a delegate allocates itself (XNNPACK's packed weights and workspace) is not in this plan"
            if plan.delegates else None
        ),
    }


# ---------------------------------------------------------------- LiteRT .tflite


@dataclass(frozen=True)
class TfliteTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    bytes: int
    constant: bool
    variable: bool


@dataclass(frozen=True)
class TfliteOp:
    index: int
    name: str
    inputs: tuple[int, ...]  # -1: an omitted optional input
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class TfliteGraph:
    path: str
    tensors: tuple[TfliteTensor, ...]
    ops: tuple[TfliteOp, ...]  # in execution order
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    subgraphs: int
    dynamic: bool  # some shape has an unknown (-1) dimension, taken at its stored size


_TFLITE_BITS = {
    "FLOAT32": 32, "FLOAT16": 16, "INT32": 32, "UINT8": 8, "INT64": 64, "BOOL": 8, "INT16": 16,
    "COMPLEX64": 64, "INT8": 8, "FLOAT64": 64, "COMPLEX128": 128, "UINT64": 64, "UINT32": 32,
    "UINT16": 16, "INT4": 4, "BFLOAT16": 16, "INT2": 2, "UINT4": 4, "FLOAT8_E4M3FN": 8, "FLOAT8_E5M2": 8,
}


def read_tflite(path: str | Path) -> TfliteGraph:
    """The primary subgraph of a .tflite: tensors (size, constness) and ops in execution order."""
    from ai_edge_litert import schema_py_generated as schema  # torch-free generated flatbuffer reader

    data = _read(path, ".tflite model")
    if data[4:8] != b"TFL3":
        raise InputError(f"{path}: not a LiteRT/TFLite model (file identifier {data[4:8]!r}, expected b'TFL3')")
    try:
        return _parse_tflite(path, data, schema)
    except (struct.error, IndexError, ValueError) as e:
        raise InputError(f"{path}: truncated or corrupt LiteRT model ({e})") from None


def _parse_tflite(path: str | Path, data: bytes, schema: Any) -> TfliteGraph:
    model = schema.Model.GetRootAs(data, 0)
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.Subgraphs(0)
    tensors, dynamic = [], False
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if t.ShapeSignatureLength() and any(int(d) < 0 for d in t.ShapeSignatureAsNumpy()):
            dynamic = True
        dtype = type_names.get(t.Type(), str(t.Type()))
        numel = 1
        for d in shape:
            numel *= max(d, 0)
        bits = _TFLITE_BITS.get(dtype)
        size = (numel * bits + 7) // 8 if bits else 0
        buffer = model.Buffers(t.Buffer()) if t.Buffer() else None
        constant = buffer is not None and (buffer.DataLength() > 0 or buffer.Offset() > 1)
        tensors.append(TfliteTensor(i, (t.Name() or b"").decode(), shape, dtype, size, constant, bool(t.IsVariable())))
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        # Builtin codes above 127 live in BuiltinCode; DeprecatedBuiltinCode is kept for old readers.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = op_names.get(builtin, str(builtin))
        if name == "CUSTOM":
            name = f"CUSTOM:{(code.CustomCode() or b'').decode()}"
        inputs = tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else ()
        outputs = tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else ()
        ops.append(TfliteOp(i, name, inputs, outputs))
    return TfliteGraph(
        path=str(path),
        tensors=tuple(tensors),
        ops=tuple(ops),
        inputs=tuple(int(x) for x in graph.InputsAsNumpy()) if graph.InputsLength() else (),
        outputs=tuple(int(x) for x in graph.OutputsAsNumpy()) if graph.OutputsLength() else (),
        subgraphs=model.SubgraphsLength(),
        dynamic=dynamic,
    )


# ---------------------------------------------------------------- lifetimes and greedy placement

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


# Runs in a child process: wrapping a tensor whose data a kernel never set can crash the interpreter,
# and a crash must cost one number, not the sweep.
_ARENA_PROBE = r"""
import json, sys
from ai_edge_litert.interpreter import Interpreter, OpResolverType
path, file_tensors, indices = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
it.allocate_tensors()
spans = []
for index in indices + list(range(file_tensors, it._interpreter.NumTensors(0))):
    try:
        it._interpreter.TensorSize(index, 0)  # raises for a temporary that was never shaped
    except ValueError:
        continue
    view = it.tensor(index)()
    if view.nbytes:
        start = view.__array_interface__["data"][0]
        spans.append([index, start, start + view.nbytes])
print(json.dumps(spans))
"""


def tflite_arena_allocated(path: str | Path, timeout_secs: float = 120.0) -> dict[str, Any]:
    """The arena this host's LiteRT interpreter really lays out for the model, without a delegate.

    Every arena tensor (graph inputs, op outputs and the temporaries kernels add at prepare time) is a
    pointer into one buffer, so the span from the lowest start to the highest end is the arena in use.
    Kernels pick their temporaries per CPU, so a device may differ by its scratch buffers.
    """
    from ai_edge_litert import __version__ as litert_version

    graph = read_tflite(path)
    in_arena = sorted(b.tensor for b in tflite_lifetimes(graph) if not graph.tensors[b.tensor].variable)
    result: dict[str, Any] = {"format": "tflite", "kind": "allocated", "arena_bytes": None}
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _ARENA_PROBE, str(path), str(len(graph.tensors)), json.dumps(in_arena)],
            capture_output=True, text=True, timeout=timeout_secs,
        )
    except subprocess.TimeoutExpired:
        return {**result, "reason": f"interpreter probe exceeded {timeout_secs:g} s"}
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        return {**result, "reason": f"interpreter probe failed: {last}"}
    spans = json.loads(probe.stdout.strip().splitlines()[-1])
    if not spans:
        return {**result, "reason": "no arena tensor found"}
    span = max(end for _, _, end in spans) - min(start for _, start, _ in spans)
    if span > sum(end - start for _, start, end in spans) + LITERT_TENSOR_ALIGNMENT * len(spans):
        # Pointers from more than one buffer (a persistent temporary): their span would mean nothing.
        return {**result, "reason": "tensors lie in more than one buffer; the arena cannot be read from their pointers"}
    temporaries = [(start, end) for index, start, end in spans if index >= len(graph.tensors)]
    return {
        **result,
        "arena_bytes": span,
        "temporaries": len(temporaries),
        "temporary_bytes": sum(end - start for start, end in temporaries),
        "runtime": f"ai_edge_litert {litert_version}, builtin kernels, no delegate, on this host",
    }
