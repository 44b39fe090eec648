"""Recipe -> Variants: grid expansion, explicit points, and `--only KEY=VALUE` filters."""

from __future__ import annotations

import itertools
import json
import types
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .config import Recipe
from .errors import InputError
from .models import arch_of


@dataclass(frozen=True)
class Variant:
    """One point of a recipe: every field the builder needs, and which of them the recipe sweeps."""

    recipe: str
    fields: Mapping[str, Any]
    swept: tuple[str, ...]

    @property
    def arch(self) -> str:
        return self.fields["arch"]

    @property
    def name(self) -> str:
        shown = ",".join(f"{k}={self.fields[k]}" for k in self.swept)
        return f"{self.arch}[{shown}]" if shown else self.arch

    def record(self) -> dict[str, Any]:
        """The `variant` object of a result record: name, arch, resolution, width, and every swept field."""
        out = {
            "name": self.name,
            "arch": self.arch,
            "resolution": self.fields["resolution"],
            "width": self.fields["width"],
        }
        for key in self.swept:
            out[key] = self.fields[key]
        return out

    def key(self) -> str:
        """Canonical JSON of all fields: what identifies the variant's build."""
        return json.dumps(dict(self.fields), sort_keys=True, default=str)


@dataclass(frozen=True)
class Only:
    """`--only KEY=VALUE[,VALUE...]`: pins a swept axis, or filters on any other field."""

    key: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "Only":
        key, sep, values = text.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise InputError(f"--only '{text}': expected KEY=VALUE, e.g. --only resolution=160")
        return cls(key.strip(), tuple(v.strip() for v in values.split(",") if v.strip()))


def _coerce(text: str, like: Any, flag: str) -> Any:
    """Read a command-line value as the type the recipe uses for that field."""
    try:
        if isinstance(like, bool):
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
    except ValueError:
        kind = {bool: "true or false", int: "an integer", float: "a number"}[type(like)]
        raise InputError(f"{flag}: '{text}' is not {kind}, as the recipe's values are") from None
    return text


def _matches(value: Any, wanted: tuple[str, ...], flag: str) -> bool:
    return any(value == _coerce(w, value, flag) for w in wanted)


def expand(recipe: Recipe, only: Sequence[Only] = ()) -> list[Variant]:
    """All variants of `recipe`, with `only` applied. Raises InputError for filters that name no field."""
    sweep = dict(recipe.sweep)
    filters: list[Only] = []
    pinned: set[str] = set()
    for o in only:
        flag = f"--only {o.key}={','.join(o.values)}"
        if o.key in sweep:
            # Pinning an axis may pick a point off the recipe's grid (e.g. resolution=160 on a
            # 224..140 step-14 sweep): the recipe still defines everything else about it.
            values = tuple(_coerce(v, sweep[o.key][0], flag) for v in o.values)
            if o.key in pinned:  # the same axis twice: both must hold
                values = tuple(v for v in sweep[o.key] if v in values)
            if not values:
                raise InputError(
                    f"--only: no variant of recipe '{recipe.name}' matches every --only on '{o.key}' "
                    f"({' and '.join(f'{x.key}={x.values}' for x in only if x.key == o.key)})"
                )
            sweep[o.key] = values
            pinned.add(o.key)
        else:
            filters.append(o)

    points: list[dict[str, Any]] = []
    axes = list(sweep)
    for combo in itertools.product(*(sweep[a] for a in axes)) if axes else ():
        points.append({**recipe.model, **dict(zip(axes, combo))})
    for explicit in recipe.variants:
        points.append({**recipe.model, **explicit})

    swept = list(axes)
    for explicit in recipe.variants:
        swept += [k for k in explicit if k not in swept and k not in recipe.model]
    variants = []
    seen = set()
    for point in points:
        fields = arch_of(point.get("arch", recipe.model["arch"]), recipe.path).normalize(point, recipe.path)
        v = Variant(recipe.name, types.MappingProxyType(fields), tuple(k for k in swept if k in fields))
        if v.key() not in seen:
            seen.add(v.key())
            variants.append(v)

    for o in filters:
        flag = f"--only {o.key}={','.join(o.values)}"
        if not any(o.key in v.fields for v in variants):
            known = sorted({k for v in variants for k in v.fields})
            raise InputError(f"{flag}: recipe '{recipe.name}' has no field '{o.key}' (fields: {', '.join(known)})")
        variants = [v for v in variants if o.key in v.fields and _matches(v.fields[o.key], o.values, flag)]
    if not variants:
        raise InputError(
            f"--only: no variant of recipe '{recipe.name}' matches {' '.join(f'{o.key}={o.values}' for o in only)}"
        )
    return variants
