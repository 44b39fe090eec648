"""CIFAR-10's Python batches, generated here in the real format: a pickled dict with `data` (uint8,
N x 3072: the red plane, then green, then blue, each 32 rows of 32) and `labels`."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from edge_bench.accuracy.datasets import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    calibration_batches,
    cifar_batches,
    is_cifar_folder,
    read_cifar,
    read_cifar_batch,
)
from edge_bench.config import EvalConfig
from edge_bench.errors import InputError


def write_cifar_batch(path, colours, labels, label_key="labels"):
    """One batch file of solid-colour 32x32 images, as cifar-10-batches-py holds them."""
    planes = np.array([[np.full(1024, c, dtype=np.uint8) for c in rgb] for rgb in colours], dtype=np.uint8)
    entry = {
        "batch_label": "testing batch 1 of 1",
        label_key: list(labels),
        "data": planes.reshape(len(colours), 3072),
        "filenames": [f"{i}.png" for i in range(len(colours))],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(entry, protocol=2))
    return path


def write_cifar_meta(folder, names):
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list(names), "num_vis": 3072}, protocol=2))


def test_a_batch_reads_as_nchw_images_and_labels(tmp_path):
    path = write_cifar_batch(tmp_path / "test_batch", [(200, 100, 50), (0, 255, 7)], [3, 9])
    images, labels = read_cifar_batch(path)
    assert images.shape == (2, 3, 32, 32) and images.dtype == np.uint8
    assert (images[0, 0] == 200).all() and (images[0, 1] == 100).all() and (images[0, 2] == 50).all()
    assert (images[1, 1] == 255).all() and labels.tolist() == [3, 9]


def test_planes_are_row_major_red_then_green_then_blue(tmp_path):
    data = np.arange(3072, dtype=np.int64).astype(np.uint8).reshape(1, 3072)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({"data": data, "labels": [0]}, protocol=2))
    images, _ = read_cifar_batch(tmp_path / "test_batch")
    assert images[0, 0, 0, 1] == 1 and images[0, 0, 1, 0] == 32 % 256 and images[0, 1, 0, 0] == 1024 % 256


def test_the_test_split_is_scored_resized_whole_and_normalized(tmp_path):
    write_cifar_batch(tmp_path / "test_batch", [(255, 0, 0), (0, 255, 0), (0, 0, 255)], [0, 1, 2])
    write_cifar_batch(tmp_path / "data_batch_1", [(9, 9, 9)], [5])
    write_cifar_meta(
        tmp_path, ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    )
    assert is_cifar_folder(tmp_path) and not is_cifar_folder(tmp_path / "nowhere")
    dataset = read_cifar(tmp_path)
    assert dataset.classes[0] == "airplane" and len(dataset.classes) == 10 and len(dataset.images) == 3
    [(images, labels)] = list(cifar_batches(tmp_path, 16, batch_size=8))
    assert images.shape == (3, 3, 16, 16) and images.dtype == np.float32 and labels.tolist() == [0, 1, 2]
    expected_red = (np.array([1.0, 0.0, 0.0], dtype=np.float32) - CIFAR10_MEAN) / CIFAR10_STD
    assert np.allclose(images[0, :, 5, 5], expected_red, atol=1e-6)
    assert len(list(cifar_batches(tmp_path, 32, max_images=2))) == 2


def test_calibration_draws_from_the_training_batches(tmp_path):
    write_cifar_batch(tmp_path / "data_batch_1", [(255, 0, 0), (0, 255, 0)], [0, 1])
    write_cifar_batch(tmp_path / "data_batch_2", [(0, 0, 255)], [2], label_key="labels")
    write_cifar_batch(tmp_path / "test_batch", [(9, 9, 9)], [5])
    drawn = list(calibration_batches(tmp_path, 12, 3, seed=0, eval_config=EvalConfig()))
    assert [a.shape for a in drawn] == [(1, 3, 12, 12)] * 3
    # The three training images, in some order; never the test image.
    firsts = sorted(tuple(np.round(a[0, :, 0, 0], 3)) for a in drawn)
    expected = sorted(
        tuple(np.round((np.array(c, np.float32) / 255 - CIFAR10_MEAN) / CIFAR10_STD, 3))
        for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))
    )
    assert firsts == expected
    with pytest.raises(InputError, match="holds 3 training images but quantize.batches = 4"):
        list(calibration_batches(tmp_path, 12, 4, seed=0, eval_config=EvalConfig()))


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("content, message", [
    (b"not a pickle", "not a CIFAR-10 Python batch"),
    (pickle.dumps({"data": _Exploit(), "labels": [0]}, protocol=2), "is not part of a CIFAR batch"),
    (pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, protocol=2), "uint8 N x 3072"),
    (pickle.dumps([1, 2, 3], protocol=2), "a dict with 'data' and 'labels'"),
])  # fmt: skip
def test_a_bad_batch_is_a_one_line_input_error_and_runs_no_code(tmp_path, content, message):
    (tmp_path / "test_batch").write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_cifar_batch(tmp_path / "test_batch")


def test_a_folder_without_the_test_batch_says_so(tmp_path):
    write_cifar_batch(tmp_path / "data_batch_1", [(1, 2, 3)], [0])
    with pytest.raises(InputError, match="no test_batch file"):
        read_cifar(tmp_path, "test")


def python2_pickle(entry: dict) -> bytes:
    """`entry` pickled as Python 2's cPickle (protocol 2) wrote the CIFAR-10 files: keys and strings
    as byte strings, the array through numpy.core.multiarray._reconstruct with its raw bytes as a string."""
    import struct

    def string(raw: bytes) -> bytes:
        return b"U" + bytes([len(raw)]) + raw if len(raw) < 256 else b"T" + struct.pack("<I", len(raw)) + raw

    def integer(n: int) -> bytes:
        return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)

    def value(v) -> bytes:
        if isinstance(v, str):
            return string(v.encode("latin1"))
        if isinstance(v, int):
            return integer(v)
        if isinstance(v, list):
            return b"](" + b"".join(map(value, v)) + b"e"
        assert isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.ndim == 2
        dtype = (
            b"cnumpy\ndtype\n"
            + string(b"u1")
            + integer(0)
            + integer(1)
            + b"\x87R"
            + b"("
            + integer(3)
            + string(b"|")
            + b"NNN"
            + integer(-1)
            + integer(-1)
            + integer(0)
            + b"tb"
        )
        return (
            b"cnumpy.core.multiarray\n_reconstruct\n"
            + b"cnumpy\nndarray\n"
            + integer(0)
            + b"\x85"
            + string(b"b")
            + b"\x87R"
            + b"("
            + integer(1)
            + b"("
            + b"".join(integer(d) for d in v.shape)
            + b"t"
            + dtype
            + b"\x89"
            + string(v.tobytes())
            + b"tb"
        )

    return b"\x80\x02}(" + b"".join(value(k) + value(v) for k, v in entry.items()) + b"u."


def test_a_batch_pickled_by_python_2_reads_as_the_real_files_do(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, size=(3, 3072), dtype=np.uint8)
    entry = {
        "batch_label": "testing batch 1 of 1",
        "labels": [6, 9, 0],
        "data": data,
        "filenames": ["a.png", "b.png", "c.png"],
    }
    (tmp_path / "test_batch").write_bytes(python2_pickle(entry))
    images, labels = read_cifar_batch(tmp_path / "test_batch")
    assert labels.tolist() == [6, 9, 0] and np.array_equal(images.reshape(3, 3072), data)
