"""Activation memory: the paper's metric and the liveness peak, over `graph.operator_steps`.

Both count activations as INT8 (1 byte per element), as the paper does for quantized networks.
"""

from __future__ import annotations

from .graph import Buffers

BYTES_PER_ACTIVATION = 1  # INT8


def paper_activation_bytes(buffers: Buffers) -> tuple[int, str]:
    """The largest, over operators, of the sum of its input and output tensor sizes; and which op."""
    best, where = 0, ""
    for step in buffers.steps:
        total = buffers.sizes[step.output] + sum(buffers.sizes[b] for b in step.inputs)
        if total > best:
            best, where = total, f"{step.index}:{step.op}"
    return best * BYTES_PER_ACTIVATION, where


def liveness_peak_bytes(buffers: Buffers) -> int:
    """The largest total of buffers alive at once, in execution order.

    A buffer lives from the step that writes it (graph inputs: from the start) to the last step that
    reads it (graph outputs: to the end), so a skip connection keeps its tensor alive across the block.
    """
    last_use: dict[int, int] = {}
    end = len(buffers.steps)
    for step in buffers.steps:
        for b in step.inputs:
            last_use[b] = step.index
    for b in buffers.graph_outputs:
        last_use[b] = end
    born = {step.output: step.index for step in buffers.steps}
    for b in buffers.graph_inputs:
        born[b] = -1
    peak = 0
    for step in buffers.steps:
        alive = sum(
            size
            for b, size in buffers.sizes.items()
            if born.get(b, end) <= step.index <= last_use.get(b, born.get(b, end))
        )
        peak = max(peak, alive)
    return peak * BYTES_PER_ACTIVATION
