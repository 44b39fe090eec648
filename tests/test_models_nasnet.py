"""NASNet-A: the CIFAR-10 network of the NASNet paper, its cells checked against published counts."""

from __future__ import annotations

import pytest
import torch

from edge_bench.errors import InputError
from edge_bench.models import ARCHS, input_shape
from edge_bench.models.nasnet import NORMAL, REDUCTION, NASNetA


def fields(**point):
    return ARCHS["nasnet_a"].normalize(point, "test.toml")


def params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_the_default_is_nasnet_a_6_at_768_with_3_3_m_parameters():
    f = fields()
    assert (f["cells"], f["filters"], f["resolution"], f["num_classes"]) == (6, 32, 32, 10)
    model = ARCHS["nasnet_a"].build(f)
    assert len(model.cells) == 3 * 6 + 2
    assert model.classifier.in_features == 768  # the "@ 768": penultimate filters = 6 outputs x 4 x 32
    assert params(model) == 3_346_538 and round(params(model) / 1e6, 1) == 3.3  # the paper: 3.3 M


def test_the_cells_reproduce_nasnet_a_mobile_published_counts():
    # The same cells with the ImageNet stem make NASNet-A Mobile (4 @ 1056): the paper gives 5.3 M
    # parameters and 564 M multiply-adds at 224 (Keras' NASNetMobile: 5,289,978 trainable parameters).
    from edge_bench.analytic import count_flops

    mobile = NASNetA(cells=4, filters=44, num_classes=1000, stem="imagenet", stem_multiplier=1.0).eval()
    assert mobile.classifier.in_features == 1056
    assert params(mobile) == 5_289_978
    assert round(count_flops(mobile, torch.randn(1, 3, 224, 224)) / 2 / 1e6) == 564


def test_cells_concatenate_what_the_paper_concatenates():
    assert len(NORMAL.output) == 6 and len(REDUCTION.output) == 4
    assert len(NORMAL.operations) == len(NORMAL.inputs) == len(REDUCTION.operations) == len(REDUCTION.inputs) == 10


@pytest.mark.parametrize("resolution", [32, 28, 24, 20, 16, 12])
def test_every_resolution_of_the_sweep_runs(resolution):
    f = fields(resolution=resolution, filters=8, cells=1)
    model = ARCHS["nasnet_a"].build(f)
    with torch.no_grad():
        assert model(torch.randn(*input_shape(f))).shape == (1, 10)


def test_width_scales_the_filters():
    assert ARCHS["nasnet_a"].build(fields(width=0.5, cells=1)).classifier.in_features == 384


@pytest.mark.parametrize("point, message", [
    ({"width": 0.3}, "even whole number"), ({"filters": 7}, "even whole number"), ({"cells": 0}, "'cells'"),
    ({"weights": "DEFAULT"}, None),
])  # fmt: skip
def test_bad_fields_are_refused(point, message):
    with pytest.raises(InputError, match=message or "torchvision has no NASNet weights"):
        ARCHS["nasnet_a"].build(fields(**point))


@pytest.mark.slow  # a whole NASNet graph through both converters: 3.5 minutes on one core, most of it ExecuTorch's passes
def test_tiny_nasnet_converts_to_pte_and_tflite_and_runs(tmp_path):
    import numpy as np

    from edge_bench.artifacts.delegation import tflite_delegation
    from edge_bench.artifacts.deployed import deployed_graph
    from edge_bench.artifacts.int8 import int8_summary
    from edge_bench.build import artifact_memory_info
    from edge_bench.build.random_init import prepare_random_network
    from edge_bench.device.runtimes import ADAPTERS
    from edge_bench.export.executorch import export_pte
    from edge_bench.export.litert import export_tflite

    f = fields(cells=1, filters=8, resolution=12)
    model = ARCHS["nasnet_a"].build(f)
    prepare_random_network(model, input_shape(f))
    generator = torch.Generator().manual_seed(0)
    calibration = [torch.randn(*input_shape(f), generator=generator) for _ in range(4)]
    x = calibration[0]
    artifacts = {"executorch": export_pte(model, x, calibration), "litert": export_tflite(model, x, calibration)}
    assert artifacts["executorch"][4:8] == b"ET12" and artifacts["litert"][4:8] == b"TFL3"
    for runtime, data in artifacts.items():
        assert artifact_memory_info(data, runtime)["planned_bytes"] > 0, runtime
        path = tmp_path / f"nasnet.{'pte' if runtime == 'executorch' else 'tflite'}"
        path.write_bytes(data)
        # Every operator in INT8 on both runtimes: the pools, the shared ReLUs and the factorized reductions too.
        coverage = int8_summary(deployed_graph(path, runtime), runtime)
        assert coverage["fully_int8"] is True, (runtime, coverage["float_op_histogram"])
        if runtime == "litert":  # and inside LiteRT's XNNPACK delegate but for the two reduction cells'
            # max-pool padding (a PADV2 of INT8 -128, which the delegate does not take): three partitions
            delegation = tflite_delegation(path)
            assert delegation["non_delegated_ops"] == {"PADV2": 2}, delegation
            assert delegation["delegate_partitions"] == 3, delegation
        adapter = ADAPTERS[runtime](1)
        adapter.load(str(path))
        adapter.prepare(np.random.default_rng(0))
        adapter.set_inputs([x.numpy()])
        adapter.run()
        out = np.asarray(adapter.outputs()[0])
        assert out.size == 10 and np.isfinite(out).all(), runtime


def test_the_seed_recipes_sweep_what_the_poster_swept():
    from edge_bench.config import load_recipe
    from edge_bench.recipes import expand

    nasnet = expand(load_recipe("nasnet-cifar10-rs"))
    assert [v.fields["resolution"] for v in nasnet] == [32, 28, 24, 20, 16, 12]
    assert {(v.fields["arch"], v.fields["cells"], v.fields["filters"], v.fields["num_classes"]) for v in nasnet} == {
        ("nasnet_a", 6, 32, 10)
    }
    v1 = expand(load_recipe("resnet50-v1-rs"))
    assert [v.fields["resolution"] for v in v1] == [224, 210, 196, 182, 168, 154, 140]
    assert {v.arch for v in v1} == {"resnet50_v1"}
