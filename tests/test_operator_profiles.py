"""`run --profile-ops` on the tiny CNN through both runtimes' own profilers: every MAC of the model in
exactly one operator row, operator times adding up to no more than the end-to-end time, and a clear
line, never a traceback, for a profile that is missing or corrupt."""

import base64
import math

import pandas as pd
import pytest

from edge_bench.artifacts.deployed import DeployedGraph, Op, Tensor
from edge_bench.artifacts.operators import map_operators
from edge_bench.cli import main
from edge_bench.device.profile import profile_pass
from edge_bench.measure.operators import measurement_rows
from edge_bench.report.blocks import Section, Table
from edge_bench.report import html, markdown
from edge_bench.report.operators import operator_sections, operator_tables, per_operator
from edge_bench.results import read_records
from tests.specs import quick_host_toml
from tests.tinymodels import small_roofline_probes, tiny_recipe_file

NATIVE_HOST = quick_host_toml("host, short timing, ExecuTorch through the native runner", rounds=1, native=True)
# TinyCNN at 16 px: conv1 4x8x8 outputs x 27, conv2 8x8x8 x 36, fc 10 x 8.
TINY_MACS = {16: 4 * 8 * 8 * 27 + 8 * 8 * 8 * 36 + 10 * 8, 24: 4 * 12 * 12 * 27 + 8 * 12 * 12 * 36 + 10 * 8}
CONV_MACS = {16: [4 * 8 * 8 * 27, 8 * 8 * 8 * 36], 24: [4 * 12 * 12 * 27, 8 * 12 * 12 * 36]}
TIMER_RESOLUTION_MS = 0.001  # both profilers count whole microseconds


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("profiled")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGE_BENCH_CACHE", str(tmp_path_factory.getbasetemp() / "tiny-cache"))
        mp.chdir(small_roofline_probes(root))
        target = root / "native-host.toml"
        target.write_text(NATIVE_HOST)
        out = root / "out"
        argv = ["run", "--target", str(target), "--recipe", tiny_recipe_file(root), "--out", str(out), "--profile-ops"]
        assert main(argv) == 0
    return out


def test_every_mac_is_in_one_operator_row_on_both_runtimes(profiled):
    rows = pd.read_csv(profiled / "operators.csv")
    assert (profiled / "operators.parquet").is_file()
    assert sorted(rows["runtime"].unique()) == ["executorch", "litert"]
    for (runtime, resolution), group in rows.groupby(["runtime", "resolution"]):
        assert group["macs"].sum() == TINY_MACS[resolution], (runtime, resolution)
        conv = group[group["kind"] == "conv"]
        assert sorted(conv["macs"]) == CONV_MACS[resolution], (runtime, group)
        assert conv["time_ms"].notna().all() and (conv["mac_per_s"] > 0).all()
        assert (group[group["kind"] == "fully_connected"]["macs"] == [80]).all()
    assert (rows["mapping"].str.startswith("unmapped")).sum() == 0, rows[["runtime", "operator", "mapping"]]


def test_operator_times_add_up_within_the_gap(profiled):
    summary = pd.read_csv(profiled / "operators-summary.csv")
    records = {(r.variant["name"], r.runtime): r for r in read_records(profiled / "results.jsonl")}
    assert len(summary) == 4 and "missing_reason" not in summary.columns
    for s in summary.itertuples():
        assert s.macs_in_rows == s.macs_deployed
        assert 0 < s.ops_sum_ms <= s.e2e_ms + s.operators * TIMER_RESOLUTION_MS, s
        assert math.isclose(s.e2e_ms - s.ops_sum_ms, s.gap_ms, abs_tol=1e-9)
        assert records[(s.variant, s.runtime)].env["operator_profile"]["status"] == "ok"
        # The profiled runs are not the measurement's samples: the estimate came from its own rounds.
        assert len(records[(s.variant, s.runtime)].latency.rounds) == 1


def test_the_report_section_names_top_operators_and_scaling(profiled):
    rows = pd.read_csv(profiled / "operators.csv")
    section = per_operator(rows, pd.read_csv(profiled / "operators-summary.csv"))
    tables = [b.frame for b in section.blocks if isinstance(b, Table)]
    assert section.title == "Per operator" and len(tables) == 3  # no ceilings: the probes are not in these rows
    top, gaps, scaling = tables
    assert set(top["kind"]) >= {"conv"} and len(gaps) == 4
    assert set(scaling["resolutions"]) == {"16 / 24"} and "conv" in set(scaling["kind"])
    assert per_operator(rows.iloc[0:0]).blocks[0].text.startswith("No per-operator profile")
    # What the report renders: the section read from the results directory, in both formats.
    (read,) = operator_sections([profiled])
    first = Section("Which variant to ship")
    text = markdown.render("t", first, [read], [])
    assert "## Per operator" in text and "| Convolution (NHWC, QC8) IGEMM #1 | conv |" in text
    assert "Per operator" in html.render("t", first, [read], [])
    assert operator_sections([profiled / "runs"]) == []


def test_the_roofline_probes_give_each_runtime_its_measured_ceilings(profiled):
    probes = pd.read_csv(profiled / "roofline" / "operators.csv")
    assert set(probes["arch"]) == {"roofline_probe"} and sorted(probes["runtime"].unique()) == ["executorch", "litert"]
    # The sweep's own tables hold no probe: the probes' records are a results directory of their own.
    assert "roofline_probe" not in set(pd.read_csv(profiled / "operators.csv")["arch"])
    section = per_operator(*operator_tables([profiled]), figures_dir=profiled)
    ceilings = next(b.frame for b in section.blocks if isinstance(b, Table) and "peak GMAC/s (measured)" in b.frame)
    assert sorted(ceilings["runtime"]) == ["executorch", "litert"] and set(ceilings["threads"]) == {"1"}
    for column in ("peak GMAC/s (measured)", "peak GB/s (measured)"):
        assert (ceilings[column].astype(float) > 0).all(), ceilings
    # A convolution of the compute probe (the 1x1 or the 3x3) is the best MAC/s; the report draws the roofline.
    assert ceilings["by"].str.match(r"(fully_connected|conv) of the compute probe, ").all(), ceilings["by"]
    assert ceilings["by "].str.contains(" of the memory probe, ").all() and (profiled / "roofline.png").is_file()
    text = markdown.render("t", Section("x"), [section], [])
    assert "roofline.png" in text and "left of the ridge" in text


def test_a_corrupt_or_missing_profile_is_one_line(profiled):
    records = [r for r in read_records(profiled / "results.jsonl") if r.ok]
    et = next(r for r in records if r.runtime == "executorch")
    lite = next(r for r in records if r.runtime == "litert")
    garbage = base64.b64encode(b"\x10\x00\x00\x00not an etdump at all" * 8).decode()
    cases = [
        (et, {"status": "ok", "source": "etdump", "runs": 3, "etdump_b64": garbage}, "Inspector could not read"),
        (et, {"status": "ok", "source": "etdump", "runs": 3, "etdump_b64": "%%%"}, "not valid base64"),
        (lite, {"status": "ok", "runs": 1, "events": [[["CONV_2D", 2, 5]]]}, "no operator or no Invoke event"),
        (lite, {"status": "failed", "reason": "LiteRtCreateCompiledModel returned LiteRtStatus 1"}, "LiteRtStatus 1"),
        (lite, {"status": "ok", "runs": 1, "events": [[["Invoke", 1]]]}, "the device's profile is malformed"),
        (lite, {"status": "ok", "runs": 1, "events": []}, "returned no runs"),
    ]
    for record, profile, expected in cases:
        rows, summary = measurement_rows(record, profile)
        assert rows == [] and expected in summary["missing_reason"], summary
        assert "\n" not in summary["missing_reason"]


def test_the_device_pass_says_why_it_cannot_profile(tmp_path):
    missing = profile_pass({"runtime": "litert", "artifact": str(tmp_path / "absent.tflite"), "threads": 1})
    assert missing["status"] == "failed" and "LiteRtCreateModelFromFile" in missing["reason"]
    python_api = profile_pass({"runtime": "executorch", "artifact": "m.pte", "threads": 1}, native=None)
    assert python_api["status"] == "failed" and "native runner" in python_api["reason"]


def _graph() -> DeployedGraph:
    t = {
        "x": Tensor(300, "float", False),
        "q": Tensor(75, "int8", False),
        "p": Tensor(108, "int8", False),
        "w": Tensor(40, "int8", True),
        "c": Tensor(64, "int8", False),
        "y": Tensor(10, "int8", False),
    }
    ops = (
        Op("QUANTIZE", ("x",), ("q",), 0, "litert"),
        Op("PAD", ("q",), ("p",), 0, "litert"),
        Op("CONV_2D", ("p", "w"), ("c",), 1000, "litert"),
        Op("RESHAPE", ("c",), ("y",), 0, "litert"),
        Op("FULLY_CONNECTED", ("y", "w"), ("y",), 80, "litert"),
    )
    return DeployedGraph("tflite", t, ops)


def test_mapping_fuses_what_feeds_the_kernel_and_never_guesses():
    rows = map_operators(["Convert (NC) #1", "Convolution (NHWC, QC8) IGEMM #1", "Softmax (NC) #1"], _graph())
    by_name = {r.operator: r for r in rows}
    conv = by_name["Convolution (NHWC, QC8) IGEMM #1"]
    assert conv.deployed == ["1:PAD", "2:CONV_2D"] and conv.mapping.startswith("fused: 2")
    # PAD's output is read inside the group: only the group's own inputs and outputs are counted.
    assert conv.macs == 1000 and conv.weight_bytes == 40 and conv.activation_bytes == 75 + 64
    softmax = by_name["Softmax (NC) #1"]
    assert softmax.macs is None and softmax.mapping.startswith("unmapped")
    unprofiled = [r for r in rows if r.position is None]
    assert [r.operator for r in unprofiled] == ["RESHAPE", "FULLY_CONNECTED"]
    assert sum(r.macs or 0 for r in rows) == 1080


def test_an_event_that_fits_nothing_does_not_pull_the_rest_out_of_step():
    t = {k: Tensor(8, "int8", k == "w") for k in ("x", "a", "b", "w", "y")}
    ops = (
        Op("CONV_2D", ("x", "w"), ("a",), 900, "litert"),
        Op("CONV_2D", ("a", "w"), ("b",), 100, "litert"),  # a 1x1 convolution
        Op("FULLY_CONNECTED", ("b", "w"), ("y",), 10, "litert"),
    )
    events = [
        "Convolution (NHWC, QC8) IGEMM",
        "Sqrt (NC)",
        "Fully Connected (NC, QS8, QC8W) GEMM",
        "Fully Connected (NC, QS8, QC8W) GEMM",
    ]
    rows = map_operators(events, DeployedGraph("tflite", t, ops))
    assert [(r.position, r.deployed, r.macs) for r in rows] == [
        (0, ["0:CONV_2D"], 900),
        (1, [], None),
        (2, ["1:CONV_2D"], 100),
        (3, ["2:FULLY_CONNECTED"], 10),
    ]
    assert rows[1].mapping.startswith("unmapped") and "runs CONV_2D as fully_connected" in rows[2].mapping


def test_litert_delegate_node_is_not_counted_beside_its_operators():
    from edge_bench.measure.operators import litert_runs

    run = [["Invoke", 1, 50], ["TfLiteXNNPackDelegate", 2, 40], ["Convolution (NHWC, QC8) IGEMM", 8, 30],
           ["Add (ND, QS8)", 8, 9], ["SOFTMAX", 2, 5]]  # fmt: skip
    names, times, e2e = litert_runs({"events": [run, run]})
    assert names == ["Convolution (NHWC, QC8) IGEMM", "Add (ND, QS8)", "SOFTMAX"]
    assert times == [[0.03, 0.03], [0.009, 0.009], [0.005, 0.005]] and e2e == [0.05, 0.05]


def _rows(results: str, kind_ms: dict[str, tuple[float, float]], macs: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Operator rows of one run at 16 and 32 px: each kind's time and MACs at (16, 32)."""
    return pd.DataFrame(
        [
            {"results": results, "target": "t", "runtime": "litert", "arch": "a", "width": 1.0, "threads": 1,
             "variant": f"a[{px}]", "resolution": px, "operator": kind, "kind": kind, "time_ms": ms[i],
             "macs": macs.get(kind, (None, None))[i], "bytes": 100 * px, "share": None, "mac_per_s": None,
             "mapping": "one to one"}
            for kind, ms in kind_ms.items()
            for i, px in enumerate((16, 32))
        ]
    )  # fmt: skip


def test_a_kind_without_macs_is_held_against_the_networks_macs_and_runs_stay_apart():
    # The network's MACs fall to a quarter; the convolution's time with them, the addition's only to half.
    first = _rows("run1", {"conv": (1.0, 4.0), "add": (0.5, 1.0), "pad": (0.25, 1.0)}, {"conv": (100, 400)})
    second = _rows("run2", {"conv": (1.0, 4.0), "add": (0.5, 1.0), "pad": (0.25, 1.0)}, {"conv": (100, 400)})
    section = per_operator(pd.concat([first, second], ignore_index=True))
    text = markdown.render("t", Section("x"), [section], [])
    assert (
        "**add** keeps 50 % of its time at 16 / 32 px; it has no MACs, and the network keeps 25 % of its MACs" in text
    )
    assert "**conv**" not in text and "**pad**" not in text  # they fall with their MACs, the network's
    top = next(b.frame for b in section.blocks if isinstance(b, Table) and "operator" in b.frame)
    # Two runs' operators are never shown as one: each row names the results directory it came from.
    assert list(top.columns[:2]) == ["results", "target"] and top.groupby("results").size().to_dict() == {
        "run1": 6,
        "run2": 6,
    }
    one = per_operator(first)
    assert "results" not in next(b.frame for b in one.blocks if isinstance(b, Table) and "operator" in b.frame)
