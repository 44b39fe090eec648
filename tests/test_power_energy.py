"""The energy pass and its integration, on synthetic meters with known answers."""

from __future__ import annotations

import time

import pytest

from edge_bench.device import agent
from edge_bench.device.power import Meter, MeterUnavailable, energy_pass
from edge_bench.device.power.integrate import counter_energy_j, trapezoid_energy_j


# ---------------------------------------------------------------- pure integration


def test_trapezoid_is_exact_for_a_linear_ramp():
    times = [0.0, 0.5, 1.5, 3.0]
    watts = [1 + 2 * t for t in times]  # ∫0..3 (1 + 2t) dt = 3 + 9
    assert trapezoid_energy_j(times, watts) == pytest.approx(12.0)


def test_trapezoid_of_constant_power_is_power_times_time():
    assert trapezoid_energy_j([1.0, 1.1, 1.7, 2.0], [4.0] * 4) == pytest.approx(4.0)


def test_trapezoid_rejects_too_few_or_unordered_samples():
    with pytest.raises(ValueError):
        trapezoid_energy_j([0.0], [1.0])
    with pytest.raises(ValueError):
        trapezoid_energy_j([0.0, 2.0, 1.0], [1.0, 1.0, 1.0])


def test_counter_difference_adds_the_wrap_value_when_the_counter_goes_down():
    # 0.8 -> 0.95 (+0.15) -> wraps at 1.0 to 0.1 (+0.15) -> 0.3 (+0.2)
    assert counter_energy_j([0.8, 0.95, 0.1, 0.3], wrap_j=1.0) == pytest.approx(0.5)
    assert counter_energy_j([5.0, 6.5, 9.0]) == pytest.approx(4.0)


def test_counter_going_down_without_a_known_wrap_is_an_error():
    with pytest.raises(ValueError, match="backwards"):
        counter_energy_j([2.0, 1.0])


# ---------------------------------------------------------------- synthetic meters


class ConstantPower(Meter):
    name = "constant"
    kind = "power"

    def __init__(self, watts: float):
        self.watts = watts

    def read(self) -> float:
        return self.watts


class ExactClockMeter(Meter):
    """A meter whose value is a function of the time it is stamped with, so answers are exact
    whatever the scheduling of the sampler thread on a busy machine."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.log: list[float] = []

    def value_at(self, t: float) -> float:
        raise NotImplementedError

    def read_timed(self) -> tuple[float, float]:
        t = time.monotonic()
        value = self.value_at(t - self.t0)
        self.log.append(value)
        return t, value

    def read(self) -> float:
        return self.read_timed()[1]


class RampPower(ExactClockMeter):
    """Power rising linearly with time."""

    name = "ramp"
    kind = "power"

    def __init__(self, start_w: float, slope_w_per_s: float):
        super().__init__()
        self.start_w, self.slope = start_w, slope_w_per_s

    def value_at(self, t: float) -> float:
        return self.start_w + self.slope * t


class LoadCounter(ExactClockMeter):
    """An energy counter: `idle_w` all the time plus `joules_per_call` for every inference, wrapping at `wrap`."""

    name = "load-counter"
    kind = "energy"

    def __init__(self, idle_w: float, joules_per_call: float, wrap: float | None = None):
        super().__init__()
        self.idle_w, self.per_call = idle_w, joules_per_call
        self.calls = 0
        self.wrap_j = wrap

    def work(self) -> None:
        self.calls += 1
        time.sleep(0.002)

    def value_at(self, t: float) -> float:
        total = self.idle_w * t + self.per_call * self.calls
        return total % self.wrap_j if self.wrap_j else total


def registry_of(meter: Meter) -> dict:
    return {"fake": lambda options, period, source: meter}


def test_constant_power_gives_power_times_time_per_inference():
    calls = []
    result = energy_pass(
        "fake",
        {},
        period_secs=0.01,
        idle_secs=0.1,
        duration_secs=0.25,
        run_once=lambda: (calls.append(1), time.sleep(0.005)),
        registry=registry_of(ConstantPower(2.5)),
    )
    assert result["avg_power_w"] == pytest.approx(2.5)
    assert result["idle_power_w"] == pytest.approx(2.5)
    assert result["inferences"] == len(calls) > 0
    assert result["mj_per_inference"] == pytest.approx(2.5 * result["duration_s"] / len(calls) * 1e3)
    assert result["dynamic_mj_per_inference"] == pytest.approx(0.0, abs=1e-9)
    assert result["method"] == "trapezoid" and result["meter"] == "fake" and result["period_secs"] == 0.01
    assert result["samples"] >= 5 and result["duration_s"] >= 0.25


def test_linear_ramp_averages_to_the_mean_of_its_ends():
    meter = RampPower(1.0, 10.0)  # +10 W/s: 2.5 W over the 0.25 s window
    result = energy_pass(
        "fake",
        {},
        period_secs=0.01,
        idle_secs=0,
        duration_secs=0.25,
        run_once=lambda: time.sleep(0.003),
        registry=registry_of(meter),
    )
    expected = (meter.log[0] + meter.log[-1]) / 2  # the mean of a linear function over an interval
    assert result["avg_power_w"] == pytest.approx(expected, rel=1e-9)
    assert result["idle_power_w"] is None and result["dynamic_mj_per_inference"] is None
    assert "idle_missing_reason" in result


def test_counter_recovers_the_known_energy_per_inference_above_idle():
    meter = LoadCounter(idle_w=1.5, joules_per_call=0.02)
    result = energy_pass(
        "fake",
        {},
        period_secs=0.02,
        idle_secs=0.15,
        duration_secs=0.3,
        run_once=meter.work,
        registry=registry_of(meter),
    )
    assert result["method"] == "counter"
    assert result["idle_power_w"] == pytest.approx(1.5, rel=1e-9)
    assert result["inferences"] == meter.calls
    # 20 mJ per call on top of idle. The meter's window (first to last sample) is a little wider than
    # the loop, so the mean power over it, applied to the loop's duration, scales by loop / window.
    window = result["mean_sample_period_s"] * (result["samples"] - 1)
    scale = result["duration_s"] / window
    assert 0.9 < scale <= 1.0
    assert result["dynamic_mj_per_inference"] == pytest.approx(20.0 * scale, rel=1e-9)
    assert result["mj_per_inference"] == pytest.approx(
        (1.5 * window + 0.02 * meter.calls) / window * result["duration_s"] / meter.calls * 1e3, rel=1e-9
    )


def test_counter_wrap_around_during_the_run_is_unwrapped():
    meter = LoadCounter(idle_w=5.0, joules_per_call=0.0, wrap=0.5)  # wraps every 100 ms
    result = energy_pass(
        "fake",
        {},
        period_secs=0.01,
        idle_secs=0,
        duration_secs=0.35,
        run_once=lambda: time.sleep(0.004),
        registry=registry_of(meter),
    )
    assert any(b < a for a, b in zip(meter.log, meter.log[1:])), "the test counter never wrapped"
    assert result["avg_power_w"] == pytest.approx(5.0, rel=1e-9)


# ---------------------------------------------------------------- failures are reasons


def test_unknown_meter_is_unavailable_with_the_known_names():
    with pytest.raises(MeterUnavailable, match="rpi5-pmic"):
        energy_pass("no-such-meter", {}, 0.1, 0, 0.1, lambda: None)


def test_a_meter_failing_mid_run_becomes_meter_unavailable():
    class Failing(ConstantPower):
        def __init__(self):
            super().__init__(1.0)
            self.reads = 0

        def read(self) -> float:
            self.reads += 1
            if self.reads > 3:
                raise OSError("sensor went away")
            return 1.0

    with pytest.raises(MeterUnavailable, match="sensor went away"):
        energy_pass("fake", {}, 0.01, 0, 0.2, lambda: time.sleep(0.002), registry=registry_of(Failing()))


def test_a_counter_that_never_advances_is_not_reported_as_zero_energy():
    class Stuck(Meter):
        name, kind = "stuck", "energy"

        def read(self) -> float:
            return 42.0

    with pytest.raises(MeterUnavailable, match="did not advance"):
        energy_pass("fake", {}, 0.01, 0, 0.1, lambda: None, registry=registry_of(Stuck()))


def test_the_meter_is_closed_after_the_pass():
    meter = ConstantPower(1.0)
    closed = []
    meter.close = lambda: closed.append(True)
    energy_pass("fake", {}, 0.01, 0, 0.05, lambda: None, registry=registry_of(meter))
    assert closed


def test_agent_energy_pass_records_the_reason_when_the_meter_is_unavailable():
    class Runtime:
        def run(self):
            pass

    out = agent._energy_pass(
        Runtime(), {"meter": "no-such-meter", "period_secs": 0.01, "idle_secs": 0, "duration_secs": 0.01}
    )
    assert out["meter"] == "no-such-meter" and "unknown [energy] meter" in out["missing_reason"]


# ---------------------------------------------------------------- what the sampling itself costs


class BusyReader(ConstantPower):
    """A meter whose every read burns `cpu_s` of CPU in the sampler thread (parsing, an ioctl)."""

    def __init__(self, cpu_s: float):
        super().__init__(1.0)
        self.cpu_s = cpu_s
        self.reads = 0

    def read(self) -> float:
        start = time.thread_time()
        while time.thread_time() - start < self.cpu_s:
            pass
        self.reads += 1
        return self.watts


def test_meter_cost_counts_the_sampler_threads_cpu_time():
    meter = BusyReader(0.003)
    result = energy_pass(
        "fake",
        {},
        period_secs=0.02,
        idle_secs=0.1,
        duration_secs=0.3,
        run_once=lambda: time.sleep(0.005),
        registry=registry_of(meter),
    )
    cost = result["meter_cost"]
    # Every read in the sampler thread burned >= 3 ms; the reads closing each phase run in the caller's.
    in_thread = meter.reads - 2
    assert cost["idle"]["sampler_thread_cpu_s"] + cost["sampler_thread_cpu_s"] >= 0.003 * in_thread
    assert cost["cpu_s"] == pytest.approx(cost["sampler_thread_cpu_s"] + cost["child_processes_cpu_s"])
    assert cost["share_of_pass"] == pytest.approx(cost["cpu_s"] / cost["wall_s"])
    assert cost["wall_s"] >= 0.3 and cost["helper_process_cpu_s"] is None
    assert 0.02 < cost["share_of_pass"] < 1.0  # ~3 ms every 20 ms


def test_meter_cost_counts_the_processes_a_forking_meter_starts():
    from edge_bench.device.power import run_command

    class Forking(ConstantPower):
        def read(self) -> float:
            run_command(["sh", "-c", "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done"])
            return self.watts

    result = energy_pass(
        "fake",
        {},
        period_secs=0.02,
        idle_secs=0,
        duration_secs=0.2,
        run_once=lambda: time.sleep(0.005),
        registry=registry_of(Forking(1.0)),
    )
    cost = result["meter_cost"]
    assert cost["child_processes_cpu_s"] > 0 and cost["idle"] is None
    assert cost["cpu_s"] > cost["sampler_thread_cpu_s"]
