"""Sections -> report.md (GitHub markdown; plots as PNG files beside it)."""

from __future__ import annotations

from .blocks import Alert, Bullets, Image, Section, Table, Text
from .tables import to_markdown


def render_block(block) -> str:
    if isinstance(block, Text):
        return block.text
    if isinstance(block, Alert):
        return f"> **Warning:** {block.text}"
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, Table):
        return to_markdown(block.frame) if len(block.frame.columns) else "(no columns)"
    if isinstance(block, Image):
        return f"![{block.alt}]({block.path.name})"
    raise TypeError(f"unknown report block {type(block).__name__}")


def render(title: str, first: Section, rest: list[Section], footer: list[str]) -> str:
    """The answer first (what fits on a screen), then a table of contents, then everything else."""
    lines = [f"# {title}", "", f"## {first.title}", ""]
    for block in first.blocks:
        lines += [render_block(block), ""]
    lines += ["Contents: " + " · ".join(f"[{s.title}](#{s.anchor})" for s in rest), ""]
    for section in rest:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            lines += [render_block(block), ""]
    lines += footer
    return "\n".join(lines).rstrip() + "\n"
