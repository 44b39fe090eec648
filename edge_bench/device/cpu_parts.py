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
    0x41: ("ARM", {
        0xb76: "ARM1176", 0xc05: "Cortex-A5", 0xc07: "Cortex-A7", 0xc08: "Cortex-A8", 0xc09: "Cortex-A9",
        0xc0d: "Cortex-A17", 0xc0e: "Cortex-A17", 0xc0f: "Cortex-A15", 0xd01: "Cortex-A32", 0xd02: "Cortex-A34",
        0xd03: "Cortex-A53", 0xd04: "Cortex-A35", 0xd05: "Cortex-A55", 0xd06: "Cortex-A65", 0xd07: "Cortex-A57",
        0xd08: "Cortex-A72", 0xd09: "Cortex-A73", 0xd0a: "Cortex-A75", 0xd0b: "Cortex-A76", 0xd0c: "Neoverse-N1",
        0xd0d: "Cortex-A77", 0xd0e: "Cortex-A76AE", 0xd40: "Neoverse-V1", 0xd41: "Cortex-A78", 0xd42: "Cortex-A78AE",
        0xd43: "Cortex-A65AE", 0xd44: "Cortex-X1", 0xd46: "Cortex-A510", 0xd47: "Cortex-A710", 0xd48: "Cortex-X2",
        0xd49: "Neoverse-N2", 0xd4a: "Neoverse-E1", 0xd4b: "Cortex-A78C", 0xd4c: "Cortex-X1C", 0xd4d: "Cortex-A715",
        0xd4e: "Cortex-X3", 0xd4f: "Neoverse-V2", 0xd80: "Cortex-A520", 0xd81: "Cortex-A720", 0xd82: "Cortex-X4",
        0xd84: "Neoverse-V3", 0xd85: "Cortex-X925", 0xd87: "Cortex-A725", 0xd8e: "Neoverse-N3",
    }),
    0x42: ("Broadcom", {0x00f: "Brahma-B15", 0x100: "Brahma-B53", 0x516: "ThunderX2"}),
    0x43: ("Cavium", {0x0a1: "ThunderX-88XX", 0x0af: "ThunderX2-99xx", 0x0b8: "ThunderX3-T110"}),
    0x46: ("Fujitsu", {0x001: "A64FX"}),
    0x48: ("HiSilicon", {0xd01: "Kunpeng-920", 0xd40: "Cortex-A76"}),
    0x4E: ("NVIDIA", {0x000: "Denver", 0x003: "Denver 2", 0x004: "Carmel"}),
    0x50: ("APM", {0x000: "X-Gene"}),
    0x51: ("Qualcomm", {
        0x001: "Oryon", 0x00f: "Scorpion", 0x02d: "Scorpion", 0x04d: "Krait", 0x06f: "Krait", 0x201: "Kryo",
        0x205: "Kryo", 0x211: "Kryo", 0x800: "Falkor-V1/Kryo", 0x801: "Kryo-V2", 0x802: "Kryo-3XX-Gold",
        0x803: "Kryo-3XX-Silver", 0x804: "Kryo-4XX-Gold", 0x805: "Kryo-4XX-Silver", 0xc00: "Falkor", 0xc01: "Saphira",
    }),
    0x53: ("Samsung", {0x001: "exynos-m1", 0x002: "exynos-m3", 0x003: "exynos-m4", 0x004: "exynos-m5"}),
    0x61: ("Apple", {
        0x020: "Icestorm-A14", 0x021: "Firestorm-A14", 0x022: "Icestorm-M1", 0x023: "Firestorm-M1",
        0x024: "Icestorm-M1-Pro", 0x025: "Firestorm-M1-Pro", 0x028: "Icestorm-M1-Max", 0x029: "Firestorm-M1-Max",
        0x030: "Blizzard-A15", 0x031: "Avalanche-A15", 0x032: "Blizzard-M2", 0x033: "Avalanche-M2",
        0x034: "Blizzard-M2-Pro", 0x035: "Avalanche-M2-Pro", 0x038: "Blizzard-M2-Max", 0x039: "Avalanche-M2-Max",
    }),
    0x6D: ("Microsoft", {0xd49: "Azure-Cobalt-100"}),
    0x70: ("Phytium", {0x660: "FTC660", 0x661: "FTC661", 0x662: "FTC662", 0x663: "FTC663", 0x664: "FTC664"}),
    0xC0: ("Ampere", {0xac3: "Ampere-1", 0xac4: "Ampere-1a"}),
}


def core_name(implementer: int, part: int) -> str:
    """"Cortex-A76" for Arm's own cores, "<vendor> <core>" for others, the codes where the table has none."""
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
        group = groups.setdefault((implementer, part), {
            "name": core_name(implementer, part), "implementer": f"0x{implementer:02x}", "part": f"0x{part:03x}",
            "cpus": []})
        group["cpus"].append(int(block["processor"]))
    return list(groups.values())


def describe(parts: list[dict]) -> str | None:
    """"Cortex-A76" for one core type; "4x Cortex-A55 + 3x Cortex-A78 + 1x Cortex-X1" for several."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]["name"]
    return " + ".join(f"{len(p['cpus'])}x {p['name']}" for p in parts)
