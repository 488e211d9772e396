"""Framework-neutral measurements, wrapping scikit-learn.

Linear probes: how much a frozen representation knows about a task, measured by a
standardised logistic regression on its features (the course's linear head for
few-label experiments).

Clinical evaluation of a binary classifier (Lesson 07), every number from scikit-learn:

* **Scores, not labels.** ROC, AUC, precision–recall and average precision rank the
  examples by the *score of the positive class*: a probability, a logit, any monotone
  score. Hard 0/1 predictions are rejected (COURSE.md §5 item 19), and from a probability
  matrix ``(N, 2)`` the column of ``pos_label`` is taken, never the other one.
* **Thresholds are chosen on validation data** (:func:`threshold_for_sensitivity`,
  :func:`threshold_for_specificity`, :func:`youden_threshold`) and then applied, unchanged,
  to the test set (:func:`metrics_at_threshold`). Convention, as in scikit-learn's
  ``roc_curve``: an example is called positive when ``score >= threshold``.
* **Uncertainty.** :func:`bootstrap_ci` gives percentile bootstrap intervals for any
  metric, stratified by class by default (the class counts stay fixed in every resample,
  as pROC's ``ci.auc`` does); :func:`clinical_report` puts one row per model in a table.
* **Plots** with labelled axes: :func:`plot_roc`, :func:`plot_pr`,
  :func:`plot_confusion_matrix` (the reliability diagram is in :mod:`tlhelpers.calibration`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from . import checks
from .checks import positive_int

__all__ = [
    "BootstrapCI",
    "average_precision",
    "bootstrap_ci",
    "bootstrap_indices",
    "clinical_report",
    "confusion_matrix",
    "fit_linear_probe",
    "format_report",
    "linear_probe_accuracy",
    "metrics_at_threshold",
    "plot_confusion_matrix",
    "plot_pr",
    "plot_roc",
    "positive_class_scores",
    "pr_curve",
    "roc_auc",
    "roc_curve",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "youden_threshold",
]


# --------------------------------------------------------------------------------------
# Linear probes
# --------------------------------------------------------------------------------------

def fit_linear_probe(features, labels, *, C: float = 1.0, max_iter: int = 3000) -> Pipeline:
    """Standardise the features, then fit a multinomial logistic regression.

    Standardising puts every feature on one scale, so ``C`` means the same for any
    backbone; the scaler is fitted on the training features only.
    """
    features = _features(features, "features")
    labels = np.asarray(labels)
    C = checks.positive_number(C, "C")
    max_iter = positive_int(max_iter, "max_iter")
    if len(features) != len(labels):
        raise ValueError(f"features has {len(features)} rows but labels has {len(labels)}.")
    if len(np.unique(labels)) < 2:
        raise ValueError("labels must contain at least two classes.")
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter)).fit(features, labels)


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels, *, C: float = 1.0) -> float:
    """Test accuracy (a fraction) of a linear probe trained on the training features."""
    probe = fit_linear_probe(train_features, train_labels, C=C)
    test = _features(test_features, "test_features")
    if test.shape[1] != probe.n_features_in_:
        checks.fail("test_features", f"{probe.n_features_in_} features per row, as train_features has",
                    checks.Received(f"{test.shape[1]} features"))
    test_labels = np.asarray(test_labels)
    if len(test_labels) != len(test):
        checks.fail("test_labels", f"one label per row of test_features ({len(test)})",
                    checks.Received(f"{len(test_labels)} labels"))
    return float(probe.score(test, test_labels))


def _features(features: Any, name: str) -> np.ndarray:
    """Features as a finite float64 ``(n_samples, n_features)`` array, or the contract's error."""
    try:
        f = np.asarray(features)
    except (TypeError, ValueError) as err:
        checks.fail(name, "an array (n_samples, n_features)", checks.Received(f"{type(features).__name__} ({err})"))
    if f.dtype.kind not in "biuf":
        checks.fail(name, "a numeric array (n_samples, n_features)", checks.Received(f"an array of dtype {f.dtype}"))
    if f.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features), got {f.shape}.")
    f = f.astype(np.float64)
    if not np.all(np.isfinite(f)):
        checks.fail(name, "finite values", checks.Received(f"{int((~np.isfinite(f)).sum())} NaN or infinite values"))
    return f


# --------------------------------------------------------------------------------------
# Checking labels and scores
# --------------------------------------------------------------------------------------

def _labels(y_true: Any, name: str = "y_true") -> np.ndarray:
    """Class indices as a 1-D int64 array (booleans and integral floats accepted)."""
    y = np.asarray(getattr(y_true, "y", y_true))
    if y.ndim == 2 and y.shape[1] == 1:      # MedMNIST stores labels as (N, 1)
        y = y[:, 0]
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of class indices, got shape {y.shape}.")
    if y.dtype == bool:
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
            raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype} "
                             f"(values such as {y[:3].tolist()}).")
    if y.min() < 0:
        raise ValueError(f"{name} must hold class indices >= 0, got {int(y.min())}.")
    return y.astype(np.int64)


def _scores(y_score: Any, n: int, name: str = "y_score") -> np.ndarray:
    """Scores as float64 of shape (N,) or (N, K), finite, with N rows."""
    s = np.asarray(y_score)
    if s.dtype == object or not (np.issubdtype(s.dtype, np.number) or s.dtype == bool):
        raise ValueError(f"{name} must be a numeric array, got dtype {s.dtype}.")
    s = s.astype(np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (N,) or (N, num_classes), got {s.shape}.")
    if len(s) != n:
        raise ValueError(f"{name} has {len(s)} rows but y_true has {n} labels.")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return s


def _check_probability_matrix(p: np.ndarray, name: str) -> None:
    """Rows of probabilities: every entry in [0, 1], every row summing to 1."""
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name} is a matrix, so it must hold probabilities in [0, 1], got values in "
                         f"[{p.min():.4g}, {p.max():.4g}]: these look like logits. Apply softmax first, "
                         "or pass the positive class's score as a 1-D array.")
    worst = float(np.abs(p.sum(axis=1) - 1).max())
    if worst > 1e-3:
        raise ValueError(f"{name} is a matrix, so each row must be a probability distribution summing to "
                         f"1, but a row sums to {p.sum(axis=1)[np.abs(p.sum(axis=1) - 1).argmax()]:.4g}. "
                         "Pass softmax probabilities (one column per class), or the positive class's "
                         "score as a 1-D array.")


def _pos_index(pos_label: Any, class_names: Sequence[str] | None) -> int:
    """``pos_label`` (a class index, or a name from ``class_names``) as a class index."""
    if isinstance(pos_label, str):
        if class_names is None:
            raise ValueError(f"pos_label={pos_label!r} is a class name, so class_names must be given "
                             "(e.g. dataset.class_names).")
        names = list(class_names)
        if pos_label not in names:
            raise ValueError(f"pos_label={pos_label!r} is not one of class_names {names}.")
        return names.index(pos_label)
    if isinstance(pos_label, bool) or not isinstance(pos_label, (int, np.integer)) or pos_label < 0:
        raise ValueError(f"pos_label must be a class index (0 or 1) or a class name, got {pos_label!r}.")
    return int(pos_label)


def positive_class_scores(y_true: Any, y_score: Any, *, pos_label: int | str = 1,
                          class_names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(is_positive, score)`` for a binary task: 0/1 labels and the positive class's score.

    Args:
        y_true: class indices 0/1 (a Dataset works too: its ``y`` is used).
        y_score: either the positive class's score, shape ``(N,)`` — a probability, a
            logit or any score that grows with the positive class — or a probability matrix
            ``(N, 2)`` with one column per class in class-index order, whose ``pos_label``
            column is taken.
        pos_label: the positive class, as an index or (with ``class_names``) a name.
            BreastMNIST's class 0 is "malignant": there ``pos_label=0``.
        class_names: the name of each class index (needed when ``pos_label`` is a name).

    Raises ``ValueError`` when ``y_score`` holds only 0s and 1s (hard predictions carry no
    ranking: COURSE.md §5 item 19), when a matrix has a column count other than the number
    of classes or rows that are not probabilities, or when labels are not 0/1.
    """
    y = _labels(y_true)
    pos = _pos_index(pos_label, class_names)
    if class_names is not None and len(class_names) != 2:
        raise ValueError(f"class_names has {len(class_names)} names, but a binary task has 2. For more "
                         "classes, use roc_auc with a probability matrix (one-vs-rest).")
    if y.max() > 1:
        raise ValueError(f"y_true must hold the class indices 0 and 1 of a binary task, got classes "
                         f"{np.unique(y).tolist()[:10]}. For more classes, use roc_auc with a probability "
                         "matrix (one-vs-rest).")
    if pos > 1:
        raise ValueError(f"pos_label must be 0 or 1 in a binary task, got {pos_label!r}.")
    s = _scores(y_score, len(y))
    if s.ndim == 2:
        if s.shape[1] != 2:
            raise ValueError(f"y_score has {s.shape[1]} columns, but the task has 2 classes: a probability "
                             "matrix needs exactly one column per class, in class-index order.")
        _check_probability_matrix(s, "y_score")
        s = s[:, pos]
    if np.all((s == 0) | (s == 1)):
        raise ValueError("y_score holds only the values 0 and 1: these look like hard predictions (an argmax "
                         "or a thresholded output), which carry no ranking. Pass the positive class's "
                         "probability or logit (for saturated probabilities, the logits keep the ranking).")
    return (y == pos).astype(np.int64), s


def _two_classes(is_pos: np.ndarray, what: str) -> None:
    if is_pos.min() == is_pos.max():
        only = "positive" if is_pos[0] else "negative"
        raise ValueError(f"y_true holds only {only} examples ({len(is_pos)} of them): {what} needs both "
                         "classes. Use a larger or stratified evaluation set.")


def _check_fraction(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or not 0 < value <= 1:
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}.")
    return float(value)


# --------------------------------------------------------------------------------------
# ROC and precision-recall (scikit-learn underneath)
# --------------------------------------------------------------------------------------

def roc_auc(y_true: Any, y_score: Any, *, pos_label: int | str = 1,
            class_names: Sequence[str] | None = None) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``).

    Binary: from the positive class's score (see :func:`positive_class_scores`).
    More classes: ``y_score`` must be a probability matrix ``(N, C)``; the result is the
    macro average of the one-vs-rest AUCs (what MedMNIST reports for DermaMNIST).
    """
    from sklearn.metrics import roc_auc_score

    y = _labels(y_true)
    s = np.asarray(y_score)
    if s.ndim == 2 and s.shape[1] > 2:
        s = _scores(s, len(y))
        if y.max() >= s.shape[1]:
            raise ValueError(f"y_true holds class {int(y.max())}, but y_score has only {s.shape[1]} columns "
                             "(one per class are needed).")
        if len(np.unique(y)) != s.shape[1]:
            raise ValueError(f"y_score has {s.shape[1]} columns but y_true holds only the classes "
                             f"{np.unique(y).tolist()}: the columns must match the classes (one per class, in "
                             "class-index order), and a one-vs-rest AUC needs every class present.")
        _check_probability_matrix(s, "y_score")
        return float(roc_auc_score(y, s, multi_class="ovr", average="macro", labels=np.arange(s.shape[1])))
    is_pos, score = positive_class_scores(y, y_score, pos_label=pos_label, class_names=class_names)
    _two_classes(is_pos, "an AUC")
    return float(roc_auc_score(is_pos, score))


def roc_curve(y_true: Any, y_score: Any, *, pos_label: int | str = 1,
              class_names: Sequence[str] | None = None,
              drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` of ``sklearn.metrics.roc_curve`` on the positive class's score.

    ``fpr`` = 1 − specificity, ``tpr`` = sensitivity; threshold ``t`` calls ``score >= t``
    positive; ``thresholds[0]`` is ``inf`` (nothing called positive).
    """
    from sklearn.metrics import roc_curve as _roc_curve

    is_pos, score = positive_class_scores(y_true, y_score, pos_label=pos_label, class_names=class_names)
    _two_classes(is_pos, "a ROC curve")
    return _roc_curve(is_pos, score, drop_intermediate=drop_intermediate)


def pr_curve(y_true: Any, y_score: Any, *, pos_label: int | str = 1,
             class_names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(precision, recall, thresholds)`` of ``sklearn.metrics.precision_recall_curve``.

    Precision is the PPV, recall the sensitivity; the curve ends at recall 0, precision 1.
    """
    from sklearn.metrics import precision_recall_curve

    is_pos, score = positive_class_scores(y_true, y_score, pos_label=pos_label, class_names=class_names)
    _two_classes(is_pos, "a precision-recall curve")
    return precision_recall_curve(is_pos, score)


def average_precision(y_true: Any, y_score: Any, *, pos_label: int | str = 1,
                      class_names: Sequence[str] | None = None) -> float:
    """Average precision (``sklearn.metrics.average_precision_score``): the step-wise area
    under the precision–recall curve. A random score gets the prevalence, not 0.5."""
    from sklearn.metrics import average_precision_score

    is_pos, score = positive_class_scores(y_true, y_score, pos_label=pos_label, class_names=class_names)
    _two_classes(is_pos, "average precision")
    return float(average_precision_score(is_pos, score))


# --------------------------------------------------------------------------------------
# Operating points: choose a threshold on validation, apply it to test
# --------------------------------------------------------------------------------------

def threshold_for_sensitivity(y_true: Any, y_score: Any, target: float = 0.9, *,
                              pos_label: int | str = 1, class_names: Sequence[str] | None = None) -> float:
    """The highest threshold whose sensitivity on these (validation) data is ``>= target``.

    Among the thresholds that catch at least ``target`` of the positives, the highest one
    calls the fewest negatives positive, so it has the best specificity. Use it unchanged
    on the test set: there the sensitivity may fall short of ``target`` — report it.
    """
    target = _check_fraction(target, "target")
    _, tpr, thresholds = roc_curve(y_true, y_score, pos_label=pos_label, class_names=class_names,
                                   drop_intermediate=False)
    return float(thresholds[np.flatnonzero(tpr >= target - 1e-12)[0]])


def threshold_for_specificity(y_true: Any, y_score: Any, target: float = 0.9, *,
                              pos_label: int | str = 1, class_names: Sequence[str] | None = None) -> float:
    """The lowest threshold whose specificity on these (validation) data is ``>= target``
    (the best sensitivity among them). When only calling nothing positive would reach
    ``target`` (the top-scored examples are negatives), a ``ValueError`` says so."""
    target = _check_fraction(target, "target")
    fpr, _, thresholds = roc_curve(y_true, y_score, pos_label=pos_label, class_names=class_names,
                                   drop_intermediate=False)
    ok = np.flatnonzero(1.0 - fpr >= target - 1e-12)
    ok = ok[np.isfinite(thresholds[ok])]
    if len(ok) == 0:
        raise ValueError(f"no threshold reaches specificity {target}: the highest-scored examples are "
                         "negatives tied with positives. Lower target.")
    return float(thresholds[ok[-1]])


def youden_threshold(y_true: Any, y_score: Any, *, pos_label: int | str = 1,
                     class_names: Sequence[str] | None = None) -> float:
    """The threshold maximising Youden's J = sensitivity + specificity − 1 (the highest
    such threshold when several tie)."""
    fpr, tpr, thresholds = roc_curve(y_true, y_score, pos_label=pos_label, class_names=class_names,
                                     drop_intermediate=False)
    j = tpr - fpr
    j[~np.isfinite(thresholds)] = -np.inf
    return float(thresholds[int(np.argmax(j))])


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def metrics_at_threshold(y_true: Any, y_score: Any, threshold: float, *, pos_label: int | str = 1,
                         class_names: Sequence[str] | None = None) -> dict[str, float]:
    """Counts and rates when ``score >= threshold`` is called positive.

    Returns ``threshold``, ``tp``, ``fn``, ``fp``, ``tn``, ``sensitivity`` (recall, TPR),
    ``specificity`` (TNR), ``ppv`` (precision), ``npv``, ``accuracy`` and ``prevalence``,
    as plain floats. A rate with an empty denominator (e.g. PPV when nothing is called
    positive) is ``nan``, not 0. ``threshold`` is on the scale of ``y_score``: a
    probability threshold for probabilities, a logit threshold for logits.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number (on the scale of y_score), got {threshold!r}.")
    is_pos, score = positive_class_scores(y_true, y_score, pos_label=pos_label, class_names=class_names)
    if (threshold < 0 or threshold > 1) and score.min() >= 0 and score.max() <= 1:
        hint = f" A percentage? Pass {threshold / 100:g}." if 1 < threshold <= 100 else ""
        raise ValueError(f"threshold must lie in [0, 1] for probability scores (y_score is all in [0, 1]), "
                         f"got {threshold!r}: every example would fall on one side.{hint}")
    called = score >= threshold
    tp = int(np.sum(called & (is_pos == 1)))
    fn = int(np.sum(~called & (is_pos == 1)))
    fp = int(np.sum(called & (is_pos == 0)))
    tn = int(np.sum(~called & (is_pos == 0)))
    n = tp + fn + fp + tn
    return {"threshold": float(threshold), "tp": tp, "fn": fn, "fp": fp, "tn": tn,
            "sensitivity": _ratio(tp, tp + fn), "specificity": _ratio(tn, tn + fp),
            "ppv": _ratio(tp, tp + fp), "npv": _ratio(tn, tn + fn),
            "accuracy": _ratio(tp + tn, n), "prevalence": _ratio(tp + fn, n)}


def confusion_matrix(y_true: Any, y_pred: Any, *, num_classes: int | None = None) -> np.ndarray:
    """Counts ``(C, C)``: row = true class, column = predicted class, in class-index order
    (``sklearn.metrics.confusion_matrix`` with every class listed, even if absent).

    ``y_pred`` are predicted class indices — threshold the scores first, e.g.
    ``(p >= t).astype(int)``.
    """
    from sklearn.metrics import confusion_matrix as _confusion_matrix

    y = _labels(y_true)
    p = np.asarray(y_pred)
    if p.ndim != 1 or len(p) != len(y):
        raise ValueError(f"y_pred must be a 1-D array of {len(y)} predicted class indices, got shape {p.shape}.")
    if np.issubdtype(p.dtype, np.floating) and not np.all(p == np.round(p)):
        raise ValueError("y_pred holds fractional values: these are scores, not predicted classes. "
                         "Threshold them first (e.g. (y_score >= threshold).astype(int)).")
    p = _labels(p, "y_pred")
    n = int(max(y.max(), p.max())) + 1 if num_classes is None else positive_int(num_classes, "num_classes")
    if max(y.max(), p.max()) >= n:
        raise ValueError(f"labels go up to class {int(max(y.max(), p.max()))}, but num_classes={n}.")
    return _confusion_matrix(y, p, labels=np.arange(n))


# --------------------------------------------------------------------------------------
# Bootstrap confidence intervals
# --------------------------------------------------------------------------------------

#: The most bootstrap resamples accepted (pROC's default is 2,000).
MAX_RESAMPLES = 1_000_000


@dataclass(frozen=True)
class BootstrapCI:
    """A point estimate and its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int      # resamples drawn
    n_valid: int          # resamples where the metric was defined
    stratified: bool

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap_indices(y_true: Any, n_resamples: int = 1000, *, stratified: bool = True,
                      seed: int | None = 0) -> Iterator[np.ndarray]:
    """Index arrays of bootstrap resamples (drawn with replacement, each of size N).

    ``stratified=True`` resamples each class separately, keeping its count: every resample
    holds both classes, so AUC is always defined (pROC's default for ROC intervals).
    """
    y = _labels(y_true)
    n_resamples = positive_int(n_resamples, "n_resamples", maximum=MAX_RESAMPLES)
    if not isinstance(stratified, bool):
        raise ValueError(f"stratified must be True or False, got {stratified!r}.")
    if seed is not None:
        checks.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratified else [np.arange(len(y))]

    def draw() -> Iterator[np.ndarray]:      # arguments checked above, when called, not when iterated
        for _ in range(n_resamples):
            yield np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
    return draw()


def bootstrap_ci(metric: Callable[[np.ndarray, np.ndarray], float], y_true: Any, y_score: Any, *,
                 n_resamples: int = 1000, confidence: float = 0.95, stratified: bool = True,
                 seed: int | None = 0) -> BootstrapCI:
    """Percentile bootstrap confidence interval of ``metric(y_true, y_score)``.

    The examples (rows of ``y_score``, which may be a matrix) are resampled with
    replacement ``n_resamples`` times (stratified by class by default, see
    :func:`bootstrap_indices`); the interval is the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the resampled metric. A resample where the metric
    raises ``ValueError`` (e.g. one class only, when not stratified) is skipped and counted
    out of ``n_valid``. The estimate is the metric on the data as given.

    Example: ``bootstrap_ci(roc_auc, y_test, p_test)``.
    """
    if not callable(metric):
        raise ValueError(f"metric must be a function metric(y_true, y_score) -> float, got {metric!r}.")
    confidence = _check_fraction(confidence, "confidence")
    if confidence == 1:
        raise ValueError("confidence must be below 1 (e.g. 0.95).")
    y = _labels(y_true)
    s = np.asarray(y_score)
    if s.ndim == 0 or len(s) != len(y):
        raise ValueError(f"y_score has {len(s) if s.ndim else 0} rows but y_true has {len(y)} labels.")
    resamples = bootstrap_indices(y, n_resamples, stratified=stratified, seed=seed)
    estimate = float(metric(y, s))
    values = []
    for idx in resamples:
        try:
            values.append(float(metric(y[idx], s[idx])))
        except ValueError:
            continue
    values = np.asarray(values)
    values = values[np.isfinite(values)]
    if len(values) < max(10, n_resamples // 2):
        raise ValueError(f"the metric was defined on only {len(values)} of {n_resamples} resamples; use "
                         "stratified=True or a larger evaluation set.")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return BootstrapCI(estimate, float(low), float(high), confidence, int(n_resamples), len(values),
                       stratified)


# --------------------------------------------------------------------------------------
# The report table
# --------------------------------------------------------------------------------------

_REPORT_METRICS = ("AUC", "AP", "sensitivity", "specificity", "PPV", "NPV", "accuracy")


def _report_row(is_pos: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    at = metrics_at_threshold(is_pos, score, threshold)
    return {"AUC": float(roc_auc_score(is_pos, score)),
            "AP": float(average_precision_score(is_pos, score)),
            "sensitivity": at["sensitivity"], "specificity": at["specificity"], "PPV": at["ppv"],
            "NPV": at["npv"], "accuracy": at["accuracy"]}


def clinical_report(y_true: Any, scores: Mapping[str, Any], *, thresholds: float | Mapping[str, float] = 0.5,
                    pos_label: int | str = 1, class_names: Sequence[str] | None = None,
                    n_resamples: int = 1000, confidence: float = 0.95, stratified: bool = True,
                    seed: int | None = 0):
    """One row per model: AUC, average precision, and at each model's threshold the
    sensitivity, specificity, PPV, NPV and accuracy, each with a percentile bootstrap CI.

    Args:
        y_true: test labels 0/1.
        scores: ``{model name: y_score}`` (see :func:`positive_class_scores`).
        thresholds: one threshold for all, or ``{model name: threshold}`` — chosen on
            *validation* data (e.g. :func:`threshold_for_sensitivity`), never on this set.
        n_resamples, confidence, stratified, seed: of the bootstrap; every model is
            measured on the *same* resamples, so the rows can be compared.

    Returns a ``pandas.DataFrame`` indexed by model with columns ``threshold``, ``n``,
    ``prevalence`` and, for each metric, ``M``, ``M low``, ``M high`` (fractions).
    ``df.attrs["method"]`` says how the intervals were made. :func:`format_report` turns
    it into ``"0.944 [0.921, 0.962]"`` strings.
    """
    import pandas as pd

    if not isinstance(scores, Mapping) or not scores:
        raise ValueError("scores must be a non-empty mapping {model name: y_score}, got "
                         f"{type(scores).__name__}.")
    y = _labels(y_true)
    if isinstance(thresholds, Mapping):
        missing = sorted(set(scores) - set(thresholds))
        if missing:
            raise ValueError(f"thresholds has no entry for model(s) {missing}.")
    prepared = {}
    for name, y_score in scores.items():
        is_pos, score = positive_class_scores(y, y_score, pos_label=pos_label, class_names=class_names)
        t = thresholds[name] if isinstance(thresholds, Mapping) else thresholds
        prepared[name] = (score, float(metrics_at_threshold(is_pos, score, t)["threshold"]))
    _two_classes(is_pos, "a clinical report (AUC)")
    confidence = _check_fraction(confidence, "confidence")
    if confidence == 1:
        raise ValueError("confidence must be below 1 (e.g. 0.95).")
    alpha = (1 - confidence) / 2
    boot = {name: [] for name in prepared}
    for idx in bootstrap_indices(is_pos, n_resamples, stratified=stratified, seed=seed):
        if is_pos[idx].min() == is_pos[idx].max():
            continue
        for name, (score, t) in prepared.items():
            boot[name].append(_report_row(is_pos[idx], score[idx], t))
    rows = {}
    for name, (score, t) in prepared.items():
        row: dict[str, float] = {"threshold": t, "n": len(y), "prevalence": float(is_pos.mean())}
        point = _report_row(is_pos, score, t)
        table = pd.DataFrame(boot[name])
        for m in _REPORT_METRICS:
            row[m] = point[m]
            row[f"{m} low"], row[f"{m} high"] = (float(v) for v in np.nanquantile(table[m], [alpha, 1 - alpha]))
        rows[name] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "model"
    df.attrs["method"] = (f"{confidence:.0%} percentile bootstrap, {n_resamples} resamples "
                          f"({'stratified by class' if stratified else 'not stratified'}), seed {seed}; "
                          "positive when score >= threshold")
    return df


def format_report(report, digits: int = 3):
    """:func:`clinical_report`'s table as strings ``"estimate [low, high]"``, one column per metric."""
    import pandas as pd

    if not isinstance(report, pd.DataFrame) or "threshold" not in report:
        checks.fail("report", "the table clinical_report returns", checks.Received(type(report).__name__))
    digits = checks.integer(digits, "digits", minimum=0, maximum=15)
    out = pd.DataFrame(index=report.index)
    out["threshold"] = report["threshold"].map(lambda v: f"{v:.{digits}g}")
    for m in _REPORT_METRICS:
        if m in report:
            out[m] = [f"{e:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
                      for e, lo, hi in zip(report[m], report[f"{m} low"], report[f"{m} high"])]
    out.attrs = dict(report.attrs)
    return out


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------

def _named_scores(scores: Any) -> dict[str, Any]:
    if isinstance(scores, Mapping):
        if not scores:
            raise ValueError("scores must not be empty.")
        return dict(scores)
    return {"model": scores}


def _checked_curves(y_true: Any, scores: Any, pos_label: Any, class_names: Any, title: Any,
                    what: str) -> dict[str, Any]:
    """``{name: y_score}``, every curve checked before a figure is made."""
    if not isinstance(title, str):
        checks.fail("title", "a string", title)
    named = _named_scores(scores)
    for y_score in named.values():
        _two_classes(positive_class_scores(y_true, y_score, pos_label=pos_label, class_names=class_names)[0], what)
    return named


def _axes(ax, size=(4.6, 4.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_roc(y_true: Any, scores: Any, *, pos_label: int | str = 1, class_names: Sequence[str] | None = None,
             operating_points: Mapping[str, float] | None = None, ax=None, title: str = "ROC curve"):
    """ROC curves of one score array or ``{model name: y_score}``, AUC in the legend.

    ``operating_points``: ``{model name: threshold}`` marks where each threshold sits.
    Returns the figure.
    """
    named = _checked_curves(y_true, scores, pos_label, class_names, title, "a ROC curve")
    if operating_points is not None and not isinstance(operating_points, Mapping):
        checks.fail("operating_points", "a mapping {model name: threshold}", operating_points)
    ax = _axes(ax)
    for name, y_score in named.items():
        fpr, tpr, _ = roc_curve(y_true, y_score, pos_label=pos_label, class_names=class_names)
        auc = roc_auc(y_true, y_score, pos_label=pos_label, class_names=class_names)
        (line,) = ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
        if operating_points and name in operating_points:
            at = metrics_at_threshold(y_true, y_score, operating_points[name], pos_label=pos_label,
                                      class_names=class_names)
            ax.plot(1 - at["specificity"], at["sensitivity"], "o", color=line.get_color(),
                    label=f"{name} at threshold {at['threshold']:.3g}")
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    ax.set(xlabel="1 − specificity (false positive rate)", ylabel="sensitivity (true positive rate)",
           xlim=(0, 1), ylim=(0, 1.01), title=title)
    ax.legend(loc="lower right", fontsize=8)
    return ax.figure


def plot_pr(y_true: Any, scores: Any, *, pos_label: int | str = 1, class_names: Sequence[str] | None = None,
            ax=None, title: str = "Precision–recall curve"):
    """Precision–recall curves, average precision in the legend, the prevalence (what a
    random score gets) as a dotted line. Returns the figure."""
    named = _checked_curves(y_true, scores, pos_label, class_names, title, "a precision-recall curve")
    ax = _axes(ax)
    prevalence = None
    for name, y_score in named.items():
        precision, recall, _ = pr_curve(y_true, y_score, pos_label=pos_label, class_names=class_names)
        ap = average_precision(y_true, y_score, pos_label=pos_label, class_names=class_names)
        ax.step(recall, precision, where="post", label=f"{name} (AP {ap:.3f})")
        prevalence = positive_class_scores(y_true, y_score, pos_label=pos_label, class_names=class_names)[0].mean()
    ax.axhline(prevalence, ls=":", color="grey", label=f"prevalence {prevalence:.2f}")
    ax.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", xlim=(0, 1), ylim=(0, 1.01), title=title)
    ax.legend(loc="lower left", fontsize=8)
    return ax.figure


def plot_confusion_matrix(cm: Any, class_names: Sequence[str] | None = None, *, ax=None,
                          title: str = "Confusion matrix"):
    """A confusion matrix (rows true, columns predicted) with counts and row percentages."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or not np.issubdtype(cm.dtype, np.integer):
        raise ValueError(f"cm must be a square matrix of integer counts, got shape {cm.shape}, dtype {cm.dtype}.")
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(cm))]
    if len(names) != len(cm):
        raise ValueError(f"class_names has {len(names)} names but cm has {len(cm)} classes.")
    ax = _axes(ax, (3.8, 3.4))
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(cm)):
        for j in range(len(cm)):
            ax.text(j, i, f"{cm[i, j]}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=9,
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(cm)), names)
    ax.set_yticks(range(len(cm)), names)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    return ax.figure
