"""INT8 ExecuTorch program lowered to the XNNPACK delegate."""

from __future__ import annotations

from typing import Iterable

import torch
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config
from executorch.exir import to_edge_transform_and_lower

from .annotate import EXECUTORCH_INT8, annotate_int8, average_pools_as_depthwise_convolutions, xnnpack_takes_in_int8
from .quantize import quantize


class XnnpackInt8Quantizer(XNNPACKQuantizer):
    """XNNPACK's quantizer, then every operator its delegate runs in INT8 that it left unannotated."""

    def transform_for_annotation(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        return super().transform_for_annotation(average_pools_as_depthwise_convolutions(model))

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer_utils import propagate_annotation

        model = super().annotate(model)
        annotate_int8(model, self.global_config, EXECUTORCH_INT8, accepts=xnnpack_takes_in_int8)
        propagate_annotation(model)
        return model


def export_pte(
    model: torch.nn.Module,
    example: torch.Tensor,
    calibration: Iterable[torch.Tensor],
    per_channel: bool = True,
    complete_int8: bool = True,
) -> bytes:
    """The model as an INT8 ExecuTorch program for XNNPACK. `complete_int8=False` keeps XNNPACK's own
    quantizer annotations only, for comparison."""
    quantizer_type = XnnpackInt8Quantizer if complete_int8 else XNNPACKQuantizer
    quantizer = quantizer_type().set_global(get_symmetric_quantization_config(is_per_channel=per_channel))
    quantized = quantize(model, example, quantizer, calibration)
    with torch.no_grad():
        program = torch.export.export(quantized, (example,))
    manager = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch()
    return manager.buffer
