"""A device over SSH, through the OpenSSH client: ~/.ssh/config aliases, keys and agents just work.

One multiplexed connection per session: open() starts a master (`ControlMaster=yes -N -f`) on a control socket in a
private temporary directory; every command then rides on it. Commands use `ControlMaster=no`: if the
master is gone they connect on their own instead of becoming a new background master, which would keep
our output pipes open. `ControlPersist` makes a master that outlives a crashed host process exit by itself.

Files travel as `cat` over the same connection rather than scp: scp parses the remote path with the
device's shell in its legacy mode but takes it verbatim in its SFTP mode (OpenSSH >= 9.0), so no single
quoting is right for both; `cat > 'path'` needs only a POSIX shell and uses the quoting of exec.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Sequence

from ..config import SshConfig
from . import shell
from .base import ExecResult, Transport, TransportError, TransportTimeout, communicate, process_alive, session_owner

CONNECTION_LOST = 255  # ssh's own exit status when the connection fails (a remote command's is passed through)


class SshTransport(Transport):
    def __init__(self, config: SshConfig, workdir: str = "", name: str = "", transfer_timeout_secs: float = 600.0):
        self.config = config
        self.name = name or config.host
        self.transfer_timeout_secs = transfer_timeout_secs
        self._requested = workdir
        self._made = False
        self._control_dir: str | None = None
        self._master = False
        self.workdir = ""

    # ------------------------------------------------------------ command lines

    @property
    def destination(self) -> str:
        return f"{self.config.user}@{self.config.host}" if self.config.user else self.config.host

    def _options(self, control_master: str) -> list[str]:
        c = self.config
        opts: list[str] = []
        if c.config_file:
            opts += ["-F", os.path.expanduser(c.config_file)]
        # The first value ssh sees wins: ours come before the target file's extra options.
        opts += [
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={c.connect_timeout_secs}",
            "-o",
            f"ControlMaster={control_master}",
            "-o",
            f"ControlPath={self._control_dir}/%C",
            "-o",
            "ControlPersist=60",
        ]
        if c.port:
            opts += ["-p", str(c.port)]
        if c.identity_file:
            opts += ["-i", os.path.expanduser(c.identity_file)]
        for option in c.options:
            opts += ["-o", option]
        return opts

    def _command(self, remote: str) -> list[str]:
        return ["ssh", *self._options("no"), "-T", "--", self.destination, remote]

    def _fix(self) -> str:
        return (
            f"check that `ssh {self.destination} true` logs in without a password "
            f"(ssh-copy-id {self.destination}; host, user and key in ~/.ssh/config or the target's [ssh] table)"
        )

    # ------------------------------------------------------------ session

    def open(self) -> None:
        if shutil.which("ssh") is None:
            raise TransportError(
                "the OpenSSH client 'ssh' is not installed on this host (apt-get install openssh-client)"
            )
        # Short and private: the control socket path must fit a unix socket name (~104 bytes).
        self._control_dir = tempfile.mkdtemp(prefix="eb-ssh-", dir="/tmp" if os.path.isdir("/tmp") else None)
        try:
            self._start_master()
            self._remove_orphaned_workdirs()
            self.workdir = self._make_workdir()
        except BaseException:
            self.close()
            raise

    def _start_master(self) -> None:
        timeout = self.config.connect_timeout_secs + 30
        with tempfile.TemporaryFile() as err:  # a file, not a pipe: the forked master keeps it open
            try:
                done = subprocess.run(
                    ["ssh", *self._options("yes"), "-N", "-f", "--", self.destination],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise TransportError(
                    f"cannot connect to {self.name} ({self.destination}): no answer within {timeout} s; {self._fix()}"
                ) from None
            err.seek(0)
            message = shell.last_line(err.read().decode(errors="replace"))
        if done.returncode != 0:
            raise TransportError(
                f"cannot connect to {self.name} ({self.destination}): {message or 'ssh failed'}; {self._fix()}"
            )
        self._master = True

    def _remove_orphaned_workdirs(self) -> None:
        """Work dirs this host's killed runs left on the device (best effort: a failure only leaves them)."""
        if self._requested:
            return
        try:
            listing = self._run(shell.list_owned_workdirs(), timeout=60).stdout
            stale = shell.orphaned(listing, session_owner().split()[0], process_alive)
            if stale:
                self._run("rm -rf " + " ".join(shell.quote_path(d) for d in stale), timeout=60)
        except TransportError:
            pass

    def _make_workdir(self) -> str:
        done = self._run(shell.make_workdir(self._requested, session_owner()), timeout=60)
        path = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if done.returncode != 0 or not path.startswith("/"):
            what = self._requested or "a temporary directory"
            raise TransportError(
                f"cannot create the work dir {what} on {self.name}: {shell.last_line(done.stderr) or 'no path printed'}"
            )
        self._made = not self._requested
        return path

    def close(self) -> None:
        try:
            if self._master and self._made and self.workdir:
                self._run(shell.remove_tree(self.workdir), timeout=30)
        except (TransportError, OSError):
            pass  # the device is unreachable: nothing more can be removed there
        finally:
            if self._master:
                try:
                    subprocess.run(
                        ["ssh", *self._options("no"), "-O", "exit", "--", self.destination],
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        timeout=30,
                        check=False,
                    )
                except (OSError, subprocess.TimeoutExpired):
                    pass  # ControlPersist ends an orphaned master by itself
                self._master = False
            if self._control_dir:
                shutil.rmtree(self._control_dir, ignore_errors=True)
                self._control_dir = None
            self._made = False

    # ------------------------------------------------------------ commands

    def _run(
        self,
        remote: str,
        timeout: float,
        stdin: IO[bytes] | None = None,
        stdout: IO[bytes] | None = None,
        hold_stdin: bool = False,
    ) -> ExecResult:
        """Run a shell command string on the device; raise on connection loss and timeout."""
        proc = subprocess.Popen(
            self._command(remote),
            stdin=subprocess.PIPE if hold_stdin else stdin or subprocess.DEVNULL,
            stdout=stdout or subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = communicate(proc, timeout, hold_stdin)
        except subprocess.TimeoutExpired as e:
            self._abandon(proc, e.stderr or b"")
            raise TransportTimeout(f"ran past {timeout:g} s on {self.name} and was killed") from None
        text_err = err.decode(errors="replace")
        if proc.returncode == CONNECTION_LOST:
            raise TransportError(
                f"connection lost/refused ({self.name}): "
                f"{shell.last_line(shell.split_pid(text_err)[1]) or 'ssh exited with 255'}"
            )
        return ExecResult(proc.returncode, (out or b"").decode(errors="replace"), text_err)

    def _abandon(self, proc: subprocess.Popen, partial_stderr: bytes) -> None:
        """Stop a command that ran too long, on the device first: killing the local client alone
        leaves it running there, and the master, which holds our pipes, would keep them open until it ends."""
        pid, _ = shell.split_pid(partial_stderr.decode(errors="replace"))
        if pid is not None:
            try:
                self._run(shell.kill_group(pid), timeout=15)
            except TransportError:
                pass  # unreachable: it dies with the connection
        proc.kill()
        try:
            proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            proc.wait()

    def exec(self, argv: Sequence[str], timeout: float, hold_stdin: bool = False) -> ExecResult:
        try:
            done = self._run(shell.in_workdir(self.workdir, argv), timeout, hold_stdin=hold_stdin)
        except TransportTimeout as e:
            raise TransportTimeout(f"'{argv[0]}' {e}") from None
        _, stderr = shell.split_pid(done.stderr)
        return ExecResult(done.returncode, done.stdout, stderr)

    def push(self, local: Path, name: str) -> str:
        dest = self.device_path(name)
        try:
            with open(local, "rb") as source:
                done = self._run(f"cat > {shell.quote_path(dest)}", self.transfer_timeout_secs, stdin=source)
        except OSError as e:
            raise TransportError(f"push {local} -> {self.name}:{dest}: {e.strerror}") from None
        if done.returncode != 0:
            raise TransportError(f"push {local} -> {self.name}:{dest}: {shell.last_line(done.stderr)}")
        return dest

    def pull(self, name: str, local: Path) -> None:
        source = self.device_path(name)
        local = Path(local)
        partial = local.with_name(local.name + ".part")
        try:
            with open(partial, "wb") as sink:
                done = self._run(f"cat {shell.quote_path(source)}", self.transfer_timeout_secs, stdout=sink)
            if done.returncode != 0:
                raise TransportError(f"pull {self.name}:{source}: {shell.last_line(done.stderr)}")
            partial.replace(local)
        except OSError as e:
            raise TransportError(f"pull {self.name}:{source} -> {local}: {e.strerror}") from None
        finally:
            partial.unlink(missing_ok=True)
