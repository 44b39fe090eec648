"""Native benchmark tools for phones: LiteRT's `benchmark_model` and ExecuTorch's `executor_runner`.

Where Python cannot run (Android over adb), these prebuilt android-arm64 binaries do the timing.
Each tool's module builds its command line and turns its text output into the agent's result shape
(`latency_ms`, `first_inference_ms`, `load_ms`, `memory`, with a `notes` entry saying what each
number is). A number the tool does not report is None; where only a coarser figure exists (the
old executor_runner's total time) it is used as such and the note says so.

One module a tool: `benchmark_model.py` (LiteRT), `executor_runner.py` (ExecuTorch); here, both side by side
for the measuring side, which picks one by runtime.
"""

from .benchmark_model import benchmark_model_argv, parse_benchmark_model, parse_stat_line
from .executor_runner import executor_runner_argv, parse_executor_runner

__all__ = [
    "benchmark_model_argv",
    "executor_runner_argv",
    "parse_benchmark_model",
    "parse_executor_runner",
    "parse_stat_line",
]
