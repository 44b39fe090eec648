"""`doctor`: its rules on sample texts, and the whole check over the loopback sshd and the fake adb."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from edge_bench.config import SshConfig
from edge_bench.device import checks
from edge_bench.device.checks import Check
from edge_bench.doctor import format_checks, run_doctor

# ---------------------------------------------------------------- the rules


def test_governors():
    assert checks.judge_governors({"cpu0": "performance", "cpu1": "performance"}).ok
    mixed = checks.judge_governors({"cpu0": "performance", "cpu1": "schedutil", "cpu2": "schedutil"})
    assert not mixed.ok
    assert mixed.detail.startswith("performance x1, schedutil x2")
    assert mixed.fix == "echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
    assert checks.judge_governors({}).ok  # nothing to set in a VM


def test_ram_from_meminfo():
    meminfo = "MemTotal:        8000000 kB\nMemFree:          100000 kB\nMemAvailable:    {} kB\n"
    assert checks.judge_ram(meminfo.format(4_000_000)).detail == "3906 MiB available"
    low = checks.judge_ram(meminfo.format(100_000))
    assert not low.ok and "close other programs" in low.fix
    assert not checks.judge_ram("MemTotal: 1 kB\n").ok


def test_python_disk_and_clocksource():
    assert checks.judge_python((3, 11, 2), "/usr/bin/python3").ok
    old = checks.judge_python((3, 9, 2), "/usr/bin/python3")
    assert not old.ok and "Python >= 3.10" in old.fix
    assert checks.judge_disk(2 * 2**30, "/tmp/w").detail == "2.0 GiB free in /tmp/w"
    assert not checks.judge_disk(100 * 2**20, "/tmp/w").ok
    assert not checks.judge_disk(None, "/tmp/w").ok
    assert checks.judge_clocksource("arch_sys_counter\n").ok
    coarse = checks.judge_clocksource("jiffies\n")
    assert not coarse.ok and "available_clocksource" in coarse.fix
    assert checks.judge_clocksource(None).ok


def test_format_checks():
    text = format_checks(
        [
            Check("python", True, "3.11.7 (/usr/bin/python3)"),
            Check("litert", False, "LiteRT is not installed on the device", "pip install ai-edge-litert==2.3.0"),
        ]
    )
    assert text.splitlines() == [
        "ok    python  3.11.7 (/usr/bin/python3)",
        "FAIL  litert  LiteRT is not installed on the device",
        "              fix: pip install ai-edge-litert==2.3.0",
        "1 ok, 1 to fix",
    ]


# ---------------------------------------------------------------- over ssh


def _by_name(found: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in found}


@pytest.mark.ssh
def test_doctor_over_ssh(sshd_target):
    found = run_doctor(sshd_target, runtimes=["litert"])
    names = [c.name for c in found]
    assert names == [
        "connection",
        "agent bundle",
        "python",
        "numpy",
        "litert",
        "governor",
        "meter",
        "disk",
        "ram",
        "clocksource",
    ]
    got = _by_name(found)
    for name in ("connection", "python", "numpy", "litert", "meter"):
        assert got[name].ok, got[name]
    assert got["litert"].detail == "ai-edge-litert 2.3.0"
    assert got["disk"].detail.endswith(f"free in {got['connection'].detail.split('work dir ')[1]}")


@pytest.mark.ssh
def test_doctor_names_the_pip_fix_for_missing_runtimes(sshd_target, python_without_runtimes):
    target = dataclasses.replace(sshd_target, python=python_without_runtimes)
    got = _by_name(run_doctor(target))
    assert got["numpy"].ok
    assert (got["litert"].ok, got["litert"].fix) == (False, "pip install ai-edge-litert==2.3.0")
    assert (got["executorch"].ok, got["executorch"].fix) == (False, "pip install executorch==1.5.1 torch==2.14.1")
    assert "ai-edge-litert==2.3.0" in format_checks(list(got.values()))


@pytest.mark.ssh
def test_doctor_without_python_on_the_device(sshd_target):
    target = dataclasses.replace(sshd_target, python="python3.99")
    found = run_doctor(target, runtimes=["litert"])
    assert [c.name for c in found] == ["connection", "python"]
    assert not found[1].ok
    assert "'python3.99' does not run on the device" in found[1].detail
    assert "set `python` in" in found[1].fix


@pytest.mark.ssh
def test_unreachable_target_is_one_check_with_the_fix(sshd_server, sshd_target):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    config = SshConfig(
        host="127.0.0.1",
        user="pi",
        port=closed_port,
        connect_timeout_secs=3,
        options=(f"UserKnownHostsFile={sshd_server.known_hosts}",),
    )
    found = run_doctor(dataclasses.replace(sshd_target, ssh=config))
    assert len(found) == 1 and found[0].name == "connection" and not found[0].ok
    assert "Connection refused" in found[0].detail
    assert "ssh-copy-id pi@127.0.0.1" in found[0].fix and "~/.ssh/config" in found[0].fix


# ---------------------------------------------------------------- over adb, a phone without Python


def test_doctor_over_adb_without_python(tmp_path, monkeypatch):
    from tests.test_transport_adb import FakePhone

    phone = FakePhone(tmp_path, monkeypatch)
    battery = phone.root / "sys/class/power_supply/battery"
    battery.mkdir(parents=True)
    (battery / "status").write_text("Discharging\n")
    (battery / "current_now").write_text("-512000\n")  # µA, negative while discharging on this vendor
    (battery / "voltage_now").write_text("3900000\n")  # µV
    target = phone.target(energy='[energy]\nmeter = "android-battery"\n')
    got = _by_name(run_doctor(target))
    assert list(got) == [
        "connection",
        "python",
        "executorch",
        "litert",
        "governor",
        "meter",
        "disk",
        "ram",
        "clocksource",
    ]
    assert got["python"].ok and "native tools" in got["python"].detail
    assert got["litert"].ok
    assert not got["executorch"].ok and "[adb] executor_runner" in got["executorch"].fix
    assert not got["governor"].ok and got["governor"].detail.startswith("schedutil x8")
    assert "adb root" in got["governor"].fix
    assert got["meter"].ok and got["meter"].detail == "android-battery: reads 1.997 W"
    assert got["clocksource"].detail == "arch_sys_counter"
    assert got["disk"].ok and got["ram"].ok


def test_doctor_over_adb_unplugged(tmp_path, monkeypatch):
    from tests.test_transport_adb import FakePhone

    phone = FakePhone(tmp_path, monkeypatch)
    phone.unplug()
    found = run_doctor(phone.target())
    assert len(found) == 1 and not found[0].ok
    assert "not found" in found[0].detail and "adb devices" in found[0].fix
