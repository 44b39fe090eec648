"""Arm CPU names from the implementer and part codes in /proc/cpuinfo (MIDR_EL1 fields).

Arm kernels print no CPU name, only codes per processor:

    processor       : 0
    CPU implementer : 0x41
    CPU part        : 0xd0b

The names below are those of util-linux's lscpu (sys-utils/lscpu-arm.c, gathered from the Arm
manuals and the kernel's arch/arm64/include/asm/cputype.h), for the common implementers. A code not
in the table is named by its number rather than guessed.
"""

from __future__ import annotations

IMPLEMENTERS: dict[int, tuple[str, dict[int, str]]] = {
    0x41: (
        "ARM",
        {
            0xB76: "ARM1176",
            0xC05: "Cortex-A5",
            0xC07: "Cortex-A7",
            0xC08: "Cortex-A8",
            0xC09: "Cortex-A9",
            0xC0D: "Cortex-A17",
            0xC0E: "Cortex-A17",
            0xC0F: "Cortex-A15",
            0xD01: "Cortex-A32",
            0xD02: "Cortex-A34",
            0xD03: "Cortex-A53",
            0xD04: "Cortex-A35",
            0xD05: "Cortex-A55",
            0xD06: "Cortex-A65",
            0xD07: "Cortex-A57",
            0xD08: "Cortex-A72",
            0xD09: "Cortex-A73",
            0xD0A: "Cortex-A75",
            0xD0B: "Cortex-A76",
            0xD0C: "Neoverse-N1",
            0xD0D: "Cortex-A77",
            0xD0E: "Cortex-A76AE",
            0xD40: "Neoverse-V1",
            0xD41: "Cortex-A78",
            0xD42: "Cortex-A78AE",
            0xD43: "Cortex-A65AE",
            0xD44: "Cortex-X1",
            0xD46: "Cortex-A510",
            0xD47: "Cortex-A710",
            0xD48: "Cortex-X2",
            0xD49: "Neoverse-N2",
            0xD4A: "Neoverse-E1",
            0xD4B: "Cortex-A78C",
            0xD4C: "Cortex-X1C",
            0xD4D: "Cortex-A715",
            0xD4E: "Cortex-X3",
            0xD4F: "Neoverse-V2",
            0xD80: "Cortex-A520",
            0xD81: "Cortex-A720",
            0xD82: "Cortex-X4",
            0xD84: "Neoverse-V3",
            0xD85: "Cortex-X925",
            0xD87: "Cortex-A725",
            0xD8E: "Neoverse-N3",
        },
    ),
    0x42: ("Broadcom", {0x00F: "Brahma-B15", 0x100: "Brahma-B53", 0x516: "ThunderX2"}),
    0x43: ("Cavium", {0x0A1: "ThunderX-88XX", 0x0AF: "ThunderX2-99xx", 0x0B8: "ThunderX3-T110"}),
    0x46: ("Fujitsu", {0x001: "A64FX"}),
    0x48: ("HiSilicon", {0xD01: "Kunpeng-920", 0xD40: "Cortex-A76"}),
    0x4E: ("NVIDIA", {0x000: "Denver", 0x003: "Denver 2", 0x004: "Carmel"}),
    0x50: ("APM", {0x000: "X-Gene"}),
    0x51: (
        "Qualcomm",
        {
            0x001: "Oryon",
            0x00F: "Scorpion",
            0x02D: "Scorpion",
            0x04D: "Krait",
            0x06F: "Krait",
            0x201: "Kryo",
            0x205: "Kryo",
            0x211: "Kryo",
            0x800: "Falkor-V1/Kryo",
            0x801: "Kryo-V2",
            0x802: "Kryo-3XX-Gold",
            0x803: "Kryo-3XX-Silver",
            0x804: "Kryo-4XX-Gold",
            0x805: "Kryo-4XX-Silver",
            0xC00: "Falkor",
            0xC01: "Saphira",
        },
    ),
    0x53: ("Samsung", {0x001: "exynos-m1", 0x002: "exynos-m3", 0x003: "exynos-m4", 0x004: "exynos-m5"}),
    0x61: (
        "Apple",
        {
            0x020: "Icestorm-A14",
            0x021: "Firestorm-A14",
            0x022: "Icestorm-M1",
            0x023: "Firestorm-M1",
            0x024: "Icestorm-M1-Pro",
            0x025: "Firestorm-M1-Pro",
            0x028: "Icestorm-M1-Max",
            0x029: "Firestorm-M1-Max",
            0x030: "Blizzard-A15",
            0x031: "Avalanche-A15",
            0x032: "Blizzard-M2",
            0x033: "Avalanche-M2",
            0x034: "Blizzard-M2-Pro",
            0x035: "Avalanche-M2-Pro",
            0x038: "Blizzard-M2-Max",
            0x039: "Avalanche-M2-Max",
        },
    ),
    0x6D: ("Microsoft", {0xD49: "Azure-Cobalt-100"}),
    0x70: ("Phytium", {0x660: "FTC660", 0x661: "FTC661", 0x662: "FTC662", 0x663: "FTC663", 0x664: "FTC664"}),
    0xC0: ("Ampere", {0xAC3: "Ampere-1", 0xAC4: "Ampere-1a"}),
}


def core_name(implementer: int, part: int) -> str:
    """ "Cortex-A76" for Arm's own cores, "<vendor> <core>" for others, the codes where the table has none."""
    vendor, parts = IMPLEMENTERS.get(implementer, (None, {}))
    if vendor is None:
        return f"implementer 0x{implementer:02x} part 0x{part:03x}"
    name = parts.get(part, f"part 0x{part:03x}")
    return name if vendor == "ARM" and part in parts else f"{vendor} {name}"


def processors(cpuinfo: str) -> list[dict[str, str]]:
    """The per-processor blocks of /proc/cpuinfo ("processor : N" and the lines after it), as dicts."""
    blocks: list[dict[str, str]] = []
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep:
            continue
        if key == "processor" and value.strip().isdigit():
            blocks.append({"processor": value.strip()})
        elif blocks:
            blocks[-1].setdefault(key, value.strip())
    return blocks


def cpu_parts(cpuinfo: str) -> list[dict]:
    """The core types of an Arm CPU in the order they first appear: name, codes and the CPUs of each.
    Empty where cpuinfo has no implementer/part codes (x86, RISC-V)."""
    groups: dict[tuple[int, int], dict] = {}
    for block in processors(cpuinfo):
        try:
            implementer, part = int(block["CPU implementer"], 16), int(block["CPU part"], 16)
        except (KeyError, ValueError):
            continue
        group = groups.setdefault(
            (implementer, part),
            {
                "name": core_name(implementer, part),
                "implementer": f"0x{implementer:02x}",
                "part": f"0x{part:03x}",
                "cpus": [],
            },
        )
        group["cpus"].append(int(block["processor"]))
    return list(groups.values())


def describe(parts: list[dict]) -> str | None:
    """ "Cortex-A76" for one core type; "4x Cortex-A55 + 3x Cortex-A78 + 1x Cortex-X1" for several."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]["name"]
    return " + ".join(f"{len(p['cpus'])}x {p['name']}" for p in parts)
