"""Variant -> FP32 model -> analytic numbers and INT8 artifacts, each cached (`builder`), for a whole sweep
(`sweep.build_all`), in parallel worker processes when asked (`parallel`, sized by `memory`)."""

from .builder import BuildOutcome, Builder, artifact_memory_info, one_line
from .sweep import build_all

__all__ = ["BuildOutcome", "Builder", "artifact_memory_info", "build_all", "one_line"]
