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

from .quantize import quantize

log = logging.getLogger(__name__)


def export_tflite(model: torch.nn.Module, example: torch.Tensor, calibration: Iterable[torch.Tensor],
                  per_channel: bool = True) -> bytes:
    quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
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
