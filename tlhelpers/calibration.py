r"""Calibration, framework-neutral: the expected calibration error, the reliability diagram,
and temperature scaling (the NumPy/SciPy reference both tracks are held to).

A classifier is *calibrated* when, among the examples it gives confidence 0.8, 80 % are
right. Guo et al. (ICML 2017, "On Calibration of Modern Neural Networks") measure the gap
with the **expected calibration error** over the *top-label* confidence
:math:`\hat p_i = \max_k p_{ik}` and correctness :math:`\mathbb 1[\arg\max_k p_{ik} = y_i]`:

.. math:: \mathrm{ECE} = \sum_{m=1}^{M} \frac{|B_m|}{n}\,\bigl|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)\bigr|

with :math:`M` **equal-width** bins :math:`B_m = ((m-1)/M,\ m/M]` (right-closed, as in their
equation and reference code; default :math:`M = 15`), empty bins contributing nothing.
A binary probability vector ``p`` (the positive class) is read as the matrix ``[1 - p, p]``,
so its confidence is ``max(p, 1 - p)``. (scikit-learn's ``calibration_curve`` plots the
other convention — the fraction of positives against ``p`` itself.)

**Temperature scaling** (Guo et al. §4.2) divides the logits by one scalar :math:`T > 0`
fitted by minimising the negative log-likelihood on *validation* logits. Dividing by
:math:`T` changes no argmax and no ranking, so accuracy and AUC stay exactly the same;
only the confidence moves. :func:`fit_temperature` minimises over :math:`\log T` with
SciPy's L-BFGS-B and the analytic gradient (the NLL is convex in :math:`1/T`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import checks
from .checks import positive_int
from .metrics import _labels

__all__ = [
    "TEMPERATURE_BOUNDS",
    "apply_temperature",
    "confidence_and_correct",
    "expected_calibration_error",
    "fit_temperature",
    "images_and_labels",
    "nll",
    "plot_reliability",
    "reliability_diagram",
    "softmax",
]

#: :func:`fit_temperature` keeps ``T`` within these bounds (separable data would push it to 0).
TEMPERATURE_BOUNDS = (0.01, 100.0)


def _probabilities(y_prob: Any, n: int) -> np.ndarray:
    """``y_prob`` as an ``(N, C)`` probability matrix (a 1-D positive-class vector becomes ``[1 - p, p]``)."""
    p = _numeric(y_prob, "y_prob")
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.ndim not in (1, 2) or len(p) != n:
        raise ValueError(f"y_prob must have shape ({n},) (positive-class probabilities) or ({n}, num_classes), "
                         f"got {p.shape}.")
    if not np.all(np.isfinite(p)):
        raise ValueError("y_prob contains NaN or infinite values.")
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"y_prob must hold probabilities in [0, 1], got values in [{p.min():.4g}, {p.max():.4g}]: "
                         "these look like logits. Apply softmax (or apply_temperature) first.")
    if p.size and np.all((p == 0) | (p == 1)):
        raise ValueError("y_prob holds only the values 0 and 1: these look like hard predictions (an argmax "
                         "or a thresholded output), not probabilities. Pass the model's probabilities "
                         "(softmax of the logits); calibration is about their values.")
    if p.ndim == 1:
        return np.stack([1.0 - p, p], axis=1)
    if p.shape[1] < 2:
        raise ValueError(f"y_prob needs one column per class (>= 2), got {p.shape[1]}.")
    worst = np.abs(p.sum(axis=1) - 1).max()
    if worst > 1e-3:
        raise ValueError(f"each row of y_prob must sum to 1 (a probability distribution), but one is off by "
                         f"{worst:.3g}. Pass softmax probabilities.")
    return p


def _numeric(values: Any, name: str) -> np.ndarray:
    """``values`` as a float64 array, or the contract's error naming ``name`` (strings, None)."""
    if hasattr(values, "detach"):                         # a torch tensor
        values = values.detach().cpu().numpy()
    try:
        a = np.asarray(values)
    except (TypeError, ValueError) as err:
        checks.fail(name, "a numeric array", checks.Received(f"{type(values).__name__} ({err})"))
    if a.dtype.kind not in "biuf":
        checks.fail(name, "a numeric array", checks.Received(f"an array of dtype {a.dtype}"))
    return a.astype(np.float64)


def confidence_and_correct(y_true: Any, y_prob: Any) -> tuple[np.ndarray, np.ndarray]:
    """Top-label confidence ``max_k p_k`` and whether the argmax is the label (0/1)."""
    y = _labels(y_true)
    p = _probabilities(y_prob, len(y))
    if y.max() >= p.shape[1]:
        raise ValueError(f"y_true holds class {int(y.max())}, but y_prob has only {p.shape[1]} columns.")
    return p.max(axis=1), (p.argmax(axis=1) == y).astype(np.float64)


def _bins(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin index of each confidence: bin m holds ((m)/M, (m+1)/M]; 0 joins the first bin."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)


def reliability_diagram(y_true: Any, y_prob: Any, *, n_bins: int = 15):
    """The reliability diagram's data: one row per equal-width confidence bin.

    Columns: ``lower``, ``upper`` (the bin is ``(lower, upper]``), ``count``,
    ``confidence`` (mean top-label confidence in the bin), ``accuracy`` (fraction right),
    ``gap`` (``accuracy - confidence``: negative = over-confident), ``weight``
    (``count / n``). Empty bins have ``NaN`` confidence and accuracy.
    """
    import pandas as pd

    n_bins = positive_int(n_bins, "n_bins", maximum=10_000)
    conf, correct = confidence_and_correct(y_true, y_prob)
    idx = _bins(conf, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, conf, n_bins) / count
        accuracy = np.bincount(idx, correct, n_bins) / count
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return pd.DataFrame({"lower": edges[:-1], "upper": edges[1:], "count": count, "confidence": mean_conf,
                         "accuracy": accuracy, "gap": accuracy - mean_conf, "weight": count / len(conf)})


def expected_calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 15) -> float:
    """ECE (Guo et al. 2017): the count-weighted mean |accuracy − confidence| over ``n_bins``
    equal-width bins of the top-label confidence (see the module docstring). In [0, 1]."""
    table = reliability_diagram(y_true, y_prob, n_bins=n_bins)
    used = table["count"] > 0
    return float((table["weight"][used] * table["gap"][used].abs()).sum())


# --------------------------------------------------------------------------------------
# Temperature scaling
# --------------------------------------------------------------------------------------

def images_and_labels(data: Any, what: str = "data") -> tuple[Any, np.ndarray]:
    """``(images, labels)`` of a Dataset or an ``(x, y)`` pair (the tracks' ``fit_temperature``)."""
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise ValueError(f"{what} must be a Dataset or an (x, y) pair of images and labels, "
                         f"got {type(data).__name__}.")
    y = _labels(y, f"{what} labels")
    if len(x) != len(y):
        raise ValueError(f"{what} has {len(x)} images but {len(y)} labels.")
    return x, y


def _logits(logits: Any, name: str = "logits") -> np.ndarray:
    """Logits as float64 ``(N, C)``; a 1-D binary logit ``z`` becomes ``[0, z]`` (same softmax as a sigmoid)."""
    z = _numeric(logits, name)
    if z.ndim == 1:
        z = np.stack([np.zeros_like(z), z], axis=1)
    if z.ndim != 2 or z.shape[1] < 2 or len(z) == 0:
        raise ValueError(f"{name} must have shape (N, num_classes) with num_classes >= 2 (or (N,) for one "
                         f"binary logit), got {np.shape(logits)}.")
    if not np.all(np.isfinite(z)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    # Softmax outputs: every row in [0, 1] summing to 1, not all 0/1 (integer logits such as [[0, 1]] are fine).
    if np.ndim(logits) == 2 and z.min() >= 0 and z.max() <= 1 and np.allclose(z.sum(axis=1), 1.0, atol=1e-5) \
            and not np.all((z == 0) | (z == 1)):
        raise ValueError(f"{name} look like probabilities (every row lies in [0, 1] and sums to 1), not "
                         "logits: temperature scaling divides the logits, before the softmax. Pass the "
                         "model's outputs without its final softmax.")
    return z


def _logits_and_labels(logits: Any, labels: Any, name: str = "y_true") -> tuple[np.ndarray, np.ndarray]:
    """Logits ``(N, C)`` and ``N`` class indices below ``C`` (``name``: what the labels are called)."""
    z = _logits(logits)
    y = _labels(labels, name)
    if len(y) != len(z) or y.max() >= z.shape[1]:
        raise ValueError(f"{name} must hold {len(z)} class indices below {z.shape[1]}, got {len(y)} "
                         f"labels up to {int(y.max())}.")
    return z, y


def _temperature(temperature: Any) -> float:
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, (int, float, np.integer,
                                                                                 np.floating)) \
            or not np.isfinite(temperature) or temperature <= 0:
        checks.fail("temperature", "a positive number", temperature,
                    "Pass a number, not a string." if isinstance(temperature, str) else "")
    return float(temperature)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(logits: Any, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` row by row, ``(N, C)`` float64."""
    return np.exp(_log_softmax(_logits(logits) / _temperature(temperature)))


apply_temperature = softmax
"""Probabilities after temperature scaling: ``softmax(logits / T)`` (an alias of :func:`softmax`)."""


def nll(logits: Any, y_true: Any, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood (cross-entropy, in nats) of ``softmax(logits / T)``."""
    z, y = _logits_and_labels(logits, y_true)
    return float(-_log_softmax(z / _temperature(temperature))[np.arange(len(y)), y].mean())


def fit_temperature(logits: Any, y_true: Any) -> float:
    r"""The temperature :math:`T` minimising the NLL of ``softmax(logits / T)`` on these
    (validation) logits, within :data:`TEMPERATURE_BOUNDS`.

    L-BFGS-B over :math:`s = \log T` with the analytic gradient
    :math:`\partial\,\mathrm{NLL}/\partial s = \frac1n\sum_i (z_{i y_i} - \mathbb E_{p_i}[z_i]) / T`.
    ``T > 1`` softens an over-confident model, ``T < 1`` sharpens an under-confident one.
    """
    from scipy.optimize import minimize

    z, y = _logits_and_labels(logits, y_true)
    rows = np.arange(len(y))

    def objective(s: np.ndarray) -> tuple[float, np.ndarray]:
        t = float(np.exp(s[0]))
        logp = _log_softmax(z / t)
        expected = (np.exp(logp) * z).sum(axis=1)
        grad = float(np.mean(z[rows, y] - expected)) / t
        return float(-logp[rows, y].mean()), np.array([grad])

    lo, hi = np.log(TEMPERATURE_BOUNDS)
    result = minimize(objective, np.array([0.0]), jac=True, method="L-BFGS-B", bounds=[(lo, hi)],
                      options={"gtol": 1e-10, "ftol": 1e-14, "maxiter": 200})
    return float(np.exp(result.x[0]))


# --------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------

def plot_reliability(y_true: Any, probabilities: Any, *, n_bins: int = 15, ax=None,
                     title: str = "Reliability diagram"):
    """Reliability diagram of one probability array or ``{name: y_prob}``: accuracy against
    mean confidence per bin (markers sized by count), the diagonal of perfect calibration,
    and each curve's ECE in the legend. Returns the figure."""
    import matplotlib.pyplot as plt

    named = dict(probabilities) if isinstance(probabilities, Mapping) else {"model": probabilities}
    if not named:
        raise ValueError("probabilities must not be empty.")
    if not isinstance(title, str):
        checks.fail("title", "a string", title)
    for name, y_prob in named.items():          # every curve checked before anything is drawn
        confidence_and_correct(y_true, y_prob)
    positive_int(n_bins, "n_bins", maximum=10_000)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    for name, y_prob in named.items():
        table = reliability_diagram(y_true, y_prob, n_bins=n_bins)
        used = table[table["count"] > 0]
        ece = expected_calibration_error(y_true, y_prob, n_bins=n_bins)
        (line,) = ax.plot(used["confidence"], used["accuracy"], "-", label=f"{name} (ECE {ece:.3f})")
        ax.scatter(used["confidence"], used["accuracy"], s=10 + 200 * used["weight"], color=line.get_color())
    ax.set(xlabel="confidence (mean top-class probability in the bin)", ylabel="accuracy in the bin",
           xlim=(0, 1.01), ylim=(0, 1.01), title=f"{title} ({n_bins} equal-width bins)")
    ax.legend(loc="upper left", fontsize=8)
    return ax.figure
