"""Framework-neutral measurements, wrapping scikit-learn.

Linear probes: how much a frozen representation knows about a task, measured by a
standardised logistic regression on its features (the course's linear head for
few-label experiments).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def fit_linear_probe(features, labels, *, C: float = 1.0, max_iter: int = 3000) -> Pipeline:
    """Standardise the features, then fit a multinomial logistic regression.

    Standardising puts every feature on one scale, so ``C`` means the same for any
    backbone; the scaler is fitted on the training features only.
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2:
        raise ValueError(f"features must have shape (n_samples, n_features), got {features.shape}.")
    if len(features) != len(labels):
        raise ValueError(f"features has {len(features)} rows but labels has {len(labels)}.")
    if len(np.unique(labels)) < 2:
        raise ValueError("labels must contain at least two classes.")
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter)).fit(features, labels)


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels, *, C: float = 1.0) -> float:
    """Test accuracy (a fraction) of a linear probe trained on the training features."""
    probe = fit_linear_probe(train_features, train_labels, C=C)
    return float(probe.score(np.asarray(test_features, dtype=np.float64), np.asarray(test_labels)))


__all__ = ["fit_linear_probe", "linear_probe_accuracy"]
