"""Embedded (offline) datasets, the bring-your-own loaders and the load_dataset entry point."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from tlhelpers.data import EMBEDDED, Dataset, load_dataset
from tlhelpers.data.errors import DatasetError, DatasetUnavailableError


def _check_images(ds: Dataset, shape: tuple[int, ...]) -> None:
    assert isinstance(ds.x, np.ndarray)
    assert ds.x.dtype == np.float32 and ds.x.shape[1:] == shape
    assert ds.y.dtype == np.int64 and len(ds.y) == len(ds.x)
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    assert np.isfinite(ds.x).all()


# ---------------------------------------------------------------- SynDigits
def test_syndigits_shapes_balance_and_determinism():
    a = load_dataset("syndigits", "train", n=200, seed=3)
    _check_images(a, (32, 32, 3))
    assert len(a) == 200 and a.synthetic and a.class_names == [str(d) for d in range(10)]
    assert np.bincount(a.y, minlength=10).tolist() == [20] * 10
    assert a.x.std() > 0.1  # not blank
    assert a.meta["generation_seconds"] >= 0 and len(a.meta["fonts"]) >= 10
    b = load_dataset("syndigits", "train", n=200, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    c = load_dataset("syndigits", "train", n=200, seed=4)
    assert not np.array_equal(a.x, c.x)
    t = load_dataset("syndigits", "test", n=200, seed=3)
    assert not np.array_equal(a.x, t.x)


def test_syndigits_default_size_follows_profile(monkeypatch):
    monkeypatch.setenv("TLH_PROFILE", "smoke")
    assert len(load_dataset("syndigits", "test")) == 500


def test_syndigits_fonts_render_distinct_digits():
    from tlhelpers.data.syndigits import _glyph_bank, available_fonts

    glyphs, _ = _glyph_bank()
    for f in range(len(available_fonts())):
        sizes = {glyphs[f * 30 + d].size for d in range(10)}
        arrays = [np.asarray(glyphs[f * 30 + d]) for d in range(10)]
        # every digit has ink, and no two digits of one font render identically
        assert all(a.max() > 0 for a in arrays)
        assert len(sizes) > 1 or len({a.tobytes() for a in arrays}) == 10


def test_syndigits_is_learnable():
    """A linear model on pixels beats chance clearly: the labels match the rendered digits."""
    from sklearn.linear_model import LogisticRegression

    tr = load_dataset("syndigits", "train", n=1500, seed=0, distractors=False)
    te = load_dataset("syndigits", "test", n=300, seed=0, distractors=False)
    grey = lambda d: d.x.mean(-1).reshape(len(d), -1)  # noqa: E731
    gx, tx = grey(tr), grey(te)
    # polarity varies (light on dark, dark on light): centre each image
    gx = (gx - gx.mean(1, keepdims=True)) * np.sign(gx.mean(1, keepdims=True) - np.median(gx, 1, keepdims=True))
    tx = (tx - tx.mean(1, keepdims=True)) * np.sign(tx.mean(1, keepdims=True) - np.median(tx, 1, keepdims=True))
    acc = LogisticRegression(max_iter=300).fit(gx, tr.y).score(tx, te.y)
    assert acc > 0.2  # chance is 0.1


# ---------------------------------------------------------------- Digits
def test_digits_fixed_split():
    tr = load_dataset("digits", "train")
    te = load_dataset("digits", "test")
    _check_images(tr, (32, 32, 3))
    assert (len(tr), len(te)) == (1297, 500)
    assert not tr.synthetic
    counts = np.bincount(te.y, minlength=10)
    assert counts.min() >= 45 and counts.max() <= 55  # stratified
    np.testing.assert_array_equal(tr.x[..., 0], tr.x[..., 2])  # grey in three channels
    # fixed split: the same for every seed
    np.testing.assert_array_equal(load_dataset("digits", "test", seed=5).x, te.x)
    # the images are the sklearn digits, upsampled
    from sklearn.datasets import load_digits as sk

    raw = sk()
    assert len(tr) + len(te) == len(raw.images)
    # block means of the 32x32 images give back the 8x8 originals (up to interpolation)
    blocks = tr.x[..., 0].reshape(len(tr), 8, 4, 8, 4).mean(axis=(2, 4))
    original = raw.images[tr.meta["index"]] / 16.0
    assert np.corrcoef(blocks.ravel(), original.ravel())[0, 1] > 0.95
    np.testing.assert_array_equal(raw.target[tr.meta["index"]], tr.y)


def test_digits_n_is_stratified_and_seeded():
    a = load_dataset("digits", "train", n=100, seed=1)
    assert len(a) == 100 and np.bincount(a.y, minlength=10).min() >= 9
    b = load_dataset("digits", "train", n=100, seed=2)
    assert not np.array_equal(a.x, b.x)
    with pytest.raises(DatasetError, match="n=5000"):
        load_dataset("digits", "train", n=5000)


# ---------------------------------------------------------------- Digits-M
def test_digits_m_is_mnistm_blend_of_digits():
    d = load_dataset("digits", "test")
    m = load_dataset("digits-m", "test", seed=0)
    _check_images(m, (32, 32, 3))
    np.testing.assert_array_equal(m.y, d.y)
    from tlhelpers.data.digits_m import photos

    pool = photos()
    patches = np.stack([pool[k][1][r:r + 32, c:c + 32] for k, r, c in m.meta["patches"]])
    np.testing.assert_allclose(m.x, np.abs(patches - d.x[..., :1]), atol=1e-6)
    # colour: channels differ, unlike Digits
    assert np.abs(m.x[..., 0] - m.x[..., 1]).mean() > 0.01


def test_digits_m_train_and_test_patches_never_overlap():
    from tlhelpers.data.digits_m import photos

    tr = load_dataset("digits-m", "train", seed=0).meta["patches"]
    te = load_dataset("digits-m", "test", seed=0).meta["patches"]
    for k, (_, img) in enumerate(photos()):
        a, b = tr[tr[:, 0] == k], te[te[:, 0] == k]
        assert len(a) and len(b), "every photo feeds both splits"
        assert a[:, 2].max() + 32 <= b[:, 2].min(), f"photo {k}: train and test patches overlap"


def test_digits_m_deterministic_and_seeded():
    a = load_dataset("digits-m", "train", n=300, seed=0)
    b = load_dataset("digits-m", "train", n=300, seed=0)
    c = load_dataset("digits-m", "train", n=300, seed=1)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)


# ---------------------------------------------------------------- load_dataset
def test_embedded_names():
    assert {"syndigits", "digits", "digits-m", "moons", "moons-rotated", "medical-standin",
            "text-docstrings"} <= set(EMBEDDED)


def test_unknown_name_lists_valid_names():
    with pytest.raises(DatasetError, match="unknown dataset 'mnits'.*'syndigits'.*'digits-m'"):
        load_dataset("mnits")


def test_unknown_split_lists_valid_splits():
    with pytest.raises(DatasetError, match="split='validation'.*'train', 'test'"):
        load_dataset("digits", "validation")


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_n_is_an_error(n):
    with pytest.raises(DatasetError, match="n must be a positive integer"):
        load_dataset("syndigits", n=n)


def test_unknown_option_lists_the_options():
    with pytest.raises(DatasetError, match="'digits' does not take angle.*image_size, channels"):
        load_dataset("digits", angle=30)


def test_bad_seed_and_fallback_are_errors():
    with pytest.raises(DatasetError, match="seed"):
        load_dataset("digits", seed=-1)
    with pytest.raises(DatasetError, match="fallback='mnist'.*embedded"):
        load_dataset("digits", fallback="mnist")


def _fake_registry(monkeypatch, available: bool):
    calls = []

    def load_real(name, split, *, download=True, progress=True, n=None, seed=0):
        calls.append((name, split, download))
        if not available:
            raise DatasetUnavailableError(f"{name} is not cached and the network is off")
        return Dataset(x=np.zeros((4, 32, 32, 3), np.float32), y=[0, 1, 0, 1], class_names=["a", "b"],
                       name=name, split=split, description="fake", source="cache")

    module = types.ModuleType("tlhelpers.data.registry")
    module.REAL_DATASETS = {"fake-mnist": object()}
    module.load_real = load_real
    monkeypatch.setitem(sys.modules, "tlhelpers.data.registry", module)
    return calls


def test_real_dataset_dispatch(monkeypatch):
    calls = _fake_registry(monkeypatch, available=True)
    ds = load_dataset("fake-mnist", "test", download=False)
    assert ds.source == "cache" and calls == [("fake-mnist", "test", False)]


def test_unavailable_without_fallback_propagates(monkeypatch):
    _fake_registry(monkeypatch, available=False)
    with pytest.raises(DatasetUnavailableError):
        load_dataset("fake-mnist")


def test_fallback_is_announced(monkeypatch, capsys):
    _fake_registry(monkeypatch, available=False)
    with pytest.warns(UserWarning, match="'fake-mnist'.*'digits'"):
        ds = load_dataset("fake-mnist", "test", fallback="digits")
    assert ds.name == "digits" and len(ds) == 500 and ds.meta["fallback_for"] == "fake-mnist"
    out = capsys.readouterr().out
    assert "fake-mnist" in out and "'digits'" in out


# ---------------------------------------------------------------- moons
def test_moons_and_rotated_moons():
    from tlhelpers.data.moons import CENTRE, rotate

    s = load_dataset("moons", "train", n=400, seed=0)
    t = load_dataset("moons-rotated", "train", n=400, seed=0)
    for ds in (s, t):
        assert ds.x.shape == (400, 2) and ds.x.dtype == np.float32 and ds.y.dtype == np.int64
        assert np.bincount(ds.y).tolist() == [200, 200]
    np.testing.assert_array_equal(s.x, load_dataset("moons", "train", n=400, seed=0).x)
    assert not np.array_equal(s.x, load_dataset("moons", "train", n=400, seed=1).x)
    assert t.meta["angle"] == 30.0
    # undoing the rotation gives back moons: same class means as the source, up to sampling
    back = rotate(t.x, -30.0)
    for c in (0, 1):
        np.testing.assert_allclose(back[t.y == c].mean(0), s.x[s.y == c].mean(0), atol=0.1)
    # rotation about the centre keeps distances to it
    d = np.linalg.norm(t.x - np.asarray(CENTRE), axis=1)
    np.testing.assert_allclose(d, np.linalg.norm(back - np.asarray(CENTRE), axis=1), rtol=1e-5)
    # angle=0 is the source distribution (fresh points)
    z = load_dataset("moons-rotated", "train", n=400, seed=0, angle=0)
    np.testing.assert_allclose(z.x[z.y == 0].mean(0), s.x[s.y == 0].mean(0), atol=0.1)


def test_rotation_hurts_a_source_classifier():
    from sklearn.svm import SVC

    s = load_dataset("moons", "train", n=400, seed=0)
    clf = SVC().fit(s.x, s.y)
    acc = [clf.score(*(lambda d: (d.x, d.y))(load_dataset("moons-rotated", "test", n=400, angle=a)))
           for a in (0, 30, 60)]
    assert acc[0] > 0.95 and acc[0] > acc[1] > acc[2]


# ---------------------------------------------------------------- medical stand-in
def test_medical_standin_shape_imbalance_and_label():
    ds = load_dataset("medical-standin", "train", n=400, seed=0)
    _check_images(ds, (28, 28, 1))
    assert ds.class_names == ["normal", "pneumonia"] and ds.synthetic
    assert "SYNTHETIC" in ds.description
    assert (ds.y == 1).sum() == 296  # round(0.74 * 400): ~3:1 pneumonia:normal
    np.testing.assert_array_equal(ds.x, load_dataset("medical-standin", "train", n=400, seed=0).x)
    assert not np.array_equal(ds.x, load_dataset("medical-standin", "train", n=400, seed=1).x)
    big = load_dataset("medical-standin", "test", n=8, image_size=64)
    _check_images(big, (64, 64, 1))


def test_medical_standin_is_learnable_but_not_trivial():
    from sklearn.linear_model import LogisticRegression

    tr = load_dataset("medical-standin", "train", n=1000, seed=0)
    te = load_dataset("medical-standin", "test", n=400, seed=0)
    acc = LogisticRegression(max_iter=500, C=0.1).fit(tr.x.reshape(len(tr), -1), tr.y) \
        .score(te.x.reshape(len(te), -1), te.y)
    assert 0.76 < acc < 0.99  # above the 0.74 majority rate, below perfect
    # pneumonia opacities brighten the lung fields on average
    lungs = tr.x[:, 8:18, 4:10, 0].mean(axis=(1, 2))
    assert lungs[tr.y == 1].mean() > lungs[tr.y == 0].mean()


# ---------------------------------------------------------------- text
def test_text_corpus_is_real_stable_and_split():
    tr = load_dataset("text-docstrings", "train")
    te = load_dataset("text-docstrings", "test")
    assert tr.is_text and all(isinstance(t, str) and len(t.split()) >= 5 for t in tr.x)
    assert tr.class_names == ["image processing", "linear algebra", "signal processing",
                              "special functions", "statistics"]
    sizes = np.bincount(np.r_[tr.y, te.y], minlength=5)
    assert sizes.min() >= 100 and sizes.max() <= 250
    assert abs(len(te) / (len(tr) + len(te)) - 0.25) < 0.01
    assert not set(tr.x) & set(te.x)
    assert len(set(tr.x)) == len(tr.x)
    assert set(tr.meta["versions"]) == {"numpy", "scipy", "skimage"}
    # no code or section headers leaked in
    assert not any(">>>" in t or "Parameters" in t or "----" in t for t in tr.x)
    # labels are plausible: a known function carries its module's topic
    lookup = dict(zip(np.r_[tr.meta["qualnames"], te.meta["qualnames"]], np.r_[tr.y, te.y]))
    topic = {name: tr.class_names[label] for name, label in lookup.items()}
    assert topic.get("scipy.stats.norm", "statistics") == "statistics"
    assert topic.get("scipy.signal.butter", "signal processing") == "signal processing"
    assert any(n.startswith("scipy.linalg") for n in topic)
    # rebuilt from scratch, it is identical (same installed versions)
    from tlhelpers.data import text

    first = text.build_corpus()
    text.build_corpus.cache_clear()
    again = text.build_corpus()
    assert first[0] == again[0] and np.array_equal(first[1], again[1])


def test_text_corpus_is_learnable():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    tr = load_dataset("text-docstrings", "train")
    te = load_dataset("text-docstrings", "test")
    vec = TfidfVectorizer()
    acc = LogisticRegression(max_iter=1000).fit(vec.fit_transform(tr.x), tr.y).score(vec.transform(te.x), te.y)
    assert acc > 0.7  # chance is about 0.23


def test_clean_docstring_keeps_prose_only():
    from tlhelpers.data.text import clean_docstring

    doc = """add(x1, x2, /, out=None)

    Add arguments :func:`element-wise <numpy.add>` using ``+``.

    The formula is::

        z = x1 + x2

    which is fast.

    .. versionadded:: 1.0

    Parameters
    ----------
    x1 : array
    """
    assert clean_docstring(doc) == "Add arguments element-wise using +. The formula is: which is fast."


# ---------------------------------------------------------------- bring your own data
def _write_folder(root, sizes=((20, 24), (40, 30))):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, fmt in (("cats", "PNG"), ("dogs", "JPEG")):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            h, w = sizes[i % len(sizes)]
            arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{i}.{'png' if fmt == 'PNG' else 'jpg'}", fmt)
    return root


def test_from_folder_reads_png_and_jpeg(tmp_path):
    from tlhelpers.data import from_folder

    root = _write_folder(tmp_path / "pets")
    (root / "cats" / "notes.txt").write_text("not an image")
    ds = from_folder(root, image_size=(16, 16))
    _check_images(ds, (16, 16, 3))
    assert ds.class_names == ["cats", "dogs"] and ds.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert ds.name == "pets" and ds.source == "folder"
    grey = from_folder(root, image_size=8, channels=1, class_names=["dogs"])
    _check_images(grey, (8, 8, 1))
    assert grey.class_names == ["dogs"] and len(grey) == 3


def test_from_folder_errors(tmp_path):
    from tlhelpers.data import from_folder

    with pytest.raises(DatasetError, match="does not exist"):
        from_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no class subfolders"):
        from_folder(tmp_path / "empty")
    root = _write_folder(tmp_path / "pets")
    (root / "birds").mkdir()
    with pytest.raises(DatasetError, match="birds.*holds no images"):
        from_folder(root)
    (root / "birds" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="could not be read.*broken.png"):
        from_folder(root)
    (root / "birds" / "ok.png").write_bytes((root / "cats" / "0.png").read_bytes())
    ds = from_folder(root, skip_unreadable=True)
    assert ds.class_names == ["birds", "cats", "dogs"] and len(ds) == 7
    with pytest.raises(DatasetError, match="different sizes"):
        from_folder(root, image_size=None, skip_unreadable=True)
    with pytest.raises(DatasetError, match="image_size"):
        from_folder(root, image_size=(0, 4))


def test_from_arrays_normalises():
    from tlhelpers.data import from_arrays

    u8 = np.full((4, 5, 6), 255, dtype=np.uint8)
    ds = from_arrays(u8, [0, 1, 1, 2])
    assert ds.x.shape == (4, 5, 6, 1) and ds.x.dtype == np.float32 and ds.x.max() == 1.0
    assert ds.class_names == ["0", "1", "2"]
    nchw = np.zeros((4, 3, 8, 8), dtype=np.float64)
    assert from_arrays(nchw, np.eye(3)[[0, 1, 2, 0]]).x.shape == (4, 8, 8, 3)
    named = from_arrays(np.zeros((3, 4, 4, 3)), ["dog", "cat", "dog"])
    assert named.class_names == ["cat", "dog"] and named.y.tolist() == [1, 0, 1]
    text = from_arrays(["a b", "c d"], [1, 0], class_names=["neg", "pos"])
    assert text.is_text and text.class_names == ["neg", "pos"]


@pytest.mark.parametrize("x, y, match", [
    (np.zeros((4, 5)), [0, 1, 0, 1], "shape"),
    (np.zeros((4, 5, 5, 2)), [0, 1, 0, 1], "1 or 3 channels"),
    (np.full((2, 4, 4, 3), 200.0), [0, 1], r"\[0, 1\].*255"),
    (np.zeros((3, 4, 4, 3)), [0, 1], "3 examples but y has 2"),
    (np.zeros((2, 4, 4, 3)), [0.5, 1], "whole-number"),
    (np.zeros((2, 4, 4, 3)), [-1, 1], ">= 0"),
])
def test_from_arrays_errors(x, y, match):
    from tlhelpers.data import from_arrays

    with pytest.raises(DatasetError, match=match):
        from_arrays(x, y)


def test_fallback_with_the_real_registry(monkeypatch, tmp_path):
    """Integration with tlhelpers.data.registry: an uncached real dataset falls back offline."""
    registry = pytest.importorskip("tlhelpers.data.registry")
    if "mnist" not in registry.REAL_DATASETS:
        pytest.skip("the registry has no 'mnist'")
    monkeypatch.setenv("TLH_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailableError):
        load_dataset("mnist", "test", download=False)
    with pytest.warns(UserWarning, match="'mnist'.*'digits'"):
        ds = load_dataset("mnist", "test", fallback="digits", download=False)
    assert ds.name == "digits" and ds.meta["fallback_for"] == "mnist"
