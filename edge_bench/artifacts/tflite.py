"""A LiteRT model (.tflite) read with LiteRT's own generated schema: tensors and ops in execution order."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the .tflite model: {e.strerror}") from None


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
    "FLOAT32": 32,
    "FLOAT16": 16,
    "INT32": 32,
    "UINT8": 8,
    "INT64": 64,
    "BOOL": 8,
    "INT16": 16,
    "COMPLEX64": 64,
    "INT8": 8,
    "FLOAT64": 64,
    "COMPLEX128": 128,
    "UINT64": 64,
    "UINT32": 32,
    "UINT16": 16,
    "INT4": 4,
    "BFLOAT16": 16,
    "INT2": 2,
    "UINT4": 4,
    "FLOAT8_E4M3FN": 8,
    "FLOAT8_E5M2": 8,
}


def read_tflite(path: str | Path) -> TfliteGraph:
    """The primary subgraph of a .tflite: tensors (size, constness) and ops in execution order."""
    from ai_edge_litert import schema_py_generated as schema  # torch-free generated flatbuffer reader

    data = _read(path)
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
