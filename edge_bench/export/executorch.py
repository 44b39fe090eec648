"""INT8 ExecuTorch program lowered to the XNNPACK delegate."""

from __future__ import annotations

from typing import Iterable

import torch
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config
from executorch.exir import to_edge_transform_and_lower

from .quantize import quantize


def export_pte(model: torch.nn.Module, example: torch.Tensor, calibration: Iterable[torch.Tensor],
               per_channel: bool = True) -> bytes:
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=per_channel))
    quantized = quantize(model, example, quantizer, calibration)
    with torch.no_grad():
        program = torch.export.export(quantized, (example,))
    manager = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch()
    return manager.buffer
