"""Where recipes and targets are found: the user's own folders first, then the ones edge-bench ships.

A name is looked up in these folders, in this order; the first file `NAME.toml` wins and shadows
the same name further down:

1. `cwd`:     the current folder's `recipes/` and `targets/`
2. `env`:     each folder of `$EDGE_BENCH_PATH` (separated by `:`), holding `recipes/` and `targets/`
3. `user`:    `$XDG_CONFIG_HOME/edge-bench/` (default `~/.config/edge-bench/`), `recipes/` and `targets/`
4. `bundled`: the catalog edge-bench ships: the repository's top-level `recipes/` and `targets/`, which
   this folder links to (`recipes -> ../../recipes`), so a wheel carries them as package data and a
   checkout reads them where a user sees them

Nearest first: the folder a user works in beats a standing setting, which beats what ships.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

KINDS = ("recipes", "targets")
BUNDLED = Path(__file__).resolve().parent


def bundled(kind: str) -> Path:
    """The shipped folder of `kind`: the checkout's top-level one, or the installed package's copy of it."""
    return (BUNDLED / kind).resolve()


PATH_VARIABLE = "EDGE_BENCH_PATH"


@dataclass(frozen=True)
class Source:
    """One folder searched for a kind of file, with the short label `list` shows for it."""

    label: str  # cwd, env (env1, env2, ... when $EDGE_BENCH_PATH names several), user, bundled
    folder: Path
    origin: str  # how the folder was chosen, for the search-order listing


@dataclass(frozen=True)
class Entry:
    """The file a name resolves to, and the sources further down that it shadows."""

    name: str
    path: Path
    source: Source
    shadows: tuple[Source, ...]


def user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "edge-bench"


def sources(kind: str) -> list[Source]:
    """The folders searched for `kind` ("recipes" or "targets"), first match first."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    found = [Source("cwd", Path.cwd() / kind, "the current folder")]
    paths = [p for p in os.environ.get(PATH_VARIABLE, "").split(os.pathsep) if p]
    for i, path in enumerate(paths, 1):
        label = "env" if len(paths) == 1 else f"env{i}"
        found.append(Source(label, Path(path).expanduser() / kind, f"${PATH_VARIABLE}"))
    found.append(Source("user", user_config_dir() / kind, "the user config folder ($XDG_CONFIG_HOME/edge-bench)"))
    found.append(Source("bundled", bundled(kind), "shipped with edge-bench"))
    unique, seen = [], set()
    for source in found:  # e.g. run from inside the catalog itself: one folder is searched once
        key = source.folder.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(source)
    return unique


def entries(kind: str) -> list[Entry]:
    """Every name of `kind` that resolves, sorted by name, each with the sources it shadows."""
    by_name: dict[str, list[tuple[Path, Source]]] = {}
    for source in sources(kind):
        for path in sorted(source.folder.glob("*.toml")) if source.folder.is_dir() else []:
            by_name.setdefault(path.stem, []).append((path, source))
    return [
        Entry(name, hits[0][0], hits[0][1], tuple(s for _, s in hits[1:])) for name, hits in sorted(by_name.items())
    ]


def find(kind: str, name: str) -> Path | None:
    """The file `name` resolves to, or None."""
    for source in sources(kind):
        path = source.folder / f"{name}.toml"
        if path.is_file():
            return path
    return None
