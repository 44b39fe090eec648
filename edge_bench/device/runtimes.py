"""Runtime adapters: load an artifact, prepare it, run one inference — the same steps for both runtimes.

Each step is a separate method so the agent can time it and read memory around it.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import numpy as np


class RuntimeMissing(Exception):
    """The runtime cannot be imported on this device."""


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _random_input(shape, dtype: np.dtype, quant: tuple[float, int] | None, rng: np.random.Generator) -> np.ndarray:
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
    name = "litert"

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
        return {"package": self.package, "version": _version(self.package), "threads": self.threads}

    def load(self, path: str) -> None:
        self.interpreter = self._Interpreter(model_path=path, num_threads=self.threads)

    def prepare(self, rng: np.random.Generator) -> None:
        it = self.interpreter
        it.allocate_tensors()
        self.input_details = it.get_input_details()
        for d in self.input_details:
            it.set_tensor(d["index"], _random_input(d["shape"], d["dtype"], d.get("quantization"), rng))

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


class ExecuTorch:
    name = "executorch"

    def __init__(self, threads: int):
        self.threads = threads
        try:
            from executorch.runtime import Runtime, Verification
        except ImportError as e:
            missing = _missing_module(e)  # ExecuTorch re-raises it as "extension module _C not found"
            if missing == "torch":
                raise RuntimeMissing("ExecuTorch's Python runtime imports torch, which is not installed on the device: "
                                     "pip install torch==2.14.1") from None
            if missing and missing != "executorch":
                raise RuntimeMissing(f"ExecuTorch's Python runtime imports {missing}, which is not installed on the "
                                     "device: pip install executorch==1.5.1 with its dependencies") from None
            raise RuntimeMissing("ExecuTorch is not installed on the device: pip install executorch==1.5.1 torch==2.14.1") from None
        self._runtime = Runtime.get()
        self._verification = Verification.Minimal
        self._set_threads(threads)

    def _set_threads(self, threads: int) -> None:
        # The XNNPACK delegate runs on ExecuTorch's shared thread pool; size it like LiteRT's.
        from executorch.extension.pybindings import portable_lib

        portable_lib._unsafe_reset_threadpool(threads)
        self.pool_threads = portable_lib._threadpool_get_thread_count()

    def versions(self) -> dict[str, Any]:
        return {"package": "executorch", "version": _version("executorch"), "threads": self.pool_threads,
                "torch": _version("torch")}

    def load(self, path: str) -> None:
        self.program = self._runtime.load_program(path, verification=self._verification)

    def prepare(self, rng: np.random.Generator) -> None:
        import torch

        self.method = self.program.load_method("forward")
        meta = self.method.metadata
        self.inputs = []
        for i in range(meta.num_inputs()):
            x = _random_input(meta.input_tensor_meta(i).sizes(), np.float32, None, rng)
            self.inputs.append(torch.from_numpy(x))
        self._outputs = None

    def run(self) -> None:
        self._outputs = self.method.execute(self.inputs)

    def outputs(self) -> list[np.ndarray]:
        return [o.detach().numpy().astype(np.float32) for o in self._outputs]

    def set_inputs(self, arrays: list[np.ndarray]) -> None:
        import torch

        self.inputs = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in arrays]


ADAPTERS = {"litert": LiteRT, "executorch": ExecuTorch}
