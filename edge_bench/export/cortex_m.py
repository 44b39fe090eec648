"""INT8 ExecuTorch program for Cortex-M microcontrollers: CMSIS-NN kernels, no delegate.

ExecuTorch's Cortex-M backend quantizes with its own quantizer, then rewrites the edge graph so each
quantized operator becomes a `cortex_m::` kernel that calls CMSIS-NN on the board. The whole graph
is memory-planned by ExecuTorch, so the .pte's plan is the activation SRAM the board needs (CMSIS-NN
scratch buffers aside). Building needs no cross compiler; running it needs an Arm toolchain and a
board (or an FVP), which edge-bench does not drive.

The backend imports ExecuTorch's Arm backend, which needs the `tosa_serializer` module from the
`tosa-tools` package (ExecuTorch's "ethos-u" extra). When it is missing, `cortex_m_unavailable_reason`
says so and `export_cortex_m` raises `VariantFailure` with that reason.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from ..errors import VariantFailure

DEFAULT_CPU = "cortex-m55"
TOSA_TOOLS_HINT = (
    "install it with `pip install --no-deps tosa-tools==2026.5.0` (the version ExecuTorch 1.5.1's "
    "'ethos-u' extra pins; --no-deps because its own pins, numpy<2.2 and flatbuffers==25.2.10, would "
    "downgrade the host stack)"
)


@lru_cache(maxsize=1)
def cortex_m_unavailable_reason() -> str | None:
    """None when the installed ExecuTorch can build Cortex-M programs here; else the exact reason."""
    try:
        from executorch.backends.cortex_m.passes.cortex_m_pass_manager import CortexMPassManager  # noqa: F401
        from executorch.backends.cortex_m.quantizer.quantizer import CortexMQuantizer  # noqa: F401
    except ModuleNotFoundError as e:
        if e.name == "tosa_serializer":
            return (
                "ExecuTorch's Cortex-M backend imports its Arm backend, which needs the Python module "
                f"'tosa_serializer' (PyPI package tosa-tools): {TOSA_TOOLS_HINT}"
            )
        return f"ExecuTorch's Cortex-M backend cannot be imported: missing Python module '{e.name}'"
    except ImportError as e:
        return f"ExecuTorch's Cortex-M backend cannot be imported: {e}"
    return None


def export_cortex_m(model, example, calibration: Iterable, cpu: str = DEFAULT_CPU) -> tuple[bytes, dict]:
    """Quantize with the Cortex-M quantizer, lower to `cortex_m::` (CMSIS-NN) kernels; the .pte and its plan.

    `cpu` is a Cortex-M core ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55", ...): it picks the
    CMSIS-NN variant (scalar, DSP or MVE) the kernels are built for.
    """
    reason = cortex_m_unavailable_reason()
    if reason:
        raise VariantFailure(reason)
    import torch
    from executorch.backends.cortex_m.edge_compile_config import cortex_m_edge_compile_config
    from executorch.backends.cortex_m.passes.cortex_m_pass_manager import CortexMPassManager
    from executorch.backends.cortex_m.quantizer.quantizer import CortexMQuantizer
    from executorch.backends.cortex_m.target_config import CortexMTargetConfig
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e import move_exported_model_to_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    try:
        target = CortexMTargetConfig.from_target_string(cpu)
    except ValueError as e:
        raise VariantFailure(str(e)) from None
    # The CMSIS-NN kernels work on NHWC data: the graph is captured channels-last, as ExecuTorch's
    # own Arm AOT compiler does for this backend.
    channels_last = torch.channels_last
    model = model.eval().to(memory_format=channels_last)
    example = example.to(memory_format=channels_last)
    with torch.no_grad():
        # check_guards=False: the guard submodule .module() adds otherwise is a call_module the
        # quantizer's annotation passes cannot run.
        graph = torch.export.export(model, (example,)).module(check_guards=False)
        prepared = prepare_pt2e(graph, CortexMQuantizer())
        for batch in calibration:
            prepared(batch.to(memory_format=channels_last))
        quantized = move_exported_model_to_eval(convert_pt2e(prepared))
        program = torch.export.export(quantized, (example,))
    edge = to_edge_transform_and_lower(program, compile_config=cortex_m_edge_compile_config())
    # The backend rewrites the edge program in place of a partitioner; ExecuTorch's Arm AOT compiler
    # installs the result the same way.
    edge._edge_programs["forward"] = CortexMPassManager(edge.exported_program(), target_config=target).transform()
    manager = edge.to_executorch()
    plan = manager.executorch_program.execution_plan[0]
    operators = [f"{op.name}.{op.overload}" if op.overload else op.name for op in plan.operators]
    info = {
        "cpu": target.target_string,
        "cmsis_nn": target.backend.name,
        "planned_buffer_sizes": list(plan.non_const_buffer_sizes),
        # Index 0 of non_const_buffer_sizes is reserved; the rest are the planned activation buffers.
        "planned_bytes": int(sum(plan.non_const_buffer_sizes[1:])),
        # Operators left to ExecuTorch's portable kernels (plain C++, no CMSIS-NN).
        "portable_ops": sorted(op for op in operators if not op.startswith("cortex_m::")),
    }
    return manager.buffer, info
