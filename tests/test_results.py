"""The JSONL store: append-and-flush, torn lines, schema upgrades, the flat table."""

import json

import pytest

from edge_bench.errors import InputError
from edge_bench.results import SCHEMA_VERSION, ResultStore, empty_record, flatten, read_records, to_dataframe, upgrade


def record(name="m[resolution=96]", runtime="litert", status="ok", median=1.5):
    return empty_record(run_id="r1", recipe="smoke", variant={"name": name, "arch": "m", "resolution": 96, "width": 1.0},
                        runtime=runtime, target="host", status=status,
                        latency_ms={"median": median, "mean": median, "p90": median, "p99": median, "std": 0.0,
                                    "min": median, "max": median, "n": 3},
                        analytic={"flops": 1000, "memory_bytes": 50})


def test_every_required_key_is_present():
    required = {"schema_version", "run_id", "recipe", "variant", "runtime", "target", "status", "error", "artifact",
                "latency_ms", "first_inference_ms", "load_ms", "memory", "energy", "analytic", "env"}
    assert required <= set(empty_record())


def test_append_is_readable_at_once(tmp_path):
    store = ResultStore(tmp_path)
    store.append(record())
    # Another reader sees the line without the writer closing anything.
    assert len(read_records(tmp_path / "results.jsonl")) == 1
    store.append(record(runtime="executorch", status="failed"))
    assert store.done_keys() == {("smoke", "m[resolution=96]", "litert", "host")}


def test_torn_last_line_is_skipped_but_a_bad_middle_line_is_an_error(tmp_path):
    path = tmp_path / "results.jsonl"
    good = json.dumps(record())
    path.write_text(good + "\n" + good[: len(good) // 2])
    assert len(read_records(path)) == 1
    path.write_text(good[:10] + "\n" + good + "\n")
    with pytest.raises(InputError, match="results.jsonl:1: not a JSON record"):
        read_records(path)


def test_version_1_records_are_upgraded():
    old = {"schema_version": 1, "peak_rss_bytes": 123, "memory": None}
    new = upgrade(old)
    assert new["schema_version"] == SCHEMA_VERSION
    assert new["memory"] == {"peak_rss_bytes": 123, "planned_bytes": None}


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({**record(), "schema_version": SCHEMA_VERSION + 1}) + "\n")
    with pytest.raises(InputError, match="newer than this edge-bench reads"):
        read_records(path)


def test_flatten_and_dataframe():
    row = flatten(record(median=2.0))
    assert row["variant"] == "m[resolution=96]" and row["resolution"] == 96
    assert row["latency_median_ms"] == 2.0 and row["latency_n"] == 3 and row["flops"] == 1000
    frame = to_dataframe([record(), record(runtime="executorch")])
    assert list(frame["runtime"]) == ["litert", "executorch"]
