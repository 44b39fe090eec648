"""An Android device over adb: `adb -s SERIAL push | shell | pull`, in a work dir under /data/local/tmp.

`adb shell CMD` runs CMD with the device's sh, so arguments are quoted exactly as for ssh
(edge_bench.transport.shell). push and pull use adb's sync protocol, which takes paths verbatim.
adb passes the command's exit status through since Android 7 (the shell_v2 protocol), but reports 0
when the device drops mid-command, and older devices always report 0: so the command prints its own
exit status last, and its absence means the device was lost.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from ..config import AdbConfig
from . import shell
from .base import ExecResult, Transport, TransportError, TransportTimeout, communicate, process_alive, session_owner

DEVICE_TMP = "/data/local/tmp"  # writable by adb's shell user on every Android device

# What the adb client itself prints when it cannot reach the device (as opposed to a command's output).
_ADB_LOST = re.compile(
    r"^(adb: )?(error: )?(device (\S+ )?(not found|offline|unauthorized|still authorizing)"
    r"|no devices/emulators found|closed|protocol fault|more than one device/emulator"
    r"|failed to get feature set.*)",
    re.IGNORECASE,
)


class AdbTransport(Transport):
    def __init__(self, config: AdbConfig, workdir: str = "", transfer_timeout_secs: float = 600.0):
        self.config = config
        self.name = config.serial or "the adb device"
        self.transfer_timeout_secs = transfer_timeout_secs
        self._requested = workdir
        self._made = False
        self._opened = False
        self.workdir = ""

    def _adb(self, *args: str) -> list[str]:
        serial = ["-s", self.config.serial] if self.config.serial else []
        return [self.config.adb, *serial, *args]

    def _fix(self) -> str:
        return (
            "check `adb devices` lists it as 'device' (USB debugging on, this computer's key accepted on the "
            "phone; for wireless adb: adb connect HOST:PORT) and that [adb] serial in the target file matches"
        )

    def open(self) -> None:
        if shutil.which(self.config.adb) is None:
            raise TransportError(
                f"'{self.config.adb}' not found on this host: install Android platform-tools "
                "(apt-get install adb) or set [adb] adb to its path"
            )
        state = self._call(self._adb("get-state"), timeout=30)
        if state.returncode != 0 or state.stdout.strip() != "device":
            reason = shell.last_line(state.stderr) or state.stdout.strip() or f"adb exited with {state.returncode}"
            raise TransportError(f"cannot reach {self.name} over adb: {reason}; {self._fix()}")
        self._opened = True
        requested = self._requested or f"{DEVICE_TMP}/edge-bench-{secrets.token_hex(4)}"
        try:
            if not self._requested:
                self._remove_orphaned_workdirs()
            done = self._shell(shell.make_workdir(requested), timeout=60)
            path = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            if done.returncode != 0 or not path.startswith("/"):
                why = shell.last_line(done.stderr) or shell.last_line(done.stdout) or "no path printed"
                raise TransportError(f"cannot create the work dir {requested} on {self.name}: {why}")
        except BaseException:
            self._opened = False
            raise
        self.workdir = path
        self._made = not self._requested
        if self._made:
            self._shell(shell.mark_owner(path, session_owner()), timeout=60)

    def _remove_orphaned_workdirs(self) -> None:
        """Work dirs this host's killed runs left on the device (best effort)."""
        try:
            listing = self._shell(shell.list_owned_workdirs(DEVICE_TMP), timeout=60).stdout
            stale = shell.orphaned(listing, session_owner().split()[0], process_alive)
            if stale:
                self._shell("rm -rf " + " ".join(shell.quote_path(d) for d in stale), timeout=60)
        except TransportError:
            pass

    def close(self) -> None:
        try:
            if self._opened and self._made and self.workdir:
                self._shell(shell.remove_tree(self.workdir), timeout=60)
        except (TransportError, OSError):
            pass  # the device is gone: nothing more can be removed there
        self._opened = False
        self._made = False

    # ------------------------------------------------------------ commands

    def _call(self, argv: list[str], timeout: float) -> ExecResult:
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TransportTimeout(f"adb did not answer within {timeout:g} s") from None
        except OSError as e:
            raise TransportError(f"cannot run {argv[0]}: {e.strerror}") from None
        return ExecResult(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))

    def _lost(self, done: ExecResult) -> bool:
        return done.returncode != 0 and bool(_ADB_LOST.match(shell.last_line(done.stderr)))

    def _shell(self, command: str, timeout: float, hold_stdin: bool = False) -> ExecResult:
        """`adb shell COMMAND`; raises when adb lost the device or the command ran too long."""
        proc = subprocess.Popen(
            self._adb("shell", command),
            stdin=subprocess.PIPE if hold_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = communicate(proc, timeout, hold_stdin)
        except subprocess.TimeoutExpired as e:
            proc.kill()
            proc.communicate()
            # Devices without shell_v2 merge stderr into stdout: look for the pid in both.
            pid = (
                shell.split_pid((e.stderr or b"").decode(errors="replace"))[0]
                or shell.split_pid((e.stdout or b"").decode(errors="replace"))[0]
            )
            if pid is not None:
                try:
                    self._call(self._adb("shell", shell.kill_group(pid)), timeout=15)
                except TransportError:
                    pass
            raise TransportTimeout(f"ran past {timeout:g} s on {self.name} and was killed") from None
        done = ExecResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
        if self._lost(done):
            raise TransportError(f"connection lost ({self.name}): {shell.last_line(done.stderr)}")
        return done

    def exec(self, argv: Sequence[str], timeout: float, hold_stdin: bool = False) -> ExecResult:
        try:
            done = self._shell(shell.in_workdir(self.workdir, argv, report_exit=True), timeout, hold_stdin)
        except TransportTimeout as e:
            raise TransportTimeout(f"'{argv[0]}' {e}") from None
        stdout, stderr = shell.split_pid(done.stdout)[1], shell.split_pid(done.stderr)[1]
        status, rest = shell.split_exit(stderr)
        if status is not None:
            stderr = rest
        else:  # devices without shell_v2 send stderr on stdout
            status, stdout = shell.split_exit(stdout)
        if status is None:
            # The adb client reports 0 when the device vanishes mid-command: the missing status says so.
            detail = shell.last_line(stderr)
            raise TransportError(
                f"connection lost ({self.name}): the command's output ended before its exit "
                f"status{': ' + detail if detail else ''}"
            )
        return ExecResult(status, stdout, stderr)

    def push(self, local: Path, name: str) -> str:
        dest = self.device_path(name)
        if not os.path.isfile(local):
            raise TransportError(f"push {local} -> {self.name}:{dest}: no such file on this host")
        done = self._call(self._adb("push", str(local), dest), timeout=self.transfer_timeout_secs)
        if done.returncode != 0:
            raise TransportError(
                f"push {local} -> {self.name}:{dest}: {shell.last_line(done.stderr) or shell.last_line(done.stdout)}"
            )
        return dest

    def pull(self, name: str, local: Path) -> None:
        source = self.device_path(name)
        done = self._call(self._adb("pull", source, str(local)), timeout=self.transfer_timeout_secs)
        if done.returncode != 0:
            raise TransportError(
                f"pull {self.name}:{source}: {shell.last_line(done.stderr) or shell.last_line(done.stdout)}"
            )
