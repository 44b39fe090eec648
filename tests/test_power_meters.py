"""Each meter reads its real source format: real captures (tests/samples/, provenance in PROVENANCE.md)
as command output, as sysfs trees rebuilt from `cat` listings, or as line streams."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from edge_bench.device.power import METER_OPTIONS, METERS, MeterUnavailable, Source, open_meter
from edge_bench.device.power.android import detect_voltage_unit, parse_dumpsys_battery, parse_odpm_energy
from edge_bench.device.power.base import CommandError
from edge_bench.device.power.integrate import counter_energy_j
from edge_bench.device.power.jetson import parse_tegrastats_rails
from edge_bench.device.power.rpi5_pmic import Rpi5PmicMeter, parse_pmic_adc, pmic_power_w
from edge_bench.device.power.vcio import (
    GET_GENCMD_RESULT,
    MAX_STRING,
    GencmdError,
    Mailbox,
    gencmd_message,
    gencmd_reply,
    ioctl_mbox_property,
    open_mailbox,
)

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel.lstrip("/")
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


def no_mailbox():
    return None, "no mailbox in this test"


def test_every_meter_has_its_options_listed():
    assert (
        set(METERS)
        == set(METER_OPTIONS)
        == {"rpi5-pmic", "hwmon", "rapl", "jetson-ina3221", "tegrastats", "android-battery", "android-rails"}
    )


def test_unknown_option_names_the_known_ones():
    with pytest.raises(MeterUnavailable, match="board_fit_scale"):
        open_meter("rpi5-pmic", {"scale": 2}, source=Source(runner=canned("")))


# ---------------------------------------------------------------- Raspberry Pi 5 PMIC

NO_BATTERY = sample("vcgencmd/pmic_read_adc_rpi5_no_battery.txt")
# The twelve (A, V) pairs of that capture, rail by rail.
NO_BATTERY_PAIRS = [
    (0.05855580, 3.61069200),
    (0.06148359, 3.29982600),
    (0.13272650, 1.81684800),
    (0.13955800, 1.10109800),
    (0.00980400, 0.60366240),
    (0.19811380, 1.10292900),
    (0.34157550, 0.80292960),
    (5.03652000, 0.89369880),
    (0.00006105, 3.29944700),
    (0.00054945, 3.30402600),
    (0.00531135, 0.79618980),
    (0.02161170, 4.92450000),
]
NO_BATTERY_W = sum(a * v for a, v in NO_BATTERY_PAIRS)


def test_pmic_pairs_rails_by_name_across_out_of_order_channels():
    rails = parse_pmic_adc(NO_BATTERY)
    assert len(rails) == 14
    assert rails["VDD_CORE"] == {"A": 5.03652, "V": 0.8936988}
    assert rails["0V8_AON"] == {"A": 0.00531135, "V": 0.7961898}  # current(16), volt(19)
    assert rails["EXT5V"] == {"V": 4.9245} and rails["BATT"] == {"V": 0.0034188}  # no current partner
    watts, paired = pmic_power_w(NO_BATTERY)
    assert len(paired) == 12 and "EXT5V" not in paired and "BATT" not in paired
    assert watts == pytest.approx(NO_BATTERY_W)


def test_pmic_dump_with_the_command_line_and_more_than_ten_amps():
    text = sample("vcgencmd/pmic_read_adc_rpi5_rtc_battery.txt")
    rails = parse_pmic_adc(text)
    assert rails["VDD_CORE"] == {"A": 10.87674, "V": 0.8974594} and rails["BATT"] == {"V": 3.011108}
    watts, paired = pmic_power_w(text)
    assert len(paired) == 12
    assert watts == pytest.approx(sum(rails[r]["A"] * rails[r]["V"] for r in paired))
    assert watts > 10.87674 * 0.8974594  # the core rail alone: 9.76 W


def test_partial_and_selected_dumps_have_no_pairs_and_say_so():
    alpha = sample("vcgencmd/pmic_read_adc_rpi5_alpha_partial.txt")
    assert parse_pmic_adc(alpha)["0V8_SYS"] == {"A": 0.2693567}  # the alpha firmware's rail name
    with pytest.raises(MeterUnavailable, match="no current/voltage rail pairs"):
        pmic_power_w(alpha)
    gist = parse_pmic_adc(sample("vcgencmd/pmic_read_adc_rpi5_gist_lines.txt"))  # no leading alignment
    assert gist == {
        "3V7_WL_SW": {"A": 0.04782057},
        "VDD_CORE": {"V": 0.7209762},
        "HDMI": {"V": 5.16034},
        "EXT5V": {"V": 5.171059},
        "BATT": {"V": 0.0059829},
    }


def test_pmic_meter_through_vcgencmd_applies_the_board_fit_only_when_asked():
    src = Source(runner=canned({("vcgencmd", "pmic_read_adc"): NO_BATTERY}))
    plain = open_meter("rpi5-pmic", {"via": "vcgencmd"}, source=src)
    assert plain.read() == pytest.approx(NO_BATTERY_W)
    assert plain.describe()["board_fit"] is None and plain.describe()["via"] == "vcgencmd"
    fitted = open_meter(
        "rpi5-pmic", {"via": "vcgencmd", "board_fit_scale": 1.145, "board_fit_offset_w": 0.588}, source=src
    )
    assert fitted.read() == pytest.approx(1.145 * NO_BATTERY_W + 0.588)
    assert fitted.describe()["board_fit"] == {
        "scale": 1.145,
        "offset_w": 0.588,
        "formula": "P_board = scale * P_pmic + offset_w",
    }
    with pytest.raises(MeterUnavailable, match="both"):
        open_meter("rpi5-pmic", {"board_fit_scale": 1.1}, source=src)
    with pytest.raises(MeterUnavailable, match="options.via"):
        open_meter("rpi5-pmic", {"via": "carrier-pigeon"}, source=src)


def test_pmic_unavailable_reasons_say_how_to_fix():
    def missing(argv):
        raise FileNotFoundError(argv[0])

    with pytest.raises(MeterUnavailable, match="raspi-utils"):
        Rpi5PmicMeter(runner=missing, open_mailbox=no_mailbox)
    with pytest.raises(MeterUnavailable, match="Raspberry Pi 5 only"):
        Rpi5PmicMeter(runner=canned('error=1 error_msg="Command not registered"\n'), open_mailbox=no_mailbox)

    def no_vcio(argv):
        raise CommandError("vcgencmd exited 255: Can't open device file: /dev/vcio")

    with pytest.raises(MeterUnavailable, match="group video"):
        Rpi5PmicMeter(runner=no_vcio, open_mailbox=no_mailbox)


# ---------------------------------------------------------------- the VideoCore mailbox


class Firmware:
    """Stands in for the vcio driver and the firmware behind it: checks the request as the driver sees
    it and answers a gencmd in place, as vcio_user_property_list does."""

    def __init__(self, replies: dict[str, str], error: int = 0):
        self.replies, self.error, self.commands = replies, error, []

    def __call__(self, fd: int, request: int, buffer: bytearray, mutate: bool) -> int:
        assert request == ioctl_mbox_property() and mutate
        size, code, tag, value_size, req_len, _ = struct.unpack_from("=6I", buffer, 0)
        assert (size, code, tag, value_size, req_len) == (len(buffer), 0, GET_GENCMD_RESULT, MAX_STRING, 0)
        assert struct.unpack_from("=I", buffer, size - 4) == (0,)  # the end tag
        command = bytes(buffer[24 : 24 + MAX_STRING]).split(b"\0", 1)[0].decode()
        self.commands.append(command)
        reply = self.replies[command].encode() + b"\0"
        buffer[24 : 24 + len(reply)] = reply
        struct.pack_into("=I", buffer, 4, 0x80000000)
        struct.pack_into("=I", buffer, 20, self.error)
        return 0


def test_gencmd_message_has_vcgencmds_layout():
    message = gencmd_message("pmic_read_adc")
    assert len(message) == 4 * (6 + MAX_STRING // 4 + 1)
    assert struct.unpack_from("=6I", message) == (len(message), 0, 0x00030080, 1024, 0, 0)
    assert message[24:38] == b"pmic_read_adc\0"
    assert ioctl_mbox_property() & 0xFFFF == 0x6400 and ioctl_mbox_property() >> 30 == 3  # _IOWR(100, 0, ptr)
    assert gencmd_reply(message) == (0, 0, "pmic_read_adc")


def test_pmic_meter_reads_through_the_mailbox_without_a_process(tmp_path):
    tree(tmp_path, {"dev/vcio": ""})
    firmware = Firmware({"version": "Jan  1 2026 00:00:00", "pmic_read_adc": NO_BATTERY.rstrip("\n")})

    def forbidden(argv):
        raise AssertionError(f"started {argv}")

    meter = Rpi5PmicMeter(runner=forbidden, open_mailbox=lambda: open_mailbox(str(tmp_path), ioctl=firmware))
    assert meter.read() == pytest.approx(NO_BATTERY_W)
    assert meter.describe()["via"] == "mailbox" and meter.describe()["source"].startswith("/dev/vcio ioctl")
    assert firmware.commands == ["version", "pmic_read_adc", "pmic_read_adc"]
    meter.close()


def test_mailbox_error_codes_and_missing_devices(tmp_path):
    tree(tmp_path, {"dev/vcio": ""})
    refusing = Firmware({"pmic_read_adc": 'error=1 error_msg="Command not registered"'}, error=1)
    with pytest.raises(GencmdError, match="returned 1"):
        Mailbox(str(tmp_path / "dev/vcio"), ioctl=refusing).gencmd("pmic_read_adc")
    mailbox, found = open_mailbox(str(tmp_path / "nowhere"))
    assert mailbox is None and "/dev/vcio_gencmd" in found and "/dev/vcio:" in found


def test_a_file_that_is_no_mailbox_fails_the_real_ioctl(tmp_path):
    tree(tmp_path, {"dev/vcio": ""})  # a plain file: fcntl.ioctl itself answers ENOTTY
    mailbox, found = open_mailbox(str(tmp_path))
    assert mailbox is None and "/dev/vcio: Inappropriate ioctl for device" in found


def test_pmic_meter_falls_back_to_vcgencmd_and_records_why():
    src = Source(root="/nonexistent-root", runner=canned({("vcgencmd", "pmic_read_adc"): NO_BATTERY}))
    meter = open_meter("rpi5-pmic", {}, source=src)
    described = meter.describe()
    assert described["via"] == "vcgencmd" and "/dev/vcio" in described["mailbox_unused"]
    assert meter.read() == pytest.approx(NO_BATTERY_W)
    with pytest.raises(MeterUnavailable, match="group video"):
        open_meter("rpi5-pmic", {"via": "mailbox"}, source=src)


# ---------------------------------------------------------------- hwmon (ina2xx, ina3221)


def cat_listing(text: str) -> dict[str, str]:
    """{sysfs path: value} from a `cat FILE` listing (a command line, then the value on the next line)."""
    files, path = {}, None
    for line in text.splitlines():
        if m := re.match(r"^(?:cat )?(?:/sys/)?class/hwmon/(hwmon\d+)/(\w+)", line):
            path = f"/sys/class/hwmon/{m[1]}/{m[2]}"
        elif path and line.strip():
            files[path], path = line.strip() + "\n", None
    return files


def test_ina219_on_battery_reads_the_chips_power_despite_negative_current(tmp_path):
    _, *values = sample("hwmon/ina219_cm4_ups.txt").splitlines()
    names = ("in0_input", "in1_input", "power1_input", "curr1_input", "shunt_resistor")
    assert values == ["-4", "4228", "176000", "-40", "100000"]
    # The capture lists hwmon2's values; its `name` file is not in it (the driver sets the chip's name).
    tree(
        tmp_path,
        {
            "sys/class/hwmon/hwmon2/name": "ina219\n",
            **{f"sys/class/hwmon/hwmon2/{n}": v + "\n" for n, v in zip(names, values)},
        },
    )
    meter = open_meter("hwmon", {"name": "ina219"}, source=Source(root=str(tmp_path)))
    assert meter.read() == pytest.approx(0.176)
    assert meter.describe()["method"] == "power1_input (µW)" and meter.describe()["source"] == "/sys/class/hwmon/hwmon2"


def sl1640_board(root: Path) -> Source:
    files = {}
    for part in ("currents", "voltages", "power"):
        files.update(cat_listing(sample(f"hwmon/sl1640_{part}.txt")))
    # The `name` files are not in the doc: the drivers name an INA3221 "ina3221", an INA220 "ina220".
    files.update(
        {
            "/sys/class/hwmon/hwmon0/name": "ina3221\n",
            **{f"/sys/class/hwmon/hwmon{n}/name": "ina220\n" for n in (1, 2, 3)},
        }
    )
    tree(root, files)
    return Source(root=str(root))


def test_ina3221_channels_and_ina220s_add_up_to_the_board_docs_total(tmp_path):
    src = sl1640_board(tmp_path)
    channels = [open_meter("hwmon", {"name": "ina3221", "channel": c}, source=src) for c in (1, 2, 3)]
    # The doc's own products: 856 * 800 = 684800 uW, 32 * 840 = 26880 uW, 60 * 1104 = 66240 uW.
    assert [m.read() for m in channels] == [pytest.approx(0.6848), pytest.approx(0.02688), pytest.approx(0.06624)]
    assert channels[2].describe()["method"] == "in3_input (mV) x curr3_input (mA)"
    ina220s = [open_meter("hwmon", {"name": "ina220", "index": i}, source=src) for i in (0, 1, 2)]
    # hwmon1 (7 mA at 624 mV, ~4.4 mW) reads power1_input 0: the chip's coarser power register, not invented.
    assert [m.read() for m in ina220s] == [0.0, pytest.approx(0.22), pytest.approx(0.14)]
    assert ina220s[0].describe()["method"] == "power1_input (µW)"
    # "Total Power = 1137920uW": the three INA3221 channels and the three INA220s.
    assert sum(m.read() for m in channels + ina220s) == pytest.approx(1.13792)
    with pytest.raises(MeterUnavailable, match="options.channel"):
        open_meter("hwmon", {"name": "ina3221", "channel": 4}, source=src)


@pytest.mark.parametrize(
    "line, watts",
    [
        ("Status: 95 % (4140 mV, 0 mA)", 0.0),
        ("Status: 90 % (4084 mV, 87 mA)", 4.084 * 0.087),
        ("Status: 102 % (4224 mV, -150 mA)", 4.224 * 0.150),  # charging: the sign flips, the magnitude counts
    ],
)
def test_ina219_volts_times_amps_whatever_the_current_direction(tmp_path, line, watts):
    assert line in sample("hwmon/ina219_ups_script.txt")
    mv, ma = re.search(r"\((-?\d+) mV, (-?\d+) mA\)", line).groups()
    tree(
        tmp_path,
        {
            "sys/class/hwmon/hwmon1/name": "ina219\n",
            "sys/class/hwmon/hwmon1/in1_input": mv + "\n",
            "sys/class/hwmon/hwmon1/curr1_input": ma + "\n",
        },
    )
    assert open_meter("hwmon", {"name": "ina219"}, source=Source(root=str(tmp_path))).read() == pytest.approx(watts)


def test_hwmon_missing_sensor_lists_what_exists(tmp_path):
    tree(tmp_path, {"sys/class/hwmon/hwmon0/name": "coretemp\n"})
    with pytest.raises(MeterUnavailable, match="hwmon0=coretemp"):
        open_meter("hwmon", {"name": "ina219"}, source=Source(root=str(tmp_path)))
    with pytest.raises(MeterUnavailable, match="options.name"):
        open_meter("hwmon", {}, source=Source(root=str(tmp_path)))


# ---------------------------------------------------------------- RAPL


def test_rapl_counter_wrapping_twice_in_a_real_series():
    series = [int(v) for v in sample("rapl/laptop_energy_uj_wrap.txt").splitlines()[1:]]
    assert sum(b < a for a, b in zip(series, series[1:])) == 2  # 134258672512 -> 582493184, 132652438176 -> ...
    wrap_uj = 2**37  # the capture's wrap point is only known to be about 2^37 µJ: any value above the peak works
    total_j = counter_energy_j([v / 1e6 for v in series], wrap_j=wrap_uj / 1e6)
    assert total_j == pytest.approx((series[-1] - series[0] + 2 * wrap_uj) / 1e6)
    with pytest.raises(ValueError, match="wrap value is unknown"):
        counter_energy_j([v / 1e6 for v in series])


def test_rapl_dram_subzone_with_its_wrap_value(tmp_path):
    files = {}
    for line in sample("rapl/haswell_grep.txt").splitlines():  # `grep -r .`: "PATH:VALUE"
        path, _, value = line.rpartition(":")
        zone, leaf = re.search(r"/(intel-rapl:[\d:]+)/([\w/]+)$", path).groups()
        files[f"sys/class/powercap/{zone}/{leaf}"] = value + "\n"
    assert files["sys/class/powercap/intel-rapl:0:2/energy_uj"] == "2469474853\n"
    meter = open_meter("rapl", {"domain": "dram"}, source=Source(root=str(tree(tmp_path, files))))
    assert meter.kind == "energy" and meter.zone == "intel-rapl:0:2"
    assert meter.read() == pytest.approx(2469.474853)
    assert meter.wrap_j == pytest.approx(262143.999938)


def test_rapl_fourteen_digit_counter_and_unreadable_files(tmp_path):
    lines = sample("rapl/find_cat_read_errors.txt").splitlines()
    energy = lines[lines.index("/sys/devices/virtual/powercap/intel-rapl/intel-rapl:1/energy_uj") + 1]
    assert energy == "60293987000000"
    tree(tmp_path, {"sys/class/powercap/intel-rapl:1/energy_uj": energy + "\n"})  # no name, no max range listed
    meter = open_meter("rapl", {"zone": "intel-rapl:1"}, source=Source(root=str(tmp_path)))
    assert meter.read() == pytest.approx(60293987.0) and meter.wrap_j is None and meter.domain == "?"


def test_rapl_root_only_counter_says_so(tmp_path):
    tree(
        tmp_path,
        {
            "sys/class/powercap/intel-rapl:0/name": "package-0\n",
            "sys/class/powercap/intel-rapl:0/energy_uj": "2469474853\n",
        },
    )
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


def test_tegrastats_orin_nano_jetpack6_with_timestamps():
    lines = sample("tegrastats/orin_nano_jp62.txt").splitlines()
    rails = [parse_tegrastats_rails(line) for line in lines]
    assert rails[0] == {"VDD_IN": 5251.0, "VDD_CPU_GPU_CV": 512.0, "VDD_SOC": 2724.0}
    assert rails[1] == {
        "VDD_IN": 16993.0,
        "VDD_CPU_GPU_CV": 5895.0,
        "VDD_SOC": 6031.0,
    }  # instant, not the 10908 average
    meter = open_meter("tegrastats", {}, period_secs=0.1, source=Source(lines=lines))
    assert meter.rails == ["VDD_IN"]
    assert [meter.read(), meter.read(), meter.read()] == [
        pytest.approx(16.993),
        pytest.approx(8.752),
        pytest.approx(6.150),
    ]
    assert meter.helper_cpu_s() is None  # no tegrastats process behind a line stream


def test_tegrastats_without_root_and_an_average_missing_its_unit():
    line = " ".join(sample("tegrastats/orin_nano_jp6_nonroot.txt").split())  # the README wrapped one line
    assert parse_tegrastats_rails(line) == {"VDD_IN": 3913.0, "VDD_CPU_GPU_CV": 598.0, "VDD_SOC": 1238.0}


def test_tegrastats_unitless_jetpack4_boards():
    tx1, tx2, nano, agx, nx = (
        parse_tegrastats_rails(line) for line in sample("tegrastats/datadog_jp4_five_boards.txt").splitlines()
    )
    assert tx1 == {"VDD_IN": 2532.0, "VDD_CPU": 76.0, "VDD_GPU": 19.0}  # not "IRAM 0/252kB"
    assert tx2 == {
        "VDD_SYS_GPU": 152.0,
        "VDD_SYS_SOC": 687.0,
        "VDD_4V0_WIFI": 0.0,
        "VDD_IN": 3056.0,
        "VDD_SYS_CPU": 152.0,
        "VDD_SYS_DDR": 883.0,
    }
    assert nano == {"POM_5V_IN": 1022.0, "POM_5V_GPU": 0.0, "POM_5V_CPU": 204.0}
    assert agx == {"GPU": 0.0, "CPU": 311.0, "SOC": 932.0, "CV": 0.0, "VDDRQ": 621.0, "SYS5V": 1482.0}
    assert nx == {"VDD_IN": 4067.0, "VDD_CPU_GPU_CV": 738.0, "VDD_SOC": 1353.0}
    for name in ("tx2_gpu_busy.txt", "tx2_jp33.txt", "tx2_vdd_sys.txt"):
        for line in sample(f"tegrastats/{name}").splitlines():
            assert "VDD_IN" in parse_tegrastats_rails(line)
    assert parse_tegrastats_rails(sample("tegrastats/tx2_jp33.txt"))["VDD_IN"] == 7862.0


def test_tegrastats_nano_falls_back_to_pom_and_agx_sums_the_named_rails():
    nano = sample("tegrastats/datadog_jp4_five_boards.txt").splitlines()[2]
    meter = open_meter("tegrastats", {}, source=Source(lines=[nano, nano]))
    assert meter.rails == ["POM_5V_IN"] and meter.read() == pytest.approx(1.022)
    agx = sample("tegrastats/agx_xavier_jp42.txt").splitlines()[1]
    with pytest.raises(MeterUnavailable, match="list of rails to sum"):
        open_meter("tegrastats", {}, source=Source(lines=[agx]))
    whole = ["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"]
    summed = open_meter("tegrastats", {"rail": whole}, source=Source(lines=[agx, agx]))
    assert summed.read() == pytest.approx((463 + 618 + 2936 + 0 + 309 + 3306) / 1e3)
    with pytest.raises(MeterUnavailable, match="stopped"):
        summed.read()


def test_ina3221_rail_chosen_by_label(tmp_path):
    # The mainline ina3221 hwmon layout of a Jetson. No Jetson sysfs reading is published: the values are
    # the SL1640 board's INA3221 readings (hwmon/sl1640_*.txt) under the Jetson's rail labels.
    d = "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon2"
    tree(
        tmp_path,
        {
            f"{d}/in1_label": "VDD_IN\n",
            f"{d}/in1_input": "800\n",
            f"{d}/curr1_input": "856\n",
            f"{d}/in2_label": "VDD_CPU_GPU_CV\n",
            f"{d}/in2_input": "840\n",
            f"{d}/curr2_input": "32\n",
            f"{d}/in3_label": "VDD_SOC\n",
            f"{d}/in3_input": "1104\n",
            f"{d}/curr3_input": "60\n",
        },
    )
    src = Source(root=str(tmp_path))
    assert open_meter("jetson-ina3221", {}, source=src).read() == pytest.approx(0.6848)  # VDD_IN by default
    assert open_meter("jetson-ina3221", {"rail": "VDD_SOC"}, source=src).read() == pytest.approx(0.06624)
    with pytest.raises(MeterUnavailable, match="VDD_CPU_GPU_CV"):
        open_meter("jetson-ina3221", {"rail": "VDD_GPU"}, source=src)
    with pytest.raises(MeterUnavailable, match="reads one rail"):
        open_meter("jetson-ina3221", {"rail": ["VDD_IN", "VDD_SOC"]}, source=src)


def test_ina3221x_legacy_iio_rails(tmp_path):
    # JetPack 4's ina3221x IIO driver, the files tegrastats itself reads on a Nano: the Nano's line in
    # tegrastats/datadog_jp4_five_boards.txt shows POM_5V_IN 1022 mW and POM_5V_GPU 0 mW.
    d = "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0"
    tree(
        tmp_path,
        {
            f"{d}/rail_name_0": "POM_5V_IN\n",
            f"{d}/in_power0_input": "1022\n",
            f"{d}/rail_name_1": "POM_5V_GPU\n",
            f"{d}/in_power1_input": "0\n",
        },
    )
    assert open_meter("jetson-ina3221", {}, source=Source(root=str(tmp_path))).read() == pytest.approx(1.022)


def test_no_jetson_rails_points_to_tegrastats(tmp_path):
    with pytest.raises(MeterUnavailable, match="tegrastats"):
        open_meter("jetson-ina3221", {}, source=Source(root=str(tmp_path)))


# ---------------------------------------------------------------- Android battery


def uevent(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def pixel3a(root: Path) -> Source:
    """The Pixel 3a's power_supply attributes as its uevent lists them (the same values its files hold)."""
    values = uevent(sample("android/uevent_pixel3a.txt"))
    tree(
        root,
        {
            "sys/class/power_supply/battery/current_now": values["CURRENT_NOW"] + "\n",
            "sys/class/power_supply/battery/voltage_now": values["VOLTAGE_NOW"] + "\n",
            "sys/class/power_supply/battery/status": values["STATUS"] + "\n",
        },
    )
    return Source(root=str(root))


def test_battery_on_usb_with_charging_disabled_is_refused(tmp_path):
    with pytest.raises(MeterUnavailable, match="status=Not charging.*wireless adb"):
        open_meter("android-battery", {}, source=pixel3a(tmp_path))


def test_battery_current_is_microamps_unless_the_target_says_milliamps(tmp_path):
    src = pixel3a(tmp_path)
    ua = open_meter("android-battery", {"allow_charging": True}, source=src)
    assert ua.read() == pytest.approx(976e-6 * 3.815175)  # CURRENT_NOW=976 µA: small, and still µA
    assert ua.describe()["units"]["current_now"] == "uA" and ua.describe()["units"]["voltage_now"] == "uV"
    ma = open_meter("android-battery", {"allow_charging": True, "current_unit": "mA"}, source=src)
    assert ma.read() == pytest.approx(0.976 * 3.815175)
    with pytest.raises(MeterUnavailable, match="current_unit"):
        open_meter("android-battery", {"allow_charging": True, "current_unit": "A"}, source=src)


def test_a_real_current_series_is_plausible_only_in_microamps():
    readings = [int(v) for v in sample("android/current_now_redmi_k40.txt").splitlines() if not v.startswith("#")]
    assert len(readings) == 16 and readings[0] == -2632811
    assert all(abs(r) * 1e-6 < 3.0 for r in readings)  # a phone's battery: at most a few amps
    assert any(abs(r) < 10_000 for r in readings)  # 5371 µA: no magnitude rule could call these mA


def test_voltage_unit_from_its_size():
    assert detect_voltage_unit(3815175) == ("uV", 1e-6)  # Pixel 3a's VOLTAGE_NOW
    assert detect_voltage_unit(3764) == ("mV", 1e-3)  # the size `dumpsys battery` prints


# ---------------------------------------------------------------- Android ODPM rails


def pixel6(root: Path) -> Source:
    """The Pixel 6's two ODPM devices, each file as `cat` printed it (the host's prompt lines dropped)."""
    blocks = re.split(r"^.*\$ adb shell cat .*\n", sample("android/odpm_energy_value_pixel6.txt"), flags=re.M)
    device0, device1 = (b for b in blocks if b)
    tree(
        root,
        {
            "sys/bus/iio/devices/iio:device0/energy_value": device0,
            "sys/bus/iio/devices/iio:device1/energy_value": device1,
            "sys/bus/iio/devices/iio:device2/name": "not an ODPM\n",
        },
    )
    return Source(root=str(root))


def test_odpm_blocks_parse_with_their_timestamps():
    rails = parse_odpm_energy(sample("android/odpm_energy_value_both_devices.txt"))
    assert len(rails) == 16
    assert rails["VSYS_PWR_WLAN_BT"] == {"energy_uws": 192612469095, "channel": 0, "t_ms": 251741617}
    assert rails["VSYS_PWR_RFFE"] == {"energy_uws": 0, "channel": 2, "t_ms": 16086645}  # a rail can read 0
    assert rails["S2M_VDD_CPUCL2"]["energy_uws"] == 124265856 and "PPVAR_VSYS_PWR_DISP" in rails


def test_rails_meter_sums_the_chosen_counters_across_both_devices(tmp_path):
    src = pixel6(tmp_path)
    cpu = open_meter("android-rails", {"rails": ["S2M_VDD_CPUCL2", "S3M_VDD_CPUCL1", "S4M_VDD_CPUCL0"]}, source=src)
    assert cpu.kind == "energy"
    assert cpu.read() == pytest.approx((30203502 + 23377533 + 46356942) / 1e6)
    assert cpu.describe()["source"] == ["/sys/bus/iio/devices/iio:device0/energy_value"]
    everything = open_meter("android-rails", {}, source=src)
    assert len(everything.rails) == 16 and len(everything.describe()["source"]) == 2
    assert everything.read() == pytest.approx(
        sum(r["energy_uws"] for r in parse_odpm_energy(sample("android/odpm_energy_value_pixel6.txt")).values()) / 1e6
    )
    with pytest.raises(MeterUnavailable, match="S99_NOPE"):
        open_meter("android-rails", {"rails": ["S99_NOPE"]}, source=src)


def test_rails_meter_without_an_odpm_says_what_to_use(tmp_path):
    with pytest.raises(MeterUnavailable, match="android-battery"):
        open_meter("android-rails", {}, source=Source(root=str(tmp_path)))


# ---------------------------------------------------------------- dumpsys battery


@pytest.mark.parametrize(
    "name, level, temperature, voltage, status, powered_by",
    [
        ("dumpsys_battery_pixel_c.txt", 19.0, 27.5, 3.764, "charging", ["ac"]),
        ("dumpsys_battery_2016.txt", 89.0, 0.0, 0.0, "charging", ["ac"]),
        ("dumpsys_battery_aosp_2024.txt", 80.0, 18.0, 4.2, "not charging", ["ac"]),
        ("dumpsys_battery_pixelflasher.txt", 82.0, 37.9, 4.182, "not charging", []),
        ("dumpsys_battery_xiaomi_hyperos.txt", 80.0, 36.4, 4.228, "charging", ["ac"]),
        ("dumpsys_battery_samsung.txt", 100.0, 30.9, 4.312, "full", ["usb"]),
    ],
)
def test_dumpsys_battery_of_every_vendor(name, level, temperature, voltage, status, powered_by):
    battery = parse_dumpsys_battery(sample(f"android/{name}"))
    assert battery["level_percent"] == level  # never "Capacity level: 3"
    assert battery["temperature_c"] == pytest.approx(temperature)
    assert battery["voltage_v"] == pytest.approx(voltage)  # Xiaomi: 4228, not its "last voltage value sent" 4232
    assert battery["status"] == status and battery["powered_by"] == powered_by


def test_dumpsys_battery_keeps_only_the_blocks_own_keys():
    samsung = parse_dumpsys_battery(sample("android/dumpsys_battery_samsung.txt"))["keys"]
    assert samsung["current now"] == "0" and "USE_FAKE_BATTERY" not in samsung and "mSavedBatteryAsoc" not in samsung
    xiaomi = parse_dumpsys_battery(sample("android/dumpsys_battery_xiaomi_hyperos.txt"))["keys"]
    assert xiaomi["Charge counter"] == "4274" and not any(k.startswith("Time when") for k in xiaomi)
    assert "mSetBatteryUsageTimeCount=56" not in str(xiaomi)
    assert parse_dumpsys_battery("Can't find service: battery\n") is None
