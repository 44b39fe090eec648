"""What a run did, counted as it goes: measured, failed (with the reason), skipped, not precise."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..results import Record


@dataclass
class RunSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    imprecise: int = 0
    alongside: int = 0  # ok measurements of a baseline's artifacts, measured alongside (not in ok)
    failures: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # one line each: why something is re-measured, repairs
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, record: Record, side: str = "") -> None:
        with self.lock:
            if record.ok and side:
                self.alongside += 1
            elif record.ok:
                self.ok += 1
                precision = record.latency.precision if record.latency else None
                self.imprecise += bool(precision and not precision.reached)
            else:
                self.failed += 1
                self.failures.append(
                    f"{record.variant.get('name')} {record.runtime} on {record.target}"
                    f"{' (the baseline artifact measured alongside)' if side else ''}: {record.error}"
                )

    def notice(self, text: str) -> None:
        with self.lock:
            self.notices.append(text)
