"""Lesson 07's data: MedMNIST v2 with its official train / validation / test splits, the
SYNTHETIC stand-in offline, and a learner's own folder, all as the same three splits.

Why three splits, and why the official ones: a threshold, a temperature, an epoch count
or a class weight chosen on the test set makes the test metrics optimistic. Everything
is tuned on ``val``, and ``test`` is touched once, at the end. In real medical data the
split must also be made **by patient** (every image of one patient in one split), or
near-duplicate images leak between the splits; :func:`split_dataset` takes ``groups``
(patient ids) for that. MedMNIST's splits follow the source datasets' own (patient-level
where the source has patient ids, e.g. PneumoniaMNIST's original test set).

* :func:`load_medmnist` — one split of PneumoniaMNIST, BreastMNIST or DermaMNIST at 28
  pixels (the registry's entries) or, MedMNIST+, 64 / 128 / 224 pixels. Files go through
  the course's downloader: MD5-checked (from the ``medmnist`` package's ``INFO``, Zenodo
  record 10519652), written atomically, cached in ``data_dir()``, pre-placeable offline
  (``offline_instructions`` says where).
* :func:`load_medical` — the three splits of one dataset; when it is neither cached nor
  downloadable, the SYNTHETIC chest-radiograph stand-in
  (:func:`tlhelpers.data.medical.make_medical_standin`) with a validation split carved
  out of its training stream, said loudly (printed, and ``splits.synthetic``).
* :func:`split_dataset` — stratified (or patient-grouped) train / val / test splits of a
  folder of one's own images (:func:`tlhelpers.data.from_folder`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..checks import flag, positive_int
from ..profiles import by_profile
from ._common import check_seed
from .dataset import Dataset
from .download import RemoteFile, ensure_file
from .errors import DatasetError, DatasetUnavailableError
from .medical import make_medical_standin
from .readers import images_to_float, read_medmnist_npz, sample_indices
from .registry import REAL_DATASETS, load_real

__all__ = ["MEDMNIST_NAMES", "MEDMNIST_SIZES", "MedicalSplits", "load_medical", "load_medmnist",
           "medmnist_file", "split_dataset"]

MEDMNIST_NAMES = ("pneumoniamnist", "breastmnist", "dermamnist")
MEDMNIST_SIZES = (28, 64, 128, 224)

#: MD5 of ``{name}_{size}.npz`` (MedMNIST+), copied from ``medmnist==3.0.2``'s ``INFO``
#: (keys ``MD5_64``, ``MD5_128``, ``MD5_224``); the 28-pixel files are in the registry.
_MD5 = {
    ("pneumoniamnist", 64): "8f4eceb4ccffa70c672198ea285246c6",
    ("pneumoniamnist", 128): "05b46931834c231683c68f40c47b2971",
    ("pneumoniamnist", 224): "d6a3c71de1b945ea11211b03746c1fe1",
    ("breastmnist", 64): "742edef2a1fd1524b2efff4bd7ba9364",
    ("breastmnist", 128): "363e4b3f8d712e9b5de15470a2aaadf1",
    ("breastmnist", 224): "b56378a6eefa9fed602bb16d192d4c8b",
    ("dermamnist", 64): "b70a2f5635c6199aeaa28c31d7202e1f",
    ("dermamnist", 128): "2defd784463fa5243564e855ed717de1",
    ("dermamnist", 224): "8974907d8e169bef5f5b96bc506ae45d",
}
_SPLITS = ("train", "val", "test")


def _check_name_size(name: str, size: int) -> None:
    if name not in MEDMNIST_NAMES:
        raise DatasetError(f"name must be one of {', '.join(map(repr, MEDMNIST_NAMES))}, got {name!r}.")
    if isinstance(size, bool) or size not in MEDMNIST_SIZES:
        raise DatasetError(f"size must be one of {MEDMNIST_SIZES} (MedMNIST+ image sides), got {size!r}.")


def _check_split(split: str) -> str:
    split = {"validation": "val"}.get(split, split)
    if split not in _SPLITS:
        raise DatasetError(f"split must be one of {', '.join(map(repr, _SPLITS))}, got {split!r}.")
    return split


def _check_flags(**flags: Any) -> None:
    for name, value in flags.items():
        flag(value, name)


def medmnist_file(name: str, size: int = 28) -> RemoteFile:
    """The published ``.npz`` of ``name`` at ``size`` pixels: file name, Zenodo URL, MD5."""
    _check_name_size(name, size)
    if size == 28:
        return REAL_DATASETS[name].files["npz"]
    fname = f"{name}_{size}.npz"
    return RemoteFile(fname, (f"https://zenodo.org/records/10519652/files/{fname}?download=1",),
                      md5=_MD5[(name, size)], approx_size=f"larger than the 28-pixel file ({size}x{size})",
                      note="MD5 from the medmnist 3.0.2 package INFO dict (MedMNIST+, Zenodo 10519652).")


def load_medmnist(name: str, split: str = "train", *, size: int = 28, n: int | None = None, seed: int = 0,
                  download: bool = True, progress: bool = True) -> Dataset:
    """One official split of a MedMNIST v2 dataset, images float32 ``(N, S, S, C)`` in [0, 1].

    Args:
        name: ``"pneumoniamnist"``, ``"breastmnist"`` or ``"dermamnist"``.
        split: ``"train"``, ``"val"`` (or ``"validation"``) or ``"test"``.
        size: 28 (MedMNIST v2) or 64 / 128 / 224 (MedMNIST+, larger downloads).
        n: a seeded random sample of ``n`` images (default: the whole split).
        download: allow the network when the file is not cached.

    Raises :class:`DatasetUnavailableError` (with what to do) when the file is neither
    cached nor downloadable, ``ChecksumError`` when it does not match its MD5.
    """
    _check_name_size(name, size)
    split = _check_split(split)
    _check_flags(download=download, progress=progress)
    check_seed(seed)
    if n is not None:
        positive_int(n, "n")
    if size == 28:
        return load_real(name, split, n=n, seed=seed, download=download, progress=progress)
    remote = medmnist_file(name, size)
    path, fresh = ensure_file(remote.urls, remote.filename, remote.sha256, dataset=name, md5=remote.md5,
                              approx_size=remote.approx_size, download=download, progress=progress)
    images, labels = read_medmnist_npz(path, split)
    info = REAL_DATASETS[name]
    idx = sample_indices(len(labels), n, seed)
    x = images_to_float(images[idx])
    if x.ndim == 3:
        x = x[..., None]
    return Dataset(x=x, y=labels[idx], class_names=list(info.class_names), name=name, split=split,
                   description=f"{info.description} This copy: {size}x{size} (MedMNIST+).", synthetic=False,
                   source="download" if fresh else "cache",
                   meta={"title": info.title, "licence": info.licence, "citation": info.citation,
                         "homepage": info.homepage, "files": {"npz": str(path)}, "image_size": size,
                         "published_size": info.split_sizes.get(split), "sampled": n is not None,
                         "seed": seed, "notes": "MedMNIST+ size variant. Not for clinical use."})


@dataclass(frozen=True)
class MedicalSplits:
    """The three splits of one medical dataset, and where they came from.

    ``synthetic`` is True when the offline stand-in replaced the real data; ``reason``
    then says why, and how to get the real files.
    """

    train: Dataset
    val: Dataset
    test: Dataset
    name: str
    synthetic: bool
    reason: str = ""

    @property
    def class_names(self) -> list[str]:
        return list(self.train.class_names)

    def summary(self) -> str:
        """One line per split: size and class counts (the imbalance to plan for)."""
        head = (f"{self.name}: SYNTHETIC stand-in (not medical data)" if self.synthetic
                else f"{self.name}: {self.train.meta.get('title', self.name)}")
        lines = [head]
        for split in _SPLITS:
            ds = getattr(self, split)
            counts = np.bincount(ds.y, minlength=ds.num_classes)
            parts = ", ".join(f"{c} {k} ({k / len(ds):.0%})" for c, k in zip(ds.class_names, counts))
            lines.append(f"  {split:5s} {len(ds):6d} images: {parts}")
        return "\n".join(lines)


def _default_sizes() -> dict[str, int | None]:
    """Per-split sizes by profile: a sample in smoke; None otherwise (the whole real split,
    or the stand-in's 4 000 / 1 000 / 1 000)."""
    return by_profile(smoke={"train": 600, "val": 200, "test": 300},
                      standard={"train": None, "val": None, "test": None},
                      full={"train": None, "val": None, "test": None})


def _standin(name: str, sizes: dict[str, int | None], seed: int, image_size: int, reason: str) -> MedicalSplits:
    """The stand-in's train stream split into train and val (disjoint images), and its test."""
    n_train, n_val, n_test = (sizes[s] or d for s, d in zip(_SPLITS, (4_000, 1_000, 1_000)))
    pool = make_medical_standin("train", n=n_train + n_val, seed=seed, image_size=image_size)
    first, second = _two_way(pool.y, n_val, seed)
    train, val = replace(pool.subset(first), split="train"), replace(pool.subset(second), split="val")
    test = make_medical_standin("test", n=n_test, seed=seed, image_size=image_size)
    for ds in (train, val, test):
        ds.meta = {**ds.meta, "fallback_for": name, "fallback_reason": reason}
    val.meta["carved_from"] = train.meta["carved_from"] = "the stand-in's train stream (disjoint images)"
    return MedicalSplits(train, val, test, name=name, synthetic=True, reason=reason)


def _two_way(y: np.ndarray, second: int | float, seed: int, groups: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices (first, second) with ``second`` examples (or that fraction) in the second
    part, stratified by class, or by ``groups`` (no group on both sides) when given."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    index = np.arange(len(y))
    if groups is None:
        first, other = train_test_split(index, test_size=second, stratify=y, random_state=seed)
    else:
        splitter = GroupShuffleSplit(n_splits=1, test_size=second, random_state=seed)
        first, other = next(splitter.split(index, y, groups))
    return np.sort(first), np.sort(other)


def load_medical(name: str = "pneumoniamnist", *, size: int = 28, n: dict[str, int | None] | None = None,
                 seed: int = 0, download: bool = True, fallback: bool = True,
                 progress: bool = True) -> MedicalSplits:
    """Train, validation and test splits of ``name`` (official MedMNIST splits), or the
    SYNTHETIC stand-in when the real file is neither cached nor downloadable.

    Args:
        name: ``"pneumoniamnist"`` (default), ``"breastmnist"`` or ``"dermamnist"``.
        size: image side, 28 or (MedMNIST+) 64 / 128 / 224. The stand-in is drawn at that
            size too.
        n: images per split, e.g. ``{"train": 1000}``; missing keys take the profile's
            default (a sample in ``smoke``, the whole split otherwise; the stand-in makes
            4 000 / 1 000 / 1 000 unless told).
        seed: the samples' (and the stand-in's) seed.
        download: allow the network.
        fallback: use the stand-in when the real data are unavailable (printed, and with a
            warning); ``False`` lets :class:`DatasetUnavailableError` propagate.

    The stand-in imitates PneumoniaMNIST only (normal vs pneumonia, about 1:3); standing in
    for BreastMNIST or DermaMNIST it keeps its own two classes, which ``summary()`` shows.
    """
    _check_name_size(name, size)
    check_seed(seed)
    _check_flags(download=download, fallback=fallback, progress=progress)
    sizes = _default_sizes()
    if n is not None:
        if not isinstance(n, dict) or set(n) - set(_SPLITS):
            raise DatasetError(f"n must be a dict with keys among {_SPLITS} (images per split), got {n!r}.")
        for key, value in n.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 2):
                raise DatasetError(f"n[{key!r}] must be an integer >= 2 or None, got {value!r}.")
        sizes.update(n)
    try:
        parts = {split: load_medmnist(name, split, size=size, n=sizes[split], seed=seed, download=download,
                                      progress=progress) for split in _SPLITS}
    except DatasetUnavailableError as err:
        if not fallback:
            raise
        reason = str(err).strip()
        message = (f"[tlhelpers] {name!r} ({size}x{size}) is not available "
                   f"({reason.splitlines()[0] if reason else type(err).__name__}); using the SYNTHETIC "
                   "chest-radiograph stand-in instead. It is NOT medical data: its numbers say nothing "
                   "about patients. How to get the real files: see splits.reason.")
        print(message)
        warnings.warn(message, stacklevel=2)
        return _standin(name, sizes, seed, size, reason)
    return MedicalSplits(parts["train"], parts["val"], parts["test"], name=name, synthetic=False)


def split_dataset(ds: Dataset, *, val: float = 0.15, test: float = 0.15, seed: int = 0,
                  groups: Any = None) -> MedicalSplits:
    """Train / val / test splits of one dataset (e.g. ``from_folder("my_xrays/")``).

    Stratified by class, so that every split keeps the class balance; or, with ``groups``
    (one patient id per image), grouped: all images of one patient land in one split,
    which is what a real medical study needs (otherwise the model can recognise the
    patient instead of the disease). ``val`` and ``test`` are fractions of ``ds``.
    """
    if not isinstance(ds, Dataset):
        raise DatasetError(f"ds must be a Dataset (e.g. from from_folder), got {type(ds).__name__}.")
    for value, label in ((val, "val"), (test, "test")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise DatasetError(f"{label} must be a fraction in (0, 1), got {value!r}.")
    if val + test >= 1:
        raise DatasetError(f"val + test must leave images for training, got {val} + {test} >= 1.")
    check_seed(seed)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (len(ds),):
            raise DatasetError(f"groups must hold one patient id per image ({len(ds)}), got shape {groups.shape}.")
    try:
        rest, test_idx = _two_way(ds.y, test, seed, groups)
        train_idx, val_idx = _two_way(ds.y[rest], val / (1 - test), seed + 1,
                                      None if groups is None else groups[rest])
    except ValueError as err:                  # scikit-learn: too few images (of a class) to split
        raise DatasetError(f"ds is too small to split into train, val ({val}) and test ({test}) "
                           f"{'by group' if groups is not None else 'stratified by class'}: {err}") from None
    return MedicalSplits(replace(ds.subset(rest[train_idx]), split="train"),
                         replace(ds.subset(rest[val_idx]), split="val"),
                         replace(ds.subset(test_idx), split="test"), name=ds.name, synthetic=bool(ds.synthetic))
