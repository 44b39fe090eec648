"""Microcontroller targets: budget checks, the labelled latency estimate, the shipped files, Cortex-M export."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from edge_bench.config import RECIPES_DIR, TARGETS_DIR, McuConfig, load_recipe, load_target
from edge_bench.errors import VariantFailure
from edge_bench.mcu import (
    LATENCY_FORMULA,
    NOT_MEASURED_REASON,
    estimate_latency_ms,
    fit_check,
    mcu_planned_bytes,
    mcu_record,
)
from edge_bench.recipes import expand

H7 = McuConfig(
    sram_bytes=512 * 1024, flash_bytes=2 * 1024 * 1024, clock_hz=480_000_000, core="cortex-m7", macs_per_cycle=0.5
)
ANALYTIC = {"macs": 6_000_000, "weight_bytes": 400_000, "liveness_bytes": 300_000, "activation_bytes": 250_000}


# ---------------------------------------------------------------- fit


def test_fit_prefers_the_runtime_plan_then_liveness_then_the_paper_metric():
    planned = fit_check(ANALYTIC, 450_000, 200_000, H7)
    assert planned["sram"]["source"] == "planned" and planned["sram"]["need_bytes"] == 200_000
    liveness = fit_check(ANALYTIC, 450_000, None, H7)
    assert liveness["sram"]["source"] == "liveness_peak" and liveness["sram"]["need_bytes"] == 300_000
    paper = fit_check({"activation_bytes": 250_000}, 450_000, None, H7)
    assert paper["sram"]["source"] == "paper_activation" and paper["sram"]["need_bytes"] == 250_000
    none = fit_check({}, None, None, H7)
    assert none["fits"] is None and none["sram"]["reason"] and none["flash"]["reason"]


def test_fit_margins_in_bytes_and_percent():
    result = fit_check(ANALYTIC, 450_000, 200_000, H7)
    assert result["fits"] is True
    flash, sram = result["flash"], result["sram"]
    assert flash["source"] == "artifact" and flash["margin_bytes"] == 2 * 1024 * 1024 - 450_000
    assert sram["margin_bytes"] == 512 * 1024 - 200_000
    assert sram["margin_pct"] == pytest.approx(100 * (512 * 1024 - 200_000) / (512 * 1024), abs=0.01)
    too_big = fit_check(ANALYTIC, 450_000, 600_000, H7)
    assert too_big["fits"] is False and too_big["sram"]["fits"] is False
    assert too_big["sram"]["margin_bytes"] == 512 * 1024 - 600_000 < 0 and too_big["sram"]["margin_pct"] < 0


def test_fit_without_artifact_uses_int8_weights_and_reports_missing_budgets():
    no_flash = McuConfig(sram_bytes=1024, clock_hz=1)
    result = fit_check(ANALYTIC, None, None, no_flash)
    assert result["flash"]["source"] == "int8_weight_bytes" and result["flash"]["need_bytes"] == 400_000
    assert result["flash"]["fits"] is None and "flash_bytes" in result["flash"]["reason"]
    assert result["sram"]["fits"] is False
    assert result["fits"] is False  # one budget known to be exceeded decides


def test_fit_with_the_analytic_model_of_a_real_network():
    from edge_bench.analytic import analyze_model
    from tests.tinymodels import TinyResidual

    analytic = analyze_model(TinyResidual().eval(), (1, 3, 16, 16))
    result = fit_check(analytic, None, None, H7)
    assert result["sram"]["source"] == "liveness_peak"
    assert result["sram"]["need_bytes"] == analytic["liveness_bytes"] > 0
    assert result["flash"]["need_bytes"] == analytic["weight_bytes"] > 0


# ---------------------------------------------------------------- latency


def test_latency_estimate_is_labelled_and_follows_its_formula():
    estimate = estimate_latency_ms(6_000_000, H7)
    assert estimate["kind"] == "estimate" and estimate["formula"] == LATENCY_FORMULA
    assert estimate["latency_ms"] == pytest.approx(6_000_000 / (0.5 * 480e6) * 1000)  # 25 ms
    assert estimate["inputs"] == {"macs": 6_000_000, "macs_per_cycle": 0.5, "clock_hz": 480_000_000}
    assert estimate["reason"] is None


@pytest.mark.parametrize(
    "macs, mcu, fragment",
    [
        (6_000_000, McuConfig(clock_hz=480_000_000), "macs_per_cycle"),
        (6_000_000, McuConfig(macs_per_cycle=0.5), "clock_hz"),
        (6_000_000, McuConfig(clock_hz=1, macs_per_cycle=0.0), "> 0"),
        (None, H7, "MAC count"),
    ],
)
def test_latency_estimate_missing_with_reason(macs, mcu, fragment):
    estimate = estimate_latency_ms(macs, mcu)
    assert estimate["latency_ms"] is None and fragment in estimate["reason"]


# ---------------------------------------------------------------- shipped targets and recipe


@pytest.mark.parametrize("name", ["mcu-stm32h7", "mcu-corstone300-u55", "mcu-esp32s3", "mcu-cortex-m33"])
def test_shipped_mcu_targets(name):
    target = load_target(name)
    assert target.kind == "mcu" and target.threads == 1 and target.description
    mcu = target.mcu
    assert mcu.sram_bytes >= 256 * 1024 and mcu.clock_hz >= 100_000_000 and mcu.core
    assert mcu.macs_per_cycle is None or 0 < mcu.macs_per_cycle < 4
    text = (TARGETS_DIR / f"{name}.toml").read_text()
    if mcu.macs_per_cycle is not None:
        assert "MLPerf Tiny" in text or "esp-tflite-micro" in text  # every figure says where it comes from
    estimate = estimate_latency_ms(10_000_000, mcu)
    assert (estimate["latency_ms"] is None) == (mcu.macs_per_cycle is None)


def test_mcu_recipe_is_the_mcunet_grid():
    recipe = load_recipe(str(RECIPES_DIR / "mobilenetv2-mcu.toml"))
    variants = expand(recipe)
    assert len(variants) == 15
    assert {(v.fields["width"], v.fields["resolution"]) for v in variants} == {
        (w, r) for w in (0.35, 0.5, 0.75) for r in (96, 128, 160, 192, 224)
    }
    assert all(v.arch == "mobilenet_v2" for v in variants)


# ---------------------------------------------------------------- artifacts


@pytest.fixture(scope="module")
def xnnpack_pte(tmp_path_factory):
    from tests.test_planned import ConvSkip, build_pte

    return build_pte(ConvSkip(), torch.randn(1, 3, 8, 8), tmp_path_factory.mktemp("mcu") / "x.pte")[0]


def test_planned_bytes_for_a_microcontroller(xnnpack_pte, tiny_tflite):
    from edge_bench.artifacts.arena import tflite_arena_estimate

    assert mcu_planned_bytes(xnnpack_pte) == (None, "xnnpack_plan_incomplete")
    assert mcu_planned_bytes(tiny_tflite) == (
        tflite_arena_estimate(tiny_tflite)["tflm_arena_bytes"],
        "tflm_arena_estimate",
    )


def test_mcu_record(xnnpack_pte, tiny_tflite):
    record = mcu_record(ANALYTIC, tiny_tflite, H7)
    assert record["measured"] is None and record["reason"] == NOT_MEASURED_REASON
    assert record["plan"]["source"] == "tflm_arena_estimate"
    assert record["fit"]["sram"]["source"] == "tflm_arena_estimate"
    assert record["fit"]["flash"]["need_bytes"] == tiny_tflite.stat().st_size
    assert record["latency_estimate"]["latency_ms"] == pytest.approx(25.0)
    # An XNNPACK program's plan leaves the delegate's memory out: the check falls back to the liveness peak.
    delegated = mcu_record(ANALYTIC, xnnpack_pte, H7)
    assert delegated["fit"]["sram"]["source"] == "liveness_peak"
    assert mcu_record(ANALYTIC, None, H7)["fit"]["flash"]["source"] == "int8_weight_bytes"


# ---------------------------------------------------------------- Cortex-M (CMSIS-NN) export


class TinyMcuNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = x + torch.relu(self.dw(x))
        return self.fc(torch.relu(self.pw(x)).mean((2, 3)))


def test_cortex_m_export_or_its_exact_reason(tmp_path):
    from edge_bench.export.cortex_m import cortex_m_unavailable_reason, export_cortex_m

    torch.manual_seed(0)
    example = torch.randn(1, 3, 16, 16)
    calibration = [torch.randn(1, 3, 16, 16) for _ in range(2)]
    reason = cortex_m_unavailable_reason()
    if reason is not None:
        if importlib.util.find_spec("tosa_serializer") is None:
            assert "tosa_serializer" in reason and "tosa-tools" in reason
        with pytest.raises(VariantFailure) as failure:
            export_cortex_m(TinyMcuNet(), example, calibration)
        assert str(failure.value) == reason
        return
    from edge_bench.artifacts.delegation import pte_delegation
    from edge_bench.artifacts.pte import planned_memory, read_pte

    program, info = export_cortex_m(TinyMcuNet(), example, calibration, cpu="cortex-m7")
    path = tmp_path / "m7.pte"
    path.write_bytes(program)
    assert info["cpu"] == "cortex-m7" and info["cmsis_nn"] == "DSP"
    assert planned_memory(read_pte(path))["planned_bytes"] == info["planned_bytes"] > 0
    assert info["portable_ops"] == []
    kernels = pte_delegation(path)["non_delegated_ops"]
    assert kernels.get("cortex_m::quantized_conv2d.out") == 2
    assert kernels.get("cortex_m::quantized_depthwise_conv2d.out") == 1
    assert all(op.startswith("cortex_m::") for op in kernels)


def test_cortex_m_refuses_an_unknown_core():
    from edge_bench.export.cortex_m import cortex_m_unavailable_reason, export_cortex_m

    with pytest.raises(VariantFailure) as failure:
        export_cortex_m(TinyMcuNet(), torch.randn(1, 3, 8, 8), [], cpu="cortex-a53")
    reason = cortex_m_unavailable_reason()
    assert str(failure.value) == reason if reason else "cortex-a53" in str(failure.value)
