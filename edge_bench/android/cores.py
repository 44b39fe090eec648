"""Which cores to pin to on big.LITTLE SoCs (Android phones, some boards).

cpufreq groups the cores that share a clock into policies:
    /sys/devices/system/cpu/cpufreq/policyN/related_cpus       e.g. "4 5 6"
    /sys/devices/system/cpu/cpufreq/policyN/cpuinfo_max_freq   kHz, e.g. "2850000"
The fastest clusters are the big cores; `taskset <mask>` pins a command to them, and the thread
count should not exceed the pinned cores. `big_cores` is a pure function of those file texts, so
texts pulled over adb (`policies_shell_command()` prints them all at once) work as well as local files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from ..device.affinity import parse_cpu_list

CPUFREQ = "/sys/devices/system/cpu/cpufreq"


@dataclass(frozen=True)
class Cluster:
    policy: str
    cpus: tuple[int, ...]
    max_freq_khz: int


@dataclass(frozen=True)
class BigCores:
    cores: tuple[int, ...]
    mask: str  # hex without "0x", as taskset takes it (e.g. "f0")
    clusters: tuple[Cluster, ...]  # every cluster, fastest first

    def as_dict(self) -> dict:
        return {
            "cores": list(self.cores),
            "mask": self.mask,
            "clusters": [
                {"policy": c.policy, "cpus": list(c.cpus), "max_freq_khz": c.max_freq_khz} for c in self.clusters
            ],
        }


def cpu_mask(cpus: tuple[int, ...] | list[int]) -> str:
    return format(sum(1 << c for c in cpus), "x")


def clusters_from_texts(policies: Mapping[str, Mapping[str, str]]) -> list[Cluster]:
    """{"policy4": {"related_cpus": "4 5 6", "cpuinfo_max_freq": "2400000"}, ...} -> clusters, fastest first."""
    clusters = []
    for policy, files in policies.items():
        try:
            cpus = parse_cpu_list(files["related_cpus"])
            freq = int(files["cpuinfo_max_freq"].strip())
        except (KeyError, ValueError):
            continue  # an offline or unreadable policy says nothing about the layout
        if cpus:
            clusters.append(Cluster(policy, cpus, freq))
    return sorted(clusters, key=lambda c: (-c.max_freq_khz, c.cpus))


def big_cores(policies: Mapping[str, Mapping[str, str]], min_cores: int = 1) -> BigCores | None:
    """The fastest cluster(s): all clusters at the top max frequency, then the next fastest ones
    until at least `min_cores` cores are covered (e.g. prime + mid cores for 4 threads on a 1+3+4 phone).
    None when no policy could be read."""
    clusters = clusters_from_texts(policies)
    if not clusters:
        return None
    top = clusters[0].max_freq_khz
    chosen = [c for c in clusters if c.max_freq_khz == top]
    for c in clusters[len(chosen) :]:
        if sum(len(x.cpus) for x in chosen) >= min_cores:
            break
        chosen.append(c)
    cores = tuple(sorted(cpu for c in chosen for cpu in c.cpus))
    return BigCores(cores=cores, mask=cpu_mask(cores), clusters=tuple(clusters))


def policies_shell_command() -> str:
    """A shell command printing every policy file as "path:value" (toybox and GNU grep both take -H)."""
    return f"grep -H . {CPUFREQ}/policy*/related_cpus {CPUFREQ}/policy*/cpuinfo_max_freq"


def parse_policies_dump(text: str) -> dict[str, dict[str, str]]:
    """The output of policies_shell_command() -> the mapping big_cores() takes."""
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        m = re.match(r"^\S*/(policy\d+)/(related_cpus|cpuinfo_max_freq):(.*)$", line.strip())
        if m:
            out.setdefault(m[1], {})[m[2]] = m[3]
    return out
