"""The Raspberry Pi firmware's gencmd interface through the VideoCore mailbox, without starting a process.

`vcgencmd` (raspberrypi/utils, vcgencmd/vcgencmd.c) is a thin client: it opens /dev/vcio and sends one
mailbox property message per command with ioctl IOCTL_MBOX_PROPERTY = _IOWR(100, 0, char *); the
kernel's vcio driver (drivers/char/broadcom/vcio.c) hands the message to the firmware and copies the
answer back into the same buffer. This module sends the same message from Python, so a meter that
samples ten times a second costs one ioctl per sample instead of a fork and exec.

The message, in native-endian 32-bit words (vcgencmd's layout):

    [0] total size in bytes          [1] 0: a request (the driver sets 0x80000000 on success)
    [2] tag GET_GENCMD_RESULT        [3] value buffer size: 1024
    [4] request length (0)           [5] on return: gencmd's own error code (0 = none)
    [6 .. 6+255] the command, NUL-terminated; on return the reply text
    [262] 0: the end tag

Newer kernels also offer /dev/vcio_gencmd, which accepts this tag only: tried first. Opening either
needs root or the `video` group, as vcgencmd does.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Callable

GET_GENCMD_RESULT = 0x00030080
MAX_STRING = 1024
RESPONSE_SUCCESS = 0x80000000
DEVICES = ("/dev/vcio_gencmd", "/dev/vcio")
_HEADER_WORDS = 6
_WORDS = _HEADER_WORDS + MAX_STRING // 4 + 1

Ioctl = Callable[[int, int, bytearray, bool], int]


class GencmdError(Exception):
    """The firmware answered, but with an error (its code and text in the message)."""


def ioctl_mbox_property() -> int:
    """_IOWR(100, 0, char *): direction read|write, the size of a pointer in this process, type 100, number 0.

    A 32-bit process on a 64-bit kernel sends the 4-byte form, which the driver's compat handler takes."""
    return (3 << 30) | (struct.calcsize("P") << 16) | (100 << 8) | 0


def gencmd_message(command: str) -> bytearray:
    """The property message that asks the firmware to run `command`."""
    text = command.encode("ascii")
    if len(text) + 1 >= MAX_STRING:
        raise ValueError(f"gencmd command longer than {MAX_STRING - 2} bytes")
    message = bytearray(_WORDS * 4)
    struct.pack_into(f"={_HEADER_WORDS}I", message, 0, _WORDS * 4, 0, GET_GENCMD_RESULT, MAX_STRING, 0, 0)
    message[_HEADER_WORDS * 4 : _HEADER_WORDS * 4 + len(text)] = text
    return message


def gencmd_reply(message: bytes) -> tuple[int, int, str]:
    """(mailbox status word, gencmd error code, reply text) of an answered message."""
    (status,) = struct.unpack_from("=I", message, 4)
    (error,) = struct.unpack_from("=I", message, (_HEADER_WORDS - 1) * 4)
    body = bytes(message[_HEADER_WORDS * 4 : _HEADER_WORDS * 4 + MAX_STRING])
    return status, error, body.split(b"\0", 1)[0].decode("ascii", errors="replace")


class Mailbox:
    """An open mailbox device; `gencmd(command)` returns what `vcgencmd command` would print."""

    def __init__(self, path: str, ioctl: Ioctl | None = None):
        import fcntl

        self.path = path
        self._ioctl: Ioctl = ioctl or fcntl.ioctl
        self._request = ioctl_mbox_property()
        self._fd = os.open(path, os.O_RDONLY)

    def gencmd(self, command: str) -> str:
        message = gencmd_message(command)
        self._ioctl(self._fd, self._request, message, True)  # the driver writes the answer into `message`
        status, error, reply = gencmd_reply(message)
        if status != RESPONSE_SUCCESS:
            raise GencmdError(f"the mailbox answered '{command}' with status 0x{status:08x}")
        if error:
            raise GencmdError(f"gencmd '{command}' returned {error}: {reply}")
        return reply

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def open_mailbox(root: str = "/", probe: str = "version", ioctl: Ioctl | None = None) -> tuple[Mailbox | None, str]:
    """The first mailbox device below `root` that answers `probe`, and its path; or None and why none did."""
    reasons = []
    for device in DEVICES:
        path = str(Path(root) / device.lstrip("/"))
        try:
            mailbox = Mailbox(path, ioctl)
        except OSError as e:
            reasons.append(f"{device}: {e.strerror or e}")
            continue
        try:
            mailbox.gencmd(probe)
        except (OSError, GencmdError) as e:
            mailbox.close()
            reasons.append(f"{device}: {getattr(e, 'strerror', None) or e}")
            continue
        return mailbox, device
    return None, "; ".join(reasons)
