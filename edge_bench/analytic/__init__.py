"""The analytic model of a variant: FLOPs, parameters, INT8 model size and activation memory."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from .graph import BATCH_NORMS, op_name, operator_steps
from .memory import liveness_peak_bytes, paper_activation_bytes

WEIGHT_OPS = {"conv2d", "convolution", "linear", "addmm", "mm", "conv1d", "conv_transpose2d"}


def count_flops(model: torch.nn.Module, example: torch.Tensor) -> int:
    """FLOPs of one forward pass (a multiply-add counts 2), from torch's own flop counter."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(example)
    return int(counter.get_total_flops())


def int8_weight_bytes(program: torch.export.ExportedProgram) -> int:
    """Model size as quantized: conv/linear weights INT8, their biases INT32 (a bias appears when batch norm
    is folded into a bias-less conv), every other parameter (norms, embeddings) kept as FP32."""
    signature = program.graph_signature
    names = {**signature.inputs_to_parameters, **signature.inputs_to_buffers}
    state = program.state_dict
    counted: set[str] = set()
    total = 0
    for node in program.graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        name = op_name(node)
        params = [a for a in node.all_input_nodes if a.op == "placeholder" and a.name in names]
        if name in WEIGHT_OPS and params:
            weight, *bias = params
            total += _once(counted, names[weight.name], state) * 1
            for b in bias:
                total += _once(counted, names[b.name], state) * 4
            if not bias and _feeds_batch_norm(node):
                total += int(state[names[weight.name]].shape[0]) * 4
        elif name in BATCH_NORMS:
            for p in params:  # folded into the preceding conv
                counted.add(names[p.name])
    for key, tensor in state.items():
        if key not in counted and "num_batches_tracked" not in key:
            total += _once(counted, key, state) * 4
    return total


def _once(counted: set[str], key: str, state: dict) -> int:
    if key in counted:
        return 0
    counted.add(key)
    return int(state[key].numel())


def _feeds_batch_norm(node: torch.fx.Node) -> bool:
    return any(op_name(u) in BATCH_NORMS for u in node.users)


def analyze_model(model: torch.nn.Module, input_shape: tuple[int, ...]) -> dict[str, Any]:
    model = model.eval()
    example = torch.randn(*input_shape)
    flops = count_flops(model, example)
    with torch.no_grad():
        program = torch.export.export(model, (example,))
    buffers = operator_steps(program)
    activation, where = paper_activation_bytes(buffers)
    weights = int8_weight_bytes(program)
    return {
        "flops": flops,
        "macs": flops // 2,
        "params": sum(p.numel() for p in model.parameters()),
        "weight_bytes": weights,
        "activation_bytes": activation,
        "activation_op": where,
        "memory_bytes": weights + activation,
        "liveness_bytes": liveness_peak_bytes(buffers),
        "input_shape": list(input_shape),
    }
