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
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torchvision.models.vision_transformer import VisionTransformer

from . import weights

VIT_S_HIDDEN = 384  # width 1.0


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
    return weights.apply(model, source).eval()
