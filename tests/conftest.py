"""Shared fixtures: a real OpenSSH server on 127.0.0.1 and the ssh target that reaches it, the tiny
models' artifacts built once per test run, a tiny .tflite, the agent zipapp, and a Python without runtimes.

Under pytest-xdist every worker is a process of its own with its own base temp folder: what the workers
share (the tiny recipe's builds) is built once into the run's common folder under a file lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

# Each xdist worker computes on one core. Two workers whose torch each spreads over both cores wait on each
# other in OpenMP's barriers: a ResNet MAC count took 145 s that way instead of under 10 s. Conversions are
# single-threaded anyway (build.builder), so only the host-side forward passes see this.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def run_folder(tmp_path_factory) -> Path:
    """The folder all workers of this test run share: pytest's base temp folder, or under xdist (where
    each worker has its own, `.../pytest-N/popen-gwK`) the folder above it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def run_lock(tmp_path_factory, name: str):
    """Held by one worker of the test run at a time."""
    with (run_folder(tmp_path_factory) / f"{name}.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """An artifact cache holding the tiny recipe's builds (both resolutions, both runtimes, the analytic
    numbers): this worker's own copy, which tests may point EDGE_BENCH_CACHE at and even damage.

    Converting is most of what the tests that measure these models cost: the first worker to ask builds
    them into the run's common folder while the others wait, and each worker copies that folder.
    """
    from edge_bench.build import Builder
    from edge_bench.config import load_recipe
    from edge_bench.export.cache import ArtifactCache
    from edge_bench.recipes import expand
    from tests.tinymodels import tiny_recipe_file

    recipe = load_recipe(tiny_recipe_file(tmp_path_factory.mktemp("tiny-recipe")))
    built = run_folder(tmp_path_factory) / "tiny-cache-built"
    with run_lock(tmp_path_factory, "tiny-cache-built"):
        if not (built / "complete").exists():
            builder = Builder(recipe, ArtifactCache(built))
            for variant in expand(recipe):
                memo: dict = {}
                builder.analytic(variant, memo)
                for runtime in ("executorch", "litert"):
                    outcome = builder.artifact(variant, runtime, memo)
                    assert outcome.error is None, outcome.error
            (built / "complete").touch()
    mine = tmp_path_factory.getbasetemp() / "tiny-cache"
    if not mine.exists():
        shutil.copytree(built, mine)
    return mine


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory):
    """A loopback sshd for this test session (skipped with the reason when sshd is not installed)."""
    from tests.sshd import LoopbackSshd, missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = LoopbackSshd(tmp_path_factory.mktemp("sshd")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sshd_target(sshd_server, tmp_path_factory):
    """An ssh target file for the loopback server, loaded like any other: the host is a config alias,
    the device's Python is this interpreter (it has numpy and both runtimes)."""
    from edge_bench.config import load_target

    path = tmp_path_factory.mktemp("targets") / "loopback.toml"
    path.write_text(
        'description = "this machine over a real loopback OpenSSH connection"\n'
        'kind = "ssh"\n'
        "threads = 1\n"
        f'python = "{sys.executable}"\n'
        "[ssh]\n"
        f'host = "{sshd_server.alias}"\n'
        f'config_file = "{sshd_server.client_config}"\n'
        "connect_timeout_secs = 5\n"
        "[measure]\n"
        "warmup_runs = 1\nwarmup_secs = 0.0\nmin_runs = 3\nmin_secs = 0.0\nmax_secs = 2.0\ntimeout_secs = 60.0\n"
    )
    return load_target(str(path))


def write_tiny_tflite(path: Path) -> Path:
    """Two 3x3 convolutions (3->4 with ReLU, 4->4), float32 NHWC 1x8x8x3, written as a .tflite flatbuffer.

    Built from LiteRT's own schema (shipped with ai_edge_litert): a valid model in a fraction of a
    second, where a converter run would cost the ssh tests most of their time budget.
    """
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as tfl

    rng = np.random.default_rng(0)
    weights = [
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
        rng.standard_normal((4, 3, 3, 4)),
        rng.standard_normal(4),
    ]

    def buffer(array=None):
        b = tfl.BufferT()
        if array is not None:
            b.data = np.frombuffer(array.astype(np.float32).tobytes(), dtype=np.uint8)
        return b

    def tensor(name, shape, buffer_index):
        return tfl.TensorT(shape=list(shape), type=tfl.TensorType.FLOAT32, buffer=buffer_index, name=name)

    def conv(inputs, output, activation):
        options = tfl.Conv2DOptionsT(padding=tfl.Padding.SAME, strideW=1, strideH=1, fusedActivationFunction=activation)
        return tfl.OperatorT(
            opcodeIndex=0,
            inputs=inputs,
            outputs=[output],
            builtinOptionsType=tfl.BuiltinOptions.Conv2DOptions,
            builtinOptions=options,
        )

    graph = tfl.SubGraphT(
        tensors=[
            tensor("input", (1, 8, 8, 3), 1),
            tensor("w1", (4, 3, 3, 3), 2),
            tensor("b1", (4,), 3),
            tensor("hidden", (1, 8, 8, 4), 4),
            tensor("w2", (4, 3, 3, 4), 5),
            tensor("b2", (4,), 6),
            tensor("output", (1, 8, 8, 4), 7),
        ],
        inputs=[0],
        outputs=[6],
        operators=[
            conv([0, 1, 2], 3, tfl.ActivationFunctionType.RELU),
            conv([3, 4, 5], 6, tfl.ActivationFunctionType.NONE),
        ],
    )
    model = tfl.ModelT(
        version=3,
        subgraphs=[graph],
        description="edge-bench test model",
        operatorCodes=[
            tfl.OperatorCodeT(
                deprecatedBuiltinCode=tfl.BuiltinOperator.CONV_2D, builtinCode=tfl.BuiltinOperator.CONV_2D, version=1
            )
        ],
        buffers=[
            buffer(),
            buffer(),
            buffer(weights[0]),
            buffer(weights[1]),
            buffer(),
            buffer(weights[2]),
            buffer(weights[3]),
            buffer(),
        ],
    )
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory) -> Path:
    """A tiny two-conv .tflite, written once per session."""
    return write_tiny_tflite(tmp_path_factory.mktemp("tiny-model") / "tiny.tflite")


@pytest.fixture(scope="session")
def agent_pyz(tmp_path_factory) -> Path:
    """The device agent zipapp, built once per session."""
    from edge_bench.transport.bundle import build_agent_zipapp

    return build_agent_zipapp(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="session")
def python_without_runtimes(tmp_path_factory) -> str:
    """A Python with numpy but neither LiteRT nor ExecuTorch: a board where no runtime was installed."""
    import subprocess

    import numpy

    venv = tmp_path_factory.mktemp("bare-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    packages = Path(numpy.__file__).parent.parent
    for name in ("numpy", "numpy.libs"):
        if (packages / name).exists():
            (site / name).symlink_to(packages / name)
    return str(venv / "bin" / "python")
