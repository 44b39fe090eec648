"""The ssh path for real: OpenSSH client -> loopback sshd (tests/sshd.py) -> the agent zipapp.

The "device" is this machine reached over ssh, so the tests can look at its work dir and processes
directly and check what the transport claims.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge_bench.transport.shell import OWNER_FILE
from edge_bench.config import SshConfig
from edge_bench.transport import TransportError, TransportTimeout, open_transport
from edge_bench.transport.agent import call_agent, run_agent
from edge_bench.transport.ssh import SshTransport
from tests.specs import agent_spec

pytestmark = pytest.mark.ssh

HOSTILE = 'it\'s a "test"; touch pwned $(touch pwned2) `touch pwned3` & | *'


def _processes_with(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains `text` (the shell that runs one included)."""
    return [pid for pid, argv in _live_processes() if text in " ".join(argv)]


def _agent_pids(python: str, agent: str) -> list[int]:
    """The agent processes themselves: `python agent [--exit-with-host] measure ...`."""
    return [pid for pid, argv in _live_processes() if argv[:2] == [python, agent] and "measure" in argv[2:4]]


def _live_processes() -> list[tuple[int, list[str]]]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and int(proc.name) != os.getpid():
            found.append((int(proc.name), argv))
    return found


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _long_spec(model: str) -> dict:
    return agent_spec(model, min_runs=10**9, min_secs=120.0, max_secs=120.0)


# ---------------------------------------------------------------- transport


def test_hostile_names_and_arguments_arrive_verbatim_and_never_execute(sshd_target, tmp_path):
    payload = tmp_path / "payload.bin"
    payload.write_bytes(bytes(range(256)) * 40)
    with open_transport(sshd_target) as t:
        workdir = Path(t.workdir)
        device_path = t.push(payload, HOSTILE)
        assert device_path == f"{t.workdir}/{HOSTILE}"
        assert (workdir / HOSTILE).read_bytes() == payload.read_bytes()

        args = [HOSTILE, "$HOME", "a\nb", "'", "\\", "-n", ""]
        done = t.exec([sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", *args], timeout=30)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == args

        t.pull(HOSTILE, tmp_path / "back.bin")
        assert (tmp_path / "back.bin").read_bytes() == payload.read_bytes()
        assert sorted(set(os.listdir(workdir)) - {OWNER_FILE}) == [HOSTILE]  # nothing else was created, nothing ran
    for home in (Path.home(), workdir.parent):
        for name in ("pwned", "pwned2", "pwned3"):
            assert not (home / name).exists()


def test_session_removes_its_work_dir_and_its_master(sshd_target):
    with open_transport(sshd_target) as t:
        workdir, control_dir = t.workdir, t._control_dir
        assert Path(workdir).is_dir() and Path(workdir).name.startswith("edge-bench-")
        assert _processes_with(control_dir), "no ssh master was started"
    assert not Path(workdir).exists()
    assert not Path(control_dir).exists()
    _wait_for(lambda: not _processes_with(control_dir), 5, "the ssh master to exit")


def test_commands_share_one_connection(sshd_server, sshd_target):
    def connections() -> int:
        return sshd_server.log.read_text().count("Connection from 127.0.0.1")

    before = connections()
    with open_transport(sshd_target) as t:
        for _ in range(4):
            assert t.exec(["true"], timeout=30).returncode == 0
    assert connections() - before == 1


def test_given_work_dir_is_created_and_kept(sshd_target, tmp_path):
    wanted = tmp_path / "work dir; 'x'"
    transport = SshTransport(sshd_target.ssh, workdir=str(wanted), name="loopback")
    with transport as t:
        assert t.workdir == str(wanted.resolve())
        done = t.exec(["pwd"], timeout=30)
        assert done.stdout.strip() == str(wanted.resolve())
    assert wanted.is_dir()  # the user's directory: not ours to remove


def test_exit_status_and_stderr_pass_through(sshd_target):
    with open_transport(sshd_target) as t:
        done = t.exec(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_port_identity_and_options_without_an_alias(sshd_server, sshd_target):
    config = SshConfig(
        host="127.0.0.1",
        user=sshd_server.user,
        port=sshd_server.port,
        identity_file=str(sshd_server.identity_file),
        connect_timeout_secs=5,
        options=(
            f"UserKnownHostsFile={sshd_server.known_hosts}",
            "StrictHostKeyChecking=accept-new",
            "IdentitiesOnly=yes",
        ),
    )
    with SshTransport(config, name="by-address") as t:
        assert t.exec(["echo", "ok"], timeout=30).stdout == "ok\n"


def test_refused_connection_names_the_cause_and_the_fix(sshd_server):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    config = SshConfig(
        host="127.0.0.1",
        port=closed_port,
        connect_timeout_secs=3,
        options=(f"UserKnownHostsFile={sshd_server.known_hosts}",),
    )
    with pytest.raises(TransportError, match=r"Connection refused.*ssh-copy-id"):
        SshTransport(config, name="nowhere").open()


def test_rejected_key_fails_at_once_instead_of_prompting(sshd_server, tmp_path):
    other_key = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    config = SshConfig(
        host="127.0.0.1",
        port=sshd_server.port,
        user=sshd_server.user,
        identity_file=str(other_key),
        connect_timeout_secs=3,
        options=(
            f"UserKnownHostsFile={sshd_server.known_hosts}",
            "StrictHostKeyChecking=accept-new",
            "IdentitiesOnly=yes",
            "IdentityAgent=none",
        ),
    )
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"Permission denied"):
        SshTransport(config, name="wrong-key").open()
    assert time.monotonic() - started < 10


def test_timeout_kills_the_command_on_the_device(sshd_target):
    with open_transport(sshd_target) as t:
        marker = f"{t.workdir}/sleeper"
        started = time.monotonic()
        with pytest.raises(TransportTimeout, match="ran past 1 s"):
            t.exec([sys.executable, "-c", "import time; time.sleep(60)", marker], timeout=1)
        assert time.monotonic() - started < 10
        _wait_for(lambda: not _processes_with(marker), 5, "the remote command to be killed")
        assert t.exec(["echo", "alive"], timeout=30).stdout == "alive\n"  # the session goes on


# ---------------------------------------------------------------- the agent over ssh


def test_measure_a_tflite_through_the_agent_and_pull_its_outputs(sshd_target, agent_pyz, tiny_tflite, tmp_path):
    from edge_bench.device.runtimes import LiteRT

    images = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    with open_transport(sshd_target) as t:
        workdir = t.workdir
        agent = t.push(agent_pyz, agent_pyz.name)
        model = t.push(tiny_tflite, "tiny model's.tflite")
        t.push(tmp_path / "images.npy", "images.npy")
        spec = agent_spec(model, inputs="images.npy", outputs="outputs.npy")
        result = run_agent(t, sshd_target.python, agent, spec, timeout=sshd_target.measure.timeout_secs)
        t.pull("outputs.npy", tmp_path / "outputs.npy")
    assert not Path(workdir).exists()

    assert result["status"] == "ok", result.get("error")
    assert result["latency_ms"]["n"] >= 3 and result["latency_ms"]["median"] > 0
    assert result["env"]["runtime"]["package"] == "ai-edge-litert"
    assert result["memory"]["peak_rss_bytes"] > 0

    local = LiteRT(1)
    local.load(str(tiny_tflite))
    local.prepare(np.random.default_rng(0))
    expected = []
    for image in images:
        local.set_inputs([image[None]])
        local.run()
        expected.append(local.outputs()[0][0])
    np.testing.assert_allclose(np.load(tmp_path / "outputs.npy"), np.stack(expected), rtol=1e-5, atol=1e-6)


def _run_in_background(fn) -> tuple[threading.Thread, dict]:
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(result=fn()), daemon=True)
    thread.start()
    return thread, box


@pytest.fixture(scope="module")
def agent_session(sshd_target, agent_pyz, tiny_tflite):
    """One session with the agent and a model on the device, shared by the fault tests (each must
    leave it usable: a fault of one measurement must not end the session)."""
    with open_transport(sshd_target) as t:
        yield t, t.push(agent_pyz, agent_pyz.name), t.push(tiny_tflite, "m.tflite")


def test_killed_agent_is_a_failed_record(sshd_target, agent_session):
    t, agent, model = agent_session
    thread, box = _run_in_background(lambda: run_agent(t, sshd_target.python, agent, _long_spec(model), 60))
    (pid,) = _wait_for(lambda: _agent_pids(sshd_target.python, agent), 15, "the agent to start")
    os.kill(pid, signal.SIGKILL)
    thread.join(20)
    assert box["result"]["status"] == "failed"
    assert box["result"]["error"].startswith("agent crashed (exit 137 (SIGKILL))")
    assert len(box["result"]["error"]) < 400
    assert call_agent(t, [sshd_target.python, agent, "sysinfo"], 30)["env"]["python"]


def test_agent_that_cannot_start_is_a_failed_record(sshd_target, agent_session):
    t, agent, model = agent_session
    no_python = run_agent(t, "python-that-is-not-there", agent, agent_spec(model), 30)
    no_agent = run_agent(t, sshd_target.python, f"{t.workdir}/missing.pyz", agent_spec(model), 30)
    assert no_python["status"] == "failed"
    assert no_python["error"].startswith("cannot start the agent with 'python-that-is-not-there' on the device")
    assert "not found" in no_python["error"]
    assert no_agent["status"] == "failed"
    assert no_agent["error"].startswith("agent crashed (exit 2): ")
    assert "missing.pyz" in no_agent["error"]


def test_timeout_is_a_failed_record_and_the_agent_is_stopped(sshd_target, agent_session):
    t, agent, model = agent_session
    started = time.monotonic()
    result = run_agent(t, sshd_target.python, agent, _long_spec(model), timeout=2)
    assert time.monotonic() - started < 15
    assert result["status"] == "failed"
    assert result["error"].startswith(f"timeout: '{sshd_target.python}' ran past 2 s on loopback")
    _wait_for(lambda: not _processes_with(f"{agent} measure"), 5, "the agent and its shell to be killed")
    assert call_agent(t, [sshd_target.python, agent, "sysinfo"], 30)["env"]["python"]


def test_missing_runtime_is_a_failed_record_with_the_pip_fix(agent_session, python_without_runtimes):
    t, agent, model = agent_session
    litert = run_agent(t, python_without_runtimes, agent, agent_spec(model), 60)
    executorch = run_agent(t, python_without_runtimes, agent, agent_spec("m.pte", runtime="executorch"), 60)
    assert litert["status"] == "failed"
    assert litert["error"] == "RuntimeMissing: LiteRT is not installed on the device: pip install ai-edge-litert==2.3.0"
    assert executorch["error"] == (
        "RuntimeMissing: ExecuTorch is not installed on the device: pip install executorch==1.5.1 torch==2.14.1"
    )


def test_connection_lost_mid_run_is_a_failed_record_and_the_sweep_goes_on(
    sshd_server, sshd_target, agent_pyz, tiny_tflite
):
    t = open_transport(sshd_target)
    t.open()
    workdir = t.workdir
    try:
        agent = t.push(agent_pyz, agent_pyz.name)
        model = t.push(tiny_tflite, "m.tflite")
        thread, box = _run_in_background(lambda: run_agent(t, sshd_target.python, agent, _long_spec(model), 60))
        _wait_for(lambda: _agent_pids(sshd_target.python, agent), 15, "the agent to start")
        sshd_server.stop()  # the device drops off the network: server, connection and agent die
        thread.join(20)
        result = box["result"]
        assert result["status"] == "failed"
        assert result["error"].startswith("connection lost/refused (loopback): ")
        t.close()  # cannot reach the device: must still return quietly
    finally:
        sshd_server.restart()
        shutil.rmtree(workdir, ignore_errors=True)

    with open_transport(sshd_target) as t:  # the next measurement of the sweep
        agent = t.push(agent_pyz, agent_pyz.name)
        model = t.push(tiny_tflite, "m.tflite")
        assert run_agent(t, sshd_target.python, agent, agent_spec(model), 60)["status"] == "ok"
