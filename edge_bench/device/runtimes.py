"""Runtime adapters: load an artifact, prepare it, run one inference — the same steps for every runtime.

Each step is a separate method so the agent can time it and read memory around it. A runtime may be
reached through more than one API (`APIS`): LiteRT through its Interpreter or its CompiledModel API,
ExecuTorch through its Python runtime here or the native runner (edge_bench.device.native), which
measures in its own process.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike


class RuntimeMissing(Exception):
    """The runtime cannot be imported on this device."""


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_version(names: tuple[str, ...]) -> dict[str, str | None]:
    """The first of `names` that is installed, and its version (both None when none is)."""
    for name in names:
        version = _version(name)
        if version is not None:
            return {"package": name, "version": version}
    return {"package": None, "version": None}


def random_input(shape, dtype: DTypeLike, quant: tuple[float, int] | None, rng: np.random.Generator) -> np.ndarray:
    """A standard-normal image, quantized with the model's own input parameters when it takes integers."""
    x = rng.standard_normal(size=tuple(int(d) for d in shape)).astype(np.float32)
    if np.issubdtype(dtype, np.integer):
        scale, zero_point = quant if quant and quant[0] else (1.0, 0)
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _missing_module(error: BaseException | None) -> str | None:
    """The module whose absence caused an ImportError, looking through the errors it was raised from."""
    while error is not None:
        if isinstance(error, ModuleNotFoundError) and error.name:
            return error.name.split(".")[0]
        error = error.__cause__ or error.__context__
    return None


class LiteRT:
    """LiteRT through its Interpreter API."""

    name = "litert"
    package_names = ("ai-edge-litert", "tflite-runtime")
    api = "interpreter"

    def __init__(self, threads: int):
        self.threads = threads
        try:
            from ai_edge_litert.interpreter import Interpreter

            self.package = "ai-edge-litert"
        except ImportError:
            try:  # superseded, accepted on boards that only have it
                from tflite_runtime.interpreter import Interpreter

                self.package = "tflite-runtime"
            except ImportError:
                raise RuntimeMissing(
                    "LiteRT is not installed on the device: pip install ai-edge-litert==2.3.0"
                ) from None
        self._Interpreter = Interpreter

    def versions(self) -> dict[str, Any]:
        return {"package": self.package, "version": _version(self.package), "threads": self.threads, "api": self.api}

    def load(self, path: str) -> None:
        self.interpreter = self._Interpreter(model_path=path, num_threads=self.threads)

    def prepare(self, rng: np.random.Generator) -> None:
        it = self.interpreter
        it.allocate_tensors()
        self.input_details = it.get_input_details()
        for d in self.input_details:
            it.set_tensor(d["index"], random_input(d["shape"], d["dtype"], d.get("quantization"), rng))

    def run(self) -> None:
        self.interpreter.invoke()

    def outputs(self) -> list[np.ndarray]:
        """Outputs as float32, dequantized with the model's own parameters."""
        out = []
        for d in self.interpreter.get_output_details():
            y = self.interpreter.get_tensor(d["index"])
            scale, zero_point = d.get("quantization") or (0.0, 0)
            if np.issubdtype(y.dtype, np.integer) and scale:
                y = (y.astype(np.float32) - zero_point) * scale
            out.append(np.asarray(y, dtype=np.float32))
        return out

    def set_inputs(self, arrays: list[np.ndarray]) -> None:
        """Float32 NCHW images, quantized and laid out as the model's inputs want them."""
        for d, x in zip(self.input_details, arrays):
            shape = tuple(int(v) for v in d["shape"])
            if x.shape != shape and x.ndim == 4 and (x.shape[0], x.shape[2], x.shape[3], x.shape[1]) == shape:
                x = x.transpose(0, 2, 3, 1)  # NCHW -> NHWC
            scale, zero_point = d.get("quantization") or (0.0, 0)
            if np.issubdtype(d["dtype"], np.integer) and scale:
                info = np.iinfo(d["dtype"])
                x = np.clip(np.round(x / scale) + zero_point, info.min, info.max)
            self.interpreter.set_tensor(d["index"], x.astype(d["dtype"]))


class LiteRTCompiled:
    """LiteRT through its CompiledModel API, the one LiteRT 2.x recommends and its own benchmark tool
    (ai_edge_litert/tools/benchmark_litert_model.py) uses: an Environment, CPU options with the thread
    count, tensor buffers bound once and run by signature."""

    name = "litert"
    api = "compiled_model"
    package = "ai-edge-litert"

    def __init__(self, threads: int):
        self.threads = threads
        try:
            from ai_edge_litert.compiled_model import CompiledModel
            from ai_edge_litert.environment import Environment, EnvironmentOptions
            from ai_edge_litert.hardware_accelerator import HardwareAccelerator
            from ai_edge_litert.options import CpuOptions, Options
        except ImportError:
            raise RuntimeMissing(
                "LiteRT's CompiledModel API is not installed on the device: pip install ai-edge-litert==2.3.0"
            ) from None
        self._CompiledModel = CompiledModel
        self._environment = lambda: Environment.create(options=EnvironmentOptions())
        self._options = lambda: Options(
            hardware_accelerators=HardwareAccelerator.CPU, cpu_options=CpuOptions(num_threads=threads)
        )

    def versions(self) -> dict[str, Any]:
        return {"package": self.package, "version": _version(self.package), "threads": self.threads, "api": self.api}

    def load(self, path: str) -> None:
        self.path = path
        self.model = self._CompiledModel.from_file(path, environment=self._environment(), options=self._options())

    def prepare(self, rng: np.random.Generator) -> None:
        model = self.model
        signatures = list(model.get_signature_list())
        self.signature = signatures[0] if signatures else "serving_default"
        self.input_details = model.get_input_tensor_details(self.signature)
        self.output_details = model.get_output_tensor_details(self.signature)
        self.quantization = _quantization(self.path, self.signature, self.input_details)
        self.output_quantization = _quantization(self.path, self.signature, self.output_details)
        self.inputs = {name: model.create_input_buffer_by_name(self.signature, name) for name in self.input_details}
        self.outputs_ = {name: model.create_output_buffer_by_name(self.signature, name) for name in self.output_details}
        for name, d in self.input_details.items():
            self.inputs[name].write(random_input(d["shape"], np.dtype(d["dtype"]), self.quantization.get(name), rng))

    def run(self) -> None:
        self.model.run_by_name(self.signature, self.inputs, self.outputs_)

    def outputs(self) -> list[np.ndarray]:
        """Outputs as float32, dequantized with the model's own parameters."""
        out = []
        for name, d in self.output_details.items():
            shape = tuple(int(v) for v in d["shape"])
            y = self.outputs_[name].read(int(np.prod(shape)), np.dtype(d["dtype"])).reshape(shape)
            scale, zero_point = self.output_quantization.get(name) or (0.0, 0)
            if np.issubdtype(y.dtype, np.integer) and scale:
                y = (y.astype(np.float32) - zero_point) * scale
            out.append(np.asarray(y, dtype=np.float32))
        return out

    def set_inputs(self, arrays: list[np.ndarray]) -> None:
        """Float32 NCHW images, quantized and laid out as the model's inputs want them."""
        for (name, d), x in zip(self.input_details.items(), arrays):
            shape, dtype = tuple(int(v) for v in d["shape"]), np.dtype(d["dtype"])
            if x.shape != shape and x.ndim == 4 and (x.shape[0], x.shape[2], x.shape[3], x.shape[1]) == shape:
                x = x.transpose(0, 2, 3, 1)  # NCHW -> NHWC
            scale, zero_point = self.quantization.get(name) or (0.0, 0)
            if np.issubdtype(dtype, np.integer) and scale:
                info = np.iinfo(dtype)
                x = np.clip(np.round(x / scale) + zero_point, info.min, info.max)
            self.inputs[name].write(np.ascontiguousarray(x, dtype=dtype))


def _quantization(path: str, signature: str, details: dict[str, Any]) -> dict[str, tuple[float, int]]:
    """(scale, zero point) of each integer tensor in `details` (a signature's inputs or outputs), read
    from the model file: the CompiledModel API does not report them."""
    if not any(np.issubdtype(np.dtype(d["dtype"]), np.integer) for d in details.values()):
        return {}
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(Path(path).read_bytes(), 0)
    keys = {
        model.SignatureDefs(i).SignatureKey().decode(): model.SignatureDefs(i).SubgraphIndex()
        for i in range(model.SignatureDefsLength())
    }
    graph = model.Subgraphs(keys.get(signature, 0))
    found = {}
    for name, d in details.items():
        q = graph.Tensors(int(d["index"])).Quantization()
        if q is not None and q.ScaleLength():
            found[name] = (float(q.Scale(0)), int(q.ZeroPoint(0)) if q.ZeroPointLength() else 0)
    return found


class ExecuTorch:
    """ExecuTorch through its Python runtime (which imports torch)."""

    name = "executorch"
    package_names = ("executorch",)
    api = "python"

    def __init__(self, threads: int):
        self.threads = threads
        try:
            from executorch.runtime import Runtime, Verification
        except ImportError as e:
            missing = _missing_module(e)  # ExecuTorch re-raises it as "extension module _C not found"
            if missing == "torch":
                raise RuntimeMissing(
                    "ExecuTorch's Python runtime imports torch, which is not installed on the device: "
                    "pip install torch==2.14.1"
                ) from None
            if missing and missing != "executorch":
                raise RuntimeMissing(
                    f"ExecuTorch's Python runtime imports {missing}, which is not installed on the "
                    "device: pip install executorch==1.5.1 with its dependencies"
                ) from None
            raise RuntimeMissing(
                "ExecuTorch is not installed on the device: pip install executorch==1.5.1 torch==2.14.1"
            ) from None
        self._runtime = Runtime.get()
        self._verification = Verification.Minimal
        self._set_threads(threads)

    def _set_threads(self, threads: int) -> None:
        # The XNNPACK delegate runs on ExecuTorch's shared thread pool; size it like LiteRT's.
        from executorch.extension.pybindings import portable_lib

        portable_lib._unsafe_reset_threadpool(threads)
        self.pool_threads = portable_lib._threadpool_get_thread_count()

    def versions(self) -> dict[str, Any]:
        return {
            "package": "executorch",
            "version": _version("executorch"),
            "threads": self.pool_threads,
            "torch": _version("torch"),
            "api": self.api,
        }

    def load(self, path: str) -> None:
        self.program = self._runtime.load_program(path, verification=self._verification)

    def prepare(self, rng: np.random.Generator) -> None:
        import torch

        self.method = self.program.load_method("forward")
        meta = self.method.metadata
        self.inputs = []
        for i in range(meta.num_inputs()):
            x = random_input(meta.input_tensor_meta(i).sizes(), np.float32, None, rng)
            self.inputs.append(torch.from_numpy(x))
        self._outputs: list[Any] | None = None

    def run(self) -> None:
        self._outputs = self.method.execute(self.inputs)

    def outputs(self) -> list[np.ndarray]:
        if self._outputs is None:
            raise RuntimeError("outputs() before run()")
        return [o.detach().numpy().astype(np.float32) for o in self._outputs]

    def set_inputs(self, arrays: list[np.ndarray]) -> None:
        import torch

        self.inputs = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in arrays]


ADAPTERS = {"litert": LiteRT, "executorch": ExecuTorch}  # each runtime's default API
# The APIs each runtime can be measured through, the default first. "native" runs in its own process.
APIS = {"executorch": ("python", "native"), "litert": ("interpreter", "compiled_model")}
IN_PROCESS = {
    ("litert", "interpreter"): LiteRT,
    ("litert", "compiled_model"): LiteRTCompiled,
    ("executorch", "python"): ExecuTorch,
}


def adapter(runtime: str, api: str | None = None):
    """The adapter class measuring `runtime` through `api` in this process (None: the default API)."""
    if runtime not in APIS:
        raise ValueError(f"unknown runtime {runtime!r} (known: {', '.join(APIS)})")
    api = api or APIS[runtime][0]
    if (runtime, api) not in IN_PROCESS:
        raise ValueError(f"{runtime} has no in-process API {api!r} (known: {', '.join(APIS[runtime])})")
    return IN_PROCESS[(runtime, api)]
