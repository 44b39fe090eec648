"""INT8 coverage and the paper's memory metric on the deployed graph, read from real artifacts of small
models (and from hand-made graphs where the expected numbers are worked out by hand)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edge_bench.artifacts.deployed import DeployedGraph, Op, Tensor, deployed_activation, pte_deployed, tflite_deployed
from edge_bench.artifacts.int8 import OUTSIDE_DELEGATE, UNEXPLAINED, int8_summary


class AttentionNet(nn.Module):
    """A strided convolution (LiteRT pads it explicitly), a residual addition, a squeeze-excite gate
    (mean, sigmoid, product), a concatenation and one self-attention (two batched matrix products
    and a softmax) over the pixels, then a classifier: every operator family the quantizers handle."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.body = nn.Conv2d(8, 8, 1)
        self.squeeze = nn.Conv2d(8, 8, 1)
        self.mix = nn.Conv2d(16, 8, 1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + self.body(x))
        x = x * torch.sigmoid(self.squeeze(x.mean((2, 3), keepdim=True)))
        x = torch.relu(self.mix(torch.cat([x, x * 0.5], 1)))
        tokens = x.flatten(2).transpose(1, 2)  # (1, HW, C)
        attended = torch.bmm(torch.softmax(torch.bmm(tokens, tokens.transpose(1, 2)), -1), tokens)
        return self.head(attended.mean(1))


EXAMPLE_SHAPE = (1, 3, 16, 16)


def _model_and_data():
    torch.manual_seed(0)
    model = AttentionNet().eval()
    generator = torch.Generator().manual_seed(1)
    example = torch.randn(*EXAMPLE_SHAPE, generator=generator)
    calibration = [torch.randn(*EXAMPLE_SHAPE, generator=generator) for _ in range(2)]
    return model, example, calibration


@pytest.fixture(scope="module")
def tflites(tmp_path_factory):
    from edge_bench.export.litert import export_tflite

    folder = tmp_path_factory.mktemp("precision")
    model, example, calibration = _model_and_data()
    paths = {}
    for name, complete in (("complete", True), ("litert_only", False)):
        paths[name] = folder / f"{name}.tflite"
        paths[name].write_bytes(export_tflite(model, example, calibration, complete_int8=complete))
    return paths


@pytest.fixture(scope="module")
def pte(tmp_path_factory):
    from edge_bench.artifacts.pte import read_pte
    from edge_bench.export.executorch import export_pte

    model, example, calibration = _model_and_data()
    path = tmp_path_factory.mktemp("precision") / "model.pte"
    path.write_bytes(export_pte(model, example, calibration))
    return read_pte(path)


def _analytic(model: nn.Module):
    from edge_bench.analytic import analyze_model

    return analyze_model(model, EXAMPLE_SHAPE)


# ---------------------------------------------------------------- LiteRT


def test_every_litert_operator_runs_in_int8(tflites):
    summary = int8_summary(tflite_deployed(tflites["complete"]), "litert")
    assert summary["float_ops"] == 0 and summary["float_op_histogram"] == {}, summary
    assert summary["int8_ops_pct"] == 100.0 and summary["int8_macs_pct"] == 100.0
    assert summary["fully_int8"] is True


def test_litert_own_quantizer_leaves_additions_in_float_and_says_so(tflites):
    graph = tflite_deployed(tflites["litert_only"])
    summary = int8_summary(graph, "litert")
    # litert-torch finds additions, products and concatenations by source_fn_stack, which torch.export
    # graphs no longer carry: they stay float, between conversions.
    assert summary["float_op_histogram"].get("ADD", 0) >= 1, summary
    assert summary["convert_ops"] >= 2 and set(summary["convert_op_histogram"]) <= {"QUANTIZE", "DEQUANTIZE"}
    assert summary["float_reasons"]["ADD"] == UNEXPLAINED
    assert summary["int8_ops_pct"] < 100.0 and summary["fully_int8"] is False
    assert summary["int8_ops"] + summary["float_ops"] + summary["other_ops"] == summary["ops"]


def test_macs_read_from_the_graph_are_the_analytic_ones(tflites, pte):
    flops = _analytic(_model_and_data()[0])["flops"]
    for graph in (tflite_deployed(tflites["complete"]), pte_deployed(pte)):
        assert 2 * sum(op.macs for op in graph.ops) == flops, graph.format


def test_deployed_metric_counts_the_pad_the_converter_inserts(tflites):
    graph = tflite_deployed(tflites["complete"])
    metric = deployed_activation(graph)
    by_hand = max(sum(t.bytes for t in graph.activations(op)) for op in graph.ops)
    assert metric["bytes"] == by_hand and metric["ops"] == len(graph.ops)
    # The stem's stride-2 convolution pads one pixel on each side, which TFLite's SAME padding cannot
    # express: the converter adds an explicit PAD writing an 18x18 copy of the 16x16 input. It is an
    # operator the runtime runs, so it counts, though the torch graph has no such operator.
    (pad,) = [op for op in graph.ops if op.name == "PAD"]
    assert sum(t.bytes for t in graph.activations(pad)) == 3 * 16 * 16 + 3 * 18 * 18
    # The largest operator is the attention's softmax: 64x64 INT8 scores in and out, as in the torch graph.
    assert metric["op"].endswith(":SOFTMAX") and metric["bytes"] == 2 * 64 * 64
    assert metric["bytes"] == _analytic(_model_and_data()[0])["activation_bytes"]


class SharedOutputsNet(nn.Module):
    """What NASNet's cells do that the runtimes' own quantizers and delegates leave in float or outside
    the delegate: a convolution and an addition whose outputs go to a ReLU module and elsewhere
    (litert-torch fuses the ReLU regardless), the same ReLU applied twice to one tensor, average pools
    that leave the padding out of their count, at stride 1 and at stride 2 on an even side, and a
    concatenation of six inputs (a normal cell's output)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.left = nn.Conv2d(8, 8, 1)
        self.right = nn.Conv2d(8, 8, 1)
        self.heads = nn.ModuleList(nn.Conv2d(8, 2, 1) for _ in range(6))
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()
        self.smooth = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)
        self.reduce = nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)

    def forward(self, x):
        x = self.stem(x)
        y = self.left(self.relu1(x)) + x
        z = self.smooth(y) + self.right(self.relu2(y)) + self.relu3(y)
        reduced = self.reduce(z)
        return torch.cat([head(reduced) for head in self.heads], dim=1)


@pytest.fixture(scope="module")
def shared_outputs(tmp_path_factory):
    """SharedOutputsNet, an example, and the paths of its .tflite and .pte."""
    from edge_bench.export.executorch import export_pte
    from edge_bench.export.litert import export_tflite

    torch.manual_seed(0)
    model = SharedOutputsNet().eval()
    generator = torch.Generator().manual_seed(1)
    example = torch.randn(*EXAMPLE_SHAPE, generator=generator)
    calibration = [example] + [torch.randn(*EXAMPLE_SHAPE, generator=generator) for _ in range(2)]
    folder = tmp_path_factory.mktemp("shared")
    (folder / "model.tflite").write_bytes(export_tflite(model, example, calibration))
    (folder / "model.pte").write_bytes(export_pte(model, example, calibration))
    return model, example, folder / "model.tflite", folder / "model.pte"


def test_shared_relus_pools_and_wide_concatenations_run_in_int8_inside_litert_delegate(shared_outputs):
    import numpy as np

    from edge_bench.artifacts.delegation import tflite_delegation
    from edge_bench.device.runtimes import ADAPTERS

    model, example, path, _ = shared_outputs
    summary = int8_summary(tflite_deployed(path), "litert")
    assert summary["fully_int8"] is True and summary["float_op_histogram"] == {}, summary
    # LiteRT's XNNPACK delegate leaves an INT8 AVERAGE_POOL_2D, a lone INT8 RELU and a concatenation of
    # six to the interpreter. The pools as depthwise convolutions, each lone ReLU fused into a 1x1
    # depthwise identity convolution (the two ReLUs of y as one) and the concatenation in two steps:
    # the whole graph is one partition.
    delegation = tflite_delegation(path)
    histogram = delegation["op_histogram"]
    assert "AVERAGE_POOL_2D" not in histogram and "RELU" not in histogram and histogram["DEPTHWISE_CONV_2D"] == 2 + 2
    assert "MAX_POOL_2D" not in histogram and histogram["CONCATENATION"] == 2, histogram
    assert delegation["non_delegated_ops"] == {} and delegation["delegate_partitions"] == 1, delegation
    # The rewrites keep the values: the INT8 model's output follows the float one.
    adapter = ADAPTERS["litert"](1)  # quantizes the input and dequantizes the output, as a measurement does
    adapter.load(str(path))
    adapter.prepare(np.random.default_rng(0))
    adapter.set_inputs([example.numpy()])
    adapter.run()
    got = np.asarray(adapter.outputs()[0])
    with torch.no_grad():
        expected = model(example).numpy()
    assert got.shape == expected.shape
    assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.999


def test_average_pools_run_in_int8_in_the_executorch_delegate(shared_outputs):
    import numpy as np
    from executorch.runtime import Runtime

    from edge_bench.artifacts.pte import read_pte

    model, example, _, path = shared_outputs
    summary = int8_summary(pte_deployed(read_pte(path)), "executorch")
    # XNNPACK lowers an average pool in float only; as a depthwise convolution it runs in INT8.
    assert summary["fully_int8"] is True and summary["float_op_histogram"] == {}, summary
    assert summary["convert_op_histogram"] == {"XNNConvert": 2}  # the graph's input and output
    method = Runtime.get().load_program(str(path)).load_method("forward")
    got = method.execute([example])[0].numpy()
    with torch.no_grad():
        expected = model(example).numpy()
    assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.999


def test_an_average_pool_becomes_a_depthwise_convolution_times_an_exact_map():
    from edge_bench.export.annotate import EXACT_SCALE, average_pools_as_depthwise_convolutions

    model = SharedOutputsNet().eval()
    graph = torch.export.export(model, (torch.randn(*EXAMPLE_SHAPE),)).module()
    rewritten = average_pools_as_depthwise_convolutions(graph)
    assert not [n for n in rewritten.graph.nodes if n.target == torch.ops.aten.avg_pool2d.default]
    depthwise = [n for n in rewritten.graph.nodes if n.target == torch.ops.aten.conv2d.default and n.args[-1] == 8]
    assert [list(n.args[3]) for n in depthwise] == [[1, 1], [2, 2]]  # the two pools' strides
    weights = [getattr(rewritten, str(n.args[1].target)) for n in depthwise]
    assert all(w.shape == (8, 1, 3, 3) and torch.all(w == 1 / 9) for w in weights)
    maps = [n for n in rewritten.graph.nodes if n.op == "get_attr" and EXACT_SCALE in n.meta]
    corrections = [getattr(rewritten, str(n.target)) for n in maps]
    assert [c.shape for c in corrections] == [(1, 1, 16, 16), (1, 1, 8, 8)]
    assert all(sorted(set(c.flatten().tolist())) == [1.0, 1.5, 2.25] for c in corrections)
    assert all(n.meta[EXACT_SCALE] == 1 / 56 for n in maps)  # 56, 84, 126: every value a whole INT8 step count
    x = torch.randn(*EXAMPLE_SHAPE)
    with torch.no_grad():
        assert torch.allclose(rewritten(x), model(x), atol=1e-6)


# ---------------------------------------------------------------- ExecuTorch


def test_executorch_coverage_names_what_xnnpack_keeps_in_float(pte):
    summary = int8_summary(pte_deployed(pte), "executorch")
    floats = summary["float_op_histogram"]
    # XNNPACK lowers batched matrix products, softmax and sigmoid in float only: the attention's MACs
    # are float, so the artifact is below 100% of its MACs in INT8.
    assert floats.get("XNNBatchMatrixMultiply") == 2 and floats.get("XNNSoftmax") == 1, summary
    assert "float only" in summary["float_reasons"]["XNNBatchMatrixMultiply"]
    assert 0 < summary["int8_macs_pct"] < 100.0 and summary["fully_int8"] is False
    # The addition, product and concatenation are INT8 inside the delegate.
    assert "XNNAdd" not in floats and "XNNConcatenate2" not in floats
    assert summary["convert_op_histogram"].get("XNNConvert", 0) >= 2


def test_executorch_deployed_metric_counts_the_float_input_conversion(pte):
    graph = pte_deployed(pte)
    metric = deployed_activation(graph)
    assert metric["bytes"] == max(sum(t.bytes for t in graph.activations(op)) for op in graph.ops)
    first = graph.ops[0]
    # The delegate's first node converts the float32 input to INT8: 4 + 1 bytes per element.
    assert first.name == "XNNConvert" and sum(t.bytes for t in graph.activations(first)) == 5 * 3 * 16 * 16


# ---------------------------------------------------------------- by hand


def _graph(ops, tensors) -> DeployedGraph:
    return DeployedGraph("tflite", tensors, tuple(ops))


def test_counting_rules_on_a_graph_written_by_hand():
    tensors = {
        "in": Tensor(400, "float", False), "q": Tensor(100, "int8", False), "w": Tensor(1000, "int8", True),
        "conv": Tensor(200, "int8", False), "dq": Tensor(800, "float", False), "out": Tensor(800, "float", False),
        "shape": Tensor(16, "int32", True), "idx": Tensor(8, "int32", False),
    }  # fmt: skip
    ops = [
        Op("QUANTIZE", ("in",), ("q",), 0, "litert"),
        Op("CONV_2D", ("q", "w"), ("conv",), 3000, "litert"),
        Op("DEQUANTIZE", ("conv",), ("dq",), 0, "litert"),
        Op("BATCH_MATMUL", ("dq", "dq"), ("out",), 1000, "litert"),
        Op("SHAPE", ("out",), ("idx",), 0, "litert"),
        Op("aten::add.out", ("out",), ("out",), 0, "portable kernels"),
    ]
    summary = int8_summary(_graph(ops, tensors), "litert")
    assert summary["convert_ops"] == 2 and summary["ops"] == 4
    assert (summary["int8_ops"], summary["float_ops"], summary["other_ops"]) == (1, 3, 0)
    assert summary["macs"] == 4000 and summary["int8_macs"] == 3000 and summary["int8_macs_pct"] == 75.0
    assert summary["int8_ops_pct"] == 25.0 and summary["fully_int8"] is False
    assert summary["float_reasons"] == {
        "BATCH_MATMUL": UNEXPLAINED,
        "SHAPE": UNEXPLAINED,
        "aten::add.out": OUTSIDE_DELEGATE,
    }
    metric = deployed_activation(_graph(ops, tensors))
    # The product reads one 800-byte tensor (twice: counted once) and writes another; weights never count.
    assert metric == {"bytes": 1600, "op": "3:BATCH_MATMUL", "ops": 6}


def test_handmade_float_tflite(tmp_path):
    from tests.conftest import write_tiny_tflite

    graph = tflite_deployed(write_tiny_tflite(tmp_path / "tiny.tflite"))
    summary = int8_summary(graph, "litert")
    # Two float32 3x3 convolutions over 8x8: 3->4 and 4->4 channels.
    assert summary["macs"] == 8 * 8 * 4 * 27 + 8 * 8 * 4 * 36 and summary["int8_macs_pct"] == 0.0
    assert summary["float_op_histogram"] == {"CONV_2D": 2}
    assert deployed_activation(graph) == {"bytes": 2 * 8 * 8 * 4 * 4, "op": "1:CONV_2D", "ops": 2}


def _xnn_value(id_out: int, dims: list[int], datatype: str = "xnn_datatype_qint8", constant: int = 0) -> dict:
    return {
        "xvalue_union_type": "XNNTensorValue",
        "xvalue_union": {"datatype": datatype, "dims": dims, "constant_buffer_idx": constant, "id_out": id_out},
    }


def _conv(input_id: int, output_id: int) -> dict:
    return {
        "xnode_union_type": "XNNConv2d",
        "xnode_union": {
            "input1_id": input_id,
            "filter_id": 9,
            "bias_id": 2**32 - 1,
            "output_id": output_id,
            "kernel_height": 1,
            "kernel_width": 1,
            "group_input_channels": 4,
        },
    }


def test_xnnpack_clamp_fuses_into_its_producer_only_when_nothing_else_reads_it():
    from edge_bench.artifacts.deployed import xnnpack_ops

    values = [_xnn_value(i, [1, 8, 8, 4]) for i in range(4)] + [_xnn_value(9, [4, 1, 1, 4], "xnn_datatype_qcint8", 1)]
    clamp = {"xnode_union_type": "XNNClamp", "xnode_union": {"input_id": 1, "output_id": 2}}
    fused = xnnpack_ops({"xvalues": values, "xnodes": [_conv(0, 1), clamp], "output_ids": [2]}, "d0", {})
    assert [(op.name, op.outputs, op.macs) for op in fused] == [("XNNConv2d", ("d0:2",), 8 * 8 * 4 * 4)]
    # The convolution's output also feeds a second node: the clamp must run on its own.
    second = {"xnode_union_type": "XNNAdd", "xnode_union": {"input1_id": 1, "input2_id": 2, "output_id": 3}}
    kept = xnnpack_ops({"xvalues": values, "xnodes": [_conv(0, 1), clamp, second], "output_ids": [3]}, "d0", {})
    assert [op.name for op in kept] == ["XNNConv2d", "XNNClamp", "XNNAdd"]
