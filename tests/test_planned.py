"""Planned memory read from real artifacts: ExecuTorch's plan, and LiteRT's arena replayed and checked
against the interpreter's own tensor placement."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from torch import nn

from edge_bench.artifacts.allocated import tflite_arena_allocated
from edge_bench.artifacts.arena import (
    FOREVER,
    Lifetime,
    greedy_by_size,
    liveness_peak,
    tflite_arena_estimate,
    tflite_lifetimes,
)
from edge_bench.artifacts.pte import instructions, operator_names, planned_memory, read_pte
from edge_bench.artifacts.tflite import read_tflite
from edge_bench.errors import InputError

# ---------------------------------------------------------------- tiny models and their artifacts


class ConvSkip(nn.Module):
    """conv3x3 -> ReLU -> conv1x1, plus a skip connection: a plan with more than one live buffer."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 1)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        y = torch.relu(self.a(x))
        return self.head(y + self.b(y))


class ConcatNet(nn.Module):
    """1x1 convolutions and a concatenation: no kernel temporaries and no in-place op in LiteRT."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3 = nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 1), nn.Conv2d(16, 16, 1)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        y = torch.relu(self.c2(x))
        return torch.relu(self.c3(torch.cat([x, y], 1)))


class CumsumNet(nn.Module):
    """A convolution, then a cumulative sum: an op neither XNNPACK delegate takes."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return torch.cumsum(torch.relu(self.conv(x)), dim=1) + 1.0


def build_pte(model: nn.Module, example: torch.Tensor, path: Path, xnnpack: bool = True):
    """A float32 ExecuTorch program (XNNPACK-delegated or plain portable kernels); the file and the manager."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    torch.manual_seed(0)
    with torch.no_grad():
        program = torch.export.export(model.eval(), (example,))
    manager = to_edge_transform_and_lower(
        program, partitioner=[XnnpackPartitioner()] if xnnpack else []
    ).to_executorch()
    path.write_bytes(manager.buffer)
    return path, manager


def build_tflite(model: nn.Module, example: torch.Tensor, path: Path, int8: bool = True) -> Path:
    """A .tflite from litert-torch: INT8 through its PT2E quantizer (as edge-bench exports), or float32."""
    import litert_torch

    torch.manual_seed(0)
    model = model.eval()
    if int8:
        from litert_torch.quantize import pt2e_quantizer
        from litert_torch.quantize.quant_config import QuantConfig
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
            pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True)
        )
        prepared = prepare_pt2e(torch.export.export(model, (example,)).module(), quantizer)
        for _ in range(2):
            prepared(torch.randn_like(example))
        quantized = convert_pt2e(prepared, fold_quantize=False)
        converted = litert_torch.convert(quantized, (example,), quant_config=QuantConfig(pt2e_quantizer=quantizer))
    else:
        converted = litert_torch.convert(model, (example,))
    converted.export(str(path))
    return path


@pytest.fixture(scope="module")
def ptes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pte")
    example = torch.randn(1, 3, 12, 12)
    model = ConvSkip()
    return {
        "xnnpack": build_pte(model, example, folder / "xnnpack.pte", xnnpack=True),
        "portable": build_pte(model, example, folder / "portable.pte", xnnpack=False),
        "model": model,
    }


@pytest.fixture(scope="module")
def concat_tflite(tmp_path_factory) -> Path:
    return build_tflite(ConcatNet(), torch.randn(1, 3, 16, 16), tmp_path_factory.mktemp("tflite") / "concat.tflite")


# ---------------------------------------------------------------- ExecuTorch


@pytest.mark.parametrize("kind", ["xnnpack", "portable"])
def test_pte_plan_matches_the_program_that_wrote_it(ptes, kind):
    path, manager = ptes[kind]
    expected = list(manager.executorch_program.execution_plan[0].non_const_buffer_sizes)
    planned = planned_memory(read_pte(path))
    assert planned["non_const_buffer_sizes"] == expected
    assert planned["planned_bytes"] == sum(expected[1:]) > 0
    assert planned["file_bytes"] == path.stat().st_size


def test_pte_weights_are_found_where_each_lowering_stores_them(ptes):
    params = sum(p.numel() * 4 for p in ptes["model"].parameters())  # float32 weights and biases
    portable = planned_memory(read_pte(ptes["portable"][0]))
    assert portable["delegates"] == 0 and portable["named_data_bytes"] == 0
    assert portable["constant_segment_bytes"] >= params  # plus alignment padding between tensors
    delegated = planned_memory(read_pte(ptes["xnnpack"][0]))
    assert delegated["delegates"] == 1 and delegated["delegate_blob_bytes"] > 0
    assert delegated["named_data_bytes"] >= params  # XNNPACK keeps its weights as named data
    # The portable plan holds every intermediate; the delegated one only the delegate's inputs/outputs.
    assert portable["planned_bytes"] > delegated["planned_bytes"]


def test_pte_instructions_follow_the_plan(ptes):
    portable = read_pte(ptes["portable"][0]).plan("forward")
    steps = instructions(portable)
    assert steps and {kind for kind, _ in steps} <= {"kernel", "free", "move"}
    names = operator_names(portable)
    assert any(names[i].startswith("aten::convolution") for kind, i in steps if kind == "kernel")
    delegated = read_pte(ptes["xnnpack"][0]).plan("forward")
    assert instructions(delegated) == [("delegate", 0)]


def test_pte_reader_refuses_other_files(tmp_path, concat_tflite, ptes):
    with pytest.raises(InputError, match="not an ExecuTorch program"):
        planned_memory(read_pte(concat_tflite))
    with pytest.raises(InputError, match="cannot read"):
        planned_memory(read_pte(tmp_path / "missing.pte"))
    truncated = tmp_path / "truncated.pte"
    truncated.write_bytes(ptes["portable"][0].read_bytes()[:64])
    with pytest.raises(InputError, match="truncated or corrupt"):
        planned_memory(read_pte(truncated))


def test_pte_unknown_method_names_the_methods(ptes):
    with pytest.raises(InputError, match=r"no method 'decode' \(methods: forward\)"):
        planned_memory(read_pte(ptes["portable"][0]), method="decode")


# ---------------------------------------------------------------- greedy placement on hand-built lifetimes


def _no_collision(buffers, offsets):
    for a in buffers:
        for b in buffers:
            if a is b or a.size == 0 or b.size == 0:
                continue
            in_time = not (a.last < b.first or a.first > b.last)
            in_space = offsets[a.tensor] < offsets[b.tensor] + b.size and offsets[b.tensor] < offsets[a.tensor] + a.size
            assert not (in_time and in_space), (a, b, offsets)


def test_chain_reaches_the_optimum():
    # A then C share offset 0 (never alive together); B overlaps both and must sit above them.
    buffers = [Lifetime(0, 100, 0, 1), Lifetime(1, 50, 1, 2), Lifetime(2, 100, 2, 3)]
    for fit in ("best", "first"):
        offsets, high_water = greedy_by_size(buffers, alignment=1, fit=fit)
        assert offsets == {0: 0, 2: 0, 1: 100}
        assert high_water == 150 == liveness_peak(buffers)


def _two_gaps():
    # After A..E are placed, F (alive 5..9) sees two gaps: 150 bytes at 200 (B's place), 100 at 470 (D's).
    return [
        Lifetime(0, 200, 0, 9),
        Lifetime(1, 150, 0, 1),
        Lifetime(2, 120, 0, 9),
        Lifetime(3, 100, 0, 1),
        Lifetime(4, 90, 0, 9),
        Lifetime(5, 80, 5, 9),
    ]


def test_best_fit_takes_the_smallest_gap_and_first_fit_the_lowest():
    best, best_high = greedy_by_size(_two_gaps(), alignment=1, fit="best")
    first, first_high = greedy_by_size(_two_gaps(), alignment=1, fit="first")
    assert [best[i] for i in range(5)] == [0, 200, 350, 470, 570] == [first[i] for i in range(5)]
    assert best[5] == 470  # LiteRT's SimpleMemoryArena: the tightest gap
    assert first[5] == 200  # TFLite Micro's GreedyMemoryPlanner: the first gap that holds it
    assert best_high == first_high == 660


def test_alignment_and_whole_run_buffers():
    # LiteRT puts buffers alive for the whole run first, whatever their size; offsets are 64-aligned.
    buffers = [Lifetime(0, 10, 0, FOREVER), Lifetime(1, 1000, 0, 1), Lifetime(2, 70, 1, 2)]
    offsets, high_water = greedy_by_size(buffers, alignment=64, fit="best")
    # 1 starts at the first 64-byte boundary after 0's 10 bytes; 2 overlaps both, after 1's end (1064).
    assert offsets == {0: 0, 1: 64, 2: 1088} and high_water == 1088 + 70
    # TFLite Micro rounds sizes up to its alignment instead.
    _, tflm_high = greedy_by_size([Lifetime(0, 10, 0, 1), Lifetime(1, 10, 1, 2)], alignment=16, fit="first")
    assert tflm_high == 32


def test_random_placements_never_collide_and_stay_within_bounds():
    rng = random.Random(0)
    for _ in range(200):
        buffers = []
        for index in range(rng.randint(1, 12)):
            first = rng.randint(0, 8)
            buffers.append(Lifetime(index, rng.randint(0, 300), first, first + rng.randint(0, 4)))
        for fit, alignment in (("best", 64), ("first", 16), ("best", 1)):
            offsets, high_water = greedy_by_size(buffers, alignment=alignment, fit=fit)
            _no_collision(buffers, offsets)
            assert high_water >= liveness_peak(buffers)
            assert high_water <= sum(-(-b.size // alignment) * alignment for b in buffers)


# ---------------------------------------------------------------- LiteRT


def test_read_tflite_sees_the_graph_in_execution_order(concat_tflite):
    graph = read_tflite(concat_tflite)
    names = [op.name for op in graph.ops]
    assert names.count("CONV_2D") == 3 and "CONCATENATION" in names
    assert names.index("CONCATENATION") < len(names) - 1
    (entry,) = graph.inputs
    assert graph.tensors[entry].dtype == "INT8" and not graph.tensors[entry].constant
    weights = [t for op in graph.ops if op.name == "CONV_2D" for t in op.inputs[1:2]]
    assert all(graph.tensors[t].constant for t in weights)


def test_arena_estimate_between_liveness_peak_and_naive_sum(concat_tflite):
    estimate = tflite_arena_estimate(concat_tflite)
    assert estimate["kind"] == "estimate"
    assert estimate["liveness_peak_bytes"] <= estimate["arena_bytes"] <= estimate["naive_sum_bytes"]
    assert estimate["liveness_peak_bytes"] > 0 and estimate["constant_bytes"] > 0
    # TFLite Micro frees the graph input after its last reader; LiteRT keeps it: never larger.
    assert estimate["tflm_arena_bytes"] <= estimate["arena_bytes"]


def test_arena_estimate_equals_the_interpreters_own_layout(concat_tflite):
    allocated = tflite_arena_allocated(concat_tflite)
    assert allocated["temporaries"] == 0, allocated  # the premise: 1x1 convs need no im2col buffer
    assert allocated["arena_bytes"] == tflite_arena_estimate(concat_tflite)["arena_bytes"]


def test_delegated_arena_holds_only_the_graph_input_and_output(concat_tflite):
    """With the XNNPACK delegate taking the whole graph (as it is timed), the interpreter's arena keeps
    only the graph's input and output; the delegate's working memory is its own."""
    graph = read_tflite(concat_tflite)
    delegated = tflite_arena_allocated(concat_tflite, delegate=True)
    assert delegated["delegate"] is True and delegated["tensors"] == 2, delegated
    edges = [graph.tensors[t].bytes for t in (*graph.inputs, *graph.outputs)]
    assert delegated["arena_bytes"] == sum(-(-size // 64) * 64 for size in edges)
    assert delegated["arena_bytes"] < tflite_arena_allocated(concat_tflite)["arena_bytes"]


def test_tensors_outside_the_arena_are_left_out_of_its_span():
    """A tensor a kernel allocates elsewhere (a dynamic output, far away on the heap) is not in the
    arena: the arena is the buffer holding the graph's input, whatever lies beyond a gap no buffer
    of these tensors could span."""
    from edge_bench.artifacts.allocated import _arena_spans

    # index, start, end: input 0 and two activations in one buffer (with a hole), tensor 3 far away
    spans = [[0, 1000, 1100], [1, 1128, 1228], [2, 1300, 1400], [3, 9_000_000, 9_000_050]]
    arena, outside = _arena_spans(spans, inputs={0})
    assert [s[0] for s in arena] == [0, 1, 2] and [s[0] for s in outside] == [3]
    # Without a far tensor, everything is the arena.
    assert _arena_spans(spans[:3], inputs={0}) == (spans[:3], [])


def test_lifetimes_follow_each_runtime(concat_tflite):
    graph = read_tflite(concat_tflite)
    (entry,) = graph.inputs
    litert = {b.tensor: b for b in tflite_lifetimes(graph, "litert")}
    tflm = {b.tensor: b for b in tflite_lifetimes(graph, "tflm")}
    assert litert[entry].first == 0 and litert[entry].last == FOREVER  # inputs are preserved
    assert tflm[entry].last == max(op.index for op in graph.ops if entry in op.inputs)
    for output in graph.outputs:
        assert litert[output].last == FOREVER and tflm[output].last == len(graph.ops) - 1
    assert not any(graph.tensors[t].constant for t in litert)


def test_truncated_tflite_is_refused_with_its_path(tmp_path, concat_tflite):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(concat_tflite.read_bytes()[:1000])
    for reader in (read_tflite, tflite_arena_estimate, tflite_arena_allocated):
        with pytest.raises(InputError, match="broken.tflite: truncated or corrupt"):
            reader(broken)
