"""Short, readable labels of variants for plots and tables: "182 px ×0.5" for "resnet50[resolution=182,width=0.5]"."""

from __future__ import annotations

import re

# How a swept field is written in a label; any other field is written key=value.
FIELD_LABELS = {
    "resolution": "{} px",
    "width": "×{}",
    "tokens": "{} tokens",
    "patch": "patch {}",
    "resize_after_stem": "→{} px after stem",
}


def point_label(variant: object, with_arch: bool = False) -> str:
    """The swept fields of a variant name, each in a few characters; the arch in front on request."""
    name = str(variant)
    match = re.fullmatch(r"(.*)\[(.*)\]", name)
    if not match:
        return name
    arch, inner = match.groups()
    parts = []
    for part in inner.split(","):
        key, _, value = part.partition("=")
        parts.append(FIELD_LABELS[key].format(value) if key in FIELD_LABELS else part)
    label = " ".join(parts)
    return f"{arch} {label}" if with_arch else label
