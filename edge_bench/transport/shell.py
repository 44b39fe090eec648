"""Command strings for a device's POSIX shell: the one quoting rule of the ssh and adb transports.

Both `ssh HOST CMD` and `adb shell CMD` hand CMD to a shell on the device, so every argument we
send is quoted with shlex.quote (POSIX single quotes: spaces, quotes and `;` arrive verbatim and never
execute). A command announces its shell's process id on stderr first, so that a command killed for running
past its time limit on our side can also be killed on the device. The device user's login shell
must be a POSIX one (sh, dash, bash, zsh, mksh, busybox ash): csh and fish parse quotes differently.
"""

from __future__ import annotations

import re
import shlex
from typing import Callable, Sequence

PID_MARKER = "edge-bench-pid"
EXIT_MARKER = "edge-bench-exit"
_PID_LINE = re.compile(rf"^{PID_MARKER} (\d+)\r?\n", re.MULTILINE)
_EXIT_LINE = re.compile(rf"^{EXIT_MARKER} (\d+)\r?(?:\n|$)", re.MULTILINE)


def quote_path(path: str) -> str:
    """A device path for the shell; a leading `~/` stays the device user's home."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def join(argv: Sequence[str]) -> str:
    if not argv:
        raise ValueError("an empty command")
    return " ".join(shlex.quote(str(a)) for a in argv)


def in_workdir(workdir: str, argv: Sequence[str], report_exit: bool = False) -> str:
    """Run `argv` verbatim inside `workdir`, the shell's pid announced first on stderr.

    The shell stays the parent (no `exec`, and the trailing `exit` stops shells from exec'ing the last
    command themselves) so that a program killed by a signal returns 128+N instead of vanishing, which
    ssh would report as its own failure (255). sshd starts the shell with setsid, so it leads a process
    group and killing that group stops the program and anything the program started.

    `report_exit` also prints the exit status last on stderr, for adb: its client reports 0 when the
    device vanishes mid-command, and devices before Android 7 always report 0.
    """
    command = f"cd {quote_path(workdir)} && echo {PID_MARKER} $$ >&2 && {join(argv)}"
    if report_exit:
        return f"{command}; s=$?; echo {EXIT_MARKER} $s >&2; exit $s"
    return f"{command}; exit $?"


def split_exit(text: str) -> tuple[int | None, str]:
    """The exit status printed by `in_workdir(report_exit=True)`, and the text without that line."""
    matches = list(_EXIT_LINE.finditer(text))
    if not matches:
        return None, text
    last = matches[-1]
    return int(last.group(1)), text[: last.start()] + text[last.end() :]


def kill_group(pid: int) -> str:
    """Kill the shell `pid` started by `in_workdir` and the program it runs: its process group where it
    leads one, else its children by parent pid (for a device whose shell service does not setsid)."""
    pid = int(pid)
    return f"kill -s KILL -- -{pid} 2>/dev/null; pkill -9 -P {pid} 2>/dev/null; kill -s KILL {pid} 2>/dev/null; exit 0"


OWNER_FILE = ".edge-bench-owner"


def make_workdir(requested: str, owner: str = "") -> str:
    """Create the work dir (`requested`, else a fresh one under the device's $TMPDIR) and print its absolute path.

    A fresh one holds an owner file ("host pid"): a later session removes the dirs whose owner process is gone
    (a run that was killed could not remove its own).
    """
    if requested:
        where = quote_path(requested)
        return f"mkdir -p {where} && cd {where} && pwd -P"
    mark = f' && echo {shlex.quote(owner)} > "$d/{OWNER_FILE}"' if owner else ""
    return f'd=$(mktemp -d "${{TMPDIR:-/tmp}}/edge-bench-XXXXXXXX"){mark} && echo "$d"'


def list_owned_workdirs(base: str = "${TMPDIR:-/tmp}") -> str:
    """Print "dir host pid" for every fresh work dir under `base` on the device."""
    return (
        f'for f in "{base}"/edge-bench-*/{OWNER_FILE}; do [ -f "$f" ] && '
        f'echo "$(dirname "$f") $(cat "$f")"; done; exit 0'
    )


def mark_owner(path: str, owner: str) -> str:
    return f"echo {shlex.quote(owner)} > {quote_path(path)}/{OWNER_FILE}"


def orphaned(listing: str, host: str, alive: Callable[[int], bool]) -> list[str]:
    """The dirs of `list_owned_workdirs` output made by a process of `host` that is no longer alive."""
    out = []
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == host and parts[2].isdigit() and not alive(int(parts[2])):
            out.append(parts[0])
    return out


def remove_tree(path: str) -> str:
    return f"rm -rf {quote_path(path)}"


def split_pid(stderr: str) -> tuple[int | None, str]:
    """The device pid announced by `in_workdir`, and stderr without that line."""
    match = _PID_LINE.search(stderr)
    if match is None:
        return None, stderr
    return int(match.group(1)), stderr[: match.start()] + stderr[match.end() :]


def last_line(text: str) -> str:
    """The last non-empty line of a program's output: usually the one that says what went wrong."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
