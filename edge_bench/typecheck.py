"""Values from TOML files and the command line, checked against the types the code declares.

One checker for every place that reads user values (target and recipe tables, model fields): an int
is accepted where a float is declared, a bool never passes for a number.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Mapping


def conforms(value: Any, annotation: Any) -> bool:
    """A small structural check of TOML values against dataclass annotations."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is tuple:
        (item, *_rest) = typing.get_args(annotation)
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if origin in (Mapping, dict) or annotation is Mapping:
        return isinstance(value, dict)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def type_name(annotation: Any) -> str:
    return str(annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
