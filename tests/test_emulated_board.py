"""The emulated arm64 board end to end: `scripts/board.sh up` (built from scratch when nothing is cached),
`edge-bench doctor` and the smoke sweep over SSH, the board's INT8 outputs against the host's, `down`.

Skipped, with the reason, only where the board cannot exist (neither root nor passwordless sudo, no
binfmt_misc in the kernel);
with EDGE_BENCH_REQUIRE_BOARD=1 (CI) that skip is a failure. Missing Debian packages are a failure
with the command that installs them: `.ci/install-board.sh`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BOARD = REPO / "scripts" / "board.sh"
NAME = "pytest-board"  # its own root fs: a board a developer has up is left alone
REQUIRE_ENV = "EDGE_BENCH_REQUIRE_BOARD"


def as_root() -> list[str] | None:
    """How to run the board script as root: directly, through passwordless sudo, or not at all."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n", "--preserve-env=EDGE_BENCH_CACHE,PATH"]
    return None


def unavailable_reason() -> str | None:
    """Why no board can run here, or None."""
    if as_root() is None:
        return "the emulated board needs root (chroot, mounts, binfmt_misc): run as root or with passwordless sudo"
    filesystems = Path("/proc/filesystems").read_text() if Path("/proc/filesystems").exists() else ""
    if "binfmt_misc" not in filesystems and not Path("/proc/sys/fs/binfmt_misc/register").exists():
        return "this kernel has no binfmt_misc: aarch64 programs cannot run through qemu-user"
    return None


def board(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(as_root() or []), "bash", str(BOARD), *args, "--name", NAME], capture_output=True, text=True, timeout=timeout
    )


def edge_bench(*args: str, cwd: Path, timeout: float = 3600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "edge_bench.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


@pytest.fixture(scope="module")
def board_target():
    reason = unavailable_reason()
    if reason:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
    up = board("up")
    assert up.returncode == 0, f"board.sh up failed:\n{up.stderr[-4000:]}"
    print(up.stderr)  # its timings, shown with -s
    path = Path(up.stdout.strip().splitlines()[-1])
    assert path.is_file(), up.stdout
    try:
        yield path
    finally:
        down = board("down")
        assert down.returncode == 0, down.stderr
        status = board("status")
        assert status.returncode != 0 and "sshd: not running" in status.stdout, status.stdout


def test_doctor_reaches_an_aarch64_board_with_litert(board_target, tmp_path):
    done = edge_bench("doctor", "--target", str(board_target), cwd=tmp_path)
    # "ok    native runner  built in ...": a check's name may be two words, its columns two spaces apart
    checks = (re.match(r"(ok|FAIL)\s+(\S+(?: \S+)*)", line) for line in done.stdout.splitlines())
    lines = {m.group(2): m.group(0) for m in checks if m}
    for check in ("connection", "python", "numpy", "litert"):
        assert lines.get(check, "").startswith("ok"), done.stdout + done.stderr
    # A torch-free board: ExecuTorch through the native runner built on the board, torch not needed.
    for check in ("compiler", "native runner"):
        assert lines.get(check, "").startswith("ok"), done.stdout + done.stderr


def test_smoke_sweep_over_ssh_gives_aarch64_records(board_target, tmp_path):
    out = tmp_path / "smoke"
    done = edge_bench("run", "--target", str(board_target), "--recipe", "smoke", "--out", str(out), cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert records and all(r["emulated"] is True for r in records)
    litert = [r for r in records if r["runtime"] == "litert"]
    assert len(litert) == 2 and all(r["status"] == "ok" for r in litert), [r["error"] for r in litert]
    for record in litert:
        assert record["env"]["machine"] == "aarch64"
        assert record["latency_ms"]["n"] >= 5
    executorch = [r for r in records if r["runtime"] == "executorch"]
    assert len(executorch) == 2 and all(r["status"] == "ok" for r in executorch), [r["error"] for r in executorch]
    for record in executorch:  # measured as a deployed app runs it: the C++ runner, no torch on the board
        assert record["env"]["runtime"]["api"] == "native" and record["env"]["machine"] == "aarch64"
    report = (out / "report.md").read_text()
    assert "(emulated)" in report and "left out of every fit" in report
    check_outputs_match_host(board_target, litert, tmp_path)


def test_profile_ops_on_the_board_gives_operator_tables_labelled_emulated(board_target, tmp_path):
    import pandas as pd

    from tests.tinymodels import small_roofline_probes

    out = tmp_path / "profiled"
    done = edge_bench(
        "run", "--target", str(board_target), "--recipe", "smoke", "--only", "resolution=64", "--profile-ops",
        "--out", str(out), cwd=small_roofline_probes(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = pd.read_csv(out / "operators-summary.csv")
    assert sorted(summary["runtime"]) == ["executorch", "litert"] and "missing_reason" not in summary, summary
    rows = pd.read_csv(out / "operators.csv")
    assert rows["emulated"].all() and (rows.groupby("runtime")["time_ms"].count() > 0).all()
    # ExecuTorch's ETDump written by the runner built on the board, LiteRT's profiler through the board's
    # libLiteRt.so: every MAC of the deployed graph in a row.
    assert (summary["macs_in_rows"] == summary["macs_deployed"]).all()
    probes = pd.read_csv(out / "roofline" / "operators.csv")
    assert probes["emulated"].all() and set(probes["probe"]) == {"compute", "memory"}
    report = (out / "report.md").read_text()
    section = report[report.index("## Per operator") :]
    assert "(emulated)" in section and "peak GMAC/s (measured)" in section


def host_outputs(artifact: str, images: np.ndarray) -> np.ndarray:
    from edge_bench.device.runtimes import ADAPTERS

    runtime = ADAPTERS["litert"](1)
    runtime.load(artifact)
    runtime.prepare(np.random.default_rng(0))
    outputs = []
    for image in images:
        runtime.set_inputs([image[None]])
        runtime.run()
        outputs.append(runtime.outputs()[0][0])
    return np.stack(outputs)


def check_outputs_match_host(board_target: Path, records: list[dict], tmp_path: Path) -> None:
    """The board's INT8 outputs against this host's for the same artifact and inputs: identical, or at
    least as close to each other as the artifact is to its FP32 model (the fidelity the report states)."""
    from edge_bench.accuracy.metrics import FidelityTally
    from edge_bench.config import load_target
    from edge_bench.transport import open_transport
    from edge_bench.transport.agent import run_agent
    from edge_bench.transport.bundle import build_agent_zipapp

    target = load_target(str(board_target))
    with open_transport(target) as session:
        agent = session.push(build_agent_zipapp(tmp_path / "agent"), "agent.pyz")
        for n, record in enumerate(records):
            side = record["variant"]["resolution"]
            images = np.random.default_rng(n).standard_normal((4, 3, side, side)).astype(np.float32)
            np.save(tmp_path / "inputs.npy", images)
            spec = {
                "artifact": session.push(Path(record["artifact"]["path"]), "model.tflite"),
                "runtime": "litert",
                "threads": 1,
                "warmup_runs": 0,
                "warmup_secs": 0,
                "min_runs": 1,
                "min_secs": 0,
                "max_secs": 10,
                "inputs": session.push(tmp_path / "inputs.npy", "inputs.npy"),
                "outputs": session.device_path("outputs.npy"),
            }
            result = run_agent(session, target.python, agent, spec, 600)
            assert result["status"] == "ok", result.get("error")
            session.pull("outputs.npy", tmp_path / "outputs.npy")
            on_board, on_host = np.load(tmp_path / "outputs.npy"), host_outputs(record["artifact"]["path"], images)
            if np.array_equal(on_board, on_host):
                continue
            tally = FidelityTally()
            tally.update(on_host, on_board)
            sqnr = tally.result()["sqnr_db"]
            stated = (record.get("accuracy") or {}).get("sqnr_db")
            assert stated is not None and sqnr >= stated, f"board vs host SQNR {sqnr} dB; artifact vs FP32 {stated} dB"
