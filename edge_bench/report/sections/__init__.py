"""The sections of a report, as prose and tables over the `Analysis`: presentation only.

Every number comes from `analysis.Analysis`; figures are drawn beforehand (`plots.draw`) and arrive as
paths. Each section says in one line why it is empty rather than disappearing. The sections are
grouped as a reader meets them: `overview` (the answer, the setup, the measurements, their noise, the
failures), `costs` (compute, memory, fronts, selection), `comparisons` (runtimes and devices side by
side) and `artifacts` (delegation, INT8, microcontrollers); `formatting` is what they share.
"""

from __future__ import annotations

from typing import Callable

from ..analysis import Analysis
from ..blocks import Section
from .artifacts import delegation_section, int8_section, mcu_section
from .comparisons import cross_device_section, cross_runtime_section
from .costs import (
    energy_section,
    fit_section,
    memory_section,
    pareto_section,
    random_resolution_section,
    selection_section,
)
from .formatting import Images
from .overview import answer, failures, measurements, noise_section, setup_section

# The order of the report: the answer first, then what it rests on.
SECTIONS: tuple[Callable[[Analysis, Images], Section], ...] = (
    answer, setup_section, measurements, noise_section, failures, fit_section, memory_section, pareto_section, selection_section,
    random_resolution_section, cross_runtime_section, cross_device_section, energy_section, delegation_section,
    int8_section, mcu_section,
)  # fmt: skip


def build_sections(a: Analysis, images: Images) -> list[Section]:
    """Every section of the report, in order; the first is the answer."""
    return [make(a, images) for make in SECTIONS]
