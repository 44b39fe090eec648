"""The stopping rule on synthetic rounds with known spread: it stops once the interval is within the
target, never before the minimum, flags what runs out of rounds or time, and its interval holds the
truth as often as it says."""

import math
import random

import pytest

from edge_bench.device.timing import median_half_width, run_for
from edge_bench.measure.precision import StopRule, round_interval, summarize, wants_another_round
from edge_bench.results import Round

RULE = StopRule(target=0.02, confidence=0.95, rounds_min=3, rounds_max=10, retakes=2, max_seconds=100)


def rounds_of(medians, seconds=1.0):
    return [Round(i, [m] * 5, m, seconds=seconds) for i, m in enumerate(medians)]


def measure(rng, truth, between, rule=RULE):
    """Take rounds as the runner does until the rule says stop; the rounds taken."""
    rounds: list[Round] = []
    while not rounds or wants_another_round(rounds, rule):
        level = truth * math.exp(rng.gauss(0, between))
        rounds.append(Round(len(rounds), [level] * 10, level, seconds=1.0))
    return rounds


def test_tight_rounds_stop_at_the_minimum():
    rounds = measure(random.Random(0), 10.0, between=0.001)
    assert len(rounds) == RULE.rounds_min
    latency = summarize(rounds, RULE)
    assert latency.precision.reached and latency.precision.half_width < 0.02
    assert latency.median == pytest.approx(10.0, rel=0.01)


def test_noisier_rounds_take_more_rounds_before_stopping():
    counts = [len(measure(random.Random(seed), 10.0, between=0.015)) for seed in range(30)]
    assert min(counts) >= RULE.rounds_min and statistics_mean(counts) > RULE.rounds_min


def statistics_mean(values):
    return sum(values) / len(values)


def test_what_cannot_be_known_is_flagged_at_the_last_round():
    rounds = measure(random.Random(1), 10.0, between=0.3)  # a machine where a process lands anywhere
    assert len(rounds) == RULE.rounds_max
    latency = summarize(rounds, RULE)
    assert not latency.precision.reached and "after 10 rounds" in latency.precision.note


def test_device_time_runs_out_before_the_rounds_do():
    rule = StopRule(target=0.001, confidence=0.95, rounds_min=3, rounds_max=10, retakes=0, max_seconds=4.5)
    rounds = []
    while not rounds or wants_another_round(rounds, rule):
        rounds.append(Round(len(rounds), [10.0 + len(rounds)] * 3, 10.0 + len(rounds), seconds=1.5))
    assert len(rounds) == 3  # 4.5 s spent
    assert summarize(rounds, rule).precision.device_seconds == 4.5


def test_left_out_rounds_are_retaken_and_do_not_count():
    rounds = rounds_of([10.0, 10.01, 9.99])
    rounds[1].kept = False
    assert wants_another_round(rounds, RULE)  # two kept, three needed
    latency = summarize(rounds, RULE)
    assert latency.precision.rounds == 2 and latency.precision.rounds_left_out == 1
    assert latency.n == 10  # the left-out round's samples are not in the statistics


@pytest.mark.parametrize("between", [0.01, 0.05])
def test_the_interval_holds_the_truth_about_as_often_as_it_says(between):
    rng = random.Random(7)
    hits = 0
    for _ in range(400):
        medians = [10.0 * math.exp(rng.gauss(0, between)) for _ in range(5)]
        interval = round_interval(medians, 0.95)
        hits += interval.low <= 10.0 <= interval.high
    assert 360 <= hits <= 396  # 95 % of 400 = 380, give or take the binomial spread


def test_one_round_has_no_interval():
    interval = round_interval([5.0])
    assert interval.center == pytest.approx(5.0) and interval.half_width is None


def test_a_round_times_on_until_its_own_median_is_known():
    import time

    durations = iter([0.001, 0.004] * 5 + [0.002] * 1000)  # seconds: scattered at first, then steady

    def infer():
        time.sleep(next(durations))

    samples = run_for(infer, min_runs=4, min_secs=0.0, max_secs=30.0, precision=0.05)
    assert len(samples) > 10 and median_half_width(samples) <= 0.05
    fixed = run_for(lambda: time.sleep(0.001), min_runs=4, min_secs=0.0, max_secs=30.0)
    assert len(fixed) == 4  # without a precision: the minimums
    assert median_half_width([1.0, 2.0]) == math.inf  # too few samples for an interval
