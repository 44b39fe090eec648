"""The adb path end to end through tests/fake_adb.py: a stand-in adb whose device root is a local directory."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest

from edge_bench.transport.shell import OWNER_FILE
from edge_bench.android.measure import has_python, measure_native
from edge_bench.config import AdbConfig, load_target
from edge_bench.transport import TransportError, TransportTimeout, open_transport
from edge_bench.transport.adb import AdbTransport
from edge_bench.transport.agent import run_agent
from tests.specs import agent_spec
from tests.fake_adb import make_device, write_adb, write_benchmark_model, write_executor_runner

SERIAL = "R5CT fake;1"  # real serials are plain, but nothing may break on one that is not
HOSTILE = 'it\'s a "test"; touch pwned $(touch pwned2) `touch pwned3` & | *'
# A 1 + 3 + 4 phone: prime core 7, mid cores 4-6, little cores 0-3.
POLICIES = {0: ([0, 1, 2, 3], 1_800_000), 4: ([4, 5, 6], 2_400_000), 7: ([7], 3_000_000)}


class FakePhone:
    def __init__(self, base: Path, monkeypatch):
        self.base = base
        self.root = make_device(base / "device", POLICIES)
        self.adb = write_adb(base / "adb")
        self.state = base / "state"
        self.taskset_log = base / "taskset.log"
        (base / "bin").mkdir()
        self.benchmark_model = write_benchmark_model(base / "bin" / "benchmark_model")
        self.executor_runner = write_executor_runner(base / "bin" / "executor_runner")
        for key, value in {
            "FAKE_ADB_ROOT": self.root,
            "FAKE_ADB_SERIAL": SERIAL,
            "FAKE_ADB_STATE_FILE": self.state,
            "FAKE_ADB_TASKSET_LOG": self.taskset_log,
        }.items():
            monkeypatch.setenv(key, str(value))

    def config(self, **overrides) -> AdbConfig:
        fields = {
            "serial": SERIAL,
            "adb": str(self.adb),
            "benchmark_model": str(self.benchmark_model),
            "executor_runner": str(self.executor_runner),
            **overrides,
        }
        return AdbConfig(**fields)

    def target(self, python: str = "python3-not-on-this-phone", adb_extra: str = "", energy: str = ""):
        path = self.base / "phone.toml"
        path.write_text(
            'description = "a fake phone"\nkind = "adb"\nthreads = 2\n'
            f'python = "{python}"\n'
            "[measure]\nwarmup_runs = 2\nmin_runs = 7\nmin_secs = 0.0\ntimeout_secs = 30.0\n"
            "rounds_min = 1\nrounds_max = 1\n"  # one run of the tool per measurement
            f"{energy}"
            "[adb]\n"
            f"serial = {json.dumps(SERIAL)}\nadb = {json.dumps(str(self.adb))}\n"
            f"benchmark_model = {json.dumps(str(self.benchmark_model))}\n{adb_extra}"
        )
        return load_target(str(path))

    def device_files(self) -> set[str]:
        return {str(p.relative_to(self.root)) for p in self.root.rglob("*")}

    def unplug(self) -> None:
        self.state.write_text("gone")


@pytest.fixture
def phone(tmp_path, monkeypatch) -> FakePhone:
    return FakePhone(tmp_path, monkeypatch)


def _spec(**overrides) -> dict:
    return {"warmup_runs": 2, "warmup_secs": 0.0, "min_runs": 7, "min_secs": 0.0, "max_secs": 5.0, **overrides}


# ---------------------------------------------------------------- transport


def test_hostile_names_and_arguments_arrive_verbatim(phone, tmp_path):
    payload = tmp_path / "payload.bin"
    payload.write_bytes(bytes(range(256)) * 40)
    with AdbTransport(phone.config()) as t:
        assert t.workdir.startswith("/data/local/tmp/edge-bench-")
        local_workdir = phone.root / t.workdir.lstrip("/")
        assert t.push(payload, HOSTILE) == f"{t.workdir}/{HOSTILE}"
        assert (local_workdir / HOSTILE).read_bytes() == payload.read_bytes()
        args = [HOSTILE, "$HOME", "'", "\\", "-n", ""]
        done = t.exec([sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", *args], timeout=30)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == args
        t.pull(HOSTILE, tmp_path / "back.bin")
        assert (tmp_path / "back.bin").read_bytes() == payload.read_bytes()
        assert sorted(set(os.listdir(local_workdir)) - {OWNER_FILE}) == [HOSTILE]
    assert not local_workdir.exists()
    assert not any((phone.root / d / name).exists() for d in ("", "data/local/tmp") for name in ("pwned", "pwned2"))


def test_given_work_dir_is_created_and_kept(phone):
    with AdbTransport(phone.config(), workdir="/data/local/tmp/my bench") as t:
        assert t.workdir == "/data/local/tmp/my bench"
        assert t.exec(["pwd"], timeout=30).stdout.strip() == "/data/local/tmp/my bench"
    assert (phone.root / "data/local/tmp/my bench").is_dir()


@pytest.mark.parametrize("old_device", [False, True], ids=["shell_v2", "before-android-7"])
def test_exit_status_passes_through(phone, monkeypatch, old_device):
    if old_device:  # adb reports 0 and mixes stderr into stdout: the status printed by the command tells
        monkeypatch.setenv("FAKE_ADB_OLD", "1")
    with AdbTransport(phone.config()) as t:
        done = t.exec(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=30)
    assert done.returncode == 3
    assert (done.stdout, done.stderr) == (("out\nerr\n", "") if old_device else ("out\n", "err\n"))


def test_wrong_serial_names_the_fix(phone):
    with pytest.raises(
        TransportError, match=r"cannot reach other over adb: adb: device 'other' not found; .*adb devices"
    ):
        AdbTransport(phone.config(serial="other")).open()


def test_missing_adb_names_the_fix(phone):
    with pytest.raises(TransportError, match=r"platform-tools"):
        AdbTransport(phone.config(adb="adb-that-is-not-installed")).open()


def test_timeout_kills_the_command_on_the_device(phone):
    with AdbTransport(phone.config()) as t:
        started = time.monotonic()
        with pytest.raises(TransportTimeout, match="ran past 1 s"):
            t.exec(["sh", "-c", "echo $$ > sleeper.pid; exec sleep 60"], timeout=1)
        assert time.monotonic() - started < 10
        pid = int((phone.root / t.workdir.lstrip("/") / "sleeper.pid").read_text())
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]:
            assert time.monotonic() < deadline, "the command still runs on the device"
            time.sleep(0.05)
        assert t.exec(["echo", "alive"], timeout=30).stdout == "alive\n"


def test_unplugged_mid_command_is_a_lost_connection(phone):
    t = AdbTransport(phone.config())
    t.open()
    box: dict = {}

    def run():
        try:
            t.exec(["sh", "-c", "echo started; sleep 60"], timeout=30)
        except TransportError as e:
            box["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    phone.unplug()
    thread.join(10)
    assert str(box["error"]).startswith(
        f"connection lost ({SERIAL}): the command's output ended before its exit status"
    )
    t.close()  # the device is gone: close must still return quietly


# ---------------------------------------------------------------- native tools


def test_benchmark_model_end_to_end_pinned_to_the_big_cores(phone, tiny_tflite):
    target = phone.target()
    before = phone.device_files()
    with open_transport(target) as t:
        workdir = t.workdir
        model = t.push(tiny_tflite, "tiny model.tflite")
        result = measure_native(t, target, model, "litert", _spec(threads=target.threads))
    assert phone.device_files() == before  # the work dir is gone and nothing was written outside it

    assert result["status"] == "ok", result["error"]
    assert result["latency_ms"]["n"] == 7 and result["latency_ms"]["mean"] == pytest.approx(1.2005)
    assert result["first_inference_ms"] == 1.5 and result["load_ms"] == pytest.approx(12.345)
    assert result["env"]["tool"]["graph"] == f"{workdir}/tiny model.tflite"
    assert result["env"]["tool"]["threads"] == 2
    assert result["env"]["tool"]["model_size_mb"] == pytest.approx(tiny_tflite.stat().st_size / 1e6, rel=1e-3)
    # Two threads: the prime core alone is too few, so prime + mid cores (4-7), never the little ones.
    assert result["env"]["pinning"]["mask"] == "f0"
    assert phone.taskset_log.read_text().split() == ["f0"]
    assert result["command"][:2] == ["taskset", "f0"]
    assert result["energy"] is None and "native benchmark tools" in result["energy_missing_reason"]
    assert result["thermal_before"]["governor"] == ["schedutil"]


def test_executor_runner_end_to_end(phone, tmp_path):
    target = phone.target(
        adb_extra=f"executor_runner = {json.dumps(str(phone.executor_runner))}\npin_big_cores = false\n"
    )
    (tmp_path / "m.pte").write_bytes(b"\0" * 64)
    with open_transport(target) as t:
        model = t.push(tmp_path / "m.pte", "m.pte")
        result = measure_native(t, target, model, "executorch", _spec(threads=2))
    assert result["status"] == "ok", result["error"]
    assert result["executions"] == 1 + 2 + 7 and result["latency_ms"]["n"] == 7
    assert result["first_inference_ms"] == 3.0 and result["load_ms"] == 7.25
    assert result["memory"]["planned_bytes"] == 4096
    assert result["env"]["pinning"] == {"applied": False, "reason": "pin_big_cores = false"}
    assert not phone.taskset_log.exists()


def test_native_failures_are_failed_records(phone, tiny_tflite, monkeypatch):
    target = phone.target()
    with open_transport(target) as t:
        missing_model = measure_native(t, target, f"{t.workdir}/nope.tflite", "litert", _spec())
        no_runner = measure_native(t, target, f"{t.workdir}/m.pte", "executorch", _spec())
        model = t.push(tiny_tflite, "m.tflite")
        monkeypatch.setenv("FAKE_BENCHMARK_SLEEP", "30")
        started = time.monotonic()
        too_slow = measure_native(t, target, model, "litert", _spec(timeout_secs=2))
        assert time.monotonic() - started < 15
        monkeypatch.delenv("FAKE_BENCHMARK_SLEEP")
        assert measure_native(t, target, model, "litert", _spec())["status"] == "ok"  # the sweep goes on
    assert missing_model["status"] == "failed"
    assert missing_model["error"] == f"benchmark_model exited 1: Could not open '{t.workdir}/nope.tflite'."
    assert no_runner["status"] == "failed"
    assert no_runner["error"].startswith(f"{target.path}: [adb] executor_runner is not set: build ExecuTorch's")
    assert too_slow["status"] == "failed"
    assert too_slow["error"].startswith("timeout: 'taskset' ran past 2 s")


def test_unplugged_phone_is_a_lost_connection_not_a_failed_tool(phone, tiny_tflite, tmp_path, monkeypatch):
    target = phone.target()
    monkeypatch.setenv("FAKE_BENCHMARK_UNPLUG_AT", "1")  # the phone goes away while the tool runs
    monkeypatch.setenv("FAKE_BENCHMARK_COUNT", str(tmp_path / "runs"))
    with open_transport(target) as t:
        model = t.push(tiny_tflite, "m.tflite")
        with pytest.raises(TransportError, match=rf"^connection lost \({re.escape(SERIAL)}\)") as lost:
            measure_native(t, target, model, "litert", _spec())
    assert not isinstance(lost.value, TransportTimeout)


def test_a_phone_lost_mid_sweep_stops_that_targets_sweep_with_the_reason(phone, tiny_tflite, tmp_path, monkeypatch):
    from edge_bench.build.builder import BuildOutcome
    from edge_bench.config import load_recipe
    from edge_bench.export.cache import Artifact, sha256_file
    from edge_bench.recipes import expand
    from edge_bench.results import read_records
    from edge_bench.measure.job import Job
    from edge_bench.measure.runner import Runner
    from tests.tinymodels import tiny_recipe_file

    from edge_bench.recipes import Only
    from edge_bench.results import ResultStore

    recipe = load_recipe(tiny_recipe_file(tmp_path))
    variants = expand(recipe, [Only.parse("resolution=16,24,32,40")])
    artifact = Artifact(tiny_tflite, "litert", sha256_file(tiny_tflite), tiny_tflite.stat().st_size, "key", {})
    jobs = [Job(v, "litert", None, None, BuildOutcome(v, "litert", artifact, None, True, 0.0)) for v in variants]
    monkeypatch.setenv("FAKE_BENCHMARK_UNPLUG_AT", "2")  # the phone goes away during the second measurement
    monkeypatch.setenv("FAKE_BENCHMARK_COUNT", str(tmp_path / "runs"))
    target = phone.target()
    runner = Runner(recipe, variants, ["litert"], [target], ResultStore(tmp_path / "out"), builder=object())
    runner._measure_target(target, jobs, [], [])

    first, second, *rest = read_records(tmp_path / "out" / "results.jsonl")
    assert first.status == "ok" and first.latency.n == 7
    assert second.status == "failed"
    assert second.error.startswith(
        f"target {target.name} connection lost: connection lost ({SERIAL}): "
        "the command's output ended before its exit status"
    )
    assert [r.status for r in rest] == ["failed", "failed"]
    for r in rest:  # no tool ran for them: the loss is their reason, with why no new session opened
        assert r.error.startswith(f"target {target.name} connection lost: connection lost ({SERIAL})")
        assert f"(reconnecting: cannot reach {SERIAL} over adb: adb: device '{SERIAL}' not found" in r.error
    assert (tmp_path / "runs").read_text() == "2"
    assert (runner.summary.ok, runner.summary.failed) == (1, 3)


# ---------------------------------------------------------------- the agent, where the phone has a Python


def test_agent_over_adb_where_python_exists(phone, tiny_tflite, agent_pyz):
    target = phone.target(python=sys.executable)
    with open_transport(target) as t:
        assert has_python(t, target.python)
        assert not has_python(t, "python3-not-on-this-phone")
        agent = t.push(agent_pyz, agent_pyz.name)
        model = t.push(tiny_tflite, "m.tflite")
        result = run_agent(t, target.python, agent, agent_spec(model), timeout=60)
    assert result["status"] == "ok", result.get("error")
    assert result["latency_ms"]["n"] >= 3


# ---------------------------------------------------------------- the shell command strings both transports send


def test_command_strings_run_verbatim_in_a_posix_shell(tmp_path):
    import subprocess

    from edge_bench.transport import shell

    workdir = tmp_path / "work dir; 'x'"
    made = subprocess.run(["sh", "-c", shell.make_workdir(str(workdir))], capture_output=True, text=True)
    assert made.stdout.strip() == str(workdir.resolve())
    args = [HOSTILE, "$(id)", "~", "\n"]
    command = shell.in_workdir(
        str(workdir),
        [sys.executable, "-c", "import os, sys; print(os.getcwd(), sys.argv[1:])", *args],
        report_exit=True,
    )
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
    pid, stderr = shell.split_pid(done.stderr)
    status, stderr = shell.split_exit(stderr)
    assert pid is not None and status == 0 and stderr == ""
    assert done.stdout == f"{workdir.resolve()} {args}\n"


def test_home_relative_paths_stay_relative_to_the_device_home():
    from edge_bench.transport import shell

    assert shell.quote_path("~/bench dir") == "\"$HOME\"/'bench dir'"
    assert shell.quote_path("/data/x y") == "'/data/x y'"
