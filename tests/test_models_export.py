"""Every builder at a tiny size: exportable with torch.export and quantizable with both PT2E quantizers."""

from __future__ import annotations

import pytest
import torch

from edge_bench.models import ARCHS, input_shape

# The smallest configuration of each arch that still has its full structure.
TINY = {
    "resnet50": {"width": 0.25, "resolution": 32, "num_classes": 10},
    "resnet50-fcr": {"width": 0.25, "resolution": 48, "resize_after_stem": 16, "num_classes": 10},
    "mobilenet_v2": {"width": 0.35, "resolution": 32, "num_classes": 10},
    "vit": {"tokens": 3, "patch": 8, "hidden": 48, "mlp": 96, "depth": 2, "heads": 6, "num_classes": 10},
    "regseg": {"width": 0.5, "resolution": 32},
}


def tiny(name: str) -> tuple[torch.nn.Module, torch.Tensor, dict]:
    arch = name.split("-")[0]
    fields = ARCHS[arch].normalize(TINY[name], "test")
    torch.manual_seed(1)
    return ARCHS[arch].build(fields), torch.randn(*input_shape(fields)), fields


def quantizer(kind: str):
    if kind == "xnnpack":
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )

        return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    from litert_torch.quantize import pt2e_quantizer

    return pt2e_quantizer.PT2EQuantizer().set_global(
        pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True)
    )


def ops(graph_module: torch.fx.GraphModule) -> set[str]:
    return {str(n.target) for n in graph_module.graph.nodes if n.op == "call_function"}


@pytest.mark.parametrize("name", sorted(TINY))
def test_builder_exports_and_quantizes_with_both_pt2e_quantizers(name):
    from edge_bench.export.quantize import quantize

    model, x, _ = tiny(name)
    assert not model.training
    with torch.no_grad():
        expected = model(x)
        exported = torch.export.export(model, (x,)).module()
        assert torch.allclose(exported(x), expected, atol=1e-5)
    for kind in ("xnnpack", "litert"):
        converted = quantize(model, x, quantizer(kind), [x], fold_quantize=(kind == "xnnpack"))
        names = ops(converted)
        assert any("quantize_per_tensor" in op for op in names), f"{kind}: no quantize node in {name}"
        assert any("dequantize_per_channel" in op for op in names), (
            f"{kind}: weights not quantized per channel in {name}"
        )
        with torch.no_grad():
            out = converted(x)
        assert out.shape == expected.shape and torch.isfinite(out).all()
