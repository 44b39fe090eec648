"""The paper's closed forms for a ViT encoder block, to put beside the counts taken on the graph.

With N patch tokens per side, hidden size D, MLP size D_MLP and k heads, per block:

    FLOPs        4 N^4 D + 3 k N^4 + 2 N^2 D^2 + 4 N^2 D D_MLP
    activations  5 N^2 D + N^2 D_MLP          (elements; bytes at INT8)
    weights      D (3D + D + 2 D_MLP)         (elements; bytes at INT8)

The formulas are taken as published. How they relate to `torch.utils.flop_counter` on torchvision's
encoder block (tests/test_vit_closed_form.py checks the relation exactly):
- 4 N^4 D: Q K^T and A V, k heads of N^2 x N^2 x D/k multiply-adds each, at 2 FLOPs per multiply-add.
- 4 N^2 D D_MLP: the two MLP linears (N^2 x D x D_MLP multiply-adds each), at 2 FLOPs per multiply-add.
- 2 N^2 D^2: the Q, K, V and output projections are 4 N^2 D^2 multiply-adds, 8 N^2 D^2 FLOPs; the
  closed form's term is a quarter of what the counter reports for them.
- 3 k N^4: the softmax (k score matrices of N^4 entries, 3 operations each); the counter counts no
  softmax.
- Neither counts biases, layer norms, GELU, the 1/sqrt(D/k) scaling or the residual adds; the closed
  form also leaves out the class token (torchvision's encoder sees N^2 + 1 tokens).
- weights: the Q, K, V, output and two MLP matrices; biases and layer norms are left out.
- activations: five N^2 x D tensors (the block input, Q, K, V, the attention output) and the MLP
  hidden tensor; the k x N^2 x N^2 attention scores are not in the formula.
"""

from __future__ import annotations

from typing import Any, Mapping


def block(tokens: int, hidden: int, mlp: int, heads: int) -> dict[str, int]:
    """The closed forms of one encoder block (N = tokens per side)."""
    n2 = tokens * tokens
    n4 = n2 * n2
    return {
        "flops": 4 * n4 * hidden + 3 * heads * n4 + 2 * n2 * hidden * hidden + 4 * n2 * hidden * mlp,
        "activations": 5 * n2 * hidden + n2 * mlp,
        "weights": hidden * (3 * hidden + hidden + 2 * mlp),
    }


def closed_form(tokens: int, hidden: int, mlp: int, heads: int, depth: int) -> dict[str, int]:
    """Per block and for the whole encoder (`depth` identical blocks).

    FLOPs and weights add up over the blocks. Activations are given both ways: `activations_max` is
    the largest over blocks (every block is the same, so one block's), the paper's memory metric;
    `activations_sum` is what all blocks produce together.
    """
    one = block(tokens, hidden, mlp, heads)
    return {
        "block_flops": one["flops"],
        "block_activations": one["activations"],
        "block_weights": one["weights"],
        "flops": depth * one["flops"],
        "weights": depth * one["weights"],
        "activations_max": one["activations"],
        "activations_sum": depth * one["activations"],
    }


def closed_form_for(fields: Mapping[str, Any]) -> dict[str, int]:
    """The closed forms of a normalized `vit` variant, keys prefixed `vit_closed_form_`; {} for other archs."""
    if fields.get("arch") != "vit":
        return {}
    counts = closed_form(
        int(fields["tokens"]), int(fields["hidden"]), int(fields["mlp"]), int(fields["heads"]), int(fields["depth"])
    )
    return {f"vit_closed_form_{key}": value for key, value in counts.items()}
