"""Profiled operators tied to the deployed graph (`deployed.py`): MACs and bytes for each timed kernel.

A profiler names what ran: XNNPACK's operators ("Convolution (NHWC, QC8) IGEMM #3"), LiteRT's builtin
kernels ("CONV_2D"), ExecuTorch's kernels ("native_call_aten::add.out"). The deployed graph lists
what the artifact asks for, in the same order. The two are walked together: an event takes the next
operator of a compatible kind within a short look-ahead. Operators passed over on the way have no
event of their own: those whose output the taken operator reads are reported fused into its row (with
their MACs and bytes summed there); the others get a row without a time. An event that matches no
operator gets a row that says so, without MACs. Nothing is assigned by guess: every MAC of the deployed
graph ends up in exactly one row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .deployed import DeployedGraph, Op

LOOKAHEAD = 8
# Operator kinds: the names XNNPACK's profiler gives (the text before " ("), and those of the deployed
# graph's operators (.pte XNNPACK nodes, .tflite builtins) that run as them.
KINDS: dict[str, tuple[set[str], set[str]]] = {
    "conv": ({"Convolution"}, {"XNNConv2d", "XNNDepthwiseConv2d", "CONV_2D", "DEPTHWISE_CONV_2D"}),
    "deconv": ({"Deconvolution"}, {"XNNConvTranspose2d", "TRANSPOSE_CONV"}),
    "fully_connected": ({"Fully Connected"}, {"XNNFullyConnected", "FULLY_CONNECTED"}),
    "batch_matmul": ({"Batch Matrix Multiply"}, {"XNNBatchMatrixMultiply", "BATCH_MATMUL"}),
    "transpose": ({"Transpose"}, {"XNNStaticTranspose", "TRANSPOSE"}),
    "convert": ({"Convert"}, {"XNNConvert", "QUANTIZE", "DEQUANTIZE"}),
    "mean": ({"Mean", "Global Average Pooling"}, {"XNNGlobalAvgPooling2d", "XNNStaticMeanND", "MEAN"}),
    "avg_pool": ({"Average Pooling"}, {"XNNAvgPooling2d", "AVERAGE_POOL_2D"}),
    "max_pool": ({"Max Pooling", "Argmax Pooling"}, {"XNNMaxPooling2d", "XNNArgMaxPooling2d", "MAX_POOL_2D"}),
    "add": ({"Add"}, {"XNNAdd", "ADD"}),
    "mul": ({"Multiply"}, {"XNNMultiply", "MUL"}),
    "sub": ({"Subtract"}, {"XNNSubtract", "SUB"}),
    "div": ({"Divide"}, {"XNNDiv", "DIV"}),
    "reshape": ({"Static Reshape", "Reshape", "Copy"}, {"XNNStaticReshape", "RESHAPE", "SQUEEZE", "EXPAND_DIMS"}),
    "pad": ({"Constant Pad"}, {"XNNStaticConstantPad", "PAD", "PADV2"}),
    "clamp": ({"Clamp"}, {"XNNClamp", "RELU", "RELU6", "RELU_N1_TO_1"}),
    "softmax": ({"Softmax"}, {"XNNSoftmax", "SOFTMAX"}),
    "resize": ({"Resize Bilinear"}, {"XNNStaticResizeBilinear2D", "RESIZE_BILINEAR"}),
    "slice": ({"Slice"}, {"XNNStaticSlice", "SLICE", "STRIDED_SLICE"}),
    "concat": (
        {"Concatenate", "Copy"},
        {"XNNConcatenate2", "XNNConcatenate3", "XNNConcatenate4", "XNNConcatenate5", "CONCATENATION"},
    ),
    "hardswish": ({"HardSwish"}, {"XNNHardswish", "HARD_SWISH"}),
    "sigmoid": ({"Sigmoid"}, {"XNNSigmoid", "LOGISTIC"}),
    "tanh": ({"Tanh"}, {"XNNTanh", "TANH"}),
    "gelu": ({"GELU"}, {"XNNGelu", "GELU"}),
}
_PROFILED_KIND = {name: kind for kind, (profiled, _) in KINDS.items() for name in profiled}
_DEPLOYED_KIND = {name: kind for kind, (_, deployed) in KINDS.items() for name in deployed}


def profiled_kind(event: str) -> str:
    """The kind of a profiler's event name; unknown names are their own kind."""
    base = re.sub(r"\s+#\d+$", "", event).split(" (")[0].strip()
    if base in _PROFILED_KIND:
        return _PROFILED_KIND[base]
    if event in _DEPLOYED_KIND:  # a LiteRT builtin kernel run outside the delegate
        return _DEPLOYED_KIND[event]
    if " (" in event:  # an XNNPACK operator of a kind not listed: never tied to an operator by guess
        return base
    return _kernel_name(event)


def deployed_kind(op: Op) -> str:
    return _DEPLOYED_KIND.get(op.name, _kernel_name(op.name))


def _kernel_name(name: str) -> str:
    """A kernel by its operator alone: ExecuTorch's events say "native_call_<operator>", its plan
    "namespace::operator.overload"; both become "operator"."""
    return name.removeprefix("native_call_").split("::")[-1].split(".")[0]


@dataclass
class OperatorRow:
    """One timed event (or one operator without an event) with the model's numbers for what it ran."""

    operator: str  # the profiler's name, or the deployed operator's when it has no event
    kind: str
    position: int | None  # index of the event in one profiled run; None: no event
    deployed: list[str] = field(default_factory=list)  # "index:name" of the deployed operators it ran
    mapping: str = ""
    macs: int | None = None
    weight_bytes: int | None = None
    activation_bytes: int | None = None


def _numbers(graph: DeployedGraph, ops: list[tuple[int, Op]]) -> tuple[int, int, int]:
    """MACs, weight bytes and input+output activation bytes of operators run as one."""
    macs = sum(op.macs for _, op in ops)
    weights = sum(
        graph.tensors[k].bytes for _, op in ops for k in dict.fromkeys(op.inputs) if graph.tensors[k].constant
    )
    produced = {k for _, op in ops for k in op.outputs}
    consumed = {k for _, op in ops for k in op.inputs}
    # Inside a fused group, a value made and read by the group never travels: count the group's edges only.
    inner = produced & consumed if len(ops) > 1 else set()
    keys = dict.fromkeys(k for _, op in ops for k in (*op.inputs, *op.outputs) if k not in inner)
    activations = sum(graph.tensors[k].bytes for k in keys if not graph.tensors[k].constant)
    return macs, weights, activations


def map_operators(events: list[str], graph: DeployedGraph) -> list[OperatorRow]:
    """Rows for the events of one profiled run (in order) against the deployed graph's operators."""
    ops = list(enumerate(graph.ops))
    rows: list[OperatorRow] = []
    cursor = 0
    for position, event in enumerate(events):
        kind = profiled_kind(event)
        found = next(
            (i for i in range(cursor, min(cursor + LOOKAHEAD, len(ops))) if deployed_kind(ops[i][1]) == kind), None
        )
        if found is None:
            rows.append(OperatorRow(event, kind, position, mapping="unmapped: no operator of the deployed graph "
                                    f"of kind {kind!r} at this point"))  # fmt: skip
            continue
        taken = ops[found]
        passed = ops[cursor:found]
        fused = [o for o in passed if set(o[1].outputs) & set(taken[1].inputs)]
        for index, op in passed:
            if (index, op) not in fused:
                rows.append(_unprofiled(graph, index, op))
        group = [*fused, taken]
        macs, weights, activations = _numbers(graph, group)
        mapping = "one to one" if not fused else f"fused: {len(group)} deployed operators run as this one"
        rows.append(
            OperatorRow(event, kind, position, [f"{i}:{o.name}" for i, o in group], mapping, macs, weights, activations)
        )
        cursor = found + 1
    rows += [_unprofiled(graph, index, op) for index, op in ops[cursor:]]
    return rows


def _unprofiled(graph: DeployedGraph, index: int, op: Op) -> OperatorRow:
    macs, weights, activations = _numbers(graph, [(index, op)])
    return OperatorRow(
        op.name,
        deployed_kind(op),
        None,
        [f"{index}:{op.name}"],
        "no event: the runtime ran no kernel of its own for it (elided, or fused into another)",
        macs,
        weights,
        activations,
    )
