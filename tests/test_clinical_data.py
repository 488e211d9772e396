"""Lesson 07's data (tlhelpers.data.medmnist): the official MedMNIST splits through the course's
downloader (a local server here), the MedMNIST+ sizes pre-placed in the cache and MD5-checked,
the SYNTHETIC stand-in offline with a validation split disjoint from train and test, and
stratified or patient-grouped splits of one's own images."""

from __future__ import annotations

import io

import numpy as np
import pytest
from test_download import cache, medmnist_npz, point_registry_at, server  # noqa: F401  (fixtures)

import tlhelpers.data.medmnist as MM
from tlhelpers.data import from_arrays
from tlhelpers.data.download import cache_path
from tlhelpers.data.errors import ChecksumError, DatasetError, DatasetUnavailableError


def test_offline_gives_the_labelled_synthetic_standin_with_three_disjoint_splits(cache, monkeypatch, capsys):
    monkeypatch.setenv("TLH_OFFLINE", "1")
    with pytest.warns(UserWarning, match="SYNTHETIC"):
        splits = MM.load_medical("pneumoniamnist", n={"train": 240, "val": 80, "test": 100})
    assert "SYNTHETIC" in capsys.readouterr().out
    assert splits.synthetic and "pneumoniamnist.npz" in splits.reason     # says which file is missing
    assert (len(splits.train), len(splits.val), len(splits.test)) == (240, 80, 100)
    assert [splits.train.split, splits.val.split, splits.test.split] == ["train", "val", "test"]
    assert all(ds.synthetic and ds.meta["fallback_for"] == "pneumoniamnist"
               for ds in (splits.train, splits.val, splits.test))
    assert splits.class_names == ["normal", "pneumonia"]
    # stratified: the stand-in's ~74 % pneumonia in train and val alike
    assert abs(splits.train.y.mean() - splits.val.y.mean()) < 0.02
    # no image shared between any two splits
    flat = {name: getattr(splits, name).x.reshape(len(getattr(splits, name)), -1) for name in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not (flat[a][:, None, :] == flat[b][None, :, :]).all(-1).any(), (a, b)
    assert "SYNTHETIC stand-in (not medical data)" in splits.summary()
    with pytest.raises(DatasetUnavailableError):
        MM.load_medical("pneumoniamnist", fallback=False)


def test_official_splits_through_the_downloader(server, cache, monkeypatch):  # noqa: F811
    body, arrays = medmnist_npz(sizes=(12, 5, 7), n_classes=2)
    point_registry_at(monkeypatch, server, "breastmnist", {"npz": body})
    splits = MM.load_medical("breastmnist", progress=False)
    assert not splits.synthetic
    for split, n in (("train", 12), ("val", 5), ("test", 7)):
        ds = getattr(splits, split)
        assert ds.x.shape == (n, 28, 28, 1) and ds.split == split and not ds.synthetic
        np.testing.assert_array_equal(ds.y, arrays[f"{split}_labels"].ravel())
    assert splits.class_names[0] == "malignant"
    assert "BreastMNIST" in splits.summary()
    # cached now: no network needed a second time
    monkeypatch.setenv("TLH_OFFLINE", "1")
    assert MM.load_medmnist("breastmnist", "validation", progress=False).split == "val"


def npz_at(size, n=(6, 3, 4), seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, k in zip(("train", "val", "test"), n):
        arrays[f"{split}_images"] = rng.integers(0, 256, (k, size, size), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (k, 1), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue(), arrays


def test_medmnist_plus_size_preplaced_and_md5_checked(cache, monkeypatch):
    import hashlib

    body, arrays = npz_at(64)
    path = cache_path("pneumoniamnist", "pneumoniamnist_64.npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    monkeypatch.setitem(MM._MD5, ("pneumoniamnist", 64), hashlib.md5(body).hexdigest())
    ds = MM.load_medmnist("pneumoniamnist", "test", size=64, download=False)
    assert ds.x.shape == (4, 64, 64, 1) and ds.x.dtype == np.float32 and 0 <= ds.x.min() <= ds.x.max() <= 1
    np.testing.assert_allclose(ds.x[..., 0], arrays["test_images"] / 255.0, atol=1e-6)
    assert ds.meta["image_size"] == 64 and ds.source == "cache"
    # a file whose MD5 is not the published one is refused
    monkeypatch.setitem(MM._MD5, ("pneumoniamnist", 64), "0" * 32)
    with pytest.raises((ChecksumError, DatasetUnavailableError)):
        MM.load_medmnist("pneumoniamnist", "test", size=64, download=False)


def test_published_md5s_are_pinned():
    for name in MM.MEDMNIST_NAMES:
        for size in MM.MEDMNIST_SIZES:
            remote = MM.medmnist_file(name, size)
            assert len(remote.md5) == 32 and remote.filename.startswith(name)
            assert "zenodo.org/records/10519652" in remote.urls[0]
    assert MM.medmnist_file("pneumoniamnist", 224).md5 == "d6a3c71de1b945ea11211b03746c1fe1"


def test_bad_arguments(cache):
    with pytest.raises(DatasetError, match="name must be one of"):
        MM.load_medical("chestmnist")
    with pytest.raises(DatasetError, match="size must be one of"):
        MM.load_medmnist("pneumoniamnist", size=32)
    with pytest.raises(DatasetError, match="split must be one of"):
        MM.load_medmnist("pneumoniamnist", "dev")
    with pytest.raises(DatasetError, match="n must be a dict"):
        MM.load_medical(n={"training": 10})
    with pytest.raises(DatasetError, match=r"n\['val'\] must be an integer"):
        MM.load_medical(n={"val": 1})


def own_images(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    return from_arrays(rng.random((n, 8, 8, 1)).astype(np.float32), y, ["normal", "abnormal"], name="mine")


def test_split_dataset_stratified_and_grouped():
    ds = own_images()
    splits = MM.split_dataset(ds, val=0.2, test=0.2, seed=1)
    sizes = [len(splits.train), len(splits.val), len(splits.test)]
    assert sum(sizes) == 200 and sizes == [120, 40, 40]
    for part in (splits.train, splits.val, splits.test):
        assert abs(part.y.mean() - ds.y.mean()) < 0.03
    # every image in exactly one split
    ids = np.concatenate([p.x.reshape(len(p), -1)[:, 0] for p in (splits.train, splits.val, splits.test)])
    assert sorted(ids) == sorted(ds.x.reshape(200, -1)[:, 0])
    # patient-level: 50 patients with 4 images each; no patient in two splits
    patients = np.repeat(np.arange(50), 4)
    grouped = MM.split_dataset(ds, val=0.2, test=0.2, seed=1, groups=patients)
    key = {float(v): p for v, p in zip(ds.x.reshape(200, -1)[:, 0], patients)}
    seen = [{key[float(v)] for v in part.x.reshape(len(part), -1)[:, 0]}
            for part in (grouped.train, grouped.val, grouped.test)]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    assert sum(len(s) for s in seen) == 50
    with pytest.raises(DatasetError, match="groups must hold one patient id per image"):
        MM.split_dataset(ds, groups=patients[:10])
    with pytest.raises(DatasetError, match="val \\+ test must leave images"):
        MM.split_dataset(ds, val=0.5, test=0.5)
    with pytest.raises(DatasetError, match="test must be a fraction"):
        MM.split_dataset(ds, test=0)
    with pytest.raises(DatasetError, match="ds must be a Dataset"):
        MM.split_dataset(ds.x)
