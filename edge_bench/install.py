"""What is installed: edge-bench's version and location, and which of its extras provides a module."""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

from . import __version__

DISTRIBUTION = "edge-bench"
# Distributions whose import name is not their normalized project name.
_IMPORT_NAMES = {"pillow": "PIL"}


def describe() -> str:
    """`edge-bench --version`: the version, where the package is imported from, and the Python."""
    where = Path(__file__).resolve().parent
    return f"edge-bench {__version__} from {where} (Python {sys.version.split()[0]})"


def extra_providing(module: str) -> str | None:
    """The extra of edge-bench (host, device, test) whose requirements install top-level `module`, if any."""
    top = module.partition(".")[0]
    try:
        requirements = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if name and extra and _import_name(name.group(0)) == top:
            return extra.group(1)
    return None


def _import_name(project: str) -> str:
    normalized = re.sub(r"[-_.]+", "-", project).lower()
    return _IMPORT_NAMES.get(normalized, normalized.replace("-", "_"))
