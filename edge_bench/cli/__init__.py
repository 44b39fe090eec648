"""The edge-bench command line: `parser.py` (the flags), `commands.py` and `run.py` (what each command does),
`options.py` (reading the flags' values), `entry.py` (`main`: exit codes and one-line errors).

Exit codes: 0 everything measured, 1 some variants failed (the others are recorded), 2 bad input; the
others in `entry.py`.
"""

from .entry import main

__all__ = ["main"]
