"""A real OpenSSH server on 127.0.0.1 for the ssh tests, run as the current user.

Everything lives in one temporary directory: a host key, a user key, authorized_keys, the server
config, its log, and a client config with a Host alias (so the tests also go through
~/.ssh/config-style aliases, given to the client with `-F`). `.ci/install-sshd.sh` installs the server.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
ALIAS = "edge-bench-loopback"


def missing_reason() -> str | None:
    """Why the loopback server cannot run here, or None when it can."""
    if not SSHD.exists():
        return f"{SSHD} is absent: run .ci/install-sshd.sh (apt-get install openssh-server openssh-client)"
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"the OpenSSH client ('{tool}') is absent: run .ci/install-sshd.sh"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edge-bench-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )


class LoopbackSshd:
    """`with LoopbackSshd(tmp) as server:` starts sshd; `server.alias` logs in with the generated key."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.user = getpass.getuser()
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.identity_file = self.root / "id_ed25519"
        self.client_config = self.root / "ssh_config"
        self.known_hosts = self.root / "known_hosts"
        self.log = self.root / "sshd.log"
        self.alias = ALIAS

    def _write_files(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        host_key = self.root / "host_ed25519"
        for key in (host_key, self.identity_file):
            if not key.exists():
                _keygen(key)
        shutil.copyfile(self.identity_file.with_suffix(".pub"), self.root / "authorized_keys")
        config = self.root / "sshd_config"
        config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {host_key}\n"
            f"PidFile {self.root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}\n"
            f"AllowUsers {self.user}\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            # Root may log in only with a key (the tests run as root in some containers).
            "PermitRootLogin prohibit-password\n"
            "MaxSessions 50\n"
            "MaxStartups 50\n"
            "LogLevel VERBOSE\n"
        )
        self.client_config.write_text(
            f"Host {self.alias}\n"
            "    HostName 127.0.0.1\n"
            f"    Port {self.port}\n"
            f"    User {self.user}\n"
            f"    IdentityFile {self.identity_file}\n"
            "    IdentitiesOnly yes\n"
            f"    UserKnownHostsFile {self.known_hosts}\n"
            "    StrictHostKeyChecking accept-new\n"
            "    LogLevel ERROR\n"
        )
        return config

    def start(self, timeout: float = 10.0) -> "LoopbackSshd":
        if os.geteuid() == 0:
            # sshd refuses to start as root without its privilege separation directory.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.port = _free_port()
        self._spawn(self._write_files(), timeout)
        return self

    def _spawn(self, config: Path, timeout: float) -> None:
        mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[mark:].decode(errors="replace")
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}: {text[-2000:]}")
            if f"listening on 127.0.0.1 port {self.port}" in text:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd did not start listening within {timeout} s: {text[-2000:]}")

    def _descendants(self) -> list[int]:
        """The server's process tree: per-connection sshd processes and the sessions they run."""
        if self.process is None:
            return []
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        tree, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return tree

    def stop(self) -> None:
        """Kill the server with every connection and session it forked, as a crashed host would."""
        if self.process is None:
            return
        for pid in self._descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)
        self.process = None

    def restart(self, timeout: float = 10.0) -> None:
        """A fresh server on the same port and keys, after a test killed the previous one."""
        self.stop()
        self._spawn(self.root / "sshd_config", timeout)

    def __enter__(self) -> "LoopbackSshd":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
