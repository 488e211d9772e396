"""Bring your own data as real users bring it: from_arrays and from_folder on the layouts
real datasets ship in (issue 9 §2). Bad inputs to both are in test_bad_inputs_core.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tlhelpers.data import DatasetError, from_arrays, from_folder


def test_medmnist_layout_labels_n_by_1_are_flattened():
    x = np.random.default_rng(0).integers(0, 256, (5, 28, 28), np.uint8)
    ds = from_arrays(x, np.array([[0], [1], [1], [0], [1]], np.uint8),
                     class_names=["normal", "pneumonia"])
    assert ds.y.tolist() == [0, 1, 1, 0, 1] and ds.x.shape == (5, 28, 28, 1)


def test_soft_labels_are_refused_not_turned_into_class_0():
    with pytest.raises(DatasetError, match="not one-hot"):
        from_arrays(np.zeros((3, 4, 4)), [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    one_hot = from_arrays(np.zeros((3, 4, 4)), np.eye(3)[[2, 0, 1]])
    assert one_hot.y.tolist() == [2, 0, 1]


def test_uint16_needs_its_range():
    x = np.array([[[0, 2048], [4095, 1024]]] * 2, np.uint16)
    with pytest.raises(DatasetError, match=r"value_range=\(0, max\)"):
        from_arrays(x, [0, 1])
    ds = from_arrays(x, [0, 1], value_range=(0, 4095))
    assert ds.x.max() == 1.0 and ds.x[0, 0, 1, 0] == pytest.approx(2048 / 4095)


def test_image_size_and_channels_fit_images_to_a_backbone():
    ramp = np.linspace(0.0, 1.0, 28, dtype=np.float32)
    grey = np.stack([np.outer(ramp, ramp), np.outer(ramp, 1 - ramp), np.outer(1 - ramp, ramp)])
    ds = from_arrays(grey, [0, 1, 2], image_size=32, channels=3)
    assert ds.x.shape == (3, 32, 32, 3) and ds.x.min() >= 0 and ds.x.max() <= 1
    np.testing.assert_array_equal(ds.x[..., 0], ds.x[..., 2])  # grey repeated
    back = ds.to_shape(28, channels=1)
    assert back.x.shape == (3, 28, 28, 1)
    np.testing.assert_allclose(back.x[..., 0], grey, atol=0.02)  # bilinear up and down


def _pngs(folder, names, rng):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)).save(folder / name)


def test_flat_folder_with_a_labels_file_mnist_m_layout(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "mnist_m_train"
    names = [f"{i:08d}.png" for i in range(6)]
    _pngs(root, names, rng)
    (tmp_path / "mnist_m_train_labels.txt").write_text(
        "".join(f"{n} {i % 3}\n" for i, n in enumerate(names)))
    with pytest.raises(DatasetError, match="labels_file"):
        from_folder(root)
    ds = from_folder(root, labels_file=tmp_path / "mnist_m_train_labels.txt")
    assert ds.y.tolist() == [0, 1, 2, 0, 1, 2] and ds.class_names == ["0", "1", "2"]
    assert ds.x.shape == (6, 32, 32, 3)


def test_from_folder_single_class_warns_and_extension_string_is_one_extension(tmp_path):
    rng = np.random.default_rng(0)
    _pngs(tmp_path / "pets" / "cats", ["a.png", "b.png"], rng)
    with pytest.warns(UserWarning, match="single class"):
        from_folder(tmp_path / "pets")
    _pngs(tmp_path / "pets" / "dogs", ["c.png"], rng)
    (tmp_path / "pets" / "dogs" / "d.jpg").write_bytes(b"not read: not a .png")
    ds = from_folder(tmp_path / "pets", extensions="png")
    assert len(ds) == 3 and ds.class_names == ["cats", "dogs"]
