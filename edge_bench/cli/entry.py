"""`edge-bench`: parse, run the command, and turn what went wrong into one line and an exit code.

Exit codes: 0 everything measured, 1 some variants failed (the others are recorded), 2 bad input,
3 a defect (one line; `-v` shows the traceback), 130 interrupted, 141 stdout closed by its reader (quietly,
as a Unix tool killed by SIGPIPE ends: 128 + 13).
"""

from __future__ import annotations

import logging
import os
import select
import sys
from typing import Sequence

from ..errors import InputError
from .options import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_STDOUT_CLOSED
from .parser import build_parser


def _quiet_libraries(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not verbose:  # the libraries' warnings go to edge-bench.log (console.py); progress bars nowhere
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")


def _library_output(args, argv: list[str]):
    """Quiet by default: what the libraries print goes to edge-bench.log (see console.py)."""
    from ..console import LibraryOutput
    from ..export.cache import cache_root

    return LibraryOutput(f"edge-bench {' '.join(argv)}", cache_root() / "logs" / f"{args.command}.log")


def _missing_extra(e: ModuleNotFoundError, command: str) -> str | None:
    """One line naming the extra that installs the missing module, when one of edge-bench's extras does."""
    from ..install import extra_providing

    extra = extra_providing(e.name or "")
    if extra is None:
        return None
    return (
        f"'{command}' needs {e.name}, which the {extra} extra installs: pip install \"edge-bench[{extra}]\" "
        f"(in a checkout: scripts/setup.sh)"
    )


def _stdout_closed() -> bool:
    """Whether stdout is a pipe its reader has closed (poll reports an error on it): the pipe that broke was
    stdout, not one to a child process, which would be a defect to report."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _stdout_to_devnull() -> None:
    """Point stdout's descriptor at /dev/null: what is still buffered goes nowhere at exit, with no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # a stdout without a descriptor (captured): nothing is flushed to a pipe
        pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    output = None
    command = "edge-bench"
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        _quiet_libraries(args.verbose)
        if args.verbose:
            code = args.func(args)
        else:
            output = _library_output(args, argv)
            with output:
                code = args.func(args)
        sys.stdout.flush()  # a reader that went away shows here, not in Python's flush at exit
        return code
    except InputError as e:
        print(f"edge-bench: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(
            "edge-bench: interrupted; what was measured is in results.jsonl (continue with --resume)", file=sys.stderr
        )
        return 130
    except Exception as e:  # a defect in edge-bench or a library: say so in one line unless asked
        if isinstance(e, BrokenPipeError) and _stdout_closed():  # `edge-bench list recipes | head -1`
            _stdout_to_devnull()
            return EXIT_STDOUT_CLOSED
        missing = _missing_extra(e, command) if isinstance(e, ModuleNotFoundError) else None
        if missing:  # not a defect: an extra that was not installed
            print(f"edge-bench: error: {missing}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if verbose:
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        log = f"; the libraries' output is in {output.log}" if output is not None and output.log else ""
        print(
            f"edge-bench: internal error: {type(e).__name__}: {first} (run with -v for the traceback{log})",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
