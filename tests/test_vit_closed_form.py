"""The paper's ViT closed forms, held exactly against torch's FLOP counter and the parameter count.

One encoder block, N tokens per side, hidden D, MLP D_MLP, k heads. The counter counts a
multiply-add as 2 FLOPs and counts only matmul-like ops (addmm, bmm, convolution). Term by term:

    closed-form term     what it is                                  the counter on N^2 tokens
    4 N^4 D              Q K^T and A V: 2 N^4 D multiply-adds        bmm: 4 N^4 D (same)
    4 N^2 D D_MLP        the two MLP linears: 2 N^2 D D_MLP MACs      addmm in mlp: 4 N^2 D D_MLP (same)
    2 N^2 D^2            Q, K, V, output projections: 4 N^2 D^2 MACs  addmm in attention: 8 N^2 D^2 (4x the term)
    3 k N^4              softmax over k N^2 x N^2 scores              0 (softmax is not counted)
    (not in the form)    biases, layer norms, GELU, scaling, adds     0

So, exactly: counter(N^2 tokens) = closed - 3 k N^4 - 2 N^2 D^2 + 8 N^2 D^2.
In the whole model the encoder sees N^2 + 1 tokens (the class token), which the closed form leaves out:
the counter's block is the same expression with n = N^2 + 1 in place of N^2.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from edge_bench.analytic.vit_closed_form import block, closed_form, closed_form_for
from edge_bench.models import ARCHS, input_shape

N, PATCH, D, MLP, K, DEPTH = 4, 8, 48, 96, 6, 2
BLOCK = "VisionTransformer.encoder.layers.encoder_layer_0"


def tiny_vit():
    f = ARCHS["vit"].normalize(
        {"tokens": N, "patch": PATCH, "hidden": D, "mlp": MLP, "heads": K, "depth": DEPTH, "num_classes": 10}, "t"
    )
    return ARCHS["vit"].build(f), f


def counts(module, x) -> dict[str, dict[str, int]]:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return {
        name: {str(op).removeprefix("aten."): n for op, n in ops.items()}
        for name, ops in counter.get_flop_counts().items()
    }


def test_formulas():
    assert block(14, 384, 1536, 6) == {
        "flops": 4 * 14**4 * 384 + 3 * 6 * 14**4 + 2 * 14**2 * 384**2 + 4 * 14**2 * 384 * 1536,
        "activations": 5 * 14**2 * 384 + 14**2 * 1536,
        "weights": 384 * (3 * 384 + 384 + 2 * 1536),
    }
    whole = closed_form(14, 384, 1536, 6, 12)
    one = block(14, 384, 1536, 6)
    assert whole["flops"] == 12 * one["flops"] and whole["weights"] == 12 * one["weights"]
    assert whole["activations_max"] == one["activations"] and whole["activations_sum"] == 12 * one["activations"]


def test_one_block_on_n_squared_tokens_term_by_term():
    model, _ = tiny_vit()
    encoder_block = model.encoder.layers[0]
    got = counts(encoder_block, torch.randn(1, N * N, D))  # the block alone: no class token
    attention, mlp = got["EncoderBlock.self_attention"], got["EncoderBlock.mlp"]
    n2, n4 = N * N, N**4
    assert attention["bmm"] == 4 * n4 * D  # closed-form term 4 N^4 D
    assert mlp == {"addmm": 4 * n2 * D * MLP}  # closed-form term 4 N^2 D D_MLP
    assert attention["addmm"] == 4 * (2 * n2 * D * D)  # four times the closed-form term 2 N^2 D^2
    closed = block(N, D, MLP, K)["flops"]
    assert sum(got["EncoderBlock"].values()) == closed - 3 * K * n4 - 2 * n2 * D * D + 8 * n2 * D * D


def test_one_block_inside_the_model_sees_the_class_token():
    model, f = tiny_vit()
    got = counts(model, torch.randn(*input_shape(f)))[BLOCK]
    n = N * N + 1
    assert sum(got.values()) == 4 * n * n * D + 8 * n * D * D + 4 * n * D * MLP


def test_block_weights_are_the_matrices_without_biases_and_norms():
    model, _ = tiny_vit()
    encoder_block = model.encoder.layers[0]
    matrices = sum(p.numel() for p in encoder_block.parameters() if p.dim() == 2)
    assert matrices == block(N, D, MLP, K)["weights"]
    rest = sum(p.numel() for p in encoder_block.parameters() if p.dim() != 2)
    assert rest == 3 * D + D + MLP + D + 2 * 2 * D  # QKV, output and MLP biases; two layer norms


def test_closed_form_for_variant_fields():
    _, f = tiny_vit()
    out = closed_form_for(f)
    assert out["vit_closed_form_flops"] == DEPTH * block(N, D, MLP, K)["flops"]
    assert out["vit_closed_form_block_weights"] == D * (4 * D + 2 * MLP)
    assert set(out) == {f"vit_closed_form_{k}" for k in closed_form(1, 1, 1, 1, 1)}
    assert closed_form_for(ARCHS["resnet50"].normalize({}, "t")) == {}
