"""The real-dataset registry: complete entries, and every reader on its real file format.

Each dataset is downloaded from a local HTTP server (see ``test_download``) serving a
small file written here in the publisher's format, then parsed into a ``Dataset``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import re
import tarfile
import zipfile

import numpy as np
import pytest
from test_download import (  # noqa: F401  (fixtures)
    UCI_LINES,
    cache,
    idx_bytes,
    imagenette_tgz,
    medmnist_npz,
    mnist_m_targz,
    mnist_payloads,
    point_registry_at,
    server,
    sst2_zip,
    uci_zip,
    usps_bz2,
)

from tlhelpers.data.dataset import Dataset
from tlhelpers.data.download import UNKNOWN
from tlhelpers.data.errors import DatasetError
from tlhelpers.data.readers import (
    FormatError,
    read_glue_tsv,
    read_idx,
    read_libsvm,
    read_medmnist_npz,
    read_uci_sentences,
)
from tlhelpers.data.registry import (
    REAL_DATASETS,
    load_real,
    offline_instructions,
    real_dataset_names,
    registry_table,
)

REQUIRED = {"mnist", "mnist-m", "usps", "pneumoniamnist", "breastmnist", "dermamnist",
            "uci-sentiment", "sst2", "imagenette"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


# ============================================================================ completeness


def test_registry_has_every_course_dataset():
    assert REQUIRED <= set(REAL_DATASETS)
    assert real_dataset_names() == sorted(REAL_DATASETS)


@pytest.mark.parametrize("name", sorted(REAL_DATASETS))
def test_entry_is_complete(name):
    info = REAL_DATASETS[name]
    assert info.name == name and info.title
    assert info.licence.strip() and info.citation.strip() and info.description.strip()
    assert info.homepage.startswith(("http://", "https://"))
    assert info.kind in {"image", "text"} and callable(info.reader)
    assert info.splits and len(info.class_names) >= 2
    assert len(set(info.class_names)) == len(info.class_names)
    assert set(info.split_files) <= set(info.splits)
    assert set(info.split_sizes) <= set(info.splits)
    for split, keys in info.split_files.items():
        assert set(keys) <= set(info.files), f"{name}/{split} needs an unknown file"
    for alias, target in info.split_aliases.items():
        assert target in info.splits
    assert info.files
    for key, remote in info.files.items():
        where = f"{name}/{key}"
        assert remote.filename and "/" not in remote.filename, where
        assert remote.urls and all(u.startswith("https://") for u in remote.urls), where
        # A checksum, or the explicit marker for "none published" (trust on first use).
        assert remote.sha256 == UNKNOWN or HEX64.match(remote.sha256), where
        assert remote.md5 is None or HEX32.match(remote.md5), where
        if not remote.checksum_known:
            assert "first use" in remote.note and "first use" in remote.checksum_status()
        assert remote.note, f"{where}: say where the checksum comes from"
        # An exact size where published, else an indication for humans.
        assert (isinstance(remote.size, int) and remote.size > 0) or remote.approx_size, where


def test_only_the_uci_zip_lacks_a_published_checksum():
    unknown = [(n, r.filename) for n, i in REAL_DATASETS.items() for r in i.files.values()
               if not r.checksum_known]
    assert unknown == [("uci-sentiment", "sentiment labelled sentences.zip")]


def test_published_mnist_fingerprints_are_pinned():
    """Guards against an accidental edit of the values cross-checked from torchvision/TFDS."""
    f = REAL_DATASETS["mnist"].files
    assert f["train_images"].sha256.startswith("440fcabf73cc546fa214")
    assert f["train_images"].size == 9912422 and f["test_labels"].size == 4542
    assert f["test_images"].md5 == "9fb629c4189551a2d022fa330f9573f3"
    assert REAL_DATASETS["sst2"].files["zip"].size == 7439277


def test_registry_table_and_offline_instructions(cache):
    rows = registry_table()
    assert {r["dataset"] for r in rows} == set(REAL_DATASETS)
    assert all(r["checksum"] and r["licence"] and r["size"] for r in rows)
    text = offline_instructions("usps")
    assert "usps.bz2" in text and str(cache / "usps" / "usps.t.bz2") in text


def test_unknown_name_split_and_option():
    with pytest.raises(DatasetError, match="known"):
        load_real("mnistt", "train")
    with pytest.raises(DatasetError, match="splits"):
        load_real("mnist", "validation")


# ============================================================================ end to end


def _check_images(ds: Dataset, n: int, hw: tuple[int, int], c: int) -> None:
    assert isinstance(ds, Dataset) and ds.source in {"download", "cache"}
    assert ds.x.dtype == np.float32 and ds.x.shape == (n, *hw, c)
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    assert ds.y.dtype == np.int64 and len(ds.y) == n


def test_mnist_both_splits(server, cache, monkeypatch):
    payloads, arrays = mnist_payloads(n_train=10, n_test=5)
    point_registry_at(monkeypatch, server, "mnist", payloads)
    test = load_real("mnist", "test", progress=False)
    _check_images(test, 5, (28, 28), 1)
    np.testing.assert_array_equal(test.y, arrays["test_labels"])
    small = load_real("mnist", "train", n=4, seed=1, image_size=32, progress=False)
    _check_images(small, 4, (32, 32), 1)
    assert small.meta["sampled"] and small.source == "download"


def test_mnist_m_archive(server, cache, monkeypatch):
    body, arrays = mnist_m_targz()
    point_registry_at(monkeypatch, server, "mnist-m", {"archive": body})
    train = load_real("mnist-m", "train", progress=False)
    _check_images(train, 8, (32, 32), 3)
    np.testing.assert_array_equal(train.y, arrays["train"][1])
    np.testing.assert_allclose(train.x * 255, arrays["train"][0], atol=1e-3)  # PNG is lossless
    test = load_real("mnist-m", "test", n=3, seed=0, progress=False)
    _check_images(test, 3, (32, 32), 3)
    assert test.source == "cache"


@pytest.mark.parametrize("sparse", [False, True])
def test_usps_libsvm(server, cache, monkeypatch, sparse):
    body, x, y = usps_bz2(sparse=sparse)
    point_registry_at(monkeypatch, server, "usps", {"train": body})
    ds = load_real("usps", "train", progress=False)
    _check_images(ds, 9, (16, 16), 1)
    np.testing.assert_array_equal(ds.y, y - 1)  # LIBSVM label k is digit k-1
    np.testing.assert_allclose(ds.x[..., 0], ((x + 1) / 2).reshape(-1, 16, 16), atol=1e-6)


@pytest.mark.parametrize("name,rgb,n_classes", [("pneumoniamnist", False, 2),
                                                ("breastmnist", False, 2),
                                                ("dermamnist", True, 7)])
def test_medmnist(server, cache, monkeypatch, name, rgb, n_classes):
    body, arrays = medmnist_npz(rgb=rgb, n_classes=n_classes)
    point_registry_at(monkeypatch, server, name, {"npz": body})
    for split, n in (("train", 10), ("val", 4), ("test", 6)):
        ds = load_real(name, split, progress=False)
        _check_images(ds, n, (28, 28), 3 if rgb else 1)
        np.testing.assert_array_equal(ds.y, arrays[f"{split}_labels"].ravel())
        assert "MedMNIST v2" in ds.meta["citation"]
    assert load_real(name, "validation").split == "val"


def test_uci_sentences(server, cache, monkeypatch):
    point_registry_at(monkeypatch, server, "uci-sentiment", {"zip": uci_zip()})
    everything = load_real("uci-sentiment", "all", progress=False)
    assert everything.is_text and len(everything) == 18
    assert everything.x[0] == "So there is no way for me to plug it in here."
    assert sorted(set(everything.meta["domain"])) == ["amazon", "imdb", "yelp"]
    assert "Service was très slow." in everything.x
    imdb = load_real("uci-sentiment", "imdb")
    assert len(imdb) == 6 and set(imdb.meta["domain"]) == {"imdb"}
    assert imdb.x[0] == "A very, very, very slow-moving, aimless movie."  # trailing blanks gone
    train = load_real("uci-sentiment", "train")
    test = load_real("uci-sentiment", "test")
    assert len(train) + len(test) == 18 and not set(train.x) & set(test.x)
    assert load_real("uci-sentiment", "test").x == test.x  # the course split is fixed
    yelp_only = everything.subset(everything.meta["domain"] == "yelp")
    assert len(yelp_only) == 6 and set(yelp_only.meta["domain"]) == {"yelp"}
    with pytest.raises(DatasetError, match="text"):
        load_real("uci-sentiment", "all", image_size=32)


def test_sst2(server, cache, monkeypatch):
    point_registry_at(monkeypatch, server, "sst2", {"zip": sst2_zip()})
    train = load_real("sst2", "train", progress=False)
    assert len(train) == 5 and train.y.tolist() == [0, 0, 1, 1, 1]
    assert train.x[4] == 'it \'s a "charming" and often affecting journey .'
    dev = load_real("sst2", "validation")
    assert dev.split == "dev" and len(dev) == 3 and dev.source == "cache"


def test_imagenette(server, cache, monkeypatch):
    body, counts = imagenette_tgz(per_class=2)
    point_registry_at(monkeypatch, server, "imagenette", {"archive": body})
    val = load_real("imagenette", "val", image_size=64, progress=False)
    _check_images(val, counts["val"], (64, 64), 3)
    assert sorted(set(val.y.tolist())) == [0, 1, 2] and val.class_names[0] == "tench"
    few = load_real("imagenette", "train", n=3, progress=False)
    _check_images(few, 3, (160, 160), 3)


# ============================================================================ malformed files


def test_idx_reader_rejects_bad_files(tmp_path):
    bad_magic = tmp_path / "bad.gz"
    bad_magic.write_bytes(gzip.compress(b"\x01\x02\x08\x01" + b"\x00" * 8))
    with pytest.raises(FormatError, match="magic"):
        read_idx(bad_magic)
    short = tmp_path / "short.gz"
    short.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big")
                                    + (28).to_bytes(4, "big") * 2 + b"\x00" * 100))
    with pytest.raises(FormatError, match="holds"):
        read_idx(short)
    plain = tmp_path / "plain-idx1"
    plain.write_bytes(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    assert read_idx(plain).tolist() == [1, 2, 3]  # uncompressed IDX is fine too


def test_medmnist_reader_rejects_missing_keys(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, train_images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(FormatError, match="train_labels"):
        read_medmnist_npz(path, "train")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(FormatError):
        read_medmnist_npz(junk, "train")


def test_uci_reader_rejects_lines_without_label(tmp_path):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sentiment labelled sentences/amazon_cells_labelled.txt", "fine.\t1\nbroken\n")
        zf.writestr("sentiment labelled sentences/imdb_labelled.txt", "ok.\t0\n")
        zf.writestr("sentiment labelled sentences/yelp_labelled.txt", "ok.\t1\n")
    with pytest.raises(FormatError, match="line 2"):
        read_uci_sentences(path)
    missing = tmp_path / "m.zip"
    with zipfile.ZipFile(missing, "w") as zf:
        zf.writestr("readme.txt", "nothing")
    with pytest.raises(FormatError, match="amazon_cells_labelled.txt"):
        read_uci_sentences(missing)


def test_glue_reader_rejects_unlabelled_or_ragged_tsv(tmp_path):
    path = tmp_path / "SST-2.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("SST-2/test.tsv", "index\tsentence\n0\tno label here\n")
        zf.writestr("SST-2/train.tsv", "sentence\tlabel\ngood\t1\nbad\t0\textra\n")
        zf.writestr("SST-2/dev.tsv", "sentence\tlabel\ngood\tpositive\n")
    with pytest.raises(FormatError, match="label"):
        read_glue_tsv(path, "SST-2/test.tsv")
    with pytest.raises(FormatError, match="line 3"):
        read_glue_tsv(path, "SST-2/train.tsv")
    with pytest.raises(FormatError, match="not an integer"):
        read_glue_tsv(path, "SST-2/dev.tsv")


def test_libsvm_reader_rejects_garbage(tmp_path):
    path = tmp_path / "usps.bz2"
    path.write_bytes(bz2.compress(b"1 1:0.5 2:-1\n3 abc\n"))
    with pytest.raises(FormatError, match="line 2"):
        read_libsvm(path, n_features=256)
    out_of_range = tmp_path / "usps.t"
    out_of_range.write_bytes(b"1 300:0.5\n")
    with pytest.raises(FormatError, match="outside"):
        read_libsvm(out_of_range, n_features=256)


def test_malformed_download_surfaces_as_dataset_error(server, cache, monkeypatch):
    """A file with the 'right' checksum but the wrong content still fails loudly."""
    buf = io.BytesIO()
    np.savez(buf, something_else=np.zeros(3))
    point_registry_at(monkeypatch, server, "breastmnist", {"npz": buf.getvalue()})
    with pytest.raises(DatasetError, match="missing keys"):
        load_real("breastmnist", "train", progress=False)


# ============================================================================ real files (issue 9)


def test_uci_sentences_with_nel_and_line_separator_inside(server, cache, monkeypatch):
    """A cp1252 -> Latin-1 -> UTF-8 round trip leaves U+0085 and U+2028 inside sentences."""
    lines = {**UCI_LINES, "amazon_cells_labelled.txt": [
        "Works great\u2026 but the case\u0085 is flimsy.\t0",
        "Best purchase\u2028ever.\t1", *UCI_LINES["amazon_cells_labelled.txt"][2:]]}
    point_registry_at(monkeypatch, server, "uci-sentiment", {"zip": uci_zip(lines)})
    amazon = load_real("uci-sentiment", "amazon", progress=False)
    assert len(amazon) == 6 and amazon.y.tolist()[:2] == [0, 1]
    assert amazon.x[0] == "Works great\u2026 but the case\u0085 is flimsy."
    assert amazon.x[1] == "Best purchase\u2028ever."


def test_mnist_m_is_32_by_32_in_the_registry():
    info = REAL_DATASETS["mnist-m"]
    assert "32×32" in info.description and "28×28" not in info.description


def test_real_samples_are_stratified(server, cache, monkeypatch):
    """n= keeps each class's share for real datasets too (80 % / 20 % stays 8 / 2)."""
    payloads, arrays = mnist_payloads(n_train=100, n_test=5)
    labels = np.r_[np.zeros(80), np.ones(20)].astype(np.uint8)
    payloads["train_labels"] = idx_bytes(np.random.default_rng(3).permutation(labels))
    point_registry_at(monkeypatch, server, "mnist", payloads)
    for seed in range(5):
        ds = load_real("mnist", "train", n=10, seed=seed, progress=False)
        assert np.bincount(ds.y, minlength=2).tolist()[:2] == [8, 2], seed


def test_mnist_m_decoded_arrays_are_cached(server, cache, monkeypatch):
    import stat

    from tlhelpers.data import readers

    body, arrays = mnist_m_targz(n_train=12)
    point_registry_at(monkeypatch, server, "mnist-m", {"archive": body})
    first = load_real("mnist-m", "train", n=6, seed=1, progress=False)
    decoded = cache / "mnist-m" / "decoded" / "mnist_m_train.npz"
    assert decoded.is_file() and first.meta["decoded_cache"] == str(decoded)
    assert stat.S_IMODE(decoded.stat().st_mode) == 0o644
    assert not list(decoded.parent.glob("*.tmp"))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded the PNGs again")

    with monkeypatch.context() as patch:
        patch.setattr(readers, "_decode_image", no_decoding)
        again = load_real("mnist-m", "train", n=6, seed=1, progress=False)
        np.testing.assert_array_equal(again.x, first.x)
        full = load_real("mnist-m", "train", progress=False)
        np.testing.assert_allclose(full.x * 255, arrays["train"][0], atol=1e-3)

    # A different archive (another checksum) is never served from the old arrays.
    other, other_arrays = mnist_m_targz(n_train=12, seed=7)
    point_registry_at(monkeypatch, server, "mnist-m", {"archive": other})
    (cache / "mnist-m" / "mnist_m.tar.gz").unlink()
    fresh = load_real("mnist-m", "train", progress=False)
    np.testing.assert_allclose(fresh.x * 255, other_arrays["train"][0], atol=1e-3)


# ---------------------------------------------------------------- your own copy of a dataset


def test_resaved_medmnist_copy_keeps_licence_and_citation(tmp_path, cache):
    _, arrays = medmnist_npz(sizes=(546, 78, 156))
    mine = tmp_path / "my_breastmnist.npz"
    np.savez(mine, **arrays)  # uncompressed: not the published bytes
    ds = load_real("breastmnist", "test", path=mine)
    assert ds.source == "local copy" and len(ds) == 156
    assert "Al-Dhabyani" in ds.meta["citation"] and ds.meta["licence"] == "CC BY 4.0"
    assert ds.meta["count_matches_published"] is True and ds.meta["local_copy"] == str(mine)
    np.testing.assert_array_equal(ds.y, arrays["test_labels"].ravel())


def test_local_copy_with_another_count_warns(tmp_path, cache):
    _, arrays = medmnist_npz()
    mine = tmp_path / "pneumoniamnist.npz"
    np.savez(mine, **arrays)
    with pytest.warns(UserWarning, match="published dataset has 624"):
        ds = load_real("pneumoniamnist", "test", path=mine)
    assert ds.meta["count_matches_published"] is False


def test_unpacked_mnist_m_folder(tmp_path, cache):
    body, arrays = mnist_m_targz()
    with tarfile.open(fileobj=io.BytesIO(body)) as tf:
        tf.extractall(tmp_path, filter="data")
    with pytest.warns(UserWarning, match="59,001"):
        ds = load_real("mnist-m", "train", path=tmp_path / "mnist_m")
    assert ds.source == "local copy" and ds.x.shape == (8, 32, 32, 3)
    np.testing.assert_array_equal(ds.y, arrays["train"][1])
    assert "Ganin" in ds.meta["citation"]


def test_usps_hdf5_copy(tmp_path, cache):
    import h5py

    rng = np.random.default_rng(0)
    mine = tmp_path / "usps.h5"
    with h5py.File(mine, "w") as h5:
        for split, n in (("train", 7291), ("test", 2007)):
            group = h5.create_group(split)
            group["data"] = rng.random((n, 256)).astype(np.float32)
            group["target"] = rng.integers(0, 10, n)
    ds = load_real("usps", "test", path=mine, n=50, seed=0)
    assert ds.source == "local copy" and ds.x.shape == (50, 16, 16, 1)
    assert ds.meta["count_matches_published"] is True and "Hull" in ds.meta["citation"]


def test_local_copy_errors(tmp_path, cache):
    with pytest.raises(DatasetError, match="does not exist"):
        load_real("usps", "train", path=tmp_path / "nope.h5")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no 'train-images-idx3-ubyte.gz'"):
        load_real("mnist", "train", path=tmp_path / "empty")
    one_file = tmp_path / "x.gz"
    one_file.write_bytes(b"x")
    with pytest.raises(DatasetError, match="needs 2 files"):
        load_real("mnist", "train", path=one_file)
