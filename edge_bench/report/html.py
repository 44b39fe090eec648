"""Sections -> one self-contained report.html: plots embedded as base64 PNG, a little CSS, no script
and nothing fetched from anywhere, so the file can be mailed or archived on its own."""

from __future__ import annotations

import base64
import html
import numbers
import re

import pandas as pd

from .blocks import Alert, Bullets, Image, Section, Table, Text
from .tables import cell

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 1200px;
       padding: 0 1em; color: #1d1d1f; }
h1 { font-size: 1.6em; margin-bottom: .3em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.answer { background: #f3f8ff; border: 1px solid #b9d3f5; border-radius: 6px; padding: .4em 1.2em 1em; }
.answer h2 { margin-top: .6em; border: none; }
.answer li { font-size: 1.05em; }
nav { margin: 1em 0; color: #555; }
nav a { margin-right: .9em; }
table { border-collapse: collapse; margin: .6em 0; font-size: 12.5px; }
th, td { border: 1px solid #d8d8d8; padding: 3px 7px; }
th { background: #f4f4f4; text-align: left; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
.scroll { overflow-x: auto; }
img { max-width: 100%; height: auto; border: 1px solid #eee; margin: .5em 0; }
code { background: #f2f2f2; padding: 0 .25em; border-radius: 3px; }
.warning { background: #fff4e0; border-left: 4px solid #e08a00; padding: .4em .8em; }
footer { margin-top: 2.5em; color: #666; font-size: 12px; }
"""


def inline(text: str) -> str:
    """Escaped text with **bold** and `code` turned into their tags."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for value in values:
            numeric = isinstance(value, numbers.Number) and not isinstance(value, bool)
            cells.append(f'<td class="num">{cell(value)}</td>' if numeric else f"<td>{html.escape(cell(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _image(block: Image) -> str:
    data = base64.b64encode(block.path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}">'


def render_block(block) -> str:
    if isinstance(block, Text):
        return f"<p>{inline(block.text)}</p>"
    if isinstance(block, Alert):
        return f'<p class="warning"><strong>Warning:</strong> {inline(block.text)}</p>'
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{inline(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Table):
        return _table(block.frame)
    if isinstance(block, Image):
        return _image(block)
    raise TypeError(f"unknown report block {type(block).__name__}")


def _section(section: Section, css_class: str = "") -> str:
    attributes = f' id="{section.anchor}"' + (f' class="{css_class}"' if css_class else "")
    body = "\n".join(render_block(b) for b in section.blocks)
    return f"<section{attributes}>\n<h2>{html.escape(section.title)}</h2>\n{body}\n</section>"


def render(title: str, first: Section, rest: list[Section], footer: list[str]) -> str:
    nav = " ".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in rest)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        _section(first, "answer"),
        f"<nav>Contents: {nav}</nav>",
        *(_section(s) for s in rest),
        "<footer>" + "<br>".join(inline(line) for line in footer) + "</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
