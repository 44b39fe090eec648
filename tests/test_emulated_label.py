"""An emulated target: its field in the target file, the label in every record and in the report, and its
timings kept out of fits, Pareto fronts, comparisons and recommendations."""

from __future__ import annotations

import pandas as pd

from edge_bench.config import load_target
from tests.records import make_record
from tests.test_report import RESOLUTIONS, labelled, record, write_report


def flatten(rec: dict) -> dict:
    return make_record(**rec).flat()


def test_target_field_defaults_to_a_real_cpu(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text('kind = "ssh"\nthreads = 2\nemulated = true\n[ssh]\nhost = "b"\n')
    assert load_target(str(path)).emulated is True
    assert load_target("host").emulated is False


def emulated(rec):
    return {**rec, "target": "arm64-emulated", "emulated": True}


def test_flat_rows_carry_the_label():
    rec = record("pi5", "litert", 224)
    assert flatten(rec)["emulated"] is False  # records written before the field: a real device
    assert flatten(emulated(rec))["emulated"] is True


def test_emulated_timings_are_shown_but_never_fitted_or_recommended(tmp_path):
    real = [
        record("host", runtime, r, accuracy=labelled(r)) for runtime in ("executorch", "litert") for r in RESOLUTIONS
    ]
    fake = [
        emulated(record("pi5", runtime, r, accuracy=labelled(r)))
        for runtime in ("executorch", "litert")
        for r in RESOLUTIONS
    ]
    markdown = write_report(real + fake, tmp_path).read_text()
    fits = pd.read_csv(tmp_path / "fit.csv")
    assert set(fits["target"]) == {"host"}
    assert set(pd.read_csv(tmp_path / "recommendations.csv")["target"]) == {"host"}
    assert set(pd.read_csv(tmp_path / "pareto.csv")["target"]) == {"host"}
    assert not (tmp_path / "cross_device.csv").exists()
    assert "| arm64-emulated (emulated) |" in markdown
    assert "14 ok measurements on emulated targets (arm64-emulated)" in markdown
    assert "left out of every fit, Pareto front, comparison and recommendation" in markdown
    assert "0 failed" not in markdown and "failed (see Failures)" not in markdown


def test_only_emulated_targets_give_no_recommendation(tmp_path):
    fake = [emulated(record("pi5", "litert", r, accuracy=labelled(r))) for r in RESOLUTIONS]
    markdown = write_report(fake, tmp_path).read_text()
    assert "Only emulated targets were measured: nothing to recommend" in markdown
    assert "7 ok measurements on emulated targets" in markdown
