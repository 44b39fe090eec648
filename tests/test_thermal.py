"""Thermal snapshot: vcgencmd where it works, sysfs otherwise; throttle flags decoded; never raises."""

from __future__ import annotations

from pathlib import Path

from edge_bench.device import thermal
from edge_bench.device.thermal import (ToolMissing, parse_get_throttled, parse_measure_clock, parse_measure_temp,
                                       snapshot, throttle_changed)

# One-line outputs of `vcgencmd measure_temp`, `get_throttled` and `measure_clock arm` (Raspberry Pi firmware).
PI = {("measure_temp",): "temp=39.5'C\n", ("get_throttled",): "throttled=0x50005\n",
      ("measure_clock", "arm"): "frequency(48)=1500398464\n"}


def pi_runner(outputs=PI):
    return lambda argv: outputs[tuple(argv)]


def no_vcgencmd(argv):
    raise ToolMissing("vcgencmd not found (not a Raspberry Pi OS image)")


def sysfs(root: Path, temp_milli: str = "45123", governor: str = "performance") -> Path:
    for rel, text in {"sys/class/thermal/thermal_zone0/temp": temp_milli + "\n",
                      "sys/class/thermal/thermal_zone1/temp": "99000\n",
                      "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": governor + "\n",
                      "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": "ondemand\n",
                      "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq": "1800000\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_parsers():
    assert parse_measure_temp("temp=39.5'C") == 39.5
    assert parse_measure_clock("frequency(48)=1500398464") == 1500398464
    assert parse_measure_clock("frequency(0)=2400000000") == 2400000000
    assert parse_measure_temp("error") is None and parse_measure_clock("") is None


def test_throttled_bits_decoded_keeping_the_raw_value():
    t = parse_get_throttled("throttled=0x50005")
    assert t["raw"] == "0x50005" and t["value"] == 0x50005
    assert t["current"] == {"under_voltage": True, "arm_frequency_capped": False, "throttled": True,
                            "soft_temperature_limit": False}
    assert t["occurred"] == {"under_voltage": True, "arm_frequency_capped": False, "throttled": True,
                             "soft_temperature_limit": False}
    zero = parse_get_throttled("throttled=0x0")
    assert not any(zero["current"].values()) and not any(zero["occurred"].values())
    sticky_only = parse_get_throttled("throttled=0x80000")
    assert sticky_only["occurred"]["soft_temperature_limit"] and not sticky_only["current"]["soft_temperature_limit"]


def test_snapshot_on_a_pi_uses_vcgencmd(tmp_path):
    snap = snapshot(runner=pi_runner(), root=str(sysfs(tmp_path)))
    assert snap["temperature_c"] == 39.5 and snap["temperature_source"] == "vcgencmd measure_temp"
    assert snap["throttled"]["value"] == 0x50005
    assert snap["arm_clock_hz"] == 1500398464
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
    outputs = dict(PI)
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
    assert throttle_changed(parse_get_throttled("throttled=0x50005"), parse_get_throttled("throttled=0xd0005"))
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
