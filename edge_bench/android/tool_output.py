"""What both native tools' parsers share: numbers as the tools print them."""

from __future__ import annotations


def number(text: str | None) -> float | None:
    """A printed number, or None where the tool printed none or something that is not one."""
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
