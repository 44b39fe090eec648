"""Graph rewrites that keep an INT8 LiteRT graph inside LiteRT's XNNPACK delegate.

The delegate (ai-edge-litert 2.3.0) leaves two INT8 operators to LiteRT's interpreter, and each one
left out splits the graph into one more delegate partition:

- a ReLU of its own (its ReLU kernel takes float only). A ReLU fuses into the convolution or addition
  before it only where that operator's output has no other reader; NASNet's cell inputs are read
  both through a ReLU and as they are. `standalone_relus_in_identity_convolutions` fuses such a ReLU
  into a 1x1 depthwise convolution with weights 1 (exact in INT8): the same values, for one MAC per
  element, which the deployed graph's MAC count shows. (A 1x1 max pool with the ReLU fused, the
  cheaper form, makes litert-torch's layout pass keep the pool in NCHW, and the convolutions reading
  the same tensor then run in float between transposes; an addition of zero does the same.)
- a concatenation of more inputs than its concatenate node takes (NASNet's normal cell joins six).
  `concatenations_in_steps` concatenates the first inputs, then that with the rest: the same tensor.

Both run before annotation (the quantizer's `transform_for_annotation`), so every new node gets its
INT8 annotation like the others. ExecuTorch's XNNPACK delegate takes both operators as they are.
"""

from __future__ import annotations

import torch
from torch.fx import GraphModule, Node

from .annotate import BINARY, CONV_PRODUCERS, CONV_TARGETS, FUSABLE_AFTER, _call, _constant, _recompiled, _replace

aten = torch.ops.aten
# A concatenation of up to this many INT8 inputs stays inside the delegate; one of six does not.
MAX_CONCAT_INPUTS = 5
_FUSES_RELU = (*CONV_TARGETS, *CONV_PRODUCERS, *BINARY)


def _fuses_into_producer(relu: Node) -> bool:
    producer = relu.args[0]
    return isinstance(producer, Node) and producer.target in _FUSES_RELU and len(producer.users) == 1


def standalone_relus_in_identity_convolutions(model: GraphModule) -> GraphModule:
    """relu(x) rewritten as relu(depthwise 1x1 convolution of x with weights 1) where the ReLU cannot fuse
    into x's producer; several ReLUs of the same x become one (NASNet applies one to a hidden state in
    each operation reading it)."""
    graph = model.graph
    relus = [n for n in graph.nodes if n.op == "call_function" and n.target in FUSABLE_AFTER]
    first: dict[Node, Node] = {}
    for node in relus:
        x = node.args[0]
        if x not in first:
            first[x] = node
        else:  # nodes are in topological order: x's first ReLU comes before every user of this one
            node.replace_all_uses_with(first[x])
            graph.erase_node(node)
    for node in first.values():
        x, value = node.args[0], node.args[0].meta.get("val") if isinstance(node.args[0], Node) else None
        if _fuses_into_producer(node) or not isinstance(value, torch.Tensor) or value.dim() != 4:
            continue
        channels = int(value.shape[1])
        with graph.inserting_before(node):
            ones = _constant(
                model, f"_identity_{node.name}", torch.ones(channels, 1, 1, 1), getattr(value, "fake_mode", None)
            )
            identity = _call(graph, aten.conv2d.default, x, ones, None, [1, 1], [0, 0], [1, 1], channels)
            relu = _call(graph, aten.relu.default, identity)
        _replace(node, relu)
    return _recompiled(model)


def concatenations_in_steps(model: GraphModule, most: int = MAX_CONCAT_INPUTS) -> GraphModule:
    """cat([a, b, ..., z]) of more than `most` inputs rewritten as cat([cat([a, ..., the most-th]), ...])."""
    graph = model.graph
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target != aten.cat.default or len(node.args[0]) <= most:
            continue
        parts, rest = list(node.args[0]), node.args[1:]
        with graph.inserting_before(node):
            while len(parts) > most:
                parts = [_call(graph, aten.cat.default, parts[:most], *rest), *parts[most:]]
            joined = _call(graph, aten.cat.default, parts, *rest)
        _replace(node, joined)
    return _recompiled(model)
