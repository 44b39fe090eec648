"""INT8 annotations for the operators a runtime's own PT2E quantizer leaves in float.

Each runtime's quantizer annotates a fixed set of patterns; anything it misses is exported between a
DEQUANTIZE and a QUANTIZE and runs in float. Two gaps matter here:

- litert-torch's quantizer finds additions, multiplications, concatenations and pools through the
  `source_fn_stack` a graph traced by dynamo carries. `torch.export.export` (non-strict, the default)
  does not record it, so those annotators match nothing: every residual addition of a ResNet, and
  every operator of a ViT but its linear layers, stays float.
- XNNPACK's quantizer matches aten targets, but not subtractions or in-place additions without a ReLU.

LiteRT has no layer-norm operator: its converter decomposes one in float between a DEQUANTIZE and a
QUANTIZE. `decompose_layer_norms` writes each layer norm as the mean, subtraction, products and
reciprocal square root it is made of, before annotation, so that each part gets an INT8 annotation
and an INT8 kernel. Neither runtime's XNNPACK delegate runs an INT8 average pool:
`average_pools_as_depthwise_convolutions` writes each as the depthwise convolution it is (times a
constant map where the pool leaves its padding out of the count), which both run in INT8.

litert-torch's conv-ReLU and add-ReLU annotators fuse a ReLU into a convolution or an addition whose
output also goes elsewhere (NASNet's cell inputs); the producer then runs in float (a convolution
with run-time dequantized filters). `unfuse_shared_relus` quantizes such a producer's output and runs
the ReLU on its own.

`annotate_int8` runs after the runtime's quantizer and annotates, by aten target, the operators the
runtime runs in INT8 that are still unannotated (per runtime: `LITERT_INT8`, `EXECUTORCH_INT8`).
Operators a runtime runs only in float are left alone, so no quantize/dequantize pair is added around
them; `artifacts.int8` reports them with the reason.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Mapping

import torch
from torch.fx import GraphModule, Node
from torchao.quantization.pt2e.quantizer import (
    FixedQParamsQuantizationSpec,
    QuantizationAnnotation,
    SharedQuantizationSpec,
)

aten = torch.ops.aten
ANNOTATION = "quantization_annotation"
EXACT_SCALE = "edge_bench_exact_scale"  # on a constant whose values are whole multiples of this scale

# How an operator is quantized:
#   "rescale": each float input with the activation spec, the output with its own observer;
#   "shared":  output and every input on the first input's scale (data movement, max, ReLU, concat,
#              average pools: the INT8 kernels of both runtimes want one scale there);
#   "fixed":   the output on the fixed scale the INT8 kernel requires (softmax, sigmoid: 1/256, -128).
BINARY = {
    aten.add.Tensor: "rescale",
    aten.add_.Tensor: "rescale",
    aten.sub.Tensor: "rescale",
    aten.mul.Tensor: "rescale",
    aten.mul_.Tensor: "rescale",
}
DATA_MOVEMENT = {
    op: "shared" for op in (
        aten.reshape.default, aten.view.default, aten.permute.default, aten.transpose.int, aten.flatten.using_ints,
        aten.slice.Tensor, aten.squeeze.dim, aten.unsqueeze.default, aten.dropout.default, aten.clone.default,
    )
}  # fmt: skip
CLAMPS = {
    aten.relu.default: "shared",
    aten.relu_.default: "shared",
    aten.hardtanh.default: "shared",
    aten.hardtanh_.default: "shared",
    aten.clamp.default: "shared",
}
POOLS = {
    aten.max_pool2d.default: "shared",
    aten.cat.default: "shared",
    aten.mean.dim: "rescale",
    aten.adaptive_avg_pool2d.default: "shared",
}

# LiteRT has INT8 builtin kernels (which its XNNPACK delegate also runs) for all of these.
LITERT_INT8: Mapping[Any, str] = {
    **BINARY, **DATA_MOVEMENT, **CLAMPS, **POOLS,
    aten.avg_pool2d.default: "shared", aten.constant_pad_nd.default: "shared",
    aten.upsample_bilinear2d.vec: "shared", aten.bmm.default: "rescale", aten.gelu.default: "rescale",
    aten.rsqrt.default: "rescale",
    aten.softmax.int: "fixed", aten._softmax.default: "fixed", aten.sigmoid.default: "fixed",
}  # fmt: skip
# ExecuTorch's XNNPACK partitioner lowers these in static INT8 (its configs' STATIC_QUANT precision);
# average pooling, sigmoid, softmax, GELU, bmm and resizing it lowers in float only.
EXECUTORCH_INT8: Mapping[Any, str] = {**BINARY, **DATA_MOVEMENT, **CLAMPS, **POOLS}


def xnnpack_takes_in_int8(node: Node) -> bool:
    """XNNPACK lowers a mean only as a global average pool: a 4-D input, over its last two dimensions,
    dimensions kept. Any other mean, quantized, would run outside the delegate between conversions."""
    if node.target != aten.mean.dim:
        return True
    value = node.args[0].meta.get("val") if isinstance(node.args[0], Node) else None
    if not isinstance(value, torch.Tensor) or value.dim() != 4:
        return False
    dims = sorted(d % 4 for d in node.args[1]) if len(node.args) > 1 else []
    return dims == [2, 3] and len(node.args) > 2 and bool(node.args[2])


FUSABLE_AFTER = (aten.relu.default, aten.relu_.default)  # a ReLU right after an add or mul fuses into it
CONV_TARGETS = (aten.conv1d.default, aten.conv2d.default, aten.convolution.default)


def annotated(node: Node) -> bool:
    annotation = node.meta.get(ANNOTATION)
    return bool(annotation is not None and annotation._annotated)


def _output_spec(node: Node):
    annotation = node.meta.get(ANNOTATION)
    return annotation.output_qspec if annotation is not None else None


def _float_tensor(arg: Any, model: GraphModule | None = None) -> bool:
    if not isinstance(arg, Node):
        return False
    value = arg.meta.get("val")
    if value is None and arg.op == "get_attr" and model is not None:
        value = getattr(model, str(arg.target), None)  # a constant the quantizer made from a scalar
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _inputs(node: Node, model: GraphModule) -> list[Node]:
    args = node.args[0] if node.target == aten.cat.default else node.args[:2]
    return [a for a in args if _float_tensor(a, model)]


def _annotate(node: Node, inputs: dict[Node, Any], output: Any) -> None:
    node.meta[ANNOTATION] = QuantizationAnnotation(input_qspec_map=inputs, output_qspec=output, _annotated=True)


def annotate_int8(
    model: GraphModule,
    config: Any,
    table: Mapping[Any, str],
    fixed_qspec: Callable[[], Any] | None = None,
    accepts: Callable[[Node], bool] = lambda node: True,
) -> GraphModule:
    """Annotate every still-unannotated operator of `table` (that `accepts` takes) for INT8, in graph order.

    `config` is the runtime quantizer's QuantizationConfig (its `input_activation` and
    `output_activation` specs are used); `fixed_qspec` gives the spec of "fixed" operators.
    """
    for node in model.graph.nodes:
        kind = table.get(node.target) if node.op == "call_function" else None
        if kind is None or annotated(node) or not _float_tensor(node) or not accepts(node):
            continue
        inputs = _inputs(node, model)
        if not inputs:
            continue
        if kind == "shared":
            first = inputs[0]
            # One scale: the producer's when it has one, else an observer on the first input.
            reference = SharedQuantizationSpec(first) if _output_spec(first) is not None else None
            spec_map = {first: reference or config.input_activation}
            shared = reference or SharedQuantizationSpec((first, node))
            spec_map.update({other: shared for other in inputs[1:]})
            _annotate(node, spec_map, shared)
        elif kind == "fixed":
            if fixed_qspec is None:
                continue
            _annotate(node, {inputs[0]: config.input_activation}, fixed_qspec())
        else:
            spec_map = {arg: _exact_spec(arg) or config.input_activation for arg in inputs}
            users = list(node.users)
            if (
                node.target in BINARY
                and len(users) == 1
                and users[0].target in FUSABLE_AFTER
                and not annotated(users[0])
            ):
                _annotate(node, spec_map, None)
                _annotate(users[0], {}, config.output_activation)
            else:
                _annotate(node, spec_map, config.output_activation)
    return model


def _exact_spec(node: Node) -> FixedQParamsQuantizationSpec | None:
    """An INT8 spec that holds the constant `node` exactly, where `average_pools_as_depthwise_convolutions`
    found one."""
    scale = node.meta.get(EXACT_SCALE)
    if scale is None:
        return None
    return FixedQParamsQuantizationSpec(
        dtype=torch.int8, scale=scale, zero_point=0, quant_min=-128, quant_max=127, qscheme=torch.per_tensor_affine
    )


def unfuse_shared_relus(model: GraphModule, config: Any) -> GraphModule:
    """A ReLU annotated as fused into a convolution or a binary operator whose output has other users
    gets its own INT8 annotation, and the producer an INT8 output: fused, the producer's output is float."""
    for relu in model.graph.nodes:
        producer = relu.args[0] if relu.op == "call_function" and relu.target in FUSABLE_AFTER else None
        if not (isinstance(producer, Node) and (producer.target in CONV_TARGETS or producer.target in BINARY)):
            continue
        if not (annotated(relu) and annotated(producer)):
            continue
        if len(producer.users) == 1 or _output_spec(producer) is not None:
            continue
        producer.meta[ANNOTATION].output_qspec = config.output_activation
        shared = SharedQuantizationSpec(producer)
        _annotate(relu, {producer: shared}, shared)
    return model


def _exact_scale(values: torch.Tensor) -> float | None:
    """The coarsest scale 1/m with every value a whole multiple of it within INT8 (m up to 127 / max)."""
    for m in range(int(127 / float(values.max())), 0, -1):
        scaled = values.double() * m
        if torch.allclose(scaled, scaled.round(), atol=1e-9, rtol=0):
            return 1.0 / m
    return None


def average_pools_as_depthwise_convolutions(model: GraphModule) -> GraphModule:
    """Each `avg_pool2d` rewritten as a depthwise convolution with constant weights 1 / window size, and
    where the pool leaves its padding out of the count, times a constant map of window size over valid
    count (9/4, 3/2, 1 for 3x3): the same values. Both runtimes' XNNPACK delegates run INT8 depthwise
    convolutions and products, not INT8 average pools (ExecuTorch's lowers pools in float only; LiteRT's
    leaves INT8 AVERAGE_POOL_2D to the interpreter), and LiteRT's converter makes a padding-excluding
    pool one AVERAGE_POOL_2D only for "SAME" padding. INT8 holds the weights and the map exactly."""
    graph = model.graph
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target != aten.avg_pool2d.default:
            continue
        defaults = (None, None, [], 0, False, True, None)  # avg_pool2d's, by position
        args = list(node.args) + list(defaults[len(node.args) :])
        x, kernel, stride, padding, ceil_mode, include_pad, divisor = args
        value = x.meta.get("val")
        if ceil_mode or divisor is not None or not isinstance(value, torch.Tensor) or value.dim() != 4:
            continue
        stride = stride or kernel
        kernel, stride, padding = ([v] * 2 if isinstance(v, int) else list(v) for v in (kernel, stride, padding))
        channels, size = int(value.shape[1]), list(value.shape[2:])
        mode = getattr(value, "fake_mode", None)
        with graph.inserting_before(node):
            weight = _constant(
                model, f"_pool_weight_{node.name}", torch.full((channels, 1, *kernel), 1.0 / math.prod(kernel)), mode
            )
            out = _call(graph, aten.conv2d.default, x, weight, None, stride, padding, [1, 1], channels)
            if not include_pad and any(padding):
                ones = torch.ones(1, 1, *size)
                counted = torch.nn.functional.avg_pool2d(ones, kernel, stride, padding, count_include_pad=True)
                window_over_valid = 1.0 / counted
                correction = _constant(model, f"_pool_count_{node.name}", window_over_valid, mode)
                scale = _exact_scale(window_over_valid)
                if scale is not None:
                    correction.meta[EXACT_SCALE] = scale
                out = _call(graph, aten.mul.Tensor, out, correction)
        _replace(node, out)
    return _recompiled(model)


def _constant(model: GraphModule, name: str, value: torch.Tensor, mode) -> Node:
    """A constant of the graph (a buffer read by `get_attr`), with its (fake) value, as export sets it."""
    model.register_buffer(name, value)
    node = model.graph.get_attr(name)
    node.meta["val"] = mode.from_tensor(value) if mode is not None else value
    return node


def decompose_layer_norms(model: GraphModule) -> GraphModule:
    """Each `aten.layer_norm` over the last dimension rewritten as the ops it is made of:
    d = x - mean(x); y = d * rsqrt(mean(d * d) + eps) * weight + bias. Same values, in float; each op
    is then open to an INT8 annotation. Layer norms over more than the last dimension are left as they are.
    """
    graph = model.graph
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target != aten.layer_norm.default:
            continue
        x, shape, weight, bias, eps = (list(node.args) + [None, None, 1e-5])[:5]
        if len(shape) != 1:
            continue
        with graph.inserting_before(node):
            mean = _call(graph, aten.mean.dim, x, [-1], True)
            centred = _call(graph, aten.sub.Tensor, x, mean)
            variance = _call(graph, aten.mean.dim, _call(graph, aten.mul.Tensor, centred, centred), [-1], True)
            inverse = _call(graph, aten.rsqrt.default, _call(graph, aten.add.Tensor, variance, eps))
            y = _call(graph, aten.mul.Tensor, centred, inverse)
            if weight is not None:
                y = _call(graph, aten.mul.Tensor, y, weight)
            if bias is not None:
                y = _call(graph, aten.add.Tensor, y, bias)
        _replace(node, y)
    return _recompiled(model)


def _replace(node: Node, new: Node) -> None:
    """`new` takes `node`'s place and its metadata (but its value and annotation); `node` is erased."""
    new.meta.update({k: v for k, v in node.meta.items() if k not in ("val", ANNOTATION)})
    node.replace_all_uses_with(new)
    node.graph.erase_node(node)


def _recompiled(model: GraphModule) -> GraphModule:
    model.graph.lint()
    model.recompile()
    return model


def _call(graph, target, *args) -> Node:
    """A new call node, its `val` computed from its arguments' (fake) values, as export sets it."""
    from torch.fx.node import map_arg

    node = graph.call_function(target, tuple(args))
    sources = []
    map_arg(args, sources.append)
    if sources and all(source.meta.get("val") is not None for source in sources):
        values = map_arg(args, lambda a: a.meta["val"])
        mode = getattr(sources[0].meta["val"], "fake_mode", None)
        with mode if mode is not None else contextlib.nullcontext():
            node.meta["val"] = target(*values)
    if sources and "nn_module_stack" in sources[0].meta:
        node.meta["nn_module_stack"] = sources[0].meta["nn_module_stack"]
    return node


CONV_PRODUCERS = (aten.conv2d.default, aten.batch_norm.default)


def relus_before_cat(model: GraphModule) -> GraphModule:
    """relu(cat([a, b, ...])) rewritten as cat([relu(a), relu(b), ...]) (the same values) where every
    part comes from a convolution or its batch norm, so that each ReLU fuses into its convolution."""
    graph = model.graph
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target not in FUSABLE_AFTER:
            continue
        cat = node.args[0]
        if not (isinstance(cat, Node) and cat.target == aten.cat.default and len(cat.users) == 1):
            continue
        parts = cat.args[0]
        if not all(isinstance(p, Node) and p.target in CONV_PRODUCERS and len(p.users) == 1 for p in parts):
            continue
        with graph.inserting_before(node):
            relus = [_call(graph, aten.relu.default, part) for part in parts]
            merged = _call(graph, aten.cat.default, relus, *cat.args[1:])
        _replace(node, merged)
        graph.erase_node(cat)
    return _recompiled(model)
