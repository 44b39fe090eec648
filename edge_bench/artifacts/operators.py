"""Profiled operators tied to the deployed graph (`deployed.py`): MACs and bytes for each timed kernel.

A profiler names what ran: XNNPACK's operators ("Convolution (NHWC, QC8) IGEMM #3"), LiteRT's builtin
kernels ("CONV_2D"), ExecuTorch's kernels ("native_call_aten::add.out"). The deployed graph lists
what the artifact asks for, in the same order. The two sequences are aligned (the pairs of fitting
kinds, both in order, of the largest total fit): a kind fits itself, and the kinds a runtime runs an
operator as (XNNPACK runs a 1x1 convolution as a fully connected operator). Operators left without an
event: those whose output the paired operator reads are reported fused into its row (with their MACs
and bytes summed there); the others get a row without a time. An event that fits no operator gets a
row that says so, without MACs. Nothing is assigned by guess: every MAC of the deployed graph ends up
in exactly one row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .deployed import DeployedGraph, Op

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


DEPTHWISE = {"XNNDepthwiseConv2d", "DEPTHWISE_CONV_2D"}


def _score(event: str, kind: str, op: Op) -> int:
    """How well an event fits an operator: 2 the same kind, 1 a kind the runtime runs it as, 0 not at all."""
    theirs = deployed_kind(op)
    if kind == theirs:
        if kind == "conv" and ("DWConv" in event) != (op.name in DEPTHWISE):
            return 1  # XNNPACK names its depthwise kernels "DWConv"; other kernels can still run one
        return 2
    if kind == "fully_connected" and theirs == "conv" and op.name not in DEPTHWISE:
        return 1  # XNNPACK runs a 1x1 convolution as a fully connected operator
    return 0


def _align(events: list[str], ops: list[Op]) -> list[tuple[int, int]]:
    """(event, operator) pairs, both in order, of the largest total fit (a weighted longest common
    subsequence): one event that fits nothing never pulls the rest out of step."""
    kinds = [profiled_kind(e) for e in events]
    n, m = len(events), len(ops)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            fit = _score(events[i], kinds[i], ops[j])
            best[i][j] = max(best[i + 1][j], best[i][j + 1], fit + best[i + 1][j + 1] if fit else 0)
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        fit = _score(events[i], kinds[i], ops[j])
        if fit and best[i][j] == fit + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i][j + 1]:
            j += 1
        else:
            i += 1
    return pairs


def map_operators(events: list[str], graph: DeployedGraph) -> list[OperatorRow]:
    """Rows for the events of one profiled run (in order) against the deployed graph's operators."""
    ops = list(enumerate(graph.ops))
    rows: list[OperatorRow] = []
    next_event, next_op = 0, 0
    for position, found in [*_align(events, list(graph.ops)), (len(events), len(ops))]:
        for unmatched in range(next_event, position):
            kind = profiled_kind(events[unmatched])
            reason = f"unmapped: no operator of the deployed graph of kind {kind!r} fits it at this point"
            rows.append(OperatorRow(events[unmatched], kind, unmatched, mapping=reason))
        passed = ops[next_op:found]
        if found == len(ops):  # the end: what no event ran
            rows += [_unprofiled(graph, index, op) for index, op in passed]
            break
        taken = ops[found]
        # Operators without an event whose output the taken one reads (directly or through each other):
        # the runtime ran them as part of it.
        wanted = set(taken[1].inputs)
        fused: list[tuple[int, Op]] = []
        for index, op in reversed(passed):
            if wanted & set(op.outputs):
                fused.insert(0, (index, op))
                wanted |= set(op.inputs)
        rows += [_unprofiled(graph, index, op) for index, op in passed if (index, op) not in fused]
        group = [*fused, taken]
        macs, weights, activations = _numbers(graph, group)
        mapping = "one to one" if not fused else f"fused: {len(group)} deployed operators ran as this one"
        if _score(events[position], profiled_kind(events[position]), taken[1]) == 1:
            mapping += f" (runs {taken[1].name} as {profiled_kind(events[position])})"
        kind = profiled_kind(events[position])
        rows.append(
            OperatorRow(
                events[position],
                kind,
                position,
                [f"{i}:{o.name}" for i, o in group],
                mapping,
                macs,
                weights,
                activations,
            )
        )
        next_event, next_op = position + 1, found + 1
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
