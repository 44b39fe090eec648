"""Vision Transformer (ViT-S/16 by default) from torchvision's `VisionTransformer`.

Fields (besides the common ones), defaults of ViT-S/16 at 224:
- `tokens` (14): patches per side, N; the encoder sees N^2 patch tokens plus the class token.
- `patch` (16): patch side in pixels. `resolution` is derived: tokens x patch (a recipe gives tokens
  and patch, not resolution); the input is square (aspect 1).
- `hidden` (384, D), `mlp` (1536, D_MLP), `depth` (12 blocks), `heads` (6, k; hidden % heads == 0).
- `width` is derived and reported: hidden / 384 (ViT-S has width 1).
- `weights`, `checkpoint`: see `weights.py`; torchvision weights need their full name and a matching
  configuration (e.g. 'ViT_B_16_Weights.IMAGENET1K_V1' with hidden 768, mlp 3072, heads 12, tokens 14).

The position embedding has tokens^2 + 1 entries: a variant's weights are for its own token count.

Each block's `nn.MultiheadAttention` is replaced by `SelfAttention`, the same computation written
with plain matmuls and a softmax, on the same parameters (same state_dict keys, same random
initialization). `nn.MultiheadAttention` hides its work from torch's FLOP counter (in eval mode
without grad it takes a fused fast path; on CPU its attention kernel has no FLOP formula), and its
scaled-dot-product attention decomposes, for ExecuTorch, into masking ops that XNNPACK does not
delegate.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models.vision_transformer import VisionTransformer

from . import weights


class SelfAttention(nn.Module):
    """Multi-head self-attention (batch first) on the parameters of an `nn.MultiheadAttention`."""

    def __init__(self, attention: nn.MultiheadAttention):
        super().__init__()
        self.heads = attention.num_heads
        self.in_proj_weight = attention.in_proj_weight  # (3D, D): Q, K and V stacked
        self.in_proj_bias = attention.in_proj_bias
        self.out_proj = attention.out_proj

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, need_weights: bool = False):
        # torchvision's EncoderBlock calls attention(x, x, x, need_weights=False): self-attention only.
        batch, n, dim = query.shape
        head_dim = dim // self.heads
        qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)
        # Slices and 3-D bmm rather than indexing and 4-D matmul: their ExecuTorch forms (slice_copy,
        # bmm) are delegated to XNNPACK, those of the others (select_copy, expand_copy) are not.
        q, k, v = (self._split_heads(qkv[:, :, i * dim : (i + 1) * dim], head_dim) for i in range(3))
        scores = torch.bmm(q, k.transpose(1, 2)) * (head_dim**-0.5)  # (B*k, n, n)
        out = torch.bmm(torch.softmax(scores, dim=-1), v)  # (B*k, n, D/k)
        out = out.reshape(batch, self.heads, n, head_dim).transpose(1, 2).reshape(batch, n, dim)
        return self.out_proj(out), None

    def _split_heads(self, x: torch.Tensor, head_dim: int) -> torch.Tensor:
        batch, n, _ = x.shape
        return x.reshape(batch, n, self.heads, head_dim).transpose(1, 2).reshape(batch * self.heads, n, head_dim)


def build(fields: Mapping[str, Any]) -> torch.nn.Module:
    source = weights.resolve(fields)
    torch.manual_seed(0)  # random weights are reproducible, so cached artifacts are too
    model = VisionTransformer(
        image_size=int(fields["tokens"]) * int(fields["patch"]),
        patch_size=int(fields["patch"]),
        num_layers=int(fields["depth"]),
        num_heads=int(fields["heads"]),
        hidden_dim=int(fields["hidden"]),
        mlp_dim=int(fields["mlp"]),
        num_classes=int(fields["num_classes"]),
    )
    for block in model.encoder.layers:
        block.self_attention = SelfAttention(block.self_attention)
    return weights.apply(model, source).eval()
