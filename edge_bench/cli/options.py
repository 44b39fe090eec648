"""What the commands share: the flags' values read and checked (one-line errors naming the flag), the
recipe's variants, the progress line, the exit codes."""

from __future__ import annotations

import math

from ..errors import InputError

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a Unix tool whose reader went away


def chosen_runtimes(text: str | None, recipe) -> list[str]:
    """The runtimes --runtime names (comma-separated), or the recipe's."""
    if not text:
        return list(recipe.runtimes)
    chosen = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in ("executorch", "litert")]
    if unknown or not chosen:
        raise InputError(f"--runtime {text}: choose from executorch, litert (comma-separated)")
    return chosen


def recipe_variants(args):
    """--recipe's recipe and its variants, kept by every --only."""
    from ..config import load_recipe
    from ..recipes import Only, expand

    recipe = load_recipe(args.recipe)
    return recipe, expand(recipe, [Only.parse(o) for o in args.only or []])


def progress_line():
    """Where a command shows how far it is, on the terminal's stderr."""
    from ..console import console_stderr
    from ..progress import Progress

    return Progress(console_stderr())  # a line redrawn on a terminal, plain lines now and then otherwise


def finite(flag: str, value: float, low: float | None = None, high: float | None = None, what: str = "") -> float:
    """A numeric flag that must be a finite number in [low, high]: one-line error otherwise."""
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        raise InputError(f"{flag} {value}: give {what or 'a finite number'}")
    return value
