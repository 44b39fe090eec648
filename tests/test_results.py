"""The results directory: typed records, append-and-flush, torn tails set aside, one run at a time,
write failures, non-finite numbers, bad files, schema upgrades, the flat table."""

import json
import os
import subprocess
import sys

import pytest

from edge_bench.errors import InputError
from edge_bench.results import SCHEMA_VERSION, Latency, Record, ResultStore, Round, read_records, to_dataframe, upgrade
from tests.records import make_record


def record(name="m[resolution=96]", runtime="litert", status="ok", median=1.5):
    return make_record(
        run_id="r1",
        recipe="smoke",
        variant={"name": name, "arch": "m", "resolution": 96, "width": 1.0},
        runtime=runtime,
        target="host",
        status=status,
        latency_ms={
            "median": median,
            "mean": median,
            "p90": median,
            "p99": median,
            "std": 0.0,
            "min": median,
            "max": median,
            "n": 3,
            "samples": [median] * 3,
        },
        analytic={"flops": 1000, "memory_bytes": 50, "planned_bytes": 7},
    )


def test_every_required_key_is_written():
    required = {
        "schema_version",
        "run_id",
        "recipe",
        "variant",
        "runtime",
        "target",
        "status",
        "error",
        "artifact",
        "latency_ms",
        "first_inference_ms",
        "load_ms",
        "memory",
        "energy",
        "analytic",
        "env",
    }
    assert required <= set(Record("r", {"name": "v"}, "litert", "t").to_json())


def test_a_record_survives_its_json(tmp_path):
    store = ResultStore(tmp_path)
    original = record()
    store.append(original)
    [back] = read_records(tmp_path / "results.jsonl")
    assert back == original and back.latency.samples == [1.5] * 3


def test_append_is_readable_at_once(tmp_path):
    store = ResultStore(tmp_path)
    store.append(record())
    assert len(read_records(tmp_path / "results.jsonl")) == 1  # no close needed: flushed and fsynced
    store.append(record(runtime="executorch", status="failed"))
    assert [r.status for r in store.records()] == ["ok", "failed"]


def test_a_torn_tail_is_set_aside_before_anything_is_appended(tmp_path):
    path = tmp_path / "results.jsonl"
    good = json.dumps(record().to_json())
    path.write_text(good + "\n" + good[: len(good) // 2])  # a writer killed mid-line
    assert len(read_records(path)) == 1  # readers leave the fragment out
    store = ResultStore(tmp_path)
    [message] = store.repair()
    assert "incomplete" in message and "moved" in message
    [aside] = tmp_path.glob("results.jsonl.torn-*")
    assert aside.read_text() == good[: len(good) // 2]
    store.append(record(runtime="executorch"))
    assert [r.runtime for r in read_records(path)] == ["litert", "executorch"]  # nothing glued, nothing lost
    assert store.repair() == []


def test_a_second_run_on_the_same_directory_is_refused_naming_the_holder(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; sys.path.insert(0, %r)\n"
                "from edge_bench.results import ResultStore\n"
                "s = ResultStore(%r); s.lock('edge-bench run --out x'); print('locked', flush=True); time.sleep(60)"
            )
            % (os.getcwd(), str(tmp_path)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match=rf"in use by edge-bench pid {holder.pid} .*edge-bench run --out x"):
            ResultStore(tmp_path).lock()
    finally:
        holder.kill()
        holder.wait()
    ResultStore(tmp_path).lock()  # the holder died: its lock went with it


def test_an_unwritable_out_is_refused(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        ResultStore(afile).check_writable()
    with pytest.raises(InputError, match="cannot write there"):
        ResultStore(afile / "below").check_writable()


def test_a_full_disk_is_a_write_error_not_a_lost_record(tmp_path):
    # A child under a file-size limit: the kernel refuses the write as it would on a full disk.
    script = (
        "import resource, signal, sys; sys.path.insert(0, %r)\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))\n"
        "from tests.test_results import record\n"
        "from edge_bench.results import ResultStore, ResultWriteError\n"
        "try:\n    ResultStore(%r).append(record())\nexcept ResultWriteError as e:\n    print('refused:', e)\n"
    ) % (os.getcwd(), str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "refused: cannot write" in done.stdout and "results.jsonl" in done.stdout, done.stderr
    # What did get written is a torn line: set aside by the next run, every complete record intact.
    assert ResultStore(tmp_path).repair() and read_records(tmp_path / "results.jsonl") == []


def test_non_finite_numbers_from_a_device_become_null_with_a_note(tmp_path):
    r = record()
    r.latency.std = float("nan")
    r.env = {"temperature_c": float("inf")}
    ResultStore(tmp_path).append(r)
    [back] = read_records(tmp_path / "results.jsonl")
    assert back.latency.std is None and back.env["temperature_c"] is None
    assert any("latency_ms.std was nan" in n for n in back.notes)
    assert any("env.temperature_c was inf" in n for n in back.notes)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"[1, 2, 3]\n", r"results.jsonl:1: not a record \(a JSON list"),
        (b'{"recipe": "r"}\n', r"results.jsonl:1: not a record: required key 'variant' is missing"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a results file"),
        (b'{"a": 1}\nnot json at all\n{"b": 2}\n', r"results.jsonl:1: not a record"),
        (b'{"schema_version": "x"}\n', r"results.jsonl:1: schema_version 'x' is not a version number|not a record"),
    ],
)
def test_bad_files_are_one_line_errors_naming_file_and_line(tmp_path, content, message):
    path = tmp_path / "results.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_records(path)


def test_a_bad_middle_line_is_an_error(tmp_path):
    path = tmp_path / "results.jsonl"
    good = json.dumps(record().to_json())
    path.write_text(good[:10] + "\n" + good + "\n")
    with pytest.raises(InputError, match="results.jsonl:1: not a JSON record"):
        read_records(path)


def test_older_records_are_upgraded():
    old = {"schema_version": 1, "peak_rss_bytes": 123, "memory": None}
    new = upgrade(old)
    assert new["schema_version"] == SCHEMA_VERSION
    assert new["memory"] == {"peak_rss_bytes": 123}
    v2 = upgrade(
        {
            "schema_version": 2,
            "latency_ms": {"median": 2.0, "samples": [1.0, 2.0, 3.0]},
            "memory": {"planned_bytes": 9},
            "analytic": {},
        }
    )
    assert v2["latency_ms"]["rounds"] == [{"index": 0, "samples": [1.0, 2.0, 3.0], "median": 2.0}]
    assert v2["analytic"]["planned_bytes"] == 9 and "planned_bytes" not in v2["memory"]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({**record().to_json(), "schema_version": SCHEMA_VERSION + 1}) + "\n")
    with pytest.raises(InputError, match="newer than this edge-bench reads"):
        read_records(path)


def test_flat_view_keeps_each_namespace_apart():
    r = record(median=2.0)
    r.latency = Latency(2.0, 2.0, 2.0, 2.0, 0.0, 2.0, 2.0, 3, rounds=[Round(0, [2.0] * 3, 2.0)])
    row = r.flat()
    assert row["variant"] == "m[resolution=96]" and row["resolution"] == 96
    assert row["latency_median_ms"] == 2.0 and row["latency_n"] == 3 and row["flops"] == 1000
    assert row["planned_bytes"] == 7  # the artifact's plan, from the analytic namespace only
    frame = to_dataframe([record(), record(runtime="executorch")])
    assert list(frame["runtime"]) == ["litert", "executorch"]
