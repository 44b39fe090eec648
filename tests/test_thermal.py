"""Thermal snapshot: vcgencmd where it works, sysfs otherwise; throttle flags decoded; never raises.

The vcgencmd outputs are real captures (tests/samples/vcgencmd/, provenance in tests/samples/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_bench.device import thermal
from edge_bench.device.thermal import (
    ToolMissing,
    parse_get_throttled,
    parse_measure_clock,
    parse_measure_temp,
    snapshot,
    throttle_changed,
)

SAMPLES = Path(__file__).parent / "samples" / "vcgencmd"


def lines(name: str) -> list[str]:
    return (SAMPLES / name).read_text(encoding="utf-8").splitlines()


def answers(name: str) -> dict[tuple, str]:
    """A Pi's answers to the three commands, each the capture's line starting with that command's key."""
    keys = {("measure_temp",): "temp=", ("get_throttled",): "throttled=", ("measure_clock", "arm"): "frequency("}
    return {command: next(line for line in lines(name) if line.startswith(key)) + "\n" for command, key in keys.items()}


PI5 = answers("rpi5_status.txt")  # temp=47.7'C, frequency(0)=1600017024, throttled=0x0


def pi_runner(outputs=PI5):
    return lambda argv: outputs[tuple(argv)]


def no_vcgencmd(argv):
    raise ToolMissing("vcgencmd not found (not a Raspberry Pi OS image)")


def sysfs(root: Path, temp_milli: str = "45123", governor: str = "performance") -> Path:
    for rel, text in {
        "sys/class/thermal/thermal_zone0/temp": temp_milli + "\n",
        "sys/class/thermal/thermal_zone1/temp": "99000\n",
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": governor + "\n",
        "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": "ondemand\n",
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq": "1800000\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize(
    "name, temperatures",
    [
        ("rpi5_status.txt", [47.7]),
        ("rpi5_soft_throttling.txt", [76.8, 77.4, 82.9]),
        ("rpi4_stress.txt", [55.5, 81.8, 82.7, 80.3]),
        ("rpi3_under_voltage_1.txt", [39.2, 38.6]),
        ("rpi3bplus_status.txt", [62.3]),
        ("rpi3bplus_wiki_temp.txt", [55.8]),
        ("rpi5_alpha_status.txt", [39.5]),
    ],
)
def test_measure_temp_lines(name, temperatures):
    assert [parse_measure_temp(line) for line in lines(name) if line.startswith("temp=")] == temperatures


@pytest.mark.parametrize(
    "name, clocks",
    [
        ("rpi5_status.txt", [1600017024]),
        ("rpi5_soft_throttling.txt", [2000005120, 2000006656, 2256007936]),
        ("rpi5_v3d_idle.txt", [0]),  # an idle clock reads zero: a value, not a missing reading
        ("rpi4_stress.txt", [1300324224, 1800404352, 1677427712, 1300324224]),
        ("rpi3bplus_status.txt", [1400000000]),
        ("rpi3bplus_wiki_clock.txt", [1400000000]),
        ("rpi2b_v3d_jitter.txt", [250000000, 249999000, 250000000]),
    ],
)
def test_measure_clock_lines_whatever_the_clock_id(name, clocks):
    assert [parse_measure_clock(line) for line in lines(name) if line.startswith("frequency(")] == clocks


def test_unexpected_text_parses_to_nothing():
    assert parse_measure_temp('error=2 error_msg="Invalid arguments"') is None
    assert parse_measure_clock("") is None and parse_get_throttled("volt=0.7200V") is None


def test_throttled_bits_decoded_keeping_the_raw_value():
    t = parse_get_throttled(lines("rpi3_under_voltage_2.txt")[1])  # throttled=0x50005
    assert t["raw"] == "0x50005" and t["value"] == 0x50005
    assert t["current"] == {
        "under_voltage": True,
        "arm_frequency_capped": False,
        "throttled": True,
        "soft_temperature_limit": False,
    }
    assert t["occurred"] == {
        "under_voltage": True,
        "arm_frequency_capped": False,
        "throttled": True,
        "soft_temperature_limit": False,
    }
    sticky_only = parse_get_throttled(lines("rpi3_under_voltage_1.txt")[1])  # 0x50000: happened, not now
    assert sticky_only["occurred"]["under_voltage"] and not any(sticky_only["current"].values())
    zero = parse_get_throttled(lines("rpi5_alpha_status.txt")[1])  # the author's "# ..." note after it
    assert zero["value"] == 0 and not any(zero["current"].values()) and not any(zero["occurred"].values())


def test_a_pi4_heating_up_moves_the_throttle_state():
    states = [parse_get_throttled(line) for line in lines("rpi4_stress.txt") if line.startswith("throttled=")]
    assert [s["raw"] for s in states] == ["0x0", "0x80000", "0xe0008", "0xe0000"]  # annotations after them ignored
    assert states[2]["current"]["soft_temperature_limit"] and not states[3]["current"]["soft_temperature_limit"]
    assert states[3]["occurred"] == {
        "under_voltage": False,
        "arm_frequency_capped": True,
        "throttled": True,
        "soft_temperature_limit": True,
    }
    assert [throttle_changed(a, b) for a, b in zip(states, states[1:])] == [True, True, True]
    assert not throttle_changed(states[3], states[3])


def test_snapshot_on_a_pi_uses_vcgencmd(tmp_path):
    snap = snapshot(runner=pi_runner(), root=str(sysfs(tmp_path)))
    assert snap["temperature_c"] == 47.7 and snap["temperature_source"] == "vcgencmd measure_temp"
    assert snap["throttled"]["value"] == 0
    assert snap["arm_clock_hz"] == 1600017024
    assert snap["governor"] == ["ondemand", "performance"]
    assert snap["governors"] == {"cpu0": "performance", "cpu1": "ondemand"}
    assert snap["cpu_cur_freq_khz"] == {"cpu0": 1800000}


def test_snapshot_without_vcgencmd_falls_back_to_sysfs_with_reasons(tmp_path):
    snap = snapshot(runner=no_vcgencmd, root=str(sysfs(tmp_path)))
    assert snap["temperature_c"] == 45.123
    assert snap["temperature_source"] == "/sys/class/thermal/thermal_zone0/temp"
    assert snap["throttled"] is None and "not found" in snap["throttled_missing_reason"]
    assert snap["arm_clock_hz"] is None and "not found" in snap["arm_clock_missing_reason"]


def test_snapshot_with_nothing_available_never_raises(tmp_path):
    def broken(argv):
        raise RuntimeError("transport closed")

    snap = snapshot(runner=broken, root=str(tmp_path))
    assert snap["temperature_c"] is None and "thermal_zone" in snap["temperature_source"]
    assert snap["governor"] is None and snap["throttled"] is None
    assert "transport closed" in snap["throttled_missing_reason"]


def test_unexpected_vcgencmd_output_is_a_reason_not_a_crash(tmp_path):
    outputs = dict(PI5)
    outputs[("get_throttled",)] = 'error=2 error_msg="Invalid arguments"\n'
    snap = snapshot(runner=pi_runner(outputs), root=str(tmp_path))
    assert snap["throttled"] is None and "Invalid arguments" in snap["throttled_missing_reason"]


def test_throttle_changed():
    clean, capped, sticky = ({"throttled": parse_get_throttled(f"throttled={v}")} for v in ("0x0", "0x2", "0x20000"))
    assert not throttle_changed(clean, clean)
    assert throttle_changed(clean, capped)  # a current-state bit differs
    assert throttle_changed(capped, clean)
    assert throttle_changed(clean, sticky)  # capped and released during the run: only the sticky bit shows it
    assert not throttle_changed(sticky, sticky)  # happened before the run, nothing new
    assert not throttle_changed({"throttled": None}, clean)  # unknown is not a change


def test_cooldown_keeps_its_signature_and_reports(monkeypatch):
    readings = iter([(80.0, "x"), (70.0, "x"), (55.0, "x")])
    monkeypatch.setattr(thermal, "read_temperature_c", lambda *a, **k: next(readings))
    out = thermal.cooldown(60.0, 10.0, poll_secs=0.0)
    assert out["reached"] and out["temperature_c"] == 55.0


def test_snapshot_reads_the_load_average(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "loadavg").write_text("3.52 1.07 0.41 2/389 12345\n")
    assert snapshot(runner=no_vcgencmd, root=str(tmp_path))["load_average"] == [3.52, 1.07, 0.41]
    (tmp_path / "proc" / "loadavg").unlink()
    assert snapshot(runner=no_vcgencmd, root=str(tmp_path))["load_average"] is None
