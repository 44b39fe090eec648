"""Where a variant's weights come from, and loading them into a built model.

Two fields choose the weights of every arch:

- `weights`: "random" (the model is built right after `torch.manual_seed(0)`, so random artifacts are
  reproducible), or a torchvision weights name. A short name ("IMAGENET1K_V2", "DEFAULT") is looked up
  in the weights enum of the arch's torchvision model; a full name ("ResNet50_Weights.IMAGENET1K_V2")
  is taken as is (`torchvision.models.get_weight`).
- `checkpoint`: a local .pt/.pth file holding a state_dict, or a dict with a "state_dict" or "model"
  entry; a "module." prefix (DataParallel) is stripped.

`resolve(fields)` says what will really be loaded (`WeightsSource`, the key of the artifact cache), and
`apply(model, source)` loads it. Pretrained weights that cannot be had (offline, failed download) fall
back to random weights, with one warning per weights name and the reason in `WeightsSource.note`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError

log = logging.getLogger(__name__)

# Archs whose pretrained weights come from a torchvision model of the same architecture (at width 1).
TORCHVISION_MODEL = {"resnet50": "resnet50", "mobilenet_v2": "mobilenet_v2"}
# Archs no torchvision weights fit, and why: a weights name is refused before anything is downloaded.
NO_TORCHVISION_WEIGHTS = {
    "resnet50_v1": "torchvision's ResNet-50 weights are trained for v1.5 (stride on the 3x3 convolution), not v1",
    "nasnet_a": "torchvision has no NASNet weights",
}

_unavailable: dict[str, str] = {}  # full weights name -> why it could not be fetched (warned once)
_MISMATCHES_SHOWN = 3


@dataclass(frozen=True)
class WeightsSource:
    kind: str  # "random" | "torchvision" | "checkpoint"
    name: str = ""  # full torchvision weights name, or the checkpoint's absolute path
    sha256: str = ""  # of the checkpoint file
    note: str = ""  # why pretrained weights were replaced by random ones, if they were


RANDOM = WeightsSource("random")


def resolve(fields: Mapping[str, Any]) -> WeightsSource:
    """What `apply` will load for these (normalized) variant fields."""
    arch = fields["arch"]
    name = str(fields.get("weights", "random"))
    checkpoint = str(fields.get("checkpoint", ""))
    if checkpoint:
        if name != "random":
            raise InputError(f"arch '{arch}': give either weights = '{name}' or checkpoint = '{checkpoint}', not both")
        path = Path(checkpoint).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"arch '{arch}': checkpoint file {checkpoint} does not exist (field 'checkpoint')")
        stat = path.stat()
        return WeightsSource("checkpoint", str(path), _sha256(str(path), stat.st_size, stat.st_mtime_ns))
    if name == "random":
        return RANDOM
    if arch in NO_TORCHVISION_WEIGHTS:
        raise InputError(
            f"arch '{arch}': weights = '{name}' cannot be used: {NO_TORCHVISION_WEIGHTS[arch]}; "
            "use weights = 'random' or a checkpoint"
        )
    full = _torchvision_name(arch, name, float(fields.get("width", 1.0)))
    if full not in _unavailable:
        try:
            _fetch_cached(full)
        except Exception as e:  # offline, refused, corrupt download: the sweep goes on with random weights
            _unavailable[full] = f"{type(e).__name__}: {e}".splitlines()[0]
            log.warning("pretrained weights %s unavailable (%s); using random weights", full, _unavailable[full])
    if full in _unavailable:
        return WeightsSource("random", note=f"{full} unavailable, random weights used ({_unavailable[full]})")
    return WeightsSource("torchvision", full)


def apply(model: Any, source: WeightsSource) -> Any:
    """Load `source` into `model` (in place) and return it. Random weights are left as built."""
    if source.kind == "random":
        return model
    if source.kind == "torchvision":
        load_state_dict(model, _fetch_cached(source.name), f"weights {source.name}")
    elif source.kind == "checkpoint":
        load_state_dict(model, read_checkpoint(source.name), f"checkpoint {source.name}")
    else:
        raise ValueError(f"unknown weights kind {source.kind!r}")
    return model


def read_checkpoint(path: str) -> dict[str, Any]:
    """The state_dict in a checkpoint file, unwrapped and without a "module." prefix."""
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise InputError(
            f"checkpoint {path}: cannot be read as a torch checkpoint ({type(e).__name__}: {e})".splitlines()[0]
        ) from None
    if isinstance(data, dict):
        for wrapper in ("state_dict", "model"):
            if isinstance(data.get(wrapper), dict):
                data = data[wrapper]
                break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise InputError(
            f"checkpoint {path}: expected a state_dict (or a dict with 'state_dict' or 'model'), got {type(data).__name__}"
        )
    return {k.removeprefix("module."): v for k, v in data.items()}


def load_state_dict(model: Any, state: Mapping[str, Any], origin: str) -> None:
    """Load `state` into `model`, refusing any missing, unexpected or mis-shaped key (InputError).

    A model whose layout differs from the one its published checkpoints were saved in translates them
    with its `adapt_state_dict(state) -> state` method (e.g. RegSeg).
    """
    adapt = getattr(model, "adapt_state_dict", None)
    if adapt is not None:
        state = adapt(state)
    own = model.state_dict()
    # BatchNorm's step counter is unused in eval mode; older checkpoints lack it.
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    misshaped = [
        f"{k} {tuple(state[k].shape)} != model {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems = []
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape", misshaped)):
        if keys:
            problems.append(f"{len(keys)} {what}: {', '.join(keys[:_MISMATCHES_SHOWN])}")
    if problems:
        raise InputError(f"{origin} does not match the model ({'; '.join(problems)})")
    model.load_state_dict(state, strict=False)


def _torchvision_name(arch: str, name: str, width: float) -> str:
    import torchvision

    tv_model = TORCHVISION_MODEL.get(arch)
    if tv_model is not None and width != 1.0:
        raise InputError(
            f"arch '{arch}': weights = '{name}' are pretrained at width 1.0, not {width}; use weights = 'random' or a checkpoint"
        )
    if "." not in name:
        if tv_model is None:
            raise InputError(
                f"arch '{arch}': weights = '{name}' is ambiguous; give a full torchvision name "
                "(e.g. 'ViT_B_16_Weights.IMAGENET1K_V1') or a checkpoint"
            )
        enum = torchvision.models.get_model_weights(tv_model)
        name = f"{enum.__name__}.{name}"
    try:
        weights = torchvision.models.get_weight(name)
    except (ValueError, KeyError, AttributeError):
        raise InputError(
            f"arch '{arch}': unknown torchvision weights '{name}' (field 'weights'; or 'random')"
        ) from None
    if tv_model is not None and type(weights) is not torchvision.models.get_model_weights(tv_model):
        raise InputError(f"arch '{arch}': weights '{name}' belong to another model than torchvision's {tv_model}")
    return f"{type(weights).__name__}.{weights.name}"  # "DEFAULT" resolved to the entry it aliases


def fetch_state_dict(full_name: str) -> Mapping[str, Any]:
    """torchvision's state_dict for the weights (downloaded once into torch's hub cache)."""
    import torchvision

    return torchvision.models.get_weight(full_name).get_state_dict(progress=False, check_hash=True)


@lru_cache(maxsize=2)
def _fetch_cached(full_name: str) -> Mapping[str, Any]:
    return fetch_state_dict(full_name)


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:  # size and mtime key the cache
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
