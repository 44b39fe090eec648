"""The graph an artifact really runs, read from its bytes: operators over typed tensors, in order.

One view of both formats, for what is measured on it (`int8.py`: which operators run in INT8;
`deployed_activation`: the paper's memory metric on this graph):

- .tflite: every operator of the primary subgraph, converter-inserted ones (PAD, QUANTIZE, TRANSPOSE)
  included; LiteRT's delegate runs these same operators.
- .pte: the plan's instructions in order; a call into the XNNPACK delegate is replaced by the nodes of
  its payload's graph (with the values XNNPACK itself holds: types, shapes, quantization), an operator
  run outside the delegate is one kernel over the plan's tensors.

Tensor types are classed as "float", "int8", "int32" or "other"; a tensor holding weights or other
data stored in the file is `constant`.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

from .tflite import TfliteGraph, read_tflite

TFLITE_CLASS = {
    "FLOAT32": "float",
    "FLOAT16": "float",
    "BFLOAT16": "float",
    "FLOAT64": "float",
    "INT8": "int8",
    "UINT8": "int8",
    "INT32": "int32",
}
XNN_CLASS = {
    "xnn_datatype_fp32": "float",
    "xnn_datatype_fp16": "float",
    "xnn_datatype_bf16": "float",
    "xnn_datatype_pfp32": "float",
    "xnn_datatype_qint8": "int8",
    "xnn_datatype_quint8": "int8",
    "xnn_datatype_qcint8": "int8",
    "xnn_datatype_qdint8": "int8",
    "xnn_datatype_qpint8": "int8",
    "xnn_datatype_qint32": "int32",
    "xnn_datatype_qcint32": "int32",
    "xnn_datatype_int32": "int32",
}
XNN_BYTES = {
    "xnn_datatype_fp32": 4,
    "xnn_datatype_fp16": 2,
    "xnn_datatype_bf16": 2,
    "xnn_datatype_pfp32": 4,
    "xnn_datatype_qint32": 4,
    "xnn_datatype_qcint32": 4,
    "xnn_datatype_int32": 4,
    "xnn_datatype_qcint4": 0.5,
    "xnn_datatype_qbint4": 0.5,
}  # the rest: one byte
# executorch.exir.scalar_type.ScalarType: element size and class.
ET_SCALAR = {
    0: (1, "int8"),
    1: (1, "int8"),
    2: (2, "other"),
    3: (4, "int32"),
    4: (8, "other"),
    5: (2, "float"),
    6: (4, "float"),
    7: (8, "float"),
    11: (1, "other"),
    15: (2, "float"),
}
XNN_UNUSED_ID = 2**32 - 1  # an absent optional input (a convolution without bias)


@dataclass(frozen=True)
class Tensor:
    bytes: int
    kind: str  # "float", "int8", "int32" or "other"
    constant: bool


@dataclass(frozen=True)
class Op:
    """One operator as the runtime runs it; `where` says who runs it (a delegate, or the runtime's kernels)."""

    name: str
    inputs: tuple[str, ...]  # tensor keys, in DeployedGraph.tensors
    outputs: tuple[str, ...]
    macs: int
    where: str


@dataclass(frozen=True)
class DeployedGraph:
    format: str  # "tflite" or "pte"
    tensors: dict[str, Tensor]
    ops: tuple[Op, ...]
    unread: tuple[str, ...] = ()  # parts of the graph that could not be read (e.g. an unknown delegate)

    def activations(self, op: Op) -> list[Tensor]:
        """The op's distinct non-constant inputs and outputs."""
        keys = dict.fromkeys(k for k in (*op.inputs, *op.outputs) if not self.tensors[k].constant)
        return [self.tensors[k] for k in keys]


# ---------------------------------------------------------------- LiteRT


def _tflite_macs(graph: TfliteGraph, op) -> int:
    """Multiply-accumulates of the matrix and convolution operators (what torch's flop counter counts)."""
    shape = lambda i: graph.tensors[op.inputs[i]].shape  # noqa: E731
    out = prod(graph.tensors[op.outputs[0]].shape) if op.outputs and op.outputs[0] >= 0 else 0
    if op.name == "CONV_2D":  # filter [O, kh, kw, I / groups]
        return out * prod(shape(1)[1:])
    if op.name == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, O]
        return out * prod(shape(1)[1:3])
    if op.name == "FULLY_CONNECTED":  # filter [O, I]
        return out * shape(1)[-1]
    if op.name == "TRANSPOSE_CONV":  # (output shape, filter [O, kh, kw, I], input)
        return prod(shape(2)) * prod(shape(1)[:3])
    if op.name == "BATCH_MATMUL":
        return out * _contracted(shape(0), graph.tensors[op.outputs[0]].shape)
    return 0


def _contracted(lhs: tuple[int, ...], out: tuple[int, ...]) -> int:
    """K of a batched [.., M, K] x [.., K, N]: the lhs dimension that is not the output's M."""
    return lhs[-1] if lhs[-2] == out[-2] else lhs[-2]


def tflite_deployed(source: str | Path | TfliteGraph) -> DeployedGraph:
    graph = source if isinstance(source, TfliteGraph) else read_tflite(source)
    tensors = {str(t.index): Tensor(t.bytes, TFLITE_CLASS.get(t.dtype, "other"), t.constant) for t in graph.tensors}
    ops = tuple(
        Op(
            op.name,
            tuple(str(t) for t in op.inputs if t >= 0),
            tuple(str(t) for t in op.outputs if t >= 0),
            _tflite_macs(graph, op),
            "litert",
        )
        for op in graph.ops
    )
    return DeployedGraph("tflite", tensors, ops)


# ---------------------------------------------------------------- ExecuTorch


def _xnn_tensor(value: dict[str, Any]) -> tuple[dict[str, Any], Tensor]:
    union = value.get("xvalue_union") or {}
    body = union.get("tensor_value", union)  # XNNQuantizedTensorValue wraps an XNNTensorValue
    datatype = body.get("datatype", "xnn_datatype_invalid")
    size = int(prod(body.get("dims") or [])) * XNN_BYTES.get(datatype, 1)
    return body, Tensor(int(size), XNN_CLASS.get(datatype, "other"), int(body.get("constant_buffer_idx") or 0) > 0)


def _xnn_macs(name: str, node: dict[str, Any], dims: dict[int, list[int]]) -> int:
    out = prod(dims.get(node.get("output_id", -1), [0]))
    if name in ("XNNConv2d", "XNNDepthwiseConv2d"):
        return out * node["kernel_height"] * node["kernel_width"] * node["group_input_channels"]
    if name == "XNNConvTranspose2d":
        inputs = prod(dims.get(node.get("input1_id", -1), [0]))
        return inputs * node["kernel_height"] * node["kernel_width"] * node["group_output_channels"]
    if name == "XNNFullyConnected":
        return out * dims.get(node.get("input1_id", -1), [0])[-1]
    if name == "XNNBatchMatrixMultiply":
        return out * _contracted(tuple(dims[node["input1_id"]]), tuple(dims[node["output_id"]]))
    return 0


# XNNPACK fuses a Clamp into the node producing its input when that node can clamp its own output and
# nothing else reads the value (XNNPACK's subgraph fusion, at runtime): the clamp never runs.
CLAMP_FUSES_INTO = {
    "XNNConv2d",
    "XNNDepthwiseConv2d",
    "XNNConvTranspose2d",
    "XNNFullyConnected",
    "XNNAdd",
    "XNNMultiply",
    "XNNSubtract",
    "XNNDiv",
    "XNNAvgPooling2d",
    "XNNMaxPooling2d",
}


def _node_ids(node: dict[str, Any]) -> tuple[list[int], list[int]]:
    ids = {k: v for k, v in node.items() if k.endswith("_id") and isinstance(v, int) and v != XNN_UNUSED_ID}
    return (
        [v for k, v in ids.items() if not k.startswith("output")],
        [v for k, v in ids.items() if k.startswith("output")],
    )


def xnnpack_ops(graph: dict[str, Any], prefix: str, tensors: dict[str, Tensor]) -> list[Op]:
    """The nodes of a decoded XNNPACK graph as ops; their values are added to `tensors` as "<prefix>:<id>"."""
    dims: dict[int, list[int]] = {}
    for index, value in enumerate(graph.get("xvalues", [])):
        body, tensor = _xnn_tensor(value)
        key = int(body.get("id_out", index))
        dims[key] = list(body.get("dims") or [])
        tensors[f"{prefix}:{key}"] = tensor
    nodes = [(x.get("xnode_union_type", "NONE"), x.get("xnode_union") or {}) for x in graph.get("xnodes", [])]
    readers: dict[int, int] = {}
    for _, node in nodes:
        for value in _node_ids(node)[0]:
            readers[value] = readers.get(value, 0) + 1
    external = set(graph.get("output_ids") or [])
    ops: list[Op] = []
    producer: dict[int, int] = {}  # value id -> index in ops
    for name, node in nodes:
        inputs, outputs = _node_ids(node)
        if (
            name == "XNNClamp"
            and len(inputs) == 1
            and inputs[0] in producer
            and readers.get(inputs[0]) == 1
            and inputs[0] not in external
            and ops[producer[inputs[0]]].name in CLAMP_FUSES_INTO
        ):
            fused = ops[producer[inputs[0]]]
            ops[producer[inputs[0]]] = Op(
                fused.name, fused.inputs, tuple(f"{prefix}:{v}" for v in outputs), fused.macs, fused.where
            )
            producer.update({v: producer[inputs[0]] for v in outputs})
            continue
        producer.update({v: len(ops) for v in outputs})
        ops.append(
            Op(
                name,
                tuple(f"{prefix}:{v}" for v in inputs),
                tuple(f"{prefix}:{v}" for v in outputs),
                _xnn_macs(name, node, dims),
                "XNNPACK delegate",
            )
        )
    return ops


def _kernel_macs(name: str, sizes: list[list[int]]) -> int:
    """MACs of an ExecuTorch kernel from its tensor arguments' sizes (the out tensor last)."""
    if not sizes:
        return 0
    out = prod(sizes[-1])
    if name.startswith("aten::convolution") and len(sizes) >= 3:
        return out * prod(sizes[1][1:])  # weight [O, I / groups, kh, kw]
    if name.startswith(("aten::mm", "aten::bmm")) and len(sizes) >= 2:
        return out * sizes[0][-1]
    if name.startswith(("aten::addmm", "aten::linear")) and len(sizes) >= 3:
        return out * sizes[1][-1]
    return 0


def pte_deployed(pte, method: str = "forward") -> DeployedGraph:
    """The ops a .pte runs (a `pte.PteFile`), delegate calls opened up where the delegate is XNNPACK."""
    from .delegation import XNNPACK_BACKEND, xnnpack_graph
    from .pte import operator_names

    plan = pte.plan(method)
    names = operator_names(plan)
    tensors: dict[str, Tensor] = {}
    ops: list[Op] = []
    unread: list[str] = []
    decoded: dict[int, dict[str, Any] | None] = {}
    for chain in plan.chains:
        for instruction in chain.instructions:
            args = instruction.instr_args
            kind = type(args).__name__
            if kind == "DelegateCall":
                index = int(args.delegate_index)
                delegate = plan.delegates[index]
                if index not in decoded:
                    payload = pte.delegate_payload(delegate)
                    decoded[index] = xnnpack_graph(payload) if delegate.id == XNNPACK_BACKEND else None
                if decoded[index] is None:
                    unread.append(f"delegate {index} ({delegate.id})")
                    continue
                ops += xnnpack_ops(decoded[index], f"d{index}", tensors)
            elif kind == "KernelCall":
                ops.append(_kernel_op(plan, names[int(args.op_index)], [int(a) for a in args.args], tensors))
    return DeployedGraph("pte", tensors, tuple(ops), tuple(dict.fromkeys(unread)))


def _kernel_op(plan, name: str, args: list[int], tensors: dict[str, Tensor]) -> Op:
    """A kernel over the plan's values: its tensor arguments (tensor lists opened), the out tensor last."""
    keys, sizes = [], []
    for index in args:
        value = plan.values[index].val
        items = list(value.items) if type(value).__name__ == "TensorList" else [index]
        for item in items:
            tensor = plan.values[item].val
            if type(tensor).__name__ != "Tensor":
                continue
            size, kind = ET_SCALAR.get(int(tensor.scalar_type), (1, "other"))
            # Memory-planned tensors have allocation info; constants (weights) live in the file.
            constant = tensor.allocation_info is None and int(tensor.data_buffer_idx) > 0
            tensors[f"v:{item}"] = Tensor(int(prod(tensor.sizes)) * size, kind, constant)
            keys.append(f"v:{item}")
            sizes.append(list(tensor.sizes))
    # ExecuTorch's out-variant kernels take their output as the last tensor argument.
    return Op(name, tuple(keys[:-1]), tuple(keys[-1:]), _kernel_macs(name, sizes), "portable kernels")


def deployed_graph(path: str | Path, runtime: str) -> DeployedGraph:
    """The deployed graph of a .tflite or .pte file."""
    if runtime == "executorch":
        from .pte import read_pte

        return pte_deployed(read_pte(path))
    return tflite_deployed(path)


def deployed_activation(graph: DeployedGraph) -> dict[str, Any]:
    """The paper's activation metric on the deployed graph: the largest, over the operators it runs, of
    the bytes of the op's distinct non-constant inputs and outputs, each at its own type.

    Every operator counts, those the converter or the delegate inserted (explicit pads, layout
    transposes, quantize/dequantize) included; a tensor in float counts four bytes per element.
    """
    best, where = 0, None
    for index, op in enumerate(graph.ops):
        total = sum(t.bytes for t in graph.activations(op))
        if total > best:
            best, where = total, f"{index}:{op.name}"
    result: dict[str, Any] = {"bytes": best, "op": where, "ops": len(graph.ops)}
    if graph.unread:
        result["note"] = "not read, so not counted: " + ", ".join(graph.unread)
    return result
