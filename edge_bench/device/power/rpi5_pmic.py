"""Raspberry Pi 5: the PMIC's rail ADCs, the firmware's `pmic_read_adc` command.

Each rail prints a current line and a voltage line whose bracketed ADC channels differ and are not in
order (all currents first, then the voltages; rail names right-aligned):

       VDD_CORE_A current(7)=10.87674000A
       VDD_CORE_V volt(15)=0.89745940V
          EXT5V_V volt(24)=5.06788000V      (no current partner: not a PMIC output)

Power is the sum of V*I over the rails that have both, paired by name. That is PMIC *output* power:
conversion losses and every 5 V load (USB, fan, HATs) are missing, so it suits relative comparisons.
An optional linear board fit (P_board = scale * P_pmic + offset) can map it to board power; it is off
unless both numbers are given, and recorded when used.

The command is sent through the VideoCore mailbox from this process (vcio.py: one ioctl a sample),
falling back to running `vcgencmd pmic_read_adc` (a fork and exec a sample) where the mailbox cannot
be opened; options.via = "mailbox" or "vcgencmd" forces one. describe() says which path was used.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Mapping

from .base import CommandError, Meter, MeterUnavailable, Runner, Source, run_command
from .options import check_options, number
from .vcio import GencmdError, Mailbox, open_mailbox

NAME = "rpi5-pmic"
OPTIONS = {"board_fit_scale", "board_fit_offset_w", "vcgencmd", "via"}
VIA = ("auto", "mailbox", "vcgencmd")
MailboxOpener = Callable[[], "tuple[Mailbox | None, str]"]

_ADC_LINE = re.compile(
    r"^\s*(?P<rail>\S+?)_(?P<kind>[AV])\s+(?:current|volt)\(\d+\)\s*=\s*(?P<value>[-+0-9.eE]+|nan|-?inf)[AV]\s*$",
    re.IGNORECASE,
)


def parse_pmic_adc(text: str) -> dict[str, dict[str, float]]:
    """{rail: {"A": amps, "V": volts}} from `vcgencmd pmic_read_adc` output (non-finite values dropped)."""
    rails: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        m = _ADC_LINE.match(line)
        if not m:
            continue
        value = float(m["value"])
        if math.isfinite(value):
            rails.setdefault(m["rail"], {})[m["kind"].upper()] = value
    return rails


def pmic_power_w(text: str) -> tuple[float, list[str]]:
    """Sum of V*I over the rails with both a current and a voltage reading, and those rails' names."""
    rails = parse_pmic_adc(text)
    paired = sorted(r for r, v in rails.items() if "A" in v and "V" in v)
    if not paired:
        raise MeterUnavailable(_no_rails_reason(text))
    return sum(rails[r]["A"] * rails[r]["V"] for r in paired), paired


def _no_rails_reason(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "no output")
    if "not registered" in text or "error=" in text:
        return (
            f"the firmware has no pmic_read_adc here ({first}): it exists on the Raspberry Pi 5 only; "
            "update the firmware (sudo apt full-upgrade) or choose another [energy] meter"
        )
    return f"pmic_read_adc gave no current/voltage rail pairs ({first})"


def _failure_reason(error: Exception, vcgencmd: str) -> str:
    if isinstance(error, FileNotFoundError):
        return (
            f"{vcgencmd} not found: rpi5-pmic needs Raspberry Pi OS's vcgencmd "
            "(sudo apt install raspi-utils), or choose another [energy] meter"
        )
    text = str(error)
    if any(s in text.lower() for s in ("vcio", "vchi", "permission")):
        return (
            f"{vcgencmd} cannot open /dev/vcio ({text}): add the user to group video "
            "(sudo usermod -aG video $USER, then log in again) or run the agent as root"
        )
    return f"{vcgencmd} pmic_read_adc failed: {text}"


class Rpi5PmicMeter(Meter):
    name = NAME
    kind = "power"

    def __init__(
        self,
        runner: Runner = run_command,
        board_fit_scale: float | None = None,
        board_fit_offset_w: float | None = None,
        vcgencmd: str = "vcgencmd",
        via: str = "auto",
        open_mailbox: MailboxOpener = open_mailbox,
    ):
        if (board_fit_scale is None) != (board_fit_offset_w is None):
            raise MeterUnavailable(
                "rpi5-pmic board fit needs both options.board_fit_scale and "
                "options.board_fit_offset_w (P_board = scale * P_pmic + offset)"
            )
        if via not in VIA:
            raise MeterUnavailable(
                f"[energy] options.via of meter {NAME!r} must be one of {', '.join(VIA)}, got {via!r}"
            )
        self.runner = runner
        self.vcgencmd = vcgencmd
        self.fit = None if board_fit_scale is None else (board_fit_scale, board_fit_offset_w)
        self.rails: list[str] = []
        self.mailbox: Mailbox | None = None
        self.mailbox_device = None
        self.mailbox_unused = 'options.via = "vcgencmd"' if via == "vcgencmd" else None
        if via != "vcgencmd":
            self.mailbox, found = open_mailbox()
            if self.mailbox is None:
                self.mailbox_unused = f"no mailbox device could be used ({found})"
                if via == "mailbox":
                    raise MeterUnavailable(
                        f"rpi5-pmic cannot use the VideoCore mailbox: {found}; add the user to "
                        "group video (sudo usermod -aG video $USER, then log in again), run the "
                        'agent as root, or set options.via = "vcgencmd"'
                    )
            else:
                self.mailbox_device = found
        self.read()  # fail now, with the reason, rather than in the sampler thread

    def _pmic_read_adc(self) -> str:
        if self.mailbox is not None:
            try:
                return self.mailbox.gencmd("pmic_read_adc")
            except GencmdError as e:
                raise MeterUnavailable(_no_rails_reason(str(e))) from e
            except OSError as e:
                raise MeterUnavailable(f"pmic_read_adc through {self.mailbox_device} failed: {e}") from e
        try:
            return self.runner([self.vcgencmd, "pmic_read_adc"])
        except (OSError, CommandError) as e:
            raise MeterUnavailable(_failure_reason(e, self.vcgencmd)) from e

    def read_pmic_w(self) -> float:
        watts, self.rails = pmic_power_w(self._pmic_read_adc())
        return watts

    def read(self) -> float:
        watts = self.read_pmic_w()
        if self.fit:
            scale, offset = self.fit
            return scale * watts + offset
        return watts

    def describe(self) -> dict:
        if self.mailbox is not None:
            path = {"via": "mailbox", "source": f"{self.mailbox_device} ioctl (gencmd pmic_read_adc), in this process"}
        else:
            path = {
                "via": "vcgencmd",
                "source": f"{self.vcgencmd} pmic_read_adc, one process per reading",
                "mailbox_unused": self.mailbox_unused,
            }
        return {
            **path,
            "rails": self.rails,
            "scope": "sum of V*I over PMIC output rails; excludes conversion losses and 5 V loads (USB, fan, HATs)",
            "board_fit": None
            if not self.fit
            else {"scale": self.fit[0], "offset_w": self.fit[1], "formula": "P_board = scale * P_pmic + offset_w"},
        }

    def close(self) -> None:
        if self.mailbox is not None:
            self.mailbox.close()
            self.mailbox = None


def from_options(options: Mapping[str, Any], period_secs: float, source: Source = Source()) -> Rpi5PmicMeter:
    opts = check_options(NAME, options, OPTIONS)
    return Rpi5PmicMeter(
        runner=source.runner,
        board_fit_scale=number(NAME, opts, "board_fit_scale"),
        board_fit_offset_w=number(NAME, opts, "board_fit_offset_w"),
        vcgencmd=str(opts.get("vcgencmd", "vcgencmd")),
        via=str(opts.get("via", "auto")),
        open_mailbox=lambda: open_mailbox(source.root),
    )
