"""Variant -> FP32 model -> analytic numbers and INT8 artifacts, each cached (`builder`), in parallel
worker processes when asked (`parallel`)."""

from .builder import BuildOutcome, Builder, artifact_memory_info, build_all, one_line

__all__ = ["BuildOutcome", "Builder", "artifact_memory_info", "build_all", "one_line"]
