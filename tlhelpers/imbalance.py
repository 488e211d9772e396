"""Class imbalance, framework-neutral: class weights, per-example weights, balanced
resampling, and building an imbalanced subset to study it.

Both tracks hand these to their own training: Keras's ``fit(class_weight=...)`` takes the
weights as a dict, PyTorch's loss a tensor (see ``class_weights`` in each track's
``finetune``), and ``balanced_sampler`` draws the batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import checks
from .checks import positive_int

__all__ = [
    "balanced_indices",
    "class_counts",
    "class_weights",
    "sample_weights",
    "step_imbalance",
]


def _labels(labels: Any, num_classes: int | None = None) -> tuple[np.ndarray, int]:
    """Integer labels (1-D) and the number of classes, checked."""
    y = getattr(labels, "y", labels)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"labels must be a non-empty 1-D array of class indices, got shape {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
            raise ValueError(f"labels must be integer class indices, got dtype {y.dtype}.")
        y = y.astype(np.int64)
    if y.min() < 0:
        raise ValueError(f"labels must be class indices >= 0, got {int(y.min())}.")
    n = int(y.max()) + 1 if num_classes is None else positive_int(num_classes, "num_classes")
    if y.max() >= n:
        raise ValueError(f"labels hold class {int(y.max())}, but num_classes={n}.")
    return y.astype(np.int64), n


def class_counts(labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Examples per class, ``(num_classes,)`` int64 (``num_classes`` defaults to max label + 1)."""
    y, n = _labels(labels, num_classes)
    return np.bincount(y, minlength=n)


def class_weights(labels: Any, num_classes: int | None = None) -> np.ndarray:
    r"""scikit-learn's "balanced" class weights: :math:`w_c = N / (C \cdot n_c)`.

    A class with fewer examples weighs *more* (COURSE.md §5 item 20: not inverted), and the
    weights average to 1 over the training examples, so the loss keeps its scale. Computed
    by ``sklearn.utils.class_weight.compute_class_weight("balanced", ...)``. A class with
    no example at all has no finite weight: that is an error, not a silent zero.
    """
    from sklearn.utils.class_weight import compute_class_weight

    y, n = _labels(labels, num_classes)
    counts = np.bincount(y, minlength=n)
    if np.any(counts == 0):
        raise ValueError(f"labels have no example of class(es) {np.flatnonzero(counts == 0).tolist()} "
                         f"out of num_classes={n}; a balanced weight would be infinite. Pass the "
                         "labels of a training set that holds every class, or the right num_classes.")
    return compute_class_weight("balanced", classes=np.arange(n), y=y).astype(np.float64)


def sample_weights(labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Each example's class weight (:func:`class_weights` of its label), ``(N,)`` float64."""
    y, n = _labels(labels, num_classes)
    return class_weights(y, n)[y]


def balanced_indices(labels: Any, num_samples: int | None = None, *, seed: int | None = None) -> np.ndarray:
    """Indices drawn with replacement so that every class is equally likely (oversampling).

    Each index is drawn with probability proportional to ``1 / n_c`` of its class — what
    PyTorch's ``WeightedRandomSampler`` does with these weights. ``num_samples`` defaults to
    the number of labels (one epoch's worth).
    """
    y, _ = _labels(labels)
    num = len(y) if num_samples is None else positive_int(num_samples, "num_samples")
    p = 1.0 / np.bincount(y)[y]
    if seed is not None and not isinstance(seed, np.random.Generator):
        checks.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    return rng.choice(len(y), size=num, replace=True, p=p / p.sum())


def step_imbalance(labels: Any, ratio: float, *, minority: Any = None, seed: int | None = None) -> np.ndarray:
    """Indices of a subset with step imbalance (Buda et al., Neural Networks 2018).

    Majority classes keep every example; each minority class keeps ``1/ratio`` of the size
    of the largest class (at least one example), drawn at random. ``minority`` (class
    indices) defaults to the upper half of the classes. Returns sorted indices.
    """
    y, n = _labels(labels)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.integer, np.floating)) \
            or not np.isfinite(ratio) or ratio < 1:
        raise ValueError(f"ratio must be a number >= 1 (majority : minority size), got {ratio!r}.")
    minority = np.arange(n // 2, n) if minority is None else np.asarray(minority)
    if minority.ndim != 1 or len(minority) == 0 or not np.issubdtype(minority.dtype, np.integer) \
            or minority.min() < 0 or minority.max() >= n:
        raise ValueError(f"minority must be a non-empty list of class indices from 0 to {n - 1}, "
                         f"got {minority.tolist()!r}.")
    keep = max(1, int(round(np.bincount(y).max() / float(ratio))))
    if seed is not None and not isinstance(seed, np.random.Generator):
        checks.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(n):
        idx = np.flatnonzero(y == c)
        if c in set(minority.tolist()) and len(idx) > keep:
            idx = rng.choice(idx, size=keep, replace=False)
        chosen.append(idx)
    return np.sort(np.concatenate(chosen))
