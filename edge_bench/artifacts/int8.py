"""How much of an artifact runs in INT8, read from its deployed graph (`deployed.py`).

An operator runs in INT8 when every tensor it reads or writes, weights aside, is 8-bit; in float when
any of them is float. Quantize and dequantize operators (LiteRT's QUANTIZE/DEQUANTIZE, XNNPACK's
Convert, ExecuTorch's quantize/dequantize kernels) convert between the two and are counted apart.
Shares are of the other operators, and of their multiply-accumulates (convolutions, fully connected
layers, batched matrix products): a model is INT8 end to end when 100% of its MACs are.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .deployed import DeployedGraph, Op

CONVERT_OPS = {"QUANTIZE", "DEQUANTIZE", "XNNConvert"}
CONVERT_KERNEL_PREFIXES = ("quantized_decomposed::quantize_", "quantized_decomposed::dequantize_")

# Why an operator stays float, by runtime and the name the deployed graph gives it: what the runtime
# and its converter offer (litert-torch 0.10, ExecuTorch 1.5 XNNPACK), not a guess.
_ET_FLOAT_ONLY = "ExecuTorch's XNNPACK partitioner lowers it in float only (no static INT8 form)"
FLOAT_REASONS: dict[str, dict[str, str]] = {
    "executorch": {
        "XNNSigmoid": _ET_FLOAT_ONLY, "XNNSoftmax": _ET_FLOAT_ONLY, "XNNGelu": _ET_FLOAT_ONLY,
        "XNNBatchMatrixMultiply": _ET_FLOAT_ONLY,
        "XNNAvgPooling2d": _ET_FLOAT_ONLY + "; edge-bench writes a pool as a depthwise convolution, but not "
                           "one with ceil_mode or a divisor override",
        "XNNStaticResizeBilinear2D": _ET_FLOAT_ONLY, "XNNStaticConstantPad": _ET_FLOAT_ONLY,
        "XNNReciprocalSquareRoot": _ET_FLOAT_ONLY, "XNNSquareRoot": _ET_FLOAT_ONLY, "XNNDiv": _ET_FLOAT_ONLY,
        "XNNTanh": _ET_FLOAT_ONLY, "XNNExp": _ET_FLOAT_ONLY, "XNNHardswish": _ET_FLOAT_ONLY,
        "aten::native_layer_norm.out": "ExecuTorch's XNNPACK partitioner has no layer norm: "
                                       "ExecuTorch's portable kernel runs it outside the delegate, in float",
    },
    "litert": {},
}  # fmt: skip
OUTSIDE_DELEGATE = "run outside the XNNPACK delegate by ExecuTorch's portable kernels, in float"
UNEXPLAINED = "its inputs reach it in float: no INT8 annotation covers it"


def op_precision(graph: DeployedGraph, op: Op) -> str:
    """ "int8", "float", "convert", or "other" (integer index or shape arithmetic only)."""
    if op.name in CONVERT_OPS or op.name.startswith(CONVERT_KERNEL_PREFIXES):
        return "convert"
    kinds = {t.kind for t in graph.activations(op)}
    if "float" in kinds:
        return "float"
    return "int8" if "int8" in kinds else "other"


def float_reason(runtime: str, op: Op) -> str:
    known = FLOAT_REASONS.get(runtime, {}).get(op.name)
    return known or (OUTSIDE_DELEGATE if op.where == "portable kernels" else UNEXPLAINED)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def int8_summary(graph: DeployedGraph, runtime: str) -> dict[str, Any]:
    """The INT8 coverage of a deployed graph.

    Keys: `ops` (operators other than conversions), `int8_ops`, `float_ops`, `other_ops` (integer index
    or shape arithmetic only), `int8_ops_pct` (INT8 among the INT8 and float ones); `macs`, `int8_macs`,
    `int8_macs_pct`; `convert_ops` (quantize/dequantize) and their
    histogram; `float_op_histogram` and `float_reasons` (op name -> why it stays float); `fully_int8`:
    every MAC and every operator but the conversions at the graph's edges in INT8.
    """
    counts: Counter[str] = Counter()
    macs: Counter[str] = Counter()
    floats: Counter[str] = Counter()
    converts: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    for op in graph.ops:
        precision = op_precision(graph, op)
        counts[precision] += 1
        macs[precision] += op.macs
        if precision == "float":
            floats[op.name] += 1
            reasons.setdefault(op.name, float_reason(runtime, op))
        elif precision == "convert":
            converts[op.name] += 1
    computing = counts["int8"] + counts["float"] + counts["other"]
    total_macs = sum(macs.values())
    result: dict[str, Any] = {
        "ops": computing, "int8_ops": counts["int8"], "float_ops": counts["float"], "other_ops": counts["other"],
        "int8_ops_pct": _pct(counts["int8"], counts["int8"] + counts["float"]),
        "macs": total_macs, "int8_macs": macs["int8"], "int8_macs_pct": _pct(macs["int8"], total_macs),
        "convert_ops": counts["convert"], "convert_op_histogram": dict(sorted(converts.items())),
        "float_op_histogram": dict(sorted(floats.items())), "float_reasons": dict(sorted(reasons.items())),
        "fully_int8": counts["float"] == 0 and macs["int8"] == total_macs and not graph.unread,
    }  # fmt: skip
    if graph.unread:
        result["note"] = "not read, so not counted: " + ", ".join(graph.unread)
    return result
