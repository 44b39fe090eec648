import numpy as np
import pytest
from PIL import Image

from edge_bench.accuracy.datasets import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    EvalTransform,
    calibration_batches,
    cityscapes_batches,
    classification_batches,
    labelids_to_trainids,
    read_cityscapes,
    read_image_folder,
    upsample_logits,
)
from edge_bench.accuracy.metrics import ClassificationTally, SegmentationTally
from edge_bench.config import EvalConfig
from edge_bench.errors import InputError


def solid(path, rgb, size=(12, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path)


def normalized(rgb):
    return (np.array(rgb, dtype=np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD


@pytest.fixture
def folder(tmp_path):
    """Two classes; 'b_red' sorts after 'a_green'. One green image is filed under the red class."""
    root = tmp_path / "val"
    solid(root / "b_red" / "1.png", (250, 0, 0))
    solid(root / "b_red" / "2.JPG", (240, 10, 0))
    solid(root / "b_red" / "sub" / "3.jpeg", (0, 230, 0))  # mislabelled on purpose
    solid(root / "a_green" / "1.png", (0, 250, 0))
    (root / "a_green" / "notes.txt").write_text("not an image")
    (root / "empty_class").mkdir()
    return root


def test_image_folder_classes_sorted_like_torchvision(folder):
    dataset = read_image_folder(folder)
    assert dataset.classes == ("a_green", "b_red", "empty_class")
    assert [(p.name, label) for p, label in dataset.samples] == [
        ("1.png", 0),
        ("1.png", 1),
        ("2.JPG", 1),
        ("3.jpeg", 1),
    ]


def test_max_images_spreads_over_classes(folder):
    picked = read_image_folder(folder, max_images=2).samples
    assert [label for _, label in picked] == [0, 1]
    with pytest.raises(InputError):
        read_image_folder(folder, max_images=0)


def test_top1_end_to_end_on_a_generated_folder(folder):
    # A "model" that says green (class 0) when the green channel dominates, else red (class 1).
    tally = ClassificationTally()
    for images, labels in classification_batches(folder, 4, EvalConfig(resize_ratio=0.5), batch_size=3):
        assert images.dtype == np.float32 and images.shape[1:] == (3, 4, 4)
        means = images.mean(axis=(2, 3))
        green = means[:, 1] * IMAGENET_STD[1] + IMAGENET_MEAN[1] > means[:, 0] * IMAGENET_STD[0] + IMAGENET_MEAN[0]
        logits = np.stack([green, ~green], axis=1).astype(np.float32)
        tally.update(logits, labels)
    # 4 images: three right, the green one filed under b_red wrong.
    assert tally.result()["top1"] == pytest.approx(75.0)


def test_eval_transform_centre_crops_like_torchvision(tmp_path):
    # 25 x 16 image (w x h), crop 8 with K = 8 / 0.5 = 16 = the shorter side: no resize, only a crop
    # at top = round(8 / 2) = 4 and left = round(17 / 2) = 8 (Python rounds half to even).
    pixels = np.zeros((16, 25, 3), dtype=np.uint8)
    pixels[..., 0] = np.arange(25)[None, :] * 10
    pixels[..., 1] = np.arange(16)[:, None] * 15
    transform = EvalTransform.for_variant(8, EvalConfig(resize_ratio=0.5))
    assert transform.resize == 16 and transform.crop == (8, 8)
    out = transform(Image.fromarray(pixels))
    expected = normalized(pixels[4:12, 8:16]).transpose(2, 0, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_eval_transform_resize_then_crop_shape_and_default_k():
    transform = EvalTransform.for_variant(224, EvalConfig())
    assert transform.resize == 256
    out = transform(Image.new("RGB", (300, 500), (10, 20, 30)))
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 100, 100], normalized((10, 20, 30)), rtol=1e-5)


def test_eval_transform_matches_torchvision(tmp_path):
    transforms = pytest.importorskip("torchvision.transforms")
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8))
    for interpolation, mode in (
        ("bilinear", transforms.InterpolationMode.BILINEAR),
        ("bicubic", transforms.InterpolationMode.BICUBIC),
    ):
        ours = EvalTransform.for_variant(20, EvalConfig(resize_ratio=0.8, interpolation=interpolation))(image)
        reference = transforms.Compose(
            [
                transforms.Resize(25, interpolation=mode),
                transforms.CenterCrop(20),
                transforms.ToTensor(),
                transforms.Normalize(IMAGENET_MEAN.tolist(), IMAGENET_STD.tolist()),
            ]
        )(image).numpy()
        np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_eval_config_errors_name_the_key():
    with pytest.raises(InputError, match="eval.interpolation"):
        EvalTransform.for_variant(8, EvalConfig(interpolation="cubic"))
    with pytest.raises(InputError, match="eval.resize_ratio"):
        EvalTransform.for_variant(8, EvalConfig(resize_ratio=1.5))


# ---------------------------------------------------------------- Cityscapes


def test_labelids_to_trainids_official_table():
    ids = np.array([0, 6, 7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 255])
    expected = [255, 255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 16, 17, 18, 255, 255]
    np.testing.assert_array_equal(labelids_to_trainids(ids), expected)
    assert sorted(set(labelids_to_trainids(np.arange(256)).tolist())) == [*range(19), 255]


@pytest.fixture
def cityscapes(tmp_path):
    root = tmp_path / "cityscapes"
    image_dir = root / "leftImg8bit" / "val" / "aachen"
    label_dir = root / "gtFine" / "val" / "aachen"
    image_dir.mkdir(parents=True)
    label_dir.mkdir(parents=True)
    Image.new("RGB", (16, 8), (128, 64, 32)).save(image_dir / "aachen_000000_000019_leftImg8bit.png")
    ids = np.zeros((8, 16), dtype=np.uint8)
    ids[:4, :] = 7  # road
    ids[4:, :8] = 26  # car
    ids[4:, 8:] = 0  # unlabeled -> ignored
    Image.fromarray(ids).save(label_dir / "aachen_000000_000019_gtFine_labelIds.png")
    return root


def test_cityscapes_reader_and_miou_end_to_end(cityscapes):
    batches = list(cityscapes_batches(cityscapes, 4))
    assert len(batches) == 1
    image, label = batches[0]
    assert image.shape == (1, 3, 4, 8) and image.dtype == np.float32  # (H, 2H)
    np.testing.assert_allclose(image[0, :, 0, 0], normalized((128, 64, 32)), rtol=1e-5)
    assert label.shape == (8, 16) and set(np.unique(label)) == {0, 13, 255}

    # Low-resolution logits: road on the left 4 columns, car on the right 4. Bilinear upsampling to
    # the label's 16 columns puts the boundary exactly between columns 7 and 8.
    logits = np.zeros((1, 19, 4, 8), dtype=np.float32)
    logits[0, 0, :, :4] = 1.0
    logits[0, 13, :, 4:] = 1.0
    full = upsample_logits(logits, label.shape)
    tally = SegmentationTally()
    tally.update(full, label)
    # road: TP 32 (top-left), FN 32 (top-right predicted car), FP 32 (bottom-left) -> 1/3; car: 0.
    assert tally.result()["miou"] == pytest.approx(100 * (1 / 3 + 0) / 2)


def test_cityscapes_missing_label_is_an_input_error(cityscapes):
    next((cityscapes / "gtFine").rglob("*.png")).unlink()
    with pytest.raises(InputError, match="has no label"):
        read_cityscapes(cityscapes)
    with pytest.raises(InputError, match="leftImg8bit/test"):
        read_cityscapes(cityscapes, split="test")


# ---------------------------------------------------------------- upsampling


def test_upsample_bilinear_hand_computed():
    # 2 -> 4, half-pixel centres: sources -0.25 (clamped), 0.25, 0.75, 1.25 (clamped to the edge).
    out = upsample_logits(np.array([[0.0, 1.0]]), (1, 4))
    np.testing.assert_allclose(out, [[0.0, 0.25, 0.75, 1.0]])


def test_upsample_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(1, 3, 5, 7)).astype(np.float32)
    for mode in ("bilinear", "bicubic"):
        for size in ((13, 9), (5, 7), (3, 20)):
            reference = torch.nn.functional.interpolate(
                torch.from_numpy(logits), size=size, mode=mode, align_corners=False
            )
            np.testing.assert_allclose(upsample_logits(logits, size, mode), reference.numpy(), atol=1e-5)
    with pytest.raises(InputError):
        upsample_logits(logits, (3, 3), "area")


# ---------------------------------------------------------------- calibration


def test_calibration_batches_flat_and_image_folder(tmp_path, folder):
    flat = tmp_path / "calib"
    colours = [(i * 40, 255 - i * 40, 7) for i in range(5)]
    for i, colour in enumerate(colours):
        solid(flat / f"{i}.png", colour)
    first = list(calibration_batches(flat, 6, 3, seed=0, eval_config=EvalConfig(resize_ratio=0.75)))
    again = list(calibration_batches(flat, 6, 3, seed=0, eval_config=EvalConfig(resize_ratio=0.75)))
    assert len(first) == 3 and all(b.shape == (1, 3, 6, 6) and b.dtype == np.float32 for b in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    picked = {tuple(np.round(b[0, :, 0, 0], 4)) for b in first}
    assert len(picked) == 3  # drawn without replacement
    assert picked <= {tuple(np.round(normalized(c), 4)) for c in colours}

    nested = list(calibration_batches(folder, (4, 8), 4, seed=1, resize_only=True))
    assert len(nested) == 4 and all(b.shape == (1, 3, 4, 8) for b in nested)
    with pytest.raises(InputError, match="quantize.batches"):
        list(calibration_batches(flat, 6, 6))
    with pytest.raises(InputError, match="quantize.calibration"):
        list(calibration_batches(tmp_path / "nowhere", 6, 1))
