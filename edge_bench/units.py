"""Byte and frequency quantities written the way datasheets write them: "512 KiB", "2 MiB", "480 MHz".

Byte units follow SI and IEC exactly: kB, MB, GB are powers of 1000; KiB, MiB, GiB powers of 1024.
A capital "K"/"KB" is refused: memory datasheets use it for 1024 while SI would read it as 1000, and a
budget off by 2.4% decides whether a model fits. Write KiB (1024) or kB (1000) instead.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import InputError

BYTE_UNITS: dict[str, int] = {
    "": 1,
    "B": 1,
    "kB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
# Unit -> (1024-based, 1000-based) spellings to suggest instead.
AMBIGUOUS_BYTE_UNITS = {
    "K": ("KiB", "kB"),
    "KB": ("KiB", "kB"),
    "k": ("KiB", "kB"),
    "M": ("MiB", "MB"),
    "G": ("GiB", "GB"),
}
HZ_UNITS: dict[str, int] = {"": 1, "hz": 1, "khz": 1000, "mhz": 1000**2, "ghz": 1000**3}  # matched case-insensitively

_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
BYTES_FORMS = 'an integer number of bytes, or a string such as "1048576", "512 kB", "1 MB", "2 MiB", "1.5 KiB"'
HZ_FORMS = 'an integer number of Hz, or a string such as "480 MHz", "240MHz", "1.2 GHz", "32.768 kHz"'


def _split(value: str) -> tuple[Decimal, str] | None:
    match = _QUANTITY.match(value)
    if not match:
        return None
    try:
        return Decimal(match.group(1)), match.group(2)
    except InvalidOperation:
        return None


def _whole(number: Decimal, scale: int) -> int | None:
    total = number * scale
    return int(total) if total == total.to_integral_value() else None


def parse_bytes(value: object, where: str) -> int:
    """A positive byte count from an int or a string with an SI/IEC unit; `where` names the file and key."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise InputError(f"{where} must be > 0 bytes, got {value}")
        return value
    if not isinstance(value, str):
        raise InputError(f"{where} must be {BYTES_FORMS}; got {value!r}")
    parts = _split(value)
    if parts is None:
        raise InputError(f"{where} must be {BYTES_FORMS}; got {value!r}")
    number, unit = parts
    if unit in AMBIGUOUS_BYTE_UNITS:
        binary, decimal = AMBIGUOUS_BYTE_UNITS[unit]
        raise InputError(
            f"{where}: unit '{unit}' in {value!r} is ambiguous (1000 or 1024?); "
            f"write {binary} (1024-based) or {decimal} (1000-based)"
        )
    if unit not in BYTE_UNITS:
        raise InputError(f"{where}: unknown unit '{unit}' in {value!r} (known: B, kB, MB, GB, KiB, MiB, GiB)")
    count = _whole(number, BYTE_UNITS[unit])
    if count is None:
        raise InputError(f"{where}: {value!r} is not a whole number of bytes")
    if count <= 0:
        raise InputError(f"{where} must be > 0 bytes, got {value!r}")
    return count


def parse_hz(value: object, where: str) -> int:
    """A positive frequency in Hz from an int or a string with Hz/kHz/MHz/GHz (any letter case)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise InputError(f"{where} must be > 0 Hz, got {value}")
        return value
    if not isinstance(value, str):
        raise InputError(f"{where} must be {HZ_FORMS}; got {value!r}")
    parts = _split(value)
    if parts is None:
        raise InputError(f"{where} must be {HZ_FORMS}; got {value!r}")
    number, unit = parts
    scale = HZ_UNITS.get(unit.lower())
    if scale is None:
        raise InputError(f"{where}: unknown unit '{unit}' in {value!r} (known: Hz, kHz, MHz, GHz)")
    hz = _whole(number, scale)
    if hz is None:
        raise InputError(f"{where}: {value!r} is not a whole number of Hz")
    if hz <= 0:
        raise InputError(f"{where} must be > 0 Hz, got {value!r}")
    return hz
