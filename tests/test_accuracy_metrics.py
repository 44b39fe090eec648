import math

import numpy as np
import pytest

from edge_bench.accuracy.metrics import (
    ClassificationTally,
    FidelityTally,
    SegmentationTally,
    confusion_matrix,
    miou,
    per_class_iou,
    sqnr_db,
    top1_agreement,
    topk_accuracy,
)

LOGITS = np.array(
    [
        [0.1, 0.7, 0.2],  # order 1, 2, 0
        [0.5, 0.3, 0.2],  # order 0, 1, 2
        [0.2, 0.3, 0.5],  # order 2, 1, 0
        [0.6, 0.1, 0.3],  # order 0, 2, 1
    ]
)
LABELS = np.array([1, 1, 0, 1])


def test_topk_accuracy_hand_computed():
    # top-1 hits: sample 0 only; top-2 adds sample 1; top-3 covers everything.
    assert topk_accuracy(LOGITS, LABELS, 1) == pytest.approx(25.0)
    assert topk_accuracy(LOGITS, LABELS, 2) == pytest.approx(50.0)
    assert topk_accuracy(LOGITS, LABELS, 3) == pytest.approx(100.0)


def test_ties_are_broken_like_argmax_not_in_the_models_favour():
    constant = np.zeros((3, 4))
    labels = np.array([0, 1, 3])
    assert topk_accuracy(constant, labels, 1) == pytest.approx(100 / 3)  # only class 0 "wins"
    assert topk_accuracy(constant, labels, 2) == pytest.approx(200 / 3)  # classes 0 and 1


def test_topk_rejects_bad_input():
    with pytest.raises(ValueError):
        topk_accuracy(LOGITS, LABELS, 4)
    with pytest.raises(ValueError):
        topk_accuracy(LOGITS, np.array([0, 1, 3, 0]), 1)
    with pytest.raises(ValueError):
        topk_accuracy(LOGITS, LABELS[:3], 1)


def test_confusion_matrix_counts_and_ignore():
    label = np.array([[0, 0, 1], [2, 255, 1]])
    pred = np.array([[0, 1, 1], [0, 2, 1]])
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    np.testing.assert_array_equal(confusion_matrix(pred, label, 3), expected)
    with pytest.raises(ValueError):
        confusion_matrix(np.array([3]), np.array([0]), 3)


def test_miou_hand_computed_with_absent_class_excluded():
    # class 0: TP 1, FP 1, FN 1 -> 1/3; class 1: TP 2, FP 1, FN 0 -> 2/3; class 2: TP 0, FN 1 -> 0;
    # class 3: in neither labels nor predictions -> excluded.
    confusion = np.zeros((4, 4), dtype=np.int64)
    confusion[:3, :3] = [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    ious = per_class_iou(confusion)
    np.testing.assert_allclose(ious[:3], [1 / 3, 2 / 3, 0.0])
    assert math.isnan(ious[3])
    assert miou(confusion) == pytest.approx(100 * (1 / 3 + 2 / 3 + 0) / 3)


def test_miou_counts_a_class_predicted_but_never_labelled_as_zero():
    confusion = np.array([[2, 2], [0, 0]])  # class 1 predicted twice, never labelled
    assert miou(confusion) == pytest.approx(100 * (0.5 + 0.0) / 2)
    assert math.isnan(miou(np.zeros((3, 3))))


def test_sqnr_on_known_signals():
    reference = np.array([1.0, -1.0, 1.0, -1.0])
    assert sqnr_db(reference, reference + 0.1) == pytest.approx(20.0)  # 4 / 0.04 = 100
    assert sqnr_db(reference, 0.9 * reference) == pytest.approx(20.0)
    t = np.linspace(0, 1, 1000, endpoint=False)
    sine = np.sin(2 * np.pi * 5 * t)
    assert sqnr_db(sine, sine + 0.01 * np.cos(2 * np.pi * 7 * t)) == pytest.approx(40.0, abs=1e-9)
    assert sqnr_db(reference, reference) == math.inf
    assert sqnr_db(np.zeros(3), np.ones(3)) == -math.inf


def test_top1_agreement_classification_and_segmentation():
    other = LOGITS.copy()
    other[0] = [0.9, 0.0, 0.0]  # sample 0 now picks class 0 instead of 1
    assert top1_agreement(LOGITS, other) == pytest.approx(75.0)
    seg_ref = np.zeros((1, 3, 2, 2))
    seg_ref[0, 2] = 1.0  # class 2 everywhere
    seg_test = seg_ref.copy()
    seg_test[0, 0, 0, 0] = 5.0  # one pixel flips to class 0
    assert top1_agreement(seg_ref, seg_test) == pytest.approx(75.0)


def test_tallies_accumulate_over_batches():
    tally = ClassificationTally()
    tally.update(LOGITS[:2], LABELS[:2])
    tally.update(LOGITS[2:], LABELS[2:])
    result = tally.result()
    assert result["n"] == 4 and result["top1"] == pytest.approx(25.0)
    assert result["top5"] is None  # 3 classes: top-5 means nothing
    assert ClassificationTally().result()["top1"] is None

    fidelity = FidelityTally()
    fidelity.update(np.array([[3.0, 0.0]]), np.array([[3.0, 1.0]]))  # signal 9, noise 1, agrees
    fidelity.update(np.array([[0.0, 1.0]]), np.array([[2.0, 1.0]]))  # signal 1, noise 4, disagrees
    out = fidelity.result()
    assert out["sqnr_db"] == pytest.approx(10 * math.log10(10 / 5))  # pooled, not a mean of dBs
    assert out["top1_agreement"] == pytest.approx(50.0) and out["n"] == 2


def test_segmentation_tally_matches_one_confusion():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 3, 5))
    labels = rng.integers(0, 4, size=(2, 3, 5))
    labels[0, 0, 0] = 255
    tally = SegmentationTally(n_classes=4)
    tally.update(logits[0], labels[0])
    tally.update(logits[1], labels[1])
    expected = miou(confusion_matrix(logits.argmax(axis=1), labels, 4))
    assert tally.result() == {"miou": pytest.approx(expected), "n": 2}
    with pytest.raises(ValueError):
        tally.update(np.zeros((1, 3, 3, 5)), labels[:1])
