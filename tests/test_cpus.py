"""Big-core pinning from cpufreq policies."""

from __future__ import annotations

from edge_bench.android.cores import big_cores, cpu_mask, parse_cpu_list, parse_policies_dump, policies_shell_command

# A Pixel 6-like layout: 4 little (1.80 GHz), 2 mid (2.25 GHz), 2 big (2.80 GHz); and a 4+3+1 layout
# (Snapdragon 8-class: 4 little, 3 mid, 1 prime), and a plain 4+4.
PIXEL6 = {
    "policy0": {"related_cpus": "0 1 2 3\n", "cpuinfo_max_freq": "1803000\n"},
    "policy4": {"related_cpus": "4 5\n", "cpuinfo_max_freq": "2253000\n"},
    "policy6": {"related_cpus": "6 7\n", "cpuinfo_max_freq": "2802000\n"},
}
LAYOUT_431 = {
    "policy0": {"related_cpus": "0 1 2 3", "cpuinfo_max_freq": "1804800"},
    "policy4": {"related_cpus": "4 5 6", "cpuinfo_max_freq": "2419200"},
    "policy7": {"related_cpus": "7", "cpuinfo_max_freq": "2841600"},
}
LAYOUT_44 = {
    "policy0": {"related_cpus": "0 1 2 3", "cpuinfo_max_freq": "1800000"},
    "policy4": {"related_cpus": "4 5 6 7", "cpuinfo_max_freq": "2400000"},
}


def test_cpu_lists_and_masks():
    assert parse_cpu_list("4 5 6\n") == (4, 5, 6)
    assert parse_cpu_list("0-3,7") == (0, 1, 2, 3, 7)
    assert cpu_mask((4, 5, 6, 7)) == "f0" and cpu_mask((7,)) == "80" and cpu_mask((0,)) == "1"


def test_431_layout_prime_core_alone_then_prime_plus_mid_for_four_threads():
    one = big_cores(LAYOUT_431)
    assert one.cores == (7,) and one.mask == "80"
    four = big_cores(LAYOUT_431, min_cores=4)
    assert four.cores == (4, 5, 6, 7) and four.mask == "f0"
    assert [c.policy for c in four.clusters] == ["policy7", "policy4", "policy0"]


def test_44_layout_big_cluster():
    result = big_cores(LAYOUT_44)
    assert result.cores == (4, 5, 6, 7) and result.mask == "f0"
    assert big_cores(LAYOUT_44, min_cores=6).cores == tuple(range(8))


def test_pixel6_layout_and_ties():
    assert big_cores(PIXEL6).mask == "c0"
    tied = {
        "policy0": {"related_cpus": "0 1", "cpuinfo_max_freq": "2000000"},
        "policy2": {"related_cpus": "2 3", "cpuinfo_max_freq": "2000000"},
    }
    assert big_cores(tied).cores == (0, 1, 2, 3)  # equally fast clusters are all big


def test_unreadable_policies_are_skipped_and_none_when_nothing_is_known():
    partial = dict(LAYOUT_44, policy8={"related_cpus": "8"})
    assert big_cores(partial).mask == "f0"
    assert big_cores({}) is None


def test_texts_pulled_over_adb_in_one_command():
    assert "grep -H" in policies_shell_command()
    dump = (
        "/sys/devices/system/cpu/cpufreq/policy0/related_cpus:0 1 2 3\n"
        "/sys/devices/system/cpu/cpufreq/policy4/related_cpus:4 5 6\n"
        "/sys/devices/system/cpu/cpufreq/policy7/related_cpus:7\n"
        "/sys/devices/system/cpu/cpufreq/policy0/cpuinfo_max_freq:1804800\n"
        "/sys/devices/system/cpu/cpufreq/policy4/cpuinfo_max_freq:2419200\n"
        "/sys/devices/system/cpu/cpufreq/policy7/cpuinfo_max_freq:2841600\n"
    )
    assert big_cores(parse_policies_dump(dump)).as_dict()["cores"] == [7]
