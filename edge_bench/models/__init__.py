"""Model builders, by architecture name.

This module stays torch-free: recipes are validated against `ARCHS` without importing torch; the
builder itself (`module:function`) is imported only when a variant is built.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import InputError
from ..typecheck import conforms

# Fields every variant carries, whatever its architecture.
COMMON = {"arch": "", "resolution": 224, "width": 1.0, "weights": "random", "num_classes": 1000, "aspect": 1.0}


@dataclass(frozen=True)
class Arch:
    name: str
    builder: str  # "module:function", called as function(fields) -> torch.nn.Module
    defaults: Mapping[str, Any] = field(default_factory=dict)  # arch-specific fields and their defaults
    derive: Callable[[dict[str, Any]], None] | None = None  # fills derived fields (e.g. ViT resolution)

    def normalize(self, point: Mapping[str, Any], source: Path | str) -> dict[str, Any]:
        """Defaults filled, unknown fields and wrong types refused (naming the recipe file and key)."""
        allowed = {**COMMON, **self.defaults}
        fields = dict(allowed)
        fields["arch"] = self.name
        for key, value in point.items():
            if key not in allowed:
                raise InputError(
                    f"{source}: unknown field '{key}' for arch '{self.name}' (known: {', '.join(sorted(allowed))})"
                )
            default = allowed[key]
            if not conforms(value, type(default)):
                raise InputError(f"{source}: field '{key}' must be {type(default).__name__}, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"{source}: field '{key}' must be a finite number, got {value!r}")
            fields[key] = float(value) if isinstance(default, float) else value
        if self.derive is not None:
            try:
                self.derive(fields)
            except InputError as e:  # derive knows the fields, not the file: name it here
                raise InputError(f"{source}: arch '{self.name}': {e}") from None
        if not isinstance(fields["resolution"], int) or fields["resolution"] <= 0:
            raise InputError(f"{source}: field 'resolution' must be a positive integer, got {fields['resolution']!r}")
        return fields

    def build(self, fields: Mapping[str, Any]):
        module, function = self.builder.split(":")
        return getattr(importlib.import_module(module), function)(fields)


def input_shape(fields: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """NCHW input of one image: height = resolution, width = resolution x aspect."""
    height = int(fields["resolution"])
    return (1, 3, height, int(round(height * float(fields["aspect"]))))


def _positive_width(fields: dict[str, Any]) -> None:
    if fields["width"] <= 0:
        raise InputError(f"field 'width' must be > 0, got {fields['width']}")


def _derive_resnet(fields: dict[str, Any]) -> None:
    _positive_width(fields)
    if fields["resize_after_stem"] < 0:
        raise InputError(f"field 'resize_after_stem' must be >= 0 (0: off), got {fields['resize_after_stem']}")


def _derive_vit(fields: dict[str, Any]) -> None:
    """resolution = tokens x patch and width = hidden / 384, both derived; refuse a conflicting value."""
    for key in ("tokens", "patch", "hidden", "mlp", "depth", "heads"):
        if fields[key] <= 0:
            raise InputError(f"field '{key}' must be > 0, got {fields[key]}")
    if fields["hidden"] % fields["heads"]:
        raise InputError(f"field 'hidden' ({fields['hidden']}) must be divisible by 'heads' ({fields['heads']})")
    if fields["aspect"] != 1.0:
        raise InputError(f"field 'aspect' must be 1.0 for a ViT (square patch grid), got {fields['aspect']}")
    resolution = fields["tokens"] * fields["patch"]
    if fields["resolution"] not in (0, resolution):
        raise InputError(
            f"field 'resolution' is derived for a ViT (tokens x patch = {resolution}), got {fields['resolution']}; give 'tokens' instead"
        )
    width = fields["hidden"] / 384
    if fields["width"] not in (0.0, width):
        raise InputError(
            f"field 'width' is derived for a ViT (hidden / 384 = {width:g}), got {fields['width']}; give 'hidden' instead"
        )
    fields["resolution"], fields["width"] = resolution, width


def _derive_regseg(fields: dict[str, Any]) -> None:
    _positive_width(fields)
    if fields["width"] * 16 != int(fields["width"] * 16):
        raise InputError(
            f"field 'width' of regseg scales the group width 16 and must be a multiple of 1/16, got {fields['width']}"
        )


def _derive_nasnet(fields: dict[str, Any]) -> None:
    _positive_width(fields)
    if fields["cells"] <= 0:
        raise InputError(f"field 'cells' (normal cells per stack) must be > 0, got {fields['cells']}")
    filters = fields["filters"] * fields["width"]
    if filters != int(filters) or int(filters) % 2 or filters <= 0:
        raise InputError(
            f"field 'filters' x 'width' must be an even whole number (a factorized reduction halves it), "
            f"got {fields['filters']} x {fields['width']} = {filters:g}"
        )


ROOFLINE_PROBES = ("compute", "memory")


def _derive_probe(fields: dict[str, Any]) -> None:
    if fields["probe"] not in ROOFLINE_PROBES:
        raise InputError(f"field 'probe' must be one of {', '.join(ROOFLINE_PROBES)}, got {fields['probe']!r}")
    if fields["channels"] <= 0:
        raise InputError(f"field 'channels' must be > 0, got {fields['channels']}")


ARCHS: dict[str, Arch] = {
    "resnet50": Arch(
        "resnet50",
        "edge_bench.models.resnet:build",
        # resize_after_stem: FCR, activations resized to this size after the stem conv (0: off).
        defaults={"checkpoint": "", "resize_after_stem": 0},
        derive=_derive_resnet,
    ),
    # ResNet-50 v1 (the ResNet paper's): the stride on the first 1x1 convolution of each downsampling block.
    "resnet50_v1": Arch(
        "resnet50_v1",
        "edge_bench.models.resnet:build_v1",
        defaults={"checkpoint": "", "resize_after_stem": 0},
        derive=_derive_resnet,
    ),
    "mobilenet_v2": Arch(
        "mobilenet_v2", "edge_bench.models.mobilenet:build", defaults={"checkpoint": ""}, derive=_positive_width
    ),
    # ViT-S/16 by default; resolution (0 = derive) and width (0.0 = derive) are computed, see _derive_vit.
    "vit": Arch(
        "vit",
        "edge_bench.models.vit:build",
        defaults={
            "checkpoint": "",
            "tokens": 14,
            "patch": 16,
            "hidden": 384,
            "mlp": 1536,
            "depth": 12,
            "heads": 6,
            "resolution": 0,
            "width": 0.0,
        },
        derive=_derive_vit,
    ),
    # NASNet-A (N @ F) on CIFAR-10: N = cells per stack, F = 24 x filters x width; (6 @ 768) by default.
    "nasnet_a": Arch(
        "nasnet_a",
        "edge_bench.models.nasnet:build",
        defaults={"checkpoint": "", "cells": 6, "filters": 32, "num_classes": 10, "resolution": 32},
        derive=_derive_nasnet,
    ),
    # RegSeg exp48_decoder26 on Cityscapes shapes: resolution is the height, width = 2 x height.
    "regseg": Arch(
        "regseg",
        "edge_bench.models.regseg:build",
        defaults={"checkpoint": "", "num_classes": 19, "aspect": 2.0, "resolution": 1024},
        derive=_derive_regseg,
    ),
    # The roofline probes of `run --profile-ops` (models/probe.py): a target's measured INT8 ceilings.
    "roofline_probe": Arch(
        "roofline_probe",
        "edge_bench.models.probe:build",
        defaults={"probe": "compute", "channels": 256, "resolution": 56},
        derive=_derive_probe,
    ),
}


def arch_of(name: str, source: Path | str = "") -> Arch:
    if name not in ARCHS:
        raise InputError(f"{source}: unknown arch '{name}' (known: {', '.join(sorted(ARCHS))})")
    return ARCHS[name]
