"""Each meter reads its real source format: sample outputs, sample sysfs trees, canned commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_bench.device.power import METER_OPTIONS, METERS, MeterUnavailable, Source, open_meter
from edge_bench.device.power.android import (detect_current_unit, detect_voltage_unit, parse_energy_meter_dump)
from edge_bench.device.power.base import CommandError
from edge_bench.device.power.jetson import parse_tegrastats_rails
from edge_bench.device.power.rpi5_pmic import parse_pmic_adc, pmic_power_w

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> str:
    """A sample file without its leading '#' comment (which says where the lines come from)."""
    lines = (SAMPLES / name).read_text().splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def canned(outputs: dict[tuple, str] | str):
    """A Runner answering from canned outputs."""
    def run(argv):
        if isinstance(outputs, str):
            return outputs
        return outputs[tuple(argv)]
    return run


def test_every_meter_has_its_options_listed():
    assert set(METERS) == set(METER_OPTIONS) == {"rpi5-pmic", "hwmon", "rapl", "jetson-ina3221", "tegrastats",
                                                 "android-battery", "android-rails"}


def test_unknown_option_names_the_known_ones():
    with pytest.raises(MeterUnavailable, match="board_fit_scale"):
        open_meter("rpi5-pmic", {"scale": 2}, source=Source(runner=canned(sample("vcgencmd_pmic_read_adc.txt"))))


# ---------------------------------------------------------------- Raspberry Pi 5 PMIC

def test_pmic_pairs_rails_by_name_not_by_adc_channel():
    text = (" 3V7_WL_SW_A current(0)=0.10000000A\n VDD_CORE_A current(7)=2.00000000A\n"
            " 3V7_WL_SW_V volt(8)=3.70000000V\n VDD_CORE_V volt(15)=0.80000000V\n EXT5V_V volt(24)=5.10000000V\n")
    watts, rails = pmic_power_w(text)
    assert watts == pytest.approx(0.1 * 3.7 + 2.0 * 0.8)
    assert rails == ["3V7_WL_SW", "VDD_CORE"]


def test_pmic_full_sample_sums_the_twelve_paired_rails():
    text = sample("vcgencmd_pmic_read_adc.txt")
    rails = parse_pmic_adc(text)
    assert rails["EXT5V"] == {"V": pytest.approx(4.9245)} and "BATT" not in rails  # nanV dropped
    watts, paired = pmic_power_w(text)
    assert len(paired) == 12 and "EXT5V" not in paired
    assert watts == pytest.approx(5.915693920975221)  # the twelve products, summed by hand


def test_pmic_meter_applies_and_records_the_board_fit_only_when_asked():
    src = Source(runner=canned({("vcgencmd", "pmic_read_adc"): sample("vcgencmd_pmic_read_adc.txt")}))
    plain = open_meter("rpi5-pmic", {}, source=src)
    assert plain.read() == pytest.approx(5.915693920975221)
    assert plain.describe()["board_fit"] is None
    fitted = open_meter("rpi5-pmic", {"board_fit_scale": 1.145, "board_fit_offset_w": 0.588}, source=src)
    assert fitted.read() == pytest.approx(1.145 * 5.915693920975221 + 0.588)
    assert fitted.describe()["board_fit"] == {"scale": 1.145, "offset_w": 0.588,
                                              "formula": "P_board = scale * P_pmic + offset_w"}
    with pytest.raises(MeterUnavailable, match="both"):
        open_meter("rpi5-pmic", {"board_fit_scale": 1.1}, source=src)


def test_pmic_unavailable_reasons_say_how_to_fix():
    def missing(argv):
        raise FileNotFoundError(argv[0])

    with pytest.raises(MeterUnavailable, match="raspi-utils"):
        open_meter("rpi5-pmic", {}, source=Source(runner=missing))
    with pytest.raises(MeterUnavailable, match="Raspberry Pi 5 only"):
        open_meter("rpi5-pmic", {}, source=Source(runner=canned('error=1 error_msg="Command not registered"\n')))

    def no_vcio(argv):
        raise CommandError("vcgencmd exited 255: Can't open device file: /dev/vcio")

    with pytest.raises(MeterUnavailable, match="group video"):
        open_meter("rpi5-pmic", {}, source=Source(runner=no_vcio))


# ---------------------------------------------------------------- hwmon (ina2xx)

def test_hwmon_finds_the_sensor_by_name_and_prefers_power1_input(tmp_path):
    tree(tmp_path, {"sys/class/hwmon/hwmon0/name": "coretemp\n",
                    "sys/class/hwmon/hwmon3/name": "ina219\n",
                    "sys/class/hwmon/hwmon3/power1_input": "3200000\n",
                    "sys/class/hwmon/hwmon3/in1_input": "5000\n",
                    "sys/class/hwmon/hwmon3/curr1_input": "700\n",
                    "sys/class/hwmon/hwmon3/update_interval": "2\n"})
    meter = open_meter("hwmon", {"name": "ina219"}, source=Source(root=str(tmp_path)))
    assert meter.read() == pytest.approx(3.2)
    assert meter.describe()["source"] == "/sys/class/hwmon/hwmon3"
    assert meter.describe()["update_interval_ms"] == 2


def test_hwmon_falls_back_to_voltage_times_current(tmp_path):
    tree(tmp_path, {"sys/class/hwmon/hwmon1/name": "ina226\n",
                    "sys/class/hwmon/hwmon1/in1_input": "5000\n",
                    "sys/class/hwmon/hwmon1/curr1_input": "-400\n"})
    meter = open_meter("hwmon", {"name": "ina226"}, source=Source(root=str(tmp_path)))
    assert meter.read() == pytest.approx(2.0)  # 5 V x |−0.4 A|
    assert "in1_input" in meter.describe()["method"]


def test_hwmon_missing_sensor_lists_what_exists(tmp_path):
    tree(tmp_path, {"sys/class/hwmon/hwmon0/name": "coretemp\n"})
    with pytest.raises(MeterUnavailable, match="hwmon0=coretemp"):
        open_meter("hwmon", {"name": "ina219"}, source=Source(root=str(tmp_path)))
    with pytest.raises(MeterUnavailable, match="options.name"):
        open_meter("hwmon", {}, source=Source(root=str(tmp_path)))


# ---------------------------------------------------------------- RAPL

def rapl_tree(root: Path) -> Path:
    return tree(root, {"sys/class/powercap/intel-rapl:0/name": "package-0\n",
                       "sys/class/powercap/intel-rapl:0/energy_uj": "123456789\n",
                       "sys/class/powercap/intel-rapl:0/max_energy_range_uj": "262143328850\n",
                       "sys/class/powercap/intel-rapl:0:0/name": "core\n",
                       "sys/class/powercap/intel-rapl:0:0/energy_uj": "5000000\n"})


def test_rapl_reads_the_package_counter_in_joules_with_its_wrap(tmp_path):
    meter = open_meter("rapl", {}, source=Source(root=str(rapl_tree(tmp_path))))
    assert meter.kind == "energy"
    assert meter.read() == pytest.approx(123.456789)
    assert meter.wrap_j == pytest.approx(262143.32885)
    core = open_meter("rapl", {"domain": "core"}, source=Source(root=str(tmp_path)))
    assert core.read() == pytest.approx(5.0)


def test_rapl_root_only_counter_says_so(tmp_path):
    rapl_tree(tmp_path)
    plain = Source(root=str(tmp_path)).reader()

    def read(path):
        if path.endswith("energy_uj"):
            raise PermissionError(13, "Permission denied")
        return plain(path)

    with pytest.raises(MeterUnavailable, match="root only"):
        open_meter("rapl", {}, source=Source(root=str(tmp_path), read_text=read))


def test_rapl_absent_says_how_to_load_it(tmp_path):
    with pytest.raises(MeterUnavailable, match="intel_rapl_msr"):
        open_meter("rapl", {}, source=Source(root=str(tmp_path)))


# ---------------------------------------------------------------- Jetson

def test_ina3221_rail_chosen_by_label(tmp_path):
    d = "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon2"
    tree(tmp_path, {f"{d}/in1_label": "VDD_IN\n", f"{d}/in1_input": "5000\n", f"{d}/curr1_input": "1000\n",
                    f"{d}/in2_label": "VDD_CPU_GPU_CV\n", f"{d}/in2_input": "5000\n", f"{d}/curr2_input": "300\n",
                    f"{d}/in3_label": "VDD_SOC\n", f"{d}/in3_input": "5000\n", f"{d}/curr3_input": "250\n"})
    src = Source(root=str(tmp_path))
    assert open_meter("jetson-ina3221", {}, source=src).read() == pytest.approx(5.0)  # VDD_IN by default
    assert open_meter("jetson-ina3221", {"rail": "VDD_SOC"}, source=src).read() == pytest.approx(1.25)
    with pytest.raises(MeterUnavailable, match="VDD_CPU_GPU_CV"):
        open_meter("jetson-ina3221", {"rail": "VDD_GPU"}, source=src)


def test_ina3221x_legacy_iio_rails(tmp_path):
    d = "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0"
    tree(tmp_path, {f"{d}/rail_name_0": "POM_5V_IN\n", f"{d}/in_power0_input": "1750\n",
                    f"{d}/rail_name_1": "POM_5V_GPU\n", f"{d}/in_power1_input": "0\n"})
    assert open_meter("jetson-ina3221", {}, source=Source(root=str(tmp_path))).read() == pytest.approx(1.75)


def test_no_jetson_rails_points_to_tegrastats(tmp_path):
    with pytest.raises(MeterUnavailable, match="tegrastats"):
        open_meter("jetson-ina3221", {}, source=Source(root=str(tmp_path)))


def test_tegrastats_rails_across_jetpack_formats():
    orin, xavier, nano, orin_instant = sample("tegrastats.txt").splitlines()
    assert parse_tegrastats_rails(orin) == {"VDD_IN": 5037.0, "VDD_CPU_GPU_CV": 516.0, "VDD_SOC": 1473.0}
    assert parse_tegrastats_rails(xavier) == {"VDD_IN": 5336.0, "VDD_CPU_GPU_CV": 2617.0, "VDD_SOC": 1478.0}
    assert parse_tegrastats_rails(nano) == {"POM_5V_IN": 1750.0, "POM_5V_GPU": 0.0, "POM_5V_CPU": 283.0}
    assert parse_tegrastats_rails(orin_instant)["VDD_IN"] == 5765.0
    assert "RAM" not in parse_tegrastats_rails(orin) and "APE" not in parse_tegrastats_rails(xavier)


def test_tegrastats_meter_reads_one_line_per_sample_and_falls_back_to_pom():
    lines = sample("tegrastats.txt").splitlines()
    nano = open_meter("tegrastats", {}, period_secs=0.1, source=Source(lines=[lines[2], lines[2]]))
    assert nano.rail == "POM_5V_IN" and nano.read() == pytest.approx(1.75)
    orin = open_meter("tegrastats", {"rail": "VDD_SOC"}, source=Source(lines=[lines[0], lines[1], lines[3]]))
    assert [orin.read(), orin.read()] == [pytest.approx(1.478), pytest.approx(1.497)]
    with pytest.raises(MeterUnavailable, match="stopped"):
        orin.read()


# ---------------------------------------------------------------- Android battery

def battery(root: Path, current: str, voltage: str = "3850000", status: str = "Discharging") -> Source:
    tree(root, {"sys/class/power_supply/battery/current_now": current + "\n",
                "sys/class/power_supply/battery/voltage_now": voltage + "\n",
                "sys/class/power_supply/battery/status": status + "\n"})
    return Source(root=str(root))


def test_battery_microamps_and_milliamps_give_the_same_watts(tmp_path):
    ua = open_meter("android-battery", {}, source=battery(tmp_path / "a", "-512000"))
    ma = open_meter("android-battery", {}, source=battery(tmp_path / "b", "512", voltage="3850"))
    assert ua.read() == pytest.approx(0.512 * 3.85) == ma.read()
    assert ua.describe()["units_detected"]["current_now"] == "uA"
    assert ma.describe()["units_detected"]["current_now"] == "mA"
    assert ma.describe()["units_detected"]["voltage_now"] == "mV"


def test_unit_detection_thresholds():
    assert detect_current_unit(-9_999)[0] == "mA" and detect_current_unit(10_000)[0] == "uA"
    assert detect_voltage_unit(4_400)[0] == "mV" and detect_voltage_unit(3_800_000)[0] == "uV"


def test_charging_battery_is_refused_unless_allowed(tmp_path):
    src = battery(tmp_path, "800000", status="Charging")
    with pytest.raises(MeterUnavailable, match="wireless adb"):
        open_meter("android-battery", {}, source=src)
    assert open_meter("android-battery", {"allow_charging": True}, source=src).describe()["status"] == "Charging"


# ---------------------------------------------------------------- Android power rails

def test_hal_dump_energy_meter_block_only():
    rails = parse_energy_meter_dump(sample("dumpsys_power_stats_hal.txt"))
    assert len(rails) == 10 and "CPUCL0" not in rails  # the energy-consumer block is not a rail
    assert rails["S10M_VDD_TPU"] == {"energy_uws": pytest.approx(1523456.25e3), "subsystem": "TPU"}
    assert rails["S2M_VDD_CPUCL2"]["subsystem"] == "CPU(BIG)"


def test_powerstats_channel_list_has_no_readings():
    text = sample("dumpsys_powerstats.txt")
    assert parse_energy_meter_dump(text) == {}
    with pytest.raises(MeterUnavailable, match="no PowerStats HAL energy meter"):
        open_meter("android-rails", {"command": "dumpsys powerstats"},
                   source=Source(runner=canned({("dumpsys", "powerstats"): text})))


def test_rails_meter_sums_selected_counters_in_joules():
    first = sample("dumpsys_power_stats_hal.txt")
    later = first.replace("2345678.00 mWs", "2346678.00 mWs")  # CPU(BIG) +1000 mW·s = +1 J
    outputs = iter([first, first, later])
    src = Source(runner=lambda argv: next(outputs))
    meter = open_meter("android-rails", {"rails": ["S2M_VDD_CPUCL2", "S3M_VDD_CPUCL1"]}, source=src)
    assert meter.kind == "energy"
    a, b = meter.read(), meter.read()
    assert a == pytest.approx((2345678.0 + 1234567.5) / 1e3)
    assert b - a == pytest.approx(1.0)
    assert meter.describe()["rails"] == {"S2M_VDD_CPUCL2": "CPU(BIG)", "S3M_VDD_CPUCL1": "CPU(MID)"}


def test_rails_meter_reasons():
    text = sample("dumpsys_power_stats_hal.txt")
    with pytest.raises(MeterUnavailable, match="S99_NOPE"):
        open_meter("android-rails", {"rails": ["S99_NOPE"]}, source=Source(runner=canned(text)))

    def denied(argv):
        raise CommandError("dumpsys exited 255: Permission Denial: can't dump")

    with pytest.raises(MeterUnavailable, match="adb shell user"):
        open_meter("android-rails", {}, source=Source(runner=denied))
