"""INT8 LiteRT flatbuffer through litert-torch and its PT2E quantizer."""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path
from typing import Iterable

import litert_torch
import torch
from litert_torch.quantize import pt2e_quantizer
from litert_torch.quantize.quant_config import QuantConfig

from .annotate import (
    LITERT_INT8,
    annotate_int8,
    average_pools_as_depthwise_convolutions,
    decompose_layer_norms,
    relus_before_cat,
    unfuse_shared_relus,
)
from .delegate_shapes import concatenations_in_steps, standalone_relus_in_identity_convolutions
from .quantize import quantize

log = logging.getLogger(__name__)


class LiteRtInt8Quantizer(pt2e_quantizer.PT2EQuantizer):
    """litert-torch's quantizer, then every operator LiteRT runs in INT8 that it left unannotated."""

    def transform_for_annotation(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        model = average_pools_as_depthwise_convolutions(relus_before_cat(decompose_layer_norms(model)))
        model = standalone_relus_in_identity_convolutions(concatenations_in_steps(model))
        return super().transform_for_annotation(model)

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        from litert_torch.quantize.pt2e_quantizer_utils import get_fixed_qparams_qspec, propagate_annotation

        model = unfuse_shared_relus(super().annotate(model), self.global_config)
        annotate_int8(model, self.global_config, LITERT_INT8, lambda: get_fixed_qparams_qspec(self.global_config))
        propagate_annotation(model)
        return model


def export_tflite(
    model: torch.nn.Module,
    example: torch.Tensor,
    calibration: Iterable[torch.Tensor],
    per_channel: bool = True,
    complete_int8: bool = True,
) -> bytes:
    """The model as an INT8 .tflite. `complete_int8=False` keeps litert-torch's own annotations only
    (the float additions and pools it leaves), for comparison."""
    quantizer_type = LiteRtInt8Quantizer if complete_int8 else pt2e_quantizer.PT2EQuantizer
    quantizer = quantizer_type().set_global(
        pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=per_channel)
    )
    # litert-torch lowers the q/dq pairs itself, so the weights stay unfolded here. Its annotator prints
    # a line for every ReLU feeding two consumers (each ResNet skip): kept out of our output.
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter):
        quantized = quantize(model, example, quantizer, calibration, fold_quantize=False)
    log.debug("litert-torch quantizer said: %s", chatter.getvalue().strip())
    quantized.training = False  # the exported module is in inference form; tell the converter so
    converted = litert_torch.convert(quantized, (example,), quant_config=QuantConfig(pt2e_quantizer=quantizer))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        converted.export(str(path))
        return path.read_bytes()
