"""The CPU and board names the agent records, from /proc/cpuinfo and the device tree.

The cpuinfo texts are written in the kernel's format (arch/arm64/kernel/cpuinfo.c: one block per
processor, "CPU implementer : 0x41", "CPU part : 0xd0b"); the codes are those of the named cores."""

from __future__ import annotations

from edge_bench.device import sysinfo
from edge_bench.device.cpu_parts import core_name, cpu_parts, describe


def arm64_cpuinfo(cores: list[tuple[int, int]], tail: str = "") -> str:
    blocks = [
        f"processor\t: {n}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
        f"CPU implementer\t: 0x{impl:02x}\nCPU architecture: 8\nCPU variant\t: 0x4\n"
        f"CPU part\t: 0x{part:03x}\nCPU revision\t: 1\n"
        for n, (impl, part) in enumerate(cores)
    ]
    return "\n".join(blocks) + ("\n" + tail if tail else "")


PI5 = arm64_cpuinfo(
    [(0x41, 0xD0B)] * 4, "Revision\t: d04170\nSerial\t\t: 0123456789abcdef\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n"
)


def test_a_pi5_is_four_cortex_a76_on_a_named_board():
    assert sysinfo.cpu_model(PI5) == "Cortex-A76"
    assert sysinfo.board_model(PI5) == "Raspberry Pi 5 Model B Rev 1.0"
    assert cpu_parts(PI5) == [{"name": "Cortex-A76", "implementer": "0x41", "part": "0xd0b", "cpus": [0, 1, 2, 3]}]


def test_codes_only_still_name_the_cpu():
    assert sysinfo.cpu_model(arm64_cpuinfo([(0x41, 0xD08)] * 4)) == "Cortex-A72"  # a Pi 4
    assert sysinfo.cpu_model(arm64_cpuinfo([(0x41, 0xD42)] * 6)) == "Cortex-A78AE"  # a Jetson Orin
    assert sysinfo.cpu_model(arm64_cpuinfo([(0x4E, 0x004)] * 8)) == "NVIDIA Carmel"  # a Jetson Xavier


def test_big_little_lists_each_core_type_in_order():
    tensor_g2 = arm64_cpuinfo([(0x41, 0xD05)] * 4 + [(0x41, 0xD41)] * 2 + [(0x41, 0xD44)] * 2)
    assert sysinfo.cpu_model(tensor_g2) == "4x Cortex-A55 + 2x Cortex-A78 + 2x Cortex-X1"
    assert [p["cpus"] for p in cpu_parts(tensor_g2)] == [[0, 1, 2, 3], [4, 5], [6, 7]]
    kryo = arm64_cpuinfo([(0x51, 0x805)] * 4 + [(0x51, 0x804)] * 4)
    assert describe(cpu_parts(kryo)) == "4x Qualcomm Kryo-4XX-Silver + 4x Qualcomm Kryo-4XX-Gold"


def test_unknown_codes_are_named_by_number_not_guessed():
    assert core_name(0x41, 0xFFF) == "ARM part 0xfff"
    assert core_name(0x99, 0x001) == "implementer 0x99 part 0x001"
    assert core_name(0x61, 0x023) == "Apple Firestorm-M1"


def test_32_bit_kernels_and_x86():
    # A 32-bit Arm kernel prints a generic 'model name' before the codes: the codes name the core.
    armv7 = arm64_cpuinfo([(0x41, 0xD08)] * 4).replace(
        "BogoMIPS", "model name\t: ARMv7 Processor rev 3 (v7l)\nBogoMIPS"
    )
    assert sysinfo.cpu_model(armv7) == "Cortex-A72"
    x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
    assert sysinfo.cpu_model(x86) == "AMD EPYC 7B13" and cpu_parts(x86) == []
    assert sysinfo.board_model(x86, root="/nonexistent") is None


def test_board_from_the_device_tree(tmp_path):
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_bytes(b"NVIDIA Jetson Orin Nano Developer Kit\0")
    assert (
        sysinfo.board_model(arm64_cpuinfo([(0x41, 0xD42)] * 6), root=str(tmp_path))
        == "NVIDIA Jetson Orin Nano Developer Kit"
    )


def test_collect_on_this_machine():
    env = sysinfo.collect()
    assert env["cpu_model"] and {"cpu_parts", "board", "cores_online"} <= set(env)
