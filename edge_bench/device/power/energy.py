"""The energy pass: an idle baseline, then a fixed-duration inference loop while a thread samples the meter.

The sampling itself takes CPU time next to the inference it measures: each phase records it (the
sampler thread's own CPU time, the CPU time of the processes the meter started and waited for, and
that of a long-lived helper process such as tegrastats) as `meter_cost`, a share of the phase.
"""

from __future__ import annotations

import resource
import threading
import time
from typing import Any, Callable, Mapping

from .base import Meter, MeterUnavailable, Source
from .integrate import energy_j
from .registry import METERS, Factory, open_meter


class Sampler(threading.Thread):
    """Reads the meter every `period_s` (on a fixed schedule; a late read is not followed by a burst)."""

    def __init__(self, meter: Meter, period_s: float):
        super().__init__(name=f"edge-bench-meter-{meter.name}", daemon=True)
        self.meter = meter
        self.period_s = period_s
        self.samples: list[tuple[float, float]] = []
        self.error: BaseException | None = None
        self.first = threading.Event()
        self._stop_event = threading.Event()
        self.cpu_s = 0.0  # this thread's CPU time, from start to stop
        self.wall_s = 0.0

    def run(self) -> None:
        from ..affinity import move_off_measured_cores

        move_off_measured_cores()  # the meter's work is the agent's, not the measurement's
        cpu0, wall0 = time.thread_time(), time.monotonic()
        next_at = wall0
        try:
            while True:
                self.samples.append(self.meter.read_timed())
                self.first.set()
                if self._stop_event.is_set():
                    return
                next_at += self.period_s
                wait = next_at - time.monotonic()
                if wait < 0:
                    next_at = time.monotonic()
                    wait = 0.0
                if self._stop_event.wait(wait):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            self.error = e
            self.first.set()
        finally:
            self.cpu_s, self.wall_s = time.thread_time() - cpu0, time.monotonic() - wall0

    def stop(self) -> None:
        self._stop_event.set()


def _children_cpu_s() -> float:
    """User + system CPU time of this process's terminated and waited-for children (a forking meter's)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _meter_cost(sampler: Sampler, children_s: float, helper_s: float | None) -> dict:
    cpu_s = sampler.cpu_s + children_s + (helper_s or 0.0)
    return {
        "cpu_s": cpu_s,
        "wall_s": sampler.wall_s,
        "share_of_pass": cpu_s / sampler.wall_s if sampler.wall_s > 0 else None,
        "sampler_thread_cpu_s": sampler.cpu_s,
        "child_processes_cpu_s": children_s,
        "helper_process_cpu_s": helper_s,
    }


def _failure(meter: Meter, error: BaseException) -> MeterUnavailable:
    if isinstance(error, MeterUnavailable):
        return error
    return MeterUnavailable(
        f"reading meter {meter.name!r} failed during the energy pass: {type(error).__name__}: {error}"
    )


def _phase(
    meter: Meter,
    period_s: float,
    seconds: float,
    work: Callable[[], Any] | None,
    loop: Callable[[float], tuple[int, float]] | None = None,
) -> dict:
    """Sample the meter while `work` runs in a loop (or `loop(seconds)` loops by itself, or all is idle)
    for `seconds`."""
    children0, helper0 = _children_cpu_s(), meter.helper_cpu_s()
    sampler = Sampler(meter, period_s)
    sampler.start()
    first_within = max(10.0, 5 * period_s)
    if not sampler.first.wait(first_within):
        sampler.stop()
        meter.close()
        raise MeterUnavailable(f"meter {meter.name!r} gave no reading within {first_within:g} s")
    if sampler.error is not None:
        raise _failure(meter, sampler.error)
    count = 0
    t0 = time.monotonic()
    loop_s = None
    try:
        if loop is not None:  # another process loops and times itself (the native runner)
            count, loop_s = loop(seconds)
        elif work is None:
            time.sleep(seconds)
        else:
            while time.monotonic() - t0 < seconds:
                work()
                count += 1
        t1 = time.monotonic()
    finally:
        sampler.stop()
        sampler.join(timeout=max(5.0, 3 * period_s))
        if sampler.is_alive():  # a reader stuck in I/O: closing the meter ends it
            meter.close()
            sampler.join(timeout=5.0)
    if sampler.error is not None:
        raise _failure(meter, sampler.error)
    helper1 = meter.helper_cpu_s()
    cost = _meter_cost(
        sampler,
        _children_cpu_s() - children0,
        helper1 - helper0 if helper0 is not None and helper1 is not None else None,
    )
    samples = list(sampler.samples)
    try:
        samples.append(meter.read_timed())  # close the window right after the loop
    except Exception as e:  # noqa: BLE001
        raise _failure(meter, e) from e
    times = [t for t, _ in samples]
    values = [v for _, v in samples]
    try:
        joules = energy_j(meter.kind, times, values, meter.wrap_j)
    except ValueError as e:
        raise MeterUnavailable(f"meter {meter.name!r}: {e}") from e
    span = times[-1] - times[0]
    if span <= 0:
        raise MeterUnavailable(f"meter {meter.name!r}: its samples span no time")
    if joules <= 0:
        what = "counter did not advance" if meter.kind == "energy" else "read no power"
        raise MeterUnavailable(f"meter {meter.name!r} {what} over {span:.2f} s: it does not see this load")
    return {
        "power_w": joules / span,
        "energy_j": joules,
        "span_s": span,
        "samples": len(samples),
        "loop_s": t1 - t0 if loop_s is None else loop_s,
        "count": count,
        "meter_cost": cost,
    }


def energy_pass(
    meter_name: str,
    options: Mapping[str, Any] | None,
    period_secs: float,
    idle_secs: float,
    duration_secs: float,
    run_once: Callable[[], Any] | None = None,
    *,
    source: Source = Source(),
    registry: Mapping[str, Factory] = METERS,
    loop: Callable[[float], tuple[int, float]] | None = None,
) -> dict:
    """Energy per inference of `run_once`, from the named meter.

    Opens the meter (MeterUnavailable with the reason when it cannot be read), samples an idle
    baseline for `idle_secs`, then calls `run_once` in a loop for `duration_secs` while a thread reads
    the meter every `period_secs` (or `loop(duration_secs)` runs the inferences itself, in another
    process, and returns their count and its own duration). Power meters are integrated with the trapezoid rule, counters
    differenced. The mean power over the sampled window times the loop's duration, divided by the
    inferences, is the energy per inference; the same above the idle power is the dynamic part.
    """
    if (run_once is None) == (loop is None):
        raise ValueError("energy pass needs exactly one of run_once and loop")
    if period_secs <= 0 or duration_secs <= 0 or idle_secs < 0:
        raise ValueError(
            f"energy pass needs period_secs > 0, duration_secs > 0, idle_secs >= 0 "
            f"(got {period_secs}, {duration_secs}, {idle_secs})"
        )
    meter = open_meter(meter_name, options or {}, period_secs, source, registry)
    try:
        idle = _phase(meter, period_secs, idle_secs, None) if idle_secs > 0 else None
        run = _phase(meter, period_secs, duration_secs, run_once, loop)
    finally:
        meter.close()
    n = run["count"]
    avg_w = run["power_w"]
    idle_w = idle["power_w"] if idle else None
    result = {
        "mj_per_inference": avg_w * run["loop_s"] / n * 1e3,
        "avg_power_w": avg_w,
        "idle_power_w": idle_w,
        "dynamic_mj_per_inference": (avg_w - idle_w) * run["loop_s"] / n * 1e3 if idle_w is not None else None,
        "meter": meter_name,
        "period_secs": period_secs,
        "inferences": n,
        "duration_s": run["loop_s"],
        "samples": run["samples"],
        "method": "trapezoid" if meter.kind == "power" else "counter",
        # Achieved sampling: slow meters (vcgencmd ~23 ms a read, tegrastats' interval) set the pace.
        "mean_sample_period_s": run["span_s"] / (run["samples"] - 1),
        "idle_secs": idle_secs,
        "idle_samples": idle["samples"] if idle else 0,
        "meter_info": meter.describe(),
        # CPU time the sampling took during the inference loop, as a share of it (and of the idle baseline).
        "meter_cost": {**run["meter_cost"], "idle": idle["meter_cost"] if idle else None},
    }
    if idle is None:
        result["idle_missing_reason"] = "idle_secs = 0: no idle baseline sampled"
    return result
