"""Small shared pieces of the embedded datasets: argument checks, seeds, subsets."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from .. import checks
from .dataset import Dataset
from .errors import DatasetError

SPLITS: tuple[str, ...] = ("train", "test")


def _as_dataset_error(check):
    """The core check (:mod:`tlhelpers.checks`), raising the data layer's DatasetError."""
    @functools.wraps(check)
    def wrapped(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except DatasetError:
            raise
        except checks.ArgumentError as err:
            raise DatasetError(str(err)) from None
    return wrapped


number = _as_dataset_error(checks.number)
integer = _as_dataset_error(checks.integer)
flag = _as_dataset_error(checks.flag)
image_size = _as_dataset_error(checks.image_size)
memory = _as_dataset_error(checks.memory)


def check_split(split: str, valid: Sequence[str] = SPLITS, *, name: str = "dataset") -> int:
    """Index of ``split`` in ``valid``; a :class:`DatasetError` listing the valid ones otherwise."""
    if split not in valid:
        raise DatasetError(f"split={split!r} is not a split of {name!r}; expected one of "
                           f"{', '.join(repr(s) for s in valid)}.")
    return list(valid).index(split)


def check_n(n: int | None, *, name: str = "dataset", maximum: int | None = None) -> int | None:
    """``n`` as an int (or None); a :class:`DatasetError` for non-positive or too large sizes."""
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise DatasetError(f"n must be a positive integer or None, got {n!r}.")
    if n <= 0:
        raise DatasetError(f"n must be a positive integer, got n={n} for {name!r}.")
    if maximum is not None and n > maximum:
        raise DatasetError(f"n={n} is more than the {maximum} examples {name!r} has in this split.")
    return int(n)


def check_seed(seed: int) -> int:
    """A non-negative integer seed, or a :class:`DatasetError`."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DatasetError(f"seed must be a non-negative integer, got {seed!r}.")
    return int(seed)


def split_rng(seed: int, split_index: int, salt: int = 0) -> np.random.Generator:
    """An independent generator per (seed, split): train and test never share a stream."""
    return np.random.default_rng([check_seed(seed), split_index, salt])


def balanced_labels(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels, as equal per class as ``n`` allows, in random order."""
    return rng.permutation(np.arange(n) % num_classes).astype(np.int64)


def stratified_indices(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` examples keeping each class's share of ``labels``.

    Proportional allocation with largest remainders, then a random pick inside each class.
    """
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels)
    share = counts * n / len(labels)
    take = np.floor(share).astype(int)
    rest = n - take.sum()
    if rest:
        order = np.argsort(-(share - take), kind="stable")
        take[order[:rest]] += 1
    picks = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
             for c, k in enumerate(take) if k]
    return np.sort(np.concatenate(picks))


def stratified_take(ds: Dataset, n: int | None, seed: int) -> Dataset:
    """``n`` examples of ``ds`` with class proportions kept (all of it when ``n`` is None).

    Used by the fixed-size datasets (Digits, Digits-M, text) so that ``n`` means
    "a smaller, still representative, sample", chosen reproducibly by ``seed``.
    """
    if n is None or n >= len(ds):
        return ds
    rng = np.random.default_rng([check_seed(seed), 7919])
    out = ds.subset(stratified_indices(ds.y, n, rng))
    out.meta["subset_of"] = len(ds)
    out.meta["subset_seed"] = seed
    return out
