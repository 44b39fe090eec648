"""Core pinning ([measure] cores), the governor read before each round, and the interval's scope.

The pinning tests read the cores back from the kernel (/proc/PID/status), in child processes so this
test process keeps its own affinity. This machine has at least two cores: core 1 is measured, core 0
is left to the agent.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge_bench.config import load_target
from edge_bench.device import affinity, checks, thermal
from edge_bench.device.agent import DEFAULTS, RESULT_MARKER
from edge_bench.errors import InputError
from edge_bench.measure.precision import StopRule, interval_text, summarize
from edge_bench.measure.rounds import Measurement
from edge_bench.measure.spec import cores_problem, measurement_spec
from edge_bench.results import Record, Round
from edge_bench.results.record import WITHIN_RUN

ROOT = Path(__file__).resolve().parent.parent
TWO_CORES = len(os.sched_getaffinity(0)) >= 2 and {0, 1} <= os.sched_getaffinity(0)
needs_two_cores = pytest.mark.skipif(not TWO_CORES, reason="needs cores 0 and 1")
QUICK = {"threads": 1, "warmup_runs": 1, "warmup_secs": 0.0, "min_runs": 3, "min_secs": 0.0, "max_secs": 2.0}


def agent(spec: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "edge_bench.device.agent", "measure", "--spec", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith(RESULT_MARKER)]
    return json.loads(line[len(RESULT_MARKER) :])


def in_child(script: str) -> dict:
    """Run `script` (which prints one JSON line last) in a fresh interpreter: its affinity is its own."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def target_file(tmp_path: Path, measure: str, threads: int = 1, kind: str = "local") -> Path:
    path = tmp_path / "t.toml"
    path.write_text(f'kind = "{kind}"\nthreads = {threads}\n[measure]\n{measure}\n')
    return path


# ---------------------------------------------------------------- the target file


@pytest.mark.parametrize(
    "written, cores",
    [('"2,3"', (2, 3)), ('"4-7"', (4, 5, 6, 7)), ('"0-1, 6"', (0, 1, 6)), ("[3, 2]", (2, 3)), ('"1"', (1,))],
)
def test_cores_key_forms(tmp_path, written, cores):
    target = load_target(str(target_file(tmp_path, f"cores = {written}")))
    assert target.measure.cores == cores
    assert measurement_spec(target, "m.tflite", "litert")["cores"] == list(cores)


def test_no_cores_key_is_unpinned(tmp_path):
    target = load_target(str(target_file(tmp_path, "")))
    assert target.measure.cores == ()
    assert measurement_spec(target, "m.tflite", "litert")["cores"] is None


@pytest.mark.parametrize(
    "written, message",
    [
        ('"2-x"', r"key 'measure\.cores' must list core numbers"),
        ('"3-1"', r"key 'measure\.cores' must list core numbers"),
        ('""', r"key 'measure\.cores' names no core"),
        ("[]", r"key 'measure\.cores' names no core"),
        ("[-1]", r"key 'measure\.cores' must list distinct core numbers >= 0"),
        ("[1, 1]", r"key 'measure\.cores' must list distinct core numbers >= 0"),
        ('["1"]', r"key 'measure\.cores' must be a core list string or a list of integers"),
        ("2", r"key 'measure\.cores' must be a core list string or a list of integers"),
    ],
)
def test_bad_cores_name_the_file_and_key(tmp_path, written, message):
    path = target_file(tmp_path, f"cores = {written}")
    with pytest.raises(InputError, match=rf"^{path}: {message}") as e:
        load_target(str(path))
    assert "\n" not in str(e.value) and "unpinned" in str(e.value)


def test_more_threads_than_pinned_cores_is_refused(tmp_path):
    path = target_file(tmp_path, 'cores = "2,3"', threads=4)
    with pytest.raises(InputError, match=rf"^{path}: key 'measure\.cores' pins 2 core\(s\) but threads = 4"):
        load_target(str(path))


def test_cores_the_device_lacks_fail_the_targets_jobs_with_the_reason(tmp_path):
    target = load_target(str(target_file(tmp_path, 'cores = "2,5"')))
    problem = cores_problem(target, {"env": {"cores_allowed": "0-3"}})
    assert problem == (
        f"{target.path}: key 'measure.cores' names core(s) 5, which the device does not let the agent use "
        "(it may run on 0-3); pin to cores among 0-3"
    )
    assert cores_problem(target, {"env": {"cores_allowed": "0-7"}}) is None
    assert cores_problem(target, {}) is None  # a device that said nothing: its agent checks again


# ---------------------------------------------------------------- on the device


def test_core_lists():
    assert affinity.parse_cpu_list("0-3,7") == (0, 1, 2, 3, 7)
    assert affinity.format_cpu_list([7, 0, 1, 2, 3, 9, 10]) == "0-3,7,9-10"
    assert affinity.format_cpu_list([1]) == "1"
    with pytest.raises(ValueError):
        affinity.parse_cpu_list("a")


def test_placement_refuses_missing_cores_and_too_many_threads():
    usable = affinity.usable_cores()
    assert usable is not None
    beyond = max(usable) + 1
    with pytest.raises(affinity.PlacementError, match=rf"^measure\.cores: core\(s\) {beyond} not available"):
        affinity.plan([beyond], 1)
    with pytest.raises(affinity.PlacementError, match=r"^measure\.cores: 2 threads on 1 pinned core\(s\)"):
        affinity.plan([min(usable)], 2)
    everything = affinity.plan(sorted(usable), 1)
    assert everything.agent is None and "no other core" in (everything.note or "")
    assert affinity.plan(None, 1) is affinity.UNPINNED


@needs_two_cores
def test_host_agent_pinned_to_core_1_reads_it_back(tiny_tflite):
    result = agent({**QUICK, "artifact": str(tiny_tflite), "runtime": "litert", "cores": [1]})
    assert result["status"] == "ok", result.get("traceback")
    cores = result["env"]["cores"]
    assert cores["requested"] == [1]
    assert cores["allowed"] == "1" and cores["read_from"] == "/proc/self/status"
    assert cores["agent"] == affinity.format_cpu_list(os.sched_getaffinity(0) - {1})
    assert result["governor"]["governor"] is None or set(result["governor"]["cores"]) == {"cpu1"}


def test_host_agent_unpinned_records_the_allowed_cores(tiny_tflite):
    result = agent({**QUICK, "artifact": str(tiny_tflite), "runtime": "litert"})
    assert result["status"] == "ok", result.get("traceback")
    cores = result["env"]["cores"]
    assert cores["requested"] is None and "agent" not in cores
    assert cores["allowed"] == affinity.read_allowed_list() == affinity.format_cpu_list(os.sched_getaffinity(0))


def test_agent_refuses_a_core_the_device_lacks(tiny_tflite):
    beyond = max(os.sched_getaffinity(0)) + 1
    result = agent({**QUICK, "artifact": str(tiny_tflite), "runtime": "litert", "cores": [beyond]})
    assert result["status"] == "failed"
    assert result["error"].startswith(f"measure.cores: core(s) {beyond} not available on this device")


@needs_two_cores
def test_meter_sampler_and_other_threads_leave_the_measured_cores():
    got = in_child(
        """
        import json, os, threading
        from edge_bench.device import affinity
        from edge_bench.device.power.energy import Sampler

        class Meter:
            name, kind = "probe", "power"
            def __init__(self): self.seen = []
            def read_timed(self):
                self.seen.append(sorted(os.sched_getaffinity(0)))
                return (0.0, 1.0)

        idle = threading.Event()
        watcher = threading.Thread(target=idle.wait, daemon=True)
        watcher.start()  # a thread of the agent's started before the measurement (the host watch)
        affinity.pin_in_process(affinity.plan([1], 1))
        meter = Meter()
        sampler = Sampler(meter, 0.01)
        sampler.start()
        sampler.first.wait(5)
        sampler.stop()
        sampler.join(5)
        print(json.dumps({"main": sorted(os.sched_getaffinity(0)), "sampler": meter.seen[0],
                          "watcher": sorted(os.sched_getaffinity(watcher.native_id))}))
        """
    )
    others = sorted(os.sched_getaffinity(0) - {1})
    assert got == {"main": [1], "sampler": others, "watcher": others}


FAKE_RUNNER = """#!/bin/sh
# The native runner's line protocol (et_runner.cpp), with fixed numbers: asks for inputs, reports, waits.
echo 'EDGE_BENCH_NATIVE {"event": "inputs", "inputs": []}'
read inputs
echo 'EDGE_BENCH_NATIVE {"protocol": 1, "threads": 1, "warmup_runs": 1, "latency_ms": {"median": 1.0, "n": 1}}'
read command
"""


@needs_two_cores
def test_native_runner_starts_on_the_pinned_cores_and_the_agent_leaves_them(tmp_path):
    runner = tmp_path / "runner"
    runner.write_text(FAKE_RUNNER)
    runner.chmod(0o755)
    got = in_child(
        f"""
        import json, os
        from pathlib import Path
        from edge_bench.device import affinity
        from edge_bench.device.agent import DEFAULTS, _energy
        from edge_bench.device.native.build import Runner
        from edge_bench.device.native.measure import measure_native

        class Wheel:
            version = "test"
            def libraries(self): return []
        runner = Runner(Path({str(runner)!r}), "0" * 64, "sh", Wheel(), "k", False, None)
        spec = {{**DEFAULTS, **{QUICK!r}, "artifact": "m.pte", "runtime": "executorch", "api": "native"}}
        result = {{"status": "failed", "error": None, "env": {{}}}}
        measure_native(runner, spec, result, _energy, affinity.plan([1], 1))
        print(json.dumps({{"status": result["status"], "error": result["error"], "cores": result["env"]["cores"],
                          "agent_after": sorted(os.sched_getaffinity(0))}}))
        """
    )
    assert got["status"] == "ok", got["error"]
    assert got["cores"]["allowed"] == "1" and got["cores"]["requested"] == [1]
    assert got["cores"]["read_from"].startswith("/proc/") and got["cores"]["read_from"].endswith("(the native runner)")
    assert got["agent_after"] == sorted(os.sched_getaffinity(0) - {1})


# ---------------------------------------------------------------- the governor


def cpufreq_tree(root: Path, governors: dict[int, str]) -> Path:
    for core, governor in governors.items():
        folder = root / f"sys/devices/system/cpu/cpu{core}/cpufreq"
        folder.mkdir(parents=True)
        (folder / "scaling_governor").write_text(governor + "\n")
    return root


def test_governor_of_the_cores_a_round_runs_on(tmp_path):
    root = str(cpufreq_tree(tmp_path, {0: "schedutil", 1: "performance", 2: "performance", 3: "ondemand"}))
    assert thermal.governor_state([1, 2], root) == {
        "governor": "performance",
        "performance": True,
        "cores": {"cpu1": "performance", "cpu2": "performance"},
    }
    mixed = thermal.governor_state([0, 1, 3], root)
    assert mixed["governor"] == "ondemand, performance, schedutil" and mixed["performance"] is False
    partly = thermal.governor_state([2, 9], root)
    assert partly["governor"] == "performance" and partly["unread"] == [9]


def test_no_cpufreq_is_recorded_as_missing_with_the_reason(tmp_path):
    state = thermal.governor_state([0, 1], str(tmp_path))
    assert state["governor"] is None and state["performance"] is None
    assert state["missing_reason"].startswith("no cpufreq governor for core(s) 0,1: ")
    assert "a VM" in state["missing_reason"]


def _round(median: float, governor: dict) -> dict:
    return {"status": "ok", "latency_ms": {"samples": [median] * 3}, "governor": governor, "env": {"threads": 1}}


def test_a_governor_other_than_performance_is_noted_on_the_round_and_record():
    rule = StopRule(target=0.5, confidence=0.95, rounds_min=2, rounds_max=3, retakes=0, max_seconds=60)
    slow = {"governor": "schedutil", "performance": False, "cores": {"cpu1": "schedutil"}}
    fast = {"governor": "performance", "performance": True, "cores": {"cpu1": "performance"}}
    m = Measurement(job=None, identity=None)  # type: ignore[arg-type]
    for median, governor in ((1.0, slow), (1.01, fast), (1.02, slow)):
        m.add(_round(median, governor), 1.0, "run", 0.25, False)
    record = m.record(Record(recipe="r", variant={"name": "v"}, runtime="litert", target="t"), rule)
    assert [r.governor for r in record.latency.rounds] == ["schedutil", "performance", "schedutil"]
    assert record.env["governor"] == slow
    (note,) = [n for n in record.notes if "governor" in n]
    assert note.startswith("cpufreq governor schedutil (not performance) on the measured cores before 2 of 3 rounds")
    assert "edge-bench doctor" in note
    assert record.flat()["cores_governor"] == "schedutil"


def test_doctor_names_the_pinned_cores_governor_fix():
    fix = checks.governor_fix([2, 3])
    assert fix.startswith(
        "needs root: echo performance | sudo tee /sys/devices/system/cpu/cpu2/cpufreq/scaling_governor "
        "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"
    )
    assert "sudo cpufreq-set -c 2 -g performance; sudo cpufreq-set -c 3 -g performance" in fix
    assert checks.governor_fix(None) == checks.GOVERNOR_FIX
    judged = checks.judge_governors({"cpu2": "ondemand", "cpu3": "ondemand"}, fix)
    assert not judged.ok and judged.fix == fix


def test_doctor_checks_the_pinned_cores_exist():
    assert checks.judge_cores([2, 3], {0, 1, 2, 3}) == checks.Check(
        "cores", True, "measured on 2-3; the agent's own work on 0-1"
    )
    missing = checks.judge_cores([4], {0, 1})
    assert not missing.ok and missing.detail.startswith("core(s) 4 of [measure] cores = 4 not available")
    assert missing.fix == "set [measure] cores in the target file to cores among 0-1"


# ---------------------------------------------------------------- the interval's scope


def test_interval_says_it_counts_this_runs_rounds_only():
    rule = StopRule(target=0.001, confidence=0.95, rounds_min=2, rounds_max=5, retakes=0, max_seconds=60)
    rounds = [Round(index=i, samples=[m], median=m) for i, m in enumerate((1.0, 1.1, 1.05))]
    precision = summarize(rounds, rule).precision
    assert precision.scope == WITHIN_RUN == "within this run"
    assert "within this run after 3 rounds" in precision.note
    text = interval_text(precision)
    assert text.startswith(f"±{precision.half_width:.1%} (95 % confidence over 3 rounds, within this run; ")
    assert text.endswith("drift between runs not included)")
    record = Record(recipe="r", variant={"name": "v"}, runtime="litert", target="t")
    record.latency = summarize(rounds, rule)
    assert record.flat()["latency_ci_scope"] == "within this run"


def test_records_written_before_the_scope_read_as_within_this_run():
    rule = StopRule(target=0.5, confidence=0.95, rounds_min=2, rounds_max=5, retakes=0, max_seconds=60)
    record = Record(recipe="r", variant={"name": "v"}, runtime="litert", target="t", status="ok")
    record.latency = summarize([Round(index=i, samples=[m], median=m) for i, m in enumerate((1.0, 1.1))], rule)
    old = record.to_json()
    del old["latency_ms"]["precision"]["scope"]
    for r in old["latency_ms"]["rounds"]:
        del r["governor"]
    back = Record.from_json(old)
    assert back.latency.precision.scope == "within this run" and back.notes == []
    assert back.latency.rounds[0].governor is None and back.flat()["cores_allowed"] is None


# ---------------------------------------------------------------- over ssh (the stand-in board)


@pytest.mark.ssh
@needs_two_cores
def test_board_over_ssh_pins_the_measured_process(sshd_target, tiny_tflite, tmp_path):
    from edge_bench.transport import open_transport
    from edge_bench.transport.agent import run_agent
    from edge_bench.transport.bundle import build_agent_zipapp

    target = dataclasses.replace(sshd_target, measure=dataclasses.replace(sshd_target.measure, cores=(1,)))
    pyz = build_agent_zipapp(tmp_path / "bundle")
    with open_transport(target) as t:
        agent_path, model = t.push(pyz, pyz.name), t.push(tiny_tflite, "m.tflite")
        spec = {**measurement_spec(target, model, "litert", with_energy=False), "keep_samples": False}
        result = run_agent(t, target.python, agent_path, spec, timeout=120)
    assert result["status"] == "ok", result.get("error")
    assert result["env"]["cores"]["allowed"] == "1" and result["env"]["cores"]["requested"] == [1]
    assert "governor" in result and DEFAULTS["cores"] is None


@pytest.mark.ssh
def test_doctor_over_ssh_checks_the_pinned_cores(sshd_target):
    from edge_bench.doctor import run_doctor

    beyond = max(os.sched_getaffinity(0)) + 1
    target = dataclasses.replace(sshd_target, measure=dataclasses.replace(sshd_target.measure, cores=(beyond,)))
    found = {c.name: c for c in run_doctor(target, ["litert"])}
    assert not found["cores"].ok and found["cores"].detail.startswith(f"core(s) {beyond} of [measure] cores")
    assert "governor" in found


def test_pinned_cores_are_part_of_what_decides_a_number():
    unpinned = Record(recipe="r", variant={"name": "v"}, runtime="litert", target="t", env={"threads": 3})
    pinned = Record(
        recipe="r", variant={"name": "v"}, runtime="litert", target="t",
        env={"threads": 3, "cores": {"requested": [1, 2, 3], "allowed": "1-3"}},
    )  # fmt: skip
    assert pinned.identity.cores == "1-3" and unpinned.identity.cores is None
    assert pinned.identity.differences(unpinned.identity) == ["pinned cores unpinned -> 1-3"]
    assert unpinned.identity.differences(unpinned.identity) == []


def test_round_lines_of_unpinned_measurements_keep_their_identity(tmp_path):
    from edge_bench.measure.job import identity_json
    from edge_bench.results import Identity

    before = Identity("r", "v", "litert", "t", "ab" * 32, "2.3.0", 1, "interpreter")
    assert identity_json(before) == {
        "artifact_sha256": "ab" * 32,
        "runtime_version": "2.3.0",
        "threads": 1,
        "api": "interpreter",
    }
    assert identity_json(dataclasses.replace(before, cores="1"))["cores"] == "1"
