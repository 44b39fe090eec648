"""The regression gate on synthetic runs with known truth: rounds whose medians wander between processes
(and samples that are autocorrelated or bimodal within a process), with and without a real slowdown;
the baseline history; and the command's exit codes."""

import math
import random

import pytest

from edge_bench.cli import main
from edge_bench.measure.gate import compare, load_baseline, ratio_interval, trustworthy
from edge_bench.measure.precision import StopRule, summarize
from edge_bench.results import ArtifactRef, ResultStore, Round
from tests.records import make_record

RULE = StopRule(target=0.02, confidence=0.95, rounds_min=3, rounds_max=10, retakes=3, max_seconds=600)


def ar1(rng, center, n, rho=0.8, spread=0.05):
    """Samples around `center` whose noise carries over from one inference to the next (rho)."""
    out, e = [], 0.0
    for _ in range(n):
        e = rho * e + rng.gauss(0, spread * math.sqrt(1 - rho**2))
        out.append(center * math.exp(e))
    return out


def bimodal(rng, center, n):
    """A process that half the time loses a core: 2x slower inferences mixed in."""
    return [center * (2.0 if rng.random() < 0.3 else 1.0) * math.exp(rng.gauss(0, 0.03)) for _ in range(n)]


def run(
    seed,
    center=10.0,
    rounds=5,
    between=0.02,
    shape=ar1,
    variant="v",
    sha="a" * 64,
    runtime_version="2.3.0",
    drift=0.0,
):
    """A record of `rounds` processes, each landing `between` (log sd) away from the run's own center:
    `center`, moved by `drift` (log sd) for the whole run, as the machine's state moves between runs."""
    rng = random.Random(seed)
    center *= math.exp(rng.gauss(0, drift))
    made = []
    for i in range(rounds):
        level = center * math.exp(rng.gauss(0, between))
        samples = shape(rng, level, 40)
        made.append(Round(i, samples, sorted(samples)[20]))
    record = make_record(
        recipe="r",
        variant={"name": variant, "arch": "a", "resolution": 1, "width": 1.0},
        runtime="litert",
        target="pi",
        status="ok",
        env={"threads": 4, "runtime": {"version": runtime_version}},
    )
    record.artifact = ArtifactRef(sha, 1)
    record.latency = summarize(made, RULE)
    return record


def test_the_interval_of_a_ratio_covers_the_truth():
    # 200 pairs of runs with a 10 % slowdown: the 95 % interval holds 1.10 about 95 % of the time.
    hits = sum(
        lo <= 1.10 <= hi
        for lo, hi in (
            ratio_interval(run(2 * k).latency.round_medians, run(2 * k + 1, center=11.0).latency.round_medians, 0.95)[
                1:
            ]
            for k in range(200)
        )
    )
    assert 180 <= hits <= 200


@pytest.mark.parametrize("shape", [ar1, bimodal])
def test_back_to_back_runs_of_the_same_artifact_rarely_cry_wolf(shape):
    flagged = sum(
        c.regressed for k in range(100) for c in compare([run(2 * k, shape=shape)], [run(2 * k + 1, shape=shape)])
    )
    assert flagged <= 5


@pytest.mark.parametrize("shape, power", [(ar1, 95), (bimodal, 90)])  # a bimodal process's median wanders more
def test_a_ten_percent_slowdown_is_caught(shape, power):
    caught = sum(
        c.regressed
        for k in range(100)
        for c in compare([run(2 * k, shape=shape)], [run(2 * k + 1, center=11.0, shape=shape)])
    )
    assert caught >= power


def test_drift_between_runs_cries_wolf_against_one_run_but_not_against_a_history():
    # Whole runs move by 5 % (log sd) while their rounds agree to 2 %: one baseline run cannot know it.
    against_one = sum(
        c.regressed for k in range(100) for c in compare([run(10 * k, drift=0.05)], [run(10 * k + 9, drift=0.05)])
    )
    assert against_one >= 20
    against_history = [
        c
        for k in range(100)
        for c in compare([run(10 * k + j, drift=0.05) for j in range(5)], [run(10 * k + 9, drift=0.05)])
    ]
    assert sum(c.regressed for c in against_history) <= 5
    assert all(c.baseline_runs == 5 and c.between_runs is not None for c in against_history)
    [c] = compare([run(1000 + j, drift=0.05) for j in range(20)], [run(999, drift=0.05)])
    assert 0.025 <= c.between_runs <= 0.08  # the drift, estimated from the history


def test_a_slowdown_beyond_the_drift_is_caught_against_a_history():
    history = lambda k: [run(10 * k + j, drift=0.03) for j in range(5)]  # noqa: E731
    caught = sum(
        c.regressed for k in range(100) for c in compare(history(k), [run(10 * k + 9, center=12.5, drift=0.03)])
    )
    assert caught >= 95


def test_a_single_round_cannot_be_judged_and_is_not_flagged():
    [c] = compare([run(0, rounds=1)], [run(1, rounds=1, center=20.0)])
    assert not c.regressed and "too few rounds" in c.note


def test_faster_is_never_a_regression():
    [c] = compare([run(0)], [run(1, center=8.0)])
    assert not c.regressed and c.ratio < 0.9


def test_different_artifacts_are_not_compared_unless_asked():
    assert compare([run(0)], [run(1, sha="b" * 64)]) == []
    [c] = compare([run(0)], [run(1, sha="b" * 64)], allow_different_artifacts=True)
    assert c.different_artifacts


def test_history_pools_the_rounds_of_the_last_runs(tmp_path):
    history = tmp_path / "history"
    for k in range(4):
        out = tmp_path / f"run{k}"
        steady = run(k, between=0.005, shape=lambda rng, c, n: ar1(rng, c, n, spread=0.01))
        assert steady.latency.precision.reached  # measured to its target precision: may become a baseline
        ResultStore(out).append(steady)
        assert main(["baseline", "accept", str(out), "--history", str(history)]) == 0
    records, runs = load_baseline(history, last=3)
    assert runs == 3 and len(records) == 3
    [c] = compare(records, [run(99)])
    assert c.baseline_runs == 3 and c.baseline_rounds == 15


def test_throttled_imprecise_and_failed_records_never_become_baselines(tmp_path):
    throttled = run(0)
    throttled.throttle_changed = True
    assert "throttle" in trustworthy(throttled)
    imprecise = run(1, between=0.3)
    assert not imprecise.latency.precision.reached and "precision" in trustworthy(imprecise)
    out = tmp_path / "bad"
    ResultStore(out).append(throttled)
    assert main(["baseline", "accept", str(out), "--history", str(tmp_path / "h")]) == 2


def test_compare_command_exit_codes_and_failures_reported_apart(tmp_path, capsys):
    ResultStore(tmp_path / "base").append(run(0))
    ResultStore(tmp_path / "same").append(run(2))
    ResultStore(tmp_path / "slow").append(run(3, center=12.0))
    failed = make_record(
        recipe="r",
        variant={"name": "w", "arch": "a", "resolution": 1, "width": 1.0},
        runtime="litert",
        target="pi",
        status="failed",
        error="agent crashed",
    )
    ResultStore(tmp_path / "slow").append(failed)
    ResultStore(tmp_path / "other").append(run(4, variant="w"))
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "same")]) == 0
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "slow")]) == 1
    out = capsys.readouterr().out
    assert "SLOWER" in out and "w litert on pi: failed (agent crashed)" in out
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "other")]) == 2


@pytest.mark.parametrize(
    "flag",
    [
        ["--min-change", "-0.1"],
        ["--min-change", "nan"],
        ["--confidence", "1.5"],
        ["--confidence", "inf"],
        ["--last", "0"],
    ],
)
def test_bad_gate_flags_are_refused(tmp_path, flag, capsys):
    ResultStore(tmp_path / "base").append(run(0))
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "base"), *flag]) == 2
    assert flag[0] in capsys.readouterr().err
