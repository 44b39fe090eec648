"""The regression check: slower beyond the noise fails, within the noise or negligible passes."""

import random

from edge_bench.cli import main
from edge_bench.gate import compare, median_standard_error
from edge_bench.results import ResultStore, empty_record


def record(samples, variant="v", runtime="litert"):
    ordered = sorted(samples)
    median = ordered[len(ordered) // 2]
    return empty_record(recipe="r", variant={"name": variant, "arch": "a", "resolution": 1, "width": 1.0},
                        runtime=runtime, target="pi", status="ok",
                        latency_ms={"median": median, "std": 0.0, "n": len(samples), "samples": samples})


def noisy(center, spread, n=200, seed=0):
    rng = random.Random(seed)
    return [rng.gauss(center, spread) for _ in range(n)]


def test_standard_error_of_the_median_from_samples():
    se = median_standard_error({"samples": noisy(10.0, 1.0, n=400)})
    assert 0.05 < se < 0.08  # 1.2533 * 1 / sqrt(400) = 0.063


def test_clear_slowdown_is_a_regression():
    [c] = compare([record(noisy(10.0, 0.2))], [record(noisy(11.0, 0.2, seed=1))])
    assert c.regressed and 0.09 < c.change < 0.11


def test_change_within_noise_is_not():
    [c] = compare([record(noisy(10.0, 3.0, n=20))], [record(noisy(10.3, 3.0, n=20, seed=1))])
    assert not c.regressed


def test_tiny_but_significant_change_is_not():
    [c] = compare([record(noisy(10.0, 0.01, n=1000))], [record(noisy(10.05, 0.01, n=1000, seed=1))])
    assert c.change < 0.02 and not c.regressed


def test_faster_is_never_a_regression():
    [c] = compare([record(noisy(10.0, 0.1))], [record(noisy(8.0, 0.1, seed=1))])
    assert not c.regressed


def test_compare_command_exit_codes(tmp_path, capsys):
    ResultStore(tmp_path / "base").append(record(noisy(10.0, 0.2)))
    ResultStore(tmp_path / "same").append(record(noisy(10.0, 0.2, seed=2)))
    ResultStore(tmp_path / "slow").append(record(noisy(12.0, 0.2, seed=3)))
    ResultStore(tmp_path / "other").append(record(noisy(10.0, 0.2), variant="w"))
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "same")]) == 0
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "slow")]) == 1
    assert "SLOWER" in capsys.readouterr().out
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "other")]) == 2
