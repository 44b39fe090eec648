"""PT2E static INT8 quantization with a calibration set."""

from __future__ import annotations

from typing import Iterable

import torch
from torchao.quantization.pt2e import move_exported_model_to_eval
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

from ..config import EvalConfig, QuantizeConfig
from ..errors import InputError


def calibration_inputs(cfg: QuantizeConfig, input_shape: tuple[int, ...], evaluation: EvalConfig) -> list[torch.Tensor]:
    """`cfg.batches` single-image batches: seeded standard-normal images, or images from a folder."""
    if cfg.calibration == "random":
        generator = torch.Generator().manual_seed(cfg.seed)
        return [torch.randn(*input_shape, generator=generator) for _ in range(cfg.batches)]
    from pathlib import Path

    from ..accuracy.datasets import calibration_batches

    folder = Path(cfg.calibration).expanduser()
    if not folder.is_dir():
        raise InputError(f"quantize.calibration: '{cfg.calibration}' is not a folder of images (or use \"random\")")
    arrays = list(calibration_batches(folder, input_shape[2:], cfg.batches, cfg.seed, evaluation))
    if not arrays:
        raise InputError(f"quantize.calibration: no .jpg/.jpeg/.png images under {folder}")
    return [torch.from_numpy(a) for a in arrays]


def quantize(
    model: torch.nn.Module,
    example: torch.Tensor,
    quantizer,
    calibration: Iterable[torch.Tensor],
    fold_quantize: bool = True,
) -> torch.fx.GraphModule:
    """Export, insert observers, calibrate, convert: the model with quantize/dequantize pairs in its graph."""
    with torch.no_grad():
        graph = torch.export.export(model.eval(), (example,)).module()
        prepared = prepare_pt2e(graph, quantizer)
        for batch in calibration:
            prepared(batch)
        # An exported GraphModule ignores .eval(): this swaps dropout and batch norm to inference.
        return move_exported_model_to_eval(convert_pt2e(prepared, fold_quantize=fold_quantize))
