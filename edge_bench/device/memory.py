"""Resident memory of this process, read from /proc (Linux).

VmHWM is the peak RSS; writing "5" to /proc/self/clear_refs resets it (Linux >= 4.0), which lets us
read a peak per phase. Where /proc is missing (not Linux) readings are None, with the reason.
"""

from __future__ import annotations

from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def read_status(path: Path = STATUS) -> dict[str, int]:
    """The kB fields of /proc/self/status we use, in bytes."""
    wanted = {"VmRSS", "VmHWM", "RssAnon", "RssFile"}
    out = {}
    for line in path.read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in wanted:
            value, _, unit = rest.strip().partition(" ")
            out[key] = int(value) * (1024 if unit.strip().lower() == "kb" else 1)
    return out


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS. False when the kernel does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


class PhaseMemory:
    """RSS and peak RSS after each named phase, the peak reset at each phase start."""

    def __init__(self):
        self.available = STATUS.exists()
        self.resettable = self.available and reset_peak()
        self.phases: dict[str, dict[str, int]] = {}

    def start_phase(self) -> None:
        if self.resettable:
            reset_peak()

    def end_phase(self, name: str) -> None:
        if self.available:
            s = read_status()
            self.phases[name] = {
                "rss_bytes": s.get("VmRSS"),
                "hwm_bytes": s.get("VmHWM"),
                "anon_bytes": s.get("RssAnon"),
                "file_bytes": s.get("RssFile"),
            }

    def summary(self) -> dict:
        if not self.available:
            return {
                "peak_rss_bytes": None,
                "baseline_rss_bytes": None,
                "model_rss_bytes": None,
                "phases": {},
                "missing_reason": "/proc/self/status not readable (not Linux?)",
            }
        baseline = self.phases.get("baseline", {}).get("rss_bytes")
        peak = max((p["hwm_bytes"] for p in self.phases.values() if p.get("hwm_bytes") is not None), default=None)
        return {
            "peak_rss_bytes": peak,
            "baseline_rss_bytes": baseline,
            "model_rss_bytes": peak - baseline if peak is not None and baseline is not None else None,
            "phases": self.phases,
            # Without a reset the peak of a later phase includes the earlier ones.
            "peak_method": "VmHWM reset per phase via clear_refs"
            if self.resettable
            else "VmHWM without reset (cumulative)",
        }
