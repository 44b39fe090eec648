"""The cool-down wait and the governor reading before a native tool's round on a phone, through tests/fake_adb.py.

The fake phone's thermal zones fall by one reading per shell read (millidegrees, as sysfs prints them);
the battery fallback is a real `dumpsys battery` capture (tests/samples/android/, PROVENANCE.md).
"""

from __future__ import annotations

import dataclasses

from pathlib import Path

import pytest

from edge_bench.android import thermal
from edge_bench.android.measure import measure_native
from edge_bench.transport import open_transport
from tests.fake_adb import make_thermal_zones, write_dumpsys
from tests.test_transport_adb import FakePhone, _spec

SAMPLES = Path(__file__).parent / "samples" / "android"


@pytest.fixture
def phone(tmp_path, monkeypatch) -> FakePhone:
    monkeypatch.setattr(thermal, "COOLDOWN_POLL_SECS", 0.01)
    return FakePhone(tmp_path, monkeypatch)


def test_native_tool_waits_for_the_phone_to_cool_before_its_round(phone, tiny_tflite):
    # zone0 is the one read (the lowest number, as on the agent's boards); zone1 only has to be ignored.
    make_thermal_zones(
        phone.root,
        {0: ["52000", "49500", "47000", "44500", "43000"], 1: ["90000"]},
        {0: "cpu-1-0-usr", 1: "gpuss-0-usr"},
    )
    target = phone.target()
    with open_transport(target) as t:
        model = t.push(tiny_tflite, "m.tflite")
        result = measure_native(t, target, model, "litert", _spec(cooldown_below_c=45.0, cooldown_max_secs=30.0))
    assert result["status"] == "ok", result["error"]
    cooled = result["cooldown"]
    assert cooled["reached"] is True and cooled["temperature_c"] == 44.5
    assert cooled["source"] == "/sys/class/thermal/thermal_zone0/temp"
    assert 0 <= cooled["waited_s"] < 10
    assert result["thermal_before"]["temperature_c"] == 43.0  # read after the wait: the phone is cooler still


def test_a_phone_that_stays_hot_is_waited_for_at_most_cooldown_max_secs(phone):
    make_thermal_zones(phone.root, {0: ["61000", "60500", "60000"]})
    now = [0.0]  # a clock that moves only when the wait sleeps: 0.1 s per poll

    def sleep(seconds: float) -> None:
        now[0] += 0.1

    with open_transport(phone.target()) as t:
        cooled = thermal.cooldown(t, 45.0, 0.25, clock=lambda: now[0], sleep=sleep)
    assert cooled == {
        "waited_s": 0.3,
        "temperature_c": 60.0,
        "reached": False,
        "source": "/sys/class/thermal/thermal_zone0/temp",
    }


def test_without_thermal_zones_the_battery_temperature_is_used(phone):
    write_dumpsys(phone.root, (SAMPLES / "dumpsys_battery_pixelflasher.txt").read_text())  # temperature: 379
    with open_transport(phone.target()) as t:
        warm = thermal.cooldown(t, 35.0, 0.2)
        cool = thermal.cooldown(t, 40.0, 0.2)
    assert warm["reached"] is False and warm["temperature_c"] == 37.9 and warm["source"] == "dumpsys battery"
    assert cool == {"waited_s": cool["waited_s"], "temperature_c": 37.9, "reached": True, "source": "dumpsys battery"}


def test_no_temperature_at_all_is_missing_with_the_reason(phone):
    with open_transport(phone.target()) as t:
        cooled = thermal.cooldown(t, 45.0, 5.0)
    assert cooled["reached"] is False and cooled["temperature_c"] is None
    assert cooled["missing_reason"] == "no readable thermal_zone*/temp, and dumpsys battery gives no temperature"
    assert cooled["waited_s"] < 5  # nothing to wait for


def test_the_pinned_cores_governors_are_recorded_before_the_round(phone, tiny_tflite):
    target = phone.target()
    with open_transport(target) as t:
        model = t.push(tiny_tflite, "m.tflite")
        result = measure_native(t, target, model, "litert", _spec(threads=target.threads))
    assert result["status"] == "ok", result["error"]
    assert result["env"]["pinning"]["cores"] == [4, 5, 6, 7]
    assert result["governor"] == {
        "governor": "schedutil",
        "performance": False,
        "cores": {f"cpu{c}": "schedutil" for c in (4, 5, 6, 7)},
    }
    assert "cooldown" not in result  # no cooldown_below_c: no wait


def test_measure_cores_overrides_the_big_cores(phone, tiny_tflite):
    target = phone.target()
    target = dataclasses.replace(target, measure=dataclasses.replace(target.measure, cores=(0, 1)))
    with open_transport(target) as t:
        model = t.push(tiny_tflite, "m.tflite")
        result = measure_native(t, target, model, "litert", _spec(threads=target.threads))
    assert result["status"] == "ok", result["error"]
    assert result["env"]["pinning"] == {"applied": True, "mask": "3", "cores": [0, 1], "source": "measure.cores"}
    assert phone.taskset_log.read_text().split() == ["3"]
    assert set(result["governor"]["cores"]) == {"cpu0", "cpu1"}
