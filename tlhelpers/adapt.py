"""Framework-neutral parts of unsupervised domain adaptation (Lessons 03 and 04).

Both tracks (``tlhelpers.{keras,torch}.adapt``) train a classifier on **source batch +
target batch** steps,

    loss = CE(source logits, source labels) + w(p) · Σ_taps alignment(tap(source), tap(target)),

where a *tap* is a layer whose activations are aligned (``"features"``: the backbone's
output; ``"logits"``: the head's output), ``alignment`` is any differentiable
``(source_activations, target_activations) -> scalar`` (CORAL, MMD², or the DANN domain
classifier's loss behind a gradient-reversal layer) and p ∈ [0, 1) is the training
progress. This module holds what both tracks share, so they draw the same batches and
follow the same schedules: the batch plan, the progress-dependent factors, the argument
checks, and the per-channel moments AdaBN computes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import checks
from .checks import positive_int

__all__ = ["TAPS", "ChannelMoments", "check_fit_options", "check_images", "check_inputs",
           "check_taps", "gap_closed_table", "importance_weights", "lr_factor", "paired_batches",
           "source_labels", "weight_at"]

#: The layers whose activations can be aligned.
TAPS: tuple[str, ...] = ("features", "logits")

Schedule = Callable[[float], float]


def check_taps(taps: Any) -> tuple[str, ...]:
    """``taps`` as a tuple of names from :data:`TAPS`, at least one, each once."""
    if isinstance(taps, str):
        taps = (taps,)
    try:
        taps = tuple(taps)
    except TypeError:
        taps = ()
    if not taps or any(t not in TAPS for t in taps) or len(set(taps)) != len(taps):
        raise ValueError(f"taps must be a non-empty selection of {TAPS}, each at most once, got {taps!r}.")
    return taps


def weight_at(weight: float | Schedule, progress: float) -> float:
    """The alignment weight at training progress p: ``weight`` itself, or ``weight(p)``."""
    value = weight(progress) if callable(weight) else weight
    if isinstance(value, (str, bytes, bool, np.bool_)):  # float("1") and float(True) would pass
        raise ValueError(f"weight must be a number >= 0 or a function of the progress returning one, "
                         f"got {value!r}.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"weight must be a number >= 0 or a function of the progress returning one, "
                         f"got {value!r}.") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"weight must be a finite number >= 0, got {value!r}"
                         f"{' at progress ' + format(progress, '.3f') if callable(weight) else ''}.")
    return value


def lr_factor(schedule: str | Schedule | None, progress: float) -> float:
    """Learning-rate multiplier at progress p: ``None`` → 1; ``"cosine"`` → (1 + cos πp)/2;
    a function → ``schedule(p)`` (e.g. DANN's annealing 1/(1 + 10p)^0.75)."""
    if schedule is None:
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if callable(schedule):
        value = float(schedule(progress))
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"schedule({progress:.3f}) must be a finite number >= 0, got {value!r}.")
        return value
    raise ValueError(f"schedule must be None, 'cosine' or a function of the progress, got {schedule!r}.")


def check_images(source_shape: Sequence[int], target_shape: Sequence[int]) -> None:
    """Source and target must both be non-empty batches of images of one shape."""
    for name, shape in (("source", source_shape), ("target", target_shape)):
        if len(shape) < 2:
            raise ValueError(f"{name} must hold a batch of images (N, ...), got shape {tuple(shape)}.")
        if shape[0] == 0:
            raise ValueError(f"{name} is empty: adaptation needs images from both domains.")
    if tuple(source_shape[1:]) != tuple(target_shape[1:]):
        raise ValueError(f"source and target images must have the same shape, got {tuple(source_shape[1:])} "
                         f"and {tuple(target_shape[1:])}.")


def check_fit_options(*, lr: Any, weight_decay: Any, seed: Any, progress: Any,
                      schedule: Any) -> None:
    """The contract's checks of ``fit_adapt``'s training options, before any framework call."""
    checks.positive_number(lr, "lr")
    checks.number(weight_decay, "weight_decay", minimum=0.0)
    if seed is not None:
        checks.non_negative_int(seed, "seed")
    checks.flag(progress, "progress")
    if not (schedule is None or schedule == "cosine" or callable(schedule)):
        lr_factor(schedule, 0.0)  # its error (a function is not called here: it may count calls)


def _inputs(data: Any, name: str) -> tuple[np.ndarray, bool]:
    """The images (or feature vectors) of ``data`` — a Dataset, an ``(x, y)`` pair or an
    array — as a NumPy array, and whether they are channels-first (a PyTorch tensor)."""
    x = getattr(data, "x", data)
    if isinstance(data, (tuple, list)) and len(data) == 2:  # an (x, y) pair: labels unused
        x = data[0]
    if getattr(data, "is_text", False):
        checks.fail(name, "images or feature vectors", checks.Received("a text dataset"))
    if x is None or isinstance(x, (str, bytes)):
        checks.fail(name, "a Dataset, an (x, y) pair or an array of images", x)
    channels_first = hasattr(x, "detach")  # a torch.Tensor is (N, C, H, W)
    if channels_first:
        x = x.detach().cpu().numpy()
    return checks._as_array(x, name), channels_first


def check_inputs(data: Any, name: str, *, expected: Sequence[int | None] | None = None
                 ) -> tuple[int, ...]:
    """Check the inputs of one domain per the contract; return their shape (N, ...).

    Images ``(N, H, W, C)`` (``(N, C, H, W)`` tensors) go through
    :func:`tlhelpers.checks.image_batch` (finite, the ``expected`` (H, W, C); a warning
    outside [0, 1]); feature vectors ``(N, d)`` must be finite. Empty inputs are refused.
    """
    x, channels_first = _inputs(data, name)
    if x.ndim not in (2, 3, 4):
        checks.fail(name, "images (N, H, W, C) or feature vectors (N, d)",
                    checks.Received(f"an array of shape {x.shape}"))
    if x.ndim == 3:
        x = x[None]
    if len(x) == 0:
        raise ValueError(f"{name} is empty: adaptation needs images from both domains.")
    if x.ndim == 4:
        checks.image_batch(x, name, expected=expected, channels_first=channels_first)
    elif not np.isfinite(x).all():
        checks.fail(name, "finite feature values", checks.Received("NaN or infinite values"))
    return x.shape


def source_labels(source: Any, n: int, num_classes: int | None = None) -> np.ndarray:
    """The labels of ``source`` (a Dataset or an ``(x, y)`` pair) checked per the contract:
    ``n`` whole numbers in ``[0, num_classes)`` (``(N, 1)`` columns accepted), as int64."""
    if hasattr(source, "x") and hasattr(source, "y"):
        y = source.y
    elif isinstance(source, (tuple, list)) and len(source) == 2:
        y = source[1]
    else:
        checks.fail("source", "a Dataset or an (x, y) pair of images and labels",
                    checks.Received(type(source).__name__))
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    return checks.labels(y, "the labels of source", n=n, num_classes=num_classes)


def paired_batches(n_source: int, n_target: int, batch_size: int, epochs: int,
                   seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Index batches for ``epochs`` passes over the source: arrays (epochs, steps, batch_size).

    Each epoch is one shuffled pass over the source in ``steps = n_source // batch_size``
    full batches (the remainder is dropped, so every batch has ``batch_size`` examples —
    unbiased MMD² needs ≥ 2, and the loss scale does not jump on a small last batch). Each
    step pairs its source batch with the next ``batch_size`` examples of an endless stream of
    shuffled passes over the target. Both tracks draw exactly these batches for a seed.
    """
    n_source, n_target = positive_int(n_source, "n_source"), positive_int(n_target, "n_target")
    batch_size, epochs = positive_int(batch_size, "batch_size"), positive_int(epochs, "epochs")
    if batch_size > min(n_source, n_target):
        raise ValueError(f"batch_size={batch_size} is larger than the source ({n_source}) or target "
                         f"({n_target}) set; use batch_size <= {min(n_source, n_target)}.")
    rng = np.random.default_rng(seed)
    steps = n_source // batch_size
    source = np.stack([rng.permutation(n_source)[:steps * batch_size] for _ in range(epochs)])
    need = epochs * steps * batch_size
    stream = np.concatenate([rng.permutation(n_target) for _ in range(-(-need // n_target))])[:need]
    return (source.reshape(epochs, steps, batch_size),
            stream.reshape(epochs, steps, batch_size))


class ChannelMoments:
    """Running per-channel mean and variance over many batches, in float64 (for AdaBN).

    ``update(x)`` takes activations with the channels on the last axis (any leading
    axes: batch, height, width); ``mean`` and ``var`` (population variance, 1/N) are over
    every value seen, exactly as if all batches were concatenated (Chan et al.'s pairwise
    update, stable for millions of values).
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        x = x.reshape(-1, x.shape[-1])
        n = len(x)
        if n == 0:
            return
        mean, m2 = x.mean(0), ((x - x.mean(0)) ** 2).sum(0)
        if self.mean is None:
            self.count, self.mean, self._m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self._m2 = self._m2 + m2 + delta**2 * (self.count * n / total)
        self.count = total

    @property
    def var(self) -> np.ndarray:
        if self.mean is None:
            raise ValueError("no activations seen yet.")
        return self._m2 / self.count


# --------------------------------------------------------------------------------------
# Lesson 03: comparing methods, and validating without target labels
# --------------------------------------------------------------------------------------

def gap_closed_table(runs, *, source_only: str = "source only", oracle: str = "train on target"):
    """Mean ± std over seeds of each method's accuracy, and the share of the gap closed.

    ``runs``: a DataFrame with columns ``method``, ``seed``, ``accuracy`` (fractions), with
    rows for ``source_only`` and ``oracle`` (trained on labelled target data). The share is
    computed *per seed*, (method − source-only) / (oracle − source-only)
    (:func:`tlhelpers.dann.gap_closed`), then averaged: 100 % = as good as the oracle,
    0 % = no better than source-only, negative = worse (negative transfer). Columns in %.
    """
    import pandas as pd

    from .dann import gap_closed

    missing = {"method", "seed", "accuracy"} - set(getattr(runs, "columns", ()))
    if missing:
        raise ValueError(f"runs must be a DataFrame with columns method, seed, accuracy; missing {sorted(missing)}.")
    acc = runs.pivot_table(index="seed", columns="method", values="accuracy", aggfunc="mean")
    for name in (source_only, oracle):
        if name not in acc:
            raise ValueError(f"runs has no rows for method {name!r} (methods: {sorted(acc.columns)}).")
    order = list(dict.fromkeys(runs["method"]))
    rows = {}
    for method in order:
        closed = [gap_closed(s, a, o) if o > s else float("nan")
                  for s, a, o in zip(acc[source_only], acc[method], acc[oracle])]
        rows[method] = {"accuracy, mean (%)": 100 * acc[method].mean(),
                        "std over seeds (%)": 100 * acc[method].std(ddof=1) if len(acc) > 1 else 0.0,
                        "gap closed, mean (%)": 100 * float(np.nanmean(closed)) if not all(np.isnan(closed)) else float("nan"),
                        "gap closed, std (%)": 100 * float(np.nanstd(closed, ddof=1)) if np.sum(~np.isnan(closed)) > 1 else 0.0,
                        "seeds": int(acc[method].notna().sum())}
    return pd.DataFrame.from_dict(rows, orient="index")


def importance_weights(source_fit, target_fit, source_eval, *, max_weight: float = 20.0, seed: int = 0) -> np.ndarray:
    """Importance weights w(x) ≈ p_T(x) / p_S(x) for the rows of ``source_eval``, for
    importance-weighted validation (IWCV, Sugiyama et al. JMLR 2007; on learnt features as in
    DEV, You et al. ICML 2019).

    A logistic domain classifier (standardised features) fitted on ``source_fit`` (label 0)
    against ``target_fit`` (label 1) gives w = P(T | x) / P(S | x) · n_S / n_T; the weights
    are clipped at ``max_weight`` × their mean (a few huge weights make the estimate useless)
    and normalised to mean 1. A source validation accuracy weighted by them estimates the
    target accuracy — when the target's examples look like *some* source examples; when the
    domains do not overlap, the weights pile up on a handful of points and the estimate is noise.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .divergence import check_feature_shapes

    xs, xt, xe = (np.asarray(a, dtype=np.float64) for a in (source_fit, target_fit, source_eval))
    check_feature_shapes(xs.shape, xt.shape, min_samples=2, names=("source_fit", "target_fit"))
    check_feature_shapes(xs.shape, xe.shape, min_samples=1, names=("source_fit", "source_eval"))
    if not (isinstance(max_weight, (int, float)) and max_weight > 1):
        raise ValueError(f"max_weight must be a number > 1, got {max_weight!r}.")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(np.concatenate([xs, xt]), np.r_[np.zeros(len(xs)), np.ones(len(xt))])
    p = np.clip(clf.predict_proba(xe)[:, 1], 1e-12, 1 - 1e-12)
    w = p / (1 - p) * len(xs) / len(xt)
    w = np.minimum(w / w.mean(), max_weight)
    return w / w.mean()
