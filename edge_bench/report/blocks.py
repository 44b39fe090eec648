"""The blocks a report is made of (text, bullets, tables, images, sections): what the markdown and HTML
writers both render."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Text:
    """A paragraph; **bold** and `code` are the only inline markup."""

    text: str


@dataclass(frozen=True)
class Alert:
    """A paragraph the reader must not miss: a conclusion the measurements do not support."""

    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame  # as shown: headers and scaled values


@dataclass(frozen=True)
class Image:
    path: Path
    alt: str


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")
