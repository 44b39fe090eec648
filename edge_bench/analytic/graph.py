"""The exported graph seen as a runtime sees it: operators over activation buffers.

A runtime folds batch norm into the preceding convolution, fuses clamp-style activations into their
producer and executes view-like ops without copying. `operator_steps` walks `torch.export`'s ATen graph
in execution order and yields only the operators that produce a new buffer, with the activation
buffers each one reads (weights excluded: they are counted in the model size) — the input of every
analytic memory metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.export import ExportedProgram

# Ops whose output is the input's memory (no new buffer, no computation).
ALIAS_OPS = {
    "view",
    "_unsafe_view",
    "reshape",
    "flatten",
    "squeeze",
    "unsqueeze",
    "expand",
    "alias",
    "detach",
    "clone",
    "contiguous",
    "dropout",
    "t",
    "lift_fresh_copy",
    "_assert_tensor_metadata",
}
# Ops a runtime fuses into the producer of their input (in-place epilogues).
FUSED_ACTIVATIONS = {"relu", "relu_", "hardtanh", "hardtanh_", "clamp", "relu6"}
BATCH_NORMS = {"batch_norm", "_native_batch_norm_legit_no_training", "native_batch_norm"}
PRODUCERS_OF_FUSION = {"conv2d", "convolution", "linear", "addmm", "add", "add_", "mm"} | BATCH_NORMS


def op_name(node: torch.fx.Node) -> str:
    target = node.target
    name = getattr(target, "__name__", str(target))
    return name.split(".")[0]


def _numel(value) -> int:
    return int(value.numel()) if isinstance(value, torch.Tensor) else 0


@dataclass(frozen=True)
class Step:
    """One operator: the buffer it writes, the buffers it reads (ids), and their sizes in elements."""

    index: int
    op: str
    output: int  # buffer id
    inputs: tuple[int, ...]


@dataclass
class Buffers:
    sizes: dict[int, int]  # buffer id -> elements
    steps: list[Step]
    graph_inputs: tuple[int, ...]
    graph_outputs: tuple[int, ...]


def operator_steps(program: ExportedProgram) -> Buffers:
    graph = program.graph_module.graph
    signature = program.graph_signature
    weights = (
        set(signature.inputs_to_parameters)
        | set(signature.inputs_to_buffers)
        | set(getattr(signature, "inputs_to_lifted_tensor_constants", {}))
    )
    buffer_of: dict[torch.fx.Node, int] = {}
    sizes: dict[int, int] = {}
    steps: list[Step] = []
    graph_inputs = []

    def new_buffer(node: torch.fx.Node, elements: int) -> int:
        bid = len(sizes)
        sizes[bid] = elements
        buffer_of[node] = bid
        return bid

    def activation_args(node: torch.fx.Node) -> list[torch.fx.Node]:
        return [a for a in node.all_input_nodes if a in buffer_of]

    for node in graph.nodes:
        if node.op == "placeholder":
            if node.name not in weights and isinstance(node.meta.get("val"), torch.Tensor):
                graph_inputs.append(new_buffer(node, _numel(node.meta["val"])))
            continue
        if node.op != "call_function":
            continue
        name = op_name(node)
        args = activation_args(node)
        if name == "getitem":
            # Multi-output ops (batch norm) return tuples: the first element is the activation.
            if args and node.args[1] == 0:
                buffer_of[node] = buffer_of[args[0]]
            continue
        if not args:
            continue  # arithmetic on weights or constants only
        producer = args[0]
        fusable = (name in FUSED_ACTIVATIONS or name in BATCH_NORMS) and (
            producer.op == "call_function" and op_name(_through_getitem(producer)) in PRODUCERS_OF_FUSION
        )
        if name in ALIAS_OPS or fusable:
            buffer_of[node] = buffer_of[producer]
            continue
        value = node.meta.get("val")
        if isinstance(value, (tuple, list)):
            value = value[0]
        out = new_buffer(node, _numel(value))
        steps.append(Step(len(steps), name, out, tuple(dict.fromkeys(buffer_of[a] for a in args))))

    outputs = []
    for node in graph.nodes:
        if node.op == "output":
            for arg in node.all_input_nodes:
                if arg in buffer_of:
                    outputs.append(buffer_of[arg])
    return Buffers(sizes, steps, tuple(graph_inputs), tuple(dict.fromkeys(outputs)))


def _through_getitem(node: torch.fx.Node) -> torch.fx.Node:
    while op_name(node) == "getitem" and node.all_input_nodes:
        node = node.all_input_nodes[0]
    return node
