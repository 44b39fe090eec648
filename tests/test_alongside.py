"""Measuring a baseline's artifacts alongside the run's own: rounds paired in time, the drift of the
machine cancelled in the gate, the runner's twins (same passes, alternating order, their own results
directory) and the command."""

import math
import random

import pytest

from edge_bench.measure.alongside import ALONGSIDE, alongside_jobs
from edge_bench.cli import main
from edge_bench.export.cache import ArtifactCache
from edge_bench.measure.gate import compare, format_comparisons, paired_interval, pairs_needed, side_by_side
from edge_bench.measure.precision import StopRule, summarize
from edge_bench.results import ArtifactRef, Round, read_records
from tests.records import make_record
from tests.test_cli import env  # noqa: F401 - the tiny recipe and fast host target

RULE = StopRule(target=0.02, confidence=0.95, rounds_min=3, rounds_max=10, retakes=3, max_seconds=600)


def record(rounds: list[Round], sha: str, run_id: str = "run-1"):
    made = make_record(
        recipe="r",
        variant={"name": "v", "arch": "a", "resolution": 1, "width": 1.0},
        runtime="litert",
        target="pi",
        status="ok",
        run_id=run_id,
        env={"threads": 4, "runtime": {"version": "2.3.0"}},
    )
    made.artifact = ArtifactRef(sha, 1)
    made.latency = summarize(rounds, RULE)
    return made


def machine_speeds(rng: random.Random, passes: int) -> list[float]:
    """The machine's speed factor per pass, as measured on a shared VM: it wanders (log sd ~5 %) and now and
    then drops into a slow spell (1.4x) that lasts a few passes."""
    speeds, level, slow = [], 0.0, 0
    for _ in range(passes):
        level = 0.7 * level + rng.gauss(0, 0.05)
        if slow == 0 and rng.random() < 0.15:
            slow = rng.randint(1, 4)
        speeds.append(math.exp(level) * (1.4 if slow else 1.0))
        slow = max(0, slow - 1)
    return speeds


def paired_runs(seed: int, slowdown: float = 1.0, passes: int = 10, noise: float = 0.03, spells: float = 0.0):
    """A baseline artifact and the run's own, measured side by side: each pass takes one round of each,
    seconds apart, in alternating order, on the same drifting machine; with `spells`, a round on its own
    lands in a 1.5x slow spell that often (bimodal rounds, as measured on the loaded VM)."""
    rng = random.Random(seed)
    base, own = [], []
    for p, speed in enumerate(machine_speeds(rng, passes)):
        first, second = (base, own) if p % 2 == 0 else (own, base)
        for offset, rounds in ((0.0, first), (1.0, second)):
            level = 10.0 * speed * (slowdown if rounds is own else 1.0) * math.exp(rng.gauss(0, noise))
            level *= 1.5 if rng.random() < spells else 1.0
            rounds.append(Round(p, [level], level, started=1000.0 + 10 * p + offset))
    return record(base, "a" * 64), record(own, "b" * 64)


def test_rounds_pair_with_their_neighbour_of_the_other_side():
    base, own = paired_runs(0, passes=4)
    pairs = side_by_side(base, own)
    assert len(pairs) == 4
    assert pairs == [(b.median, o.median) for b, o in zip(base.latency.rounds, own.latency.rounds)]
    # A round left out (retaken a pass later) and an extra round of one side: the rest still pair up.
    base.latency.rounds[1].kept = False
    base.latency.rounds.append(Round(9, [10.0], 10.0, started=1000.0 + 10 * 4))
    own.latency.rounds.append(Round(9, [10.0], 10.0, started=1000.0 + 10 * 4 + 1))
    base.latency.rounds.append(Round(10, [10.0], 10.0, started=1000.0 + 10 * 5))
    assert len(side_by_side(base, own)) == 4
    # Rounds of different runs were not taken side by side.
    other, _ = paired_runs(1, passes=4)
    other.run_id = "run-0"
    assert side_by_side(other, own) == []


def test_side_by_side_unchanged_artifacts_rarely_cry_wolf():
    side = [c for k in range(100) for c in compare(*([r] for r in paired_runs(k)))]
    assert all(c.pairs == 10 and c.between_runs is None for c in side)
    assert sum(c.regressed for c in side) <= 5


def test_side_by_side_a_ten_percent_slowdown_is_caught_where_unpaired_rounds_miss_it():
    slowed = [paired_runs(k, 1.10) for k in range(100)]
    assert sum(c.regressed for base, own in slowed for c in compare([base], [own])) >= 95
    # The same rounds judged unpaired: the machine's spells widen the interval past the slowdown.
    for base, _ in slowed:
        base.run_id = "run-0"
    apart = [c for base, own in slowed for c in compare([base], [own], allow_different_artifacts=True)]
    assert all(c.pairs is None for c in apart)
    assert sum(c.regressed for c in apart) <= 60


def test_side_by_side_bimodal_rounds_do_not_cry_wolf_and_the_slowdown_still_shows():
    def judged(slowdown):
        return [c for k in range(100) for c in compare(*([r] for r in paired_runs(k, slowdown, 12, spells=0.1)))]

    assert sum(c.regressed for c in judged(1.0)) <= 5
    assert sum(c.regressed for c in judged(1.10)) >= 75  # a fifth of the pairs has one round in a spell


def test_one_pair_in_a_slow_spell_does_not_hide_a_slowdown():
    pairs = [(10.0, 11.0 * (1 + 0.01 * k)) for k in range(-4, 5)] + [(15.0, 11.0)]  # the last baseline round: 1.5x
    ratio, low, high = paired_interval(pairs, 0.95)
    assert 1.05 < low < ratio < high < 1.15


def test_too_few_pairs_are_not_judged():
    assert pairs_needed(0.95) == 6 and pairs_needed(0.99) == 8
    assert paired_interval([(10.0, 20.0)] * 5, 0.95) is None
    base, own = paired_runs(0, 2.0, passes=5)
    [c] = compare([base], [own])
    assert not c.regressed and c.note == "too few pairs of rounds to judge side by side (5, at least 6)"
    assert "judged side by side" not in format_comparisons([c], 0.95)


def test_side_by_side_comparisons_say_how_they_were_judged():
    base, own = paired_runs(3, 1.10)
    comparisons = compare([base], [own])
    text = format_comparisons(comparisons, 0.95)
    assert "SLOWER" in text and "1 measurement(s) judged side by side (10 or more pairs of rounds" in text
    assert "drift between whole runs is not counted" not in text


def test_a_twin_needs_the_baselines_artifact_in_the_cache(tmp_path):
    from edge_bench.build import BuildOutcome
    from edge_bench.export.cache import Artifact
    from edge_bench.recipes import Variant
    from edge_bench.measure.job import Job

    variant = Variant("r", {"arch": "a", "resolution": 1, "width": 1.0}, ("resolution",))
    artifact = Artifact(tmp_path / "m.tflite", "litert", "c" * 64, 1, "k" * 64, {})
    job = Job(variant, "litert", None, None, BuildOutcome(variant, "litert", artifact, None, True, 0.0))
    base = record([Round(0, [1.0], 1.0)], "a" * 64)
    base.artifact = ArtifactRef("a" * 64, 1, key="d" * 64)
    base.variant["name"] = variant.name
    twins, notices = alongside_jobs([job], [base], ArtifactCache(tmp_path / "cache"))
    assert twins == [] and notices == [f"a[resolution=1] litert: not measured alongside, the baseline's artifact (sha256 aaaaaaaaaaaa) is not in the artifact cache {tmp_path / 'cache'}"]  # fmt: skip
    twins, notices = alongside_jobs([job], [], ArtifactCache(tmp_path / "cache"))
    assert twins == [] and notices == ["a[resolution=1] litert: not measured alongside, the baseline has no ok measurement of it"]  # fmt: skip


def test_run_alongside_measures_both_in_the_same_passes_and_compare_judges_them_paired(env, capsys):  # noqa: F811
    args = ["run", "--target", env["target"], "--recipe", env["recipe"], "--only", "resolution=16", "--runtime"]
    baseline = env["out"].parent / "baseline"
    assert main([*args, "litert", "--out", str(baseline)]) == 0
    # Two rounds a measurement (the fast target's limit): the pairs are recorded, too few to judge.
    assert main([*args, "litert", "--out", str(env["out"]), "--alongside", str(baseline)]) == 0
    out = capsys.readouterr().out
    assert f"edge-bench compare {env['out'] / 'alongside'} {env['out']}" in out
    assert "1 ok" in out and " 0 failed" in out and "measured alongside: 1 of the baseline's artifacts" in out
    [own] = read_records(env["out"] / "results.jsonl")
    [twin] = read_records(env["out"] / "alongside" / "results.jsonl")
    assert own.run_id == twin.run_id and own.key == twin.key
    assert twin.artifact.sha256 == read_records(baseline / "results.jsonl")[0].artifact.sha256
    # Same passes, alternating order: the rounds interleave A B | B A on the run's clock.
    timeline = sorted([(r.started, "own") for r in own.latency.rounds] + [(r.started, ALONGSIDE) for r in twin.latency.rounds])  # fmt: skip
    assert [side for _, side in timeline] == ["own", ALONGSIDE, ALONGSIDE, "own"]
    assert main(["compare", str(env["out"] / "alongside"), str(env["out"])]) == 0
    assert "too few pairs of rounds to judge side by side (2, at least 6)" in capsys.readouterr().out
    # Resuming continues both sides; a new --out that already holds the twins' results is refused.
    assert main([*args, "litert", "--out", str(env["out"]), "--alongside", str(baseline), "--resume"]) == 0
    assert len(read_records(env["out"] / "alongside" / "results.jsonl")) == 1
    (env["out"].parent / "fresh" / "alongside").mkdir(parents=True)
    (env["out"].parent / "fresh" / "alongside" / "results.jsonl").write_text("")
    assert main([*args, "litert", "--out", str(env["out"].parent / "fresh"), "--alongside", str(baseline)]) == 2
    assert "alongside already holds results.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_a_bad_alongside_baseline_is_refused_in_one_line(env, where, capsys):  # noqa: F811
    path = env["out"].parent / where
    if where == "empty":
        path.mkdir()
        (path / "results.jsonl").write_text("")
    code = main(["run", "--target", env["target"], "--recipe", env["recipe"], "--alongside", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and len(err.strip().splitlines()) == 1


def test_a_job_and_its_twin_take_their_rounds_together_in_alternating_order(env, monkeypatch):  # noqa: F811
    """The run's own artifact is known after the minimum rounds, its twin's is not: both go on, side by side,
    until the twin is done, the one first that was second the pass before."""
    import dataclasses

    from edge_bench.build import BuildOutcome
    from edge_bench.config import load_recipe, load_target
    from edge_bench.export.cache import Artifact
    from edge_bench.recipes import expand
    from edge_bench.results import ResultStore
    from edge_bench.measure.rounds import Measurement
    from edge_bench.measure.job import Job, identity
    from edge_bench.measure.runner import Runner

    recipe = load_recipe(env["recipe"])
    host = load_target(env["target"])
    host = dataclasses.replace(host, measure=dataclasses.replace(host.measure, rounds_min=2, rounds_max=6, precision=0.02))  # fmt: skip
    variant = expand(recipe)[0]
    artifact = Artifact(env["out"] / "m.tflite", "litert", "c" * 64, 1, "k" * 64, {})
    own = Job(variant, "litert", None, None, BuildOutcome(variant, "litert", artifact, None, True, 0.0))
    twin = dataclasses.replace(own, side=ALONGSIDE)
    other = dataclasses.replace(own, variant=expand(recipe)[1])
    runner = Runner(recipe, [], ["litert"], [host], ResultStore(env["out"]), alongside_store=ResultStore(env["out"] / "alongside"))  # fmt: skip
    taken = []
    rng = random.Random(0)

    def one_round(self, session, target, agent, m, rule, pushed):
        taken.append((m.job.variant.name, m.job.side or "own"))
        median = 10.0 * (math.exp(rng.gauss(0, 0.2)) if m.job.side else 1.0)  # the twin never gets precise
        m.add({"status": "ok", "latency_ms": {"samples": [median]}}, 1.0, self.run_id, 1.0, False, float(len(taken)))

    monkeypatch.setattr(Runner, "_one_round", one_round)
    measurements = [Measurement(job, identity(recipe.name, job, host, {})) for job in (own, other, twin)]
    runner._measure_in_rounds(None, host, "agent", measurements)
    mine, others, twins = (m.rounds for m in measurements)
    assert (
        len(mine) == len(twins) == 6 and len(others) == 2
    )  # the other job stops at the minimum, the pair at the maximum
    pairs = [step for step in taken if step[0] == variant.name]
    assert [side for _, side in pairs] == ["own", ALONGSIDE, ALONGSIDE, "own"] * 3
    assert [r.run_id for r in read_records(env["out"] / "alongside" / "results.jsonl")] == [runner.run_id]
    assert len(read_records(env["out"] / "results.jsonl")) == 2
