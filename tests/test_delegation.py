"""Which operators run inside the XNNPACK delegate, read from real .pte and .tflite files."""

from __future__ import annotations

import pytest
import torch

from edge_bench.artifacts.delegation import pte_delegation, tflite_delegation, xnnpack_nodes
from tests.test_planned import ConcatNet, ConvSkip, CumsumNet, build_pte, build_tflite


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("delegation")
    example = torch.randn(1, 3, 8, 8)
    return {
        "pte_full": build_pte(ConvSkip(), example, folder / "full.pte")[0],
        "pte_cumsum": build_pte(CumsumNet(), example, folder / "cumsum.pte")[0],
        "pte_portable": build_pte(ConvSkip(), example, folder / "portable.pte", xnnpack=False)[0],
        "tflite_full": build_tflite(ConcatNet(), example, folder / "full.tflite"),
        "tflite_cumsum": build_tflite(CumsumNet(), example, folder / "cumsum.tflite", int8=False),
    }


def test_xnnpack_nodes_are_named_by_the_installed_schema(artifacts):
    from edge_bench.artifacts.delegation import _xnnpack_schema
    from edge_bench.artifacts.pte import read_pte

    pte = read_pte(artifacts["pte_full"])
    histogram = xnnpack_nodes(pte.delegate_payload(pte.plan().delegates[0]))
    union = _xnnpack_schema().read_text().split("union XNodeUnion")[1].split("}")[0]
    assert histogram and all(kind in union for kind in histogram)
    assert xnnpack_nodes(b"not an xnnpack payload at all") is None


def test_pte_fully_delegated(artifacts):
    report = pte_delegation(artifacts["pte_full"])
    assert report["fully_delegated"] is True
    assert report["kernel_calls"] == 0 and report["non_delegated_ops"] == {}
    assert report["delegate_calls"] == 1 and report["delegate_blobs"] == 1
    (delegate,) = report["delegates"]
    assert delegate["backend"] == "XnnpackBackend"
    # ConvSkip: three convolutions and one add, each an XNNPACK node.
    assert delegate["node_histogram"]["XNNConv2d"] == 3
    assert delegate["node_histogram"]["XNNAdd"] == 1
    assert report["delegated_nodes"] == delegate["nodes"] == sum(delegate["node_histogram"].values())


def test_pte_names_the_operator_left_outside(artifacts):
    report = pte_delegation(artifacts["pte_cumsum"])
    assert report["fully_delegated"] is False
    assert report["non_delegated_ops"].get("aten::cumsum.out") == 1
    assert report["delegate_calls"] >= 1
    assert all(d["node_histogram"] and "XNNConv2d" in d["node_histogram"] for d in report["delegates"][:1])


def test_pte_without_delegate_counts_only_kernels(artifacts):
    report = pte_delegation(artifacts["pte_portable"])
    assert report["delegate_calls"] == 0 and report["delegates"] == [] and report["delegated_nodes"] == 0
    assert report["fully_delegated"] is False
    assert sum(report["non_delegated_ops"].values()) == report["kernel_calls"] > 0
    assert any(op.startswith("aten::convolution") for op in report["non_delegated_ops"])


def test_tflite_fully_delegated(artifacts):
    report = tflite_delegation(artifacts["tflite_full"])
    assert report["op_histogram"]["CONV_2D"] == 3
    assert report["fully_delegated"] is True, report
    assert report["delegated_ops"] == report["ops"] and report["non_delegated_ops"] == {}
    assert report["delegate_partitions"] == 1


def test_tflite_names_the_op_xnnpack_leaves(artifacts):
    report = tflite_delegation(artifacts["tflite_cumsum"])
    assert report["op_histogram"].get("CUMSUM") == 1
    assert report["non_delegated_ops"] == {"CUMSUM": 1}, report
    assert report["delegated_ops"] == report["ops"] - 1
    assert report["fully_delegated"] is False and report["delegate_partitions"] >= 1
