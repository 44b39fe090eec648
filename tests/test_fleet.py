"""Several targets at once through the runner: a local one and a real loopback SSH 'board'."""

import dataclasses

import pytest

from edge_bench.build import Builder
from edge_bench.config import SshConfig, load_recipe, load_target
from edge_bench.export.cache import ArtifactCache
from edge_bench.recipes import expand
from edge_bench.results import ResultStore, read_records
from edge_bench.measure.runner import Runner
from tests.test_cli import FAST_HOST
from tests.tinymodels import tiny_recipe_file

pytestmark = pytest.mark.ssh


@pytest.fixture()
def setup(tmp_path, tiny_cache):
    recipe = load_recipe(tiny_recipe_file(tmp_path))
    host_file = tmp_path / "fast-host.toml"
    host_file.write_text(FAST_HOST)
    builder = Builder(recipe, ArtifactCache(tiny_cache))
    return recipe, load_target(str(host_file)), builder


def test_two_devices_measure_the_same_artifacts(setup, sshd_target, tmp_path):
    recipe, host, builder = setup
    runner = Runner(
        recipe, expand(recipe), ["litert"], [host, sshd_target], ResultStore(tmp_path / "out"), builder=builder
    )
    summary = runner.run()
    assert (summary.ok, summary.failed) == (4, 0), summary.failures
    records = read_records(tmp_path / "out" / "results.jsonl")
    by_target = {}
    for r in records:
        by_target.setdefault(r.target, []).append(r)
    assert set(by_target) == {"fast-host", sshd_target.name}
    for rows in by_target.values():
        assert sorted(r.variant["resolution"] for r in rows) == [16, 24]
        assert all(r.latency.median > 0 for r in rows)
    # Same artifact bytes on both devices.
    assert {r.artifact.sha256 for r in by_target["fast-host"]} == {
        r.artifact.sha256 for r in by_target[sshd_target.name]
    }


def test_unreachable_board_fails_its_jobs_and_the_others_go_on(setup, sshd_target, tmp_path):
    recipe, host, builder = setup
    gone = dataclasses.replace(
        sshd_target,
        name="gone-board",
        ssh=SshConfig(host="127.0.0.1", port=1, connect_timeout_secs=3, options=("StrictHostKeyChecking=no",)),
    )
    runner = Runner(recipe, expand(recipe), ["litert"], [host, gone], ResultStore(tmp_path / "out"), builder=builder)
    summary = runner.run()
    assert (summary.ok, summary.failed) == (2, 2)
    failed = [r for r in read_records(tmp_path / "out" / "results.jsonl") if r.status == "failed"]
    assert {r.target for r in failed} == {"gone-board"}
    assert all("unreachable" in r.error for r in failed)


def test_a_defect_while_measuring_fails_that_job_and_the_sweep_goes_on(setup, tmp_path, monkeypatch):
    from edge_bench.measure.rounds import Measurement

    recipe, host, builder = setup
    real = Measurement.add
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("boom")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Measurement, "add", flaky)
    summary = Runner(recipe, expand(recipe), ["litert"], [host], ResultStore(tmp_path / "out"), builder=builder).run()
    assert (summary.ok, summary.failed) == (1, 1)
    [failed] = [r for r in read_records(tmp_path / "out" / "results.jsonl") if r.status == "failed"]
    assert failed.error == "measurement on fast-host failed: KeyError: 'boom'"
