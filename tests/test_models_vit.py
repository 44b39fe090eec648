"""ViT: derived resolution and width, token counts, torchvision equivalence, and one tiny end-to-end conversion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models.vision_transformer import VisionTransformer

from edge_bench.errors import InputError
from edge_bench.models import ARCHS, input_shape

TINY = {"tokens": 5, "patch": 8, "hidden": 48, "mlp": 96, "depth": 2, "heads": 6, "num_classes": 10}


def fields(**point):
    return ARCHS["vit"].normalize(point, "test.toml")


def test_vit_s_defaults_and_derived_fields():
    f = fields()
    assert (f["tokens"], f["patch"], f["hidden"], f["mlp"], f["depth"], f["heads"]) == (14, 16, 384, 1536, 12, 6)
    assert f["resolution"] == 224 and f["width"] == 1.0
    g = fields(tokens=9, patch=32, hidden=192, mlp=768, heads=3)
    assert g["resolution"] == 288 and g["width"] == 0.5 and input_shape(g) == (1, 3, 288, 288)
    assert fields(tokens=11, resolution=176)["resolution"] == 176  # a consistent resolution is accepted


@pytest.mark.parametrize(
    "point, message",
    [
        ({"tokens": 9, "resolution": 224}, "resolution' is derived"),
        ({"hidden": 192, "width": 1.0}, "width' is derived"),
        ({"hidden": 100}, "divisible by 'heads'"),
        ({"aspect": 2.0}, "aspect' must be 1.0"),
        ({"tokens": 0}, "'tokens' must be > 0"),
    ],
)
def test_impossible_combinations_name_the_file(point, message):
    with pytest.raises(InputError, match=f"test.toml: arch 'vit': .*{message}"):
        fields(**point)


def test_token_count_and_position_embedding():
    f = fields(**TINY)
    model = ARCHS["vit"].build(f)
    assert model.encoder.pos_embedding.shape == (1, 5 * 5 + 1, 48)
    assert model.conv_proj.kernel_size == (8, 8) and model.conv_proj.stride == (8, 8)
    seen = {}
    model.encoder.layers[0].register_forward_hook(lambda m, args, out: seen.update(tokens=out.shape))
    with torch.no_grad():
        assert model(torch.randn(*input_shape(f))).shape == (1, 10)
    assert seen["tokens"] == (1, 26, 48)


def test_same_parameters_and_outputs_as_torchvisions_vit():
    f = fields(**TINY)
    ours = ARCHS["vit"].build(f)
    torch.manual_seed(0)
    reference = VisionTransformer(40, 8, 2, 6, 48, 96, num_classes=10).eval()
    a, b = ours.state_dict(), reference.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in b)
    x = torch.randn(2, 3, 40, 40)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-5)


def test_tiny_vit_converts_to_pte_and_tflite_and_runs(tmp_path):
    from ai_edge_litert.interpreter import Interpreter
    from executorch.runtime import Runtime

    from edge_bench.build import artifact_memory_info
    from edge_bench.export.executorch import export_pte
    from edge_bench.export.litert import export_tflite

    f = fields(**{**TINY, "tokens": 3})
    model = ARCHS["vit"].build(f)
    with torch.no_grad():  # torchvision zero-initializes the head: give the logits something to agree on
        model.heads.head.weight.normal_(generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(0)
    calibration = [torch.randn(*input_shape(f), generator=generator) for _ in range(4)]
    x = calibration[0]
    with torch.no_grad():
        expected = model(x).numpy()

    pte = export_pte(model, x, calibration)
    assert pte[4:8] == b"ET12" and artifact_memory_info(pte, "executorch")["planned_bytes"] > 0
    (tmp_path / "vit.pte").write_bytes(pte)
    method = Runtime.get().load_program(str(tmp_path / "vit.pte")).load_method("forward")
    from_pte = method.execute([x])[0].numpy()

    tflite = export_tflite(model, x, calibration)
    assert tflite[4:8] == b"TFL3"
    interpreter = Interpreter(model_content=tflite)
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.set_tensor(inp["index"], quantized(x.numpy(), inp))
    interpreter.invoke()
    from_tflite = dequantized(interpreter.get_tensor(out["index"]), out)

    for got in (from_pte, from_tflite):
        assert got.shape == expected.shape == (1, 10)
        # INT8 of a random network: close to the FP32 logits, not equal to them.
        assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.9


def quantized(array: np.ndarray, detail: dict) -> np.ndarray:
    """The tensor as the model takes it: INT8 models take INT8 (scale, zero point), float ones float."""
    scale, zero = detail["quantization"]
    if detail["dtype"] == np.float32 or scale == 0:
        return array.astype(detail["dtype"])
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(array / scale) + zero, info.min, info.max).astype(detail["dtype"])


def dequantized(array: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero = detail["quantization"]
    return array.astype(np.float32) if scale == 0 else (array.astype(np.float32) - zero) * scale
