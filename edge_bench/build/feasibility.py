"""Will a variant's build fit in this machine's memory? Estimated before anything is allocated.

The model is traced on PyTorch's meta device (shapes only, no memory) and every operator's FP32
inputs and outputs are sized. A build holds more than that at once: the batch-norm statistics of a
random network are re-estimated on two images at a time, and a forward pass keeps a skip connection
and the operator's input alive beside its output; the converter stack itself takes about as much as a
MobileNetV2 conversion does (`memory.BASE_PEAK_BYTES`, measured). A variant whose estimate exceeds
the memory available is refused with the estimate and the limit, before it can take the machine down.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import InputError
from .memory import BASE_PEAK_BYTES, GIB, mem_available_bytes

IMAGES_AT_ONCE = 2  # prepare_random_network's batch
ALIVE_PER_OPERATOR = 3  # an operator's input and output, and a skip connection or two, in FP32


def largest_operator_bytes(fields: Mapping[str, Any]) -> int:
    """The largest FP32 input-plus-output of any operator of the variant's model, for one image."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from ..models import arch_of, input_shape

    class Sizes(TorchDispatchMode):
        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            tensors = [
                a
                for a in (*args, *(kwargs or {}).values(), *(out if isinstance(out, (tuple, list)) else (out,)))
                if isinstance(a, torch.Tensor)
            ]
            self.largest = max(self.largest, sum(t.numel() * 4 for t in tensors))
            return out

    meta_fields = (
        {**fields, "weights": "random", "checkpoint": ""} if "checkpoint" in fields else {**fields, "weights": "random"}
    )
    with torch.device("meta"):
        model = arch_of(fields["arch"]).build(meta_fields).eval()
        x = torch.empty(input_shape(fields))
    sizes = Sizes()
    with torch.no_grad(), sizes:
        model(x)
    return sizes.largest


def check_fits(variant, available: int | None = None) -> None:
    """InputError when building `variant` would need more memory than is available."""
    available = mem_available_bytes() if available is None else available
    if available is None:
        return
    largest = largest_operator_bytes(variant.fields)
    need = BASE_PEAK_BYTES + IMAGES_AT_ONCE * ALIVE_PER_OPERATOR * largest
    if need > available:
        raise InputError(
            f"variant {variant.name}: building it needs about {need / GIB:.1f} GiB (its largest operator reads and "
            f"writes {largest / GIB:.2f} GiB of FP32 activations per image), more than the {available / GIB:.1f} GiB "
            "available; choose a smaller resolution or width"
        )
