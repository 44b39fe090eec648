"""Build the native ExecuTorch runner on this device, with this device's compiler, once.

The executorch wheel ships what a C++ program needs (`lib/libexecutorch*.so`, the XNNPACK backend,
the thread pool, `include/`), none of it linked to libtorch. Its files are found without importing
executorch (that import loads torch). The binary is cached under `~/.cache/edge-bench/native/<key>/`
(or `$EDGE_BENCH_CACHE/native/`), the key being the wheel's version and place, the compiler and the
hash of the runner's source, so a changed source, wheel or compiler builds anew and nothing else does.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = "et_runner.cpp"
BINARY = "edge-bench-et-runner"
COMPILERS = ("c++", "g++", "clang++")
BUILD_TIMEOUT_SECS = 600.0
REQUIRED_LIBS = ("executorch_backend_xnnpack", "executorch_threadpool", "executorch")
# Kernels for the operators XNNPACK does not take; the Python runtime links the same library.
OPTIONAL_LIBS = ("executorch_kernels_optimized",)
# ExecuTorch's ETDump event tracer: where the wheel ships it, the runner can also profile per operator.
ETDUMP_LIB = "executorch_etdump"
ETDUMP_HEADER = "executorch/devtools/etdump/etdump_flatcc.h"
HEADER = "executorch/extension/module/module.h"
WHEEL_FIX = "pip install --no-deps executorch==1.5.1 (the native runner needs the wheel's files, not torch)"
COMPILER_FIX = "install a C++17 compiler on the device (e.g. sudo apt install g++), or point CXX at one"


class NativeUnavailable(Exception):
    """The native runner cannot be built or run here: the message says why, `fix` what would help."""

    def __init__(self, message: str, fix: str = ""):
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class Wheel:
    """The installed executorch wheel's native files."""

    version: str
    root: Path  # .../site-packages/executorch

    @property
    def include(self) -> Path:
        return self.root / "include"

    @property
    def lib(self) -> Path:
        return self.root / "lib"

    def libraries(self) -> list[str]:
        """Link names, backend and kernels first: the runtime they register with comes last."""
        present = [n for n in OPTIONAL_LIBS if (self.lib / f"lib{n}.so").is_file()]
        if self.has_etdump:
            present.append(ETDUMP_LIB)
        return [REQUIRED_LIBS[0], *present, *REQUIRED_LIBS[1:]]

    @property
    def has_etdump(self) -> bool:
        return (self.lib / f"lib{ETDUMP_LIB}.so").is_file() and (self.include / ETDUMP_HEADER).is_file()


@dataclass(frozen=True)
class Runner:
    """A built runner, ready to run."""

    path: Path
    sha256: str
    compiler: str
    wheel: Wheel
    key: str
    built_now: bool
    build_s: float | None

    def describe(self) -> dict[str, Any]:
        """What a record says about the runner that measured it."""
        return {
            "binary_sha256": self.sha256,
            "compiler": self.compiler,
            "build_key": self.key,
            "built_now": self.built_now,
            "build_s": self.build_s,
            "libraries": self.wheel.libraries(),
        }


def _wheel_root_and_version() -> tuple[Path, str | None]:
    try:
        dist = importlib.metadata.distribution("executorch")
        return Path(str(dist.locate_file("executorch"))), dist.version
    except importlib.metadata.PackageNotFoundError:
        pass
    # Not installed as a distribution (a source tree on the path): executorch is a namespace package,
    # so locating it imports nothing.
    spec = importlib.util.find_spec("executorch")
    if spec is None or not spec.submodule_search_locations:
        raise NativeUnavailable("the executorch wheel is not installed", WHEEL_FIX)
    root = Path(list(spec.submodule_search_locations)[0])
    match = re.search(r'__version__\s*=\s*"([^"]+)"', _read(root / "version.py"))
    return root, match.group(1) if match else None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def find_wheel() -> Wheel:
    """The executorch wheel's headers and libraries, or NativeUnavailable naming what is missing."""
    root, version = _wheel_root_and_version()
    wheel = Wheel(version or "unknown", root)
    missing = [f"lib/lib{n}.so" for n in REQUIRED_LIBS if not (wheel.lib / f"lib{n}.so").is_file()]
    if not (wheel.include / HEADER).is_file():
        missing.append(f"include/{HEADER}")
    if missing:
        raise NativeUnavailable(f"executorch {wheel.version} at {root} has no {', '.join(missing)}", WHEEL_FIX)
    return wheel


def find_compiler() -> str:
    """$CXX, else the first of c++, g++, clang++ on PATH."""
    wanted = os.environ.get("CXX")
    for name in [wanted] if wanted else COMPILERS:
        path = shutil.which(name)
        if path:
            return path
    where = f"CXX={wanted} is not an executable" if wanted else f"none of {', '.join(COMPILERS)} is on PATH"
    raise NativeUnavailable(f"no C++ compiler: {where}", COMPILER_FIX)


def compiler_identity(cxx: str) -> str:
    """`g++ (Debian 12.2.0-14) 12.2.0 for x86_64-linux-gnu`: the compiler's own words, and its target."""
    try:
        version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60)
        machine = subprocess.run([cxx, "-dumpmachine"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NativeUnavailable(f"compiler {cxx} does not run: {e}", COMPILER_FIX) from None
    first = version.stdout.strip().splitlines()[0] if version.stdout.strip() else ""
    if version.returncode != 0 or not first:
        raise NativeUnavailable(
            f"compiler {cxx} does not run (`--version` exit {version.returncode}: "
            f"{_error_line(version.stderr) or 'no output'})",
            COMPILER_FIX,
        )
    target = machine.stdout.strip() if machine.returncode == 0 else ""
    return f"{first} for {target}" if target else first


def source_bytes() -> bytes:
    """The runner's source, read from the package (also inside the agent's zipapp)."""
    return importlib.resources.files(__package__).joinpath(SOURCE).read_bytes()


def compile_command(cxx: str, wheel: Wheel, source: Path, output: Path) -> list[str]:
    """The wheel's own recipe (its CMake config's include dirs, definitions and C++ standard)."""
    c10 = wheel.include / "executorch" / "runtime" / "core" / "portable_type" / "c10"
    return [
        cxx,
        "-std=c++17",
        "-O2",
        "-Wno-deprecated-declarations",
        f"-I{wheel.include}",
        f"-I{c10}",
        "-DC10_USING_CUSTOM_GENERATED_MACROS",
        "-DET_EVENT_TRACER_ENABLED",
        "-DET_USE_THREADPOOL",
        *(["-DEDGE_BENCH_ETDUMP"] if wheel.has_etdump else []),
        str(source),
        "-o",
        str(output),
        f"-L{wheel.lib}",
        # The backend and the kernels register themselves from static initialisers and export nothing
        # the runner calls: without this the linker drops them and the program finds no XNNPACK.
        "-Wl,--no-as-needed",
        *(f"-l{name}" for name in wheel.libraries()),
        f"-Wl,-rpath,{wheel.lib}",
        "-pthread",
    ]


def default_cache_root() -> Path:
    return Path(os.environ.get("EDGE_BENCH_CACHE") or Path.home() / ".cache" / "edge-bench") / "native"


def build_key(source: bytes, wheel: Wheel, compiler: str, cxx: str) -> str:
    recipe = compile_command(cxx, wheel, Path(SOURCE), Path(BINARY))
    parts = {
        "source": hashlib.sha256(source).hexdigest(),
        "executorch": wheel.version,
        "wheel": str(wheel.root),
        "compiler": compiler,
        "command": recipe,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _error_line(text: str) -> str:
    """The compiler's first error (or its last line), short enough for a record."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    line = (errors or lines or [""])[0]
    return line if len(line) <= 300 else line[:300] + " ..."


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_runner(cache_root: Path | None = None) -> Runner:
    """The runner for this device's wheel and compiler: cached, or built now (NativeUnavailable if not)."""
    wheel = find_wheel()
    cxx = find_compiler()
    compiler = compiler_identity(cxx)
    source = source_bytes()
    key = build_key(source, wheel, compiler, cxx)
    folder = (cache_root or default_cache_root()) / key
    binary = folder / BINARY
    if binary.is_file() and os.access(binary, os.X_OK):
        return Runner(binary, _sha256(binary), compiler, wheel, key, built_now=False, build_s=None)

    staging = folder / f".build-{os.getpid()}"
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NativeUnavailable(
            f"cannot create the runner's cache folder {folder}: {e.strerror}",
            "set EDGE_BENCH_CACHE to a writable folder on the device",
        ) from None
    try:
        (staging / SOURCE).write_bytes(source)
        # Relative names, run in the staging folder: the object's file symbol is then the same in every
        # build, so the same source, wheel and compiler give the same binary (and the same hash).
        command = compile_command(cxx, wheel, Path(SOURCE), Path(BINARY))
        t0 = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECS, cwd=staging)
        except subprocess.TimeoutExpired:
            raise NativeUnavailable(
                f"building the native runner took longer than {BUILD_TIMEOUT_SECS:.0f} s",
                "build it once by hand: edge-bench doctor shows the command",
            ) from None
        except OSError as e:
            raise NativeUnavailable(f"compiler {cxx} does not run: {e}", COMPILER_FIX) from None
        seconds = time.perf_counter() - t0
        log = folder / "build.log"
        log.write_text(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
        if done.returncode != 0 or not (staging / BINARY).is_file():
            raise NativeUnavailable(
                f"the native runner did not build with {compiler}: {_error_line(done.stderr)}",
                f"read {log}; check that the compiler supports C++17 and the wheel is complete",
            )
        shutil.copyfile(staging / SOURCE, folder / SOURCE)  # kept beside the binary it built
        os.replace(staging / BINARY, binary)  # atomic: a concurrent build never runs half a binary
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Runner(binary, _sha256(binary), compiler, wheel, key, built_now=True, build_s=round(seconds, 2))
